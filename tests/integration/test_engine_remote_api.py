"""RemoteAPI (the docker SDK's public methods, as for tcp:// and ssh:// engines) drives a whole
up → observe → down on the real engine, reached here through the local socket: the calls that go
through the SDK's session (raw create bodies, network connect) are understood by the engine as
LocalAPI's are."""

from __future__ import annotations

import os
from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import BUSYBOX, FAST_HEALTH, FOREVER, write_compose

pytestmark = pytest.mark.engine

STACK = f"""
services:
  db:
    image: {BUSYBOX}
    command: {FOREVER}
    healthcheck: {FAST_HEALTH}
    volumes: [data:/data]
    networks: [default, back]
  web:
    image: {BUSYBOX}
    command: {FOREVER}
    depends_on:
      db: {{condition: service_healthy}}
    networks: [back]
networks:
  back: {{}}
volumes:
  data: {{}}
"""


def test_remote_api_brings_a_project_up_and_down(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, base_images: tuple[str, str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    from devenv.engine.api import RemoteAPI
    from devenv.engine.apply import apply
    from devenv.engine.client import Engine
    from devenv.engine.lock import LOCK_DIR_ENV
    from devenv.manifest import load_project
    from devenv.manifest.options import ProjectOptions
    from devenv.plan.lifecycle import plan_down
    from devenv.plan.options import DownOptions, UpOptions
    from devenv.plan.planner import plan_up

    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        pytest.skip(f"this test reaches the engine through the local socket, and this run's engine is {host}")
    locks = tmp_path / "locks"
    locks.mkdir(mode=0o700)
    monkeypatch.setenv(LOCK_DIR_ENV, str(locks))
    write_compose(tmp_path, STACK)
    project = load_project(ProjectOptions(project_name=project_name, cwd=str(tmp_path)))
    client = Engine(RemoteAPI(docker.APIClient(base_url=host, version="1.41", timeout=60)), host)

    def run(make_plan):  # type: ignore[no-untyped-def]
        applied = apply(client, project, make_plan, listener=lambda *_: None, say=lambda _line: None, wait_timeout=60.0)
        assert not applied.failures, [(o.action.id, o.detail) for o in applied.failures]
        return applied

    run(lambda observed: plan_up(project, observed, UpOptions()))
    web = engine.api.inspect_container(f"{project_name}-web-1")
    assert web["State"]["Running"]
    assert set(web["NetworkSettings"]["Networks"]) == {f"{project_name}_back"}
    db = engine.api.inspect_container(f"{project_name}-db-1")
    assert set(db["NetworkSettings"]["Networks"]) == {f"{project_name}_default", f"{project_name}_back"}
    assert db["State"]["Health"]["Status"] == "healthy"
    labels = engine.api.inspect_volume(f"{project_name}_data")["Labels"]
    assert labels["com.docker.compose.project"] == project_name

    again = run(lambda observed: plan_up(project, observed, UpOptions()))
    assert again.plans[0].is_empty  # what RemoteAPI made reads back as up to date

    run(lambda observed: plan_down(project, observed, DownOptions()))
    assert not engine.api.containers(all=True, filters={"label": f"com.docker.compose.project={project_name}"})
    assert engine.api.inspect_volume(f"{project_name}_data")  # down without -v keeps the named volume
