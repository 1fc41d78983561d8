"""The flow panel: the forward pass drawn as the lesson's flowchart, live.

One option per piece of the picture (``flow_render.blocks``): the input, one box per module
call, the output and the loss. The boxes carry the last step's numbers; while a batch is
stepped with ``l`` or ``p`` the calls that ran show this batch's numbers, the one that just ran
is framed in yellow and the cursor follows it, and the gradient flows back up the same boxes.
Enter on a call inspects that call (the second call of a reused module included).
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from scratchai.engine import Flow, Stepper

from ..flow_render import input_block, node_block, output_block
from ..messages import PathSelected

#: Option ids of the pieces that are not module calls.
INPUT_ID = "flow-input"
OUTPUT_ID = "flow-output"
NODE_PREFIX = "flow-node-"
HINT = "no forward yet: n trains a batch, l steps into it layer by layer"


class FlowPanel(OptionList):
    """The flowchart of the last forward; follows the stepper like every panel.

    Args:
        stepper: the engine whose recorded calls this draws.

    Attributes:
        flow: the flow on display (None before any forward).
        active: the index of the node that just ran while stepping, else None.
    """

    DEFAULT_CSS = """
    FlowPanel { height: 1fr; }
    """

    def __init__(self, stepper: Stepper, **kwargs) -> None:
        super().__init__(**kwargs)
        self.flow: Flow | None = None
        self.active: int | None = None
        self._drawn: tuple = ()  # what the options were last built from
        self._shape: tuple = ()  # the calls the options stand for (path, call) in order
        self.refresh_from(stepper)

    # ------------------------------------------------------------------ the widget contract
    def refresh_from(self, stepper: Stepper) -> None:
        """Redraw from the stepper's last step and the batch in progress (when they changed)."""
        key = (stepper.last_step, stepper.layer_events if stepper.mid_batch else (), stepper.step)
        if self._drawn and all(a is b for a, b in zip(key, self._drawn, strict=True)):
            return
        self._drawn = key
        flow = self.flow = stepper.flow()
        if not flow.nodes:
            self.active = None
            self._shape = ()
            self.set_options([Option(Text(HINT, style="dim"), id=INPUT_ID)])
            return
        self.border_subtitle = _subtitle(flow)
        shape = tuple((n.path, n.call) for n in flow.nodes)
        pieces = self._pieces(flow)
        if shape != self._shape:
            highlighted = self.highlighted
            self.set_options([Option(prompt, id=option_id) for option_id, prompt in pieces])
            self._shape = shape
            if highlighted is not None:
                self.highlighted = min(highlighted, self.option_count - 1)
        else:
            for i, (_, prompt) in enumerate(pieces):
                self.replace_option_prompt_at_index(i, prompt)
        active = next((n.index for n in flow.nodes if n.active), None)
        self.active = active
        if active is not None:
            self.highlighted = active + 1  # the input is option 0

    def highlight(self, path: str | None) -> None:
        """Put the cursor on the first call of the module ``path`` names (or that holds it)."""
        if path is None or self.flow is None:
            return
        probe = path
        while True:
            for node in self.flow.nodes:
                if node.path == probe:
                    self.highlighted = node.index + 1
                    return
            if not probe:
                return
            probe = probe.rpartition(".")[0]

    # ------------------------------------------------------------------ internals
    @staticmethod
    def _pieces(flow: Flow) -> list[tuple[str, RenderableType]]:
        pieces: list[tuple[str, RenderableType]] = [(INPUT_ID, input_block(flow))]
        pieces += [(f"{NODE_PREFIX}{i}", node_block(flow, i)) for i in range(len(flow.nodes))]
        pieces.append((OUTPUT_ID, output_block(flow)))
        return pieces

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if self.flow is None or not option_id.startswith(NODE_PREFIX):
            return
        node = self.flow.nodes[int(option_id.removeprefix(NODE_PREFIX))]
        self.post_message(PathSelected(node.path, "module", call=node.call))


def _subtitle(flow: Flow) -> str:
    if flow.direction == "forward":
        return "▸ forward in progress: yellow = this batch"
    if flow.direction == "backward":
        return "◂ gradient flowing back: yellow = this batch"
    return f"step {flow.step}: enter inspects a call"
