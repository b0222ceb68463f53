"""`devenv watch`'s file transfers into a running container, through the engine's API only (no
bind mount, no `tar` in the image: remote engines work the same).

- `send`: a plan's `SyncStep` into the container: deletions first (`rm -rf --` execs, the only tool
  the image must have, and only when something is deleted), then ONE tar put through the archive
  API. Entries carry the owner the image expects (`owner_of`), the host's mode and whole-second
  mtime; parent folders the container lacks get folder entries of that owner (the engine would make
  them root's, 0755).
- `listing`: what the container has under a target (kind, size, mtime, mode, owner, sha256 of each
  file), read from get_archive tars as they stream, for the initial sync and resyncs.
- `owner_of`: the container's user as uid:gid, names resolved in the container's own /etc/passwd and
  /etc/group (read through the archive API: 20.10's copyUIDGID looks names up in the host's passwd
  database, and refuses `1000:1000`).
- `run_hook`: a `sync+exec` hook.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import stat
import tarfile
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, BinaryIO, cast

from devenv.engine.api import explanation, is_not_found
from devenv.errors import EngineError

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI
    from devenv.plan.watch import ContainerEntry, Copy, ExecHook, SyncStep

RM_ARGS = 100_000  # bytes of paths per `rm -rf` exec (far under the engine's and the kernel's argv limits)
SPOOL = 16 << 20  # a tar up to this size is built in memory; a bigger one goes on to a private temp file
BUFFERED = 4 << 20  # files up to this size are read whole before their header is written (their size then exact)
FOLDER_MODE = 0o755  # of the parent folders made for the owner
STAT_THREADS = 8  # archive stats side by side (the engine answers each at once; a remote one's round trips overlap)
OUTPUT_LINES = 20  # lines of a hook's output kept for its error message
NON_DIRECTORY = "cannot overwrite non-directory"  # the engine's words when a folder entry meets a link


@dataclass(frozen=True)
class Owner:
    uid: int
    gid: int


@dataclass(frozen=True)
class Sent:
    files: int  # files, links and deletions sent (folders not counted)
    size: int  # bytes of the files sent


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str  # the last lines, for the error message


# ---------------------------------------------------------------- the container's user


def owner_of(api: EngineAPI, container: str) -> Owner:
    """The uid:gid files must have to be the container's user's (its `Config.User`, the service's
    `user` or the image's USER), resolved as the runtime does: a numeric uid without a group takes
    its passwd entry's group, or 0; names are looked up in the container's own files."""
    user = str((api.inspect_container(container).get("Config") or {}).get("User") or "")
    if not user:
        return Owner(0, 0)
    name, _, group = user.partition(":")
    passwd: list[list[str]] | None = None
    if name.isdigit():
        uid, gid = int(name), 0
        if not group:
            passwd = _table(api, container, "/etc/passwd")
            gid = next((int(row[3]) for row in passwd if len(row) > 3 and row[2] == name and row[3].isdigit()), 0)
    else:
        passwd = _table(api, container, "/etc/passwd")
        row = next((r for r in passwd if r[0] == name and len(r) > 3 and r[2].isdigit() and r[3].isdigit()), None)
        if row is None:
            raise EngineError(f"{_short(container)}: user {name!r} (the container's user {user!r}) is not in its /etc/passwd")
        uid, gid = int(row[2]), int(row[3])
    if group.isdigit():
        gid = int(group)
    elif group:
        groups = _table(api, container, "/etc/group")
        found = next((r for r in groups if r[0] == group and len(r) > 2 and r[2].isdigit()), None)
        if found is None:
            raise EngineError(f"{_short(container)}: group {group!r} (the container's user {user!r}) is not in its /etc/group")
        gid = int(found[2])
    return Owner(uid, gid)


def _table(api: EngineAPI, container: str, path: str) -> list[list[str]]:
    """The rows of a colon-separated file of the container (passwd, group); none when it has no such file."""
    data = _read_file(api, container, path)
    rows = []
    for line in (data or b"").decode("utf-8", "replace").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            rows.append(line.split(":"))
    return rows


def _read_file(api: EngineAPI, container: str, path: str, hops: int = 5) -> bytes | None:
    """A small file of the container, a symbolic link to it followed (a few hops); None if missing."""
    try:
        chunks, _stat = api.get_archive(container, path)
        with tarfile.open(fileobj=cast(BinaryIO, _ChunkReader(chunks)), mode="r|") as tar:
            for member in tar:
                if member.isfile():
                    extracted = tar.extractfile(member)
                    return extracted.read() if extracted else b""
                if member.issym() and hops:
                    return _read_file(api, container, posixpath.join(posixpath.dirname(path), member.linkname), hops - 1)
                return None
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise
    return None


def _short(container: str) -> str:
    return container[:12] if len(container) == 64 else container


# ---------------------------------------------------------------- sending a step


def send(api: EngineAPI, container: str, step: SyncStep, owner: Owner) -> Sent:
    """Apply `step` in the container: its deletions (`rm -rf --`, batched execs), then its copies as
    one tar put. A host file gone since the plan stat'ed it is left out (its deletion comes with the
    next batch); one that changed size meanwhile goes as it is now."""
    no_rm = False
    if step.deletes:
        try:
            _delete(api, container, step.deletes)
        except _NoRm:  # the copies still go; then the one line says what was not done
            no_rm = True
    sent_files, sent_size = 0 if no_rm else len(step.deletes), 0
    if step.copies:
        sent_files, sent_size = _send_copies(api, container, step, owner, sent_files)
    if no_rm:
        raise EngineError(f"{_short(container)}: deleting files in the container needs `rm` in its image, which has "
                          f"none: {len(step.deletes)} deletion(s) not applied")
    return Sent(sent_files, sent_size)


def _send_copies(api: EngineAPI, container: str, step: SyncStep, owner: Owner, sent_files: int) -> tuple[int, int]:
    base, missing = _destination(api, container, step.copies)
    try:
        return _tar_and_put(api, container, step, owner, base, missing, sent_files, implied=True)
    except _Refused as exc:
        if NON_DIRECTORY not in exc.said:
            raise EngineError(f"{_short(container)}: copying into {base} failed: {exc.said}") from None
    # Engines since 23 refuse the whole tar when a folder entry meets a path the container has
    # through a symbolic link (20.10 replaces the link); as Compose, send it again without the
    # folder entries its other entries imply (those folders then come out root's).
    try:
        return _tar_and_put(api, container, step, owner, base, missing, sent_files, implied=False)
    except _Refused as exc:
        raise EngineError(f"{_short(container)}: copying into {base} failed: {exc.said}") from None


def _tar_and_put(api: EngineAPI, container: str, step: SyncStep, owner: Owner, base: str, missing: list[str],
                 sent_files: int, *, implied: bool) -> tuple[int, int]:
    """Build the tar (spooled) and put it; `implied`: keep folder entries other entries are under."""
    holding = set() if implied else {posixpath.dirname(c.container) for c in step.copies}
    sent_size = 0
    with tempfile.SpooledTemporaryFile(max_size=SPOOL) as spool:  # rolls over to a 0600 file in the temp folder
        with tarfile.open(fileobj=spool, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for folder in missing:
                if implied:
                    tar.addfile(_info(folder, base, tarfile.DIRTYPE, owner, FOLDER_MODE, None))
            for copy in step.copies:
                if copy.entry.kind == "dir" and copy.container in holding:
                    continue
                added = _add(tar, copy, base, owner)
                if added is not None and copy.entry.kind != "dir":
                    sent_files += 1
                    sent_size += added
        length = spool.tell()
        spool.seek(0)
        data: bytes | BinaryIO = spool.read() if length <= SPOOL else cast(BinaryIO, spool)
        try:
            api.put_archive(container, base, data, length=length)
        except Exception as exc:
            said = explanation(exc)
            if said is None:
                raise
            raise _Refused(said) from None
    return sent_files, sent_size


class _Refused(Exception):
    def __init__(self, said: str) -> None:
        super().__init__(said)
        self.said = said


class _NoRm(Exception):
    """The image has no `rm`: deletions cannot be applied."""


def _delete(api: EngineAPI, container: str, paths: Iterable[str]) -> None:
    batch: list[str] = []
    size = 0
    for path in paths:
        if batch and size + len(path) > RM_ARGS:
            _rm(api, container, batch)
            batch, size = [], 0
        batch.append(path)
        size += len(path) + 1
    if batch:
        _rm(api, container, batch)


def _rm(api: EngineAPI, container: str, paths: list[str]) -> None:
    result = _exec(api, container, ["rm", "-rf", "--", *paths])
    if result.exit_code == 127 or "executable file not found" in result.output:
        raise _NoRm()
    if result.exit_code:
        last = result.output.strip().splitlines()[-1:] or [f"exit code {result.exit_code}"]
        raise EngineError(f"{_short(container)}: rm -rf of {len(paths)} path(s) failed: {last[0]}")


def _destination(api: EngineAPI, container: str, copies: Iterable[Copy]) -> tuple[str, list[str]]:
    """Where to put the tar and the parent folders the container lacks (sent as folder entries of
    the owner, shallowest first). The tar goes to the deepest folder the container has that holds
    every copy, not "/": a container with a read-only root and the target on a volume takes it.

    The folders holding the copies (but folders copied themselves) are stat'ed shallowest first, each
    depth side by side, and none under a folder found missing: files changed in one existing folder
    cost one stat, a whole tree sent into a fresh container a few."""
    copies = list(copies)
    folders = {c.container for c in copies if c.entry.kind == "dir"}
    parents = {posixpath.dirname(c.container) for c in copies} - folders
    exists: set[str] = {"/"}
    missing: set[str] = set()

    def there(path: str) -> None:  # and so are its ancestors
        while path not in exists:
            exists.add(path)
            path = posixpath.dirname(path)

    def under_missing(path: str) -> bool:
        while path != "/":
            if path in missing:
                return True
            path = posixpath.dirname(path)
        return False

    for depth in sorted({p.count("/") for p in parents}):
        todo = sorted(p for p in parents if p.count("/") == depth and p not in exists and not under_missing(p))
        for path, found in zip(todo, _stat_all(api, container, todo), strict=True):
            if found:
                there(path)
                continue
            missing.add(path)
            up = posixpath.dirname(path)  # up to the nearest folder it has (or one the tar makes)
            while up not in exists and up not in missing and up not in folders:
                if api.archive_stat(container, up) is not None:
                    there(up)
                    break
                missing.add(up)
                up = posixpath.dirname(up)
    anchors = set()
    for path in parents:
        while path not in exists:
            if path not in folders:
                missing.add(path)  # under a missing folder
            path = posixpath.dirname(path)
        anchors.add(path)
    base = _common(sorted(anchors)) if anchors else "/"
    return base, sorted(missing, key=lambda p: (p.count("/"), p))


def _stat_all(api: EngineAPI, container: str, paths: list[str]) -> list[bool]:
    """Whether the container has each path (side by side when there are several)."""
    if len(paths) <= 2:
        return [api.archive_stat(container, p) is not None for p in paths]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(STAT_THREADS, len(paths)), thread_name_prefix="devenv-stat") as pool:
        return [found is not None for found in pool.map(lambda p: api.archive_stat(container, p), paths)]


def _common(folders: list[str]) -> str:
    common = posixpath.commonpath(folders)
    return common if common.startswith("/") else "/" + common


def _arcname(path: str, base: str) -> str:
    return posixpath.relpath(path, base)


def _info(path: str, base: str, kind: bytes, owner: Owner, mode: int, mtime: float | None) -> tarfile.TarInfo:
    info = tarfile.TarInfo(_arcname(path, base))
    info.type = kind
    info.uid, info.gid = owner.uid, owner.gid
    info.uname = info.gname = ""
    info.mode = mode
    info.mtime = int(mtime if mtime is not None else time.time())  # whole seconds: no PAX header per entry
    return info


def _add(tar: tarfile.TarFile, copy: Copy, base: str, owner: Owner) -> int | None:
    """Add one copy to the tar; the bytes of its file (0 for folders and links), None if left out."""
    entry = copy.entry
    if entry.kind == "dir":
        tar.addfile(_info(copy.container, base, tarfile.DIRTYPE, owner, entry.mode, entry.mtime))
        return 0
    if entry.kind == "link":
        info = _info(copy.container, base, tarfile.SYMTYPE, owner, entry.mode or 0o777, entry.mtime)
        info.linkname = entry.link or ""
        tar.addfile(info)
        return 0
    try:
        handle = open(copy.host, "rb")  # noqa: SIM115 (closed below)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        raise EngineError(f"cannot read {copy.host}: {exc.strerror or exc}") from None
    with handle:
        now = os.fstat(handle.fileno())
        if not stat.S_ISREG(now.st_mode):
            return None
        info = _info(copy.container, base, tarfile.REGTYPE, owner, stat.S_IMODE(now.st_mode), now.st_mtime)
        if now.st_size <= BUFFERED:
            content = handle.read()
            info.size = len(content)
            tar.addfile(info, _Bytes(content))
        else:
            info.size = now.st_size
            tar.addfile(info, _Exactly(handle, now.st_size))
        return info.size


class _Bytes:
    """A file object over bytes (tarfile reads it in pieces)."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._data) if size < 0 else self._at + size
        chunk = bytes(self._data[self._at:end])
        self._at += len(chunk)
        return chunk


