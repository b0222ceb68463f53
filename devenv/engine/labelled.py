"""Projects as the engine's labels describe them: `-p NAME` without a Compose file, and `ls`."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from devenv.engine.background import Background
from devenv.errors import DevenvError
from devenv.model import Project
from devenv.plan.labelled import Stack, project_from_labels, stacks
from devenv.plan.naming import PROJECT_LABEL, project_filter

if TYPE_CHECKING:
    from devenv.engine.client import Engine


class NoSuchProject(DevenvError):
    pass


def observed_project(client: Engine, name: str, cwd: str | None = None) -> Project:
    """The project `name` built from what carries its label on the engine (containers, networks,
    volumes); NoSuchProject when nothing does."""
    filters = project_filter(name)
    containers = Background(client.api.containers, all=True, filters=filters)
    networks = Background(client.api.networks, filters=filters)
    volumes = Background(client.api.volumes, filters=filters)
    project = project_from_labels(
        name, containers.result(), networks.result(), volumes.result(), cwd=cwd or os.getcwd()
    )
    if project is None:
        raise NoSuchProject(f"no such project {name}: no Compose file here and nothing on the engine carries its label")
    return project


def list_stacks(client: Engine, all: bool = False) -> list[Stack]:
    """The projects on the engine (with a running container; with any container if `all`)."""
    containers: list[dict[str, Any]] = client.api.containers(all=all, filters={"label": [PROJECT_LABEL]})
    return stacks(containers)
