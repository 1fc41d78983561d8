"""Checks that run on demand (and before the first step): a module-by-module backward check
against finite differences, and the recipe's pre-flight checklist."""

from __future__ import annotations

from .backward import (
    BackwardReport,
    ModuleCheck,
    TensorCheck,
    check_backward,
    has_own_modules,
    is_library_module,
)
from .recipe import Checklist, CheckResult, run_checklist

__all__ = [
    "BackwardReport",
    "CheckResult",
    "Checklist",
    "ModuleCheck",
    "TensorCheck",
    "check_backward",
    "has_own_modules",
    "is_library_module",
    "run_checklist",
]
