"""Remedies several rules give. They name actions, never a front end's keys."""

from scratchai.engine.observe.records import Remedy

REDUCE_LR = Remedy(
    "lower the learning rate (halve it) and run again, until the update:data ratio is near "
    "1e-3 or below",
    action="lower_lr",
)
FIX_INIT = Remedy("fix the init scale (e.g. PyTorch's ±1/sqrt(fan_in), or kaiming for ReLU)")
CLIP = Remedy("clip the gradient norm, or normalise inputs (Standardizer)")
NORMALISE_INPUTS = Remedy(
    "standardise the inputs: fit sa.Standardizer on the training inputs and transform both "
    "training and validation data, so that every feature has mean 0 and std 1"
)
RAISE_LR = Remedy(
    "raise the learning rate (x10 at a time) until the update:data ratio is near 1e-3"
)
BETTER_INIT = Remedy(
    "init for the activation: kaiming (std sqrt(2/fan_in)) for ReLU, xavier (std "
    "sqrt(1/fan_in)) for tanh; a too-small init starves the early layers"
)
SMALLER_INIT = Remedy(
    "init with smaller weights: xavier (std sqrt(1/fan_in)) for tanh and sigmoid; large "
    "weights push the pre-activations into the flat tails"
)
BETTER_ACTIVATION = Remedy(
    "use ReLU instead of sigmoid/tanh between the layers of a deep stack (their slope is at "
    "most 0.25 / 1 and near 0 when saturated), or fewer layers"
)
NORMALISE_LAYERS = Remedy("normalise the activations: a BatchNorm1d after each Linear")
REGULARISE = Remedy("regularise: Dropout between layers, or weight_decay in the optimizer")
MORE_DATA = Remedy("more training data, or a smaller model")


def inputs_first(problem: str, remedies: tuple[Remedy, ...]) -> tuple[Remedy, ...]:
    """``remedies`` led by standardising the inputs when the data is at fault (``problem``)."""
    return (NORMALISE_INPUTS, *remedies) if problem else remedies


def inputs_cause(problem: str) -> str:
    """A diagnosis sentence naming unstandardised inputs as the likely cause, or ''."""
    if not problem:
        return ""
    return (
        f" The inputs are not standardised ({problem}): every activation and gradient scales "
        "with them, so that is the likely cause."
    )
