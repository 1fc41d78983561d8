"""The notebook's pieces without a kernel: the message when the web extra is missing, the
origins that may frame the page, and the same pictures in a terminal as in a cell."""

from __future__ import annotations

import importlib.util

import pytest

import scratchai as sa
from scratchtui import notebook
from scratchtui.cli import main
from scratchtui.serve import check_frame_origin
from scratchtui.web_server import SECURITY_HEADERS, security_headers


def test_without_the_web_extra_debug_says_what_to_install(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "textual_serve" else real(name, *a),
    )
    with pytest.raises(notebook.WebExtraMissing) as raised:
        notebook.debug(demo="mlp")
    assert "pip install '.[web]'" in str(raised.value) and "netarchitect-scratchai" in str(
        raised.value
    )
    assert isinstance(raised.value, ImportError)


def test_debug_takes_a_file_or_a_demo(tmp_path):
    with pytest.raises(ValueError, match="one of the two"):
        notebook.serve_in_background()
    with pytest.raises(FileNotFoundError):
        notebook.serve_in_background(tmp_path / "missing.py")


def test_only_the_origins_given_may_frame_the_page():
    assert security_headers() == SECURITY_HEADERS  # scratchtui serve: nobody frames it
    assert SECURITY_HEADERS["X-Frame-Options"] == "DENY"
    framed = security_headers(("http://localhost:8888",))
    assert framed["Content-Security-Policy"] == "frame-ancestors 'self' http://localhost:8888"
    assert "X-Frame-Options" not in framed
    assert check_frame_origin("http://localhost:*") == "http://localhost:*"
    for bad in ("*", "http://a; script-src *", "http://a b", "localhost:8888", "'self'"):
        with pytest.raises(ValueError):
            check_frame_origin(bad)


def test_a_bad_embed_from_is_a_usage_error(capsys):
    assert main(["serve", "demo", "mlp", "--embed-from", "http://x; default-src *"]) == 2
    assert "--embed-from" in capsys.readouterr().err


def test_the_flow_reads_the_same_in_a_terminal_and_a_cell(capsys):
    picture = notebook.flow(demo="mlp")
    assert main(["demo", "mlp", "--flow"]) == 0
    printed = capsys.readouterr().out
    text = str(picture)
    assert (
        text.splitlines()[0]
        == printed.splitlines()[0]
        == ("Data flow through Sequential  (numbers of step 1)")
    )
    assert "X @ W + b" in text and "loss" in text and repr(picture) == text
    assert picture._repr_html_().startswith("<pre") and "X @ W + b" in picture._repr_html_()


def test_a_tree_and_a_summary_escape_names_in_html():
    model = sa.Sequential(sa.Linear(4, 3))
    model.add_module("<b>x</b>", sa.ReLU())
    assert "&lt;b&gt;x&lt;/b&gt;" in model._repr_html_() and "<b>x" not in model._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in sa.summarize(model, (2, 4))._repr_html_()
