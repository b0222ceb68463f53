"""`!reset` and `!override`: a later file removes, or replaces instead of merging, an earlier value."""

from __future__ import annotations

from typing import Any

from devenv.manifest.tags import Override, Reset
from devenv.manifest.treepath import Path


def strip_markers(data: Any, path: Path = (), found: list[Path] | None = None) -> tuple[Any, list[Path]]:
    """Remove `!reset` values and unwrap `!override` ones; return the data and the marked paths."""
    found = [] if found is None else found
    if isinstance(data, Override):
        found.append(path)
        return strip_markers(data.value, path, found)[0], found
    if isinstance(data, dict):
        out = {}
        for key, value in data.items():
            if isinstance(value, Reset):
                found.append(path + (key,))
                continue
            out[key] = strip_markers(value, path + (key,), found)[0]
        return out, found
    if isinstance(data, list):
        items = []
        for i, value in enumerate(data):
            if isinstance(value, Reset):
                continue
            items.append(strip_markers(value, path + (i,), found)[0])
        return items, found
    return data, found


def apply_resets(target: Any, paths: list[Path]) -> None:
    """Delete from the earlier data every mapping key a later file marked with `!reset`/`!override`."""
    for path in paths:
        node = target
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict) and path and path[-1] in node:
            del node[path[-1]]
