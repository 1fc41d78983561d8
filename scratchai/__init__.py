"""scratchai: the neural-network module system of the Net Architect lesson, in pure NumPy."""

from . import init
from .containers import ModuleDict, ModuleList, Sequential
from .errors import ShapeError, StateDictError
from .layers import Linear
from .module import Module, add_backward_hook, add_forward_hook, no_grad
from .parameter import Parameter
from .random import get_rng, manual_seed

__all__ = [
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "Sequential",
    "ShapeError",
    "StateDictError",
    "add_backward_hook",
    "add_forward_hook",
    "get_rng",
    "init",
    "manual_seed",
    "no_grad",
]
