"""Issue 8's round trip, end to end on the real engine and the local registry: an environment's
images go through the registry and come back as the very same bytes.

`--env stage push` builds and pushes the built service to stage's registry and records the digest
in stage's lock; `lock` pins the rest. Every local copy of the image is then removed, and
`--env stage up --frozen` pulls it by digest instead of building it: the container runs the image
ID that was built. `diff` against what runs then finds nothing, and `lock --check` passes.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.images import REGISTRY
from tests.integration.test_engine_support import BUSYBOX, FOREVER, devenv, inspect, ok, output, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


@pytest.fixture
def images_cleanup(engine: docker.DockerClient, project_name: str) -> Iterator[None]:
    yield
    for image in engine.api.images():
        names = (image.get("RepoTags") or []) + (image.get("RepoDigests") or [])
        if any(project_name in n for n in names):
            try:
                engine.api.remove_image(image["Id"], force=True)
            except docker.errors.APIError:
                pass


def _remove_every_copy(engine: docker.DockerClient, image_id: str) -> None:
    for container in engine.api.containers(all=True, filters={"ancestor": image_id}):
        engine.api.remove_container(container["Id"], force=True)
    engine.api.remove_image(image_id, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        engine.api.inspect_image(image_id)


def test_push_then_frozen_up_elsewhere_pulls_the_same_image(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, images_cleanup: None
) -> None:
    marker = uuid.uuid4().hex
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo {marker} > /marker\n", encoding="utf-8")
    write_compose(tmp_path, f"""
        services:
          app:
            build: ./app
            command: {FOREVER}
          cache:
            image: {BUSYBOX}
            command: {FOREVER}
        x-devenv:
          environments:
            stage:
              registry: {REGISTRY}/{project_name}
    """)
    write_compose(tmp_path, """
        services:
          app:
            environment:
              STAGE: "1"
    """, name="compose.stage.yaml")

    pushed = ok(devenv(tmp_path, project_name, "--env", "stage", "push", "--format", "json"))
    ok(devenv(tmp_path, project_name, "--env", "stage", "lock"))
    lock = json.loads((tmp_path / "devenv.stage.lock").read_text(encoding="utf-8"))
    entry = lock["services"]["app"]
    assert entry["pushed"].startswith(f"{REGISTRY}/{project_name}/"), entry
    assert entry["digest"].startswith("sha256:") and entry["id"].startswith("sha256:"), entry
    assert json.loads(pushed.stdout)  # one record per pushed service, for scripts
    built_id = entry["id"]
    assert engine.api.inspect_image(built_id)["Id"] == built_id

    _remove_every_copy(engine, built_id)  # "another engine": nothing of the build is left here

    result = ok(devenv(tmp_path, project_name, "--env", "stage", "up", "--frozen"))
    assert "built" not in result.stdout.lower(), output(result)  # pulled, not rebuilt
    container = inspect(engine, f"{project_name}-app-1")
    assert container["Image"] == built_id, output(result)  # the very same bytes, pulled by digest
    assert "STAGE=1" in container["Config"]["Env"]  # stage's declared configuration
    marker_out = engine.api.exec_start(engine.api.exec_create(container["Id"], ["cat", "/marker"]))
    assert marker_out.decode().strip() == marker

    ok(devenv(tmp_path, project_name, "--env", "stage", "lock", "--check"))
    here = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"  # the engine the tests run on
    drift = devenv(tmp_path, project_name, "--env", "stage", "diff", "--against-host", here)
    assert drift.returncode == 0, output(drift)
    ok(devenv(tmp_path, project_name, "--env", "stage", "down"))


def test_lock_refuses_an_image_nothing_can_pin(tmp_path: Path, project_name: str) -> None:
    """An image neither on the engine nor in its registry: one line naming the service, no lock."""
    write_compose(tmp_path, f"""
        services:
          db:
            image: {REGISTRY}/{project_name}/nothing:1
    """)
    result = devenv(tmp_path, project_name, "lock")
    assert result.returncode == 1, output(result)
    assert result.stderr.startswith(f"devenv: cannot lock db: {REGISTRY}/{project_name}/nothing:1 is not on this engine")
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "devenv.lock").exists()


def test_frozen_prod_on_the_laptop_keeps_the_laptop_differences(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    """`--env prod up --frozen --local`: prod's lock pins prod's declared configuration; the
    laptop's overrides (a published port) are printed and applied, and are no reason to refuse."""
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
            command: {FOREVER}
        x-devenv:
          environments:
            prod:
              laptop:
                services:
                  web:
                    ports: ["127.0.0.1::8080"]
    """)
    write_compose(tmp_path, """
        services:
          web:
            environment:
              MODE: prod
    """, name="compose.prod.yaml")
    ok(devenv(tmp_path, project_name, "--env", "prod", "lock"))
    result = ok(devenv(tmp_path, project_name, "--env", "prod", "up", "--frozen", "--local"))
    assert "laptop differs from prod: web.ports" in result.stderr, output(result)
    assert "stale" not in result.stderr, output(result)
    container = inspect(engine, f"{project_name}-web-1")
    assert "MODE=prod" in container["Config"]["Env"]
    assert container["HostConfig"]["PortBindings"]["8080/tcp"][0]["HostIp"] == "127.0.0.1"
    warm = ok(devenv(tmp_path, project_name, "--env", "prod", "up", "--local"))
    assert "stale" not in warm.stderr, output(warm)  # the lock is checked against prod's own model
    ok(devenv(tmp_path, project_name, "--env", "prod", "down"))
