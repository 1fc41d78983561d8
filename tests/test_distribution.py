"""The distribution has a name of its own: ``scratchai`` on PyPI is another project, so the
wheel is ``netarchitect-scratchai`` while the import names stay ``scratchai`` and ``scratchtui``."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scratchtui.cli import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[1]


def test_pyproject_names_the_distribution_not_the_import_package():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")  # tomllib is 3.11+
    project = text.split("[project]\n", 1)[1].split("\n[", 1)[0]
    assert re.findall(r'^name = "([^"]+)"$', project, re.M) == [DISTRIBUTION]
    assert DISTRIBUTION == "netarchitect-scratchai"


def test_the_installed_distribution_provides_both_import_names():
    """What pip installed (editable here, a wheel in CI) is netarchitect-scratchai."""
    dist = importlib.metadata.distribution(DISTRIBUTION)
    (script,) = [e for e in dist.entry_points if e.group == "console_scripts"]
    assert (script.name, script.value) == ("scratchtui", "scratchtui.cli:main")
    owners = importlib.metadata.packages_distributions()  # a wheel's install lists its files
    for package in ("scratchai", "scratchtui"):
        assert owners.get(package, [DISTRIBUTION]) == [DISTRIBUTION]
    assert importlib.metadata.version(DISTRIBUTION) == importlib.metadata.version(
        "netarchitect_scratchai"
    )
    result = subprocess.run(
        [sys.executable, "-m", "scratchtui.cli", "--version"], capture_output=True, text=True
    )
    assert result.stdout.strip() == f"scratchtui {importlib.metadata.version(DISTRIBUTION)}"


@pytest.mark.skipif(not (ROOT / "pyproject.toml").is_file(), reason="no source tree")
def test_the_wheel_is_named_netarchitect_scratchai(tmp_path):
    """``pip wheel .`` builds netarchitect_scratchai-VERSION-py3-none-any.whl holding the
    packages scratchai and scratchtui, the demos and the console script."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(ROOT), "-w", tmp_path],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = tmp_path.glob("*.whl")
    assert wheel.name.startswith("netarchitect_scratchai-0.") and wheel.name.endswith(
        "-py3-none-any.whl"
    )
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        tops = {name.split("/")[0] for name in names}
        info = next(n for n in tops if n.endswith(".dist-info"))
        metadata = archive.read(f"{info}/METADATA").decode()
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    assert {"scratchai", "scratchtui"} <= tops
    assert "scratchai/demos/mlp.py" in names
    assert "Name: netarchitect-scratchai" in metadata.splitlines()
    assert "scratchtui = scratchtui.cli:main" in entry_points
