"""The debugger in a notebook (issue 22, item 6), on a real kernel: a small notebook is executed
cell by cell with nbclient and ipykernel, as Jupyter runs it. ``debug(demo="mlp")`` gives an
IFrame whose address carries the token; the page it points at is served (and may be framed by
a local notebook's page), its websocket starts a debugger; the model's tree, ``summarize`` and
the flow come out as HTML. The server is stopped by the notebook's last cell, and killed here
if that cell never ran."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import urllib.error
import urllib.request
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("textual_serve", reason="the web extra (textual-serve) is not installed")

CELLS = [
    "import scratchai as sa\nfrom scratchtui import notebook\n"
    "frame = notebook.debug(demo='mlp', height=500)\nframe",
    "print(json.dumps({'url': frame.server.url, 'pid': frame.server.process.pid}))",
    "model = sa.Sequential(sa.Linear(128, 64), sa.ReLU(), sa.Linear(64, 64), sa.ReLU(),"
    " sa.Linear(64, 10))\nmodel[2].b = model[0].b  # a shared weight: counted once\nmodel",
    "sa.summarize(model, (32, 128))",
    "notebook.flow(demo='mlp')",
    "frame.server.stop()\nprint('running:', frame.server.running)",
]


def _html(cell: dict) -> str:
    return "".join(
        out.get("data", {}).get("text/html", "")
        for out in cell["outputs"]
        if out["output_type"] in ("execute_result", "display_data")
    )


def _stdout(cell: dict) -> str:
    return "".join(out.get("text", "") for out in cell["outputs"] if out["output_type"] == "stream")


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


async def _first_frame(url: str) -> bytes:
    """Open the page's websocket as the framed page does (its Origin is the server's own) and
    return the first bytes the debugger draws."""
    import aiohttp

    base = url.split("/?")[0]
    token = url.split("token=")[1]
    websocket_url = base.replace("http:", "ws:") + f"/ws/{token}?width=100&height=30"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(websocket_url, headers={"Origin": base}) as websocket,
    ):
        await websocket.send_json(["resize", {"width": 100, "height": 30}])
        drawn = b""
        while len(drawn) < 2000:
            message = await asyncio.wait_for(websocket.receive(), timeout=60)
            if message.type != aiohttp.WSMsgType.BINARY:
                continue
            drawn += message.data
        return drawn


def test_a_notebook_serves_the_debugger_in_a_frame_and_shows_rich_output(tmp_path: Path):
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("import json")] + [
        nbformat.v4.new_code_cell(source) for source in CELLS
    ]
    client = nbclient.NotebookClient(
        book, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    pid = None
    with client.setup_kernel():
        try:
            for index in range(3):  # the IFrame and its address
                client.execute_cell(book.cells[index], index)
            frame_html = _html(book.cells[1])
            found = json.loads(_stdout(book.cells[2]))
            url, pid = found["url"], found["pid"]
            assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\?token=[\w\-%]{40,}", url), url
            assert "<iframe" in frame_html and f'src="{url}"' in frame_html.replace("&amp;", "&")

            status, headers, page = _get(url)
            assert status == 200 and "textual" in page.lower()
            # a notebook on this machine may frame it; no other page may
            assert "http://localhost:*" in headers["Content-Security-Policy"]
            assert "X-Frame-Options" not in headers
            assert _get(url.split("?")[0])[0] == 403  # without the token: refused
            assert _get(url, {"Origin": "http://evil.example"})[0] == 403
            drawn = asyncio.run(_first_frame(url))
            assert len(drawn) >= 2000  # the debugger drew its screen in the framed page

            for index in range(3, len(book.cells)):
                client.execute_cell(book.cells[index], index)
        finally:
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)  # only if the last cell did not stop it
    tree, summary, flow = (_html(book.cells[i]) for i in (3, 4, 5))
    assert tree.startswith("<pre") and "(4): Linear(in_features=64, out_features=10" in tree
    assert "13,002 parameters (13,066 counting each owner of a shared weight)" in tree
    assert "<table>" in summary and "Total params: 13,002 (each weight once)" in summary
    assert "b &lt;-&gt; 2.b" in summary  # escaped, as every name is
    assert "Data flow through Sequential" in flow and "X @ W + b" in flow and "<span" in flow
    assert "running: False" in _stdout(book.cells[6])
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, 0)
        pytest.fail(f"the notebook's server {pid} still runs")
