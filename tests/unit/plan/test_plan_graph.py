"""The service dependency graph: edges of every kind, cycles, selection and order."""

from __future__ import annotations

import pytest

from devenv.plan.errors import DependencyError
from devenv.plan.graph import COMPLETED, HEALTHY, STARTED, ServiceGraph, service_dependencies
from tests.unit.plan.plan_factories import make_project, svc


def dep(condition: str = STARTED, required: bool = True, restart: bool = False) -> dict:
    return {"condition": condition, "required": required, "restart": restart}


def test_every_kind_of_dependency_is_an_edge_merged_per_service() -> None:
    project = make_project(
        {
            "db": svc(),
            "cache": svc(),
            "data": svc(),
            "web": svc(depends_on={"db": dep(HEALTHY)}, links=["db:database", "cache"], volumes_from=["data:ro", "container:legacy"], ipc="service:db"),
        }
    )
    edges = {d.on: d for d in service_dependencies(project.services["web"])}
    assert sorted(edges) == ["cache", "data", "db"]
    assert edges["db"].kinds == ("depends_on", "links", "ipc")
    assert (edges["db"].condition, edges["db"].required, edges["db"].restart) == (HEALTHY, True, True)
    assert edges["db"].references and edges["db"].shares_namespace
    assert edges["cache"].kinds == ("links",) and edges["cache"].condition == STARTED and not edges["cache"].shares_namespace
    assert edges["data"].kinds == ("volumes_from",) and edges["data"].references


def test_depends_on_alone_is_not_a_reference() -> None:
    project = make_project({"db": svc(), "web": svc(depends_on={"db": dep(COMPLETED, restart=True)})})
    (edge,) = service_dependencies(project.services["web"])
    assert not edge.references and edge.restart and edge.condition == COMPLETED


def test_network_mode_service_is_a_namespace_edge() -> None:
    project = make_project({"db": svc(), "side": svc(network_mode="service:db")})
    (edge,) = service_dependencies(project.services["side"])
    assert edge.kinds == ("network_mode",) and edge.shares_namespace and edge.restart


def test_unknown_condition_is_refused() -> None:
    project = make_project({"db": svc(), "web": svc(depends_on={"db": dep("service_whenever")})})
    with pytest.raises(DependencyError, match="unknown depends_on condition 'service_whenever'"):
        ServiceGraph.build(project)


@pytest.mark.parametrize(
    "services,cycle",
    [
        ({"a": svc(depends_on={"b": dep()}), "b": svc(depends_on={"a": dep()})}, "dependency cycle: a -> b -> a"),
        ({"a": svc(links=["b"]), "b": svc(volumes_from=["c"]), "c": svc(depends_on={"a": dep()})}, "dependency cycle: a -> b -> c -> a"),
        ({"a": svc(network_mode="service:a")}, "dependency cycle: a -> a"),
    ],
)
def test_a_cycle_is_an_error_naming_it(services, cycle) -> None:
    with pytest.raises(DependencyError, match=f"^{cycle}$"):
        ServiceGraph.build(make_project(services))


def test_a_missing_required_dependency_is_an_error() -> None:
    with pytest.raises(DependencyError, match="^service web depends on db, which is not defined$"):
        ServiceGraph.build(make_project({"web": svc(depends_on={"db": dep()})}))


def test_a_dependency_disabled_by_profiles_is_an_error_unless_optional() -> None:
    disabled = {"db": svc(profiles=["dev"])}
    with pytest.raises(DependencyError, match="which is disabled by its profiles"):
        ServiceGraph.build(make_project({"web": svc(depends_on={"db": dep()})}, disabled=disabled))
    graph = ServiceGraph.build(make_project({"web": svc(depends_on={"db": dep(required=False)})}, disabled=disabled))
    assert graph.edges == ()
    assert graph.warnings == ("service web: optional dependency db is disabled by its profiles; ignored",)


def test_a_targeted_disabled_service_is_enabled() -> None:
    project = make_project({"web": svc()}, disabled={"debug": svc(profiles=["debug"]), "db": svc(profiles=["dev"])})
    graph = ServiceGraph.build(project, enable=["debug"])
    assert graph.services == ("debug", "web")
    with pytest.raises(DependencyError, match="no such service: nope"):
        ServiceGraph.build(project, enable=["nope"])


def test_a_missing_optional_dependency_is_a_warning() -> None:
    graph = ServiceGraph.build(make_project({"web": svc(depends_on={"db": dep(required=False)})}))
    assert graph.warnings == ("service web: optional dependency db is not defined; ignored",)


PROJECT = make_project(
    {
        "db": svc(),
        "cache": svc(),
        "api": svc(depends_on={"db": dep(HEALTHY), "cache": dep()}),
        "web": svc(depends_on={"api": dep()}),
        "worker": svc(depends_on={"db": dep()}),
        "lonely": svc(),
    }
)


def test_order_puts_dependencies_first_then_names() -> None:
    graph = ServiceGraph.build(PROJECT)
    assert graph.order() == ("cache", "db", "lonely", "api", "worker", "web")
    assert graph.reverse_order() == ("web", "worker", "api", "lonely", "db", "cache")


def test_selection_with_and_without_dependencies() -> None:
    graph = ServiceGraph.build(PROJECT)
    assert graph.select(["web"]) == ("cache", "db", "api", "web")
    assert graph.select(["web"], with_dependencies=False) == ("web",)
    assert graph.select() == graph.order()
    with pytest.raises(DependencyError, match="no such service: nope"):
        graph.select(["nope"])


def test_dependents() -> None:
    graph = ServiceGraph.build(PROJECT)
    assert sorted(d.service for d in graph.dependents("db")) == ["api", "worker"]
    assert [d.on for d in graph.dependencies("api")] == ["db", "cache"]
