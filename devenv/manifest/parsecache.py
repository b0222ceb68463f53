"""A cache of parsed Compose files, keyed on their exact text.

Importing PyYAML and parsing a file cost a quick command (`down`, `ps`) about a fifth of its
start-up; most runs read a file that has not changed since the last one. An entry holds one file's
parse result (data, and the line of every key) as JSON, under a name derived from the file's path,
with the SHA-256 of the text and of the parser's code (ours and PyYAML's files): any change is a
miss. Errors are never cached. JSON, not pickle, so a planted entry can at worst describe a Compose
file, never run code; and an entry that is not the user's own, or that others may write, is ignored.

`$XDG_CACHE_HOME/devenv/parsed` (default `~/.cache/devenv/parsed`); `DEVENV_NO_CACHE` set to
anything but empty, `0`, `false` or `no` turns it off.

The cache never amplifies: an entry larger than ENTRY_RATIO times its source plus ENTRY_SLACK (an
alias-heavy file expands in the parse tree) or than MAX_ENTRY is not written (its size is measured
by a bounded walk before anything is encoded); after a write, if the folder holds more than
MAX_TOTAL bytes, the least recently used entries (by mtime, refreshed on every hit) are removed.
An entry that is damaged in any way (truncated, not JSON, too deep, wrong types, too large) is
ignored and the file parsed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from typing import Any

from devenv.manifest.tags import RESET, Override, Reset

FORMAT = "devenv-parse-1"
NO_CACHE_ENV = "DEVENV_NO_CACHE"
_HERE = os.path.dirname(os.path.abspath(__file__))
_CODE = ("yamlio.py", "tags.py", "parsecache.py")  # a change to any of them invalidates every entry
ENTRY_RATIO = 8
ENTRY_SLACK = 64 * 1024
MAX_ENTRY = 8 * 1024 * 1024
MAX_TOTAL = 64 * 1024 * 1024
_MARK = "\0"  # the key of a marker object; user keys starting with it are escaped with one more


def parse_cached(text: str, file: str) -> list[tuple[Any, dict]]:
    """The documents of `text` (read from `file`): from the cache when the text was parsed before."""
    entry = _entry_path(file)
    key = _key(text) if entry else ""
    if entry:
        hit = _read(entry, key)
        if hit is not None:
            return hit
    from devenv.manifest.yamlio import parse

    docs = [(d.data, d.lines) for d in parse(text, file)]
    if entry:
        _write(entry, key, docs, text)
    return docs


def cache_dir() -> str | None:
    if (os.environ.get(NO_CACHE_ENV) or "0").strip().lower() not in ("0", "false", "no", "off"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or (
        os.path.join(os.environ["HOME"], ".cache") if os.environ.get("HOME") else ""
    )
    return os.path.join(base, "devenv", "parsed") if os.path.isabs(base) else None


def _entry_path(file: str) -> str | None:
    folder = cache_dir()
    if folder is None:
        return None
    name = file if file == "-" else os.path.abspath(file)
    return os.path.join(folder, hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:40] + ".json")


def _key(text: str) -> str:
    digest = hashlib.sha256(FORMAT.encode())
    for path in [os.path.join(_HERE, name) for name in _CODE] + [_pyyaml()]:
        try:
            st = os.stat(path)
            digest.update(f"{path}:{st.st_mtime_ns}:{st.st_size};".encode())
        except OSError:
            digest.update(f"{path}:?;".encode())
    digest.update(text.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _pyyaml() -> str:
    """Where PyYAML would be imported from (an upgrade changes its files), found without importing it."""
    for folder in sys.path:
        candidate = os.path.join(folder or ".", "yaml", "__init__.py")
        if os.path.exists(candidate):
            return candidate
    return "yaml"


def _read(entry: str, key: str) -> list[tuple[Any, dict]] | None:
    try:
        fd = os.open(entry, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.geteuid() or st.st_mode & 0o022 or st.st_size > MAX_ENTRY:
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            raw = fh.read(MAX_ENTRY + 1)
        if len(raw) > MAX_ENTRY:
            return None
        stored = json.loads(raw, object_hook=_decode_object)
        if not isinstance(stored, dict) or stored.get("key") != key or not isinstance(stored.get("docs"), list):
            return None
        docs = []
        for data, lines in stored["docs"]:
            table = {}
            for path, line in lines:
                if not isinstance(path, list) or type(line) is not int:
                    return None
                table[tuple(path)] = line
            docs.append((data, table))
        try:
            os.utime(entry)  # recently used: evicted last
        except OSError:
            pass
        return docs
    except Exception:  # noqa: BLE001 - whatever the damage (RecursionError, MemoryError, bad types...): parse instead
        return None
    finally:
        if fd >= 0:
            os.close(fd)


def _write(entry: str, key: str, docs: list[tuple[Any, dict]], text: str) -> None:
    """Best effort: a cache that cannot be written (read-only home, full disk) changes nothing."""
    source = len(text.encode("utf-8", "surrogatepass"))
    limit = min(MAX_ENTRY, ENTRY_RATIO * source + ENTRY_SLACK)
    if _too_large([docs], limit):
        return  # would amplify the source (aliases expanded): parse it each time instead
    try:
        payload = json.dumps(
            {"key": key, "docs": [[_encode(data), [[list(p), n] for p, n in lines.items()]] for data, lines in docs]},
            ensure_ascii=False, separators=(",", ":"),
        ).encode("utf-8", "surrogatepass")
        if len(payload) > limit:
            return
        os.makedirs(os.path.dirname(entry), mode=0o700, exist_ok=True)
        temporary = f"{entry}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(temporary, entry)
        _evict(os.path.dirname(entry), keep=entry)
    except (OSError, ValueError, TypeError):
        try:
            os.unlink(f"{entry}.{os.getpid()}.tmp")
        except OSError:
            pass


def _too_large(value: Any, limit: int) -> bool:
    """Whether `value` as JSON would exceed about `limit` bytes: a walk that stops at the limit, so
    an alias bomb (shared subtrees, expanded by encoding) costs at most `limit` steps."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            total += len(item) + 3
        elif isinstance(item, dict):
            total += 2 + len(item)
            for k, v in item.items():
                stack.append(k)
                stack.append(v)
        elif isinstance(item, (list, tuple)):
            total += 2 + len(item)
            stack.extend(item)
        elif type(item) is Override:
            total += 16
            stack.append(item.value)
        else:
            total += 8
        if total > limit:
            return True
    return False


