"""The interactive debugger: one ``Stepper``, the panels that show it, and the keys that drive it.

Every panel follows the same contract (``refresh_from(stepper)``, ``highlight(path)``); the app
only decides *when* they refresh: after each key while paused, and at a throttled rate while a
run trains in a thread worker. Nothing here computes a statistic.

Notifications: routine ones (lr changed, rewound, saved...) replace each other, so pressing a key
five times leaves one toast; the ones that say why training stopped (a breakpoint, a divergence,
a failed step) stay on screen until their timeout even when routine ones come after them.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.geometry import Size
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, Tab, Tabs

from scratchai.engine import (
    Advance,
    Breakpoints,
    Granularity,
    Severity,
    StepFailed,
    Stepper,
)

from .messages import FailureSelected, Notice, PathSelected, TrainingStopped, WarningSelected
from .screens.breakpoints import BreakpointsScreen
from .screens.help import HelpScreen
from .widgets import Inspector, LayerTable, LossCharts, ModuleTree
from .widgets.error_panel import ErrorPanel
from .widgets.format import num
from .widgets.state_strip import StateStrip
from .widgets.warnings_panel import WarningsPanel

#: Below either size every panel gets the whole width, one at a time, chosen with tabs.
NARROW_WIDTH = 110
NARROW_HEIGHT = 32
#: Refresh rate of the screen while a run trains in the background (GUIDE section 5).
RUN_REFRESH_SECONDS = 0.25
#: How long a routine notification stays (a newer one replaces it anyway).
ROUTINE_SECONDS = 3.0
#: How long a notice that says why training stopped stays.
STICKY_SECONDS = 8.0

#: The panels in tab order; keys 1-5 choose them in a narrow terminal.
VIEWS = ("tree", "layers", "charts", "inspect", "warnings")
#: The main view's own actions; they do nothing while a dialog or the palette is on top.
MAIN_VIEW_ACTIONS = frozenset(
    {
        "step_batch",
        "step_phase",
        "step_layer",
        "step_epoch",
        "toggle_run",
        "rewind",
        "lr_down",
        "lr_up",
        "checkpoint",
        "breakpoints",
        "breakpoints_footer",
        "help",
        "view",
        "hide_error",
    }
)
#: Preferred rule, first first, when choosing which module an automatic pause points at.
FOCUS_RULES = ("nonfinite_output", "nonfinite_grad", "nonfinite_loss", "grad_norm")


class ScratchApp(App[None]):
    """Step through a model's training one layer, phase, batch or epoch at a time.

    Args:
        stepper: the engine to drive (the same object the headless runner uses).
        checkpoint_dir: where ``w`` saves checkpoints (default: ``./checkpoints``).
    """

    # Absolute, so a subclass defined elsewhere (tests, a user's tweak) still finds it.
    CSS_PATH = Path(__file__).with_name("app.tcss")
    TITLE = "ScratchAI"

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "step_batch", "batch", tooltip="train one batch"),
        # priority: the tree binds space to fold/unfold, but here it is the main stepping key
        Binding("space", "step_batch", "batch", show=False, priority=True),
        Binding("p", "step_phase", "phase", tooltip="one phase: forward, loss, backward, update"),
        Binding("l", "step_layer", "layer", tooltip="one layer of the forward or backward pass"),
        Binding("e", "step_epoch", "epoch", tooltip="train to the end of the epoch"),
        Binding("r", "toggle_run", "run", tooltip="run until a breakpoint fires / pause"),
        Binding("b", "rewind", "back", tooltip="rewind one step"),
        Binding("left_square_bracket", "lr_down", "lr-", key_display="[", tooltip="lower lr"),
        Binding("right_square_bracket", "lr_up", "lr+", key_display="]", tooltip="raise lr"),
        Binding("w", "checkpoint", "save", tooltip="save a checkpoint"),
        # k is in the footer of a wide terminal only (check_action); the hidden twin serves
        # the narrow one, where the footer has no room for it (the help lists it)
        Binding("k", "breakpoints_footer", "breaks", tooltip="choose what pauses a run"),
        Binding("k", "breakpoints", "breaks", show=False),
        Binding("question_mark", "help", "help", key_display="?", tooltip="list every key"),
        Binding("q", "quit", "quit", tooltip="quit"),
        Binding("escape", "hide_error", "hide error", show=False),
        *(
            Binding(str(i), f"view('{name}')", f"show {name}", show=False)
            for i, name in enumerate(VIEWS, 1)
        ),
    ]

    #: What the help screen says about each key (the bindings hold only short footer labels).
    KEY_HELP: ClassVar[list[tuple[str, str]]] = [
        # one line each at 80 columns: the whole help fits an 80x24 terminal
        ("n / space", "train one batch (forward, loss, backward, update)"),
        ("p", "one phase: forward -> loss -> backward -> updated"),
        ("l", "one layer of the forward or backward pass (it is highlighted)"),
        ("e", "train to the end of the epoch (then validation)"),
        ("r", "run / pause; a run pauses itself when a breakpoint fires"),
        ("b", "rewind one step (repeat to go further back)"),
        ("[ / ]", "lower / raise the learning rate by the lr factor"),
        ("w", "save a checkpoint (safetensors); the path is shown"),
        ("k", "breakpoints: pause on divergence, NaN/Inf, grad norm..."),
        ("enter", "inspect the selection; on a warning, show its module"),
        ("1-5", "narrow terminal: tree, layers, charts, inspect, warnings"),
        ("esc", "hide the traceback of a failed step"),
        ("ctrl+p", "command palette: every action by name"),
        ("?", "this help (esc closes)"),
        ("q", "quit"),
    ]

    def __init__(self, stepper: Stepper, checkpoint_dir: Path | None = None) -> None:
        super().__init__()
        self.stepper = stepper
        self.checkpoint_dir = checkpoint_dir
        #: True while a run or an epoch trains in the worker thread
        self.running = False
        #: the narrow-layout view on display
        self.view = "tree"
        self.narrow = False
        self._stop = threading.Event()
        # Work for the training thread (lr changes while running): applied between batches by
        # the thread itself, which already holds the stepper's lock.
        self._pending: deque[Callable[[], None]] = deque()
        self._drawn_step = -1
        self._layer_marked = False  # the tree's mark shows the active layer, not a selection
        self._main_screen: Screen | None = None
        # notices that must outlive routine ones: (expires at, message, title, severity)
        self._sticky: list[tuple[float, str, str, SeverityLevel]] = []

    # ------------------------------------------------------------------ layout
    def compose(self) -> ComposeResult:
        # Kept as attributes: App.query_one searches only the screen on top, and a run can
        # finish while the help or the palette is open.
        s = self.stepper
        self.strip = StateStrip(s, id="strip")
        self.tabs = Tabs(
            *(Tab(f"{i} {name}", id=f"tab-{name}") for i, name in enumerate(VIEWS, 1)), id="views"
        )
        self.module_tree = ModuleTree(s, id="tree")
        self.warnings_panel = WarningsPanel(s, id="warnings")
        self.table = LayerTable(s, id="layers")
        self.charts = LossCharts(s, id="charts")
        self.inspector = Inspector(s, id="inspector")
        self.error_panel = ErrorPanel(id="error")
        self.footer = Footer(compact=True)
        self.left = Vertical(self.module_tree, self.warnings_panel, id="left")
        self.right = Vertical(self.table, self.charts, self.inspector, id="right")
        self.views: dict[str, Widget] = {
            "tree": self.module_tree,
            "layers": self.table,
            "charts": self.charts,
            "inspect": self.inspector,
            "warnings": self.warnings_panel,
        }
        yield Header(show_clock=False, icon="")
        yield self.strip
        yield self.tabs
        yield Horizontal(self.left, self.right, id="main")
        yield self.error_panel
        yield self.footer

    def on_mount(self) -> None:
        unique, naive = self.stepper.num_parameters
        self.title = f"ScratchAI - {self.stepper.experiment.name}"
        # naive counts a shared weight once per owner: the gap is what sharing saves
        self.sub_title = f"{unique:,} params (naive {naive:,})"
        self._main_screen = self.screen
        self._ticker = self.set_interval(RUN_REFRESH_SECONDS, self._tick, pause=True)
        self._apply_layout()
        self._set_border_titles()
        self.module_tree.focus()

    def _set_border_titles(self) -> None:
        for name, widget in self.views.items():
            widget.border_title = name

    def on_resize(self, event: events.Resize) -> None:
        # This runs before App._on_resize stores the new size: take it from the event.
        self._apply_layout(event.size)

    def _apply_layout(self, size: Size | None = None) -> None:
        """Everything at once in a big terminal; one panel at a time (tabs) in a small one."""
        width, height = size or self.size
        self.narrow = width < NARROW_WIDTH or height < NARROW_HEIGHT
        (self._main_screen or self.screen).set_class(self.narrow, "-narrow")
        for name, widget in self.views.items():
            widget.display = not self.narrow or name == self.view
        left_views = {"tree", "warnings"}
        self.left.display = not self.narrow or self.view in left_views
        self.right.display = not self.narrow or self.view not in left_views
        self.tabs.display = self.narrow
        # at 80 columns the palette hint would push the last keys off the footer
        self.footer.show_command_palette = not self.narrow
        self.refresh_bindings()  # k shows in the footer of a wide terminal only

    def action_view(self, name: str) -> None:
        """Show one panel (narrow terminals) and focus it."""
        self.view = name
        tabs = self.tabs
        if tabs.active != f"tab-{name}":
            tabs.active = f"tab-{name}"
        self._apply_layout()
        target = self.warnings_panel.list if name == "warnings" else self.views[name]
        if target.focusable:
            target.focus()

    def on_tabs_tab_activated(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or "").removeprefix("tab-")
        if name and name != self.view:
            self.action_view(name)

    # ------------------------------------------------------------------ refreshing
    @property
    def panels(self) -> list[Widget]:
        """Every widget that follows the stepper."""
        return [self.strip, *self.views.values()]

    def refresh_panels(self) -> None:
        """Redraw every panel from the stepper (once per key, or per tick while running)."""
        for panel in self.panels:
            panel.refresh_from(self.stepper)  # type: ignore[attr-defined]
        self._drawn_step = self.stepper.step
        count = self.warnings_panel.count
        label = f"5 warnings ({count})" if count else "5 warnings"
        self.tabs.query_one("#tab-warnings", Tab).label = label

    def _tick(self) -> None:
        """While running: redraw at most every tick, and only if a step finished since."""
        if self.stepper.step != self._drawn_step:
            self.refresh_panels()

    def highlight(self, path: str | None) -> None:
        """Mark ``path`` in every panel that shows modules (None clears the mark); the
        inspector shows it (a selection, a warning or a pause points there)."""
        for panel in self.panels:
            panel.highlight(path)  # type: ignore[attr-defined]

    def mark_active(self, path: str | None) -> None:
        """Mark the layer being stepped in the tree and the table only: the inspector keeps
        what the user selected (None clears the mark)."""
        self.module_tree.highlight(path)
        self.table.highlight(path)

    # ------------------------------------------------------------------ notifications
    def say(
        self, message: str, *, severity: SeverityLevel = "information", timeout: float = 0
    ) -> None:
        """A routine notice: it replaces the previous routine one (never a sticky one)."""
        now = time.monotonic()
        self._sticky = [entry for entry in self._sticky if entry[0] > now + 0.5]
        self.clear_notifications()
        for expires, text, title, level in self._sticky:  # still on screen: keep them there
            self.notify(text, title=title, severity=level, timeout=expires - now, markup=False)
        self.notify(message, severity=severity, timeout=timeout or ROUTINE_SECONDS, markup=False)

    def alert(self, message: str, *, title: str = "", severity: SeverityLevel = "warning") -> None:
        """A notice that says why training stopped: it replaces every notice before it and
        stays while routine ones come and go."""
        self.clear_notifications()
        self._sticky = [(time.monotonic() + STICKY_SECONDS, message, title, severity)]
        self.notify(message, title=title, severity=severity, timeout=STICKY_SECONDS, markup=False)

    # ------------------------------------------------------------------ stepping (paused)
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys of the main view do nothing while a dialog (help, breakpoints, palette) is up."""
        if action == "breakpoints_footer" and self.narrow:
            return False  # hidden from the narrow footer; the hidden "k" binding takes the key
        if action in MAIN_VIEW_ACTIONS and self.screen is not self._main_screen:
            return None  # not handled: the key goes on to the dialog (space ticks a checkbox)
        return True

    def _refuse_while_running(self, what: str) -> bool:
        if self.running:
            self.say(f"training is running: press r to pause before {what}")
        return self.running

    def _advance(self, granularity: Granularity) -> None:
        """One synchronous advance: a batch, phase or layer takes milliseconds."""
        if self._refuse_while_running(f"stepping one {granularity.name.lower()}"):
            return
        try:
            advance = self.stepper.advance(granularity)
        except StepFailed as error:
            self._show_failure(error)
            return
        self._after_advance(advance)

    def _after_advance(self, advance: Advance) -> None:
        self.refresh_panels()
        active = self.stepper.active_path
        if active is not None:
            self.mark_active(active)
            self._layer_marked = True
        elif self._layer_marked:
            self.mark_active(None)
            self._layer_marked = False
        if advance.stopped_by:  # one notice that says why covers the warnings behind it
            self._paused_by_breakpoint(advance)
            return
        diverged = [
            f"{w.message}{_at(w.target)}"
            for w in advance.warnings
            if w.severity is Severity.DIVERGED
        ]
        if diverged:
            self.alert("\n".join(diverged))

    def action_step_batch(self) -> None:
        self._advance(Granularity.BATCH)

    def action_step_phase(self) -> None:
        self._advance(Granularity.PHASE)

    def action_step_layer(self) -> None:
        self._advance(Granularity.LAYER)

    def action_step_epoch(self) -> None:
        """An epoch can take a while on a big model: it trains in the worker like a run."""
        if self._refuse_while_running("stepping one epoch"):
            return
        self._start_training(lambda: self.stepper.advance(Granularity.EPOCH))

    def action_rewind(self) -> None:
        if self._refuse_while_running("rewinding"):
            return
        if self.stepper.rewind(1) == 0:
            depth = self.stepper.settings.snapshot_depth
            self.say(
                f"nothing left to rewind (the last {depth} steps can be undone)"
                if depth
                else "rewind is off (snapshot_depth = 0)",
                severity="warning",
            )
            return
        self.warnings_panel.show_reason(None)
        self.refresh_panels()
        if self._layer_marked:
            self.mark_active(None)
            self._layer_marked = False
        left = self.stepper.rewind_depth
        self.say(f"rewound to step {self.stepper.step} ({left} more possible)")

    # ------------------------------------------------------------------ learning rate, checkpoint
    def _scale_lr(self, factor: float) -> None:
        old = self.stepper.lr

        def change() -> None:
            new = self.stepper.scale_lr(factor)
            self.post_message(Notice(f"lr {num(old)} -> {num(new)}"))

        if self.running:  # the training thread holds the stepper: let it change lr itself
            self._pending.append(change)
        else:
            change()
            self.strip.refresh_from(self.stepper)

    def action_lr_down(self) -> None:
        self._scale_lr(1.0 / self.stepper.settings.lr_factor)

    def action_lr_up(self) -> None:
        self._scale_lr(self.stepper.settings.lr_factor)

    def action_checkpoint(self) -> None:
        if self._refuse_while_running("saving a checkpoint"):
            return
        target = None
        if self.checkpoint_dir is not None:
            name = f"{self.stepper.experiment.name}-step{self.stepper.step}.safetensors"
            target = self.checkpoint_dir / name
        try:
            path = self.stepper.save_checkpoint(target)
        except OSError as error:
            self.say(f"could not save the checkpoint: {error}", severity="error", timeout=8)
            return
        self.say(f"checkpoint saved: {path}", timeout=6)

    def on_notice(self, message: Notice) -> None:
        self.say(message.text)
        self.strip.refresh_from(self.stepper)

    # ------------------------------------------------------------------ running in a worker
    def action_toggle_run(self) -> None:
        if self.running:
            self._stop.set()
            self.strip.set_mode("pausing")
            return
        self._start_training(lambda: self.stepper.run(should_stop=self._should_stop))

    def _should_stop(self) -> bool:
        """Called by the training thread between batches (holding the stepper's lock)."""
        while self._pending:
            self._pending.popleft()()
        return self._stop.is_set()

    def _start_training(self, train: Callable[[], Advance]) -> None:
        self.running = True
        self._stop.clear()
        self.warnings_panel.show_reason(None)
        self.strip.set_mode("running")
        self._ticker.resume()
        self.run_worker(
            lambda: self._train_in_thread(train),
            name="training",
            group="training",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )

    def _train_in_thread(self, train: Callable[[], Advance]) -> None:
        """The worker: train, then tell the UI thread with a (thread-safe) message."""
        try:
            advance = train()
        except Exception as error:  # StepFailed, or a bug: either way the app must go on
            self.post_message(TrainingStopped(None, error))
            return
        while self._pending:  # lr changes that arrived after the last batch
            self._pending.popleft()()
        self.post_message(TrainingStopped(advance, None))

    def on_training_stopped(self, message: TrainingStopped) -> None:
        self.running = False
        self._ticker.pause()
        self.strip.set_mode("paused")
        if message.error is not None:
            if isinstance(message.error, StepFailed):
                self._show_failure(message.error)
            else:
                self.alert(f"training stopped: {message.error!r}", severity="error")
                self.refresh_panels()
            return
        assert isinstance(message.advance, Advance)
        self._after_advance(message.advance)

    def _paused_by_breakpoint(self, advance: Advance) -> None:
        """Say why the run paused and point at the module responsible."""
        reason = "; ".join(advance.stopped_by)
        self.warnings_panel.show_reason(reason)
        # Only what fired on the step that paused: an older warning would point at a stale place.
        target = _focus_target(w for w in advance.warnings if w.step == advance.step)
        self.alert(f"{reason}{_at(target)}", title="paused")
        if target:
            self._layer_marked = False
            self.highlight(target)
            if self.narrow:
                self.action_view("tree")
            self.module_tree.focus()

    # ------------------------------------------------------------------ failures
    def _show_failure(self, error: StepFailed) -> None:
        step = self.stepper.step
        self.error_panel.show_failure(error, step)
        self.warnings_panel.add_failure(error, step)  # stays in the log after esc
        self.alert(error.summary, title=f"step failed during {error.place}", severity="error")
        if self._layer_marked:
            self.mark_active(None)
            self._layer_marked = False
        self.refresh_panels()

    def on_failure_selected(self, message: FailureSelected) -> None:
        """A failed step chosen in the warnings panel: show its traceback again."""
        assert isinstance(message.error, StepFailed)
        self.error_panel.show_failure(message.error, message.step)

    def action_hide_error(self) -> None:
        self.error_panel.hide()

    # ------------------------------------------------------------------ selection
    def on_path_selected(self, message: PathSelected) -> None:
        self._layer_marked = False
        self.inspector.show(message.path)
        self.highlight(message.path)
        if self.narrow:
            self.action_view("inspect")

    def on_warning_selected(self, message: WarningSelected) -> None:
        if not message.target:
            self.say("this warning is about the whole model, not one module")
            return
        self._layer_marked = False
        self.highlight(message.target)
        self.inspector.show(message.target)
        if self.narrow:
            self.action_view("tree")

    # ------------------------------------------------------------------ screens, palette, quit
    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.KEY_HELP))

    def action_breakpoints_footer(self) -> None:
        self.action_breakpoints()

    def action_breakpoints(self) -> None:
        def apply(chosen: Breakpoints | None) -> None:
            if chosen is None:
                return
            # Field by field: the training thread may be reading them; each set is atomic.
            for name, value in vars(chosen).items():
                setattr(self.stepper.breakpoints, name, value)
            self.say(f"breakpoints: {describe_breakpoints(self.stepper.breakpoints)}")

        self.push_screen(BreakpointsScreen(self.stepper.breakpoints), apply)

    async def action_quit(self) -> None:
        self._stop.set()  # the worker finishes its batch and returns
        self.exit()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every action by name in the command palette (ctrl+p)."""
        yield from super().get_system_commands(screen)
        for title, help_text, callback in (
            ("Step batch", "train one batch (n, space)", self.action_step_batch),
            ("Step phase", "forward, loss, backward or update (p)", self.action_step_phase),
            ("Step layer", "one module of the pass in progress (l)", self.action_step_layer),
            ("Step epoch", "train to the end of the epoch (e)", self.action_step_epoch),
            ("Run / pause", "train until a breakpoint fires (r)", self.action_toggle_run),
            ("Rewind", "undo the last step (b)", self.action_rewind),
            ("Lower lr", "divide the learning rate by the lr factor ([)", self.action_lr_down),
            ("Raise lr", "multiply the learning rate by the lr factor (])", self.action_lr_up),
            ("Save checkpoint", "write the model's state_dict (w)", self.action_checkpoint),
            ("Breakpoints", "choose what pauses a run (k)", self.action_breakpoints),
            ("Help", "every key (?)", self.action_help),
        ):
            yield SystemCommand(title, help_text, callback)


def _at(target: str | None) -> str:
    return f" (at '{target}')" if target else ""


def _focus_target(warnings: Iterable) -> str | None:
    """The path a pause should point at: the first non-finite module if any, else the first
    diverging warning that names one."""
    named = [w for w in warnings if w.target]
    for rule in FOCUS_RULES:
        for warning in named:
            if warning.rule == rule:
                return warning.target
    return named[0].target if named else None


def describe_breakpoints(bp: Breakpoints) -> str:
    """One line: which breakpoints are on."""
    on = [name for name in ("diverged", "nonfinite", "loss_rose", "converged") if getattr(bp, name)]
    if bp.grad_norm_above is not None:
        on.append(f"grad norm > {bp.grad_norm_above:g}")
    return ", ".join(on) or "none (a run goes on until paused)"
