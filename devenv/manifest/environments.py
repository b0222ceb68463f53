"""Environments (dev, stage, prod): what `x-devenv.environments.NAME` declares for one of them.

`devenv --env NAME` (or DEVENV_ENV) merges the overlay `devenv.NAME.yaml` / `compose.NAME.yaml`
found beside the main file, then reads these settings from the merged model. Without `--env` the
default environment applies: today's behaviour, its lock `devenv.lock` beside the main file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from devenv.model import Project

ENV_VARIABLE = "DEVENV_ENV"
SETTINGS_KEY = "environments"

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
