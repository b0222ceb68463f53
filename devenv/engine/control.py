"""The calls of the commands that act on single containers (`kill`, `pause`, `top`, `stats`,
`wait`...): the project's containers as observed, and one call per container, in parallel."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from devenv.engine.api import explanation, is_not_found
from devenv.engine.background import Background
from devenv.plan.naming import project_filter
from devenv.plan.observed import ObservedContainer, ObservedState

if TYPE_CHECKING:
    from devenv.engine.client import Engine

T = TypeVar("T")


def project_containers(client: Engine, project: str, all: bool = True) -> ObservedState:
    """The project's containers (list JSON: one call), as the plan layer reads them."""
    return ObservedState.from_inspect(project, containers=client.api.containers(all=all, filters=project_filter(project)))


def each(
    containers: Iterable[ObservedContainer], call: Callable[[ObservedContainer], T]
) -> list[tuple[ObservedContainer, T | None, str | None]]:
    """`call(c)` for every container in parallel: (container, result, None) or (container, None,
    the engine's message, e.g. for a container gone meanwhile)."""
    pending = [(c, Background(call, c)) for c in containers]
    out: list[tuple[ObservedContainer, T | None, str | None]] = []
    for c, job in pending:
        try:
            out.append((c, job.result(), None))
        except Exception as exc:
            message = explanation(exc)
            if message is None and is_not_found(exc):
                message = f"no such container: {c.name}"
            if message is None:
                raise
            out.append((c, None, message.strip()))
    return out


def top(client: Engine, container: ObservedContainer) -> dict[str, Any]:
    return client.api.top(container.id)


def stats_sample(client: Engine, container: ObservedContainer) -> dict[str, Any]:
    """One stats sample with the previous one's CPU figures (the engine takes about a second)."""
    return client.api.stats(container.id)


def wait_exit(client: Engine, container: ObservedContainer) -> int:
    """Block until the container is not running; its exit code."""
    answer = client.api.wait(container.id)
    return int((answer or {}).get("StatusCode", 0))


def kill(client: Engine, container: ObservedContainer, signal: str | int | None = None) -> None:
    client.api.kill(container.id, signal=signal)


def pause(client: Engine, container: ObservedContainer) -> None:
    client.api.pause(container.id)


def unpause(client: Engine, container: ObservedContainer) -> None:
    client.api.unpause(container.id)


@dataclasses.dataclass(frozen=True)
class ImageRemoval:
    """`down --rmi`: what became of one image; `problem` is the engine's refusal."""

    name: str
    removed: bool
    problem: str | None = None


def remove_image(client: Engine, name: str) -> ImageRemoval:
    """Remove the image `name`; one that is not there counts as not removed, without a problem."""
    try:
        client.api.remove_image(name)
    except Exception as exc:
        if is_not_found(exc):
            return ImageRemoval(name, False)
        return ImageRemoval(name, False, (explanation(exc) or str(exc)).strip())
    return ImageRemoval(name, True)
