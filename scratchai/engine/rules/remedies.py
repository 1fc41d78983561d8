"""Remedies several rules give."""

from ..records import Remedy

REDUCE_LR = Remedy(
    "lower the learning rate ([ halves it in the TUI) and run again, until the update:data "
    "ratio is near 1e-3 or below"
)
FIX_INIT = Remedy("fix the init scale (e.g. PyTorch's ±1/sqrt(fan_in), or kaiming for ReLU)")
CLIP = Remedy("clip the gradient norm, or normalise inputs (Standardizer)")
