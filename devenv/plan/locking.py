"""`devenv lock` planned (pure): the entry each service should have, and how the lock differs.

The engine side gathers the facts (digests of references, build inputs hashes, the Dockerfiles'
stages); this module turns them into `lockfile.ServiceLock` entries and compares them with a lock:
each stale entry with one reason line (`web: config changed`, `db: tag x:1 moved: locked ..., now
...`). A built image's own ID changes with every rebuild, so it is recorded but never compared;
what pins a built service is its inputs hash and its bases (and, once pushed, its digest).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from devenv.lockfile import Base, ImageVolume, LockFile, ServiceLock
from devenv.model import Project, Service, thaw
from devenv.plan import naming

Key = tuple[str, "str | None"]  # (reference, platform)


class Digests(Protocol):
    """What is known of one reference (engine.digests.ImageDigest has these)."""

    @property
    def id(self) -> str | None: ...
    @property
    def digest(self) -> str | None: ...
    @property
    def platform_digest(self) -> str | None: ...


@dataclasses.dataclass(frozen=True)
class StageBase:
    """A `FROM` with a base image (engine.dockerfile.Stage reduced to what the lock keeps)."""

    stage: str
    ref: str
    platform: str | None = None


@dataclasses.dataclass(frozen=True)
class BuildFacts:
    inputs: str | None  # buildinputs.build_inputs, None when not computed (cheap checks)
    bases: tuple[StageBase, ...] = ()
    stage_indexes: tuple[int, ...] = ()  # the FROM index of each base (stages without a base are skipped)


@dataclasses.dataclass(frozen=True)
class Stale:
    service: str
    reason: str

    def __str__(self) -> str:
        return f"{self.service}: {self.reason}"


def short(digest: str | None) -> str:
    """`sha256:0123456789ab…` for messages (the lock file keeps the whole digest)."""
    if not digest:
        return "none"
    kind, colon, hexa = digest.rpartition(":")
    return f"{kind}{colon}{hexa[:12]}…" if len(hexa) > 12 else digest


def service_platform(service: Service, engine_platform: str) -> str:
    return str(service.get("platform") or engine_platform)


def image_volumes(service: Service) -> list[tuple[str, str]]:
    """(target, image reference) of the service's image-type volumes, sorted by target."""
    out = []
    for volume in thaw(service.get("volumes") or ()):
        if isinstance(volume, Mapping) and volume.get("type") == "image" and volume.get("source"):
            out.append((str(volume.get("target")), str(volume["source"])))
    return sorted(out)


def references(project: Project, service: Service, engine_platform: str, build: BuildFacts | None) -> list[Key]:
    """The (reference, platform) pairs whose digests the service's entry needs."""
    platform = service_platform(service, engine_platform)
    wanted: list[Key] = []
    if service.build is None and service.image:
        wanted.append((service.image, platform))
    for base in build.bases if build else ():
        wanted.append((base.ref, base.platform or platform))
    for _, image in image_volumes(service):
        wanted.append((image, platform))
    return wanted


def desired_entry(
    project: Project, service: Service, engine_platform: str, images: Mapping[Key, Digests], build: BuildFacts | None,
    *, built_image: Digests | None = None,
) -> ServiceLock:
    """The entry `devenv lock` writes for `service` from the facts gathered."""
    from devenv.plan.composehash import service_hash
    from devenv.plan.declared import service_facts

    platform = service_platform(service, engine_platform)
    volumes = tuple(
        ImageVolume(target, image, _get(images, (image, platform), "digest"), _get(images, (image, platform), "id"))
        for target, image in image_volumes(service)
    )
    common: dict[str, Any] = {
        "platform": platform, "volumes": volumes, "config_hash": service_hash(service),
        "declared": service_facts(project, service),
    }
    if service.build is None:
        found = images.get((service.image or "", platform))
        return ServiceLock(
            image=service.image or "", digest=found.digest if found else None,
            platform_digest=found.platform_digest if found else None, id=found.id if found else None, **common,
        )
    bases = tuple(
        Base(b.stage, b.ref, b.platform, _get(images, (b.ref, b.platform or platform), "digest"),
             _get(images, (b.ref, b.platform or platform), "id"))
        for b in (build.bases if build else ())
    )
    return ServiceLock(
        image=naming.image_name(project.name, service), id=built_image.id if built_image else None,
        build_inputs=build.inputs if build else None, bases=bases, **common,
    )


def _get(images: Mapping[Key, Digests], key: Key, attr: str) -> str | None:
    found = images.get(key)
    return getattr(found, attr) if found is not None else None


def keep_pushed(old: ServiceLock | None, new: ServiceLock) -> ServiceLock:
    """A built entry rewritten with its image ID unchanged keeps what `devenv push` recorded. With
    no local build to compare (`up --frozen` ran the pushed image), unchanged inputs and bases do."""
    if old is None or not old.pushed or (new.build_inputs is None and not new.bases):
        return new
    same_id = bool(old.id) and old.id == new.id
    unbuilt = new.id is None and new.build_inputs == old.build_inputs and new.bases == old.bases
    if same_id or unbuilt:
        return dataclasses.replace(new, pushed=old.pushed, digest=old.digest, platform_digest=old.platform_digest, id=old.id)
    return new


