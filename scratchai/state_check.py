"""Checking a state dict completely before ``load_state_dict`` writes anything.

Every value is cast to its target's dtype here, so that every problem is found before the
first array is written: a wrong shape, a value the target dtype cannot hold (a float64 too
large for float32, complex values, integers for a float weight), NaN/Inf, and two alias keys
of one tied weight that disagree. The model is changed only when the whole state passes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .parameter import Parameter


def _cast(key: str, value: Any, target: np.ndarray, allow_nonfinite: bool) -> np.ndarray | str:
    """``value`` as an array of ``target``'s shape and dtype, or what is wrong with it.

    A ``Parameter`` loads as its ``.data``, as PyTorch loads an ``nn.Parameter`` (a state
    built from ``named_parameters()`` loads).
    """
    given = type(value).__name__
    if isinstance(value, Parameter):
        value = value.data
    try:
        value = np.asarray(value)
    except Exception as err:  # ragged lists and other things NumPy cannot make an array of
        return f"'{key}': not an array ({err})"
    kind, want = value.dtype.kind, target.dtype
    if kind not in "biufc":
        return (
            f"'{key}': expected a numeric numpy array (or a Parameter) of shape "
            f"{target.shape}, got {given} (dtype {value.dtype})"
        )
    if value.shape != target.shape:
        return f"'{key}': expected shape {target.shape}, got {value.shape} in the state"
    if kind == "c" and want.kind != "c":
        return f"'{key}': complex values ({value.dtype}) for a {want} array"
    if want.kind == "f" and kind in "biu":
        return (
            f"'{key}': {value.dtype} values for a {want} array; convert them first "
            f"(np.asarray(value, np.{want})) if that is what you mean"
        )
    if want.kind in "biu" and kind in "fc":
        return f"'{key}': {value.dtype} values for a {want} array would be truncated"
    with np.errstate(all="ignore"):
        cast = value.astype(want)
    if kind in "fc":
        finite = np.isfinite(value)
        if not allow_nonfinite and not finite.all():
            bad = int(finite.size - np.count_nonzero(finite))
            return (
                f"'{key}': {bad} NaN/Inf value(s) in the state (a diverged run's weights?); "
                "pass allow_nonfinite=True to load them anyway"
            )
        overflow = finite & ~np.isfinite(cast)
        if overflow.any():
            largest = float(np.max(np.abs(value[overflow])))
            return (
                f"'{key}': a value of magnitude {largest:.4g} overflows {want} "
                f"(largest {float(np.finfo(want).max):.4g})"
            )
    elif want.kind in "iu" and not np.array_equal(cast.astype(value.dtype), value):
        return f"'{key}': {value.dtype} values out of the range of {want}"
    return cast


def check_state(
    targets: dict[str, np.ndarray],
    state: Mapping[str, Any],
    strict: bool,
    allow_nonfinite: bool = False,
) -> tuple[dict[str, np.ndarray], list[str], list[str], list[str]]:
    """Cast and check every value of ``state`` against the model's live arrays ``targets``.

    Returns:
        ``(values, missing, unexpected, problems)``: the cast values by key (to be copied into
        ``targets``), the keys missing from / unexpected in ``state``, and one line per
        problem (empty when the state can be loaded).
    """
    missing = [key for key in targets if key not in state]
    unexpected = [key for key in state if key not in targets]
    problems: list[str] = []
    if strict and missing:
        problems.append("missing keys: " + ", ".join(missing))
    if strict and unexpected:
        # sorted: a loaded file's key order is the format's, not the model's
        problems.append("unexpected keys: " + ", ".join(sorted(unexpected)))
        if any(key.endswith((".weight", ".bias")) for key in unexpected):
            problems.append(
                "'.weight'/'.bias' are PyTorch's names: a file saved in them loads with "
                "model.load_state_dict(scratchai.interop.state_from_torch(model, state))"
            )
    values: dict[str, np.ndarray] = {}
    first_alias: dict[int, str] = {}  # id(live array) -> the first key that loads it
    for key, target in targets.items():
        if key not in state:
            continue
        cast = _cast(key, state[key], target, allow_nonfinite)
        if isinstance(cast, str):
            problems.append(cast)
            continue
        other = first_alias.setdefault(id(target), key)
        if other != key and not np.array_equal(values[other], cast, equal_nan=True):
            problems.append(f"'{other}' and '{key}' name one tied weight but hold different values")
        values[key] = cast
    return values, missing, unexpected, problems
