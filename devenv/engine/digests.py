"""Digests of image references, for `devenv lock`: the local image (ID, repo digests) and, unless
offline, its registry (the index digest, the manifest for the platform that runs here, and that
manifest's config digest, which is the image ID a pull gives).

Lookups run in a thread pool: a 30-service project asks its questions at once. Which references go
to a registry: those with no local image, or whose local image came from or went to a registry (it
has repo digests); a local-only image (built or loaded here, no repo digest) is locked by its ID
alone, so a project of local images needs no registry call. When a registry cannot be reached but
the local image has a repo digest, that digest is used, with one warning line per registry.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import platform as host
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from devenv.errors import DevenvError

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI
    from devenv.engine.client import Engine

MAX_WORKERS = 16
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm/v7", "armv6l": "arm/v6", "i686": "386", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64"}


@dataclasses.dataclass(frozen=True)
class ImageDigest:
    """What is known of one reference for one platform."""

    reference: str
    platform: str | None
    id: str | None = None  # the image ID (the registry's config digest when it answered, else the local one)
    digest: str | None = None  # the index digest (or the single manifest's)
    platform_digest: str | None = None  # the manifest for `platform` (registry only)
    local_id: str | None = None  # the local image's ID, when there is one
    source: str = "none"  # registry | local | none
    problem: str | None = None  # why the registry gave nothing (when it was asked)


def familiar(reference: str) -> str:
    """The repository as the engine's RepoDigests name it (`busybox`, `127.0.0.1:5000/x`)."""
    from devenv.manifest.reference import DEFAULT_DOMAIN, parse

    parsed = parse(reference)
    if parsed.domain == DEFAULT_DOMAIN:
        return parsed.path[len("library/"):] if parsed.path.startswith("library/") else parsed.path
    return parsed.name


def registry_of(reference: str) -> str:
    from devenv.manifest.reference import parse

    return parse(reference).domain


def engine_platform(client: Engine) -> str:
    """The platform the engine runs (`linux/amd64`): the host's for the local socket, else the engine's answer."""
    from devenv.engine.api import LocalAPI

    if isinstance(client.api, LocalAPI):
        return "linux/" + _ARCH.get(host.machine(), host.machine())
    info = client.api.version()
    arch = str(info.get("Arch") or "amd64")
    return f"{info.get('Os') or 'linux'}/{_ARCH.get(arch, arch)}"


def local_image(api: EngineAPI, reference: str) -> dict[str, Any] | None:
    from devenv.engine.api import is_not_found

    try:
        return dict(api.inspect_image(reference))
    except Exception as exc:
        if is_not_found(exc) or "No such image" in str(exc):
            return None
        raise


def repo_digest(image: dict[str, Any] | None, reference: str) -> str | None:
    """The local image's digest in the reference's repository, if it has one."""
    if not image:
        return None
    wanted = familiar(reference)
    for entry in image.get("RepoDigests") or ():
        name, _, digest = str(entry).partition("@")
        if digest and familiar(name) == wanted:
            return digest
    return None


RegistryLookup = Callable[[str, "str | None"], Any]


def _registry_lookup() -> RegistryLookup:
    from devenv.registry.client import resolve_digest

    return resolve_digest


def resolve_one(
    api: EngineAPI, reference: str, platform: str | None, *, offline: bool, registry: RegistryLookup | None = None
) -> ImageDigest:
    image = local_image(api, reference)
    local_id = str(image["Id"]) if image else None
    local_digest = repo_digest(image, reference)
    from devenv.manifest.reference import parse

    parsed = parse(reference)
    base = ImageDigest(reference, platform, id=local_id, local_id=local_id)
    if parsed.digest:
        source = "local" if image else "none"
        return dataclasses.replace(base, digest=parsed.digest, source=source)
    local = dataclasses.replace(base, digest=local_digest, source="local" if image else "none")
    if offline or (image is not None and local_digest is None):
        return local
    try:
        answer = (registry or _registry_lookup())(reference, platform)
    except Exception as exc:  # unreachable, unknown tag, refused: the local image is the fallback
        text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return dataclasses.replace(local, problem=text[:300])
    return dataclasses.replace(
        base, digest=answer.digest, platform_digest=getattr(answer, "platform_digest", None),
        id=getattr(answer, "config_digest", None) or local_id, source="registry",
    )


def resolve_all(
    api: EngineAPI, wanted: Iterable[tuple[str, str | None]], *, offline: bool, warn: Callable[[str], None],
    registry: RegistryLookup | None = None,
) -> dict[tuple[str, str | None], ImageDigest]:
    """(reference, platform) -> ImageDigest, looked up in parallel. A registry that gave nothing
    while a local digest stood in is warned about once per registry."""
    keys = list(dict.fromkeys(wanted))
    if not keys:
        return {}
    workers = min(MAX_WORKERS, len(keys), (os.cpu_count() or 4) * 4)
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(resolve_one, api, key[0], key[1], offline=offline, registry=registry) for key in keys}
        found = {key: future.result() for key, future in futures.items()}
    warned: set[str] = set()
    for key in keys:
        item = found[key]
        registry_name = registry_of(item.reference)
        if item.problem and registry_name not in warned and (item.digest or item.local_id):
            warned.add(registry_name)
            fallback = "using the local repo digests" if item.digest else "locking local image IDs only"
            warn(f"devenv: warning: registry {registry_name} gave no digest for {item.reference} ({item.problem}); {fallback}")
    return found


# ---- the facts `devenv lock` needs, gathered ------------------------------------------------------


