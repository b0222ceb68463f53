"""The version-1 layout: services at the top level, no `services:` key (Compose v2 rejects it)."""

from __future__ import annotations

from typing import Any

TOP_LEVEL_KEYS = frozenset({"version", "name", "include", "services", "networks", "volumes", "secrets", "configs", "models"})
LEGACY_HINT = (
    "{file}: legacy (version 1) Compose layout with services at the top level; "
    "devenv reads it as `services:` (move them under a `services:` key to silence this)"
)


def is_legacy(data: Any) -> bool:
    if not isinstance(data, dict) or "services" in data:
        return False
    others = [k for k in data if k not in TOP_LEVEL_KEYS and not str(k).startswith("x-")]
    return bool(others) and all(isinstance(data[k], dict) for k in others)


def _upgrade_service(service: dict) -> dict:
    """Version-1 keys that moved: net → network_mode, dockerfile → build.dockerfile, log_* → logging."""
    if "net" in service and "network_mode" not in service:
        service["network_mode"] = service.pop("net")
    if "dockerfile" in service and isinstance(service.get("build"), (str, dict)):
        build = service["build"]
        build = {"context": build} if isinstance(build, str) else build
        build.setdefault("dockerfile", service.pop("dockerfile"))
        service["build"] = build
    if "log_driver" in service or "log_opt" in service:
        logging = service.setdefault("logging", {})
        if "log_driver" in service:
            logging.setdefault("driver", service.pop("log_driver"))
        if "log_opt" in service:
            logging.setdefault("options", service.pop("log_opt"))
    return service


def upgrade(data: dict, lines: dict) -> tuple[dict, dict]:
    """The same document in the current layout, with its line table re-rooted under `services`."""
    services = {k: _upgrade_service(v) for k, v in data.items() if k not in TOP_LEVEL_KEYS and not str(k).startswith("x-")}
    out: dict[str, Any] = {k: v for k, v in data.items() if k not in services}
    out.pop("version", None)
    out["services"] = services
    new_lines = {}
    for path, line in lines.items():
        if path and path[0] in services:
            new_lines[("services",) + tuple(path)] = line
        else:
            new_lines[path] = line
    return out, new_lines
