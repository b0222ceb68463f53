"""The executor on the in-memory engine: actions run in parallel along the plan's graph, in the
graph's order, and a failure skips what depends on it while independent branches go on."""

from __future__ import annotations

import threading

from devenv.engine.events import EventWatch
from tests.fake_engine import Call, FakeEngineAPI
from tests.unit.engine.fake_projects import GUARD, WEB_DB_CACHE, run, up_plan, when_running
from tests.unit.plan.plan_factories import make_project, svc


def test_independent_actions_are_in_flight_at_the_same_time(client, fake: FakeEngineAPI) -> None:
    """The creates of two unrelated services overlap: the first is held until the second has begun
    (a serial executor would never get there, and the hold would give up)."""
    project = make_project({"a": svc(), "b": svc()})
    second_began = threading.Event()
    overlapped: list[bool] = []

    def hold(call: Call) -> None:
        if call.args["name"] == "demo-a-1":
            overlapped.append(second_began.wait(GUARD))
        else:
            second_began.set()

    fake.on("create_container", hold)
    outcomes = run(client, None, up_plan(project))
    assert overlapped == [True]
    assert all(o.ok for o in outcomes.values()), outcomes


def test_the_graph_orders_the_calls(client, fake: FakeEngineAPI, watch: EventWatch) -> None:
    """Network before containers, each container created before it starts, and web started only
    once db has been reported healthy."""
    when_running(fake, "demo-db-1", lambda: fake.set_health("demo-db-1", "healthy"))
    outcomes = run(client, watch, up_plan(WEB_DB_CACHE))
    assert all(o.ok for o in outcomes.values()), outcomes
    calls = fake.calls
    index = {(c.method, c.target): i for i, c in enumerate(calls) if isinstance(c.target, str)}
    network = index_of(calls, "create_network")
    for name in ("demo-db-1", "demo-web-1", "demo-cache-1"):
        assert network < index[("create_container", name)] < index[("start", name)]
    health_read = max(i for i, c in enumerate(calls) if c.method == "inspect_container" and c.target == "demo-db-1")
    assert index[("start", "demo-db-1")] < health_read < index[("start", "demo-web-1")]
    assert outcomes["wait_healthy:demo-db-1"].detail == "healthy"


def index_of(calls: list[Call], method: str) -> int:
    return next(i for i, c in enumerate(calls) if c.method == method)


def test_a_failure_skips_its_dependents_and_independent_branches_go_on(client, fake: FakeEngineAPI, watch: EventWatch) -> None:
    fake.fail("create_container", "demo-db-1", 500, "no space left on device")
    outcomes = run(client, watch, up_plan(WEB_DB_CACHE))
    assert outcomes["create_container:demo-db-1"].status == "failed"
    assert outcomes["create_container:demo-db-1"].detail == "no space left on device"
    for skipped in ("start_container:demo-db-1", "wait_healthy:demo-db-1", "start_container:demo-web-1"):
        assert outcomes[skipped].status == "skipped", outcomes[skipped]
        assert "failed" in outcomes[skipped].detail
    assert outcomes["start_container:demo-cache-1"].ok
    started = [c.target for c in fake.called("start")]
    assert started == ["demo-cache-1"]
    assert "demo-cache-1" in fake.containers_ and fake.containers_["demo-cache-1"]["State"]["Running"]


def test_a_gate_that_can_never_open_fails_the_services_behind_it(client, fake: FakeEngineAPI, watch: EventWatch) -> None:
    when_running(fake, "demo-db-1", lambda: fake.exit("demo-db-1", 3))
    outcomes = run(client, watch, up_plan(WEB_DB_CACHE))
    assert outcomes["wait_healthy:demo-db-1"].status == "failed"
    assert outcomes["wait_healthy:demo-db-1"].detail == "it exited with code 3"
    assert outcomes["start_container:demo-web-1"].status == "skipped"
    assert [c.target for c in fake.called("start")].count("demo-web-1") == 0
