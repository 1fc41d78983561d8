"""Which notifications stay on screen.

Routine ones (lr changed, rewound, saved...) replace each other, so pressing a key five times
leaves one toast; the ones that say why training stopped (a breakpoint, a divergence, a failed
step) stay on screen until their timeout even when routine ones come after them.
"""

from __future__ import annotations

import time

from textual.app import App
from textual.notifications import SeverityLevel

#: How long a routine notification stays (a newer one replaces it anyway).
ROUTINE_SECONDS = 3.0
#: How long a notice that says why training stopped stays.
STICKY_SECONDS = 8.0


class NoticeBoard:
    """Shows the app's notices through ``app.notify``, keeping the sticky ones up.

    Args:
        app: the app whose notifications these are.
    """

    def __init__(self, app: App) -> None:
        self._app = app
        # notices that must outlive routine ones: (expires at, message, title, severity)
        self._sticky: list[tuple[float, str, str, SeverityLevel]] = []

    def say(
        self, message: str, *, severity: SeverityLevel = "information", timeout: float = 0
    ) -> None:
        """A routine notice: it replaces the previous routine one (never a sticky one)."""
        app = self._app
        now = time.monotonic()
        self._sticky = [entry for entry in self._sticky if entry[0] > now + 0.5]
        app.clear_notifications()
        for expires, text, title, level in self._sticky:  # still on screen: keep them there
            app.notify(text, title=title, severity=level, timeout=expires - now, markup=False)
        app.notify(message, severity=severity, timeout=timeout or ROUTINE_SECONDS, markup=False)

    def alert(self, message: str, *, title: str = "", severity: SeverityLevel = "warning") -> None:
        """A notice that says why training stopped: it replaces every notice before it and
        stays while routine ones come and go."""
        self._app.clear_notifications()
        self._sticky = [(time.monotonic() + STICKY_SECONDS, message, title, severity)]
        self._app.notify(
            message, title=title, severity=severity, timeout=STICKY_SECONDS, markup=False
        )
