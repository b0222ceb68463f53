"""What the commands on existing containers share: the project (from its files, or from the
engine's labels with `-p NAME` and no file), the engine, and the project's containers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devenv.cli.common import load_and_connect, say

if TYPE_CHECKING:
    from devenv.cli.command import Globals
    from devenv.engine.client import Engine
    from devenv.model import Project
    from devenv.plan.observed import ObservedContainer, ObservedState


def open_project(g: Globals, services: tuple[str, ...] = ()) -> tuple[Project, Engine, ObservedState]:
    """The project, a connected engine and the project's containers (all of them, stopped too)."""
    from devenv.engine.control import project_containers

    project, client = load_and_connect(g.options, services, from_labels=True)
    return project, client, project_containers(client, project.name)


def report(results: list[tuple[ObservedContainer, object, str | None]], done: str) -> int:
    """One line per container (`container NAME killed`, or its error) on stderr; 1 if any failed."""
    from devenv.cli.output import style

    failed = 0
    for container, _result, error in results:
        if error is None:
            say(f"  {style('✔', 'green')} container {container.name} {done}")
        else:
            failed += 1
            say(f"  {style('✘', 'red')} container {container.name}: {error}")
    return 1 if failed else 0
