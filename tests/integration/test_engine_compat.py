"""devenv and Docker Compose v2 (the reference binary) manage the same projects: each sees and
tears down what the other made, because names and labels are Compose's."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from tests.engine_helpers import run_compose
from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, assert_nothing_exists, devenv, inspect, names, networks, ok, up, volumes, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images", "compose_bin")]

STACK = f"""
services:
  db:
    image: {BUSYBOX}
    command: {FOREVER}
    volumes: [data:/data]
  web:
    image: {BUSYBOX}
    command: {FOREVER}
    depends_on:
      db: {{condition: service_started}}
volumes:
  data: {{}}
"""


def compose(cwd: Path, project: str, *args: str) -> str:
    result = run_compose(["-p", project, *args], cwd=cwd)
    assert result.returncode == 0, f"compose {' '.join(args)}: exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def parse_ps_json(text: str) -> list[dict]:
    """`compose ps --format json`: one object per line (v2.21+) or one array (older)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        return json.loads(text)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_compose_ps_lists_the_containers_devenv_brought_up(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    write_compose(tmp_path, STACK)
    up(tmp_path, project_name)
    rows = parse_ps_json(compose(tmp_path, project_name, "ps", "--format", "json"))
    assert sorted(r["Name"] for r in rows) == [f"{project_name}-db-1", f"{project_name}-web-1"]
    assert {r["Service"] for r in rows} == {"db", "web"}
    assert {r["Project"] for r in rows} == {project_name}
    assert {r["State"] for r in rows} == {"running"}


def test_devenv_down_removes_everything_compose_up_made(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, STACK)
    compose(tmp_path, p, "up", "-d")
    assert names(engine, p) == [f"{p}-db-1", f"{p}-web-1"]
    ok(devenv(tmp_path, p, "down"))
    assert names(engine, p) == [] and networks(engine, p) == []
    assert volumes(engine, p) == [f"{p}_data"]  # named volumes only go with -v, as with Compose
    ok(devenv(tmp_path, p, "down", "-v"))
    assert_nothing_exists(engine, p)


def test_devenv_container_labels_are_the_ones_compose_sets(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p, q = project_name, f"{project_name}-compose"
    write_compose(tmp_path, STACK)
    up(tmp_path, p)
    compose(tmp_path, q, "up", "-d")
    for service in ("db", "web"):
        mine = inspect(engine, f"{p}-{service}-1")["Config"]["Labels"]
        theirs = inspect(engine, f"{q}-{service}-1")["Config"]["Labels"]
        for key in ("project", "service", "container-number", "oneoff", "config-hash", "depends_on", "version"):
            assert f"com.docker.compose.{key}" in mine, (service, key, mine)
        compose_keys = {k for k in theirs if k.startswith("com.docker.compose.")}
        assert compose_keys <= set(mine), compose_keys - set(mine)
        for key in ("service", "container-number", "oneoff", "depends_on", "version", "image",
                    "project.working_dir", "project.config_files"):
            assert mine[f"com.docker.compose.{key}"] == theirs[f"com.docker.compose.{key}"], key
        assert mine["com.docker.compose.project"] == p
    assert inspect(engine, f"{p}-web-1")["Config"]["Labels"]["com.docker.compose.depends_on"] == "db:service_started:false"

    # devenv's containers of a project that Compose also updates: Compose sees no duplicates.
    result = run_compose(["-p", p, "up", "-d"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert names(engine, p) == [f"{p}-db-1", f"{p}-web-1"], result.stderr