def _evict(folder: str, keep: str) -> None:
    """Keeps the folder under MAX_TOTAL: least recently used entries go first (stale temporaries too)."""
    entries = []
    total = 0
    try:
        with os.scandir(folder) as it:
            for item in it:
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                if stat.S_ISREG(st.st_mode):
                    total += st.st_size
                    entries.append((st.st_mtime_ns, item.path, st.st_size))
    except OSError:
        return
    if total <= MAX_TOTAL:
        return
    for _, path, size in sorted(entries):
        if total <= MAX_TOTAL:
            break
        if path == keep:
            continue
        try:
            os.unlink(path)
            total -= size
        except OSError:
            pass


def _encode(value: Any) -> Any:
    """Parse results as JSON: markers become objects keyed by _MARK; user keys starting with it are escaped."""
    if type(value) is Reset:
        return {_MARK: "reset"}
    if type(value) is Override:
        return {_MARK: "override", "value": _encode(value.value)}
    if isinstance(value, dict):
        return {(_MARK + k if k.startswith(_MARK) else k): _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise TypeError(f"cannot cache a parsed {type(value).__name__}")


def _decode_object(obj: dict) -> Any:
    marker = obj.get(_MARK)
    if marker is not None:
        if marker == "reset":
            return RESET
        if marker == "override":
            return Override(obj["value"])
        raise ValueError(f"unknown marker {marker!r}")
    for k in obj:
        if k.startswith(_MARK):
            return {(k[1:] if k.startswith(_MARK) else k): v for k, v in obj.items()}
    return obj