class _Exactly:
    """`size` bytes of a file that may have shrunk since its stat: zeros pad the rest (its next
    event sends it again), so the tar stays well-formed."""

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self._handle = handle
        self._left = size

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        chunk = self._handle.read(size)
        if len(chunk) < size:
            chunk += bytes(size - len(chunk))
        self._left -= len(chunk)
        return chunk


# ---------------------------------------------------------------- what the container has


def listing(api: EngineAPI, container: str, target: str, names: Iterable[str] | None = None) -> dict[str, ContainerEntry]:
    """Container path -> entry for everything under `target` (the target itself only when it is not a
    folder; a link to a folder is read through); with `names` (entries directly under the target)
    only those subtrees are read, so big folders the host does not have (node_modules made in the
    image) never cross the API. A missing target, or name, reads as nothing. Each name is one
    get_archive (tens of ms of the engine's, and it serves one container's one at a time)."""
    target = posixpath.normpath(target)
    found: dict[str, ContainerEntry] = {}
    if names is None:
        _read_tree(api, container, target, target, found)
        top = found.get(target)
        if top is not None and top.kind == "link" and target != "/":  # what it points to, if a folder
            through: dict[str, ContainerEntry] = {}
            try:
                _read_tree(api, container, target + "/", target, through)  # the engine follows a trailing slash
            except EngineError:  # a link to a file, or to nothing
                through = {}
            if _is_dir(through.get(target)):
                found = through
        if _is_dir(found.get(target)):
            del found[target]
        return found
    wanted = sorted(set(names))
    for name in wanted:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"not a name directly under {target}: {name!r}")
    for name in wanted:  # one after the other: the engine reads a container's archives one at a time
        _read_tree(api, container, posixpath.join(target, name), posixpath.join(target, name), found)
    return found


