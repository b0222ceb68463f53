"""Gate pruning and the image phase (devenv/plan/phases.py), moved out of engine/apply.py."""

from __future__ import annotations

import dataclasses

import pytest

from devenv.plan import payloads as P
from devenv.plan.actions import Op, Plan, PlanBuilder
from devenv.plan.observed import ObservedState
from devenv.plan.phases import gate_satisfied, prune_satisfied_gates, split_image_phase, without
from tests.unit.plan.plan_factories import empty_state, foreign_container, make_project, replace_container, simulate, svc
from tests.unit.plan.test_plan_up import dep, running, up


def _state(**changes: object) -> ObservedState:
    c = dataclasses.replace(foreign_container("demo-db-1", "demo", "db"), **changes)
    return ObservedState("demo", (c,))


def _gate(op: Op, target: str = "demo-db-1", container: str | None = None, after: tuple[str, ...] = ()) -> Plan:
    kind = {Op.WAIT_HEALTHY: P.WaitHealthy, Op.WAIT_COMPLETED: P.WaitCompleted, Op.WAIT_RUNNING: P.WaitRunning}[op]
    b = PlanBuilder("up", "demo")
    for other in after:
        b.add(Op.CREATE_NETWORK, other.split(":", 1)[1])
    b.add(op, target, payload=kind(container, "db", True, ("web",)), after=after)
    return b.build()


@pytest.mark.parametrize(
    ("op", "changes", "satisfied"),
    [
        (Op.WAIT_RUNNING, {"state": "running"}, True),
        (Op.WAIT_RUNNING, {"state": "exited", "exit_code": 0}, False),
        (Op.WAIT_RUNNING, {"state": "paused"}, False),
        (Op.WAIT_HEALTHY, {"state": "running", "health": "healthy"}, True),
        (Op.WAIT_HEALTHY, {"state": "running", "health": "starting"}, False),
        (Op.WAIT_HEALTHY, {"state": "running", "health": "unhealthy"}, False),
        (Op.WAIT_HEALTHY, {"state": "exited", "health": "healthy"}, False),
        (Op.WAIT_COMPLETED, {"state": "exited", "exit_code": 0}, True),
        (Op.WAIT_COMPLETED, {"state": "exited", "exit_code": 1}, False),
        (Op.WAIT_COMPLETED, {"state": "running"}, False),
    ],
)
def test_a_gate_is_satisfied_by_the_observed_state(op: Op, changes: dict, satisfied: bool) -> None:
    plan = _gate(op)
    assert gate_satisfied(plan.actions[0], _state(**changes)) is satisfied
    assert len(prune_satisfied_gates(plan, _state(**changes))) == (0 if satisfied else 1)


def test_a_gate_after_something_this_plan_does_is_kept() -> None:
    plan = _gate(Op.WAIT_RUNNING, after=("create_network:x",))
    assert not gate_satisfied(plan.get("wait_running:demo-db-1"), _state(state="running"))
    assert prune_satisfied_gates(plan, _state(state="running")) is plan


def test_a_gate_finds_its_container_by_id_when_it_knows_it() -> None:
    renamed = _state(state="running", name="other-name")  # `docker rename`: the ID still matches
    assert gate_satisfied(_gate(Op.WAIT_RUNNING, container="id-demo-db-1").actions[0], renamed)
    assert not gate_satisfied(_gate(Op.WAIT_RUNNING).actions[0], renamed)  # by name: not found
    assert not gate_satisfied(_gate(Op.WAIT_RUNNING, container="id-else").actions[0], renamed)
    assert not gate_satisfied(_gate(Op.WAIT_RUNNING).actions[0], ObservedState("demo"))


def test_only_gates_are_pruned() -> None:
    b = PlanBuilder("up", "demo")
    b.add(Op.START_CONTAINER, "demo-db-1")
    plan = b.build()
    assert prune_satisfied_gates(plan, _state(state="running")) is plan


def test_pruning_drops_the_edges_to_the_pruned_gates() -> None:
    project = make_project({"db": svc(healthcheck={"test": ["CMD", "true"]}), "web": svc(depends_on={"db": dep("service_healthy")})})
    state = running(project)
    state = replace_container(state, "demo-web-1", state="exited", exit_code=0)
    plan = up(project, state)
    assert "wait_healthy:demo-db-1" in plan.ids()
    pruned = prune_satisfied_gates(plan, state)
    assert "wait_healthy:demo-db-1" not in pruned.ids()
    assert all("wait_healthy:demo-db-1" not in a.after for a in pruned.actions)
    assert pruned.get("start_container:demo-web-1").reason == plan.get("start_container:demo-web-1").reason


def test_a_no_op_up_with_wait_is_empty_once_pruned() -> None:
    project = make_project({"web": svc()})
    state = running(project, wait=True)
    plan = up(project, state, wait=True)
    assert plan.of(Op.WAIT_RUNNING) and not prune_satisfied_gates(plan, state).actions


def test_split_puts_every_pull_and_build_first_and_cuts_their_edges() -> None:
    project = make_project({"web": svc(image="demo-web", build={"context": "/src"}), "db": svc(image="postgres:16")})
    plan = up(project, empty_state(project, images={}))
    images, rest = split_image_phase(plan)
    assert {a.op for a in images} == {Op.BUILD_IMAGE, Op.PULL_IMAGE}
    assert set(images.ids()) | set(rest.ids()) == set(plan.ids()) and not set(images.ids()) & set(rest.ids())
    assert all(not set(a.after) & set(images.ids()) for a in rest.actions)
    assert (images.command, images.project, rest.notes) == (plan.command, plan.project, plan.notes)
    simulate(rest, simulate(images, empty_state(project, images={})))  # each phase runs in a valid order


def test_split_without_images_keeps_the_plan_whole() -> None:
    project = make_project({"web": svc()})
    plan = up(project, empty_state(project))
    images, rest = split_image_phase(plan)
    assert not images.actions and rest is plan


def test_without_nothing_is_the_same_plan() -> None:
    plan = _gate(Op.WAIT_RUNNING)
    assert without(plan, set()) is plan
    assert without(plan, {"wait_running:demo-db-1"}).actions == ()
