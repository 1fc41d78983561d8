"""Number formatting and colour rules shared by the widgets (rendering only, no statistics).

Every formatter returns a string of bounded width so table columns can be sized once and then
updated in place without re-measuring.
"""

from __future__ import annotations

import math

from rich.text import Text

#: The update:data ratio rule of thumb (CS231n, Karpathy's "Recipe"): healthy near 1e-3.
RATIO_GOOD = (1e-4, 1e-2)  # green inside: within one decade of 1e-3
RATIO_FAR = (1e-5, 1e-1)  # red outside: more than two decades away (or non-finite)

#: Marks a parameter that has several owners. ASCII so it renders in any terminal font.
SHARED_MARK = "<->"
CHECK_OK = "✓"  # the backward check passed
CHECK_FAILED = "✗"  # it failed: the warning says why


def num(value: float | None, width: int = 8) -> str:
    """A float in at most ``width`` characters: fixed point when that reads well, else 1.2e-03.

    None becomes '-', NaN and Inf are spelled out so a divergence is never hidden.
    """
    if value is None or not math.isfinite(value) or value == 0:
        return _special(value)
    if abs(value) >= 1e-3:  # smaller reads better as 1.2e-4 than as 0.00012
        for digits in (4, 3, 2):
            text = f"{value:.{digits}g}"
            if len(text) <= width and "e" not in text:
                return text
        text = f"{value:.0f}"  # large but still fits: 12346 reads better than 1.2e4
        if len(text) <= width:
            return text
    return sci(value)


def sci(value: float | None) -> str:
    """Compact scientific notation, e.g. 1.2e-3 (no '+' or leading zeros in the exponent)."""
    if value is None or not math.isfinite(value) or value == 0:
        return _special(value)
    mantissa, exponent = f"{value:.1e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _special(value: float | None) -> str:
    """None, NaN, +-Inf and 0, which no number format should round away."""
    if value is None:
        return "-"
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return "0"


def count(value: int) -> str:
    """An integer with thousands separators: 8,192."""
    return f"{value:,}"


def shape(dims: tuple[int, ...]) -> str:
    """A shape as NumPy prints it: (32, 128), (10,), ()."""
    return str(tuple(int(d) for d in dims))


def percent(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return num(value)
    return f"{100 * value:.0f}%"


def ratio_style(value: float | None) -> str:
    """Colour of an update:data ratio against the 1e-3 rule of thumb.

    Green within a decade of 1e-3, yellow within two, red beyond or non-finite (0 counts as
    far: the parameter does not move at all).
    """
    if value is None:
        return "dim"
    if not math.isfinite(value):
        return "bold red"
    if RATIO_GOOD[0] <= value <= RATIO_GOOD[1]:
        return "green"
    if RATIO_FAR[0] <= value <= RATIO_FAR[1]:
        return "yellow"
    return "red"


def fraction_style(value: float | None) -> str:
    """Colour of a dead-unit or saturation fraction: a few are normal, most is a problem."""
    if value is None:
        return "dim"
    if not math.isfinite(value) or value >= 0.9:
        return "red"
    if value >= 0.5:
        return "yellow"
    return ""


def value_text(value: float | None, width: int = 8, style: str = "") -> Text:
    """``num(value)`` as Rich Text, red when non-finite whatever ``style`` says."""
    if value is not None and not math.isfinite(value):
        style = "bold red"
    return Text(num(value, width), style=style)


def nonfinite_text(n: int) -> Text:
    return Text(str(n), style="bold red" if n else "dim")
