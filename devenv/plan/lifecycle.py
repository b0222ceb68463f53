"""`plan_down`, `plan_stop`, `plan_start`, `plan_restart`: acting on the containers that exist.

Only the project's own objects are ever touched: containers carrying its project label, networks
and volumes of its model that carry its project label. Dependents stop before their dependencies,
independent services in parallel; starts wait for their dependencies as in `up`, and `start` and
`restart` end, as `up` does, once what they started is ready (healthy where there is a
healthcheck, else up for a moment without restarting).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from devenv.errors import DevenvError
from devenv.manifest.checks import healthcheck_disabled
from devenv.model import Project
from devenv.plan import naming
from devenv.plan.actions import Op, Plan, PlanBuilder
from devenv.plan.errors import DependencyError
from devenv.plan.graph import ServiceGraph
from devenv.plan.observed import ObservedContainer, ObservedState, check_observed
from devenv.plan.options import DownOptions, RestartOptions, StartOptions, StopOptions
from devenv.plan.payloads import Gate
from devenv.plan.shipping import is_shipped_volume
from devenv.plan.steps import Steps

_ANONYMOUS = re.compile(r"[0-9a-f]{64}")


def _graph(project: Project) -> ServiceGraph:
    """Every service, profiles or not; a broken dependency only loses its edge (down must always work)."""
    try:
        return ServiceGraph.build(project, enable=project.disabled_services)
    except DependencyError:
        return ServiceGraph(tuple(sorted({*project.services, *project.disabled_services})), ())


def _known(project: Project) -> set[str]:
    return set(project.services) | set(project.disabled_services)


def _by_name(containers: Iterable[ObservedContainer]) -> list[ObservedContainer]:
    return sorted(containers, key=lambda c: (c.service, c.number, c.name))


def plan_down(project: Project, observed: ObservedState, options: DownOptions = DownOptions()) -> Plan:
    """Stop and remove the project's containers, then its networks, and its volumes if asked."""
    check_observed(project, observed)
    b = PlanBuilder("down", project.name)
    graph = _graph(project)
    steps = Steps(b, project, graph, timeout=options.timeout, scope=())
    mine = observed.project_containers()
    known = _known(project)
    orphans = [c for c in mine if c.service not in known]
    targets = [c for c in mine if c.service in known] + (orphans if options.remove_orphans else [])
    if orphans and not options.remove_orphans:
        names = ", ".join(sorted(c.name for c in orphans))
        b.warnings.append(f"found orphan containers ({names}) for this project; run with --remove-orphans to remove them")
    removed: list[str] = []
    anonymous: dict[str, list[str]] = {}
    for c in _by_name(targets):
        why = "down" if c.service in known else f"orphan: service {c.service} is not in the project"
        removed.append(steps.remove(c, why, after=[steps.stop(c, why)]))
        for mount in c.mounts:
            if mount.type == "volume" and _ANONYMOUS.fullmatch(mount.name):
                anonymous.setdefault(mount.name, []).append(removed[-1])
    gone = {c.id for c in targets}
    kept = [c for c in mine if c.id not in gone]
    for key in sorted(project.networks):
        cfg = project.networks[key]
        name = naming.network_name(project.name, key, cfg)
        found = observed.network(name)
        if cfg.get("external") or found is None:
            continue
        if found.project != project.name:
            b.warnings.append(f"network {name} was not created for project {project.name}; left alone")
            continue
        users = sorted((set(found.containers) - gone) | {c.id for c in kept if name in c.networks})
        if users:
            b.warnings.append(f"network {name} is still used by {len(users)} other container(s); left in place")
            continue
        b.add(Op.REMOVE_NETWORK, name, "down", after=removed)
    for copy in observed.volumes:  # copies of local files for a remote engine: not the user's data
        if copy.project == project.name and is_shipped_volume(copy.labels):
            b.add(Op.REMOVE_VOLUME, copy.name, "down: files shipped to the engine", after=removed)
    if options.volumes:
        for key in sorted(project.volumes):
            cfg = project.volumes[key]
            name = naming.volume_name(project.name, key, cfg)
            volume = observed.volume(name)
            if cfg.get("external") or volume is None:
                continue
            if volume.project != project.name:
                b.warnings.append(f"volume {name} was not created for project {project.name}; left alone")
                continue
            b.add(Op.REMOVE_VOLUME, name, "down --volumes", after=removed)
        # Anonymous volumes are removed explicitly, not with `remove_container`'s volumes=true: the
        # engine would skip those a recreated container reused (they were mounted by name).
        users_left = {m.name for c in kept for m in c.mounts}
        for name in sorted(anonymous):
            if name not in users_left:
                b.add(Op.REMOVE_VOLUME, name, "down --volumes: anonymous volume", after=anonymous[name])
    steps.finish()
    return b.build()


