"""The debugger's panels, each mounted in a small test app and driven by a real Stepper.

Covers: the module tree (built once, labels updated in place, shared-weight markers on every
owner, highlight, selection messages, a 1,000-module model), the layer table (hint, rows added
once then updated in place, colours, highlight, selection), the loss charts (non-finite points
visible, validation per epoch) and the inspector (parameter, shared parameter, buffer, module).
"""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets.tree import TreeNode

import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment, Granularity, Stepper, load_demo
from scratchtui.messages import PathSelected
from scratchtui.widgets import Inspector, LayerTable, LossCharts, ModuleTree
from scratchtui.widgets.charts import plot_lines, sparkline
from scratchtui.widgets.format import SHARED_MARK, count, num, ratio_style, shape
from scratchtui.widgets.inspector import Heatmap
from scratchtui.widgets.layer_table import HINT_KEY
from scratchtui.widgets.module_tree import compact_hyper

PANELS = (ModuleTree, LayerTable, LossCharts, Inspector)


def demo_stepper(name: str) -> Stepper:
    sa.manual_seed(0)
    return Stepper(load_demo(name))


class PanelsApp(App):
    """The four panels side by side; records every PathSelected they post."""

    CSS = """
    ModuleTree, Inspector { width: 1fr; }
    LayerTable { height: 1fr; }
    """

    def __init__(self, stepper: Stepper) -> None:
        super().__init__()
        self.stepper = stepper
        self.selected: list[tuple[str, str]] = []

    def compose(self) -> ComposeResult:
        with Horizontal():
            with Vertical():
                yield ModuleTree(self.stepper)
                yield LayerTable(self.stepper)
            with Vertical():
                yield LossCharts(self.stepper)
                yield Inspector(self.stepper)

    def on_unmount(self) -> None:
        self.stepper.close()  # like the real app: nothing of the stepper outlives the test

    def on_path_selected(self, message: PathSelected) -> None:
        self.selected.append((message.path, message.kind))

    def advance(self, granularity: Granularity = Granularity.BATCH, times: int = 1) -> None:
        for _ in range(times):
            self.stepper.advance(granularity)
        for panel in PANELS:
            self.query_one(panel).refresh_from(self.stepper)


