"""`plan_down`, `plan_stop`, `plan_start`, `plan_restart`: only the project's own objects, in order."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from devenv.errors import DevenvError
from devenv.plan import naming
from devenv.plan.actions import Op
from devenv.plan.lifecycle import plan_down, plan_restart, plan_start, plan_stop
from devenv.plan.observed import ObservedMount, ObservedNetwork, ObservedVolume
from devenv.plan.options import DownOptions, RestartOptions, StartOptions, StopOptions, UpOptions
from devenv.plan.planner import plan_up
from tests.unit.plan.plan_factories import container, empty_state, foreign_container, make_project, replace_container, simulate, svc


def dep(condition: str = "service_started") -> dict:
    return {"condition": condition, "required": True, "restart": False}


PROJECT = make_project(
    {
        "db": svc(healthcheck={"test": ["CMD", "true"]}, volumes=[{"type": "volume", "source": "data", "target": "/data", "volume": {}}, {"type": "volume", "target": "/anon", "volume": {}}]),
        "api": svc(depends_on={"db": dep("service_healthy")}),
        "web": svc(depends_on={"api": dep()}, networks={"default": None, "front": None}),
        "cron": svc(),
        "shared": svc(networks={"ext": None}, volumes=[{"type": "volume", "source": "cache", "target": "/c", "volume": {}}]),
    },
    networks={"front": {}, "ext": {"name": "outside", "external": True}},
    volumes={"data": {}, "cache": {"name": "outside-cache", "external": True}},
)


def running(**strangers):
    state = dataclasses.replace(
        empty_state(PROJECT),
        networks=(ObservedNetwork("id-outside", "outside"),),
        volumes=(ObservedVolume("outside-cache"),),
    )
    return simulate(plan_up(PROJECT, state, UpOptions()), state)


def test_down_stops_dependents_first_and_removes_everything_of_the_project() -> None:
    plan = plan_down(PROJECT, running())
    assert sorted(plan.targets(Op.STOP_CONTAINER)) == ["demo-api-1", "demo-cron-1", "demo-db-1", "demo-shared-1", "demo-web-1"]
    assert plan.get("stop_container:demo-api-1").after == ("stop_container:demo-web-1",)
    assert plan.get("stop_container:demo-db-1").after == ("stop_container:demo-api-1",)
    for independent in ("cron", "shared", "web"):
        assert plan.get(f"stop_container:demo-{independent}-1").after == ()
    assert plan.get("remove_container:demo-db-1").after == ("stop_container:demo-db-1",)
    assert plan.get("remove_container:demo-db-1").payload.to_dict() == {"volumes": False, "container": "id-demo-db-1"}
    assert plan.targets(Op.REMOVE_NETWORK) == ("demo_default", "demo_front")  # not the external one
    assert set(plan.get("remove_network:demo_default").after) == {a.id for a in plan.of(Op.REMOVE_CONTAINER)}
    assert plan.of(Op.REMOVE_VOLUME) == ()
    assert simulate(plan, running()).project_containers() == ()


def test_down_with_volumes_removes_named_and_anonymous_volumes_but_not_external_ones() -> None:
    state = running()
    anon = next(m.name for m in container(state, "demo-db-1").mounts if m.destination == "/anon")
    plan = plan_down(PROJECT, state, DownOptions(volumes=True))
    assert plan.targets(Op.REMOVE_VOLUME) == ("demo_data", anon)
    assert plan.get(f"remove_volume:{anon}").after == ("remove_container:demo-db-1",)
    assert plan.get(f"remove_volume:{anon}").reason == "down --volumes: anonymous volume"


def test_down_never_touches_another_projects_objects() -> None:
    state = running()
    other_net = ObservedNetwork("id-x", "demo_front", labels=MappingProxyType({naming.PROJECT_LABEL: "other"}))
    other_vol = ObservedVolume("demo_data", labels=MappingProxyType({naming.PROJECT_LABEL: "other"}))
    state = dataclasses.replace(
        state,
        containers=state.containers + (foreign_container("other-web-1", "other", "web"),),
        networks=tuple(n for n in state.networks if n.name != "demo_front") + (other_net,),
        volumes=tuple(v for v in state.volumes if v.name != "demo_data") + (other_vol,),
    )
    plan = plan_down(PROJECT, state, DownOptions(volumes=True, remove_orphans=True))
    touched = {a.target for a in plan}
    assert not touched & {"other-web-1", "demo_front", "demo_data", "outside", "outside-cache"}
    assert "network demo_front was not created for project demo; left alone" in plan.warnings
    assert "volume demo_data was not created for project demo; left alone" in plan.warnings


def test_down_orphans_only_with_remove_orphans() -> None:
    state = running()
    state = dataclasses.replace(state, containers=state.containers + (foreign_container("demo-old-1", "demo", "old"),))
    plan = plan_down(PROJECT, state)
    assert "demo-old-1" not in plan.targets(Op.REMOVE_CONTAINER)
    assert plan.warnings[0].startswith("found orphan containers (demo-old-1)")
    assert "demo_default" in plan.targets(Op.REMOVE_NETWORK)  # this orphan is attached to no network
    removing = plan_down(PROJECT, state, DownOptions(remove_orphans=True))
    assert removing.get("remove_container:demo-old-1").reason == "orphan: service old is not in the project"


def test_down_keeps_a_network_still_used_by_a_container_it_does_not_remove() -> None:
    state = running()
    kept = foreign_container("demo-old-1", "demo", "old")
    kept = dataclasses.replace(kept, networks=MappingProxyType({"demo_default": "net-demo_default"}))
    state = dataclasses.replace(state, containers=state.containers + (kept,))
    plan = plan_down(PROJECT, state)
    assert plan.targets(Op.REMOVE_NETWORK) == ("demo_front",)
    assert "network demo_default is still used by 1 other container(s); left in place" in plan.warnings


def test_down_of_nothing() -> None:
    plan = plan_down(PROJECT, empty_state(PROJECT))
    assert plan.is_empty and plan.describe() == "nothing to do"


def test_down_removes_stopped_containers_without_stopping_them_and_one_offs_too() -> None:
    state = replace_container(running(), "demo-cron-1", state="exited", exit_code=0)
    run = dataclasses.replace(foreign_container("demo-cron-run-abcdefabcdef", "demo", "cron", state="exited", **{naming.ONEOFF_LABEL: "True"}))
    state = dataclasses.replace(state, containers=state.containers + (run,))
    plan = plan_down(PROJECT, state)
    assert "stop_container:demo-cron-1" not in plan.ids()
    assert plan.get("remove_container:demo-cron-1").after == ()
    assert "demo-cron-run-abcdefabcdef" in plan.targets(Op.REMOVE_CONTAINER)


def test_down_honours_timeout_and_grace_period() -> None:
    project = make_project({"web": svc(stop_grace_period="20s")})
    state = simulate(plan_up(project, empty_state(project)), empty_state(project))
    assert plan_down(project, state).get("stop_container:demo-web-1").payload.to_dict() == {"timeout": 20, "container": "id-demo-web-1"}
    assert plan_down(project, state, DownOptions(timeout=0)).get("stop_container:demo-web-1").payload.timeout == 0


def test_down_works_even_if_a_dependency_is_broken() -> None:
    project = make_project({"web": svc(depends_on={"gone": dep()})})
    state = dataclasses.replace(empty_state(project), containers=(foreign_container("demo-web-1", "demo", "web"),))
    assert plan_down(project, state).targets(Op.REMOVE_CONTAINER) == ("demo-web-1",)


def test_stop_named_or_all_services_dependents_first() -> None:
    state = running()
    assert plan_stop(PROJECT, state, StopOptions(services=("cron",))).ids() == ("stop_container:demo-cron-1",)
    everything = plan_stop(PROJECT, state, StopOptions(timeout=5))
    assert len(everything) == 5 and everything.get("stop_container:demo-db-1").after == ("stop_container:demo-api-1",)
    assert everything.get("stop_container:demo-db-1").payload.to_dict() == {"timeout": 5, "container": "id-demo-db-1"}
    with pytest.raises(DevenvError, match="no such service: nope"):
        plan_stop(PROJECT, state, StopOptions(services=("nope",)))


def test_start_starts_stopped_containers_with_their_gates() -> None:
    state = simulate(plan_stop(PROJECT, running()), running())
    plan = plan_start(PROJECT, state)
    assert plan.get("start_container:demo-api-1").after == ("wait_healthy:demo-db-1",)
    assert plan.get("wait_healthy:demo-db-1").after == ("start_container:demo-db-1",)
    assert plan.get("start_container:demo-web-1").after == ("start_container:demo-api-1",)
    one = plan_start(PROJECT, state, StartOptions(services=("web",), wait=False))
    assert one.ids() == ("start_container:demo-web-1",)  # start does not bring dependencies
    with pytest.raises(DevenvError, match="service web has no container to start"):
        plan_start(PROJECT, empty_state(PROJECT), StartOptions(services=("web",)))


def test_restart_stops_then_starts_in_dependency_order() -> None:
    state = running()
    plan = plan_restart(PROJECT, state, RestartOptions(services=("db", "api")))
    assert plan.describe().splitlines() == [
        "stop container demo-api-1 (restart)",
        "stop container demo-db-1 (restart)",
        "start container demo-db-1 (restart)",
        "wait until healthy demo-db-1 (api needs db healthy; restart returns once db is healthy)",
        "start container demo-api-1 (restart)",
        "wait until running demo-api-1 (restart returns once api is ready)",
    ]
    simulate(plan, state)


def test_start_and_restart_end_once_what_they_started_is_ready() -> None:
    stopped = simulate(plan_stop(PROJECT, running()), running())
    plan = plan_start(PROJECT, stopped, StartOptions(services=("web", "cron")))
    assert sorted(plan.describe().splitlines()) == [
        "start container demo-cron-1 (start)",
        "start container demo-web-1 (start)",
        "wait until running demo-cron-1 (start returns once cron is ready)",
        "wait until running demo-web-1 (start returns once web is ready)",
    ]
    gate = plan.get("wait_running:demo-web-1")
    assert gate.after == ("start_container:demo-web-1",)
    assert list(gate.payload.dependents) == ["--wait"]  # the engine layer's "ready" rule, as for `up`
    assert plan_start(PROJECT, running()).ids() == ()  # nothing started, nothing to wait for
    restart = plan_restart(PROJECT, running(), RestartOptions(services=("db",)))
    assert restart.get("wait_healthy:demo-db-1").reason == "restart returns once db is healthy"  # the file's healthcheck
    assert plan_restart(PROJECT, running(), RestartOptions(services=("db",), wait=False)).of(Op.WAIT_HEALTHY) == ()


def test_inherited_anonymous_volume_is_removed_with_volumes() -> None:
    state = running()
    reused = ObservedMount("volume", "e" * 64, "", "/anon")
    state = replace_container(state, "demo-db-1", mounts=(reused,))
    assert f"remove_volume:{'e' * 64}" in plan_down(PROJECT, state, DownOptions(volumes=True)).ids()
