"""What `devenv deploy` (engine/swarm.py) asks of the engine, through `EngineAPI` on the in-memory
fake: the manager check, the bodies of the networks, secrets, configs and services it creates
(in the plan's order, with the secrets' new IDs and the image's registry credentials), the
version an update names, what it observes back, `--rm`'s removals, and engine errors as one line.
What a real swarm does with those calls: tests/integration/test_deploy_swarm.py."""

from __future__ import annotations

import base64

import pytest

from devenv.engine.api import APIError
from devenv.engine.swarm import Swarm, apply, remove_stack
from devenv.errors import EngineError
from devenv.plan.stack import (
    Change,
    FileObject,
    NetworkObject,
    ServiceObject,
    Stack,
    plan,
    stack_labels,
)
from tests.fake_engine import Call, FakeEngineAPI, fake_client

PROJECT = "s"
IMAGE = "127.0.0.1:5000/team/web:1"


def service_object(replicas: int = 2, spec_hash: str = "h1") -> ServiceObject:
    spec = {"Name": "s_web", "Labels": {**stack_labels(PROJECT), "io.devenv.spec-hash": spec_hash},
            "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {"ContainerSpec": {"Image": IMAGE, "Secrets": [{"SecretName": "s_pw_1", "SecretID": ""}]},
                             "Networks": [{"Target": "s_default"}]},
            "UpdateConfig": {}, "RollbackConfig": {}, "EndpointSpec": {"Mode": "vip"}}
    return ServiceObject(key="web", name="s_web", spec=spec)


def the_stack(service: ServiceObject | None = None) -> Stack:
    network = NetworkObject("default", "s_default", False, spec={
        "Name": "s_default", "Driver": "overlay", "Attachable": True, "Internal": False, "Options": {},
        "Labels": {**stack_labels(PROJECT), "io.devenv.spec-hash": "n1"}})
    secret = FileObject("secret", "pw", "s_pw_1", False, labels=stack_labels(PROJECT), data=b"hunter2\n")
    return Stack(PROJECT, networks=(network,), secrets=(secret,), configs=(), services=(service or service_object(),))


@pytest.fixture
def fake() -> FakeEngineAPI:
    api = FakeEngineAPI()
    api.make_manager()
    return api


def swarm_of(fake: FakeEngineAPI) -> Swarm:
    return Swarm(fake_client(fake), auth=lambda image: {"username": "u", "password": "p"} if image == IMAGE else None)


def deploy(swarm: Swarm, stack: Stack) -> list[Change]:
    existing = swarm.existing(PROJECT)
    done: list[Change] = []
    apply(swarm, stack, plan(stack, existing), existing, done.append)
    return done


def test_the_manager_check_reads_info() -> None:
    api = FakeEngineAPI()
    with pytest.raises(EngineError, match="not in a swarm"):
        swarm_of(api).check_manager()
    api.swarm = {"LocalNodeState": "active", "ControlAvailable": False}
    with pytest.raises(EngineError, match="a swarm worker; deploy to a manager"):
        swarm_of(api).check_manager()
    api.make_manager()
    swarm_of(api).check_manager()


def test_a_first_deploy_creates_in_the_plans_order_with_the_apis_bodies(fake: FakeEngineAPI) -> None:
    done = deploy(swarm_of(fake), the_stack())
    assert [(c.kind, c.action) for c in done] == [("network", "create"), ("secret", "create"), ("service", "create")]
    creates = [c for c in fake.calls if c.method.startswith("create_")]
    assert [c.method for c in creates] == ["create_network", "create_secret", "create_service"]
    network = creates[0].args["body"]
    assert network["Scope"] == "swarm" and network["CheckDuplicate"] is True and network["Driver"] == "overlay"
    secret = creates[1].args["body"]
    assert base64.b64decode(secret["Data"]) == b"hunter2\n" and secret["Name"] == "s_pw_1"
    service: Call = creates[2]
    refs = service.args["spec"]["TaskTemplate"]["ContainerSpec"]["Secrets"]
    assert refs == [{"SecretName": "s_pw_1", "SecretID": fake.secrets_["s_pw_1"]["ID"]}]
    assert service.args["auth"] == {"username": "u", "password": "p"}


