"""The main view: the state strip, every panel of the registry, a failed step's traceback and
the footer; what a selection in one panel shows in the others.

Wide terminals show every panel at once, in the two columns the registry puts them in. Below
``NARROW_WIDTH`` x ``NARROW_HEIGHT`` the ``narrow`` reactive puts the ``-narrow`` class on the
screen and ``app.tcss`` shows one panel at a time: the ``view``, whose panel and column carry
the ``-shown`` class, chosen with the tabs or the keys 1-5. Nothing here sets ``display``.

The app decides when the panels follow the stepper (``refresh_panels``) and where a pause
points (``point_at``); this screen knows how the panels show it.

The screen owns the keys of its footer and of its panels (the rows of ``actions.ACTIONS``
whose ``owner`` is "main"): Textual resolves them only while this screen is on top, so they
wait while a dialog is open, and the footer lists them in table order. Each ``action_*``
calls into one of the app's controllers (``controls/``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, TypeVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.reactive import reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Tab, Tabs

from scratchai.engine import Granularity, StepFailed, Stepper

from .. import actions
from ..messages import FailureSelected, PathSelected, WarningSelected
from ..notices import NoticeBoard
from ..panels import COLUMNS, PANELS, panel_named
from ..widgets import Inspector, LayerTable, ModuleTree
from ..widgets.error_panel import ErrorPanel
from ..widgets.state_strip import StateStrip
from ..widgets.warnings_panel import WarningsPanel
from .help import HelpScreen

if TYPE_CHECKING:
    from ..controls import Controls

#: Below either size every panel gets the whole width, one at a time, chosen with tabs.
NARROW_WIDTH = 100
NARROW_HEIGHT = 30
#: From this width the flow panel stands beside the right column's panels, not below them.
ROOMY_WIDTH = 190
#: Below this height the wide layout shortens the charts and the flow strip.
LOW_HEIGHT = 36
#: The order tab visits the panels in (panels not named here come after them).
READING_ORDER = ("tree", "layers", "flow", "charts", "inspect", "warnings")

PanelType = TypeVar("PanelType", bound=Widget)


def is_narrow(size: Size) -> bool:
    """Whether a terminal of ``size`` gets the one-panel-at-a-time layout."""
    return size.width < NARROW_WIDTH or size.height < NARROW_HEIGHT


class MainScreen(Screen[None]):
    """Every panel of the registry around one stepper.

    Args:
        stepper: the engine the panels follow.
        board: where the screen's own notices go (a model-wide warning selected).
        controls: the app's controllers, which carry out the screen's keys.
    """

    BINDINGS: ClassVar[list[BindingType]] = actions.bindings(PANELS, "main")  # type: ignore[assignment]

    #: one panel at a time (the app sets it from the terminal's size)
    narrow: reactive[bool] = reactive(False, init=False, toggle_class="-narrow", bindings=True)
    #: the panel on display in a narrow terminal
    view: reactive[str] = reactive(PANELS[0].name, init=False)
    #: -roomy: wide enough for the flow panel beside the others (app.tcss)
    HORIZONTAL_BREAKPOINTS = [(0, "-snug"), (ROOMY_WIDTH, "-roomy")]  # noqa: RUF012
    #: -low: the wide layout on a low terminal (100x30): shorter charts and flow (app.tcss)
    VERTICAL_BREAKPOINTS = [(0, "-low"), (LOW_HEIGHT, "-high")]  # noqa: RUF012

    #: the panels the app and the keys reach (set by ``compose``, from ``panels``)
    module_tree: ModuleTree
    table: LayerTable
    inspector: Inspector
    warnings_panel: WarningsPanel

    def __init__(self, stepper: Stepper, board: NoticeBoard, controls: Controls) -> None:
        super().__init__()
        self.stepper = stepper
        self._board = board
        self._controls = controls
        #: panel name -> its widget, in registry order
        self.panels: dict[str, Widget] = {}
        self._layer_marked = False  # the tree's mark shows the active layer, not a selection

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        # Kept as attributes: the app reaches them while a dialog is on top of this screen.
        self.strip = StateStrip(self.stepper, id="strip")
        self.tabs = Tabs(
            *(Tab(f"{p.key} {p.name}", id=f"tab-{p.name}") for p in PANELS), id="views"
        )
        self.error_panel = ErrorPanel(id="error")
        self.footer = Footer(compact=True)
        for spec in PANELS:
            widget = spec.widget(self.stepper, id=spec.id, classes="panel")
            widget.border_title = spec.border_title
            self.panels[spec.name] = widget
        self.module_tree = _panel(self.panels, ModuleTree)
        self.table = _panel(self.panels, LayerTable)
        self.inspector = _panel(self.panels, Inspector)
        self.warnings_panel = _panel(self.panels, WarningsPanel)
        self.columns = {
            column: Vertical(
                *(self.panels[p.name] for p in PANELS if p.column == column),
                id=column,
                classes="column",
            )
            for column in COLUMNS
        }
        yield Header(show_clock=False, icon="")
        yield self.strip
        yield self.tabs
        yield Horizontal(*self.columns.values(), id="main")
        yield self.error_panel
        yield self.footer

    def on_mount(self) -> None:
        self.watch_view(self.view)
        self.narrow = is_narrow(self.app.size)
        self.module_tree.focus()

    async def use_stepper(self, stepper: Stepper) -> None:
        """Follow another stepper (the model file reloaded): every panel is built afresh."""
        self.stepper, self.panels, self._layer_marked = stepper, {}, False
        await self.recompose()
        self.watch_view(self.view)
        self.watch_narrow(self.narrow)
        self.tabs.active = f"tab-{self.view}"
        if self.narrow and self.view != "tree":
            self.action_view(self.view)
        else:
            self.module_tree.focus()

    def watch_narrow(self, narrow: bool) -> None:
        # at 80 columns the palette hint would push the last keys off the footer
        self.footer.show_command_palette = not narrow

    def watch_view(self, view: str) -> None:
        """The ``-shown`` class on the panel on display and on its column."""
        for name, widget in self.panels.items():
            widget.set_class(name == view, "-shown")
        column = panel_named(view).column
        for name, widget in self.columns.items():
            widget.set_class(name == column, "-shown")

    def action_view(self, name: str) -> None:
        """Show one panel (narrow terminals) and focus it."""
        self.view = name
        # The tabs follow without telling: their TabActivated would come back here, and two
        # queued changes would then ping-pong forever.
        with self.tabs.prevent(Tabs.TabActivated):
            self.tabs.active = f"tab-{name}"
        panel = self.panels[name]
        target = next((w for w in (panel, *panel.query("*")) if w.focusable), None)
        if target is not None:
            target.focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """-flow-focus while the flow has the focus: the inspector it opens keeps its height
        (app.tcss), the flow takes the rest."""
        flow = self.panels.get("flow")
        self.set_class(flow is not None and flow in event.widget.ancestors_with_self, "-flow-focus")

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        """Only a tab the user chose (a click, the arrows): ``action_view`` posts none."""
        name = (event.tab.id or "").removeprefix("tab-")
        if name:
            self.action_view(name)

    @property
    def focus_chain(self) -> list[Widget]:
        """Tab goes through the panels in reading order (``READING_ORDER``), not column by
        column: the tree, the layers, the inspector, then the warnings."""
        chain = super().focus_chain
        owner = {id(w): name for name, w in self.panels.items()}
        first_panel = None

        def rank(index: int, widget: Widget) -> tuple[int, int]:
            nonlocal first_panel
            for node in widget.ancestors_with_self:
                name = owner.get(id(node))
                if name is not None:
                    first_panel = index if first_panel is None else first_panel
                    order = READING_ORDER.index(name) if name in READING_ORDER else 50
                    return (order, index)
            return (-1 if first_panel is None else 99, index)  # tabs before, the rest after

        ranked = [rank(i, w) for i, w in enumerate(chain)]
        return [w for _, w in sorted(zip(ranked, chain, strict=True), key=lambda p: p[0])]

    # ------------------------------------------------------------------ the panels
    def refresh_panels(self) -> None:
        """Redraw every panel from the stepper, and the counts on the tabs."""
        for panel in [self.strip, *self.panels.values()]:
            panel.refresh_from(self.stepper)  # type: ignore[attr-defined]
        for spec in PANELS:
            count = getattr(self.panels[spec.name], "tab_count", None)
            if count is not None:
                label = f"{spec.key} {spec.name}" + (f" ({count})" if count else "")
                self.tabs.query_one(f"#tab-{spec.name}", Tab).label = label

    def highlight(self, path: str | None) -> None:
        """Mark ``path`` in every panel that shows modules (None clears the mark); the
        inspector shows it (a selection, a warning or a pause points there)."""
        for panel in [self.strip, *self.panels.values()]:
            panel.highlight(path)  # type: ignore[attr-defined]

    def mark_layer(self, path: str | None) -> None:
        """Mark the layer being stepped in the tree and the table only: the inspector keeps
        what the user selected. None clears a mark left by stepping, never a selection."""
        if path is None and not self._layer_marked:
            return
        self.module_tree.highlight(path)
        self.table.highlight(path)
        self._layer_marked = path is not None

    def point_at(self, target: str) -> None:
        """After an automatic pause: mark the module responsible and focus the tree on it."""
        self._layer_marked = False
        self.highlight(target)
        if self.narrow:
            self.action_view("tree")
        self.module_tree.focus()

    # ------------------------------------------------------------------ selection
    def on_path_selected(self, message: PathSelected) -> None:
        self._layer_marked = False
        self.inspector.show(message.path, message.call)
        self.highlight(message.path)
        if self.narrow:
            self.action_view("inspect")

    def on_warning_selected(self, message: WarningSelected) -> None:
        if not message.target:
            self._board.say("this warning is about the whole model, not one module")
            return
        self._layer_marked = False
        self.highlight(message.target)
        self.inspector.show(message.target)
        if self.narrow:
            self.action_view("tree")

    def on_failure_selected(self, message: FailureSelected) -> None:
        """A failed step chosen in the warnings panel: show its traceback again."""
        assert isinstance(message.error, StepFailed)
        self.error_panel.show_failure(message.error, message.step)

    # ------------------------------------------------------------------ keys (actions.ACTIONS)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # hidden from the narrow footer: the hidden twin binding takes the key
        return not (action == actions.WIDE_ONLY and self.narrow)

    def action_wide_only(self, action: str) -> None:
        """The footer key of an action the narrow footer has no room for (``Action.narrow``)."""
        getattr(self, f"action_{action}")()

    def action_step(self, granularity: str) -> None:
        """One batch, phase, layer or epoch ("batch"...), in the job thread."""
        self._controls.steps.step(Granularity[granularity.upper()])

    def action_toggle_run(self) -> None:
        self._controls.steps.toggle_run()

    def action_rewind(self) -> None:
        # a replay from the checkpoint before: it runs the user's code, so in the job thread;
        # presses while it replays add up (controls/travel.py)
        self._controls.travel.go_back(1)

    def action_scale_lr(self, direction: str) -> None:
        self._controls.settings.scale_lr(direction)

    def action_checkpoint(self) -> None:
        self._controls.settings.checkpoint()

    def action_breakpoints(self) -> None:
        self._controls.settings.breakpoints()

    def action_check_backward(self, which: str = "selected") -> None:
        self._controls.checks.check_backward(which)

    def action_checklist(self) -> None:
        self._controls.checks.checklist()

    def action_flow(self) -> None:
        """Show and focus the flow panel."""
        self.action_view("flow")

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())


def _panel(panels: dict[str, Widget], kind: type[PanelType]) -> PanelType:
    """The one panel of type ``kind``."""
    return next(panel for panel in panels.values() if isinstance(panel, kind))