def build_facts(service: Any, target_platform: str, build_platform: str, *, inputs: bool = True) -> Any:
    """The build inputs hash (unless `inputs` is False) and the bases of a built service."""
    from devenv import buildinputs
    from devenv.engine import dockerfile
    from devenv.errors import ManifestError
    from devenv.model import thaw
    from devenv.plan.locking import BuildFacts, StageBase

    config = thaw(service.build)
    text = buildinputs.dockerfile_text(config)
    bases: list[tuple[int, StageBase]] = []
    if text is not None:
        args = {str(k): None if v is None else str(v) for k, v in (config.get("args") or {}).items()}
        try:
            found = dockerfile.stages(text.decode("utf-8", "replace"), args, dockerfile.platform_args(target_platform, build_platform))
        except dockerfile.ExpansionError as exc:
            where = "dockerfile_inline" if config.get("dockerfile_inline") else os.path.join(
                str(config.get("context")), str(config.get("dockerfile") or "Dockerfile"))
            raise ManifestError(f"FROM: {exc}", where, exc.line) from None
        bases = [(s.index, StageBase(s.label, s.base, s.platform)) for s in found if s.base]
    return BuildFacts(buildinputs.build_inputs(config) if inputs else None, tuple(b for _, b in bases), tuple(i for i, _ in bases))


def lock_entries(
    client: Engine, project: Any, names: Iterable[str], *, offline: bool, warn: Callable[[str], None],
    registry: RegistryLookup | None = None,
) -> dict[str, Any]:
    """service name -> the ServiceLock `devenv lock` wants for it (digests looked up in parallel)."""
    from devenv.plan import locking, naming

    api = client.api
    here = engine_platform(client)
    services = [project.services[name] for name in names]
    workers = max(1, min(MAX_WORKERS, len(services)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        facts_futures = {
            s.name: pool.submit(build_facts, s, locking.service_platform(s, here), here) for s in services if s.build is not None
        }
        built_futures = {
            s.name: pool.submit(resolve_one, api, naming.image_name(project.name, s), locking.service_platform(s, here), offline=True)
            for s in services if s.build is not None
        }
        facts = {name: future.result() for name, future in facts_futures.items()}
        built = {name: future.result() for name, future in built_futures.items()}
    wanted = [key for s in services for key in locking.references(project, s, here, facts.get(s.name))]
    images = resolve_all(api, wanted, offline=offline, warn=warn, registry=registry)
    for s in services:  # nothing to pin: neither a local image nor an answer from its registry
        for key in locking.references(project, s, here, facts.get(s.name)):
            item = images[key]
            if item.digest is None and item.id is None:
                why = f" ({item.problem})" if item.problem else " (--offline)" if offline else ""
                raise DevenvError(f"cannot lock {s.name}: {key[0]} is not on this engine and its registry gave no digest{why}; "
                                  f"pull it{' or check the registry' if item.problem else ''}, then lock again")
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:  # secret digests are slow by design
        entries = {
            s.name: pool.submit(locking.desired_entry, project, s, here, images, facts.get(s.name), built_image=built.get(s.name))
            for s in services
        }
        return {name: future.result() for name, future in entries.items()}


# ---- up --frozen: what the engine must confirm before anything changes --------------------------


def inspect_all(client: Engine, references: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    api = client.api
    refs = list(dict.fromkeys(references))
    if not refs:
        return {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(refs)))) as pool:
        futures = {ref: pool.submit(local_image, api, ref) for ref in refs}
        return {ref: future.result() for ref, future in futures.items()}


def _pull(api: EngineAPI, reference: str, platform: str | None) -> str | None:
    """Pull `repo@digest`; None when done, else why not (one line)."""
    name, _, digest = reference.partition("@")
    try:
        last = None
        for chunk in api.pull(name, tag=digest, platform=platform):
            if "error" in chunk:
                last = str(chunk.get("error"))
        return last
    except Exception as exc:
        from devenv.engine.api import explanation

        return (explanation(exc) or str(exc)).splitlines()[0][:300]


def verify_frozen(client: Engine, frozen: Any, *, platforms: Mapping[str, str | None], dry_run: bool = False) -> Any:
    """Check (and pull by digest) every image `frozen` pins, then mark for rebuilding the built
    services whose local image is not the locked one. Returns the project to plan; raises
    FrozenRefused naming the service and both values."""
    from devenv.plan.frozen import FrozenRefused, force_build
    from devenv.plan.locking import short

    api = client.api
    checks = list(frozen.checks)
    here = inspect_all(client, [c.reference for c in checks] + [b.reference for b in frozen.builds])

    def confirm(check: Any, image: dict[str, Any] | None) -> None:
        if image is None:
            raise FrozenRefused(f"{check.service}: {check.reference} is not here and the lock has no digest to pull it by "
                                f"(run devenv lock --update {check.service})")
        if check.id and image.get("Id") != check.id:
            raise FrozenRefused(f"{check.service}: the lock pins image ID {short(check.id)} but {check.reference} "
                                f"has {short(image.get('Id'))}")

    missing = []
    for check in checks:  # everything that can be refused without touching the engine first
        image = here.get(check.reference)
        if image is None and check.pull:
            missing.append(check)
        else:
            confirm(check, image)
    if missing and not dry_run:
        refs = {c.reference: c for c in missing}
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, min(MAX_WORKERS, len(refs)))) as pool:
            pulled = {ref: pool.submit(_pull, api, ref, platforms.get(c.service)) for ref, c in refs.items()}
            problems = {ref: future.result() for ref, future in pulled.items()}
        for check in missing:
            problem = problems[check.reference]
            if problem:
                raise FrozenRefused(f"{check.service}: cannot pull {check.reference}: {problem}")
            confirm(check, local_image(api, check.reference))
    rebuild = [b.service for b in frozen.builds if not (b.id and (here.get(b.reference) or {}).get("Id") == b.id)]
    return force_build(frozen.project, rebuild) if rebuild else frozen.project