def _is_dir(entry: ContainerEntry | None) -> bool:
    return entry is not None and entry.kind == "dir"


def _read_tree(api: EngineAPI, container: str, path: str, top: str, found: dict[str, ContainerEntry]) -> None:
    """Add the entries of get_archive(path) to `found`, named from `top` (the tar is rooted at the
    path's base name)."""
    from devenv.plan.watch import ContainerEntry

    try:
        chunks, _stat = api.get_archive(container, path)
        files: dict[str, tuple[int, str]] = {}  # tar name -> (size, sha256), for hard links
        with tarfile.open(fileobj=cast(BinaryIO, _ChunkReader(chunks)), mode="r|") as tar:
            for member in tar:
                name = member.name.rstrip("/")
                _head, _, rest = name.partition("/")
                where = posixpath.join(top, rest) if rest else top
                mtime, mode, uid, gid = int(member.mtime), stat.S_IMODE(member.mode), member.uid, member.gid
                if member.isdir():
                    found[where] = ContainerEntry("dir", 0, mtime, mode, uid, gid)
                elif member.issym():
                    found[where] = ContainerEntry("link", len(member.linkname), mtime, mode, uid, gid, link=member.linkname)
                elif member.isreg():
                    extracted = tar.extractfile(member)
                    digest = hashlib.sha256()
                    while extracted is not None and (block := extracted.read(1 << 20)):
                        digest.update(block)
                    files[name] = (member.size, digest.hexdigest())
                    found[where] = ContainerEntry("file", member.size, mtime, mode, uid, gid, sha256=digest.hexdigest())
                elif member.islnk() and member.linkname.rstrip("/") in files:
                    size, sha = files[member.linkname.rstrip("/")]
                    found[where] = ContainerEntry("file", size, mtime, mode, uid, gid, sha256=sha)
                else:  # a device, a fifo: something else than what the host sends
                    found[where] = ContainerEntry("file", member.size, mtime, mode, uid, gid)
    except Exception as exc:
        if is_not_found(exc):
            return
        said = explanation(exc)
        if said is None:
            raise
        raise EngineError(f"{_short(container)}: cannot read {path}: {said}") from None


