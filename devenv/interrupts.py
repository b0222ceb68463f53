"""Ctrl-C that always works, whatever the engine does.

The first SIGINT raises KeyboardInterrupt as usual (what is in flight is cancelled, the executor
gives calls a short grace) and arms a deadline: if the command has not ended HARD_EXIT_AFTER
seconds later (a cleanup waiting on an engine that stopped answering), devenv leaves anyway. A
second SIGINT leaves at once. Either way the forced-exit hooks run first (the executor hands the
stops and removals still in flight to a detached finisher), then the process exits with 130.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

HARD_EXIT_AFTER = 1.9  # seconds from the first Ctrl-C to the exit, at the latest
EXIT_INTERRUPTED = 130

_hooks: dict[int, Callable[[], None]] = {}
_lock = threading.Lock()
_state = {"first": 0.0, "next": 0, "exiting": False}


def arm() -> None:
    """Install the handler (main thread only; elsewhere, or when SIGINT is ignored, nothing changes)."""
    if threading.current_thread() is not threading.main_thread():
        return
    try:
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:  # a background job: leave it so
            return
        signal.signal(signal.SIGINT, _on_sigint)
    except (ValueError, OSError):
        pass


def on_forced_exit(hook: Callable[[], None]) -> Callable[[], None]:
    """Run `hook()` before a forced exit; returns its un-registration."""
    with _lock:
        key = int(_state["next"])
        _state["next"] = key + 1
        _hooks[key] = hook
    return lambda: _hooks.pop(key, None) and None


def _on_sigint(signum: int, frame: Any) -> None:
    if _state["first"]:
        force_exit("devenv: forced to exit")
    _state["first"] = time.monotonic()
    threading.Thread(target=_deadline, name="devenv-interrupt-deadline", daemon=True).start()
    raise KeyboardInterrupt


def _deadline() -> None:
    time.sleep(HARD_EXIT_AFTER)
    force_exit("devenv: interrupted; the Docker engine did not let go in time, leaving anyway")


def force_exit(message: str) -> None:
    """Run the hooks (once), say `message`, and end the process with 130 now."""
    with _lock:
        if _state["exiting"]:
            hooks: list[Callable[[], None]] = []
        else:
            _state["exiting"] = True
            hooks = list(_hooks.values())
    for hook in hooks:
        try:
            hook()
        except BaseException:
            pass
    try:
        sys.stdout.flush()
    except BaseException:
        pass
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except BaseException:
        pass
    os._exit(EXIT_INTERRUPTED)
