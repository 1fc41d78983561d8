import pytest

import scratchai as sa
from scratchai.engine import Stepper, load_demo


@pytest.fixture
def make_stepper():
    """Build a demo's stepper with a fixed seed (the CLI seeds the same way)."""

    def make(name: str = "mlp", **kwargs) -> Stepper:
        sa.manual_seed(0)
        return Stepper(load_demo(name), **kwargs)

    return make