def test_what_was_made_is_observed_back_and_a_second_deploy_changes_nothing(fake: FakeEngineAPI) -> None:
    swarm = swarm_of(fake)
    deploy(swarm, the_stack())
    existing = swarm.existing(PROJECT)
    assert set(existing.services) == {"s_web"} and existing.services["s_web"].version == 1
    assert set(existing.networks) == {"s_default"} and set(existing.secrets) == {"s_pw_1"}
    assert existing.services["s_web"].namespace == PROJECT
    before = len(fake.calls)
    assert {c.action for c in deploy(swarm, the_stack())} == {"unchanged"}
    assert not [c for c in fake.calls[before:] if c.method.startswith(("create_", "update_", "remove_"))]


def test_a_changed_service_is_updated_at_the_version_observed(fake: FakeEngineAPI) -> None:
    swarm = swarm_of(fake)
    deploy(swarm, the_stack())
    done = deploy(swarm, the_stack(service_object(replicas=3, spec_hash="h2")))
    assert [(c.kind, c.action) for c in done if c.action != "unchanged"] == [("service", "update")]
    (update,) = fake.called("update_service")
    assert update.args["service"] == fake.services_["s_web"]["ID"] and update.args["version"] == 1
    assert update.args["spec"]["Mode"] == {"Replicated": {"Replicas": 3}}
    assert fake.services_["s_web"]["Version"]["Index"] == 2


def test_tasks_name_their_node_and_update_status_is_read(fake: FakeEngineAPI) -> None:
    swarm = swarm_of(fake)
    deploy(swarm, the_stack())
    failed = fake.add_task("s_web", "failed", desired="shutdown", error="task: non-zero exit (1)")
    fake.add_task("s_web", "running", slot=2)
    tasks = swarm.tasks("s_web", swarm.nodes())
    assert [(t.id, t.state, t.node, t.slot) for t in tasks][0] == (failed, "failed", "fake-node", 1)
    assert tasks[0].failure_line().endswith("failed: task: non-zero exit (1)")
    assert fake.called("tasks")[0].args["filters"] == {"service": "s_web"}
    assert swarm.update_status("s_web") == (None, "")


def test_rm_removes_services_first_then_the_rest(fake: FakeEngineAPI) -> None:
    from devenv.plan.stack import removal

    swarm = swarm_of(fake)
    deploy(swarm, the_stack())
    changes = removal(PROJECT, swarm.existing(PROJECT))
    left = remove_stack(swarm, PROJECT, changes, lambda _change: None, timeout=1.0)
    assert left == []
    removals = [c.method for c in fake.calls if c.method.startswith("remove_")]
    assert removals == ["remove_service", "remove_secret", "remove_network"]
    assert not fake.services_ and not fake.secrets_ and not fake.networks_


def test_an_engine_error_is_one_line_naming_the_call(fake: FakeEngineAPI) -> None:
    def refuse(_call: Call) -> None:
        raise APIError(400, "rpc error: code = InvalidArgument desc = bad spec\nmore", "POST", "/services/create")

    fake.on("create_service", refuse)
    with pytest.raises(EngineError) as caught:
        deploy(swarm_of(fake), the_stack())
    assert str(caught.value) == "create service s_web: rpc error: code = InvalidArgument desc = bad spec"


def test_a_bug_is_not_disguised_as_an_engine_error(fake: FakeEngineAPI) -> None:
    def bug(_call: Call) -> None:
        raise KeyError("oops")

    fake.on("services", bug)
    with pytest.raises(KeyError):
        swarm_of(fake).existing(PROJECT)
