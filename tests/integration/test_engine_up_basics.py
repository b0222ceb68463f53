"""`devenv up` on a real engine: what a fresh up creates, what a second one leaves alone, what a
change recreates, and the flags that change that (--dry-run, --force-recreate, --scale,
--remove-orphans); then `ps`."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FAST_HEALTH, FOREVER, assert_nothing_exists, containers, devenv, health, ids, inspect, names, networks,
    ok, output, states, up, volumes, write_compose,
)

pytestmark = pytest.mark.engine

STACK = f"""
services:
  db:
    image: {BUSYBOX}
    command: {FOREVER}
    environment:
      LEVEL: "1"
    healthcheck: {FAST_HEALTH}
    volumes: [data:/data]
  web:
    image: {BUSYBOX}
    command: {FOREVER}
    depends_on:
      db: {{condition: service_healthy}}
volumes:
  data: {{}}
"""


@pytest.fixture
def stack(tmp_path: Path, project_name: str, engine: docker.DockerClient, base_images: tuple[str, str]) -> Path:
    """The two-service stack, brought up once."""
    write_compose(tmp_path, STACK)
    up(tmp_path, project_name)
    return tmp_path


def test_fresh_up_creates_network_volume_and_containers_with_compose_names_and_labels(
    stack: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    assert networks(engine, p) == [f"{p}_default"]
    net = engine.api.inspect_network(f"{p}_default")["Labels"]
    assert net["com.docker.compose.project"] == p and net["com.docker.compose.network"] == "default"
    assert volumes(engine, p) == [f"{p}_data"]
    vol = engine.api.inspect_volume(f"{p}_data")["Labels"]
    assert vol["com.docker.compose.project"] == p and vol["com.docker.compose.volume"] == "data"

    assert states(engine, p) == {f"{p}-db-1": "running", f"{p}-web-1": "running"}
    assert health(engine, f"{p}-db-1") == "healthy"  # `up` returns once services are ready
    for service in ("db", "web"):
        info = inspect(engine, f"{p}-{service}-1")
        labels = info["Config"]["Labels"]
        assert labels["com.docker.compose.project"] == p
        assert labels["com.docker.compose.service"] == service
        assert labels["com.docker.compose.container-number"] == "1"
        assert labels["com.docker.compose.oneoff"] == "False"
        assert list(info["NetworkSettings"]["Networks"]) == [f"{p}_default"]
        aliases = info["NetworkSettings"]["Networks"][f"{p}_default"]["Aliases"]
        assert service in aliases
    mounts = inspect(engine, f"{p}-db-1")["Mounts"]
    assert [(m["Type"], m["Name"], m["Destination"]) for m in mounts] == [("volume", f"{p}_data", "/data")]


def test_second_up_does_nothing_and_says_so(stack: Path, project_name: str, engine: docker.DockerClient) -> None:
    before = {n: inspect(engine, n)["State"]["StartedAt"] for n in names(engine, project_name)}
    result = up(stack, project_name)
    assert "nothing to do" in result.stderr, output(result)
    after = {n: inspect(engine, n)["State"]["StartedAt"] for n in names(engine, project_name)}
    assert after == before  # same containers, not even restarted


def test_one_changed_environment_variable_recreates_exactly_that_container(
    stack: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    before = ids(engine, p)
    write_compose(stack, STACK.replace('LEVEL: "1"', 'LEVEL: "2"'))

    plan = ok(devenv(stack, p, "up", "--dry-run"))
    assert f"create container {p}-db-1 (recreate db: environment changed)" in plan.stdout, output(plan)
    assert f"{p}-web-1" not in plan.stdout, output(plan)  # web is not touched
    assert "web: up to date" in plan.stdout, output(plan)
    assert ids(engine, p) == before  # the dry run changed nothing

    result = up(stack, p)
    assert "environment changed" in result.stderr, output(result)
    after = ids(engine, p)
    assert set(after) == set(before)  # same names: no temporary ones left behind
    assert after[f"{p}-db-1"] != before[f"{p}-db-1"]
    assert after[f"{p}-web-1"] == before[f"{p}-web-1"]
    assert "LEVEL=2" in inspect(engine, f"{p}-db-1")["Config"]["Env"]
    assert health(engine, f"{p}-db-1") == "healthy"


def test_dry_run_changes_nothing(tmp_path: Path, project_name: str, engine: docker.DockerClient, base_images: tuple[str, str]) -> None:
    p = project_name
    write_compose(tmp_path, STACK)
    text = ok(devenv(tmp_path, p, "up", "--dry-run"))
    for line in (f"create network {p}_default", f"create volume {p}_data", f"create container {p}-db-1", f"start container {p}-web-1"):
        assert line in text.stdout, output(text)
    as_json = json.loads(ok(devenv(tmp_path, p, "up", "--dry-run", "--format", "json")).stdout)
    assert {a["op"] for a in as_json["actions"]} >= {"create_network", "create_volume", "create_container", "start_container"}
    assert_nothing_exists(engine, p)

    up(tmp_path, p)
    before = ids(engine, p)
    down_plan = ok(devenv(tmp_path, p, "down", "-v", "--dry-run"))
    assert f"remove container {p}-db-1" in down_plan.stdout and f"remove volume {p}_data" in down_plan.stdout, output(down_plan)
    assert ids(engine, p) == before and states(engine, p) == dict.fromkeys(before, "running")
    assert volumes(engine, p) == [f"{p}_data"] and networks(engine, p) == [f"{p}_default"]


def test_force_recreate_replaces_every_container_under_the_same_names(
    stack: Path, project_name: str, engine: docker.DockerClient
) -> None:
    before = ids(engine, project_name)
    result = up(stack, project_name, "--force-recreate")
    assert "--force-recreate" in result.stderr, output(result)
    after = ids(engine, project_name)
    assert set(after) == set(before)
    assert all(after[n] != before[n] for n in before)
    assert set(states(engine, project_name).values()) == {"running"}


def test_deploy_replicas_and_scale(tmp_path: Path, project_name: str, engine: docker.DockerClient, base_images: tuple[str, str]) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          worker:
            image: {BUSYBOX}
            command: {FOREVER}
            deploy: {{replicas: 2}}
    """)
    up(tmp_path, p)
    assert states(engine, p) == {f"{p}-worker-1": "running", f"{p}-worker-2": "running"}
    first = ids(engine, p)

    up(tmp_path, p, "--scale", "worker=3")
    assert states(engine, p) == {f"{p}-worker-{n}": "running" for n in (1, 2, 3)}
    numbers = {inspect(engine, n)["Config"]["Labels"]["com.docker.compose.container-number"] for n in names(engine, p)}
    assert numbers == {"1", "2", "3"}

    up(tmp_path, p, "--scale", "worker=1")  # highest numbers go first; the kept one is untouched
    assert ids(engine, p) == {f"{p}-worker-1": first[f"{p}-worker-1"]}

    up(tmp_path, p)  # back to deploy.replicas
    assert names(engine, p) == [f"{p}-worker-1", f"{p}-worker-2"]


