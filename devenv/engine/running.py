"""What runs on an engine, as the drift report compares it: the project's containers (found by the
label com.docker.compose.project=NAME) read back into plan.declared's format.

From each service's container (a running one first, then the lowest number; one-off containers
left out) and its image's inspect:
- environment: the container's Env minus the entries the image sets itself, secret-looking keys
  digested with plan.declared's salts (never kept in clear);
- command / entrypoint: null when equal to the image's defaults (as when undeclared);
- ports: HostConfig.PortBindings as `HOST:PUBLISHED:TARGET/PROTO` (no host: 0.0.0.0);
- volumes: the mounts, named volumes by their key in the project, leaving out the image's own
  anonymous VOLUMEs and the files of secrets and configs;
- healthcheck: null when the image's, durations as Compose prints them;
- resources: memory, CPUs, PIDs... under plan.drift's names;
- image: the reference the container was created with, its image ID and RepoDigests.
Secrets' contents, build bases and the limits an engine does not record are unknown here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from devenv.manifest.shortsyntax import format_duration
from devenv.plan import declared
from devenv.plan.drift import ImageFacts, ServiceFacts, Side, normalize_healthcheck
from devenv.plan.naming import CONTAINER_NUMBER_LABEL, ONEOFF_LABEL, PROJECT_LABEL, SERVICE_LABEL

if TYPE_CHECKING:
    from devenv.engine.client import Engine

UNKNOWN = ("secrets", "resources.limits.*", "resources.reservations.*", "build.*")
DEFAULT_SHM_SIZE = 64 * 1024 * 1024
INSPECTS_AT_ONCE = 8
_ANONYMOUS = re.compile(r"[0-9a-f]{64}")


def _environment(service: str, env: list[str] | None, image_env: list[str] | None, hint: Mapping[str, Any]) -> dict[str, Any]:
    own = set(image_env or ())
    values: dict[str, Any] = {}
    inherited: set[str] = set()
    for entry in env or ():
        key, sep, value = entry.partition("=")
        if entry in own:
            if key not in hint:  # the image's own entry, which the other side does not declare (not digested for nothing)
                continue
            inherited.add(key)
        values[key] = value if sep else None
    facts = declared.environment(service, values)
    # the image's own entries count as declared only when the other side declares that very value
    return {k: v for k, v in facts.items() if k not in inherited or hint[k] == v}


def _default(value: Any, image_value: Any, hint: Any) -> Any:
    """The container's Cmd or Entrypoint; None when empty, or when it is the image's and the other
    side does not declare that very value."""
    if not value or (value == image_value and hint != list(value)):
        return None
    return list(value)


def _ports(bindings: Mapping[str, Any] | None) -> list[str]:
    out = []
    for target, binds in (bindings or {}).items():
        for bind in binds or ():
            out.append(f"{bind.get('HostIp') or '0.0.0.0'}:{bind.get('HostPort') or ''}:{target}")
    return sorted(out)


def _volumes(inspect: Mapping[str, Any], image_volumes: Mapping[str, Any] | None, volume_keys: Mapping[str, str],
             file_targets: frozenset[str]) -> list[str]:
    out = set()
    for mount in inspect.get("Mounts") or ():
        kind, target = mount.get("Type"), mount.get("Destination")
        flags = "" if mount.get("RW", True) else ",ro"
        if kind == "bind":
            if target in file_targets or str(target).startswith("/run/secrets/"):
                continue
            out.add(f"bind:{mount.get('Source')}:{target}{flags}")
        elif kind == "volume":
            name = str(mount.get("Name") or "")
            key = volume_keys.get(name)
            if key is None and _ANONYMOUS.fullmatch(name):
                if target in (image_volumes or {}):
                    continue  # the image's own VOLUME, not declared
                key = ""
            out.add(f"volume:{name if key is None else key}:{target}{flags}")
        elif kind == "tmpfs":
            out.add(f"tmpfs::{target}{flags}")
    for mount in (inspect.get("HostConfig") or {}).get("Mounts") or ():
        if mount.get("Type") == "tmpfs":
            out.add(f"tmpfs::{mount.get('Target')}{',ro' if mount.get('ReadOnly') else ''}")
    return sorted(out)


def _healthcheck(health: Mapping[str, Any] | None, image_health: Mapping[str, Any] | None, hint: Any) -> Any:
    if not health:
        return None
    if health == image_health:
        converted = _healthcheck(health, None, None)
        return converted if converted == hint else None
    if list(health.get("Test") or ()) == ["NONE"]:
        return {"disable": True}
    out: dict[str, Any] = {}
    if health.get("Test"):
        out["test"] = list(health["Test"])
    durations = (("Interval", "interval"), ("Timeout", "timeout"), ("StartPeriod", "start_period"), ("StartInterval", "start_interval"))
    for field, key in durations:
        if health.get(field):
            out[key] = format_duration(int(health[field]))  # nanoseconds, as Compose prints them
    if health.get("Retries"):
        out["retries"] = int(health["Retries"])
    return normalize_healthcheck(out)


def _resources(host: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    memory = int(host.get("Memory") or 0)
    if memory:
        out["memory"] = memory
    if host.get("MemoryReservation"):
        out["memory_reservation"] = int(host["MemoryReservation"])
    swap = int(host.get("MemorySwap") or 0)
    if swap and not (memory and swap == 2 * memory):  # the engine's own default: twice the memory
        out["memswap"] = swap
    if host.get("NanoCpus"):
        cpus = int(host["NanoCpus"]) / 1e9
        out["cpus"] = int(cpus) if cpus.is_integer() else cpus
    if host.get("PidsLimit") and int(host["PidsLimit"]) > 0:
        out["pids"] = int(host["PidsLimit"])
    for field, key in (("CpuShares", "cpu_shares"), ("CpuQuota", "cpu_quota")):
        if host.get(field):
            out[key] = int(host[field])
    if host.get("CpusetCpus"):
        out["cpuset"] = str(host["CpusetCpus"])
    if host.get("ShmSize") and int(host["ShmSize"]) != DEFAULT_SHM_SIZE:
        out["shm_size"] = int(host["ShmSize"])
    return dict(sorted(out.items()))


def _pinned_reference(reference: str | None, declared: str | None) -> str | None:
    """A container created from `repo@digest` (`up --frozen`) runs what its declaration names:
    the image the other side declares when it is the same repository (or none, for a pushed
    build); the digest itself is compared with the image facts."""
    if not reference or "@" not in reference:
        return reference
    repository = reference.partition("@")[0]
    if declared is None:
        return None
    from devenv.manifest.reference import parse

    try:
        wanted, running = parse(declared), parse(repository)
    except Exception:  # an unparsable declaration: keep what runs as it is
        return reference
    same = (wanted.registry, wanted.repository) == (running.registry, running.repository)
    return declared if same else reference


def container_facts(
    project: str, inspect: Mapping[str, Any], image: Mapping[str, Any] | None, *,
    volume_keys: Mapping[str, str] | None = None, file_targets: frozenset[str] = frozenset(), hint: Mapping[str, Any] | None = None,
) -> tuple[str, ServiceFacts]:
    """A container's service name and facts, from its inspect and its image's (pure).
    `volume_keys`: engine volume name -> its key in the project; `file_targets`: where the
    service's secrets and configs are mounted (left out of its volumes); `hint`: the other side's
    declared facts of the service: a value equal to the image's default counts as declared when
    the other side declares exactly it (else it reads as undeclared)."""
    hint = hint or {}
    labels = (inspect.get("Config") or {}).get("Labels") or {}
    service = str(labels.get(SERVICE_LABEL) or "")
    config = inspect.get("Config") or {}
    host = inspect.get("HostConfig") or {}
    image_config = (image or {}).get("Config") or {}
    reference = config.get("Image")
    if reference == f"{project}-{service}":  # devenv's and Compose's name for a build-only service
        reference = None
    reference = _pinned_reference(reference, hint.get("image"))
    facts = {
        "image": reference,
        "command": _default(config.get("Cmd"), image_config.get("Cmd"), hint.get("command")),
        "entrypoint": _default(config.get("Entrypoint"), image_config.get("Entrypoint"), hint.get("entrypoint")),
        "environment": _environment(service, config.get("Env"), image_config.get("Env"), hint.get("environment") or {}),
        "ports": _ports(host.get("PortBindings")),
        "volumes": _volumes(inspect, image_config.get("Volumes"), volume_keys or {}, file_targets),
        "healthcheck": _healthcheck(config.get("Healthcheck"), image_config.get("Healthcheck"), hint.get("healthcheck")),
        "resources": _resources(host),
    }
    repo_digests = tuple((image or {}).get("RepoDigests") or ())
    return service, ServiceFacts(facts, ImageFacts(id=inspect.get("Image"), repo_digests=repo_digests))


def _pick(containers: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Service -> its container: a running one first, then the lowest number."""
    chosen: dict[str, dict[str, Any]] = {}

    def rank(c: dict[str, Any]) -> tuple[int, int]:
        labels = c.get("Labels") or {}
        try:
            number = int(labels.get(CONTAINER_NUMBER_LABEL) or 0)
        except ValueError:
            number = 0
        return (0 if c.get("State") == "running" else 1, number)

    for container in sorted(containers, key=rank):
        labels = container.get("Labels") or {}
        if labels.get(ONEOFF_LABEL) == "True" or not labels.get(SERVICE_LABEL):
            continue
        chosen.setdefault(labels[SERVICE_LABEL], container)
    return chosen


