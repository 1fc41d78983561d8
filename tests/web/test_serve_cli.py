"""``scratchtui serve`` without a browser: argument checks, the command each tab runs, the
address the page hands out, and the error when the web extra is missing."""

from __future__ import annotations

import socket
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import pytest
from rich.console import Console
from textual.widgets import Static

from scratchtui.cli import main
from scratchtui.serve import DEFAULT_MAX_TABS, INSTALL_HINT, app_command, public_url, serve

BROKEN = "def build():\n    raise RuntimeError('broken on purpose')\n"


def test_each_tab_runs_this_python_and_this_package(tmp_path: Path) -> None:
    command = app_command("mlp", None, seed=3)
    assert command == [sys.executable, "-m", "scratchtui.cli", "demo", "mlp", "--seed", "3"]
    model = tmp_path / "my_model.py"
    command = app_command(None, Path(model.name), seed=0, checkpoint_names="torch")
    assert command[3:5] == ["run", str(Path(model.name).resolve())]
    assert command[-2:] == ["--checkpoint-names", "torch"]


def test_the_page_hands_out_an_address_browsers_can_reach() -> None:
    assert public_url("127.0.0.1", 8000, None) is None  # textual-serve's http://host:port
    assert public_url("0.0.0.0", 8000, None) not in (None, "http://0.0.0.0:8000")
    assert public_url("0.0.0.0", 80, "https://lesson.example/") == "https://lesson.example"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["serve", "demo", "nope"], "no demo named 'nope'"),
        (["serve", "demo"], "name a demo"),
        (["serve", "missing.py"], "no such file"),
        (["serve", "demo", "mlp", "--port", "0"], "--port must be in"),
    ],
)
def test_usage_errors_exit_2_before_serving(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_a_broken_model_file_fails_once_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "broken.py"
    model.write_text(textwrap.dedent(BROKEN))
    assert main(["serve", str(model)]) == 4
    assert "broken on purpose" in capsys.readouterr().err


def test_missing_web_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "textual_serve", None)  # import raises ImportError
    monkeypatch.setitem(sys.modules, "textual_serve.server", None)
    monkeypatch.delitem(sys.modules, "scratchtui.web_server", raising=False)
    errors = Console(record=True, width=200)
    assert serve(["x"], "t", "127.0.0.1", 8000, None, errors) == 2
    text = errors.export_text()
    assert "pip install '.[web]'" in text and INSTALL_HINT.split(":")[0] in text


class FakeServer:
    """Stands in for scratchtui.web_server.GuardedServer: records how it was made and served."""

    made: ClassVar[dict[str, Any]] = {}

    def __init__(
        self,
        argv: list[str],
        gate: Any,
        max_tabs: int,
        title: str,
        page_url: str,
        report: Any,
        frame_ancestors: tuple[str, ...] = (),
    ) -> None:
        FakeServer.made = {
            "argv": argv,
            "gate": gate,
            "max_tabs": max_tabs,
            "title": title,
            "page_url": page_url,
            "frame_ancestors": frame_ancestors,
        }

    def serve(self) -> None:
        raise KeyboardInterrupt  # ctrl+c


