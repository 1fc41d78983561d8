"""Who owns which Parameter: every dotted name of a shared (tied) weight, and honest counts.

A weight tied between two layers (``b.W = a.W``) is one Parameter object with two names. The
optimizer steps it once and ``named_parameters()`` yields it once; these helpers show every
name, so a debugger can mark the parameter as shared on each owner.
"""

from __future__ import annotations

from .module import Module
from .parameter import Parameter

__all__ = ["count_parameters", "parameter_owner_modules", "parameter_owners"]


def parameter_owner_modules(model: Module) -> dict[int, list[tuple[Module, str, str]]]:
    """Every place each Parameter is registered, keyed by ``id(parameter)``.

    Walks ``model.named_modules(remove_duplicate=False)`` (a sub-module registered under two
    names is visited under both) and each module's own ``_parameters``.

    Returns:
        ``id(param) -> [(owning module, attribute name, dotted name), ...]`` in pre-order,
        so the first entry is the name ``named_parameters()`` uses.
    """
    owners: dict[int, list[tuple[Module, str, str]]] = {}
    for module_path, module in model.named_modules(remove_duplicate=False):
        for name, param in module._parameters.items():
            if isinstance(param, Parameter):
                dotted = f"{module_path}.{name}" if module_path else name
                places = owners.setdefault(id(param), [])
                if all(dotted != seen for _, _, seen in places):
                    places.append((module, name, dotted))
    return owners


def parameter_owners(model: Module) -> dict[int, tuple[str, ...]]:
    """Every dotted name of each Parameter, keyed by ``id(parameter)``, first name first.

    Example: with ``model.b.W = model.a.W`` the entry for that Parameter is ``("a.W", "b.W")``;
    a Parameter with one name has a 1-tuple. A parameter is shared when its tuple has more
    than one name.
    """
    return {
        key: tuple(dotted for _, _, dotted in places)
        for key, places in parameter_owner_modules(model).items()
    }


def count_parameters(model: Module) -> tuple[int, int]:
    """Trainable scalars of ``model``: ``(deduplicated, naive)``.

    ``deduplicated`` counts each Parameter object once (what an optimizer updates and what the
    model really stores); ``naive`` counts a shared weight once per owner, as a per-layer sum
    does (the double count of torchsummary#37). They differ only when something is shared.
    """
    return model.num_parameters(deduplicate=True), model.num_parameters(deduplicate=False)
