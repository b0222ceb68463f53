"""Typed action payloads: one frozen dataclass per operation, what its one Engine API call needs.

`to_dict()` is the payload as `--format json` shows it (the shape the plan's JSON always had);
optional fields that are unset are left out, as they were.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from devenv.model import freeze, thaw

if TYPE_CHECKING:
    from devenv.plan.containerspec import ContainerSpec
    from devenv.plan.fileobjects import InjectedFile


def _frozen(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return freeze(dict(value or {}))


@dataclasses.dataclass(frozen=True)
class Payload:
    """Base: no fields. `to_dict` lists the fields; `container` is left out when unset."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "container" and value is None:
                continue
            out[field.name] = _jsonable(value)
        return out


def _jsonable(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return thaw(value)


@dataclasses.dataclass(frozen=True)
class OnContainer(Payload):
    """An action on an existing container: `container` is its ID when the plan knows it (its name may
    have changed since: `docker rename`), else None and the engine is told the target's name."""

    container: str | None = None


@dataclasses.dataclass(frozen=True)
class CreateNetwork(Payload):
    body: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", _frozen(self.body))


@dataclasses.dataclass(frozen=True)
class CreateVolume(Payload):
    body: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", _frozen(self.body))


@dataclasses.dataclass(frozen=True)
class PullImage(Payload):
    image: str
    platform: str | None = None


@dataclasses.dataclass(frozen=True)
class BuildImage(Payload):
    """`build`: the canonical build mapping with Compose's image labels; `secrets`: the project-level
    definitions of the secrets it names (an environment one carries its value as `resolved`: never shown)."""

    image: str
    service: str
    build: Mapping[str, Any]
    platform: str | None = None
    secrets: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "build", _frozen(self.build))
        object.__setattr__(self, "secrets", _frozen(self.secrets))

    @property
    def platforms(self) -> tuple[str, ...]:
        """What the build is for: build.platforms, else the service's platform, else the engine's (empty)."""
        listed = tuple(str(p) for p in self.build.get("platforms") or ())
        return listed or ((self.platform,) if self.platform else ())

    def to_dict(self) -> dict[str, Any]:
        secrets = {k: {f: v for f, v in thaw(d).items() if f != "resolved"} for k, d in self.secrets.items()}  # never shown
        return {"image": self.image, "platform": self.platform, "service": self.service, "build": thaw(self.build), "secrets": secrets}


@dataclasses.dataclass(frozen=True)
class CreateContainer(Payload):
    """When `image_pending`, the executor calls `spec.with_image_id(<ID of the pulled/built image>)` first."""

    spec: ContainerSpec
    image_pending: bool = False


@dataclasses.dataclass(frozen=True)
class ConnectNetwork(Payload):
    network: str
    body: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        object.__setattr__(self, "body", _frozen(self.body))


@dataclasses.dataclass(frozen=True)
class CopyFiles(Payload):
    """Secrets and configs given as content; `to_dict` shows their paths, never their content."""

    files: tuple[InjectedFile, ...] = ()


@dataclasses.dataclass(frozen=True)
class StartContainer(OnContainer):
    pass


@dataclasses.dataclass(frozen=True)
class UnpauseContainer(OnContainer):
    pass


@dataclasses.dataclass(frozen=True)
class StopContainer(OnContainer):
    """`timeout`: seconds before SIGKILL; None lets the engine use the container's own StopTimeout (10s)."""

    timeout: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"timeout": self.timeout, **({"container": self.container} if self.container else {})}


@dataclasses.dataclass(frozen=True)
class RemoveContainer(OnContainer):
    volumes: bool = False  # its anonymous volumes too

    def to_dict(self) -> dict[str, Any]:
        return {"volumes": self.volumes, **({"container": self.container} if self.container else {})}


@dataclasses.dataclass(frozen=True)
class RemoveNetwork(Payload):
    pass


@dataclasses.dataclass(frozen=True)
class RemoveVolume(Payload):
    pass


@dataclasses.dataclass(frozen=True)
class Gate(OnContainer):
    """A wait on one container of `service`. `dependents`: the services that wait for it ("--wait":
    the command itself); `required`: False for an optional dependency (its failure is not one)."""

    service: str = ""
    required: bool = True
    dependents: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"service": self.service, "required": self.required}
        if self.container:
            out["container"] = self.container
        if self.dependents:
            out["dependents"] = list(self.dependents)
        return out


@dataclasses.dataclass(frozen=True)
class WaitHealthy(Gate):
    pass


@dataclasses.dataclass(frozen=True)
class WaitCompleted(Gate):
    pass


@dataclasses.dataclass(frozen=True)
class WaitRunning(Gate):
    pass


def container_handle(payload: Payload, target: str) -> str:
    """What the engine is told to act on: the existing container's ID when known, else `target`."""
    return (payload.container if isinstance(payload, OnContainer) else None) or target
