"""One `up`/`down` at a time per project and engine: a lock file, so a second run waits (saying so)
instead of racing the first.

The lock files live in a folder private to the user: `$DEVENV_LOCK_DIR` if set, else
`$XDG_RUNTIME_DIR/devenv` when that runtime folder is the user's, else `~/.cache/devenv/locks`,
else `<tmp>/devenv-<uid>`. A folder devenv picks itself is created 0700 and must be a real folder
(not a symbolic link) owned by the user; lock files are opened without following a symbolic link
and created 0600. The file name is the project's name cut short plus a hash of the engine and the
full name, so any name fits."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import stat
import time
from collections.abc import Callable, Iterator

from devenv.errors import DevenvError, UsageError

LOCK_DIR_ENV = "DEVENV_LOCK_DIR"
NAME_PREFIX = 40  # characters of the project name kept in the file name (the hash makes it unique)


class Busy(DevenvError):
    exit_code = 1


class LockError(DevenvError):
    """The lock folder or file cannot be used safely."""

    exit_code = 1


def lock_dir() -> str:
    """The folder for lock files (created if need be), checked as described above."""
    explicit = os.environ.get(LOCK_DIR_ENV)
    if explicit:
        return _explicit(explicit)
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and _is_own_folder(runtime):
        return _private(os.path.join(runtime, "devenv"))
    home = os.path.expanduser("~")
    if home and home != "~" and _is_own_folder(home):
        return _private(os.path.join(home, ".cache", "devenv", "locks"))
    import tempfile  # only here: 3 ms of start-up (random, shutil) that the usual paths never need

    return _private(os.path.join(tempfile.gettempdir(), f"devenv-{os.getuid()}"))


def lock_name(engine: str, project: str) -> str:
    key = hashlib.sha256(f"{engine}\0{project}".encode()).hexdigest()[:32]
    readable = re.sub(r"[^a-z0-9_-]", "", project.lower())[:NAME_PREFIX]
    return f"{readable}-{key}.lock" if readable else f"{key}.lock"


def lock_path(engine: str, project: str) -> str:
    return os.path.join(lock_dir(), lock_name(engine, project))


def _is_own_folder(path: str) -> bool:
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid()


def _explicit(path: str) -> str:
    """`DEVENV_LOCK_DIR`: the user's choice, so only required to be (or become) a folder."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{LOCK_DIR_ENV}={path} is not a folder: point it to a folder for devenv's lock files")
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{LOCK_DIR_ENV}={path} cannot be used as the lock folder: {exc.strerror or exc}") from None
    return path


def _private(path: str) -> str:
    """Create `path` 0700 if missing; refuse it unless it is a real folder owned by the user."""
    try:
        os.makedirs(path, mode=0o700, exist_ok=True)
    except OSError as exc:
        raise LockError(f"cannot create the lock folder {path}: {exc.strerror or exc} (set {LOCK_DIR_ENV} to another folder)") from None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as exc:
        why = "it is a symbolic link" if os.path.islink(path) else (exc.strerror or str(exc))
        raise LockError(f"refusing the lock folder {path}: {why} (remove it, or set {LOCK_DIR_ENV})") from None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.getuid():
            raise LockError(
                f"refusing the lock folder {path}: it belongs to user id {st.st_uid}, not to you "
                f"(remove it, or set {LOCK_DIR_ENV})"
            )
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.fchmod(fd, 0o700)  # ours, but open to others: make it private
    finally:
        os.close(fd)
    return path


def _open_lock_file(path: str) -> int:
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        why = "it is a symbolic link" if os.path.islink(path) else (exc.strerror or str(exc))
        raise LockError(f"cannot open the project lock {path}: {why}") from None


@contextlib.contextmanager
def project_lock(engine: str, project: str, wait: float, say: Callable[[str], None]) -> Iterator[None]:
    """Hold the project's lock; wait up to `wait` seconds for another devenv to finish, then refuse."""
    path = lock_path(engine, project)
    fd = _open_lock_file(path)
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
