"""Who may open ``scratchtui serve``'s page and websocket: the rules, as plain functions.

A browser lets any page it shows open a websocket to any address, ``127.0.0.1`` included, and
tells the server which page asked in the ``Origin`` header; a page can also point its own name
at ``127.0.0.1`` (DNS rebinding), which shows in the ``Host`` header. So, as a notebook server
does, every request must:

- name this server in ``Host`` (for a loopback or a named bind: one of its names, or the
  ``--public-url``'s; a bind to every interface cannot list what learners type, so it accepts
  any ``Host`` and relies on the two rules below);
- come, if a browser sent an ``Origin``, from this server's own origin (the ``Host`` it asked,
  one of its loopback names, or the ``--public-url``'s);
- carry the server's random token (the page in ``?token=``, the websocket in its path), unless
  it was started with ``--no-token``.

Nothing here imports aiohttp: ``web_server.py`` applies these to its requests.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from urllib.parse import urlsplit

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
WILDCARD_HOSTS = frozenset({"0.0.0.0", "::", ""})

#: The largest terminal a tab may ask for (columns, rows): a 10000x10000 one took an app
#: 1.12 GiB and a 103 MB first frame; 400x150 is a 4K screen at a small font.
MAX_COLUMNS, MAX_ROWS = 400, 150
MIN_COLUMNS, MIN_ROWS = 20, 5


def new_token() -> str:
    """A fresh token: 32 random bytes, URL-safe (as Jupyter's)."""
    return secrets.token_urlsafe(32)


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """A terminal size a tab may have: numbers clamped into the caps, junk read as 80x24."""

    def number(value: object, default: int) -> int:
        try:
            return int(str(value))
        except ValueError:
            return default

    columns = min(max(number(width, 80), MIN_COLUMNS), MAX_COLUMNS)
    rows = min(max(number(height, 24), MIN_ROWS), MAX_ROWS)
    return columns, rows


def _authority(url: str) -> str | None:
    """``host:port`` of an origin or a URL (the default port spelled out), lower-case."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    default = {"http": 80, "ws": 80, "https": 443, "wss": 443}.get(parts.scheme)
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{port or default}".lower()


def _host_header(value: str, scheme: str) -> str | None:
    return _authority(f"{scheme}://{value}")


@dataclass(frozen=True)
class Gate:
    """The rules of one server: where it listens, its public URL and its token.

    Attributes:
        host: the interface it binds (``--host``).
        port: its port.
        public_url: ``--public-url``, or None.
        token: the token every page and websocket must carry, or None (``--no-token``).
    """

    host: str
    port: int
    public_url: str | None = None
    token: str | None = None
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        names = {f"{name}:{self.port}" for name in LOOPBACK_NAMES}
        if self.host not in WILDCARD_HOSTS:
            bound = f"[{self.host}]" if ":" in self.host else self.host
            names.add(f"{bound}:{self.port}".lower())
        if self.public_url and (public := _authority(self.public_url)):
            names.add(public)
            # a proxy in front may pass the Host it got, without a port: http's default then
            names.add(f"{public.rsplit(':', 1)[0]}:80")
        object.__setattr__(self, "names", frozenset(names))

    @property
    def any_host(self) -> bool:
        """A bind to every interface: learners may type any of the machine's names."""
        return self.host in WILDCARD_HOSTS

    def refuse(self, host: str | None, origin: str | None, scheme: str = "http") -> str | None:
        """Why a request with these ``Host`` and ``Origin`` headers is refused, or None."""
        asked = _host_header(host or "", scheme)
        if asked is None:
            return "no Host header"
        if not self.any_host and asked not in self.names:
            return f"Host {host!r} is not this server (DNS rebinding?)"
        if origin is None:
            return None  # not sent by a browser's script: a typed URL, curl, a navigation
        came_from = _authority(origin)
        if came_from is None or (came_from != asked and came_from not in self.names):
            return f"a page from {origin!r} may not use this server (cross-origin)"
        return None

    def token_ok(self, given: str | None) -> bool:
        """The request carries the token (always true under ``--no-token``)."""
        if self.token is None:
            return True
        return given is not None and secrets.compare_digest(given, self.token)
