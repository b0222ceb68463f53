"""What the engine layer reads back about a project, as plain frozen data.

The `from_*` constructors are pure functions of the Engine API's JSON (list and inspect shapes);
the engine layer does the calls and hands the dicts over.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from devenv.plan import confighash, naming

STATES = ("created", "running", "paused", "restarting", "removing", "exited", "dead")
HEALTH = ("none", "starting", "healthy", "unhealthy")



def _empty() -> Any:
    return dataclasses.field(default_factory=lambda: MappingProxyType({}))


def _labels(value: Mapping[str, Any] | None) -> Mapping[str, str]:
    return MappingProxyType({str(k): "" if v is None else str(v) for k, v in (value or {}).items()})


def _is_inspect(data: Mapping[str, Any]) -> bool:
    """Inspect JSON has a `Config` and a `State` object; list JSON has `State` as a string."""
    return "Config" in data or isinstance(data.get("State"), Mapping)


def _name(value: str | None) -> str:
    return (value or "").lstrip("/")


@dataclasses.dataclass(frozen=True)
class ObservedMount:
    type: str  # bind | volume | tmpfs | ...
    name: str  # volume name ("" for binds)
    source: str
    destination: str
    read_write: bool = True

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> ObservedMount:
        return cls(
            type=str(data.get("Type") or ""),
            name=str(data.get("Name") or ""),
            source=str(data.get("Source") or ""),
            destination=str(data.get("Destination") or ""),
            read_write=bool(data.get("RW", True)),
        )


@dataclasses.dataclass(frozen=True)
class ObservedContainer:
    id: str
    name: str
    project: str
    service: str
    number: int  # 0 when the label is missing or malformed
    oneoff: bool
    state: str  # created | running | paused | restarting | removing | exited | dead
    health: str = "none"  # none | starting | healthy | unhealthy
    exit_code: int | None = None
    labels: Mapping[str, str] = _empty()
    image_id: str = ""
    networks: Mapping[str, str] = _empty()  # engine network name -> network ID
    mounts: tuple[ObservedMount, ...] = ()

    @property
    def config_hash(self) -> str:
        return self.labels.get(naming.CONFIG_HASH_LABEL, "")

    @property
    def config_digest(self) -> Mapping[str, str]:
        """The per-field digests devenv stored ({} on a container devenv did not create)."""
        return confighash.parse_digest_label(self.labels.get(naming.CONFIG_DIGEST_LABEL))

    @property
    def is_running(self) -> bool:
        return self.state in ("running", "restarting", "paused")

    def anonymous_volumes(self, named: Iterable[str] = ()) -> dict[str, str]:
        """destination -> volume name of the volume mounts whose volume is not one of `named`."""
        named = set(named)
        return {m.destination: m.name for m in self.mounts if m.type == "volume" and m.name and m.name not in named}

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ObservedContainer:
        """From `GET /containers/{id}/json`."""
        config = data.get("Config") or {}
        state = data.get("State") or {}
        health = (state.get("Health") or {}).get("Status") or "none"
        status = state.get("Status") or ("running" if state.get("Running") else "created")
        exit_code = state.get("ExitCode")
        return cls._make(
            id=data.get("Id", ""),
            name=_name(data.get("Name")),
            labels=config.get("Labels"),
            state=status,
            health=health,
            exit_code=None if status in ("created", "running") or exit_code is None else int(exit_code),
            image_id=data.get("Image") or "",
            networks=((data.get("NetworkSettings") or {}).get("Networks")),
            mounts=data.get("Mounts"),
        )

    @classmethod
    def from_summary(cls, data: Mapping[str, Any]) -> ObservedContainer:
        """From one item of `GET /containers/json?all=1` (health and exit code parsed from `Status`)."""
        status = str(data.get("Status") or "")
        state = str(data.get("State") or "").lower() or "created"
        health = "none"
        if "(healthy)" in status:
            health = "healthy"
        elif "(unhealthy)" in status:
            health = "unhealthy"
        elif "(health: starting)" in status:
            health = "starting"
        exit_code = None
        match = re.match(r"Exited \((-?\d+)\)", status)
        if match:
            exit_code = int(match.group(1))
        names = data.get("Names") or [""]
        return cls._make(
            id=data.get("Id", ""),
            name=_name(names[0]),
            labels=data.get("Labels"),
            state=state,
            health=health,
            exit_code=exit_code,
            image_id=data.get("ImageID") or "",
            networks=((data.get("NetworkSettings") or {}).get("Networks")),
            mounts=data.get("Mounts"),
        )

    @classmethod
    def _make(
        cls, *, id: Any, name: Any, labels: Any, state: Any, health: Any, exit_code: Any, image_id: Any, networks: Any, mounts: Any
    ) -> ObservedContainer:
        labels = _labels(labels)
        try:
            number = int(labels.get(naming.CONTAINER_NUMBER_LABEL, "0"))
        except ValueError:
            number = 0
        return cls(
            id=str(id),
            name=name,
            project=labels.get(naming.PROJECT_LABEL, ""),
            service=labels.get(naming.SERVICE_LABEL, ""),
            number=number,
            oneoff=labels.get(naming.ONEOFF_LABEL) == "True",
            state=state,
            health=health,
            exit_code=exit_code,
            labels=labels,
            image_id=str(image_id),
            networks=MappingProxyType({str(k): str((v or {}).get("NetworkID") or "") for k, v in (networks or {}).items()}),
            mounts=tuple(ObservedMount.from_api(m) for m in mounts or ()),
        )


@dataclasses.dataclass(frozen=True)
class ObservedNetwork:
    id: str
    name: str
    driver: str = "bridge"
    options: Mapping[str, str] = _empty()
    labels: Mapping[str, str] = _empty()
    internal: bool = False
    attachable: bool = False
    enable_ipv6: bool = False
    ipam_driver: str = "default"
    ipam_config: tuple[Mapping[str, Any], ...] = ()  # [{"Subnet", "Gateway", "IPRange", "AuxiliaryAddresses"}]
    ipam_options: Mapping[str, str] = _empty()
    containers: tuple[str, ...] = ()  # IDs of the containers attached (inspect only lists running ones)

    @property
    def project(self) -> str:
        return self.labels.get(naming.PROJECT_LABEL, "")

    @property
    def key(self) -> str:
        return self.labels.get(naming.NETWORK_LABEL, "")

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ObservedNetwork:
        """From `GET /networks/{id}` (or an item of `GET /networks`)."""
        ipam = data.get("IPAM") or {}
        return cls(
            id=str(data.get("Id", "")),
            name=str(data.get("Name", "")),
            driver=str(data.get("Driver") or ""),
            options=_labels(data.get("Options")),
            labels=_labels(data.get("Labels")),
            internal=bool(data.get("Internal")),
            attachable=bool(data.get("Attachable")),
            enable_ipv6=bool(data.get("EnableIPv6")),
            ipam_driver=str(ipam.get("Driver") or "default"),
            ipam_config=tuple(MappingProxyType(dict(c)) for c in ipam.get("Config") or ()),
            ipam_options=_labels(ipam.get("Options")),
            containers=tuple(sorted(data.get("Containers") or {})),
        )


@dataclasses.dataclass(frozen=True)
class ObservedVolume:
    name: str
    driver: str = "local"
    options: Mapping[str, str] = _empty()
    labels: Mapping[str, str] = _empty()

    @property
    def project(self) -> str:
        return self.labels.get(naming.PROJECT_LABEL, "")

    @property
    def key(self) -> str:
        return self.labels.get(naming.VOLUME_LABEL, "")

    @classmethod
    def from_inspect(cls, data: Mapping[str, Any]) -> ObservedVolume:
        """From `GET /volumes/{name}` (or an item of `GET /volumes`)."""
        return cls(
            name=str(data.get("Name", "")),
            driver=str(data.get("Driver") or "local"),
            options=_labels(data.get("Options")),
            labels=_labels(data.get("Labels")),
        )


@dataclasses.dataclass(frozen=True)
class ObservedState:
    """Everything the planner may look at.

    `containers`: the project's containers (listed by the project label; others are ignored anyway).
    `networks`/`volumes`: those carrying the project label plus those the model names (external ones
    included), looked up by name. `images`: image ID by reference, for each reference the model
    names that exists locally, keyed exactly as the model spells it.
    """

    project: str
    containers: tuple[ObservedContainer, ...] = ()
    networks: tuple[ObservedNetwork, ...] = ()
    volumes: tuple[ObservedVolume, ...] = ()
    images: Mapping[str, str] = _empty()

    def project_containers(self) -> tuple[ObservedContainer, ...]:
        """Only this project's containers, whatever the engine layer handed over."""
        return tuple(c for c in self.containers if c.project == self.project)

    def network(self, name: str) -> ObservedNetwork | None:
        for network in self.networks:
            if network.name == name:
                return network
        for network in self.networks:  # an external network may be named by ID
            if network.id and network.id == name:
                return network
        return None

    def volume(self, name: str) -> ObservedVolume | None:
        for volume in self.volumes:
            if volume.name == name:
                return volume
        return None

    def image_id(self, reference: str) -> str | None:
        """The local image's ID; `name` also matches `name:latest` and the reverse."""
        if reference in self.images:
            return self.images[reference]
        last = reference.rsplit("/", 1)[-1]
        if "@" not in reference and ":" not in last:
            return self.images.get(reference + ":latest")
        if reference.endswith(":latest"):
            return self.images.get(reference[: -len(":latest")])
        return None

    @classmethod
    def from_inspect(
        cls,
        project: str,
        containers: Iterable[Mapping[str, Any]] = (),
        networks: Iterable[Mapping[str, Any]] = (),
        volumes: Iterable[Mapping[str, Any]] = (),
        images: Mapping[str, str] | None = None,
    ) -> ObservedState:
        """From container inspect (or list) dicts, network and volume inspect dicts, and image IDs."""
        return cls(
            project=project,
            containers=tuple(
                ObservedContainer.from_inspect(c) if _is_inspect(c) else ObservedContainer.from_summary(c) for c in containers
            ),
            networks=tuple(ObservedNetwork.from_inspect(n) for n in networks),
            volumes=tuple(ObservedVolume.from_inspect(v) for v in volumes),
            images=MappingProxyType(dict(images or {})),
        )


def check_observed(project: Any, observed: ObservedState) -> None:
    """Refuse to plan a project against the observed state of another one."""
    if observed.project != project.name:
        raise ValueError(f"observed state is of project {observed.project!r}, not {project.name!r}")
