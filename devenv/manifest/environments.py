"""Environments (dev, stage, prod): what `x-devenv.environments.NAME` declares for one of them.

`devenv --env NAME` (or DEVENV_ENV) merges the overlay `devenv.NAME.yaml` / `compose.NAME.yaml`
found beside the main file, then reads these settings from the merged model. Without `--env` the
default environment applies: today's behaviour, its lock `devenv.lock` beside the main file.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import re
from collections.abc import Callable, Mapping
from typing import Any

from devenv.model import Project, thaw

ENV_VARIABLE = "DEVENV_ENV"
SETTINGS_KEY = "environments"
NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
# overlay file names beside the main file, in order of preference
OVERLAY_NAMES = ("devenv.{}.yaml", "devenv.{}.yml", "compose.{}.yaml", "compose.{}.yml")
_OVERLAY = re.compile(r"(?:devenv|compose)\.([a-z0-9][a-z0-9_-]*)\.ya?ml")
NOT_ENVIRONMENTS = frozenset({"override"})  # devenv.override.yaml is Compose's override file, not an overlay

# setting -> what it means (the error for an unknown key lists these)
SETTINGS: dict[str, str] = {
    "host": "the environment's engine, as DOCKER_HOST (unix://, tcp://, ssh://)",
    "context": "the environment's engine, as a docker context name",
    "registry": "the registry `push` sends this environment's images to (HOST[:PORT][/PATH])",
    "lock": "the environment's lock file (default devenv.NAME.lock beside the main file)",
    "laptop": "Compose overrides applied when this environment runs on the local engine (up --local)",
}


@dataclasses.dataclass(frozen=True)
class Environment:
    """One environment's settings, resolved against the project directory."""

    name: str | None  # None: the default environment (no --env)
    lock: str  # absolute path of its lock file
    host: str | None = None
    context: str | None = None
    registry: str | None = None
    laptop: Mapping[str, Any] | None = None  # a Compose fragment (services: {...}) for the laptop

    @property
    def label(self) -> str:
        return self.name or "default"


def default_lock_name(name: str | None) -> str:
    return f"devenv.{name}.lock" if name else "devenv.lock"


def project_dir(project: Project) -> str:
    """Where the main file lies (lock files and overlays are found beside it)."""
    first = next((f for f in project.compose_files if f != "-"), None)
    return os.path.dirname(first) if first else project.working_dir


def settings(project: Project, name: str | None = None) -> Environment:
    """The settings of environment `name` (default: the project's selected one) from the model."""
    name = project.env if name is None else name
    declared = (project.x_devenv.get(SETTINGS_KEY) or {}).get(name) if name else None
    declared = declared or {}
    folder = project_dir(project)
    lock = declared.get("lock") or default_lock_name(name)
    return Environment(
        name=name,
        lock=os.path.normpath(os.path.join(folder, os.path.expanduser(str(lock)))),
        host=declared.get("host"),
        context=declared.get("context"),
        registry=declared.get("registry"),
        laptop=declared.get("laptop"),
    )


def runs_locally(environment: Environment) -> bool:
    """Whether the environment declares no engine of its own (it then runs on the local one)."""
    return not (environment.host or environment.context)


def check_name(name: str, source: str = "--env") -> str:
    """`name` when it is a valid environment name (`[a-z0-9][a-z0-9_-]*`), else a UsageError."""
    from devenv.errors import UsageError

    if not NAME.fullmatch(name) or name in NOT_ENVIRONMENTS:
        raise UsageError(f"invalid environment name {name!r} ({source}): use lowercase letters, digits, '-' and '_', "
                         "starting with a letter or digit")
    return name


def overlay_candidates(folder: str, name: str) -> list[str]:
    """The overlay files of environment `name` present in `folder`, in order of preference."""
    paths = [os.path.join(folder, pattern.format(name)) for pattern in OVERLAY_NAMES]
    return [p for p in paths if os.path.isfile(p)]


def overlay_names(folder: str) -> list[str]:
    """The environments that have an overlay file in `folder`."""
    try:
        entries = os.listdir(folder)
    except OSError:
        return []
    found = (_OVERLAY.fullmatch(e) for e in entries)
    return sorted({m.group(1) for m in found if m and m.group(1) not in NOT_ENVIRONMENTS})


def declared_names(x_devenv: Mapping[str, Any] | None) -> list[str]:
    """The environments `x-devenv.environments` declares."""
    declared = (x_devenv or {}).get(SETTINGS_KEY) or {}
    return sorted(str(n) for n in declared) if isinstance(declared, Mapping) else []


def known_names(project: Project) -> list[str]:
    """Every environment the project knows: declared ones and those with an overlay file."""
    return sorted(set(declared_names(project.x_devenv)) | set(overlay_names(project_dir(project))))


def unknown_environment(name: str, declared: list[str], overlays: list[str]) -> Any:
    """The UsageError for `--env NAME` that neither an overlay nor `x-devenv.environments` knows."""
    from devenv.errors import UsageError

    known = sorted(set(declared) | set(overlays))
    listed = f"environments: {', '.join(known)}" if known else (
        f"none declared: add x-devenv.environments.{name} or a devenv.{name}.yaml overlay")
    return UsageError(f"unknown environment {name!r} ({listed})")


# ------------------------------------------------------------------ laptop: an environment on the local engine

LAPTOP_KEYS = ("services", "volumes", "networks", "secrets", "configs")


def laptop_path(name: str) -> tuple[str, ...]:
    return ("x-devenv", SETTINGS_KEY, name, "laptop")


def laptop_fragment(model: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """The `laptop` fragment environment `name` declares in a merged (plain) model, if any."""
    declared = ((model.get("x-devenv") or {}).get(SETTINGS_KEY) or {}).get(name) or {}
    fragment = declared.get("laptop") if isinstance(declared, Mapping) else None
    return fragment or None


def merge_laptop(model: Mapping[str, Any], fragment: Mapping[str, Any],
                 validate: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """`model` (a merged Compose document, plain data) with the `laptop` fragment merged on top by
    Compose's merge rules, as one more file would be; `validate` (the schema check) runs on the
    result. Pure: neither argument is modified."""
    from devenv.manifest.merge import enforce_unicity, merge
    from devenv.manifest.transform import canonical

    merged = merge(copy.deepcopy(thaw(model)), copy.deepcopy(thaw(fragment)))
    merged = enforce_unicity(merged)
    if validate is not None:
        validate(merged)
    return enforce_unicity(canonical(merged))