def merged(
    old: LockFile | None, project: Project, entries: Mapping[str, ServiceLock], *, only: Iterable[str] | None = None
) -> LockFile:
    """The lock to write: every service's new entry (`pushed` kept), or with `only`, those services'
    entries refreshed and every other entry as it was."""
    previous = dict(old.services) if old else {}
    if only is None:
        services = {name: keep_pushed(previous.get(name), entry) for name, entry in entries.items()}
    else:
        services = dict(previous)
        for name in only:
            if name in entries:
                services[name] = keep_pushed(previous.get(name), entries[name])
            else:
                services.pop(name, None)  # `--update old` for a service gone from the project: dropped
    return LockFile(project.name, project.env, services)


def _moved(what: str, locked: str | None, now: str | None) -> str:
    return f"{what} moved: locked {short(locked)}, now {short(now)}"


def compare_entry(name: str, locked: ServiceLock, now: ServiceLock) -> list[Stale]:
    """Why `locked` no longer describes the service (`now`); empty when it does. A value `now`
    could not learn (None: offline, registry unreachable, cheap check) is not held against the lock."""
    out: list[Stale] = []

    def stale(reason: str) -> None:
        out.append(Stale(name, reason))

    if now.config_hash and locked.config_hash != now.config_hash:
        stale("config changed")
    built = now.build_inputs is not None or bool(now.bases) or (locked.build_inputs is not None)
    if locked.image != now.image and not (built and locked.pushed):
        stale(f"image changed: locked {locked.image}, now {now.image}")
    elif not built:
        if now.digest and locked.digest and now.digest != locked.digest:
            stale(_moved(f"tag {now.image}", locked.digest, now.digest))
        elif now.id and locked.id and now.id != locked.id and not (now.digest and now.digest == locked.digest):
            stale(f"image {now.image} changed: locked id {short(locked.id)}, now {short(now.id)}")
    if now.platform and locked.platform and now.platform != locked.platform:
        stale(f"platform changed: locked {locked.platform}, now {now.platform}")
    if built:
        if now.build_inputs and locked.build_inputs != now.build_inputs:
            stale("build inputs changed")
        old_bases = {(b.stage, b.ref, b.platform): b for b in locked.bases}
        new_bases = {(b.stage, b.ref, b.platform): b for b in now.bases}
        if now.bases or now.build_inputs:
            if set(old_bases) != set(new_bases):
                stale("bases changed: locked " + (", ".join(b.ref for b in locked.bases) or "none")
                      + ", now " + (", ".join(b.ref for b in now.bases) or "none"))
            for key, base in new_bases.items():
                before = old_bases.get(key)
                if before is None:
                    continue
                what = f"base {base.ref} (stage {base.stage})"
                if base.digest and before.digest and base.digest != before.digest:
                    stale(_moved(what, before.digest, base.digest))
                elif base.id and before.id and base.id != before.id and not (base.digest and base.digest == before.digest):
                    stale(f"{what} changed: locked id {short(before.id)}, now {short(base.id)}")
    old_volumes = {(v.target, v.image): v for v in locked.volumes}
    for volume in now.volumes:
        was = old_volumes.get((volume.target, volume.image))
        what = f"volume image {volume.image} ({volume.target})"
        if was is None:
            stale(f"{what} not locked")
        elif volume.digest and was.digest and volume.digest != was.digest:
            stale(_moved(what, was.digest, volume.digest))
        elif volume.id and was.id and volume.id != was.id and not (volume.digest and volume.digest == was.digest):
            stale(f"{what} changed: locked id {short(was.id)}, now {short(volume.id)}")
    return out


def compare(lock: LockFile, entries: Mapping[str, ServiceLock], project: Project, *, only: Iterable[str] | None = None) -> list[Stale]:
    """Every stale entry of `lock` for the services in `entries` (all of the project's, unless
    `only`), in service order; entries of services gone from the project when checking them all."""
    out: list[Stale] = []
    for name in sorted(entries):
        locked = lock.services.get(name)
        if locked is None:
            out.append(Stale(name, "not locked"))
            continue
        out.extend(compare_entry(name, locked, entries[name]))
    if only is None:
        known = set(project.services) | set(project.disabled_services)
        out.extend(Stale(name, "locked but no longer in the project") for name in sorted(lock.services) if name not in known)
    else:
        out.extend(Stale(name, "locked but no longer in the project") for name in sorted(set(only) - set(entries)) if name in lock.services)
    return out


def quick_stale(
    project: Project, lock: LockFile, services: Iterable[str], local_images: Mapping[str, Mapping[str, Any] | None]
) -> list[Stale]:
    """The cheap check `up` runs (no registry, no context walk): config hashes, and for `image:`
    services whether the local image is the locked one (its ID, or the locked digest among its
    repo digests). `local_images`: reference -> the engine's image inspect (None: missing)."""
    from devenv.plan.composehash import service_hash

    out: list[Stale] = []
    for name in sorted(services):
        service = project.services.get(name)
        locked = lock.services.get(name)
        if service is None:
            continue
        if locked is None:
            out.append(Stale(name, "not locked"))
            continue
        if locked.config_hash != service_hash(service):
            out.append(Stale(name, "config changed"))
        if service.build is None and service.image:
            if locked.image != service.image:
                out.append(Stale(name, f"image changed: locked {locked.image}, now {service.image}"))
                continue
            image = local_images.get(service.image)
            if image is None:
                continue  # missing: a pull will fetch it; up --frozen pins what it gets
            digests = {str(d).partition("@")[2] for d in image.get("RepoDigests") or ()}
            if not (locked.id and image.get("Id") == locked.id) and not (locked.digest and locked.digest in digests):
                out.append(Stale(name, f"local image {service.image} is not the locked one (locked {short(locked.digest or locked.id)})"))
    return out
