"""Every key of the debugger, in one table.

Each row is one action: its keys, the method that carries it out (``action_<name>`` on the
main screen or on the app, its ``owner``), and everything said about it: the footer's label
and tooltip, the help line, the command palette's entry. The bindings of the screen and of the
app, the footer, the help screen, the palette and the set of keys that wait while a dialog is
open are all generated from ``ACTIONS``, so they cannot disagree. The keys that choose a panel
(1-6) come from the panel registry.

Which object owns a key: the main screen owns the keys of its footer (stepping, the lr,
saving, the checks, the breakpoints, help) and of its panels (1-6, f); Textual resolves them
only while that screen is on top, and its footer lists them first, in table order. The app
owns the keys that work over a dialog too (i, ctrl+c, q, s) and the rest of the table (time
travel, reload, exact settings, train/eval, export, hiding a traceback). Both carry a key out
by calling into the controllers of ``controls/``.

This module imports nothing from the rest of the package (the warnings panel reads it to show
the key of a remedy, and the panel registry imports the warnings panel).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from textual.actions import parse
from textual.binding import Binding

#: How a key is written for people, where Textual's name for it is not what the key shows.
KEY_DISPLAY = {
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "question_mark": "?",
    "escape": "esc",
}
#: The action of the footer twin of a key hidden from a narrow footer (``Action.narrow``).
WIDE_ONLY = "wide_only"
#: ctrl+c's action: enabled only while a job runs, so that Textual's ctrl+c works otherwise.
INTERRUPT_RUNNING = "interrupt('running')"


@dataclass(frozen=True)
class Action:
    """One row of the table: a key, what it does, and every place that describes it.

    Attributes:
        keys: Textual key names; the footer shows the first one.
        action: Textual's action string, ``name`` or ``name('argument')``: the owner's
            ``action_<name>`` method carries it out (with the argument).
        owner: "main" (bound on the main screen, its method) or "app" (bound on the app).
        label: the footer's short label (the binding's description).
        tooltip: the footer key's tooltip.
        help: the help screen's line, one line at 80 columns so the help fits 80x24
            ("": said on another row's line).
        help_keys: how the help writes the keys (default: each key, " / " between).
        palette: the command palette's title ("": not in the palette).
        palette_help: the palette's help line (the keys are added after it).
        footer: shown in the footer.
        narrow: shown in the footer of a narrow terminal too (there is no room for every key).
        priority: bound before the focused widget's own keys (the tree binds space).
        main_view: does nothing while a dialog or the palette is on top.
        remedy: the engine's remedy action (``Remedy.action``) this key carries out.
        bound: False for a key that a widget or Textual handles: listed in the help only.
        per_panel: one key per panel, from the panel registry; the action gets the panel's
            name as its argument.
    """

    keys: tuple[str, ...]
    action: str
    owner: Literal["main", "app"] = "main"
    label: str = ""
    tooltip: str = ""
    help: str = ""
    help_keys: str = ""
    palette: str = ""
    palette_help: str = ""
    footer: bool = True
    narrow: bool = True
    priority: bool = False
    main_view: bool = True
    remedy: str | None = None
    bound: bool = True
    per_panel: bool = False

    @property
    def name(self) -> str:
        """The action's name: its method is ``action_<name>``."""
        return parse(self.action)[1]

    @property
    def arguments(self) -> tuple[object, ...]:
        """The arguments the action string passes to the method."""
        return parse(self.action)[2]

    @property
    def key_displays(self) -> tuple[str, ...]:
        """The keys as people write them ("[" for ``left_square_bracket``)."""
        return tuple(KEY_DISPLAY.get(key, key) for key in self.keys)


ACTIONS: tuple[Action, ...] = (
    Action(
        ("n", "space"),
        "step('batch')",
        label="batch",
        tooltip="train one batch",
        help="train one batch (forward, loss, backward, update)",
        palette="Step batch",
        palette_help="train one batch",
        # the tree binds space to fold/unfold, but here it is the main stepping key
        priority=True,
    ),
    Action(
        ("p",),
        "step('phase')",
        label="phase",
        tooltip="one phase: forward, loss, backward, update",
        help="one phase: forward -> loss -> backward -> updated",
        palette="Step phase",
        palette_help="forward, loss, backward or update",
    ),
    Action(
        ("l",),
        "step('layer')",
        label="layer",
        tooltip="one layer of the forward or backward pass",
        help="one layer of the forward or backward pass (it is highlighted)",
        palette="Step layer",
        palette_help="one module of the pass in progress",
    ),
    Action(
        ("e",),
        "step('epoch')",
        label="epoch",
        tooltip="train to the end of the epoch",
        help="train to the end of the epoch (then validation)",
        palette="Step epoch",
        palette_help="train to the end of the epoch",
    ),
    Action(
        ("r",),
        "toggle_run",
        label="run",
        tooltip="run until a breakpoint fires / pause",
        help="run / pause (a breakpoint pauses it too); i, ctrl+c: interrupt",
        help_keys="r / i",
        palette="Run / pause",
        palette_help="train until a breakpoint fires",
    ),
    Action(
        ("i",),
        "interrupt",
        owner="app",
        label="interrupt",
        help="",  # on r's line: the help must fit 80x24
        palette="Interrupt",
        palette_help="stop the step in progress and undo it",
        footer=False,  # the state strip says "i interrupts" while something runs
        main_view=False,  # works over a dialog too
    ),
    Action(
        ("ctrl+c",),
        INTERRUPT_RUNNING,
        owner="app",
        label="interrupt",
        footer=False,
        main_view=False,
        # before the screen's ctrl+c (copy); only while a job runs (check_action), else Textual's
        priority=True,
    ),
    Action(
        ("b",),
        "rewind",
        label="back",
        tooltip="rewind one step",
        help="rewind one step (repeat to go further back)",
        palette="Rewind",
        palette_help="undo the last step",
    ),
    Action(
        ("left_square_bracket",),
        "scale_lr('down')",
        label="lr-",
        tooltip="lower lr",
        help="lower / raise the learning rate by the lr factor",
        help_keys="[ / ]",
        palette="Lower lr",
        palette_help="divide the learning rate by the lr factor",
        remedy="lower_lr",
    ),
    Action(
        ("right_square_bracket",),
        "scale_lr('up')",
        label="lr+",
        tooltip="raise lr",
        palette="Raise lr",
        palette_help="multiply the learning rate by the lr factor",
    ),
    Action(
        ("w",),
        "checkpoint",
        label="save",
        tooltip="save a checkpoint",
        help="save a checkpoint (safetensors); the path is shown",
        palette="Save checkpoint",
        palette_help="write the model's state_dict",
        remedy="checkpoint",
    ),
    Action(
        ("g",),
        "check_backward",
        label="check bw",
        tooltip="check the selected module's backward against finite differences",
        help="check backward vs finite diffs: selection / all; c: pre-flight",
        help_keys="g / G / c",
        palette="Check backward (selected module)",
        palette_help="the selected module's backward against finite differences",
        narrow=False,
        remedy="check_backward",
    ),
    Action(
        ("G",),
        "check_backward('all')",
        palette="Check backward (all modules)",
        palette_help="every module's backward against finite differences",
        footer=False,
    ),
    Action(
        ("c",),
        "checklist",
        label="checks",
        tooltip="pre-flight checks: loss at init, backward, overfit a batch, baseline, data",
        palette="Pre-flight checks",
        palette_help="loss at init, backward, overfit one batch, baseline, data",
        narrow=False,
    ),
    Action(
        ("k",),
        "breakpoints",
        label="breaks",
        tooltip="choose what pauses a run",
        help="breakpoints: pause on divergence, NaN/Inf, grad norm...",
        palette="Breakpoints",
        palette_help="choose what pauses a run",
        narrow=False,  # the help lists it where the footer has no room
    ),
    Action(
        ("enter",),
        "select",
        help="inspect the selection; on a warning, show its module",
        bound=False,  # each panel's own selection
    ),
    Action(
        (),
        "view",
        label="show",
        help="narrow terminal",
        footer=False,
        per_panel=True,
    ),
    Action(
        ("escape",),
        "hide_error",
        owner="app",
        label="hide error",
        help="hide the traceback of a failed step",
        footer=False,
    ),
    Action(
        ("ctrl+p",),
        "command_palette",
        help="command palette: every action by name",
        bound=False,  # Textual's
    ),
    Action(
        ("question_mark",),
        "help",
        label="help",
        tooltip="list every key",
        help="this help (esc closes) / quit / registry: build() replayed",
        help_keys="? / q / a",
        palette="Help",
        palette_help="every key",
    ),
    Action(
        ("q",), "quit", owner="app", label="quit", tooltip="quit", main_view=False
    ),  # help: on "?"
    Action(
        ("f",),
        "flow",
        label="flow",
        tooltip="the forward pass as a flowchart",
        help="",  # the flow panel's line in the help says it (the help fits 80x24)
        palette="Flow",
        palette_help="the forward pass drawn as the lesson's flowchart",
        footer=False,
    ),
    Action(
        ("a",),
        "registry",
        owner="app",
        label="registry",
        tooltip="how build() registered the model, replayed",
        help="",  # on the line of ? (the help fits 80x24)
        palette="Registry",
        palette_help="replay build(): each registration, its dictionary and source line",
        footer=False,
    ),
    # time travel, reload, exact settings, saving what is seen (the app's; controls/)
    Action(
        ("j",),
        "goto",
        owner="app",
        label="jump",
        help="jump to step N (back: exact replay), 0 restart, R reload the file",
        help_keys="j / 0 / R",
        palette="Go to step",
        palette_help="back (replayed bit for bit) or forward (trains)",
        footer=False,
        remedy="rewind",  # "rewind to step k": one jump, wherever k is
    ),
    Action(
        ("0",),
        "restart",
        owner="app",
        label="restart",
        help="",  # on the line of j
        palette="Restart",
        palette_help="back to step 0 with the initial weights",
        footer=False,
    ),
    Action(
        ("R",),
        "reload",
        owner="app",
        label="reload",
        help="",  # on the line of j
        palette="Reload model file",
        palette_help="re-import the file; lr and breakpoints kept",
        footer=False,
    ),
    Action(
        ("L",),
        "set_lr",
        owner="app",
        label="set lr",
        help="type the lr, rewind options, train vs eval, screenshot, export",
        help_keys="L o t s x",
        palette="Set learning rate",
        palette_help="type an exact value",
        footer=False,
    ),
    Action(
        ("o",),
        "rewind_settings",
        owner="app",
        label="rewind opts",
        help="",  # on the line of L
        palette="Rewind settings",
        palette_help="checkpoint interval and budget (next checkpoints)",
        footer=False,
    ),
    Action(
        ("t",),
        "modes",
        owner="app",
        label="train/eval",
        help="",  # on the line of L
        palette="Train vs eval",
        palette_help="the last batch in train and eval mode, side by side",
        footer=False,
    ),
    Action(
        ("s",),
        "screenshot",
        owner="app",
        label="screenshot",
        help="",  # on the line of L
        palette="Screenshot",
        palette_help="save an SVG of the screen to ./screenshots/",
        footer=False,
        main_view=False,  # a dialog is worth a picture too
    ),
    Action(
        ("x",),
        "export",
        owner="app",
        label="export",
        help="",  # on the line of L
        palette="Export history",
        palette_help="write every step's loss, lr, grad norms (CSV)",
        footer=False,
    ),
)


class PanelKey(Protocol):
    """What the table needs of a panel registry line (``panels.PanelSpec``)."""

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> str: ...


def bindings(panels: Sequence[PanelKey], owner: str | None = None) -> list[Binding]:
    """The key bindings of ``owner`` ("main" or "app"; None: both): the footer's in table
    order (the footer shows them in this order), then the hidden ones, then one per panel
    (Textual's key panel lists them so)."""
    result: list[Binding] = []
    for row in sorted(ACTIONS, key=lambda row: (row.per_panel, not row.footer)):
        if not row.bound or owner not in (None, row.owner):
            continue
        if row.per_panel:
            result += [
                Binding(p.key, f"{row.action}('{p.name}')", f"{row.label} {p.name}", show=False)
                for p in panels
            ]
            continue
        first, *others = row.keys
        shown = row.footer
        if shown and not row.narrow:
            # A shown twin that check_action hides (and disables) in a narrow terminal; the
            # hidden binding below it then takes the key.
            result.append(_binding(row, first, f"{WIDE_ONLY}('{row.action}')", show=True))
            shown = False
        result.append(_binding(row, first, row.action, show=shown))
        result += [_binding(row, key, row.action, show=False) for key in others]
    return result


def _binding(row: Action, key: str, action: str, *, show: bool) -> Binding:
    return Binding(
        key,
        action,
        row.label,
        show=show,
        key_display=KEY_DISPLAY.get(key),
        priority=row.priority,
        tooltip=row.tooltip if show else "",
    )


def help_lines(panels: Sequence[PanelKey]) -> list[tuple[str, str]]:
    """(keys as written, what they do) for the help screen, in table order."""
    lines = []
    for row in ACTIONS:
        if row.per_panel:
            keys = f"{panels[0].key}-{panels[-1].key}"
            lines.append((keys, f"{row.help}: {', '.join(p.name for p in panels)}"))
        elif row.help:
            lines.append((row.help_keys or " / ".join(row.key_displays), row.help))
    return lines


def palette_entries() -> Iterator[tuple[str, str, Action]]:
    """(title, help, the row) of each command palette entry, in table order."""
    for row in ACTIONS:
        if row.palette:
            keys = ", ".join(row.key_displays)
            yield row.palette, f"{row.palette_help} ({keys})", row


def footer_keys(*, narrow: bool) -> list[str]:
    """The keys the footer shows (as displayed), wide or narrow."""
    return [
        row.key_displays[0]
        for row in ACTIONS
        if row.bound and row.footer and row.keys and (row.narrow or not narrow)
    ]


#: The main view's own actions (names): they do nothing while a dialog or the palette is on top.
MAIN_VIEW_ACTIONS = frozenset(
    {row.name for row in ACTIONS if row.bound and row.main_view} | {WIDE_ONLY}
)


#: Engine remedy action (``Remedy.action``) -> the key that carries it out, as displayed.
REMEDY_KEYS = {row.remedy: row.key_displays[0] for row in ACTIONS if row.remedy}
