"""A screen that uses its space (issue 12): no layer name is cut while the width allows it, at
every size from 80x24 to 200x60, for the ``shared`` demo and for a nested model."""

from __future__ import annotations

import io
import textwrap

import pytest
from rich.console import Console

import scratchai as sa
from scratchai.engine import Stepper, load_experiment_file
from scratchtui.app import ScratchApp
from scratchtui.headless import layer_table
from scratchtui.widgets import LayerTable, ModuleTree

SIZES = [(80, 24), (100, 30), (120, 40), (200, 60)]

NESTED = """
import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment


class Block(sa.Module):
    def __init__(self, n):
        super().__init__()
        self.fc1 = sa.Linear(n, n)
        self.act = sa.ReLU()
        self.fc2 = sa.Linear(n, n)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))

    def backward(self, g):
        return self.fc1.backward(self.act.backward(self.fc2.backward(g)))


class Net(sa.Module):
    def __init__(self):
        super().__init__()
        blocks = sa.ModuleList([Block(8), Block(8)])
        self.parts = sa.ModuleDict({"block": blocks, "classifier_head": sa.Linear(8, 3)})

    def forward(self, x):
        for block in self.parts["block"]:
            x = block(x)
        return self.parts["classifier_head"](x)

    def backward(self, g):
        g = self.parts["classifier_head"].backward(g)
        for block in reversed(list(self.parts["block"])):
            g = block.backward(g)
        return g


def build():
    data = make_clusters(n_samples=64, num_features=8, num_classes=3, seed=0)
    model = Net()
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name="nested")
"""


@pytest.fixture
def nested_stepper(tmp_path):
    path = tmp_path / "nested_model.py"
    path.write_text(textwrap.dedent(NESTED))
    sa.manual_seed(0)
    stepper = Stepper(load_experiment_file(path))
    yield stepper
    stepper.close()


def shown_paths(table: LayerTable) -> list[str]:
    """Each row's layer cell as drawn (the mark before it taken off)."""
    cells = [table.get_cell(key, "path") for key in table.row_keys]
    return [str(getattr(c, "plain", c))[1:].rstrip() for c in cells]


async def check_names(app: ScratchApp, size: tuple[int, int]) -> None:
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        if app.main.narrow:
            await pilot.press("2")  # the layers panel
        await pilot.pause()
        table = app.query_one(LayerTable)
        paths = [m.path for m in app.stepper.last_step.modules]
        assert shown_paths(table) == paths, size
        # the whole column is on screen, not scrolled off
        assert table.scroll_x == 0 and table.widths["path"] <= table.size.width
        types = {m.type_name for m in app.stepper.last_step.modules}
        shown_types = {str(table.get_cell(k, "type")).strip() for k in table.row_keys}
        assert shown_types == types, size


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_shared_demo_names_whole(app_for, size):
    await check_names(app_for("shared"), size)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_nested_model_names_whole(nested_stepper, size):
    await check_names(ScratchApp(nested_stepper), size)


async def test_a_name_too_long_for_the_table_keeps_its_end(nested_stepper):
    app = ScratchApp(nested_stepper)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "2")
        table = app.query_one(LayerTable)
        await pilot.resize_terminal(30, 24)
        await pilot.pause()
        shown = shown_paths(table)
        assert all(s.startswith("…") for s in shown if len(s) < 17)
        assert shown[0].endswith("0.fc1") and shown[3].endswith("1.fc1")  # siblings apart


def tree_line(tree: ModuleTree, path: str) -> str:
    node = tree.nodes[path]
    return tree.render_line(node.line - round(tree.scroll_y)).text


@pytest.mark.parametrize("size", [(120, 40), (200, 60)], ids=["120x40", "200x60"])
async def test_the_shared_weights_gradient_is_in_view(app_for, size):
    app = app_for("shared")
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        tree = app.query_one(ModuleTree)
        for owner in ("branch_a", "branch_b"):
            tree.nodes[owner].expand()
        await pilot.pause()
        for weight in ("branch_a.W", "branch_b.W"):
            assert "|g| " in tree_line(tree, weight), weight
            assert "<->" in tree_line(tree, weight)


async def test_tab_goes_in_reading_order(app_for):
    app = app_for("mlp")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        seen = []
        for _ in range(len(app.main.panels)):
            focused = app.focused
            owner = next(
                name
                for name, panel in app.main.panels.items()
                if focused in (panel, *panel.query("*"))
            )
            seen.append(owner)
            await pilot.press("tab")
        seen = seen[: seen.index("tree", 1)] if "tree" in seen[1:] else seen  # one round
        issue = ["tree", "layers", "inspect", "warnings"]  # the order issue 12 asks for
        assert [name for name in seen if name in issue] == issue


def test_headless_table_never_cuts_paths_or_headers(nested_stepper):
    nested_stepper.run(max_steps=2)
    for width in (60, 80, 200):
        console = Console(width=width, record=True, file=io.StringIO())
        console.print(layer_table(nested_stepper))
        text = console.export_text()
        assert "…" not in text, width
        lines = text.splitlines()
        for module in nested_stepper.last_step.modules:
            assert any(f" {module.path} " in line for line in lines), (width, module.path)
        if width >= 80:
            assert ("update" in text and ":data" in text) or "update:data" in text


async def test_100x30_shows_tree_and_table_side_by_side(app_for):
    app = app_for("shared")
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("n")
        await pilot.pause()
        assert not app.main.narrow
        tree, table = app.query_one(ModuleTree), app.query_one(LayerTable)
        assert tree.region.right <= table.region.x and tree.region.height >= 8
        assert table.region.height >= 6  # header and the four rows
        assert app.query_one("#inspector").region.height >= 5  # a few lines left for it
