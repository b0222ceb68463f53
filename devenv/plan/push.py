"""What `devenv push` sends where, and what it records in the lock (pure).

Each service with `build:` (and each `image:` service named on the command line) is pushed as
`REGISTRY/<repository>:<tag>`, REGISTRY being the environment's `registry`; an image that already
names a registry host (`127.0.0.1:5000/team/web:1.2`) is pushed as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from devenv.errors import UsageError
from devenv.lockfile import LockFile, ServiceLock
from devenv.model import Project
from devenv.plan.naming import image_name


@dataclasses.dataclass(frozen=True)
class PushTarget:
    service: str
    source: str  # the local image's reference (what `up` and `build` name it)
    target: str  # `REGISTRY/<repository>:<tag>`: what is pushed
    registry: str  # the registry host (`127.0.0.1:5000`), for its credentials
    build: bool  # the service builds its image (built first when missing)
    services: tuple[str, ...] = ()  # every service pushed by this target (they share the image)

    @property
    def repository(self) -> str:
        return split_tag(self.target)[0]

    @property
    def tag(self) -> str:
        return split_tag(self.target)[1]


@dataclasses.dataclass(frozen=True)
class Pushed:
    """One push's outcome, as the lock records it."""

    service: str
    image: str  # the service's image reference (the lock entry's `image` when it has none)
    pushed: str  # `repo:tag` pushed
    digest: str  # the pushed manifest's digest
    id: str  # the image ID


def split_tag(reference: str) -> tuple[str, str]:
    """`repo[:tag]` -> (repo, tag), `latest` when none (a port in the host is no tag)."""
    name, _, last = reference.rpartition("/")
    if ":" in last:
        repo_last, _, tag = last.partition(":")
        return (f"{name}/{repo_last}" if name else repo_last), tag
    return reference, "latest"


def registry_host(reference: str) -> str | None:
    """The registry host a reference names (`127.0.0.1:5000/x` -> `127.0.0.1:5000`), None for none,
    by Docker's rule: a first component with a `.` or `:`, or `localhost`."""
    first, slash, _ = reference.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def push_targets(project: Project, services: Iterable[str], registry: str | None, environment: str | None = None) -> list[PushTarget]:
    """The pushes, in service order; one per target when services share an image. Raises
    UsageError naming the service when there is nowhere to push it."""
    named = tuple(services)
    out: dict[str, PushTarget] = {}
    for name in sorted(project.services):
        service = project.services[name]
        if named and name not in named:
            continue
        if service.build is None and not (named and service.image):
            continue
        source = image_name(project.name, service)
        if "@" in source:
            raise UsageError(f"{name}: cannot push {source}: it names a digest; name a tag in image:")
        host = registry_host(source)
        if host is not None:
            repository, tag = split_tag(source)
        elif registry:
            registry = registry.rstrip("/")
            repository, tag = split_tag(f"{registry}/{source}")
            host = registry.partition("/")[0]
        else:
            raise UsageError(
                f"{name}: no registry to push to: set x-devenv.environments.{environment or 'NAME'}.registry "
                "or name a registry in image:"
            )
        target = f"{repository}:{tag}"
        if target in out:
            out[target] = dataclasses.replace(out[target], services=(*out[target].services, name))
            continue
        out[target] = PushTarget(name, source, target, host, service.build is not None, (name,))
    return list(out.values())


def record(lock: LockFile | None, project: str, environment: str | None, pushed: Iterable[Pushed]) -> LockFile:
    """The lock with each pushed service's `pushed`, `digest` and `id` set, its other fields kept;
    a missing entry (or file) is created with {image, pushed, digest, id}."""
    services: dict[str, ServiceLock] = dict(lock.services) if lock is not None else {}
    for p in pushed:
        entry = services.get(p.service)
        if entry is None:
            services[p.service] = ServiceLock(image=p.image, pushed=p.pushed, digest=p.digest, id=p.id)
        else:
            services[p.service] = dataclasses.replace(entry, pushed=p.pushed, digest=p.digest, id=p.id)
    if lock is None:
        return LockFile(project, environment, services)
    return dataclasses.replace(lock, services=services)
