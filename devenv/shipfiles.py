"""Reading a shipped source on this machine: its manifest (hashing only what changed since the
last one) and the tar of the entries to send. No Docker here; see devenv/plan/shipping.py."""

from __future__ import annotations

import hashlib
import os
import stat
import tarfile
from collections.abc import Iterable, Mapping
from typing import IO

from devenv.plan.shipping import IGNORE_FILE, MAX_BYTES, MAX_FILES, Entry, Excludes, Manifest, ShipError, check_limits

CHUNK = 1 << 20


def _sha_file(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                digest.update(block)
    except OSError as exc:
        raise ShipError(f"cannot read {path} to ship it: {exc.strerror or exc}") from None
    return digest.hexdigest()


def _entry(st: os.stat_result, kind: str) -> Entry:
    return Entry(kind, st.st_size if kind == "file" else 0, st.st_mtime_ns, stat.S_IMODE(st.st_mode))


def _walk(root: str, excludes: Excludes) -> dict[str, tuple[str, os.stat_result]]:
    """rel path -> (kind, stat) of every folder, file and link under `root` (links not followed;
    sockets, pipes and devices left out)."""
    found: dict[str, tuple[str, os.stat_result]] = {}
    todo = [""]
    while todo:
        rel = todo.pop()
        try:
            with os.scandir(os.path.join(root, rel) if rel else root) as listing:
                items = list(listing)
        except OSError as exc:
            raise ShipError(f"cannot read {os.path.join(root, rel)} to ship it: {exc.strerror or exc}") from None
        for item in items:
            path = f"{rel}/{item.name}" if rel else item.name
            if excludes.excluded(path):
                continue
            st = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(st.st_mode):
                found[path] = ("link", st)
            elif stat.S_ISDIR(st.st_mode):
                found[path] = ("dir", st)
                todo.append(path)
            elif stat.S_ISREG(st.st_mode):
                found[path] = ("file", st)
    return found


Listing = dict[str, tuple[str, os.stat_result]]  # rel path -> (kind, stat)


def listing(path: str, label: str, *, max_files: int | None = None, max_bytes: int | None = None) -> Listing:
    """What `scan` will read of the local `path` (a folder: its tree after `.devenvignore` and `.`
    itself; a file: itself under its own name; missing: nothing), nothing read yet; ShipError over
    the limits."""
    if not os.path.lexists(path):
        return {}
    if not os.path.isdir(path):
        found: Listing = {os.path.basename(path): ("file", os.stat(path))}
    else:
        ignore = os.path.join(path, IGNORE_FILE)
        try:
            with open(ignore, encoding="utf-8", errors="replace") as f:
                excludes = Excludes.parse(f.read())
        except FileNotFoundError:
            excludes = Excludes()
        except OSError as exc:
            raise ShipError(f"cannot read {ignore}: {exc.strerror or exc}") from None
        found = _walk(path, excludes)
        found["."] = ("dir", os.stat(path))  # the folder itself: its owner and mode become the volume root's
    files = sum(1 for kind, _ in found.values() if kind != "dir")
    size = sum(st.st_size for kind, st in found.values() if kind == "file")
    check_limits(label, files, size, MAX_FILES if max_files is None else max_files, MAX_BYTES if max_bytes is None else max_bytes)
    return found


def manifest(path: str, found: Listing, previous: Mapping[str, Entry] | None = None) -> dict[str, Entry]:
    """The manifest of a listing: files whose size and mtime match `previous` keep its digest unread."""
    previous = previous or {}
    is_dir = os.path.isdir(path)
    out: dict[str, Entry] = {}
    for rel, (kind, st) in sorted(found.items()):
        entry = _entry(st, kind)
        full = os.path.join(path, rel) if is_dir and rel != "." else path
        old = previous.get(rel)
        if kind == "file":
            sha = old.sha256 if old is not None and entry.same_stat(old) and old.sha256 else _sha_file(full)
        elif kind == "link":
            sha = hashlib.sha256(os.readlink(full).encode("utf-8", "surrogateescape")).hexdigest()
        else:
            sha = ""
        out[rel] = Entry(entry.kind, entry.size, entry.mtime_ns, entry.mode, sha)
    return out


def scan(path: str, label: str, previous: Mapping[str, Entry] | None = None, *, max_files: int | None = None,
         max_bytes: int | None = None) -> dict[str, Entry]:
    """The manifest of the local `path`: `listing` (the limits checked before anything is read), then
    `manifest`."""
    return manifest(path, listing(path, label, max_files=max_files, max_bytes=max_bytes), previous)


def write_tar(out: IO[bytes], path: str, names: Iterable[str], manifest: Manifest, prefix: str = "") -> None:
    """A tar of the entries `names` of the local source `path` (as `scan` named them, `.` the folder
    itself), under `prefix/`, owners and modes as they are here; a file that changed since the scan
    is sent as it is now."""
    is_dir = os.path.isdir(path)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in names:
            full = (path if rel == "." else os.path.join(path, rel)) if is_dir else os.path.realpath(path)
            arcname = (prefix if rel == "." else f"{prefix}/{rel}") if prefix else rel
            try:
                info = tar.gettarinfo(full, arcname=arcname)
                info.mode = manifest[rel].mode
                info.uname = info.gname = ""
                if info.isreg():
                    with open(full, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
            except FileNotFoundError:
                continue  # removed since the scan: the next `up` deletes it
            except OSError as exc:
                raise ShipError(f"cannot read {full} to ship it: {exc.strerror or exc}") from None
