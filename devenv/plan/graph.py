"""The dependency graph of a project's services: edges, cycles, selection, order."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from devenv.model import Project, Service
from devenv.plan.errors import DependencyError

STARTED = "service_started"
HEALTHY = "service_healthy"
COMPLETED = "service_completed_successfully"
CONDITIONS = (STARTED, HEALTHY, COMPLETED)

# Kinds of dependency that name the other service's container in the create body: the dependency's
# container must exist before the dependent's is created.
REFERENCE_KINDS = frozenset({"links", "volumes_from", "network_mode", "ipc", "pid"})


@dataclasses.dataclass(frozen=True)
class Dependency:
    """`service` must start after `on`: every way it names it merged into one edge."""

    service: str
    on: str
    kinds: tuple[str, ...]  # depends_on, links, volumes_from, network_mode, ipc, pid
    condition: str = STARTED
    required: bool = True
    restart: bool = False

    @property
    def references(self) -> bool:
        """True when the dependent's create body names the dependency's container."""
        return any(k in REFERENCE_KINDS for k in self.kinds)

    @property
    def shares_namespace(self) -> bool:
        return any(k in ("network_mode", "ipc", "pid") for k in self.kinds)


def service_dependencies(service: Service) -> tuple[Dependency, ...]:
    """The edges out of one service, in the order its definition names them."""
    found: dict[str, dict] = {}

    def add(name: str, kind: str, condition: str = STARTED, required: bool = True, restart: bool = False) -> None:
        entry = found.setdefault(name, {"kinds": [], "condition": STARTED, "required": False, "restart": False})
        if kind not in entry["kinds"]:
            entry["kinds"].append(kind)
        if condition != STARTED:
            entry["condition"] = condition
        entry["required"] = entry["required"] or required
        entry["restart"] = entry["restart"] or restart

    for dep in service.depends_on:
        if dep.condition not in CONDITIONS:
            raise DependencyError(f"service {service.name}: unknown depends_on condition {dep.condition!r} for {dep.service}")
        add(dep.service, "depends_on", dep.condition, bool(dep.required), bool(dep.restart))
    for link in service.get("links") or ():
        add(str(link).split(":", 1)[0], "links")
    for source in service.get("volumes_from") or ():
        if not str(source).startswith("container:"):
            add(str(source).split(":", 1)[0], "volumes_from")
    for key in ("network_mode", "ipc", "pid"):
        mode = service.get(key) or ""
        if mode.startswith("service:"):
            add(mode.split(":", 1)[1], key, restart=True)
    return tuple(
        Dependency(service.name, name, tuple(e["kinds"]), e["condition"], e["required"], e["restart"]) for name, e in found.items()
    )


@dataclasses.dataclass(frozen=True)
class ServiceGraph:
    """The enabled services and the edges between them (dropped optional edges become warnings)."""

    services: tuple[str, ...]
    edges: tuple[Dependency, ...]
    warnings: tuple[str, ...] = ()

    @classmethod
    def build(cls, project: Project, enable: Iterable[str] = ()) -> ServiceGraph:
        """The graph of the project's enabled services plus `enable` (targets disabled by their profiles).

        A dependency on a service that is not enabled is an error unless it is `required: false`;
        a cycle is an error naming it.
        """
        nodes: dict[str, Service] = dict(project.services)
        for name in enable:
            if name not in nodes:
                if name not in project.disabled_services:
                    raise DependencyError(f"no such service: {name}")
                nodes[name] = project.disabled_services[name]
        edges: list[Dependency] = []
        warnings: list[str] = []
        for name in sorted(nodes):
            for dep in service_dependencies(nodes[name]):
                if dep.on in nodes:
                    edges.append(dep)
                    continue
                why = "is disabled by its profiles" if dep.on in project.disabled_services else "is not defined"
                if dep.required:
                    raise DependencyError(f"service {name} depends on {dep.on}, which {why}")
                warnings.append(f"service {name}: optional dependency {dep.on} {why}; ignored")
        graph = cls(tuple(sorted(nodes)), tuple(edges), tuple(warnings))
        graph._check_cycles()
        return graph

    def dependencies(self, name: str) -> tuple[Dependency, ...]:
        return tuple(e for e in self.edges if e.service == name)

    def dependents(self, name: str) -> tuple[Dependency, ...]:
        return tuple(e for e in self.edges if e.on == name)

    def _check_cycles(self) -> None:
        state: dict[str, int] = {}  # 1 visiting, 2 done
        path: list[str] = []

        def visit(name: str) -> None:
            state[name] = 1
            path.append(name)
            for dep in sorted(self.dependencies(name), key=lambda d: d.on):
                if state.get(dep.on) == 1:
                    cycle = path[path.index(dep.on):] + [dep.on]
                    raise DependencyError("dependency cycle: " + " -> ".join(cycle))
                if dep.on not in state:
                    visit(dep.on)
            path.pop()
            state[name] = 2

        for name in self.services:
            if name not in state:
                visit(name)

    def select(self, names: Iterable[str] = (), *, with_dependencies: bool = True) -> tuple[str, ...]:
        """The services `names` (all when empty) and, unless told not to, everything they depend on;
        in dependency order."""
        names = tuple(names)
        for name in names:
            if name not in self.services:
                raise DependencyError(f"no such service: {name}")
        chosen = set(names or self.services)
        if with_dependencies:
            todo = list(chosen)
            while todo:
                for dep in self.dependencies(todo.pop()):
                    if dep.on not in chosen:
                        chosen.add(dep.on)
                        todo.append(dep.on)
        return self.order(chosen)

    def order(self, names: Iterable[str] | None = None) -> tuple[str, ...]:
        """Dependencies first; among services free to go, by name (deterministic)."""
        chosen = set(self.services if names is None else names)
        remaining: dict[str, set[str]] = {n: {d.on for d in self.dependencies(n) if d.on in chosen} for n in chosen}
        done: list[str] = []
        while remaining:
            ready = sorted(n for n, deps in remaining.items() if not deps)
            if not ready:  # unreachable: cycles are refused when the graph is built
                raise DependencyError("dependency cycle among: " + ", ".join(sorted(remaining)))
            for n in ready:
                done.append(n)
                del remaining[n]
            for deps in remaining.values():
                deps.difference_update(ready)
        return tuple(done)

    def reverse_order(self, names: Iterable[str] | None = None) -> tuple[str, ...]:
        """Dependents first: the order to stop and remove."""
        return tuple(reversed(self.order(names)))
