"""The app's ``w`` key writes PyTorch's names when its stepper was made with them."""

from __future__ import annotations

from pathlib import Path

import scratchai as sa
from scratchai.engine import Stepper, load_demo
from scratchtui.app import ScratchApp


async def test_w_writes_torch_names(tmp_path: Path) -> None:
    sa.manual_seed(0)
    with Stepper(load_demo("mlp"), checkpoint_names="torch") as stepper:
        app = ScratchApp(stepper, checkpoint_dir=tmp_path)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("n", "w")
            await pilot.pause()
        (saved,) = tmp_path.glob("*.safetensors")
        assert set(sa.load(saved)) == {"0.weight", "0.bias", "2.weight", "2.bias"}
