"""A container renamed behind devenv's back (`docker rename`) is still its service's container:
found by labels, acted on by ID, left alone when up to date (as Compose does)."""

from __future__ import annotations

import dataclasses

from devenv.plan.actions import Op
from devenv.plan.lifecycle import plan_down, plan_restart, plan_stop
from devenv.plan.options import UpOptions
from devenv.plan.planner import plan_up
from tests.unit.plan.plan_factories import empty_state, make_project, simulate, svc

WEB_DB = make_project({"db": svc(), "web": svc(depends_on={"db": {"condition": "service_started", "required": True}})})


def renamed(project, old: str, new: str):
    state = empty_state(project)
    state = simulate(plan_up(project, state), state)
    return dataclasses.replace(
        state, containers=tuple(dataclasses.replace(c, name=new) if c.name == old else c for c in state.containers)
    )


def test_an_up_to_date_renamed_container_is_left_alone() -> None:
    state = renamed(WEB_DB, "demo-db-1", "other")
    assert len(plan_up(WEB_DB, state)) == 0


def test_waits_and_starts_name_the_renamed_container_by_id() -> None:
    state = renamed(WEB_DB, "demo-db-1", "other")
    plan = plan_up(WEB_DB, state, UpOptions(wait=True))
    gates = [a for a in plan if a.op is Op.WAIT_RUNNING and a.service == "db"]
    assert [(a.target, a.payload.container) for a in gates] == [("other", "id-demo-db-1")]
    restart = plan_restart(WEB_DB, state)
    start = next(a for a in restart if a.op is Op.START_CONTAINER and a.service == "db")
    assert (start.target, start.payload.container) == ("other", "id-demo-db-1")
    stop = next(a for a in plan_stop(WEB_DB, state) if a.service == "db")
    assert stop.payload.container == "id-demo-db-1"


def test_a_changed_renamed_container_is_replaced_under_the_expected_name() -> None:
    state = renamed(WEB_DB, "demo-db-1", "other")
    plan = plan_up(WEB_DB, state, UpOptions(force_recreate=True, services=("db",), no_deps=True))
    remove = plan.get("remove_container:other")
    assert remove.payload.container == "id-demo-db-1"
    assert plan.get("create_container:demo-db-1").after == (remove.id,)
    after = simulate(plan, state)
    assert sorted(c.name for c in after.containers) == ["demo-db-1", "demo-web-1"]


def test_down_removes_the_renamed_container() -> None:
    state = renamed(WEB_DB, "demo-web-1", "other")
    plan = plan_down(WEB_DB, state)
    assert plan.get("remove_container:other").payload.container == "id-demo-web-1"
    assert simulate(plan, state).containers == ()
