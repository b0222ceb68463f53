"""`plan_up`, rule by rule: what `devenv up` does for each state the engine can be in."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from devenv.errors import ManifestError, UsageError
from devenv.plan import naming
from devenv.plan.actions import Op, Plan
from devenv.plan.errors import DependencyError, PlanError
from devenv.plan.observed import ObservedNetwork, ObservedState, ObservedVolume
from devenv.plan.options import UpOptions
from devenv.plan.planner import plan_up
from tests.unit.plan.plan_factories import (
    IMAGE,
    IMAGE_ID,
    NEW_IMAGE_ID,
    container,
    empty_state,
    foreign_container,
    make_project,
    replace_container,
    simulate,
    svc,
)


def dep(condition: str = "service_started", required: bool = True, restart: bool = False) -> dict:
    return {"condition": condition, "required": required, "restart": restart}


def up(project, state, **options) -> Plan:
    return plan_up(project, state, UpOptions(**options))


def running(project, **options) -> ObservedState:
    """The engine after a successful `up` of the project."""
    state = empty_state(project)
    return simulate(up(project, state, **options), state)


def ops(plan: Plan, target: str) -> list[str]:
    return [a.op.value for a in plan if a.target == target]


WEB_DB = make_project(
    {
        "db": svc(healthcheck={"test": ["CMD", "true"]}, volumes=[{"type": "volume", "source": "data", "target": "/data", "volume": {}}]),
        "web": svc(environment={"A": "1"}, depends_on={"db": dep("service_healthy")}, ports=[{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]),
    },
    volumes={"data": {}},
)


# -- a fresh project


def test_fresh_project_creates_everything_in_order() -> None:
    plan = up(WEB_DB, empty_state(WEB_DB))
    assert plan.describe().splitlines() == [
        "create network demo_default (missing)",
        "create volume demo_data (missing)",
        "create container demo-db-1 (new)",
        "create container demo-web-1 (new)",
        "start container demo-db-1 (new)",
        "wait until healthy demo-db-1 (web needs db healthy)",
        "start container demo-web-1 (new)",
    ]
    assert plan.get("create_container:demo-db-1").after == ("create_network:demo_default", "create_volume:demo_data")
    assert plan.get("create_container:demo-web-1").after == ("create_network:demo_default",)  # not after db: no reference
    assert plan.get("start_container:demo-web-1").after == ("create_container:demo-web-1", "wait_healthy:demo-db-1")


def test_every_action_is_one_call_with_a_reason_and_a_unique_id() -> None:
    plan = up(WEB_DB, empty_state(WEB_DB))
    assert len(set(plan.ids())) == len(plan)
    assert all(a.reason for a in plan)
    seen: set[str] = set()
    for action in plan:  # topological
        assert set(action.after) <= seen
        seen.add(action.id)


def test_up_twice_does_nothing() -> None:
    plan = up(WEB_DB, running(WEB_DB))
    assert plan.is_empty
    assert plan.describe() == "nothing to do\ndb: up to date\nweb: up to date"


def test_create_payload_carries_the_spec() -> None:
    plan = up(WEB_DB, empty_state(WEB_DB))
    payload = plan.get("create_container:demo-web-1").payload
    assert payload.image_pending is False
    assert payload.spec.name == "demo-web-1" and payload.spec.image_id == IMAGE_ID


# -- changes


def test_one_environment_change_recreates_exactly_one_container_and_names_the_field() -> None:
    state = running(WEB_DB)
    changed = make_project({**{k: dict(v.config) for k, v in WEB_DB.services.items()}, "web": {**WEB_DB.services["web"].config, "environment": {"A": "2"}}}, volumes={"data": {}})
    plan = up(changed, state)
    assert plan.describe().splitlines() == [
        "stop container demo-web-1 (recreate web: environment changed)",
        "wait until healthy demo-db-1 (web needs db healthy)",  # db runs already: the gate can go at once
        "remove container demo-web-1 (recreate web: environment changed)",
        "create container demo-web-1 (recreate web: environment changed)",
        "start container demo-web-1 (recreate web: environment changed)",
        "db: up to date",
    ]
    assert plan.get("create_container:demo-web-1").after == ("remove_container:demo-web-1",)
    after = simulate(plan, state)
    assert up(changed, after).is_empty


def test_several_fields_are_named_in_order() -> None:
    state = running(WEB_DB)
    web = {**WEB_DB.services["web"].config, "environment": {"A": "2"}, "ports": [], "labels": {"x": "y"}}
    changed = make_project({"db": dict(WEB_DB.services["db"].config), "web": web}, volumes={"data": {}})
    assert up(changed, state).get("create_container:demo-web-1").reason == "recreate web: environment, labels, ports, publish_host changed"


def test_a_new_image_id_recreates_the_containers_using_it() -> None:
    state = dataclasses.replace(running(WEB_DB), images=MappingProxyType({IMAGE: NEW_IMAGE_ID}))
    plan = up(WEB_DB, state)
    assert sorted(plan.targets(Op.CREATE_CONTAINER)) == ["demo-db-1", "demo-web-1"]
    assert plan.get("create_container:demo-db-1").reason == "recreate db: image id changed"
    assert plan.get("create_container:demo-web-1").payload.spec.image_id == NEW_IMAGE_ID


def test_a_container_made_by_another_tool_is_recreated_once() -> None:
    state = running(WEB_DB)
    labels = {k: v for k, v in container(state, "demo-web-1").labels.items() if k != naming.CONFIG_DIGEST_LABEL}
    labels[naming.CONFIG_HASH_LABEL] = "compose-made"
    plan = up(WEB_DB, replace_container(state, "demo-web-1", labels=MappingProxyType(labels)))
    assert plan.get("create_container:demo-web-1").reason == "recreate web: configuration changed"


def test_force_recreate_recreates_all_or_the_named_services() -> None:
    state = running(WEB_DB)
    assert sorted(up(WEB_DB, state, force_recreate=True).targets(Op.CREATE_CONTAINER)) == ["demo-db-1", "demo-web-1"]
    named = up(WEB_DB, state, force_recreate=True, services=("web",))
    assert named.targets(Op.CREATE_CONTAINER) == ("demo-web-1",)
    assert named.get("stop_container:demo-web-1").reason == "recreate web: forced (--force-recreate)"
    assert sorted(up(WEB_DB, state, force_recreate=True, always_recreate_deps=True, services=("web",)).targets(Op.CREATE_CONTAINER)) == ["demo-db-1", "demo-web-1"]
    assert up(WEB_DB, state, always_recreate_deps=True, services=("web",)).targets(Op.CREATE_CONTAINER) == ("demo-db-1",)


def test_no_recreate_keeps_a_changed_container() -> None:
    state = dataclasses.replace(running(WEB_DB), images=MappingProxyType({IMAGE: NEW_IMAGE_ID}))
    assert up(WEB_DB, state, no_recreate=True).is_empty


def test_conflicting_flags_are_usage_errors() -> None:
    for flags in ({"force_recreate": True, "no_recreate": True}, {"build": True, "no_build": True}, {"pull": "sometimes"}, {"scale": {"web": -1}}):
        with pytest.raises(UsageError):
            UpOptions(**flags)


# -- container states


@pytest.mark.parametrize(
    "status,exit_code,expected,reason",
    [
        ("exited", 0, ["start_container"], "exited (0)"),
        ("exited", 137, ["start_container"], "exited (137)"),
        ("created", None, ["start_container"], "never started"),
        ("paused", None, ["unpause_container"], "paused"),
        ("dead", None, ["remove_container", "create_container", "start_container"], "recreate web: container is dead"),
        ("restarting", None, [], None),
        ("running", None, [], None),
    ],
)
def test_an_up_to_date_container_in_each_state(status, exit_code, expected, reason) -> None:
    state = replace_container(running(WEB_DB), "demo-web-1", state=status, exit_code=exit_code)
    plan = up(WEB_DB, state)
    assert ops(plan, "demo-web-1") == expected
    if reason:
        assert plan.get(f"{expected[0]}:demo-web-1").reason == reason


def test_a_stopped_container_starts_after_its_dependencies_gates() -> None:
    state = replace_container(running(WEB_DB), "demo-web-1", state="exited", exit_code=0)
    plan = up(WEB_DB, state)
    assert plan.ids() == ("wait_healthy:demo-db-1", "start_container:demo-web-1")
    assert plan.get("start_container:demo-web-1").after == ("wait_healthy:demo-db-1",)


def test_no_start_only_creates() -> None:
    plan = up(WEB_DB, empty_state(WEB_DB), no_start=True)
    assert plan.of(Op.START_CONTAINER) == () and plan.of(Op.WAIT_HEALTHY) == ()
    assert plan.targets(Op.CREATE_CONTAINER) == ("demo-db-1", "demo-web-1")


# -- scale


SCALED = make_project({"web": svc(scale=3)})


def test_scale_up_creates_the_missing_numbers() -> None:
    state = running(make_project({"web": svc()}))
    plan = up(SCALED, state)
    assert plan.targets(Op.CREATE_CONTAINER) == ("demo-web-2", "demo-web-3")
    assert plan.get("create_container:demo-web-2").reason == "scale web to 3"
    assert plan.notes == ()


def test_scale_down_removes_the_highest_numbers_first() -> None:
    state = running(SCALED)
    plan = up(SCALED, state, scale={"web": 1})
    assert plan.describe().splitlines() == [
        "stop container demo-web-3 (scale web to 1)",
        "stop container demo-web-2 (scale web to 1)",
        "remove container demo-web-3 (scale web to 1)",
        "remove container demo-web-2 (scale web to 1)",
    ]
    assert up(SCALED, state, scale={"web": 0}).targets(Op.REMOVE_CONTAINER) == ("demo-web-3", "demo-web-2", "demo-web-1")


def test_scale_fills_gaps_and_keeps_the_lowest_numbers() -> None:
    state = running(SCALED)
    state = dataclasses.replace(state, containers=tuple(c for c in state.containers if c.number != 2))
    assert up(SCALED, state).targets(Op.CREATE_CONTAINER) == ("demo-web-2",)
    assert up(SCALED, state, scale={"web": 1}).targets(Op.REMOVE_CONTAINER) == ("demo-web-3",)


def test_scale_override_must_name_a_service_and_respect_container_name() -> None:
    with pytest.raises(UsageError, match="no such service: nope"):
        up(SCALED, empty_state(SCALED), scale={"nope": 2})
    fixed = make_project({"web": svc(container_name="web")})
    with pytest.raises(ManifestError, match="container_name"):
        up(fixed, empty_state(fixed), scale={"web": 2})
    plan = up(fixed, empty_state(fixed))
    assert plan.targets(Op.CREATE_CONTAINER) == ("web",)


def test_deploy_replicas_count_like_scale() -> None:
    project = make_project({"web": svc(deploy={"replicas": 2})})
    assert up(project, empty_state(project)).targets(Op.CREATE_CONTAINER) == ("demo-web-1", "demo-web-2")


# -- orphans and other projects


def test_orphans_are_a_warning_unless_removed() -> None:
    state = running(WEB_DB)
    orphan = foreign_container("demo-old-1", "demo", "old")
    state = dataclasses.replace(state, containers=state.containers + (orphan,))
    plan = up(WEB_DB, state)
    assert plan.is_empty
    assert plan.warnings == ("found orphan containers (demo-old-1) for this project; run with --remove-orphans to remove them",)
    removing = up(WEB_DB, state, remove_orphans=True)
    assert removing.describe().splitlines()[:2] == [
        "stop container demo-old-1 (orphan: service old is not in the project)",
        "remove container demo-old-1 (orphan: service old is not in the project)",
    ]


def test_exited_one_off_containers_are_orphans_running_ones_are_not() -> None:
    state = running(WEB_DB)
    done = foreign_container("demo-web-run-aaaaaaaaaaaa", "demo", "web", state="exited", **{naming.ONEOFF_LABEL: "True"})
    busy = foreign_container("demo-web-run-bbbbbbbbbbbb", "demo", "web", state="running", **{naming.ONEOFF_LABEL: "True"})
    state = dataclasses.replace(state, containers=state.containers + (done, busy))
    plan = up(WEB_DB, state, remove_orphans=True)
    assert plan.targets(Op.REMOVE_CONTAINER) == ("demo-web-run-aaaaaaaaaaaa",)
    assert plan.of(Op.STOP_CONTAINER) == ()


def test_containers_of_services_disabled_by_profiles_are_not_orphans() -> None:
    project = make_project({"web": svc()}, disabled={"debug": svc(profiles=["debug"])})
    state = running(project)
    state = dataclasses.replace(state, containers=state.containers + (foreign_container("demo-debug-1", "demo", "debug"),))
    plan = up(project, state, remove_orphans=True)
    assert plan.is_empty and plan.warnings == ()


def test_another_projects_objects_are_never_touched() -> None:
    state = running(WEB_DB)
    strangers = (foreign_container("other-web-1", "other", "web"), foreign_container("demo-ish", "", "web"))
    state = dataclasses.replace(state, containers=state.containers + strangers)
    for plan in (up(WEB_DB, state, remove_orphans=True, force_recreate=True), up(WEB_DB, state, scale={"web": 0})):
        assert not {a.target for a in plan} & {"other-web-1", "demo-ish"}


# -- dependencies


def test_gates_per_condition() -> None:
    project = make_project(
        {
            "db": svc(healthcheck={"test": ["CMD", "true"]}),
            "migrate": svc(command=["true"], depends_on={"db": dep("service_healthy")}),
            "cache": svc(),
            "web": svc(depends_on={"db": dep("service_healthy"), "migrate": dep("service_completed_successfully"), "cache": dep("service_started")}),
        }
    )
    plan = up(project, empty_state(project))
    assert set(plan.get("start_container:demo-web-1").after) == {
        "create_container:demo-web-1",
        "start_container:demo-cache-1",
        "wait_healthy:demo-db-1",
        "wait_completed:demo-migrate-1",
    }
    assert plan.get("wait_healthy:demo-db-1").reason == "migrate, web need db healthy"
    assert plan.get("wait_healthy:demo-db-1").payload.to_dict() == {"service": "db", "required": True, "dependents": ["migrate", "web"]}
    assert plan.get("wait_completed:demo-migrate-1").after == ("start_container:demo-migrate-1",)
    assert plan.get("wait_completed:demo-migrate-1").reason == "web needs migrate completed successfully"
    assert len(plan.of(Op.WAIT_HEALTHY)) == 1  # shared


def test_independent_branches_do_not_wait_for_each_other() -> None:
    project = make_project({"a": svc(), "b": svc(depends_on={"a": dep()}), "x": svc(), "y": svc(depends_on={"x": dep("service_healthy")})})
    plan = up(project, empty_state(project))
    for left, right in (("a", "x"), ("a", "y"), ("b", "x"), ("b", "y")):
        for one, other in ((left, right), (right, left)):
            assert not plan.depends_on(f"start_container:demo-{one}-1", f"start_container:demo-{other}-1")


def test_a_gate_waits_for_every_replica() -> None:
    project = make_project({"db": svc(scale=2, healthcheck={"test": ["CMD", "true"]}), "web": svc(depends_on={"db": dep("service_healthy")})})
    plan = up(project, empty_state(project))
    assert plan.get("start_container:demo-web-1").after[-2:] == ("wait_healthy:demo-db-1", "wait_healthy:demo-db-2")


def test_no_gate_when_the_dependent_does_not_start() -> None:
    state = replace_container(running(WEB_DB), "demo-db-1", state="exited", exit_code=0)
    plan = up(WEB_DB, state)
    assert plan.ids() == ("start_container:demo-db-1",)


def test_an_optional_dependency_gate_does_not_fail_the_plan() -> None:
    project = make_project({"db": svc(), "web": svc(depends_on={"db": dep("service_healthy", required=False)})})
    plan = up(project, empty_state(project))
    assert plan.get("wait_healthy:demo-db-1@optional").payload.required is False


def test_an_optional_gate_is_not_shared_with_the_wait_for_readiness() -> None:
    project = make_project({"db": svc(healthcheck={"test": ["CMD", "true"]}), "web": svc(depends_on={"db": dep("service_healthy", required=False)})})
    plan = up(project, empty_state(project), wait=True)
    assert plan.get("wait_healthy:demo-db-1").payload.required is True
    assert plan.get("wait_healthy:demo-db-1@optional").payload.required is False
    assert "wait_healthy:demo-db-1" not in plan.get("start_container:demo-web-1").after


def test_a_missing_optional_dependency_is_a_warning_a_missing_required_one_an_error() -> None:
    optional = make_project({"web": svc(depends_on={"db": dep(required=False)})})
    plan = up(optional, empty_state(optional))
    assert plan.warnings == ("service web: optional dependency db is not defined; ignored",)
    assert plan.targets(Op.START_CONTAINER) == ("demo-web-1",)
    required = make_project({"web": svc(depends_on={"db": dep()})})
    with pytest.raises(DependencyError, match="service web depends on db, which is not defined"):
        up(required, empty_state(required))


def test_a_cycle_is_refused() -> None:
    project = make_project({"a": svc(depends_on={"b": dep()}), "b": svc(depends_on={"a": dep()})})
    with pytest.raises(DependencyError, match="dependency cycle: a -> b -> a"):
        up(project, empty_state(project))


def test_up_named_services_brings_their_dependencies_unless_no_deps() -> None:
    plan = up(WEB_DB, empty_state(WEB_DB), services=("web",))
    assert plan.targets(Op.CREATE_CONTAINER) == ("demo-db-1", "demo-web-1")
    alone = up(WEB_DB, empty_state(WEB_DB), services=("web",), no_deps=True)
    assert alone.targets(Op.CREATE_CONTAINER) == ("demo-web-1",)
    assert alone.of(Op.WAIT_HEALTHY) == ()  # Compose does not wait for a dependency it was told to ignore
    assert alone.targets(Op.CREATE_VOLUME) == ()  # only what web uses


def test_a_service_disabled_by_profiles_starts_when_named() -> None:
    project = make_project({"web": svc()}, disabled={"debug": svc(profiles=["debug"])})
    assert up(project, empty_state(project)).targets(Op.CREATE_CONTAINER) == ("demo-web-1",)
    assert up(project, empty_state(project), services=("debug",)).targets(Op.CREATE_CONTAINER) == ("demo-debug-1",)


def test_references_are_created_after_the_container_they_name() -> None:
    project = make_project({"db": svc(), "side": svc(network_mode="service:db"), "data": svc(), "web": svc(volumes_from=["data"], links=["db"])})
    plan = up(project, empty_state(project))
    assert "create_container:demo-db-1" in plan.get("create_container:demo-side-1").after
    assert {"create_container:demo-data-1", "create_container:demo-db-1"} <= set(plan.get("create_container:demo-web-1").after)


def test_restart_true_dependents_restart_when_their_dependency_is_recreated() -> None:
    project = make_project(
        {
            "db": svc(),
            "api": svc(depends_on={"db": dep(restart=True)}),
            "web": svc(depends_on={"db": dep(restart=False)}),
        }
    )
    plan = up(project, running(project), force_recreate=True, services=("db",))
    assert plan.describe().splitlines() == [
        "stop container demo-api-1 (restart api: db recreated)",
        "stop container demo-db-1 (recreate db: forced (--force-recreate))",
        "remove container demo-db-1 (recreate db: forced (--force-recreate))",
        "create container demo-db-1 (recreate db: forced (--force-recreate))",
        "start container demo-db-1 (recreate db: forced (--force-recreate))",
        "start container demo-api-1 (restart api: db recreated)",
    ]
    assert plan.get("stop_container:demo-db-1").after == ("stop_container:demo-api-1",)


def test_a_service_sharing_a_recreated_namespace_is_recreated() -> None:
    project = make_project({"db": svc(), "side": svc(network_mode="service:db")})
    state = running(project)
    for plan in (up(project, state, force_recreate=True, services=("db",)), up(project, state, force_recreate=True, services=("db",), no_deps=True)):
        assert plan.targets(Op.CREATE_CONTAINER) == ("demo-db-1", "demo-side-1")
        assert plan.get("create_container:demo-side-1").reason == "recreate side: db is recreated and side shares its namespace"
        assert plan.depends_on("remove_container:demo-db-1", "remove_container:demo-side-1")
        assert plan.depends_on("create_container:demo-side-1", "create_container:demo-db-1")
        simulate(plan, state)


# -- networks and volumes


def _network(name: str, **changes) -> ObservedNetwork:
    base = ObservedNetwork(id="id-" + name, name=name, labels=MappingProxyType({naming.PROJECT_LABEL: "demo", naming.NETWORK_LABEL: "default"}))
    return dataclasses.replace(base, **changes)


def test_a_drifted_network_in_use_is_an_error_telling_to_down_first() -> None:
    project = make_project({"web": svc()}, networks={"default": {"driver_opts": {"mtu": "9000"}}})
    state = running(make_project({"web": svc()}))
    with pytest.raises(PlanError, match=r"network demo_default exists with a different configuration \(driver_opts\); run `devenv down`"):
        up(project, state)


def test_a_drifted_network_nobody_uses_is_recreated() -> None:
    project = make_project({"web": svc()}, networks={"default": {"internal": True}})
    state = dataclasses.replace(empty_state(project), networks=(_network("demo_default"),))
    plan = up(project, state)
    assert plan.ids()[:2] == ("remove_network:demo_default", "create_network:demo_default")
    assert plan.get("create_network:demo_default").reason == "recreate: internal changed"


def test_a_network_of_another_label_is_an_error_a_foreign_one_a_warning() -> None:
    project = make_project({"web": svc()})
    wrong = dataclasses.replace(empty_state(project), networks=(_network("demo_default", labels=MappingProxyType({naming.PROJECT_LABEL: "demo", naming.NETWORK_LABEL: "other"})),))
    with pytest.raises(PlanError, match="incorrect|has label"):
        up(project, wrong)
    foreign = dataclasses.replace(empty_state(project), networks=(_network("demo_default", labels=MappingProxyType({})),))
    plan = up(project, foreign)
    assert plan.of(Op.CREATE_NETWORK) == ()
    assert "network demo_default exists but was not created by devenv or Compose" in plan.warnings[0]


def test_external_network_and_volume_must_exist() -> None:
    project = make_project(
        {"web": svc(networks={"shared": None}, volumes=[{"type": "volume", "source": "cache", "target": "/c", "volume": {}}])},
        networks={"shared": {"name": "shared-net", "external": True}},
        volumes={"cache": {"name": "shared-cache", "external": True}},
    )
    with pytest.raises(PlanError, match="^network shared-net is declared as external, but could not be found$"):
        up(project, empty_state(project))
    with_net = dataclasses.replace(empty_state(project), networks=(_network("shared-net", labels=MappingProxyType({})),))
    with pytest.raises(PlanError, match="^external volume shared-cache not found$"):
        up(project, with_net)
    both = dataclasses.replace(with_net, volumes=(ObservedVolume("shared-cache"),))
    plan = up(project, both)
    assert plan.of(Op.CREATE_NETWORK) == () and plan.of(Op.CREATE_VOLUME) == ()
    assert plan.warnings == ()


def test_a_drifted_volume_is_an_error() -> None:
    state = running(WEB_DB)
    state = dataclasses.replace(state, volumes=tuple(dataclasses.replace(v, driver="nfs") for v in state.volumes))
    with pytest.raises(PlanError, match=r"volume demo_data exists with a different configuration \(driver\); run `devenv down --volumes`"):
        up(WEB_DB, state)


def test_a_container_that_lost_its_network_or_volume_is_recreated() -> None:
    state = running(WEB_DB)
    gone = replace_container(state, "demo-web-1", networks=MappingProxyType({}))
    assert up(WEB_DB, gone).get("create_container:demo-web-1").reason == "recreate web: not connected to network demo_default"
    renamed = replace_container(state, "demo-web-1", networks=MappingProxyType({"demo_default": "an-old-network-id"}))
    assert up(WEB_DB, renamed).targets(Op.CREATE_CONTAINER) == ("demo-web-1",)
    no_volume = dataclasses.replace(state, volumes=())
    plan = up(WEB_DB, no_volume)
    assert plan.get("create_container:demo-db-1").reason == "recreate db: volume demo_data is not mounted"
    assert plan.depends_on("create_container:demo-db-1", "create_volume:demo_data")


def test_extra_networks_are_connected_before_start() -> None:
    project = make_project({"web": svc(networks={"default": None, "front": {"aliases": ["www"]}})}, networks={"front": {}})
    plan = up(project, empty_state(project))
    connect = plan.get("connect_network:demo-web-1@demo_front")
    assert connect.after == ("create_network:demo_front", "create_container:demo-web-1")
    assert connect.payload.network == "demo_front"
    assert list(connect.payload.body["EndpointConfig"]["Aliases"]) == ["demo-web-1", "web", "www"]
    assert "connect_network:demo-web-1@demo_front" in plan.get("start_container:demo-web-1").after
    assert connect.describe() == "connect demo-web-1 to demo_front (new)"


# -- images


def test_pull_policy_missing() -> None:
    project = make_project({"web": svc(image="redis:7"), "db": svc(image="redis:7")})
    plan = up(project, empty_state(project, images={}))
    assert plan.of(Op.PULL_IMAGE)[0].describe() == "pull image redis:7 (missing locally)"
    assert len(plan.of(Op.PULL_IMAGE)) == 1  # one pull for both
    assert plan.get("create_container:demo-web-1").payload.image_pending is True
    assert "pull_image:redis:7" in plan.get("create_container:demo-db-1").after
    assert up(project, empty_state(project, images={"redis:7": IMAGE_ID})).of(Op.PULL_IMAGE) == ()


def test_pull_policy_always_and_never_and_the_pull_flag() -> None:
    always = make_project({"web": svc(pull_policy="always")})
    assert up(always, empty_state(always)).get(f"pull_image:{IMAGE}").reason == "pull_policy: always"
    assert up(WEB_DB, empty_state(WEB_DB), pull="always").get(f"pull_image:{IMAGE}").reason == "--pull always"
    assert up(always, empty_state(always), pull="missing").of(Op.PULL_IMAGE) == ()
    never = make_project({"web": svc(pull_policy="never")})
    with pytest.raises(PlanError, match=f"image {IMAGE} is missing and the pull policy is 'never'"):
        up(never, empty_state(never, images={}))
    with pytest.raises(PlanError, match="pull policy is 'never'"):
        up(WEB_DB, empty_state(WEB_DB, images={}), pull="never")


def test_a_pulled_image_is_rechecked_when_the_containers_are_otherwise_up_to_date() -> None:
    state = running(WEB_DB)
    plan = up(WEB_DB, state, pull="always")
    assert plan.ids() == (f"pull_image:{IMAGE}",)
    assert plan.recheck == ("db", "web")
    after = simulate(plan, state)  # the pull brought a new image
    assert sorted(up(WEB_DB, after).targets(Op.CREATE_CONTAINER)) == ["demo-db-1", "demo-web-1"]


BUILT = make_project({"app": svc(image=..., build={"context": "/src/app", "dockerfile": "Dockerfile", "args": {"X": "1"}})})


def test_build_when_missing_and_on_request() -> None:
    plan = up(BUILT, empty_state(BUILT, images={}))
    build = plan.get("build_image:demo-app")
    assert build.reason == "missing locally"
    compose_labels = {"com.docker.compose.project": "demo", "com.docker.compose.service": "app", "com.docker.compose.version": "2.40.3"}
    assert build.payload.to_dict() == {
        "image": "demo-app",
        "platform": None,
        "service": "app",
        "build": {"context": "/src/app", "dockerfile": "Dockerfile", "args": {"X": "1"}, "labels": compose_labels},
        "secrets": {},
    }
    assert plan.get("create_container:demo-app-1").payload.image_pending is True
    state = simulate(plan, empty_state(BUILT, images={}))
    assert container(state, "demo-app-1").labels[naming.IMAGE_LABEL] == NEW_IMAGE_ID
    assert up(BUILT, state).is_empty
    rebuilt = up(BUILT, state, build=True)
    assert rebuilt.ids() == ("build_image:demo-app",) and rebuilt.recheck == ("app",)
    assert rebuilt.get("build_image:demo-app").reason == "--build"
    with pytest.raises(PlanError, match="image demo-app is missing and --no-build was given"):
        up(BUILT, empty_state(BUILT, images={}), no_build=True)


def test_a_service_with_build_and_image_builds_only_when_missing() -> None:
    project = make_project({"app": svc(image="acme/app:dev", build={"context": "/src"})})
    assert up(project, empty_state(project, images={"acme/app:dev": IMAGE_ID})).of(Op.BUILD_IMAGE) == ()
    assert up(project, empty_state(project, images={})).targets(Op.BUILD_IMAGE) == ("acme/app:dev",)
    assert up(project, empty_state(project, images={})).of(Op.PULL_IMAGE) == ()
    policy = make_project({"app": svc(image="acme/app:dev", build={"context": "/src"}, pull_policy="build")})
    assert up(policy, empty_state(policy, images={"acme/app:dev": IMAGE_ID})).get("build_image:acme/app:dev").reason == "pull_policy: build"


def test_a_rebuilt_image_recreates_its_containers() -> None:
    state = simulate(up(BUILT, empty_state(BUILT, images={})), empty_state(BUILT, images={}))
    plan = up(BUILT, state, build=True)
    rebuilt = simulate(plan, state, built={"demo-app": "sha256:" + "d" * 64})
    assert up(BUILT, rebuilt).get("create_container:demo-app-1").reason == "recreate app: image id changed"
    same = simulate(plan, state, built={"demo-app": NEW_IMAGE_ID})
    assert up(BUILT, same).is_empty


# -- the rest


def test_stop_timeout_is_the_grace_period_or_the_flag() -> None:
    project = make_project({"web": svc(stop_grace_period="1m30s")})
    state = running(project)
    assert up(project, state, force_recreate=True).get("stop_container:demo-web-1").payload.timeout == 90
    assert up(project, state, force_recreate=True, timeout=3).get("stop_container:demo-web-1").payload.timeout == 3
    assert up(WEB_DB, running(WEB_DB), force_recreate=True).get("stop_container:demo-web-1").payload.timeout is None


def test_recreate_reuses_anonymous_volumes_unless_renewed() -> None:
    project = make_project({"db": svc(volumes=[{"type": "volume", "target": "/var/lib/db", "volume": {}}])})
    state = running(project)
    anon = container(state, "demo-db-1").mounts[0].name
    spec = up(project, state, force_recreate=True).get("create_container:demo-db-1").payload.spec
    assert spec.body["HostConfig"]["Mounts"] == ({"Type": "volume", "Source": anon, "Target": "/var/lib/db"},)
    assert spec.labels[naming.REPLACE_LABEL] == "db-1"
    renewed = up(project, state, force_recreate=True, renew_anon_volumes=True).get("create_container:demo-db-1").payload.spec
    assert renewed.body["HostConfig"]["Mounts"] == ({"Type": "volume", "Target": "/var/lib/db"},)


def test_recreate_never_uses_temporary_names() -> None:
    plan = up(WEB_DB, running(WEB_DB), force_recreate=True)
    assert {a.target for a in plan if a.op in (Op.CREATE_CONTAINER, Op.STOP_CONTAINER, Op.REMOVE_CONTAINER, Op.START_CONTAINER)} == {"demo-db-1", "demo-web-1"}
    assert plan.depends_on("create_container:demo-web-1", "remove_container:demo-web-1")
    assert plan.depends_on("stop_container:demo-db-1", "stop_container:demo-web-1")  # dependents stop first


def test_wait_gates_every_container() -> None:
    plan = up(WEB_DB, running(WEB_DB), wait=True)
    assert plan.describe().splitlines() == [
        "wait until healthy demo-db-1 (--wait needs db healthy)",
        "wait until running demo-web-1 (--wait needs web running)",
        "db: up to date",
        "web: up to date",
    ]


def test_unsupported_settings_stop_the_plan() -> None:
    project = make_project({"web": svc(pre_stop=[{"command": ["true"]}])})
    with pytest.raises(ManifestError, match="service web: 'pre_stop' is not supported yet"):
        up(project, empty_state(project))


def test_publish_host_reaches_the_ports() -> None:
    plan = up(WEB_DB, empty_state(WEB_DB), publish_host="0.0.0.0")
    spec = plan.get("create_container:demo-web-1").payload.spec
    assert spec.body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostIp"] == ""  # every interface, as Compose sends it
    assert up(WEB_DB, running(WEB_DB), publish_host="0.0.0.0").get("create_container:demo-web-1").reason == "recreate web: publish_host changed"


def test_an_orphan_holding_a_wanted_name_is_removed_first_or_refused() -> None:
    project = make_project({"app": svc(container_name="web")})
    orphan = dataclasses.replace(foreign_container("web", "demo", "old"))
    state = dataclasses.replace(empty_state(project), containers=(orphan,))
    with pytest.raises(PlanError, match="container name web is taken by an orphan container; run with --remove-orphans"):
        up(project, state)
    plan = up(project, state, remove_orphans=True)
    assert plan.depends_on("create_container:web", "remove_container:web")
    simulate(plan, state)


def test_the_observed_state_must_be_the_projects() -> None:
    with pytest.raises(ValueError, match="observed state is of project 'other'"):
        up(WEB_DB, ObservedState("other"))
