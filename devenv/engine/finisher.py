"""After Ctrl-C: the engine calls devenv left in flight (a container's long stop, its removal) go on
on the engine's side. A small detached process holds the project's lock until they are done, so the
next devenv command on the project waits for them (saying so) instead of finding a container that
is about to exit and keeping it.

`python -m devenv.engine.finisher FD stop:NAME:SECONDS remove:NAME ...`, FD being the inherited
descriptor of the project's lock file (closing it, at exit, releases the lock).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI

MARGIN = 15.0  # seconds beyond a stop's own timeout before the finisher gives up waiting
REMOVE_WAIT = 30.0


def lock_descriptor(path: str, highest: int = 1024) -> int | None:
    """The descriptor this process has open on the lock file `path`, if any."""
    try:
        wanted = os.stat(path)
    except OSError:
        return None
    for fd in range(3, highest):
        try:
            info = os.fstat(fd)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (wanted.st_dev, wanted.st_ino):
            return fd
    return None


def hand_over(lock_path: str, pending: Sequence[str]) -> bool:
    """Start the finisher for `pending` ("stop:NAME:SECONDS" / "remove:NAME") with the lock file's
    descriptor; whether it could be started."""
    fd = lock_descriptor(lock_path)
    if fd is None or not pending:
        return False
    try:
        subprocess.Popen(
            [sys.executable, "-m", "devenv.engine.finisher", str(fd), *pending], pass_fds=(fd,), start_new_session=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
    except OSError:
        return False
    return True


def _wait(api: EngineAPI, name: str, condition: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            api.wait(name, timeout=max(1, int(deadline - time.monotonic())), condition=condition)
            return
        except Exception as exc:
            from devenv.engine.api import is_not_found

            if is_not_found(exc):
                return
            time.sleep(0.5)


def main(argv: Sequence[str]) -> int:
    from devenv.engine.client import connect

    api = connect().api
    for item in argv[1:]:
        kind, _, rest = item.partition(":")
        if kind == "stop":
            name, _, seconds = rest.rpartition(":")
            _wait(api, name, "not-running", float(seconds or 10) + MARGIN)
        elif kind == "remove":
            _wait(api, rest, "removed", REMOVE_WAIT)
    return 0


if __name__ == "__main__":
    try:
        code = main(sys.argv[1:])
    except BaseException:
        code = 1
    os._exit(code)
