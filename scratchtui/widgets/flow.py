"""The flow panel: the forward pass drawn as the lesson's flowchart, live.

One option per piece of the picture (``flow_render``): the input, one box per module call, the
output and the loss. The boxes carry the last step's numbers; while a batch is stepped with
``l`` or ``p`` the calls that ran show this batch's numbers, the one that just ran is framed in
yellow and the cursor follows it, and the gradient flows back up the same boxes. Enter on a
call inspects that call (the second call of a reused module included).

Like the layer table, a step redraws only the pieces on screen (and the one that just ran):
the others are redrawn when scrolled into view. ``OptionList`` measures the height of every
option whenever one changes, so each piece remembers its height per width.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from rich.console import Console, RenderableType
from rich.text import Text
from textual.css.styles import RulesMap
from textual.visual import RichVisual
from textual.widget import Widget
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scratchai.engine import Flow, State, Stepper

from ..flow_render import input_block, node_block, output_block
from ..messages import PathSelected

HINT = "no forward yet: n trains a batch, l steps into it layer by layer"
#: Pieces above and below the visible ones that are redrawn with them.
MARGIN = 2


class _Measured(RichVisual):
    """A Rich renderable that measures its height once per width."""

    def __init__(self, widget: OptionList, renderable: RenderableType) -> None:
        super().__init__(widget, renderable)
        self._heights: dict[int, int] = {}

    def get_height(self, rules: RulesMap, width: int) -> int:
        if width not in self._heights:
            self._heights[width] = super().get_height(rules, width)
        return self._heights[width]


class _Piece:
    """An option's prompt: hands ``OptionList`` a visual that remembers its heights."""

    def __init__(self, widget: OptionList, renderable: RenderableType) -> None:
        self.widget = widget
        self.renderable = renderable

    def visualize(self, widget: Widget | None = None, obj: object = None) -> _Measured:
        # Textual's protocol (``SupportsVisual``) names two arguments; Textual calls it with none
        return _Measured(self.widget, self.renderable)


class FlowPanel(OptionList):
    """The flowchart of the last forward; follows the stepper like every panel.

    Args:
        stepper: the engine whose recorded calls this draws.

    Attributes:
        flow: the flow on display (None before any forward).
        active: the index of the node that just ran while stepping, else None. Option ``i + 1``
            is node ``i`` (option 0 is the input).
    """

    DEFAULT_CSS = """
    FlowPanel { height: 1fr; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        super().__init__(**kwargs)
        self.flow: Flow | None = None
        self.active: int | None = None
        self._drawn: tuple = ()  # what the flow was last built from
        self._calls: tuple = ()  # (path, call) of each node the options stand for
        self._stale: set[int] = set()  # options still showing an older flow
        self.refresh_from(stepper)

    # ------------------------------------------------------------------ the widget contract
    def refresh_from(self, stepper: Stepper) -> None:
        """Redraw from the stepper's last step and the batch in progress (when they changed)."""
        key = (stepper.last_step, stepper.layer_events if stepper.mid_batch else (), stepper.step)
        if self._drawn and all(a is b for a, b in zip(key, self._drawn, strict=True)):
            return
        self._drawn = key
        flow = self.flow = stepper.views.flow()
        previous = self.active
        self.active = next((n.index for n in flow.nodes if n.active), None)
        if not flow.nodes:
            self._calls, self._stale = (), set()
            self.border_subtitle = ""
            self.set_options([Option(Text(HINT, style="dim"))])
            return
        self.border_subtitle = _subtitle(flow, stepper.state, stepper.active_path is not None)
        calls = tuple((n.path, n.call) for n in flow.nodes)
        if calls != self._calls:  # the first step, or the forward took another path
            highlighted = self.highlighted
            self.set_options([Option(self._piece(i)) for i in range(len(calls) + 2)])
            self._calls, self._stale = calls, set()
            if highlighted is not None:
                self.highlighted = min(highlighted, self.option_count - 1)
        else:
            self._stale = set(range(self.option_count))
            extra = {i + 1 for i in (self.active, previous) if i is not None}
            self._redraw_visible(extra)
        if self.active is not None:
            self.highlighted = self.active + 1

    def highlight(self, path: str | None) -> None:
        """Put the cursor on the first call of the module ``path`` names (or that holds it)."""
        if path is None or self.flow is None:
            return
        nodes = self.flow.nodes
        current = self.highlighted
        if current is not None and 0 < current <= len(nodes) and nodes[current - 1].path == path:
            return  # already on a call of it (enter on a second call stays there)
        probe = path
        while True:
            for node in self.flow.nodes:
                if node.path == probe:
                    self.highlighted = node.index + 1
                    return
            if not probe:
                return
            probe = probe.rpartition(".")[0]

    # ------------------------------------------------------------------ drawing
    def _piece(self, option: int) -> _Piece:
        """The prompt of option ``option`` from the flow on display."""
        flow = self.flow
        assert flow is not None
        if option == 0:
            return _Piece(self, input_block(flow))
        if option <= len(flow.nodes):
            return _Piece(self, node_block(flow, option - 1))
        return _Piece(self, output_block(flow))

    def _redraw_visible(self, extra: Iterable[int] = ()) -> None:
        """Bring the options on screen (and ``extra``) up to the flow on display."""
        if not self._stale:
            return
        wanted = set(extra)
        lines = self._lines
        height = self.scrollable_content_region.height
        if lines and height > 0:  # hidden (another tab): redrawn when shown (on_resize)
            top = round(self.scroll_y)
            first = lines[min(top, len(lines) - 1)][0]
            last = lines[min(top + height, len(lines) - 1)][0]
            wanted |= set(range(max(first - MARGIN, 0), last + MARGIN + 1))
        for option in sorted(wanted & self._stale):
            self._stale.discard(option)
            self.replace_option_prompt_at_index(option, self._piece(option))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self._redraw_visible()

    def on_resize(self) -> None:
        self._redraw_visible()

    def on_show(self) -> None:
        super().on_show()
        self._redraw_visible()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.flow is None or not 0 < event.option_index <= len(self.flow.nodes):
            return  # the input, the output or the loss: not a module call
        node = self.flow.nodes[event.option_index - 1]
        self.post_message(PathSelected(node.path, "module", call=node.call))

    def text(self) -> str:
        """The picture as plain text, every piece up to date (tests, copying)."""
        self._redraw_visible(range(self.option_count))
        console = Console(width=max(self.size.width, 80), record=True, file=io.StringIO())
        for i in range(self.option_count):
            prompt = self.get_option_at_index(i).prompt
            console.print(prompt.renderable if isinstance(prompt, _Piece) else prompt)
        return console.export_text()


def _subtitle(flow: Flow, state: State, between_layers: bool) -> str:
    """Where the batch in progress is; ``between_layers``: stepping layers, inside a pass."""
    if flow.direction == "forward":
        if between_layers:
            return "▸ forward in progress: yellow = this batch"
        if state is State.LOSS:
            return "loss computed, backward next: yellow = this batch"
        return "▸ forward done, loss next: yellow = this batch"
    if flow.direction == "backward":
        if between_layers:
            return "◂ gradient flowing back: yellow = this batch"
        return "◂ backward done, update next: yellow = this batch"
    return f"step {flow.step}: enter inspects a call"
