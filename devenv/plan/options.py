"""What the user asked for, per command (the CLI's flags), as frozen data."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from devenv.errors import UsageError

PULL_CHOICES = ("always", "missing", "never")
DEFAULT_PUBLISH_HOST = "127.0.0.1"  # where published ports that name no host address bind


def _no_scale() -> Mapping[str, int]:
    return MappingProxyType({})


@dataclasses.dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()  # empty: every enabled service
    no_deps: bool = False
    force_recreate: bool = False  # the named services (all when none is named)
    always_recreate_deps: bool = False  # force-recreate their dependencies too
    no_recreate: bool = False
    remove_orphans: bool = False
    scale: Mapping[str, int] = dataclasses.field(default_factory=_no_scale)  # --scale svc=N
    pull: str | None = None  # always | missing | never; None: each service's pull_policy
    build: bool = False
    no_build: bool = False
    no_start: bool = False
    wait: bool = False  # gate the end of the plan on every container running (or healthy)
    timeout: int | None = None  # stop timeout in seconds; None: each service's stop_grace_period
    renew_anon_volumes: bool = False  # do not reuse the anonymous volumes of replaced containers
    publish_host: str = DEFAULT_PUBLISH_HOST  # host IP of published ports that name none
    env_files: tuple[str, ...] = ()  # the --env-file paths, recorded in a label
    # local path -> its copy on a remote engine (plan/shipping.Shipped), mounted instead of the bind
    shipped: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))

    def __post_init__(self) -> None:
        if self.pull is not None and self.pull not in PULL_CHOICES:
            raise UsageError(f"invalid --pull value {self.pull!r} (expected one of: {', '.join(PULL_CHOICES)})")
        if self.build and self.no_build:
            raise UsageError("--build and --no-build cannot be combined")
        if self.force_recreate and self.no_recreate:
            raise UsageError("--force-recreate and --no-recreate cannot be combined")
        for name, count in self.scale.items():
            if int(count) < 0:
                raise UsageError(f"invalid --scale {name}={count}: must be 0 or more")


@dataclasses.dataclass(frozen=True)
class DownOptions:
    volumes: bool = False  # also remove named volumes (not external) and anonymous ones
    remove_orphans: bool = False
    timeout: int | None = None


@dataclasses.dataclass(frozen=True)
class StopOptions:
    services: tuple[str, ...] = ()
    timeout: int | None = None


@dataclasses.dataclass(frozen=True)
class StartOptions:
    services: tuple[str, ...] = ()
    wait: bool = True  # return once the started containers are ready, as `up` does


@dataclasses.dataclass(frozen=True)
class RestartOptions:
    services: tuple[str, ...] = ()
    timeout: int | None = None
    wait: bool = True  # return once the restarted containers are ready, as `up` does
