"""The layers table emptied while it is scrolled down (back to step 0): clearing it scrolls it
back to the top, and the rows it drew must be gone by then (key spam found a crash there)."""

from __future__ import annotations

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment, Stepper
from scratchtui.widgets.layer_table import HINT_KEY, LayerTable


def deep_stepper() -> Stepper:
    """Forty layer calls: more rows than an 80x24 terminal shows."""
    sa.manual_seed(0)
    data = make_clusters(n_samples=64, num_features=4, num_classes=3, seed=0)
    layers: list[sa.Module] = []
    for _ in range(19):
        layers += [sa.Linear(4, 4), sa.ReLU()]
    model = sa.Sequential(*layers, sa.Linear(4, 3))
    optimizer = sa.SGD(model.parameters(), lr=0.1)
    loader = sa.DataLoader(data, batch_size=16)
    return Stepper(Experiment(model, sa.CrossEntropyLoss(), optimizer, loader, name="deep"))


async def test_restarting_with_the_table_scrolled_down_shows_the_hint(app_on, wait_until):
    app = app_on(deep_stepper())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "2")
        table = app.query_one(LayerTable)
        table.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert table.scroll_y > 0 and len(table.row_keys) == 39
        await pilot.press("0")  # back to step 0: no step to show, the hint again
        await wait_until(pilot, lambda: not app.running)
        assert app.return_code is None and app.stepper.step == 0
        assert table.row_keys == () and table.is_valid_row_index(0)
        assert HINT_KEY in {key.value for key in table.rows}
