"""A served tab's app process ends when its server ends, however the server ends.

``scratchtui serve`` starts one app process per browser tab and puts its own pid in the
environment (``SCRATCHTUI_SERVER_PID``). A server stopped by ctrl+c or SIGTERM tells its tabs to
quit; one that is killed (SIGKILL, a closed terminal window, a crash) cannot, and textual's web
driver does not notice that its pipe closed: the apps lived on, 72 MiB each. So each tab:

- asks Linux for a parent-death signal (``prctl(PR_SET_PDEATHSIG, SIGTERM)``): the kernel sends
  SIGTERM the moment the server dies, and the web driver quits on SIGTERM;
- runs a watchdog thread (every OS): when its parent is no longer the server, or its input pipe
  hangs up, it sends itself SIGTERM, and ends the process outright ``GRACE`` seconds later if
  the app has not quit by then (a step stuck in a C call).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import sys
import threading

from .guard import REAL_OS_EXIT

SERVER_PID_VARIABLE = "SCRATCHTUI_SERVER_PID"
#: Seconds between the watchdog's looks, and the app's time to quit before it is ended.
CHECK_EVERY = 0.25
GRACE = 1.5
#: The status of a tab ended by its watchdog (128 + SIGTERM, as if the signal had ended it).
EXIT_SERVER_GONE = 128 + signal.SIGTERM
_PR_SET_PDEATHSIG = 1


def parent_death_signal(number: int) -> bool:
    """Ask the kernel to send ``number`` to this process when its parent dies (Linux only);
    whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_PDEATHSIG, number, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def server_gone(server: int, poller: select.poll | None) -> bool:
    """The server is no longer this process's parent, or the pipe it wrote to hung up."""
    if os.getppid() != server:
        return True
    if poller is not None:
        hangup = select.POLLHUP | select.POLLERR | select.POLLNVAL
        return any(events & hangup for _, events in poller.poll(0))
    return False


def _watch(server: int) -> None:
    poller = None
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(sys.__stdin__.fileno() if sys.__stdin__ else 0, 0)  # hang-ups only
    stopped = threading.Event()
    while not stopped.wait(CHECK_EVERY):
        if server_gone(server, poller):
            break
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)  # the app quits and restores what it must
    stopped.wait(GRACE)
    REAL_OS_EXIT(EXIT_SERVER_GONE)  # still here: a step would not stop


def hold_on_to_server() -> bool:
    """In a served tab (``SCRATCHTUI_SERVER_PID`` set), end this process with its server.

    Returns whether a lifeline was set up (False outside ``scratchtui serve``). A server that
    died before this ran ends the process at once.
    """
    value = os.environ.get(SERVER_PID_VARIABLE, "")
    if not value.isdigit():
        return False
    server = int(value)
    parent_death_signal(signal.SIGTERM)
    if os.getppid() != server:  # it died before the signal was asked for
        REAL_OS_EXIT(EXIT_SERVER_GONE)
    threading.Thread(target=_watch, args=(server,), name="scratchtui-lifeline", daemon=True).start()
    return True
