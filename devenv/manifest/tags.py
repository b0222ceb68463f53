"""Compose's YAML tags as values: `!reset` and `!override`. Kept apart from the YAML parser so the
passes that handle them (and the parse cache) do not import PyYAML."""

from __future__ import annotations

from typing import Any, NamedTuple


class Reset:
    """A value tagged `!reset`: merging it removes what the earlier files said."""

    def __repr__(self) -> str:
        return "!reset"


class Override(NamedTuple):
    """A value tagged `!override`: merging it replaces the earlier value instead of merging into it."""

    value: Any


RESET = Reset()
