"""Remedies several rules give. They name actions, never a front end's keys."""

from ..records import Remedy

REDUCE_LR = Remedy(
    "lower the learning rate (halve it) and run again, until the update:data ratio is near "
    "1e-3 or below",
    action="lower_lr",
)
FIX_INIT = Remedy("fix the init scale (e.g. PyTorch's ±1/sqrt(fan_in), or kaiming for ReLU)")
CLIP = Remedy("clip the gradient norm, or normalise inputs (Standardizer)")
