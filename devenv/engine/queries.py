"""What the read-only commands (`ps`, `logs`, `events`, `port`, `images`, `push`) ask the engine,
as typed answers: the CLI calls these, never the engine API itself."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from devenv.plan.naming import CONTAINER_NUMBER_LABEL, ONEOFF_LABEL, SERVICE_LABEL, project_filter

if TYPE_CHECKING:
    from devenv.engine.api import Events, When
    from devenv.engine.client import Engine


@dataclasses.dataclass(frozen=True)
class ContainerSummary:
    """One entry of the engine's container list. `raw` is that entry as the engine sent it, for
    what formats it under docker's own field names (`ps --format`, `port`)."""

    id: str
    name: str
    service: str
    number: str
    oneoff: bool
    state: str
    image: str
    labels: Mapping[str, str]
    raw: Mapping[str, Any] = dataclasses.field(repr=False, compare=False)

    @classmethod
    def from_list(cls, entry: Mapping[str, Any]) -> ContainerSummary:
        labels = dict(entry.get("Labels") or {})
        return cls(
            id=str(entry.get("Id") or ""), name=str((entry.get("Names") or ["/?"])[0]).lstrip("/"),
            service=labels.get(SERVICE_LABEL, ""), number=labels.get(CONTAINER_NUMBER_LABEL, ""),
            oneoff=labels.get(ONEOFF_LABEL) == "True", state=str(entry.get("State") or ""),
            image=str(entry.get("Image") or ""), labels=labels, raw=entry,
        )


@dataclasses.dataclass(frozen=True)
class ContainerState:
    """What `logs -f` reads of a container that died: whether the engine restarts it, and its code."""

    running: bool
    restarting: bool
    exit_code: int


@dataclasses.dataclass(frozen=True)
class ImageDetails:
    """What `images` shows of an image (from `GET /images/{name}/json`)."""

    id: str
    size: int
    created: str
    last_tag_time: str
    platform: str

    @classmethod
    def from_inspect(cls, image: Mapping[str, Any]) -> ImageDetails:
        platform = "/".join(str(p) for p in (image.get("Os"), image.get("Architecture"), image.get("Variant")) if p)
        return cls(
            id=str(image.get("Id") or ""), size=int(image.get("Size") or 0), created=str(image.get("Created") or ""),
            last_tag_time=str((image.get("Metadata") or {}).get("LastTagTime") or ""), platform=platform,
        )


def project_summaries(client: Engine, project: str, *, all: bool = True) -> list[ContainerSummary]:
    """The project's containers (running ones only unless `all`), one list call."""
    return [ContainerSummary.from_list(c) for c in client.api.containers(all=all, filters=project_filter(project))]


def container_summary(client: Engine, container_id: str) -> ContainerSummary | None:
    """The list entry of one container (its published ports as `ps` shows them), None once gone."""
    found = client.api.containers(all=True, filters={"id": [container_id]})
    return ContainerSummary.from_list(found[0]) if found else None


def container_state(client: Engine, container: str) -> ContainerState | None:
    """The container's state, None when the engine cannot say (gone, unreachable)."""
    try:
        state = client.api.inspect_container(container).get("State") or {}
    except Exception:
        return None
    return ContainerState(bool(state.get("Running")), bool(state.get("Restarting")), int(state.get("ExitCode") or 0))


def container_logs(client: Engine, container: str, *, follow: bool, tail: int | str = "all", timestamps: bool = False,
                   since: When = None, until: When = None) -> Iterator[bytes]:
    """The container's output (stdout and stderr), as it comes."""
    return client.api.logs(container, follow=follow, tail=tail, timestamps=timestamps, since=since, until=until)


def project_events(client: Engine, project: str, actions: Iterable[str] = (), *, since: When = None,
                   until: When = None) -> Events:
    """The project's container events (only `actions` when given), from now or from `since`."""
    filters: dict[str, Any] = {**project_filter(project), "type": ["container"]}
    if actions:
        filters["event"] = list(actions)
    return client.api.events(filters=filters, since=since, until=until)


def image_details(client: Engine, reference: str) -> ImageDetails:
    return ImageDetails.from_inspect(client.api.inspect_image(reference))


def image_present(client: Engine, reference: str) -> bool:
    from devenv.engine.api import is_not_found

    try:
        client.api.inspect_image(reference)
    except Exception as exc:
        if is_not_found(exc):
            return False
        raise
    return True


def container_inspect(client: Engine, container: str) -> dict[str, Any] | None:
    """The container's inspect document (State with StartedAt and Health...), None once gone."""
    try:
        return dict(client.api.inspect_container(container))
    except Exception:
        return None
