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
import shutil
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


class Browser:
    """One headless Chromium process and one page in it, driven through CDP."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, session_id: str) -> None:
        self._ws = ws
        self._session = session_id
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one command to the page and return its result (events are skipped)."""
        call_id = next(self._ids)
        await self._ws.send_json(
            {"id": call_id, "method": method, "params": params, "sessionId": self._session}
        )
        while True:
            message = await self._ws.receive_json()
            if message.get("id") == call_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

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
    the browser is killed and its profile removed on the way out."""
    with tempfile.TemporaryDirectory(prefix="scratchai-chromium-") as profile:
        process = subprocess.Popen(
            [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            endpoint = await _devtools_url(Path(profile), process, timeout)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(endpoint, max_msg_size=0) as ws,
            ):
                await ws.send_json(
                    {"id": 0, "method": "Target.createTarget", "params": {"url": url}}
                )
                target = await _result(ws, 0)
                await ws.send_json(
                    {
                        "id": -1,
                        "method": "Target.attachToTarget",
                        "params": {"targetId": target["targetId"], "flatten": True},
                    }
                )
                attached = await _result(ws, -1)
                yield Browser(ws, attached["sessionId"])
        finally:
            process.kill()
            process.wait(timeout=10)


async def _result(ws: aiohttp.ClientWebSocketResponse, call_id: int) -> dict[str, Any]:
    while True:
        message = await ws.receive_json()
        if message.get("id") == call_id:
            if "error" in message:
                raise RuntimeError(str(message["error"]))
            return message.get("result", {})
