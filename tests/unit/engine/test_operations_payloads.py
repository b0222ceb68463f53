"""Each operation reads its typed payload and makes its one Engine API call with those fields
(a recording stand-in for the API; what Docker does with them is tested on the real engine)."""

from __future__ import annotations

from typing import Any

import pytest

from devenv.engine.operations import OPERATIONS, Context
from devenv.plan import naming
from devenv.plan import payloads as P
from devenv.plan.actions import Action, Op
from devenv.plan.run import RunOptions, plan_run
from tests.unit.plan.plan_factories import IMAGE_ID, empty_state, make_project, svc


class Recorder:
    """Records each call; answers what the operations read back."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def __getattr__(self, name: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if name == "pull":
                return iter([{"status": "done"}])
            if name == "inspect_image":
                return {"Id": IMAGE_ID}
            return None

        return call


class Client:
    def __init__(self) -> None:
        self.api = Recorder()


def run(action: Action) -> tuple[str, list[tuple[str, tuple[Any, ...], dict[str, Any]]]]:
    client = Client()
    detail = OPERATIONS[action.op](Context(client, None, 0, lambda: False, lambda _l: None), action)
    return detail, client.api.calls


def test_creates_send_their_body_as_plain_json() -> None:
    body = {"Name": "demo_front", "Labels": {"a": "b"}, "IPAM": {"Config": [{"Subnet": "10.1.0.0/24"}]}}
    _, calls = run(Action("create_network:demo_front", Op.CREATE_NETWORK, "demo_front", payload=P.CreateNetwork(body)))
    assert calls == [("create_network", (body,), {})]
    assert type(calls[0][1][0]["IPAM"]["Config"]) is list  # thawed: JSON-serialisable
    _, calls = run(Action("create_volume:v", Op.CREATE_VOLUME, "v", payload=P.CreateVolume({"Name": "v"})))
    assert calls == [("create_volume", ({"Name": "v"},), {})]
    _, calls = run(Action("connect_network:c@n", Op.CONNECT_NETWORK, "c", payload=P.ConnectNetwork("n", {"Container": "c"})))
    assert calls == [("connect_network", ("n", {"Container": "c"}), {})]


def test_a_pull_passes_the_platform() -> None:
    detail, calls = run(Action("pull_image:r:5000/x:1", Op.PULL_IMAGE, "r:5000/x:1", payload=P.PullImage("r:5000/x:1", "linux/arm64")))
    assert detail == "pulled"
    assert calls == [("pull", ("r:5000/x",), {"tag": "1", "platform": "linux/arm64"})]


def test_a_build_gets_plain_data(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr("devenv.engine.build.build", lambda ctx, *args, **kwargs: seen.append((*args, kwargs)))
    payload = P.BuildImage("demo-web", "web", {"context": "/src", "args": {"A": "1"}}, "linux/amd64", {"s": {"file": "/s"}})
    assert run(Action("build_image:demo-web", Op.BUILD_IMAGE, "demo-web", payload=payload))[0] == "built"
    image, config, platform, kwargs = seen[0]
    assert (image, config, platform) == ("demo-web", {"context": "/src", "args": {"A": "1"}}, "linux/amd64")
    assert kwargs == {"service": "web", "secrets": {"s": {"file": "/s"}}}
    assert type(config) is dict and type(kwargs["secrets"]) is dict


def test_stop_remove_start_and_unpause_act_on_the_container_id_when_known() -> None:
    assert run(Action("stop_container:a", Op.STOP_CONTAINER, "a", payload=P.StopContainer("id-a", 3)))[1] == [
        ("stop", ("id-a",), {"timeout": 3})]
    assert run(Action("stop_container:a", Op.STOP_CONTAINER, "a", payload=P.StopContainer()))[1] == [("stop", ("a",), {"timeout": 10})]
    assert run(Action("remove_container:a", Op.REMOVE_CONTAINER, "a", payload=P.RemoveContainer("id-a", True)))[1] == [
        ("remove_container", ("id-a",), {"v": True, "force": True})]
    assert run(Action("start_container:a", Op.START_CONTAINER, "a", payload=P.StartContainer("id-a")))[1] == [("start", ("id-a",), {})]
    assert run(Action("unpause_container:a", Op.UNPAUSE_CONTAINER, "a"))[1] == [("unpause", ("a",), {})]
    assert run(Action("remove_volume:v", Op.REMOVE_VOLUME, "v"))[1] == [("remove_volume", ("v",), {})]


def test_the_one_off_container_of_a_run_plan_is_created_as_planned() -> None:
    project = make_project({"web": svc()})
    plan = plan_run(project, empty_state(project), RunOptions("web", "a" * 64, remove=True, detach=True, name="mine"))
    create = plan.get("create_container:mine")
    _, calls = run(create)
    assert [c[0] for c in calls] == ["create_container"]
    name, body = calls[0][1]
    assert name == "mine" and calls[0][2] == {"platform": None}
    assert body["HostConfig"]["AutoRemove"] is True and body["Labels"]["com.docker.compose.oneoff"] == "True"


def test_a_pending_image_is_looked_up_before_the_create() -> None:
    project = make_project({"web": svc()})
    plan = plan_run(project, empty_state(project, images={}), RunOptions("web", "a" * 64))
    create = next(a for a in plan.actions if a.op is Op.CREATE_CONTAINER)
    assert isinstance(create.payload, P.CreateContainer) and create.payload.image_pending
    _, calls = run(create)
    assert [c[0] for c in calls] == ["inspect_image", "create_container"]
    body = calls[1][1][1]
    assert body["Image"] == "devenv/busybox:latest" and body["Labels"][naming.IMAGE_LABEL] == IMAGE_ID