def test_orphans_are_reported_and_only_removed_with_remove_orphans(
    stack: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(stack, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
            environment:
              LEVEL: "1"
            healthcheck: {FAST_HEALTH}
            volumes: [data:/data]
        volumes:
          data: {{}}
    """)
    before = ids(engine, p)
    result = up(stack, p)
    assert "orphan" in result.stderr and f"{p}-web-1" in result.stderr, output(result)
    assert ids(engine, p) == before  # the orphan is left running

    result = up(stack, p, "--remove-orphans")
    assert ids(engine, p) == {f"{p}-db-1": before[f"{p}-db-1"]}, output(result)


def test_ps_lists_running_containers_and_ps_all_stopped_ones_too(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, base_images: tuple[str, str]
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {FOREVER}
          job:
            image: {BUSYBOX}
            command: ["true"]
    """)
    up(tmp_path, p)
    engine.api.wait(f"{p}-job-1", timeout=30)

    table = ok(devenv(tmp_path, p, "ps")).stdout
    assert f"{p}-app-1" in table and f"{p}-job-1" not in table, table
    assert ok(devenv(tmp_path, p, "ps", "-q")).stdout.split() == [engine.api.inspect_container(f"{p}-app-1")["Id"]]
    everything = ok(devenv(tmp_path, p, "ps", "-a")).stdout
    assert f"{p}-app-1" in everything and f"{p}-job-1" in everything, everything

    rows = [json.loads(line) for line in ok(devenv(tmp_path, p, "ps", "-a", "--format", "json")).stdout.splitlines()]
    by_name = {r["Name"]: r for r in rows}  # Compose's schema, one object per line
    assert set(by_name) == {f"{p}-app-1", f"{p}-job-1"}
    assert by_name[f"{p}-app-1"]["Service"] == "app" and by_name[f"{p}-app-1"]["State"] == "running"
    assert by_name[f"{p}-job-1"]["State"] == "exited" and by_name[f"{p}-job-1"]["ExitCode"] == 0
    assert len(containers(engine, p)) == 2
