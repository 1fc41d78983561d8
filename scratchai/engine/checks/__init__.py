"""Checks that run on demand (and before the first step): a module-by-module backward check
against finite differences, and the recipe's pre-flight checklist."""

from __future__ import annotations

from scratchai.engine.checks.backward import (
    BackwardReport,
    ModuleCheck,
    TensorCheck,
    check_backward,
    has_own_modules,
    is_library_module,
)
from scratchai.engine.checks.recipe import Checklist, CheckResult, run_checklist

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
