"""What the engine commands share: load the project, find its settings, connect, report."""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any

from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions
from devenv.model import Project

if TYPE_CHECKING:
    from devenv.engine.background import Background
    from devenv.engine.client import Engine

PUBLISH_HOST_ENV = "DEVENV_PUBLISH_HOST"


def load(options: ProjectOptions, services: tuple[str, ...] = ()) -> Project:
    from devenv.manifest import load_project

    project = load_project(options)
    known = set(project.services) | set(project.disabled_services)
    unknown = [s for s in services if s not in known]
    if unknown:
        raise UsageError(f"no such service: {', '.join(unknown)} (services: {', '.join(sorted(known))})")
    return project


def load_while_connecting(options: ProjectOptions, services: tuple[str, ...] = ()) -> tuple[Project, "Background[Engine]"]:
    """The project, and the connection to the engine being made meanwhile (a round trip, and the
    engine modules' import): `.result()` gives the client or raises why there is none. A bad
    manifest is reported first, as always."""
    from devenv.engine.background import Background
    from devenv.engine.client import connect

    engine = Background(connect)
    project = load(options, services)
    return project, engine


def load_and_connect(options: ProjectOptions, services: tuple[str, ...] = ()) -> tuple[Project, "Engine"]:
    project, engine = load_while_connecting(options, services)
    return project, engine.result()


def explicit_env_files(options: ProjectOptions) -> tuple[str, ...]:
    """The `--env-file` paths given (absolute), recorded in a label as Compose does; not an implicit .env."""
    return tuple(os.path.normpath(os.path.join(options.cwd, f)) for f in options.env_files)


def publish_host(project: Project) -> str:
    """Where published ports without a host address bind: x-devenv.publish_host, DEVENV_PUBLISH_HOST, 127.0.0.1."""
    value = os.environ.get(PUBLISH_HOST_ENV) or (project.x_devenv or {}).get("publish_host") or "127.0.0.1"
    import ipaddress

    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        raise UsageError(f"invalid publish_host {value!r}: use an IP address such as 127.0.0.1 or 0.0.0.0") from None
    return str(value)


def echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    """One write and a flush, so progress lines show as they happen (also through a pipe)."""
    stream = sys.stderr if err else sys.stdout
    stream.write(message + "\n" if nl else message)
    stream.flush()


def say(message: str) -> None:
    echo(message, err=True)


def emit_json(data: Any) -> None:
    echo(json.dumps(data, indent=2, sort_keys=False))
