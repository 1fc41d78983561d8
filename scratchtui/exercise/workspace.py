"""``EXERCISES.md``: what each exercise asks and the commands, written next to ``mynn.py``."""

from __future__ import annotations

from .catalog import all_exercises

_HEAD = """# Net Architect: build it yourself

`mynn.py` holds the module system of the lesson as stubs: every class and method says what it
must do and the shapes involved, and raises `NotImplementedError("exercise N: ...")` until you
write it. Work through the exercises in order; each one builds on the ones before.

    scratchtui exercise check 1      # grade exercise 1 (one line per test)
    scratchtui exercise check        # grade them all
    scratchtui exercise hint 3       # a hint, not the code
    scratchtui exercise solution 3   # the reference solution (for teachers, or to compare)
    scratchtui exercise run          # the lesson's MLP from YOUR Linear, ReLU, CrossEntropyLoss

The grader checks what your code does, never how it is written: any code that behaves like
the lesson says passes (gradients are compared with finite differences). A test that fails
says what it expected, what came back and why it matters. Exit status of `check`: 0 all pass,
6 a test fails or an exercise is not started, 4 `mynn.py` does not import.

The names are scratchai's own: once you have tried, read `scratchai` (Parameter, Module,
Sequential, Linear, ...) as the answer.

## The exercises
"""

_TAIL = """
## Your layers in the debugger

`scratchtui exercise run` opens the lesson's MLP, Linear(128 -> 64) -> ReLU -> Linear(64 -> 10)
with cross-entropy and SGD on the clusters data, built from your `Linear`, `ReLU` and
`CrossEntropyLoss` (exercises 6 and 7). The debugger watches `scratchai.Module`: a layer you
wrote as a subclass of `scratchai.Module` (`import scratchai as sa`, `class Linear(sa.Module)`)
runs as it is; a layer on your own `Module` is wrapped in a scratchai Module that calls your
`forward` and `backward` on your own weight arrays. Either way, the debugger's backward check
(`g`), flow (`f`) and warnings run on your code. `--headless` trains without the UI, `--flow`
prints the flow after one batch.
"""


def exercises_markdown() -> str:
    parts = [_HEAD]
    for ex in all_exercises().values():
        parts.append(f"{ex.number}. **{ex.title}.** {ex.asks}\n")
    parts.append(_TAIL)
    return "\n".join(parts)