def running_side(
    engine: Engine, project: str, label: str, *, volume_keys: Mapping[str, str] | None = None,
    file_targets: Mapping[str, frozenset[str]] | None = None, hints: Mapping[str, Mapping[str, Any] | None] | None = None,
) -> Side:
    """The project's containers on `engine` (a client.Engine) as a drift Side (`hints`: the other
    side's declared facts per service, see container_facts)."""
    from concurrent.futures import ThreadPoolExecutor

    from devenv.engine.api import is_not_found

    api = engine.api
    containers = api.containers(all=True, filters={"label": [f"{PROJECT_LABEL}={project}"]})
    chosen = sorted(_pick(containers).items())

    def image_of(image_id: str) -> Any:
        try:
            return api.inspect_image(image_id)
        except Exception as exc:
            if not is_not_found(exc):
                raise
            return None

    # the engine answers inspects one by one slowly when busy: ask for them all at once
    with ThreadPoolExecutor(max_workers=INSPECTS_AT_ONCE) as pool:
        inspects = list(pool.map(lambda item: api.inspect_container(item[1]["Id"]), chosen))
        image_ids = sorted({str(i.get("Image") or "") for i in inspects})
        images = dict(zip(image_ids, pool.map(image_of, image_ids), strict=True))
    services: dict[str, ServiceFacts] = {}
    for (service, _container), inspect in zip(chosen, inspects, strict=True):
        _, facts = container_facts(project, inspect, images[str(inspect.get("Image") or "")], volume_keys=volume_keys,
                                   file_targets=(file_targets or {}).get(service, frozenset()), hint=(hints or {}).get(service))
        services[service] = facts
    notes: tuple[str, ...] = (f"{label}: secrets' contents and build bases are not known there: not compared",)
    if not services:
        notes += (f"{label}: no container of project {project} there",)
    return Side(label, services, unknown=UNKNOWN, notes=notes)
