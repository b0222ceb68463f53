"""The engine test harness itself: engine, base images, cleanup, Compose binary, registry."""

from __future__ import annotations

import os
import urllib.request
import uuid
from pathlib import Path

import docker
import docker.errors
import pytest
from docker.models.resource import Model
from docker.types import Mount

from tests.engine_helpers import PROJECT_LABEL, cleanup_project, compose_env, run_compose
from tests.images import BUSYBOX_IMAGE, PYTHON_IMAGE, REGISTRY

pytestmark = pytest.mark.engine


def test_engine_answers_with_api_1_41_or_newer(engine: docker.DockerClient) -> None:
    version = engine.version()["ApiVersion"]
    assert tuple(int(part) for part in version.split(".")) >= (1, 41), version


def test_busybox_serves_and_fetches_over_a_user_network(
    engine: docker.DockerClient, base_images: tuple[str, str], project_name: str
) -> None:
    labels = {PROJECT_LABEL: project_name}
    network = engine.networks.create(f"{project_name}_default", labels=labels)
    server = f"{project_name}-httpd-1"
    engine.containers.run(
        BUSYBOX_IMAGE,
        ["sh", "-c", "echo hello from httpd >/var/www/index.html && exec httpd -f -p 80 -h /var/www"],
        name=server,
        network=network.name,
        labels=labels,
        detach=True,
    )
    # The client resolves the server by its container name (the network's DNS) and retries
    # until httpd listens; then it fetches the page with wget and again with raw nc.
    script = (
        f"for i in $(seq 50); do wget -qO- http://{server}/ && break; sleep 0.2; done; "
        f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc {server} 80"
    )
    output = engine.containers.run(
        BUSYBOX_IMAGE, ["sh", "-c", script], network=network.name, labels=labels, remove=True
    ).decode()
    assert output.count("hello from httpd") == 2, output
    assert " 200 OK\r\n" in output, output


def test_python_image_runs_python3(engine: docker.DockerClient, base_images: tuple[str, str]) -> None:
    output = engine.containers.run(
        PYTHON_IMAGE, ["python3", "-c", "import sys; print(sys.version_info[0])"], network_mode="none", remove=True
    )
    assert output.decode().strip() == "3"


def _exists(obj: Model) -> bool:
    try:
        obj.reload()
    except docker.errors.NotFound:
        return False
    return True


def test_cleanup_project_removes_only_that_project(
    engine: docker.DockerClient, base_images: tuple[str, str], project_name: str
) -> None:
    other = f"dvt-{uuid.uuid4().hex[:8]}"  # an unrelated project: must survive
    stray = f"dvt-{uuid.uuid4().hex[:8]}"  # a name prefix of no project: only the label counts
    mine, theirs = {PROJECT_LABEL: project_name}, {PROJECT_LABEL: other}
    containers, networks, volumes = engine.containers, engine.networks, engine.volumes
    sleep = ["sleep", "300"]
    anonymous = Mount(target="/data", source=None, type="volume")
    my_tags = {f"{project_name}-web:latest", f"{project_name}_db:latest", f"{project_name}/metrics:dev"}
    try:
        doomed: list[Model] = [
            containers.run(BUSYBOX_IMAGE, sleep, name=f"{stray}-app-1", labels=mine, mounts=[anonymous], detach=True),
            containers.create(BUSYBOX_IMAGE, sleep, name=f"{project_name}_app_1"),
            networks.create(f"{stray}_net", labels=mine),
            networks.create(f"{project_name}_default"),
            volumes.create(f"{stray}_data", labels=mine),
            volumes.create(f"{project_name}-data"),
        ]
        doomed.append(volumes.get(doomed[0].attrs["Mounts"][0]["Name"]))
        kept: list[Model] = [
            containers.run(BUSYBOX_IMAGE, sleep, name=f"{other}-app-1", labels=theirs, detach=True),
            networks.create(f"{other}_default", labels=theirs),
            volumes.create(f"{other}_data", labels=theirs),
        ]
        busybox = engine.images.get(BUSYBOX_IMAGE)
        for tag in (*my_tags, f"{other}-web:latest"):
            busybox.tag(tag)

        cleanup_project(engine, project_name)

        assert [obj for obj in doomed if _exists(obj)] == []
        assert all(_exists(obj) for obj in kept), "another project's objects were removed"
        tags = engine.images.get(BUSYBOX_IMAGE).tags
        assert my_tags.isdisjoint(tags), tags
        assert {BUSYBOX_IMAGE, f"{other}-web:latest"} <= set(tags), tags
    finally:
        cleanup_project(engine, other)
        cleanup_project(engine, stray)


def test_compose_env_keeps_only_path_home_and_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///var/run/docker.sock")
    monkeypatch.setenv("DOCKER_BUILDKIT", "0")
    monkeypatch.setenv("COMPOSE_PROJECT_NAME", "leaked")
    monkeypatch.setenv("WEB_PORT", "1")
    env = compose_env({"WEB_PORT": "2", "COMPOSE_PROFILES": "debug"})
    assert env["DOCKER_HOST"] == "unix:///var/run/docker.sock"
    assert env["PATH"] == os.environ["PATH"]
    assert {"DOCKER_BUILDKIT", "COMPOSE_PROJECT_NAME"}.isdisjoint(env)
    assert (env["WEB_PORT"], env["COMPOSE_PROFILES"]) == ("2", "debug")


def test_compose_binary_is_v2_40(compose_bin: str, tmp_path: Path) -> None:
    result = run_compose(["version", "--short"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().lstrip("v").startswith("2.40."), result.stdout


@pytest.mark.skipif(os.environ.get("DEVENV_SKIP_REGISTRY") == "1", reason="DEVENV_SKIP_REGISTRY=1")
def test_local_registry_answers() -> None:
    with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Docker-Distribution-Api-Version"] == "registry/2.0"
