"""Values loaded into a state dict: cast to the model's dtypes before anything is written."""

from __future__ import annotations

import numpy as np


def cast_for_load(key: str, value: np.ndarray, dtype: np.dtype) -> np.ndarray | str:
    """``value`` cast to the target's ``dtype``, or the problem that forbids loading it.

    Casting before any array is written keeps ``load_state_dict`` all-or-nothing: a cast that
    warns or raises (complex to real; a finite value beyond the dtype's range, e.g. float64
    1e300 into float32, which ``np.errstate(over="raise")`` turns into an error) is reported
    with the other problems instead of stopping a load half-way.
    """
    if value.dtype.kind == "c" and dtype.kind != "c":
        return (
            f"'{key}': expected real values, got dtype {value.dtype} (the imaginary part is lost)"
        )
    with np.errstate(all="ignore"):
        cast = value.astype(dtype, copy=False)
    if dtype.kind == "f" and value.dtype.kind in "fiu" and value.dtype != dtype:
        overflow = np.isinf(cast) & np.isfinite(value)
        if overflow.any():
            return (
                f"'{key}': {int(overflow.sum())} finite value(s) such as "
                f"{value[overflow].flat[0]:g} overflow {dtype} (the model's dtype)"
            )
    return cast
