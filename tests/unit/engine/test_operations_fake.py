"""Each plan operation is one engine call with the fields the plan gave it (waits only read), on
the in-memory engine; the actions come from the real planner."""

from __future__ import annotations

from typing import Any

import pytest

from devenv.engine.operations import OPERATIONS, Context, logs_tail
from devenv.errors import EngineError
from devenv.plan.actions import Action, Op, Plan
from devenv.plan.lifecycle import plan_down
from devenv.plan.observed import ObservedState
from devenv.plan.options import DownOptions
from tests.fake_engine import Call, FakeEngineAPI
from tests.unit.engine.fake_projects import run, up_plan
from tests.unit.plan.plan_factories import IMAGE, make_project, svc

PROJECT = make_project(
    {
        "web": svc(networks={"default": None, "back": None}, platform="linux/amd64"),
        "db": svc(volumes=[{"type": "volume", "source": "data", "target": "/data", "volume": {}}]),
    },
    networks={"back": {}},
    volumes={"data": {}},
)


def context(client: Any) -> Context:
    return Context(client, None, 5.0, lambda: False, lambda _line: None)


def action(plan: Plan, op: Op, target: str | None = None) -> Action:
    return next(a for a in plan if a.op is op and (target is None or a.target == target))


def perform(client: Any, fake: FakeEngineAPI, act: Action) -> tuple[str, list[Call]]:
    """Run one operation; what it said and the calls it made."""
    before = len(fake.calls)
    detail = OPERATIONS[act.op](context(client), act)
    return detail, fake.calls[before:]


def test_creating_a_network_a_volume_and_a_container_is_one_call_each(client, fake: FakeEngineAPI) -> None:
    plan = up_plan(PROJECT)
    detail, calls = perform(client, fake, action(plan, Op.CREATE_NETWORK, "demo_back"))
    assert (detail, [c.method for c in calls]) == ("created", ["create_network"])
    assert calls[0].args["body"]["Name"] == "demo_back"
    assert calls[0].args["body"]["Labels"]["com.docker.compose.network"] == "back"
    perform(client, fake, action(plan, Op.CREATE_NETWORK, "demo_default"))

    detail, calls = perform(client, fake, action(plan, Op.CREATE_VOLUME, "demo_data"))
    assert (detail, [c.method for c in calls]) == ("created", ["create_volume"])
    assert calls[0].args["body"]["Labels"]["com.docker.compose.volume"] == "data"

    detail, calls = perform(client, fake, action(plan, Op.CREATE_CONTAINER, "demo-web-1"))
    assert (detail, [c.method for c in calls]) == ("created", ["create_container"])
    create = calls[0].args
    assert create["name"] == "demo-web-1" and create["platform"] == "linux/amd64"
    assert create["body"]["Image"] == IMAGE
    assert create["body"]["Labels"]["com.docker.compose.service"] == "web"


def test_connecting_and_starting_are_one_call_each(client, fake: FakeEngineAPI) -> None:
    plan = up_plan(PROJECT)
    for op, target in ((Op.CREATE_NETWORK, "demo_back"), (Op.CREATE_NETWORK, "demo_default"), (Op.CREATE_CONTAINER, "demo-web-1")):
        perform(client, fake, action(plan, op, target))
    connect = action(plan, Op.CONNECT_NETWORK)
    detail, calls = perform(client, fake, connect)
    assert [c.method for c in calls] == ["connect_network"]
    assert calls[0].args["network"] in ("demo_back", "demo_default")
    assert calls[0].args["body"]["Container"] == "demo-web-1"
    detail, calls = perform(client, fake, action(plan, Op.START_CONTAINER, "demo-web-1"))
    assert (detail, [(c.method, c.target) for c in calls]) == ("started", [("start", "demo-web-1")])


