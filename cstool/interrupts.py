"""Ctrl-C and SIGTERM for the cstool program: never a traceback, never a hang.

- While the program starts (imports, before any command runs): exit at once, quietly (130).
- While a command runs: the first signal stops every network wait (an async job being
  polled, a retry pause, a read in flight: cloud/api.py interrupt_all) and raises
  KeyboardInterrupt in the main thread, which the command reports. Writes already on the wire
  are let finish, so that their outcome is known.
- A second signal exits at once (130), whatever is still running.
- While the program ends (after the command): a first signal is ignored, so that the
  simulator's state is saved; a second exits at once.

Imports nothing but the standard library: cli.py imports it before anything else, and the
import itself installs the handlers when cstool is the program.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

_phase = "starting"  # starting -> running -> stopping
_signals = 0


def _handler(signum: int, frame: FrameType | None) -> None:
    global _signals
    _signals += 1
    if _phase == "starting" or _signals > 1:
        _leave(b"interrupted\n" if _signals == 1 else b"\ninterrupted again: exiting now\n")
    if _phase == "stopping":
        return
    api = sys.modules.get("cstool.cloud.api")  # loaded only once a command talks to a cloud
    if api is not None:
        api.interrupt_all()
    raise KeyboardInterrupt


def _leave(message: bytes) -> None:
    """Exit now: no Python-level unwinding, so no traceback and no wait for threads."""
    try:
        if os.isatty(2):
            message = b"\x1b[?25h" + message  # a progress display may have hidden the cursor
        os.write(2, message)
    except OSError:
        pass
    os._exit(130)


def _is_program() -> bool:
    """True when cstool is the running program (its console script or `python -m cstool`),
    not a library imported by tests or another program."""
    first = sys.argv[0] if sys.argv else ""
    name = os.path.basename(first)
    if name.startswith("cstool") or first.endswith(os.path.join("cstool", "__main__.py")):
        return True
    # `python -m cstool`: runpy imports the package while sys.argv[0] is still "-m"
    given = getattr(sys, "orig_argv", [])
    pairs = zip(given, given[1:], strict=False)
    return any(a == "-m" and b in ("cstool", "cstool.__main__") for a, b in pairs)


def at_startup() -> None:
    """Install the handlers as early as cstool's own code runs, when cstool is the program."""
    if _is_program():
        install()


def install() -> None:
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


def running() -> None:
    """A command is running from now on: signals interrupt it instead of exiting."""
    global _phase
    _phase = "running"


def stopping() -> None:
    """The command is done; the program is ending."""
    global _phase
    _phase = "stopping"


at_startup()  # imported by cstool/__init__.py: the earliest cstool code that runs
