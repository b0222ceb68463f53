"""One `up`/`down` at a time per project and engine: a lock file, so a second run waits (saying so)
instead of racing the first."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from typing import Callable, Iterator

from devenv.errors import DevenvError

LOCK_DIR = os.environ.get("DEVENV_LOCK_DIR") or os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "devenv-locks")


class Busy(DevenvError):
    exit_code = 1


def lock_path(engine: str, project: str) -> str:
    key = hashlib.sha256(f"{engine}\0{project}".encode()).hexdigest()[:16]
    return os.path.join(LOCK_DIR, f"{project}-{key}.lock")


@contextlib.contextmanager
def project_lock(engine: str, project: str, wait: float, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the project's lock; wait up to `wait` seconds for another devenv to finish, then refuse."""
    os.makedirs(LOCK_DIR, exist_ok=True)
    path = lock_path(engine, project)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise Busy(
                        f"project {project} is busy: another devenv command is changing it (lock {path}); try again when it is done"
                    ) from None
                if not told:
                    say(f"another devenv command is changing project {project}; waiting for it (up to {wait:.0f}s)")
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the lock
