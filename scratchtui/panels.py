"""The debugger's panels, one registry line each.

The main screen builds every panel from here, puts it in its column of the wide layout, gives
it a tab (and the key that chooses it) in a narrow terminal, and a border title; the help lists
it. Every panel is styled through the shared ``.panel`` class (``app.tcss``), so a new panel is
one widget file (following ``widgets/panel.Panel``) plus one line below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from textual.widget import Widget

from .widgets import Inspector, LayerTable, LossCharts, ModuleTree
from .widgets.flow import FlowPanel
from .widgets.warnings_panel import WarningsPanel


@dataclass(frozen=True)
class PanelSpec:
    """One panel of the main screen.

    Attributes:
        name: its name in the tabs and the help ("inspect").
        widget: the widget class, built as ``widget(stepper, id=id, classes="panel")``.
        id: the widget's id ("inspector").
        column: its column in the wide layout; in a column, panels stack in registry order.
        key: the key that shows it in a narrow terminal (also the number on its tab).
        help: what the help says about it (one line at 80 columns).
        title: its border title (default: its name).
    """

    name: str
    widget: Callable[..., Widget]
    id: str
    column: Literal["left", "right"]
    key: str
    help: str
    title: str = ""

    @property
    def border_title(self) -> str:
        return self.title or self.name


#: In tab order (the keys 1-6).
PANELS: tuple[PanelSpec, ...] = (
    PanelSpec(
        name="tree",
        widget=ModuleTree,
        id="tree",
        column="left",
        key="1",
        help="modules, parameters (|g| = grad norm), buffers; <-> shared",
    ),
    PanelSpec(
        name="layers",
        widget=LayerTable,
        id="layers",
        column="right",
        key="2",
        help="per module call: outputs, |grad|, update:data; ▸ ◂ this batch",
    ),
    PanelSpec(
        name="charts",
        widget=LossCharts,
        id="charts",
        column="right",
        key="3",
        help="loss per step (red x = NaN/Inf), validation per epoch",
    ),
    PanelSpec(
        name="inspect",
        widget=Inspector,
        id="inspector",
        column="right",
        key="4",
        help="enter on a tree node or table row: histograms, heatmap",
    ),
    PanelSpec(
        name="warnings",
        widget=WarningsPanel,
        id="warnings",
        column="left",
        key="5",
        help="what the rules found, why, what to do; failed steps",
    ),
    PanelSpec(
        "flow", FlowPanel, "flow", "right", "6", "f: the forward as a flowchart; enter inspects"
    ),
)

#: The columns of the wide layout, left to right.
COLUMNS = ("left", "right")


def panel_named(name: str) -> PanelSpec:
    """The registry line of the panel called ``name``."""
    return next(spec for spec in PANELS if spec.name == name)
