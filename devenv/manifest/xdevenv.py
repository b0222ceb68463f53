"""devenv's own settings, under the top-level `x-devenv` key (Compose ignores `x-` keys, so a
devenv.yaml stays a valid Compose file). KEYS is the one list of the settings devenv knows: a
feature that adds a setting adds it here, and a key not listed is refused with the closest one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devenv.manifest.treepath import field_error

KEY = "x-devenv"

# setting -> what it does (the error for an unknown key lists these)
KEYS: dict[str, str] = {
    "publish_host": "host address for published ports that name none (default 127.0.0.1)",
    "allowed_differences": "SERVICE.FIELD[.KEY] patterns `devenv diff` reports as allowed (fnmatch wildcards)",
}


def check(document: Mapping[str, Any]) -> None:
    """Refuse an `x-devenv` that is not a mapping, and keys devenv does not know."""
    if KEY not in document:
        return
    settings = document[KEY]
    if settings is None:
        return
    if not isinstance(settings, Mapping):
        raise field_error((KEY,), f"must be a mapping of devenv settings ({', '.join(sorted(KEYS))})")
    for key in settings:
        if key not in KEYS:
            raise field_error((KEY, key), unknown_key_message(str(key)))


def unknown_key_message(key: str) -> str:
    import difflib

    close = difflib.get_close_matches(key, list(KEYS), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"known settings: {', '.join(sorted(KEYS))}"
    return f"unknown devenv setting {key!r} ({hint})"
