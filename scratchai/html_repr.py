"""What a notebook cell shows for a model's tree and a summary: small HTML, built with plain
string code (scratchai imports no UI library), every user-written name escaped."""

from __future__ import annotations

import html
from collections.abc import Sequence

#: Monospace, as the terminal shows it; the notebook's own colours (light or dark theme).
_PRE = 'style="font-family:monospace;line-height:1.25;margin:0"'


def pre(text: str, note: str = "") -> str:
    """``text`` as a monospace block, ``note`` under it in a smaller line."""
    out = f"<pre {_PRE}>{html.escape(text)}</pre>"
    if note:
        out += f'<div style="font-size:smaller;opacity:0.75">{html.escape(note)}</div>'
    return out


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    right: Sequence[int],
    notes: Sequence[str],
) -> str:
    """A table (columns in ``right`` aligned right), then one line per note."""

    def cell(tag: str, text: str, column: int) -> str:
        align = "right" if column in right else "left"
        text = html.escape(text)
        if column == 0:  # the tree's indentation survives HTML's whitespace rules
            stripped = text.lstrip(" ")
            text = "&nbsp;" * (len(text) - len(stripped)) + stripped
        return f'<{tag} style="text-align:{align};font-family:monospace">{text}</{tag}>'

    head = "".join(cell("th", h, i) for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", c, i) for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    lines = "".join(f"<div>{html.escape(note)}</div>" for note in notes)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{lines}"
