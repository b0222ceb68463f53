"""`up --frozen` (pure): the model rewritten from the lock before planning, or one refusal line.

- `image:` services run `repo@digest` (the shape of Compose's `config --lock-image-digests`, the
  tag dropped: the engine records pulls by digest so); the pull path fetches it when missing.
- A built service whose entry was pushed runs `pushed@digest`, its `build:` dropped.
- Any other built service is built from its Dockerfile with every `FROM` base pinned to its
  locked digest (a rewritten `dockerfile_inline`, same context), and only when its build inputs
  hash is the locked one; it is rebuilt unless the local image is the locked ID.
After a pull the image's ID must be the locked one; what the engine must confirm is listed in
`Frozen.checks` for the engine side to verify before anything changes (engine.digests.verify_frozen).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from devenv.errors import DevenvError
from devenv.lockfile import LockFile, ServiceLock
from devenv.model import Project, Service, freeze, thaw
from devenv.plan.locking import BuildFacts, short


class FrozenRefused(DevenvError):
    """`up --frozen` cannot run what the lock pins: one line naming the service and both values."""


@dataclasses.dataclass(frozen=True)
class Check:
    """An image the engine must have (pulling `reference` when `pull`) with the ID `id`."""

    service: str
    reference: str
    id: str | None
    pull: bool  # pinned by digest: pull when missing; else it must already be here


@dataclasses.dataclass(frozen=True)
class BuiltCheck:
    """A built service: rebuilt unless the image `reference` here has the locked ID."""

    service: str
    reference: str
    id: str | None


@dataclasses.dataclass(frozen=True)
class Frozen:
    project: Project
    checks: tuple[Check, ...]
    builds: tuple[BuiltCheck, ...]


def pinned(reference: str, digest: str) -> str:
    """`repo@digest` for `reference` (a tag dropped, an existing digest replaced)."""
    name = reference.partition("@")[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.partition(":")[0]
    return f"{name}@{digest}"


def selected(project: Project, services: Iterable[str], *, no_deps: bool = False) -> list[str]:
    """The services `up` brings up: those named (all when none) and, unless no_deps, their dependencies."""
    names = list(services) or sorted(project.services)
    if no_deps:
        return sorted(set(names))
    todo, seen = list(names), set(names)
    while todo:
        for dep in project.services[todo.pop()].dependencies():
            if dep in project.services and dep not in seen:
                seen.add(dep)
                todo.append(dep)
    return sorted(seen)


def _refuse(service: str, what: str, locked: str | None, now: str | None) -> FrozenRefused:
    return FrozenRefused(
        f"{service}: the lock pins {what} {short(locked)} but the project now gives {short(now)}; run devenv lock --update {service}"
    )


def freeze_service(
    project: Project, service: Service, entry: ServiceLock | None, build: BuildFacts | None, dockerfile: str | None,
    checks: list[Check], builds: list[BuiltCheck], declared: Service | None = None,
) -> Service:
    """`service` pinned from `entry`. `declared`: the service as its environment declares it, when
    `service` carries the laptop's overrides on top (the lock pins the declared configuration)."""
    from devenv.engine.dockerfile import pin_bases
    from devenv.plan import naming
    from devenv.plan.composehash import service_hash

    name = service.name
    if entry is None:
        raise FrozenRefused(f"{name}: no lock entry (run devenv lock)")
    now_hash = service_hash(declared or service)
    if entry.config_hash != now_hash:
        raise _refuse(name, "config", entry.config_hash, now_hash)
    config = thaw(service.config)
    for volume in config.get("volumes") or ():
        if isinstance(volume, dict) and volume.get("type") == "image":
            locked = next((v for v in entry.volumes if v.target == volume.get("target") and v.image == volume.get("source")), None)
            if locked is None:
                raise FrozenRefused(f"{name}: volume image {volume.get('source')} is not in the lock; run devenv lock --update {name}")
            if locked.digest:
                volume["source"] = pinned(locked.image, locked.digest)
            checks.append(Check(name, volume["source"], locked.id, pull=bool(locked.digest)))
    if service.build is None:
        if entry.image != service.image:
            raise FrozenRefused(f"{name}: the lock pins image {entry.image} but the project now gives {service.image}; "
                                f"run devenv lock --update {name}")
        if entry.digest:
            config["image"] = pinned(entry.image, entry.digest)
        checks.append(Check(name, str(config["image"]), entry.id, pull=bool(entry.digest)))
        return Service(name, freeze(config))
    if entry.pushed and entry.digest:
        config["image"] = pinned(entry.pushed, entry.digest)
        config.pop("build", None)
        checks.append(Check(name, config["image"], entry.id, pull=True))
        return Service(name, freeze(config))
    now_inputs = build.inputs if build else None
    if entry.build_inputs != now_inputs:
        raise _refuse(name, "build inputs", entry.build_inputs, now_inputs)
    locked_bases = {(b.stage, b.ref, b.platform): b for b in entry.bases}
    pins: dict[int, str] = {}
    bases = build.bases if build else ()
    indexes = build.stage_indexes if build and build.stage_indexes else tuple(range(len(bases)))
    for index, base in zip(indexes, bases, strict=True):
        locked_base = locked_bases.get((base.stage, base.ref, base.platform))
        if locked_base is None:
            raise FrozenRefused(f"{name}: base {base.ref} (stage {base.stage}) is not in the lock; run devenv lock --update {name}")
        reference = pinned(base.ref, locked_base.digest) if locked_base.digest else base.ref
        if locked_base.digest:
            pins[index] = reference
        checks.append(Check(name, reference, locked_base.id, pull=bool(locked_base.digest)))
    build_config = dict(config["build"])
    if pins and dockerfile is not None:
        build_config["dockerfile_inline"] = pin_bases(dockerfile, pins)
        build_config.pop("dockerfile", None)
    config["build"] = build_config
    builds.append(BuiltCheck(name, naming.image_name(project.name, service), entry.id))
    return Service(name, freeze(config))


def freeze_project(
    project: Project, lock: LockFile, services: Iterable[str], builds: Mapping[str, BuildFacts],
    dockerfiles: Mapping[str, str | None], declared: Project | None = None,
) -> Frozen:
    """The project with `services` pinned from `lock`; FrozenRefused on the first that cannot be.
    `builds` / `dockerfiles`: each built service's facts (inputs hash, bases) and Dockerfile text."""
    checks: list[Check] = []
    built: list[BuiltCheck] = []
    new = dict(project.services)
    for name in services:
        service = project.services[name]
        original = declared.services.get(name) if declared is not None else None
        new[name] = freeze_service(project, service, lock.services.get(name), builds.get(name), dockerfiles.get(name), checks, built,
                                   declared=original)
    return Frozen(dataclasses.replace(project, services=MappingProxyType(new)), tuple(checks), tuple(built))


def force_build(project: Project, names: Iterable[str]) -> Project:
    """`pull_policy: build` for `names` (it is not part of the config hash): up rebuilds them."""
    new: dict[str, Any] = dict(project.services)
    for name in names:
        config = thaw(project.services[name].config)
        config["pull_policy"] = "build"
        new[name] = Service(name, freeze(config))
    return dataclasses.replace(project, services=MappingProxyType(new))
