"""From scratchai to PyTorch and back: equivalent modules and state dicts, ties kept.

``to_torch``/``from_torch``/``torch_state_dict`` need PyTorch (``pip install torch==2.13.0``,
or ``pip install '.[torch]'`` in the project's folder), imported only when called; the
state-dict converters ``state_to_torch``/``state_from_torch`` are NumPy-only (checkpoints in
PyTorch's names).
"""

from .bridge import from_torch, to_torch, torch_state_dict
from .names import (
    CHECKPOINT_NAMES,
    InteropError,
    state_from_torch,
    state_to_torch,
    torch_key_layout,
)

__all__ = [
    "CHECKPOINT_NAMES",
    "InteropError",
    "from_torch",
    "state_from_torch",
    "state_to_torch",
    "to_torch",
    "torch_key_layout",
    "torch_state_dict",
]