def test_a_pull_is_one_call_with_repository_tag_and_platform(client, fake: FakeEngineAPI) -> None:
    fake.registry["127.0.0.1:5000/demo/web:2"] = "sha256:" + "e" * 64
    plan = up_plan(make_project({"web": svc(image="127.0.0.1:5000/demo/web:2", platform="linux/amd64")}))
    detail, calls = perform(client, fake, action(plan, Op.PULL_IMAGE))
    assert detail == "pulled"
    assert [(c.method, c.args) for c in calls] == [
        ("pull", {"repository": "127.0.0.1:5000/demo/web", "tag": "2", "platform": "linux/amd64"})
    ]


def test_a_failed_pull_says_the_registrys_error(client, fake: FakeEngineAPI) -> None:
    plan = up_plan(make_project({"web": svc(image="127.0.0.1:5000/demo/web:3")}))
    with pytest.raises(EngineError, match="pull 127.0.0.1:5000/demo/web:3: manifest for .* not found"):
        perform(client, fake, action(plan, Op.PULL_IMAGE))


def observed_after_up(client: Any, fake: FakeEngineAPI) -> ObservedState:
    from devenv.engine.observe import observe

    assert all(o.ok for o in run(client, None, up_plan(PROJECT)).values())
    return observe(client, PROJECT)


def test_stopping_and_removing_are_one_call_each_by_container_id(client, fake: FakeEngineAPI) -> None:
    observed = observed_after_up(client, fake)
    plan = plan_down(PROJECT, observed, DownOptions(timeout=3))
    web_id = fake.containers_["demo-web-1"]["Id"]
    detail, calls = perform(client, fake, action(plan, Op.STOP_CONTAINER, "demo-web-1"))
    assert (detail, [(c.method, c.args) for c in calls]) == ("stopped", [("stop", {"container": web_id, "timeout": 3})])
    detail, calls = perform(client, fake, action(plan, Op.REMOVE_CONTAINER, "demo-web-1"))
    assert (detail, [(c.method, c.args) for c in calls]) == (
        "removed", [("remove_container", {"container": web_id, "v": False, "force": True})])
    detail, calls = perform(client, fake, action(plan, Op.REMOVE_CONTAINER, "demo-web-1"))
    assert detail == "already gone"  # a second removal: the goal is reached


def test_a_network_still_used_by_a_container_of_another_project_is_named(client, fake: FakeEngineAPI) -> None:
    observed = observed_after_up(client, fake)
    plan = plan_down(PROJECT, observed)
    fake.create_container("stranger", {"Image": IMAGE})
    fake.connect_network("demo_back", {"Container": "stranger"})
    for name in ("demo-web-1", "demo-db-1"):
        fake.remove_container(name, force=True)
    with pytest.raises(EngineError, match="network demo_back is still used by stranger"):
        perform(client, fake, action(plan, Op.REMOVE_NETWORK, "demo_back"))
    assert not [a for a in plan if a.op is Op.REMOVE_VOLUME]  # down without -v keeps the named volume


def test_a_wait_only_reads_the_container(client, fake: FakeEngineAPI) -> None:
    from devenv.engine.events import EventWatch

    fake.create_container("demo-web-1", {"Image": IMAGE, "Labels": {"com.docker.compose.project": "demo"}})
    fake.start("demo-web-1")
    wait = Action("wait_running:demo-web-1", Op.WAIT_RUNNING, "demo-web-1", service="web")
    watch = EventWatch(client, "demo")
    try:
        before = len(fake.calls)
        assert OPERATIONS[Op.WAIT_RUNNING](Context(client, watch, 5.0, lambda: False, lambda _l: None), wait) == "running"
        assert {c.method for c in fake.calls[before:]} == {"inspect_container"}
    finally:
        watch.close()


def test_the_log_tail_of_a_failed_container(client, fake: FakeEngineAPI) -> None:
    fake.create_container("demo-web-1", {"Image": IMAGE})
    fake.logs_["demo-web-1"] = [f"line {i}" for i in range(20)]
    assert logs_tail(context(client), "demo-web-1", 3) == "line 17\nline 18\nline 19"
    assert fake.called("logs")[0].args["tail"] == 3
    assert logs_tail(context(client), "demo-gone-1") == ""  # no such container: no lines, no error