def _selected(project: Project, graph: ServiceGraph, services: tuple[str, ...]) -> set[str]:
    for name in services:
        if name not in graph.services:
            raise DevenvError(f"no such service: {name}")
    return set(services or project.services)


def plan_stop(project: Project, observed: ObservedState, options: StopOptions = StopOptions()) -> Plan:
    """Stop the running containers of the services (all when none is named), dependents first."""
    check_observed(project, observed)
    b = PlanBuilder("stop", project.name)
    graph = _graph(project)
    chosen = _selected(project, graph, options.services)
    steps = Steps(b, project, graph, timeout=options.timeout, scope=())
    for c in _by_name(observed.project_containers()):
        if c.service in chosen and not c.oneoff:
            steps.stop(c, "stop")
    steps.finish()
    return b.build()


def _starts(
    project: Project, observed: ObservedState, graph: ServiceGraph, chosen: set[str], steps: Steps, stops: dict[str, str | None], why: str
) -> None:
    by_service: dict[str, list[ObservedContainer]] = {}
    for c in observed.project_containers():
        if not c.oneoff:
            by_service.setdefault(c.service, []).append(c)
    for name in graph.order():
        containers = sorted(by_service.get(name, []), key=lambda c: c.number)
        steps.of(name).names = {c.number: c.name for c in containers}
        steps.of(name).ids = {c.number: c.id for c in containers if c.id}
        if name not in chosen:
            continue
        if not containers and project.services.get(name) and project.services[name].scale > 0:
            raise DevenvError(f"service {name} has no container to start; run `devenv up` first")
        for c in containers:
            if c.id in stops or c.state in ("created", "exited"):
                steps.start(name, c.number, c.name, why, after=[stops.get(c.id)], container=c.id)


def plan_start(project: Project, observed: ObservedState, options: StartOptions = StartOptions()) -> Plan:
    """Start the stopped containers of the services, dependencies' conditions honoured."""
    check_observed(project, observed)
    b = PlanBuilder("start", project.name)
    graph = _graph(project)
    chosen = _selected(project, graph, options.services)
    steps = Steps(b, project, graph, timeout=None, scope=chosen)
    _starts(project, observed, graph, chosen, steps, {}, "start")
    if options.wait:
        _wait_ready(project, steps, chosen)
    steps.finish()
    _name_ready_gates(b, steps, "start")
    return b.build()


def plan_restart(project: Project, observed: ObservedState, options: RestartOptions = RestartOptions()) -> Plan:
    """Stop (dependents first) then start (dependencies first) the containers of the services."""
    check_observed(project, observed)
    b = PlanBuilder("restart", project.name)
    graph = _graph(project)
    chosen = _selected(project, graph, options.services)
    steps = Steps(b, project, graph, timeout=options.timeout, scope=chosen)
    stops: dict[str, str | None] = {}
    for c in _by_name(observed.project_containers()):
        if c.service in chosen and not c.oneoff:
            stops[c.id] = steps.stop(c, "restart")
    _starts(project, observed, graph, chosen, steps, stops, "restart")
    if options.wait:
        _wait_ready(project, steps, chosen)
    steps.finish()
    _name_ready_gates(b, steps, "restart")
    return b.build()


READY = "--wait"  # the dependent that marks a gate as "ready" (running for a moment, or healthy), as `up` has it


def _wait_ready(project: Project, steps: Steps, chosen: set[str]) -> None:
    """A readiness gate on each container this plan starts: healthy when the file gives the service
    a healthcheck, else running without restarting for a moment (healthy if its image has one)."""
    for name in sorted(chosen):
        service = project.services.get(name) or project.disabled_services.get(name)
        config = service.config if service else {}
        tested = bool((config.get("healthcheck") or {}).get("test")) and not healthcheck_disabled(config)
        op = Op.WAIT_HEALTHY if tested else Op.WAIT_RUNNING
        for number in sorted(steps.of(name).started):
            steps.gate(op, name, number, READY)


def _name_ready_gates(b: PlanBuilder, steps: Steps, verb: str) -> None:
    """`start`/`restart` has no --wait flag: say what the readiness gates are for."""
    for id in b.ids():
        action = b.get(id)
        if action.op not in (Op.WAIT_HEALTHY, Op.WAIT_RUNNING):
            continue
        assert isinstance(action.payload, Gate)
        dependents = action.payload.dependents
        if READY not in dependents:
            continue
        word = "healthy" if action.op is Op.WAIT_HEALTHY else "ready"
        reason = f"{verb} returns once {action.service} is {word}"
        others = [d for d in dependents if d != READY]
        if others:
            reason = f"{', '.join(others)} need{'s' if len(others) == 1 else ''} {action.service} {word}; " + reason
        b.update(id, reason=reason)
