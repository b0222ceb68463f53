"""Paths into a Compose document and the `services.*.ports`-style patterns that select them.

A path is a tuple of keys (str) and list indexes (int). A pattern is a dotted string in which `*`
matches any single key or index, as in compose-go's `tree.Path.Matches`.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Iterable, Mapping, TypeVar

T = TypeVar("T")
Path = tuple


@lru_cache(maxsize=None)
def compile_pattern(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("."))


def matches(path: Path, pattern: str) -> bool:
    parts = compile_pattern(pattern)
    if len(parts) != len(path):
        return False
    return all(p == "*" or p == k for p, k in zip(parts, path))


class PatternTable(Mapping[str, T]):
    """Patterns grouped by length so a lookup only tries the patterns that can match."""

    def __init__(self, entries: Mapping[str, T]) -> None:
        self._entries = dict(entries)
        self._by_len: dict[int, list[tuple[tuple[str, ...], T]]] = {}
        for pattern, value in self._entries.items():
            parts = compile_pattern(pattern)
            self._by_len.setdefault(len(parts), []).append((parts, value))

    def lookup(self, path: Path) -> T | None:
        for parts, value in self._by_len.get(len(path), ()):
            if all(p == "*" or p == k for p, k in zip(parts, path)):
                return value
        return None

    def __getitem__(self, key: str) -> T:
        return self._entries[key]

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


def dotted(path: Iterable[object]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def field_error(path: Path, message: str):  # -> ManifestError (imported lazily: errors imports nothing of ours)
    """An error about the field at `path`; the loader adds the file and line where it was written."""
    from devenv.errors import ManifestError

    return ManifestError(message, path=dotted(path) or None, at=tuple(path))