def plain(renderable, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def label(node: TreeNode) -> str:
    return str(node.label.plain) if hasattr(node.label, "plain") else str(node.label)


# ---------------------------------------------------------------------------- module tree
async def test_tree_is_built_once_and_labels_follow_the_steps():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        tree = app.query_one(ModuleTree)
        assert {"", "0", "0.W", "0.b", "1", "2", "2.W", "2.b"} <= set(tree.nodes)
        assert not tree.nodes["0"].is_expanded, "parameters start folded under their module"
        assert "Linear(128, 64" in label(tree.nodes["0"])
        assert "(128, 64) 8,192 float32" in label(tree.nodes["0.W"])
        assert "|g|" not in label(tree.nodes["0.W"])
        nodes_before = dict(tree.nodes)

        tree.nodes["0"].expand()
        app.advance()
        await pilot.pause()
        probe = next(p for p in app.stepper.last_step.params if p.path == "0.W")
        assert f"|g| {num(probe.grad_norm)}" in label(tree.nodes["0.W"])

        app.advance()
        await pilot.pause()
        probe = next(p for p in app.stepper.last_step.params if p.path == "0.W")
        assert f"|g| {num(probe.grad_norm)}" in label(tree.nodes["0.W"])
        assert tree.nodes == nodes_before, "labels change, nodes are the same objects"


async def test_folded_parameters_catch_up_when_expanded():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        tree = app.query_one(ModuleTree)
        app.advance(times=2)
        await pilot.pause()
        assert "|g|" not in label(tree.nodes["2.W"]), "folded labels are left alone"
        tree.nodes["2"].expand()
        await pilot.pause()
        probe = next(p for p in app.stepper.last_step.params if p.path == "2.W")
        assert f"|g| {num(probe.grad_norm)}" in label(tree.nodes["2.W"])


async def test_shared_weight_is_marked_on_every_owner_and_counted_once():
    app = PanelsApp(demo_stepper("shared"))
    async with app.run_test() as pilot:
        tree = app.query_one(ModuleTree)
        app.advance()
        await pilot.pause()
        a, b = label(tree.nodes["branch_a.W"]), label(tree.nodes["branch_b.W"])
        assert f"{SHARED_MARK} branch_b.W" in a
        assert f"{SHARED_MARK} branch_a.W" in b
        assert SHARED_MARK not in label(tree.nodes["head.W"])
        for module in ("branch_a", "branch_b"):
            assert SHARED_MARK in label(tree.nodes[module]), "visible while folded too"
        unique, naive = app.stepper.num_parameters
        assert unique < naive
        root = label(tree.root)
        assert count(unique) in root and count(naive) in root


async def test_tree_highlight_unfolds_and_moves_the_cursor():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        tree = app.query_one(ModuleTree)
        tree.highlight("2.W")
        await pilot.pause()
        assert tree.nodes["2"].is_expanded
        assert tree.cursor_node is tree.nodes["2.W"]
        assert "reverse" in str(tree.nodes["2.W"].label.spans)
        tree.highlight("0")
        await pilot.pause()
        assert tree.cursor_node is tree.nodes["0"]
        assert "reverse" not in str(tree.nodes["2.W"].label.spans)
        tree.highlight("no.such.path")  # a warning naming nothing the tree knows: no error
        tree.highlight(None)


async def test_tree_selection_posts_path_selected():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        tree = app.query_one(ModuleTree)
        tree.focus()
        tree.nodes["0"].expand()
        await pilot.pause()
        tree.move_cursor(tree.nodes["0.W"])
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected[-1] == ("0.W", "parameter")
        tree.move_cursor(tree.nodes["2"])
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected[-1] == ("2", "module")


async def test_buffers_are_marked_in_the_tree():
    app = PanelsApp(demo_stepper("batchnorm"))
    async with app.run_test():
        tree = app.query_one(ModuleTree)
        buffers = [p for p, n in tree.nodes.items() if n.data.kind == "buffer"]
        assert buffers, "the batchnorm demo has running statistics"
        assert all("buffer" in label(tree.nodes[p]) for p in buffers)


def thousand_module_stepper() -> Stepper:
    """A Sequential of 1,000 small modules (500 Linear(4, 4) + 500 Tanh)."""
    sa.manual_seed(0)
    layers = []
    for _ in range(500):
        layers += [sa.Linear(4, 4), sa.Tanh()]
    model = sa.Sequential(*layers)
    data = make_clusters(n_samples=64, num_features=4, num_classes=4, seed=0)
    experiment = Experiment(
        model,
        sa.CrossEntropyLoss(),
        sa.SGD(model.parameters(), lr=0.01),
        sa.DataLoader(data, batch_size=16),
        name="thousand",
    )
    return Stepper(experiment)


async def test_a_thousand_modules_open_and_step_without_rebuilding(monkeypatch):
    stepper = thousand_module_stepper()
    app = PanelsApp(stepper)
    async with app.run_test(size=(120, 40)) as pilot:
        tree = app.query_one(ModuleTree)
        table = app.query_one(LayerTable)
        assert len(tree.nodes) == 1 + 1000 + 1000  # root, modules, W and b of each Linear
        nodes_before = dict(tree.nodes)
        calls = []
        original = TreeNode.set_label
        monkeypatch.setattr(
            TreeNode, "set_label", lambda node, text: (calls.append(1), original(node, text))
        )
        for _ in range(3):
            app.advance()
            await pilot.pause()
        assert tree.nodes == nodes_before
        # Every module is folded: no parameter label is redrawn until its module is opened.
        assert calls == []
        assert table.row_count == 1000
        tree.highlight("998.W")
        table.highlight("998.W")
        await pilot.pause()
        assert tree.cursor_node is tree.nodes["998.W"]
        assert "|g|" in label(tree.nodes["998.W"])
        # Rows off screen are brought up to date when they scroll into view.
        probe = app.stepper.last_step.modules[998]
        assert table.cursor_row == 998
        assert table.get_cell("998", "mean").plain == num(probe.output.mean, 7)


# ---------------------------------------------------------------------------- layer table
async def test_layer_table_shows_a_hint_then_one_row_per_module_call():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        table = app.query_one(LayerTable)
        assert table.row_count == 1 and HINT_KEY in [k.value for k in table.rows]
        app.advance()
        await pilot.pause()
        modules = app.stepper.last_step.modules
        assert table.row_keys == tuple(m.path for m in modules) == ("0", "1", "2")
        assert table.get_cell("0", "mean").plain == num(modules[0].output.mean, 7)
        assert table.get_cell("1", "type") == "ReLU"
        assert table.get_cell("1", "dead").plain.endswith("%")
        rows_before = dict(table.rows)

        app.advance()
        await pilot.pause()
        modules = app.stepper.last_step.modules
        assert table.get_cell("0", "mean").plain == num(modules[0].output.mean, 7)
        assert table.get_cell("2", "grad").plain == num(modules[2].grad_norm, 7)
        assert dict(table.rows) == rows_before, "cells updated in place, rows kept"


async def test_layer_table_returns_to_the_hint_after_rewinding_to_the_start():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        table = app.query_one(LayerTable)
        app.advance()
        app.stepper.travel.rewind(1)
        table.refresh_from(app.stepper)
        await pilot.pause()
        assert [k.value for k in table.rows] == [HINT_KEY]


def test_update_ratio_colours_follow_the_rule_of_thumb():
    assert ratio_style(1e-3) == "green"
    assert ratio_style(5e-3) == "green"
    assert ratio_style(5e-2) == "yellow"
    assert ratio_style(3e-5) == "yellow"
    assert ratio_style(1.0) == "red"
    assert ratio_style(0.0) == "red"
    assert ratio_style(math.nan) == "bold red"
    assert ratio_style(None) == "dim"


async def test_layer_table_highlight_and_selection():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test() as pilot:
        table = app.query_one(LayerTable)
        app.advance()
        await pilot.pause()
        table.highlight("2.W")  # a parameter's warning selects its module's row
        assert table.cursor_row == 2
        table.highlight("1")
        assert table.cursor_row == 1
        table.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert app.selected[-1] == ("1", "module")


# ---------------------------------------------------------------------------- charts
def test_non_finite_losses_are_drawn_not_dropped():
    values = np.array([2.3, 2.1, 1.9, math.nan, math.inf, 1.5])
    lines = [line.plain for line in plot_lines(values, width=20, rows=4)]
    top = lines[0]
    assert top.count("x") == 2, "one red x per non-finite step, at the top"
    assert lines[-1].count("x") == 0
    assert "2.3" in lines[0] and "1.5" in lines[-1], "y-axis max and min"
    assert sparkline([1.0, math.nan, None, 0.5]).plain == "█x ▁"


def test_many_steps_are_binned_and_a_bad_bin_stays_visible():
    values = np.linspace(3, 1, 10_000)
    values[5_000] = math.nan
    lines = [line.plain for line in plot_lines(values, width=48, rows=3)]
    assert all(len(line) == 48 for line in lines)
    assert lines[0].count("x") == 1


async def test_charts_follow_the_history_and_the_epochs():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test(size=(120, 40)) as pilot:
        charts = app.query_one(LossCharts)
        assert "no step yet" in charts.render().plain
        app.advance(times=3)
        await pilot.pause()
        text = charts.render().plain
        assert "steps 1-3" in text and "█" in text
        assert "val loss" not in text
        app.advance(Granularity.EPOCH)
        await pilot.pause()
        epoch = app.stepper.epochs[-1]
        assert f"val loss ▄ {num(epoch.val_loss)}" in charts.render().plain


async def test_charts_show_the_divergence_of_the_diverge_demo():
    app = PanelsApp(demo_stepper("diverge"))
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(200):
            app.stepper.advance()
            if not np.isfinite(app.stepper.history.arrays()["loss"]).all():
                break
        else:
            pytest.skip("the diverge demo did not reach a non-finite loss in 200 steps")
        app.query_one(LossCharts).refresh_from(app.stepper)
        await pilot.pause()
        text = app.query_one(LossCharts).render().plain
        assert "non-finite (x)" in text and "x" in text.splitlines()[1]


# ---------------------------------------------------------------------------- inspector
async def test_inspector_shows_a_parameter_with_histograms_and_heatmap():
    app = PanelsApp(demo_stepper("mlp"))
    async with app.run_test(size=(120, 40)) as pilot:
        inspector = app.query_one(Inspector)
        app.advance()
        inspector.show("0.W")
        await pilot.pause()
        text = plain(inspector.body.content)
        ins = app.stepper.views.inspect("0.W")
        assert "0.W  parameter  (128, 64)  8,192  float32" in text
        assert f"mean {num(ins.summary.mean, 7)}" in text and "nan/inf 0" in text
        assert "values  (peak" in text and "grads  (peak" in text
        assert "heatmap (128, 64) as 16x" in text
        assert "shared by" not in text

        before = text
        app.advance()  # follows the stepper
        await pilot.pause()
        assert plain(inspector.body.content) != before


async def test_inspector_lists_every_owner_of_a_shared_parameter():
    app = PanelsApp(demo_stepper("shared"))
    async with app.run_test(size=(120, 40)) as pilot:
        inspector = app.query_one(Inspector)
        inspector.show("branch_b.W")
        await pilot.pause()
        assert f"{SHARED_MARK} shared by: branch_a.W, branch_b.W" in plain(inspector.body.content)


async def test_inspector_shows_modules_buffers_and_unknown_paths():
    app = PanelsApp(demo_stepper("batchnorm"))
    async with app.run_test(size=(120, 40)) as pilot:
        inspector = app.query_one(Inspector)
        tree = app.query_one(ModuleTree)
        buffer = next(p for p, n in tree.nodes.items() if n.data.kind == "buffer")
        module = buffer.rpartition(".")[0]
        inspector.show(module)
        await pilot.pause()
        assert "no forward probe yet" in plain(inspector.body.content)

        app.advance()
        await pilot.pause()
        probe = app.stepper.views.module_probe(module)
        text = plain(inspector.body.content)
        assert "input (" in text and f"output {shape(probe.output_shape)}" in text
        assert "buffer" in text

        inspector.show(buffer)
        await pilot.pause()
        text = plain(inspector.body.content)
        assert f"{buffer}  buffer" in text and "heatmap" in text and "grads" not in text

        inspector.show("nope")
        await pilot.pause()
        assert "neither a parameter" in plain(inspector.body.content)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_panels_render_at_both_terminal_sizes(size):
    app = PanelsApp(demo_stepper("shared"))
    async with app.run_test(size=size) as pilot:
        app.advance(times=3)
        app.query_one(Inspector).show("branch_a.W")
        app.query_one(ModuleTree).highlight("branch_b.W")
        await pilot.pause()
        charts = app.query_one(LossCharts).render().plain.splitlines()
        assert charts[0].startswith("train loss")
        assert len(charts) == app.query_one(LossCharts).content_size.height
        assert app.query_one(LayerTable).row_count == len(app.stepper.last_step.modules)


def test_heatmap_fits_a_narrow_pane_and_marks_non_finite_cells():
    matrix = np.arange(4 * 48, dtype=np.float64).reshape(4, 48) - 90
    matrix[0, 0] = math.nan
    text = plain(Heatmap(matrix, (64, 128)), width=30)
    assert text.startswith("heatmap (64, 128) as 4x30") and "x = nan/inf" in text
    body = [line for line in text.splitlines() if "▀" in line]
    assert len(body) == 2  # two matrix rows per line
    assert all(len(line) == 30 for line in body)
    assert body[0][0] == "x" and set(body[0][1:]) == {"▀"}


def test_hyper_parameters_read_like_a_constructor_call():
    assert compact_hyper("in_features=64, out_features=32, bias=True") == "64, 32, bias=True"
    assert compact_hyper("p=0.5") == "p=0.5"
    assert compact_hyper("") == ""
