"""Which containers `kill`, `rm`, `pause`, `unpause`, `port`, `cp`... act on, and `plan_rm`.

Pure functions of the project model and the observed containers, with Compose's choices: `kill`
signals the running containers (one-offs included; orphans only with --remove-orphans); `rm`
removes the stopped ones that are not one-offs (stopping them first, dependents first, with -s);
a command on one container of a service takes `--index` (else the lowest number, one-offs last).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from devenv.errors import DevenvError, UsageError
from devenv.model import Project
from devenv.plan.actions import Plan, PlanBuilder
from devenv.plan.errors import DependencyError
from devenv.plan.graph import ServiceGraph
from devenv.plan.observed import ObservedContainer, ObservedState, check_observed
from devenv.plan.steps import Steps

STOPPED = ("created", "exited", "dead")


@dataclasses.dataclass(frozen=True)
class RmOptions:
    services: tuple[str, ...] = ()
    stop: bool = False  # -s: stop the running ones first
    volumes: bool = False  # -v: their anonymous volumes too
    timeout: int | None = None


def _order(containers: Iterable[ObservedContainer]) -> list[ObservedContainer]:
    return sorted(containers, key=lambda c: (c.service, c.oneoff, c.number, c.name))


def _known(project: Project) -> set[str]:
    return set(project.services) | set(project.disabled_services)


def _check_services(project: Project, services: tuple[str, ...]) -> None:
    known = _known(project)
    unknown = [s for s in services if s not in known]
    if unknown:
        raise UsageError(f"no such service: {', '.join(unknown)} (services: {', '.join(sorted(known))})")


def of_services(
    project: Project, observed: ObservedState, services: tuple[str, ...] = (), *, oneoff: bool = True, orphans: bool = False
) -> list[ObservedContainer]:
    """The project's containers of these services (all when none is named), in a stable order:
    one-offs only if `oneoff`, containers of services the project does not have only if `orphans`."""
    _check_services(project, services)
    known = _known(project)
    out = []
    for c in observed.project_containers():
        if services and c.service not in services:
            continue
        if c.oneoff and not oneoff:
            continue
        if c.service not in known and not orphans:
            continue
        out.append(c)
    return _order(out)


def kill_targets(
    project: Project, observed: ObservedState, services: tuple[str, ...] = (), remove_orphans: bool = False
) -> list[ObservedContainer]:
    """The running containers `kill` signals."""
    return [c for c in of_services(project, observed, services, orphans=remove_orphans) if c.state in ("running", "restarting", "paused")]


def pause_targets(project: Project, observed: ObservedState, services: tuple[str, ...], *, unpause: bool) -> list[ObservedContainer]:
    """The running containers `pause` freezes, or the paused ones `unpause` thaws."""
    wanted = ("paused",) if unpause else ("running", "restarting")
    return [c for c in of_services(project, observed, services) if c.state in wanted]


def rm_targets(project: Project, observed: ObservedState, options: RmOptions = RmOptions()) -> list[ObservedContainer]:
    """The containers `rm` removes: stopped ones (and running ones with -s), never one-offs."""
    chosen = of_services(project, observed, options.services, oneoff=False)
    return [c for c in chosen if options.stop or c.state in STOPPED]


def plan_rm(project: Project, observed: ObservedState, options: RmOptions = RmOptions()) -> Plan:
    """Remove the `rm_targets`; with -s, stop the running ones first (dependents first)."""
    check_observed(project, observed)
    b = PlanBuilder("rm", project.name)
    try:
        graph = ServiceGraph.build(project, enable=project.disabled_services)
    except DependencyError:
        graph = ServiceGraph(tuple(sorted(_known(project))), ())
    steps = Steps(b, project, graph, timeout=options.timeout, scope=())
    for c in rm_targets(project, observed, options):
        stop = steps.stop(c, "rm --stop") if options.stop else None
        steps.remove(c, "rm", after=[stop], volumes=options.volumes)
    steps.finish()
    return b.build()


def pick(
    project: Project, observed: ObservedState, service: str, index: int | None = None, *, running: bool = True, oneoff: bool = True
) -> ObservedContainer:
    """The one container of `service` a command acts on: number `index`, else the lowest number
    (one-offs last); only running ones if `running`. DevenvError naming what there is otherwise."""
    _check_services(project, (service,))
    candidates = [
        c for c in observed.project_containers()
        if c.service == service and (oneoff or not c.oneoff) and (not running or c.state in ("running", "restarting", "paused"))
    ]
    if index:
        candidates = [c for c in candidates if c.number == index and not c.oneoff]
    if not candidates:
        where = f" container #{index}" if index else ""
        raise DevenvError(f"service {service!r} is not running{where}" if running else f"service {service!r} has no container{where}")
    return sorted(candidates, key=lambda c: (c.oneoff, c.number, c.name))[0]
