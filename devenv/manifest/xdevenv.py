"""devenv's own settings, under the top-level `x-devenv` key (Compose ignores `x-` keys, so a
devenv.yaml stays a valid Compose file). KEYS is the one list of the settings devenv knows: a
feature that adds a setting adds it here, and a key not listed is refused with the closest one."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from devenv.manifest.treepath import Path, field_error

KEY = "x-devenv"

# setting -> what it does (the error for an unknown key lists these)
KEYS: dict[str, str] = {
    "publish_host": "host address for published ports that name none (default 127.0.0.1)",
    "environments": "NAME -> settings of an environment selected with --env NAME (host, context, registry, lock, laptop)",
    "allowed_differences": "what may differ between environments by design (SERVICE.FIELD[.KEY], * and ? wildcards)",
    "metrics": "where devenv sends its metrics (carbon: HOST:PORT)",
}

HOST_SCHEMES = ("unix://", "tcp://", "ssh://", "npipe://")
_REGISTRY = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:[._/-][a-z0-9]+)*)?")
_ALLOWED = re.compile(r"[A-Za-z0-9_*?-][A-Za-z0-9_.*?-]*\.[A-Za-z0-9_*?-]+(?:\.[^\s]+)?")


def check(document: Mapping[str, Any]) -> None:
    """Refuse an `x-devenv` that is not a mapping, keys devenv does not know, and settings of the
    wrong shape (each error names the field; the loader adds file and line)."""
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
    if settings.get("environments") is not None:
        _check_environments(settings["environments"], (KEY, "environments"))
    if settings.get("allowed_differences") is not None:
        _check_allowed(settings["allowed_differences"], (KEY, "allowed_differences"))


def unknown_key_message(key: str, known: Mapping[str, str] = KEYS, what: str = "devenv setting") -> str:
    import difflib

    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    hint = f"did you mean {close[0]!r}?" if close else f"known settings: {', '.join(sorted(known))}"
    return f"unknown {what} {key!r} ({hint})"


def _check_environments(value: Any, at: Path) -> None:
    from devenv.manifest.environments import NAME, NOT_ENVIRONMENTS, SETTINGS

    if not isinstance(value, Mapping):
        raise field_error(at, "must be a mapping of environment names to their settings (host, context, registry, lock, laptop)")
    for name, settings in value.items():
        here = at + (name,)
        if not isinstance(name, str) or not NAME.fullmatch(name) or name in NOT_ENVIRONMENTS:
            raise field_error(here, f"invalid environment name {name!r}: use lowercase letters, digits, '-' and '_', "
                                    "starting with a letter or digit")
        if settings is None:
            continue
        if not isinstance(settings, Mapping):
            raise field_error(here, f"must be a mapping of settings ({', '.join(SETTINGS)})")
        for key in settings:
            if key not in SETTINGS:
                raise field_error(here + (key,), unknown_key_message(str(key), SETTINGS, "environment setting"))
        for key in ("host", "context", "registry", "lock"):
            if key in settings and (not isinstance(settings[key], str) or not settings[key]):
                raise field_error(here + (key,), "must be a non-empty string")
        host = settings.get("host")
        if host is not None and not host.startswith(HOST_SCHEMES):
            raise field_error(here + ("host",), f"invalid engine address {host!r}: use {', '.join(s + '...' for s in HOST_SCHEMES)}")
        if host is not None and settings.get("context") is not None:
            raise field_error(here + ("context",), "host and context are mutually exclusive (one engine per environment)")
        registry = settings.get("registry")
        if registry is not None and not _REGISTRY.fullmatch(registry):
            raise field_error(here + ("registry",), f"invalid registry {registry!r}: use HOST[:PORT][/PATH] "
                                                    "without a scheme (registry.example.com:5000/team)")
        if settings.get("laptop") is not None:
            _check_laptop(settings["laptop"], here + ("laptop",))


def _check_laptop(value: Any, at: Path) -> None:
    """A Compose fragment: top-level sections only, each a mapping (the schema checks the rest once merged)."""
    from devenv.manifest.environments import LAPTOP_KEYS

    if not isinstance(value, Mapping):
        raise field_error(at, "must be a Compose fragment (services: ...) merged on top when the environment runs locally")
    for key, section in value.items():
        if key not in LAPTOP_KEYS:
            raise field_error(at + (key,), f"unknown laptop section {key!r} (known: {', '.join(LAPTOP_KEYS)})")
        if section is not None and not isinstance(section, Mapping):
            raise field_error(at + (key,), "must be a mapping")
        for name, entry in (section or {}).items():
            if entry is not None and not isinstance(entry, Mapping):
                raise field_error(at + (key, name), "must be a mapping")


def _check_allowed(value: Any, at: Path) -> None:
    if not isinstance(value, list):
        raise field_error(at, "must be a list of SERVICE.FIELD[.KEY] patterns (* and ? wildcards)")
    for i, item in enumerate(value):
        if not isinstance(item, str) or not _ALLOWED.fullmatch(item):
            raise field_error(at + (i,), f"invalid pattern {item!r}: use SERVICE.FIELD[.KEY] (* and ? wildcards), "
                                         "as web.ports or *.environment.LOG_LEVEL")
