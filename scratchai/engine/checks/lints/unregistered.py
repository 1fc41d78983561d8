"""Modules called during the forward that are not in the model's tree (kept in a plain list,
tuple or dict): never trained, saved or counted.

Found from outside the core: ``watching_calls`` wraps ``Module.__call__`` at class level for
the length of one forward (the original is put back in ``finally``) and reports each module
the model's index does not know, before it runs; ``Strays.name`` finds where it hangs by
walking the attributes of the model's modules for lists, tuples and dicts that hold it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from scratchai.engine.checks.lints.base import LintContext, Stray
from scratchai.engine.observe.records import Remedy, RuleWarning, Severity
from scratchai.engine.views.model_index import ModelIndex
from scratchai.module import Module

RULE = "unregistered_modules"
MARK = " (not registered)"
_CONTAINERS = (list, tuple, dict)
_lock = threading.RLock()  # a forward that starts another stepper nests


@contextmanager
def watching_calls(on_unknown: Callable[[Module], None], known: Callable[[Module], bool]):
    """For the length of the block, call ``on_unknown(module)`` before any module call of this
    thread whose module ``known`` says is not the model's (calls of other threads pass)."""
    thread = threading.get_ident()
    with _lock:  # one watch at a time: the wrapper is process-wide while it lasts
        original = Module.__dict__["__call__"]

        def calling(self: Module, *args: Any, **kwargs: Any) -> Any:
            if threading.get_ident() == thread and not known(self):
                on_unknown(self)
            return original(self, *args, **kwargs)

        calling.__doc__ = original.__doc__
        Module.__call__ = calling  # type: ignore[method-assign]
        try:
            yield
        finally:
            Module.__call__ = original  # type: ignore[method-assign]


class Strays:
    """The modules a model calls but does not hold in its tree, named where they hang.

    Args:
        index: the model's structure; ``on_found(stray)`` is called as each is found (the
            stepper adds it to its views then, so its calls are probed from that one on).
    """

    def __init__(self, index: ModelIndex, on_found: Callable[[Stray], None] | None = None):
        self.index = index
        self.on_found = on_found
        self.found: list[Stray] = []
        self._ids: set[int] = set()

    def known(self, module: Module) -> bool:
        return self.index.path_of(module) is not None or id(module) in self._ids

    @contextmanager
    def watch(self) -> Iterator[None]:
        """Find the strays the forward run inside the block calls."""
        with watching_calls(self.add, self.known):
            yield

    def add(self, module: Module) -> None:
        if id(module) in self._ids:
            return
        self._ids.add(id(module))
        stray = self.name(module)
        self.found.append(stray)
        if self.on_found is not None:
            self.on_found(stray)

    def name(self, module: Module) -> Stray:
        """Where ``module`` hangs: in a container attribute of a module of the model (or of a
        stray), or as a child of a stray found before."""
        for stray in self.found:  # a child of a stray (a Sequential kept in a list)
            for sub, child in stray.module.named_modules():
                if child is module and sub:
                    where = f"{stray.where or stray.path.removesuffix(MARK)}.{sub}"
                    return Stray(module, where + MARK, where, parent=stray.path)
        owners = [*self.index.modules, *((s.where, s.module) for s in self.found if s.where)]
        for owner_path, owner in owners:
            for attribute, value in vars(owner).items():
                if not isinstance(value, _CONTAINERS):
                    continue
                found = _find(value, module, 3)
                if found is not None:
                    where = f"{owner_path}.{attribute}" if owner_path else attribute
                    where += found
                    return Stray(
                        module, where + MARK, where, owner_path, attribute, type(value).__name__
                    )
        same = sum(type(s.module) is type(module) and not s.where for s in self.found)
        return Stray(module, f"{type(module).__name__}#{same + 1}{MARK}", "")


