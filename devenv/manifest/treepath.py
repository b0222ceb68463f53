"""Paths into a Compose document and the `services.*.ports`-style patterns that select them.

A path is a tuple of keys (str) and list indexes (int). A pattern is a dotted string in which `*`
matches any single key or index, as in compose-go's `tree.Path.Matches`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from devenv.errors import ManifestError

T = TypeVar("T")
Path = tuple


@cache
def compile_pattern(pattern: str) -> tuple[str, ...]:
    return tuple(pattern.split("."))


def matches(path: Path, pattern: str) -> bool:
    parts = compile_pattern(pattern)
    if len(parts) != len(path):
        return False
    return all(p == "*" or p == k for p, k in zip(parts, path, strict=True))


class PatternTable(Generic[T]):
    """Patterns compiled into a trie: a walk steps from node to node with each key of its path, so
    it pays one dict lookup per level and can skip whole subtrees that no pattern reaches."""

    __slots__ = ("value", "children", "star", "_unions")

    def __init__(self, entries: Mapping[str, T] | None = None) -> None:
        self.value: T | None = None
        self.children: dict[str, PatternTable[T]] = {}
        self.star: PatternTable[T] | None = None
        self._unions: dict[str, PatternTable[T]] = {}
        for pattern, value in (entries or {}).items():
            self._add(compile_pattern(pattern), value)

    def _add(self, parts: tuple[str, ...], value: T) -> None:
        node = self
        for part in parts:
            if part == "*":
                node.star = node.star or PatternTable()
                node = node.star
            else:
                node = node.children.setdefault(part, PatternTable())
        node.value = value

    def step(self, key: object) -> PatternTable[T] | None:
        """The node for one more path element, or None when no pattern continues with it."""
        if not isinstance(key, str):
            return self.star
        exact = self.children.get(key)
        if exact is None:
            return self.star
        if self.star is None:
            return exact
        union = self._unions.get(key)
        if union is None:
            union = self._unions[key] = _union(exact, self.star)
        return union

    def lookup_node(self, path: Path) -> PatternTable[T] | None:
        node: PatternTable[T] = self
        for key in path:
            following = node.step(key)
            if following is None:
                return None
            node = following
        return node

    def lookup(self, path: Path) -> T | None:
        node = self.lookup_node(path)
        return None if node is None else node.value


def _union(exact: PatternTable[T], star: PatternTable[T]) -> PatternTable[T]:
    """Both subtrees at once; the exact pattern's value wins."""
    out: PatternTable[T] = PatternTable()
    out.value = exact.value if exact.value is not None else star.value
    for key in set(exact.children) | set(star.children):
        a, b = exact.children.get(key), star.children.get(key)
        out.children[key] = _union(a, b) if a and b else (a or b)  # type: ignore[assignment]
    if exact.star and star.star:
        out.star = _union(exact.star, star.star)
    else:
        out.star = exact.star or star.star
    return out


def dotted(path: Iterable[object]) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def field_error(path: Path, message: str) -> ManifestError:
    """An error about the field at `path`; the loader adds the file and line where it was written.
    (devenv.errors is imported on first use, not with this module.)"""
    from devenv.errors import ManifestError

    return ManifestError(message, path=dotted(path) or None, at=tuple(path))
