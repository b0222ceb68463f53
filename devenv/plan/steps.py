"""Building blocks shared by every planner: container steps, dependency gates, teardown order."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from devenv.model import Project
from devenv.plan import payloads, units
from devenv.plan.actions import Op, PlanBuilder, action_id
from devenv.plan.graph import COMPLETED, HEALTHY, STARTED, ServiceGraph
from devenv.plan.observed import ObservedContainer

_GATE_FOR = {HEALTHY: Op.WAIT_HEALTHY, COMPLETED: Op.WAIT_COMPLETED}
_GATE_PAYLOAD: dict[Op, type[payloads.Gate]] = {
    Op.WAIT_HEALTHY: payloads.WaitHealthy, Op.WAIT_COMPLETED: payloads.WaitCompleted, Op.WAIT_RUNNING: payloads.WaitRunning,
}
_GATE_WORD = {Op.WAIT_HEALTHY: "healthy", Op.WAIT_COMPLETED: "completed successfully", Op.WAIT_RUNNING: "running"}


@dataclasses.dataclass
class ServiceProgress:
    """What the plan does to one service's containers, so that others can order themselves after it."""

    names: dict[int, str] = dataclasses.field(default_factory=dict)  # the containers there will be, by number
    ids: dict[int, str] = dataclasses.field(default_factory=dict)  # number -> ID of an existing container kept
    created: dict[int, str] = dataclasses.field(default_factory=dict)  # number -> create action
    ready: dict[int, list[str]] = dataclasses.field(default_factory=dict)  # number -> create + connects
    started: dict[int, str] = dataclasses.field(default_factory=dict)  # number -> start action
    stops: list[str] = dataclasses.field(default_factory=list)
    removes: list[str] = dataclasses.field(default_factory=list)
    recreated: bool = False  # a container of the service is replaced by this plan


def _handle(container: ObservedContainer) -> str | None:
    """The payload's `container`: an existing container's ID (its name may have changed: `docker rename`)."""
    return container.id or None


class Steps:
    """Adds container actions to a builder and remembers them per service."""

    def __init__(self, builder: PlanBuilder, project: Project, graph: ServiceGraph, *, timeout: int | None, scope: Iterable[str]):
        self.b = builder
        self.project = project
        self.graph = graph
        self.timeout_override = timeout
        self.scope = set(scope)  # the services whose containers starts may wait for
        self.progress: dict[str, ServiceProgress] = {}
        self._gates: dict[str, tuple[str, str, list[str]]] = {}  # gate id -> (condition word, service, dependents)

    def of(self, service: str) -> ServiceProgress:
        return self.progress.setdefault(service, ServiceProgress())

    def stop_timeout(self, service: str) -> int | None:
        """`--timeout`, else the service's stop_grace_period, else None (the container's own StopTimeout)."""
        if self.timeout_override is not None:
            return self.timeout_override
        svc = self.project.services.get(service) or self.project.disabled_services.get(service)
        grace = svc.get("stop_grace_period") if svc else None
        return None if grace is None else units.duration_seconds(grace)

    def stop(self, container: ObservedContainer, reason: str, *, service: str | None = None) -> str | None:
        """Stop the container if it runs (or restarts, or is paused); None when there is nothing to stop."""
        if not container.is_running:
            return None
        service = service or container.service
        id = self.b.add(
            Op.STOP_CONTAINER, container.name, reason, payload=payloads.StopContainer(_handle(container), self.stop_timeout(service)),
            service=service,
        )
        self.of(service).stops.append(id)
        return id

    def remove(
        self, container: ObservedContainer, reason: str, *, after: Iterable[str | None] = (), volumes: bool = False,
        service: str | None = None,
    ) -> str:
        service = service or container.service
        id = self.b.add(
            Op.REMOVE_CONTAINER, container.name, reason, after=[a for a in after if a],
            payload=payloads.RemoveContainer(_handle(container), volumes), service=service,
        )
        self.of(service).removes.append(id)
        return id

    def start(
        self, service: str, number: int, name: str, reason: str, *, after: Iterable[str | None] = (), container: str | None = None
    ) -> str:
        """Start a container after `after` and after what its dependencies' conditions require
        (`container`: the ID of an existing one, which the engine is then told, not the name)."""
        id = self.b.add(
            Op.START_CONTAINER, name, reason, after=[a for a in after if a] + self.start_gates(service), service=service,
            payload=payloads.StartContainer(container or None),
        )
        self.of(service).started[number] = id
        return id

    def start_gates(self, service: str) -> list[str]:
        """The actions a start of `service` waits for: dependencies' starts, or their health/completion gates."""
        out: list[str] = []
        for dep in self.graph.dependencies(service):
            if dep.on not in self.scope:
                continue  # --no-deps, or a service this command does not touch: Compose does not wait either
            progress = self.of(dep.on)
            if dep.condition == STARTED:
                out += [progress.started[n] for n in sorted(progress.started)]
                continue
            op = _GATE_FOR[dep.condition]
            for number in sorted(progress.names):
                out.append(self.gate(op, dep.on, number, service, required=dep.required))
        return out

    def gate(self, op: Op, service: str, number: int, dependent: str, *, required: bool = True) -> str:
        """A wait on one container of `service`, shared by all who need it, after its start if planned."""
        progress = self.of(service)
        name = progress.names[number]
        # An optional dependency's gate is its own action: were it shared with a required one (or
        # with `--wait`), its failure would hold back dependents that only wanted to try.
        id = action_id(op, name) + ("" if required else "@optional")
        if id not in self.b:
            self.b.add(
                op, name, after=[progress.started.get(number)],
                payload=_GATE_PAYLOAD[op](container=progress.ids.get(number), service=service, required=required),
                service=service, id=id,
            )
            self._gates[id] = (_GATE_WORD[op], service, [])
        dependents = self._gates[id][2]
        if dependent not in dependents:
            dependents.append(dependent)
        return id

    def finish(self) -> None:
        """Name each gate's dependents in its reason, and order teardowns along the dependency edges."""
        for id, (word, service, dependents) in self._gates.items():
            who = ", ".join(sorted(dependents))
            gate = self.b.get(id).payload
            assert isinstance(gate, payloads.Gate)
            self.b.update(
                id, reason=f"{who} need{'s' if len(dependents) == 1 else ''} {service} {word}",
                payload=dataclasses.replace(gate, dependents=tuple(sorted(dependents))),
            )
        for edge in self.graph.edges:
            dependent, dependency = self.progress.get(edge.service), self.progress.get(edge.on)
            if not dependent or not dependency:
                continue
            for stop in dependency.stops:  # dependents stop first
                self.b.after(stop, *dependent.stops)
            if edge.references:  # a container naming another is removed before it
                for remove in dependency.removes:
                    self.b.after(remove, *dependent.removes)