def _find(value: Any, module: Module, depth: int) -> str | None:
    """The subscripts that reach ``module`` inside ``value`` (``[0]``, ``['a'][1]``), else None."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, item in items:
        if item is module:
            return f"[{key!r}]"
        if depth > 1 and isinstance(item, _CONTAINERS):
            deeper = _find(item, module, depth - 1)
            if deeper is not None:
                return f"[{key!r}]{deeper}"
    return None


_FIX = {
    "list": "keep them in a ModuleList: `self.{name} = sa.ModuleList([...])` (indexing and "
    "iterating work as with a list)",
    "tuple": "keep them in a ModuleList: `self.{name} = sa.ModuleList([...])`",
    "dict": "keep them in a ModuleDict: `self.{name} = sa.ModuleDict({{...}})`",
}


class UnregisteredModules:
    """Modules called in the forward that are not in the model's tree (``unregistered_modules``,
    one warning per container that holds them, or per module held nowhere in the model).

    Why: ``Module.__setattr__`` registers a Module only when it is assigned as an attribute;
    one kept in a plain list, tuple or dict runs in the forward but is not in the tree:
    ``parameters()`` and so the optimizer never see its parameters (never trained),
    ``state_dict()`` does not save it and the parameter count leaves it out.

    Args:
        shown: how many of a container's modules the message names.
    """

    rule = RULE

    def __init__(self, shown: int = 3) -> None:
        self.shown = shown

    def before_update(self, ctx: LintContext) -> None:
        pass

    def after_update(self, ctx: LintContext) -> list[RuleWarning]:
        groups: dict[tuple[str, str], list[Stray]] = {}
        for stray in ctx.strays:
            if stray.parent:  # named with the stray that holds it
                continue
            key = (stray.owner, stray.attribute) if stray.where else ("", stray.path)
            groups.setdefault(key, []).append(stray)
        return [self._warning(ctx, group) for group in groups.values()]

    def _warning(self, ctx: LintContext, group: list[Stray]) -> RuleWarning:
        first = group[0]
        size = sum(
            p.size for s in group for p in {id(p): p for p in s.module.parameters()}.values()
        )
        names = ", ".join(
            f"'{s.where or s.path.removesuffix(MARK)}' ({type(s.module).__name__})"
            for s in group[: self.shown]
        )
        names += " ..." if len(group) > self.shown else ""
        count = f"{len(group)} modules" if len(group) > 1 else "a module"
        remedies: tuple[Remedy, ...]
        if first.where:
            owner = ctx.index.module_info(first.owner)
            owner_name = (
                f"'{first.owner}' ({owner.type_name})"
                if first.owner and owner
                else (ctx.model_name or "the model")
            )
            message = (
                f"{count} called in the forward {'are' if len(group) > 1 else 'is'} not "
                f"registered: {names} hang in `{first.attribute}` of {owner_name}, a plain "
                f"{first.container}"
            )
            fix = _FIX[first.container].format(name=first.attribute)
            remedies = (
                Remedy(fix),
                Remedy("or assign each as an attribute: `self.hidden0 = sa.Linear(...)`"),
            )
        else:
            message = (
                f"{names} ran in the forward but is held by no attribute of the model "
                "(a global variable, or made inside forward?)"
            )
            remedies = (
                Remedy("create it in __init__ and assign it as an attribute: `self.layer = ...`"),
            )
        if size:
            lost = (
                f"{'their' if len(group) > 1 else 'its'} {size:,} parameters are never "
                "trained (model.parameters(), and so the optimizer, never sees them), saved "
                "(state_dict) or counted"
            )
        else:
            lost = (
                "without parameters training is unaffected, but the model's tree, "
                "repr and state_dict leave it out"
            )
        diagnosis = (
            "Module.__setattr__ registers a Module only when it is assigned as an attribute: "
            f"one kept in a plain list, tuple or dict runs in the forward but is not in the "
            f"model's tree, so {lost}. The layers table and the flow show "
            f"{'their' if len(group) > 1 else 'its'} calls marked 'not registered'."
        )
        return RuleWarning(
            RULE, Severity.WARNING, ctx.step, message, diagnosis, remedies, first.path
        )
