"""Typed action payloads: one frozen dataclass per operation, and the JSON the plan always showed."""

from __future__ import annotations

import dataclasses
import json

import pytest

from devenv.plan import payloads as P
from devenv.plan.actions import PAYLOAD_TYPES, Action, Op, Plan, PlanBuilder
from devenv.plan.fileobjects import InjectedFile
from devenv.plan.payloads import container_handle
from tests.unit.plan.plan_factories import empty_state, make_project, svc
from tests.unit.plan.test_plan_up import up


def test_every_op_has_its_own_frozen_payload_type() -> None:
    assert set(PAYLOAD_TYPES) == set(Op)
    assert len(set(PAYLOAD_TYPES.values())) == len(Op)
    for kind in PAYLOAD_TYPES.values():
        assert dataclasses.is_dataclass(kind) and kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_an_action_takes_only_its_ops_payload_and_defaults_to_the_empty_one() -> None:
    assert Action("remove_network:n", Op.REMOVE_NETWORK, "n").payload == P.RemoveNetwork()
    assert Action("start_container:c", Op.START_CONTAINER, "c").payload == P.StartContainer()
    with pytest.raises(TypeError, match="stop_container takes a StopContainer payload, not RemoveContainer"):
        Action("stop_container:c", Op.STOP_CONTAINER, "c", payload=P.RemoveContainer())
    with pytest.raises(TypeError, match="wait_healthy takes a WaitHealthy payload, not WaitRunning"):
        Action("wait_healthy:c", Op.WAIT_HEALTHY, "c", payload=P.WaitRunning(service="db"))
    with pytest.raises(TypeError):
        Action("create_container:c", Op.CREATE_CONTAINER, "c")  # a create needs its spec


def test_payloads_cannot_change() -> None:
    stop = P.StopContainer("id-1", 5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stop.timeout = 1  # type: ignore[misc]
    body = {"Name": "n", "Labels": {"a": "b"}}
    network = P.CreateNetwork(body)
    body["Labels"]["a"] = "changed"  # the caller's dict is copied, then frozen
    assert network.body["Labels"]["a"] == "b"
    with pytest.raises(TypeError):
        network.body["Name"] = "m"  # type: ignore[index]
    build = P.BuildImage("img", "web", {"context": "/src", "args": {"A": "1"}})
    with pytest.raises(TypeError):
        build.build["args"]["A"] = "2"  # type: ignore[index]


def test_to_dict_keeps_the_json_shape_of_the_dict_payloads() -> None:
    assert P.StopContainer(None, None).to_dict() == {"timeout": None}
    assert P.StopContainer("id-1", 20).to_dict() == {"timeout": 20, "container": "id-1"}
    assert P.RemoveContainer(None, True).to_dict() == {"volumes": True}
    assert P.RemoveContainer("id-1").to_dict() == {"volumes": False, "container": "id-1"}
    assert P.StartContainer().to_dict() == {} and P.StartContainer("id-1").to_dict() == {"container": "id-1"}
    assert P.UnpauseContainer("id-2").to_dict() == {"container": "id-2"}
    assert P.RemoveNetwork().to_dict() == {} and P.RemoveVolume().to_dict() == {}
    assert P.CreateVolume({"Name": "v"}).to_dict() == {"body": {"Name": "v"}}
    assert P.CreateNetwork({"Name": "n", "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}}).to_dict() == {
        "body": {"Name": "n", "IPAM": {"Config": [{"Subnet": "10.0.0.0/24"}]}}
    }
    assert P.ConnectNetwork("front", {"Container": "c"}).to_dict() == {"network": "front", "body": {"Container": "c"}}
    assert P.PullImage("busybox", None).to_dict() == {"image": "busybox", "platform": None}
    assert P.WaitHealthy("id-db", "db", True, ("web",)).to_dict() == {
        "service": "db", "required": True, "container": "id-db", "dependents": ["web"]
    }
    assert P.WaitCompleted(service="init", required=False).to_dict() == {"service": "init", "required": False}


def test_a_build_payload_never_shows_a_secret_value() -> None:
    build = P.BuildImage("img", "web", {"context": "/src", "secrets": [{"source": "token"}]}, "linux/amd64",
                         {"token": {"environment": "TOKEN", "name": "p_token", "resolved": "s3cret"}})
    shown = build.to_dict()
    assert list(shown) == ["image", "platform", "service", "build", "secrets"]  # the order `up --format json` printed
    assert shown["secrets"] == {"token": {"environment": "TOKEN", "name": "p_token"}}
    assert "s3cret" not in json.dumps(shown)
    assert build.secrets["token"]["resolved"] == "s3cret"  # the builder still gets it


def test_copy_files_shows_paths_not_contents() -> None:
    secret = InjectedFile("/run/secrets/s", "hidden-content", 0o400, 0, 0, "secret", "s")  # type: ignore[arg-type]
    shown = P.CopyFiles((secret,)).to_dict()
    assert shown == {"files": [{"path": "/run/secrets/s", "kind": "secret", "source": "s", "mode": "0o400", "uid": 0, "gid": 0}]}


def test_the_handle_is_the_container_id_when_known() -> None:
    assert container_handle(P.StopContainer("id-1"), "p-web-1") == "id-1"
    assert container_handle(P.StopContainer(), "p-web-1") == "p-web-1"
    assert container_handle(P.RemoveNetwork(), "p_default") == "p_default"
    assert Action("wait_running:x", Op.WAIT_RUNNING, "x", payload=P.WaitRunning("id-x", "x")).handle == "id-x"


def test_build_platforms_are_the_listed_ones_else_the_services() -> None:
    assert P.BuildImage("i", "s", {"platforms": ["linux/amd64", "linux/arm64"]}, "linux/amd64").platforms == ("linux/amd64", "linux/arm64")
    assert P.BuildImage("i", "s", {}, "linux/arm64").platforms == ("linux/arm64",)
    assert P.BuildImage("i", "s", {}).platforms == ()


def test_a_plan_of_typed_payloads_gives_the_same_json_as_before() -> None:
    project = make_project({"web": svc(networks={"default": None, "front": {"aliases": ["www"]}}, stop_grace_period="7s")},
                           networks={"front": {}})
    plan = up(project, empty_state(project))
    data = json.loads(plan.to_json())
    create = next(a for a in data["actions"] if a["op"] == "create_container")
    assert set(create["payload"]) == {"spec", "image_pending"} and create["payload"]["image_pending"] is False
    connect = next(a for a in data["actions"] if a["op"] == "connect_network")
    assert connect["payload"]["network"] == "demo_front"
    assert connect["payload"]["body"]["EndpointConfig"]["Aliases"] == ["demo-web-1", "web", "www"]
    start = next(a for a in data["actions"] if a["op"] == "start_container")
    assert start["payload"] == {}


def test_the_builder_fills_in_the_empty_payload_and_keeps_typed_ones() -> None:
    b = PlanBuilder("down", "demo")
    b.add(Op.REMOVE_NETWORK, "demo_default")
    b.add(Op.STOP_CONTAINER, "demo-web-1", payload=P.StopContainer("id-web", 3))
    plan = b.build()
    assert isinstance(plan, Plan)
    assert plan.get("remove_network:demo_default").payload == P.RemoveNetwork()
    assert plan.get("stop_container:demo-web-1").payload == P.StopContainer("id-web", 3)
