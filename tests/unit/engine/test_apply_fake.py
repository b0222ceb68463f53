"""Observe → plan → apply on the in-memory engine: what reaches the engine for `up` and `down`,
and what is refused before anything changes."""

from __future__ import annotations

from typing import Any

import pytest

from devenv.engine.apply import apply
from devenv.errors import DevenvError
from devenv.model import Project
from devenv.plan.lifecycle import plan_down
from devenv.plan.options import DownOptions, UpOptions
from devenv.plan.planner import plan_up
from tests.fake_engine import FakeEngineAPI
from tests.unit.engine.fake_projects import WEB_DB_CACHE, healthy_dep, when_running
from tests.unit.plan.plan_factories import make_project, svc

CHANGES = {"create_network", "create_volume", "create_container", "connect_network", "start", "stop", "kill",
           "remove_container", "remove_network", "remove_volume", "pull", "build", "put_archive"}

pytestmark = pytest.mark.usefixtures("private_locks")  # apply takes the project lock: in tmp_path


def up(client: Any, project: Project, **options: Any) -> Any:
    return apply(client, project, lambda observed: plan_up(project, observed, UpOptions(**options)),
                 listener=lambda *_: None, say=lambda _line: None, wait_timeout=30.0)


def down(client: Any, project: Project, **options: Any) -> Any:
    return apply(client, project, lambda observed: plan_down(project, observed, DownOptions(**options)),
                 listener=lambda *_: None, say=lambda _line: None, wait_timeout=30.0, images=False)


def changes(fake: FakeEngineAPI) -> list[str]:
    return [c.method for c in fake.calls if c.method in CHANGES]


def test_up_creates_the_project_then_a_second_up_changes_nothing(client, fake: FakeEngineAPI) -> None:
    when_running(fake, "demo-db-1", lambda: fake.set_health("demo-db-1", "healthy"))
    first = up(client, WEB_DB_CACHE)
    assert not first.failures
    assert sorted(fake.containers_) == ["demo-cache-1", "demo-db-1", "demo-web-1"]
    labels = fake.networks_["demo_default"]["Labels"]
    assert labels["com.docker.compose.project"] == "demo" and labels["com.docker.compose.network"] == "default"
    assert all(c["State"]["Running"] for c in fake.containers_.values())
    fake.calls.clear()
    second = up(client, WEB_DB_CACHE)
    assert second.plans[0].is_empty
    assert changes(fake) == []


def test_a_failed_pull_leaves_nothing_made(client, fake: FakeEngineAPI) -> None:
    project = make_project({"web": svc(image="127.0.0.1:5000/demo/web:1"), "db": svc()})
    result = up(client, project)
    assert [o.action.op.value for o in result.failures] == ["pull_image"]
    assert "manifest for 127.0.0.1:5000/demo/web:1 not found" in result.failures[0].detail
    assert changes(fake) == ["pull"]
    assert fake.called("pull")[0].args == {"repository": "127.0.0.1:5000/demo/web", "tag": "1", "platform": None}


def test_a_pulled_image_is_used_by_the_container_made_from_it(client, fake: FakeEngineAPI) -> None:
    fake.registry["127.0.0.1:5000/demo/web:1"] = "sha256:" + "d" * 64
    project = make_project({"web": svc(image="127.0.0.1:5000/demo/web:1")})
    assert not up(client, project).failures
    assert fake.containers_["demo-web-1"]["Image"] == "sha256:" + "d" * 64


def test_a_health_dependency_on_a_service_without_healthcheck_is_refused_before_anything_is_made(client, fake) -> None:
    project = make_project({"db": svc(), "web": svc(depends_on={"db": healthy_dep()})})
    with pytest.raises(DevenvError, match="has no healthcheck"):
        up(client, project)
    assert changes(fake) == []


def test_the_images_healthcheck_satisfies_a_health_dependency(client, fake: FakeEngineAPI) -> None:
    fake.add_image("example/pg:16", healthcheck=["CMD", "pg_isready"])
    project = make_project({"db": svc(image="example/pg:16"), "web": svc(depends_on={"db": healthy_dep()})})
    when_running(fake, "demo-db-1", lambda: fake.set_health("demo-db-1", "healthy"))
    assert not up(client, project).failures
    assert fake.containers_["demo-web-1"]["State"]["Running"]


def test_down_removes_containers_and_networks_and_keeps_named_volumes(client, fake: FakeEngineAPI) -> None:
    project = make_project(
        {"db": svc(volumes=[{"type": "volume", "source": "data", "target": "/data", "volume": {}}])}, volumes={"data": {}},
    )
    assert not up(client, project).failures
    assert "demo_data" in fake.volumes_
    fake.calls.clear()
    assert not down(client, project).failures
    assert fake.containers_ == {} and fake.networks_ == {}
    assert "demo_data" in fake.volumes_
    assert "remove_volume" not in changes(fake)
    (stop,) = fake.called("stop")
    (remove,) = fake.called("remove_container")
    assert stop.args["container"] == remove.args["container"]  # the container's ID, as observed
    assert remove.args["v"] is False
    assert changes(fake).index("stop") < changes(fake).index("remove_container") < changes(fake).index("remove_network")


def test_down_with_volumes_removes_them_too(client, fake: FakeEngineAPI) -> None:
    project = make_project(
        {"db": svc(volumes=[{"type": "volume", "source": "data", "target": "/data", "volume": {}}])}, volumes={"data": {}},
    )
    assert not up(client, project).failures
    assert not down(client, project, volumes=True).failures
    assert fake.volumes_ == {}
