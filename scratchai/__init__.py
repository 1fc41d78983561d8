"""scratchai: the neural-network module system of the Net Architect lesson, in pure NumPy."""

from . import init
from .activations import ReLU, Sigmoid, Tanh
from .containers import ModuleDict, ModuleList, Sequential
from .errors import ShapeError, StateDictError
from .gradcheck import GradcheckEntry, GradcheckReport, gradcheck
from .layers import Dropout, Identity, Linear
from .losses import CrossEntropyLoss, MSELoss
from .module import Module, add_backward_hook, add_forward_hook, no_grad
from .normalization import BatchNorm1d
from .parameter import Parameter
from .random import get_rng, manual_seed

__all__ = [
    "BatchNorm1d",
    "CrossEntropyLoss",
    "Dropout",
    "GradcheckEntry",
    "GradcheckReport",
    "Identity",
    "Linear",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Parameter",
    "ReLU",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "StateDictError",
    "Tanh",
    "add_backward_hook",
    "add_forward_hook",
    "get_rng",
    "gradcheck",
    "init",
    "manual_seed",
    "no_grad",
]
