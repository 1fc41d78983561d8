"""Hypothesis settings profiles for the property tests, so their run time stays bounded.

- ``ci`` (when ``CI`` is set): few examples, derandomized (the same examples every run: a red
  CI means a real bug, not an unlucky draw), no deadline (a shared 2-core machine's timing
  says nothing about correctness), no example database written.
- ``dev`` (default): more examples, random, no deadline.
- ``thorough``: many examples, for a hunt (``HYPOTHESIS_PROFILE=thorough pytest tests/properties``).
"""

from __future__ import annotations

import os

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="hypothesis is not installed (test extra)")

_COMMON = {"deadline": None, "print_blob": True}
hypothesis.settings.register_profile(
    "ci", max_examples=30, derandomize=True, database=None, **_COMMON
)
hypothesis.settings.register_profile("dev", max_examples=40, **_COMMON)
hypothesis.settings.register_profile("thorough", max_examples=500, **_COMMON)
hypothesis.settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)