class _ChunkReader:
    """A read-only file object over an iterator of byte chunks (tarfile's stream mode reads it in
    small pieces: each chunk is sliced where it is, never copied whole again)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._chunk = b""
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            data = self._chunk[self._at:] + b"".join(self._chunks)
            self._chunk, self._at = b"", 0
            return data
        parts = []
        while size > 0:
            if self._at >= len(self._chunk):
                following = next(self._chunks, None)
                if following is None:
                    break
                self._chunk, self._at = following, 0
                continue
            piece = self._chunk[self._at:self._at + size]
            self._at += len(piece)
            size -= len(piece)
            parts.append(piece)
        return b"".join(parts)


# ---------------------------------------------------------------- exec hooks


def run_hook(api: EngineAPI, container: str, hook: ExecHook) -> ExecResult:
    """Run a `sync+exec` hook to its end in the container: its exit code and last lines of output."""
    return _exec(api, container, list(hook.command), user=hook.user, privileged=hook.privileged, workdir=hook.working_dir,
                 env=[f"{k}={v}" for k, v in hook.environment])


def _exec(api: EngineAPI, container: str, cmd: list[str], *, user: str | None = None, privileged: bool = False,
          workdir: str | None = None, env: list[str] | None = None) -> ExecResult:
    try:
        exec_id = api.exec_create(container, cmd, user=user, privileged=privileged, workdir=workdir, env=env or ())
        output = api.exec_start(exec_id)
        code = api.exec_inspect(exec_id).get("ExitCode")
    except Exception as exc:
        said = explanation(exc)
        if said is None:
            raise
        raise EngineError(f"{_short(container)}: cannot run {cmd[0]}: {said}") from None
    text = output.decode("utf-8", "replace").rstrip()
    lines = text.splitlines()[-OUTPUT_LINES:]
    return ExecResult(int(code) if code is not None else -1, "\n".join(lines))
