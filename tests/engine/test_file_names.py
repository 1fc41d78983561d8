"""An experiment's name, made into file names: never a path, never hidden, bounded, linear."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from scratchai.engine.timeline.file_names import MAX_STEM_BYTES, safe_stem


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("mlp", "mlp"),
        ("my-model_v2.1", "my-model_v2.1"),
        ("../../etc/passwd", "etc_passwd"),
        ("a/b\\c", "a_b_c"),
        ("..", "experiment"),
        ("", "experiment"),
        ("   ", "experiment"),
        (".hidden", "hidden"),
        ("a..b...c", "a.b.c"),
        ("my model: v2", "my_model_v2"),
        ("[/bold] [red", "bold_red"),
        ("tab\there\nnewline\x00nul", "tab_here_newline_nul"),
        ("NUL", "_NUL"),
        ("com1.backup", "_com1.backup"),
        ("réseau-θ", "réseau-θ"),
        ("C:\\Users\\x", "C_Users_x"),
    ],
)
def test_names_become_plain_stems(name: str, stem: str) -> None:
    assert safe_stem(name) == stem


def test_a_stem_is_never_a_path(tmp_path: Path) -> None:
    for name in ("../x", "/abs/olute", "a/../../b", "..\\..\\w", "~/x", "x/.", "./."):
        stem = safe_stem(name)
        target = (tmp_path / f"{stem}-step1.csv").resolve()
        assert target.parent == tmp_path.resolve() and not stem.startswith(".")
        assert ".." not in stem and "/" not in stem and "\\" not in stem


def test_long_names_are_cut_and_stay_distinct() -> None:
    a, b = "x" * 100_000 + "a", "x" * 100_000 + "b"
    started = time.perf_counter()
    stem_a, stem_b = safe_stem(a), safe_stem(b)
    assert time.perf_counter() - started < 1.0  # linear: 100,000 characters in milliseconds
    assert stem_a != stem_b
    assert len(stem_a.encode()) <= MAX_STEM_BYTES and len(stem_b.encode()) <= MAX_STEM_BYTES
    wide = safe_stem("θ" * 1000)  # 2 bytes a character: cut on a character boundary
    assert len(wide.encode()) <= MAX_STEM_BYTES and wide.startswith("θθθ")
