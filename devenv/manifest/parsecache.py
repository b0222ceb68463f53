"""A cache of parsed Compose files, keyed on their exact text.

Importing PyYAML and parsing a file cost a quick command (`down`, `ps`) about a fifth of its
start-up; most runs read a file that has not changed since the last one. An entry holds one file's
parse result (data, and the line of every key) as JSON, under a name derived from the file's path,
with the SHA-256 of the text and of the parser's code (ours and PyYAML's files): any change is a
miss. Errors are never cached. JSON, not pickle, so a planted entry can at worst describe a Compose
file, never run code; and an entry that is not the user's own, or that others may write, is ignored.

`$XDG_CACHE_HOME/devenv/parsed` (default `~/.cache/devenv/parsed`); `DEVENV_NO_CACHE=1` turns it off.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from typing import Any

from devenv.manifest.tags import RESET, Override, Reset

FORMAT = "devenv-parse-1"
NO_CACHE_ENV = "DEVENV_NO_CACHE"
_HERE = os.path.dirname(os.path.abspath(__file__))
_CODE = ("yamlio.py", "tags.py", "parsecache.py")  # a change to any of them invalidates every entry
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
        _write(entry, key, docs)
    return docs


def cache_dir() -> str | None:
    if os.environ.get(NO_CACHE_ENV):
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
        fd = os.open(entry, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            return None
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            stored = json.loads(fh.read(), object_hook=_decode_object)
        if not isinstance(stored, dict) or stored.get("key") != key:
            return None
        return [(data, {tuple(path): line for path, line in lines}) for data, lines in stored["docs"]]
    except (OSError, ValueError, TypeError, KeyError):
        return None  # unreadable or not ours: parse instead
    finally:
        if fd >= 0:
            os.close(fd)


def _write(entry: str, key: str, docs: list[tuple[Any, dict]]) -> None:
    """Best effort: a cache that cannot be written (read-only home, full disk) changes nothing."""
    try:
        payload = json.dumps(
            {"key": key, "docs": [[_encode(data), [[list(p), n] for p, n in lines.items()]] for data, lines in docs]},
            ensure_ascii=False, separators=(",", ":"),
        ).encode("utf-8", "surrogatepass")
        os.makedirs(os.path.dirname(entry), mode=0o700, exist_ok=True)
        temporary = f"{entry}.{os.getpid()}.tmp"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0), 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(temporary, entry)
    except (OSError, ValueError, TypeError):
        try:
            os.unlink(f"{entry}.{os.getpid()}.tmp")
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
