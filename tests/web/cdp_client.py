"""A small client of the Chrome DevTools Protocol: start headless Chromium, open a page, send
keys, read what an xterm.js terminal shows, take a screenshot.

It speaks the protocol over aiohttp's websocket client (aiohttp comes with textual-serve), so
the browser test needs no extra package. One ``Browser`` drives one page (a flat session).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

#: What headless Chromium needs on these machines (no GPU, no network but loopback, root).
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
    "--window-size=1280,800",
)

#: Called on a class: its prototype if it is textual-serve's terminal wrapper, else null.
_PROTOTYPE = """function () {
    const p = this.prototype;
    return p && typeof p.connect === "function" && typeof p.fit === "function" ? p : null;
}"""

#: Called on the array of wrappers: the rows of the first one's xterm.js terminal, as text.
_ROWS_OF_WRAPPERS = """function () {
    const terminal = this.length ? this[0].terminal : null;
    if (!terminal) return "";
    const buffer = terminal.buffer.active;
    const rows = [];
    for (let i = 0; i < terminal.rows; i++) {
        const line = buffer.getLine(buffer.viewportY + i);
        rows.push(line ? line.translateToString(true) : "");
    }
    return rows.join("\\n");
}"""


def find_chromium() -> str | None:
    """Debian's ``chromium`` (or another Chromium/Chrome on PATH), or None."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Connection:
    """The browser-level DevTools websocket; every page's session talks through it."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)  # one counter: ids are unique across sessions

    async def send(self, method: str, session: str | None = None, **params: Any) -> dict:
        """Send one command (to a page's ``session``, or to the browser) and return its
        result; events and other replies read meanwhile are skipped (calls never overlap)."""
        call_id = next(self._ids)
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params}
        if session is not None:
            message["sessionId"] = session
        await self._ws.send_json(message)
        while True:
            reply = await self._ws.receive_json()
            if reply.get("id") == call_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    async def open_tab(self, url: str) -> Browser:
        """A new tab showing ``url``, and its driver."""
        target = await self.send("Target.createTarget", url=url)
        attached = await self.send(
            "Target.attachToTarget", targetId=target["targetId"], flatten=True
        )
        return Browser(self, attached["sessionId"])


class Browser:
    """One page (tab) of a headless Chromium, driven through CDP."""

    def __init__(self, connection: Connection, session_id: str) -> None:
        self.connection = connection
        self._session = session_id

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command to this page and return its result."""
        return await self.connection.send(method, self._session, **params)

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def _call(self, object_id: str, function: str, by_value: bool = True) -> Any:
        result = await self.send(
            "Runtime.callFunctionOn",
            objectId=object_id,
            functionDeclaration=function,
            returnByValue=by_value,
        )
        remote = result.get("result", {})
        return remote.get("value") if by_value else remote.get("objectId")

    async def _terminal_wrappers(self) -> str | None:
        """An array (by object id) of textual-serve's terminal wrappers, or None yet.

        textual-serve keeps them out of reach of page scripts: ``window.onresize`` is the
        arrow function ``() => { this.fit() }`` that a wrapper installs, and its closure scope
        holds the wrapper's class (the one whose prototype has ``connect`` and ``fit``);
        ``Runtime.queryObjects`` then lists that class's live instances.
        """
        handler = await self.send("Runtime.evaluate", expression="window.onresize")
        object_id = handler.get("result", {}).get("objectId")
        if object_id is None:
            return None
        props = await self.send("Runtime.getProperties", objectId=object_id, ownProperties=True)
        scopes = next(
            (p for p in props.get("internalProperties", []) if p["name"] == "[[Scopes]]"), None
        )
        if scopes is None:
            return None
        scope_list = await self.send(
            "Runtime.getProperties", objectId=scopes["value"]["objectId"], ownProperties=True
        )
        for scope in scope_list.get("result", []):
            if scope.get("value", {}).get("description") != "Closure":
                continue
            variables = await self.send(
                "Runtime.getProperties", objectId=scope["value"]["objectId"]
            )
            for variable in variables.get("result", []):
                value = variable.get("value", {})
                if value.get("type") != "function" or "objectId" not in value:
                    continue
                prototype = await self._call(value["objectId"], _PROTOTYPE, by_value=False)
                if prototype is not None:
                    found = await self.send("Runtime.queryObjects", prototypeObjectId=prototype)
                    return found["objects"]["objectId"]
        return None

    async def screen_text(self) -> str:
        """The terminal's visible rows as text, or "" until the page's terminal exists."""
        wrappers = await self._terminal_wrappers()
        if wrappers is None:
            return ""
        return str(await self._call(wrappers, _ROWS_OF_WRAPPERS) or "")

    async def focus_terminal(self) -> None:
        """Give the terminal the keyboard, as a person's click would (a headless page has no
        window focus of its own: focus emulation stands in for it)."""
        await self.send("Emulation.setFocusEmulationEnabled", enabled=True)
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")

    async def press(self, key: str) -> None:
        """Type one printable key (down, char, up), as a person's keyboard would."""
        code = f"Key{key.upper()}" if key.isalpha() else ""
        vk = ord(key.upper())
        common = {"key": key, "code": code, "windowsVirtualKeyCode": vk}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text=key, **common)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **common)

    async def screenshot(self, path: Path) -> Path:
        shot = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


async def _devtools_url(profile: Path, process: subprocess.Popen, timeout: float) -> str:
    """Chromium writes its debugging port and browser path to DevToolsActivePort."""
    deadline = asyncio.get_running_loop().time() + timeout
    marker = profile / "DevToolsActivePort"
    while asyncio.get_running_loop().time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        if marker.exists():
            lines = marker.read_text().split()
            if len(lines) >= 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        await asyncio.sleep(0.1)
    raise TimeoutError("chromium did not open its DevTools port")


@contextlib.asynccontextmanager
async def open_page(chromium: str, url: str, timeout: float = 30.0) -> AsyncIterator[Browser]:
    """Start headless Chromium with a fresh profile, open ``url`` and yield the page's driver;
    ``page.connection.open_tab`` opens more tabs. The browser is killed and its profile
    removed on the way out."""
    # ignore_cleanup_errors: a last helper process may still be writing as the folder goes
    with tempfile.TemporaryDirectory(
        prefix="scratchai-chromium-", ignore_cleanup_errors=True
    ) as profile:
        process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: the helpers go with it
        )
        try:
            endpoint = await _devtools_url(Path(profile), process, timeout)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(endpoint, max_msg_size=0) as ws,
            ):
                yield await Connection(ws).open_tab(url)
        finally:
            await _kill_group(process)


async def _kill_group(process: subprocess.Popen) -> None:
    """Kill Chromium and its helper processes (renderers, zygote), and wait until they are
    gone, so none writes into the profile while it is removed."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    for _ in range(100):
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        await asyncio.sleep(0.05)