def _fake(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("textual_serve")
    import scratchtui.web_server

    FakeServer.made = {}
    monkeypatch.setattr(scratchtui.web_server, "GuardedServer", FakeServer)


def test_serve_passes_host_port_title_and_warns_on_a_public_bind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake(monkeypatch)
    errors = Console(record=True, width=200)
    command = app_command("mlp", None, seed=0)
    assert serve(command, "ScratchAI: demo mlp", "0.0.0.0", 8123, "http://h:8123", errors) == 0
    made = FakeServer.made
    gate = made["gate"]
    assert gate.host == "0.0.0.0" and gate.port == 8123 and made["max_tabs"] == DEFAULT_MAX_TABS
    assert made["title"] == "ScratchAI: demo mlp"
    assert made["page_url"] == f"http://h:8123/?token={gate.token}" and len(gate.token) > 40
    assert made["argv"][-4:] == ["demo", "mlp", "--seed", "0"]
    assert "anyone who can reach port 8123" in errors.export_text()
    quiet = Console(record=True, width=200)
    assert serve(command, "t", "127.0.0.1", 8123, None, quiet) == 0
    assert quiet.export_text() == ""
    assert FakeServer.made["page_url"].startswith("http://127.0.0.1:8123/?token=")


def test_each_server_gets_its_own_token_and_no_token_is_loud(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake(monkeypatch)
    command = app_command("mlp", None, seed=0)
    quiet = Console(record=True, width=200)
    serve(command, "t", "127.0.0.1", 8123, None, quiet)
    first = FakeServer.made["gate"].token
    serve(command, "t", "127.0.0.1", 8123, None, quiet)
    assert FakeServer.made["gate"].token != first
    loud = Console(record=True, width=200)
    serve(command, "t", "127.0.0.1", 8123, None, loud, token=False, max_tabs=3)
    assert FakeServer.made["gate"].token is None and FakeServer.made["max_tabs"] == 3
    assert FakeServer.made["page_url"] == "http://127.0.0.1:8123/"
    assert "WARNING: --no-token" in loud.export_text()


def test_the_command_line_passes_max_tabs_public_url_and_no_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _fake(monkeypatch)
    argv = ["serve", "demo", "mlp", "--port", "8124", "--max-tabs", "7", "--no-token"]
    assert main([*argv, "--public-url", "https://lesson.example/"]) == 0
    gate = FakeServer.made["gate"]
    assert FakeServer.made["max_tabs"] == 7 and gate.token is None
    assert gate.public_url == "https://lesson.example"
    assert main(["serve", "demo", "mlp", "--max-tabs", "0"]) == 2
    assert FakeServer.made["frame_ancestors"] == ()  # no page may frame it unless told


def test_embed_from_and_lr_reach_the_server_and_its_tabs(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch)
    argv = ["serve", "demo", "mlp", "--port", "8125", "--lr", "0.02"]
    assert main([*argv, "--embed-from", "http://localhost:8888"]) == 0
    assert FakeServer.made["frame_ancestors"] == ("http://localhost:8888",)
    assert FakeServer.made["argv"][-2:] == ["--lr", "0.02"]


def test_torch_names_for_a_model_torch_cannot_name_fail_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = tmp_path / "scaled.py"
    model.write_text(SCALED)
    assert main(["serve", str(model), "--checkpoint-names", "torch"]) == 2
    assert "module '1' is a" in capsys.readouterr().err


SCALED = """
import numpy as np
import scratchai as sa
from scratchai.datasets import make_clusters
from scratchai.engine import Experiment

class Scale(sa.Module):
    def __init__(self):
        super().__init__()
        self.s = sa.Parameter(np.ones(3, np.float32))
    def forward(self, x):
        return x * self.s.data

def build():
    data = make_clusters(n_samples=60, num_features=4, num_classes=3, seed=0)
    model = sa.Sequential(sa.Linear(4, 3), Scale())
    return Experiment(model, sa.CrossEntropyLoss(), sa.SGD(model.parameters(), lr=0.1),
                      sa.DataLoader(data, batch_size=16), name="scaled")
"""


def test_a_taken_port_is_said_before_any_banner(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch)
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        errors = Console(record=True, width=200)
        assert serve(app_command("mlp", None, seed=0), "t", "127.0.0.1", port, None, errors) == 2
    assert f"cannot listen on 127.0.0.1:{port}" in errors.export_text()
    assert FakeServer.made == {}  # never started: no "Serving on ..." banner


def test_a_tab_whose_model_file_broke_after_start_shows_the_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under textual-serve (TEXTUAL_DRIVER set) the app process shows the load error in the
    page instead of leaving the learner's tab blank."""
    from scratchtui import load_error

    shown: list[str] = []
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    monkeypatch.setattr(load_error.LoadErrorApp, "run", lambda self: shown.append(self.message))
    model = tmp_path / "my_model.py"
    model.write_text(BROKEN)
    assert main(["run", str(model)]) == 4
    assert len(shown) == 1 and "broken on purpose" in shown[0]


async def test_the_load_error_page_says_what_to_do() -> None:
    from scratchtui.load_error import LoadErrorApp

    app = LoadErrorApp("my_model.py: build() raised RuntimeError: broken on purpose")
    async with app.run_test(size=(80, 24)) as pilot:
        text = " ".join(str(s.render()) for s in app.query(Static))
        assert "broken on purpose" in text and "reload this page" in text
        await pilot.press("q")
    assert app.return_code == 0
