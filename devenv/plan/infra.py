"""Networks and volumes for `up`: create what is missing, refuse what drifted, check external ones."""

from __future__ import annotations

from collections.abc import Iterable

from devenv.model import Project, Service
from devenv.plan import naming, payloads
from devenv.plan.actions import Op, PlanBuilder
from devenv.plan.containerspec import service_networks
from devenv.plan.errors import PlanError
from devenv.plan.observed import ObservedState
from devenv.plan.resources import network_create_body, network_drift, volume_create_body, volume_drift
from devenv.plan.support import check_network, check_volume


def used_networks(project: Project, services: Iterable[Service]) -> tuple[str, ...]:
    """The network keys the services attach to, sorted."""
    keys: set[str] = set()
    for service in services:
        if not service.get("network_mode"):
            keys.update(service_networks(project, service))
    return tuple(sorted(keys))


def used_volumes(services: Iterable[Service]) -> tuple[str, ...]:
    """The named volume keys the services mount, sorted."""
    keys = {m["source"] for s in services for m in s.get("volumes") or () if m.get("type") == "volume" and m.get("source")}
    return tuple(sorted(keys))


def plan_networks(b: PlanBuilder, project: Project, observed: ObservedState, keys: Iterable[str]) -> dict[str, str | None]:
    """Network key -> the action that makes it exist (None when it already does)."""
    ready: dict[str, str | None] = {}
    for key in keys:
        check_network(project, key)
        cfg = project.networks[key]
        name = naming.network_name(project.name, key, cfg)
        found = observed.network(name)
        ready[key] = None
        if cfg.get("external"):
            if found is None:
                raise PlanError(f"network {name} is declared as external, but could not be found")
            continue
        body = payloads.CreateNetwork(network_create_body(project, key))
        if found is None:
            ready[key] = b.add(Op.CREATE_NETWORK, name, "missing", payload=body)
            continue
        if found.project != project.name:
            owner = f"for project {found.project}" if found.project else "by devenv or Compose"
            b.warnings.append(f"network {name} exists but was not created {owner}; it is used as is (set external: true to say so)")
            continue
        if found.key and found.key != key:
            raise PlanError(f"network {name} was found but has label {naming.NETWORK_LABEL}={found.key!r} (expected {key!r})")
        drift = network_drift(cfg, found)
        if not drift:
            continue
        users = set(found.containers) | {c.id for c in observed.project_containers() if name in c.networks}
        what = ", ".join(drift)
        if users:
            raise PlanError(
                f"network {name} exists with a different configuration ({what}); run `devenv down` to remove it, then `devenv up`"
            )
        removed = b.add(Op.REMOVE_NETWORK, name, f"recreate: {what} changed")
        ready[key] = b.add(Op.CREATE_NETWORK, name, f"recreate: {what} changed", after=[removed], payload=body)
    return ready


def plan_volumes(b: PlanBuilder, project: Project, observed: ObservedState, keys: Iterable[str]) -> dict[str, str | None]:
    """Volume key -> the action that makes it exist (None when it already does)."""
    ready: dict[str, str | None] = {}
    for key in keys:
        check_volume(project, key)
        cfg = project.volumes[key]
        name = naming.volume_name(project.name, key, cfg)
        found = observed.volume(name)
        ready[key] = None
        if cfg.get("external"):
            if found is None:
                raise PlanError(f"external volume {name} not found")
            continue
        if found is None:
            ready[key] = b.add(Op.CREATE_VOLUME, name, "missing", payload=payloads.CreateVolume(volume_create_body(project, key)))
            continue
        if found.project != project.name:
            owner = f"for project {found.project}" if found.project else "by devenv or Compose"
            b.warnings.append(f"volume {name} exists but was not created {owner}; it is used as is (set external: true to say so)")
            continue
        drift = volume_drift(cfg, found)
        if drift:
            raise PlanError(
                f"volume {name} exists with a different configuration ({', '.join(drift)}); "
                "run `devenv down --volumes` to remove it (its data is lost), then `devenv up`"
            )
    return ready
