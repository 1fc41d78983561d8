"""scratchai: the neural-network module system of the Net Architect lesson, in pure NumPy."""

from . import datasets, init, optim
from .activations import ReLU, Sigmoid, Tanh
from .call_state import no_grad
from .containers import ModuleDict, ModuleList, Sequential
from .data import ArrayDataset, DataLoader, Standardizer, train_val_split
from .errors import CheckpointError, ReturnError, ShapeError, StateDictError
from .gradcheck import GradcheckEntry, GradcheckReport, gradcheck
from .hooks import HookHandle
from .layers import Dropout, Identity, Linear
from .losses import CrossEntropyLoss, MSELoss
from .module import Module
from .normalization import BatchNorm1d
from .optim import SGD, Adam, Optimizer
from .parameter import Parameter
from .random import get_rng, manual_seed
from .serialization import load, save
from .sharing import count_parameters, parameter_owners
from .summary import LayerSummary, Summary, summarize

__all__ = [
    "SGD",
    "Adam",
    "ArrayDataset",
    "BatchNorm1d",
    "CheckpointError",
    "CrossEntropyLoss",
    "DataLoader",
    "Dropout",
    "GradcheckEntry",
    "GradcheckReport",
    "HookHandle",
    "Identity",
    "LayerSummary",
    "Linear",
    "MSELoss",
    "Module",
    "ModuleDict",
    "ModuleList",
    "Optimizer",
    "Parameter",
    "ReLU",
    "ReturnError",
    "Sequential",
    "ShapeError",
    "Sigmoid",
    "Standardizer",
    "StateDictError",
    "Summary",
    "Tanh",
    "count_parameters",
    "datasets",
    "get_rng",
    "gradcheck",
    "init",
    "load",
    "manual_seed",
    "no_grad",
    "optim",
    "parameter_owners",
    "save",
    "summarize",
    "train_val_split",
]
