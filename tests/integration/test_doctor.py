"""`devenv doctor` on the real engine: healthy (exit 0, every blocking check ok); a stopped engine
(DOCKER_HOST on a socket nothing listens on: exit 1, one failing line with its remedy, no
traceback); a published port another program holds (fail, exit 1), and one the project's own
container holds (fine); a low inotify limit in a user namespace (warn naming the sysctl)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.engine_helpers import free_port
from tests.integration.test_engine_support import BUSYBOX, FOREVER, devenv, devenv_env, output, up, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


def report(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert "Traceback" not in result.stderr, output(result)
    return json.loads(result.stdout)


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report(result)["checks"]}


def published(tmp_path: Path, port: int) -> None:
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            ports: ["127.0.0.1:{port}:80"]
        """)


def test_healthy(tmp_path: Path, project_name: str) -> None:
    published(tmp_path, free_port())
    result = devenv(tmp_path, project_name, "doctor", "--format", "json")
    found = checks(result)
    assert result.returncode == 0 and report(result)["ok"] is True, output(result)
    assert found["engine"]["status"] == "ok" and "API 1.4" in found["engine"]["detail"]
    assert found["ports"] == {"name": "ports", "status": "ok", "detail": "the 1 published port is free", "remedy": None}
    assert found["clock"]["status"] == "ok"
    assert found["storage"]["detail"].startswith("storage driver ")
    assert "free in /" in found["disk"]["detail"]
    for name in ("buildkit", "compose", "inotify", "context", "registry"):
        assert name in found
    table = devenv(tmp_path, project_name, "doctor")
    assert table.returncode == 0, output(table)
    lines = table.stdout.splitlines()
    assert len(lines) == len(found) and all(line.split()[0] in ("ok", "warn") for line in lines)


def test_stopped_engine(tmp_path: Path, project_name: str) -> None:
    published(tmp_path, free_port())
    result = devenv(tmp_path, project_name, "doctor", env={"DOCKER_HOST": f"unix://{tmp_path}/nothing.sock"})
    assert result.returncode == 1, output(result)
    assert "Traceback" not in result.stderr
    failing = [line for line in result.stdout.splitlines() if line.startswith("fail")]
    assert len(failing) == 1, output(result)
    assert failing[0].split()[1] == "engine" and "nothing.sock" in failing[0] and "; fix: start the engine" in failing[0]


def test_a_taken_port_blocks_up(tmp_path: Path, project_name: str) -> None:
    port = free_port()
    published(tmp_path, port)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = devenv(tmp_path, project_name, "doctor", "--format", "json")
        assert result.returncode == 1, output(result)
        ports = checks(result)["ports"]
        assert ports["status"] == "fail" and f"127.0.0.1:{port}/tcp for web is taken by process" in ports["detail"]
        assert ports["remedy"] and report(result)["ok"] is False
        table = devenv(tmp_path, project_name, "doctor")
        [line] = [line for line in table.stdout.splitlines() if line.split()[:2] == ["fail", "ports"]]
        assert f"pid {os.getpid()}" in line and "; fix: " in line


def test_the_projects_own_container_may_hold_its_port(tmp_path: Path, project_name: str) -> None:
    port = free_port()
    published(tmp_path, port)
    up(tmp_path, project_name)
    result = devenv(tmp_path, project_name, "doctor", "--format", "json")
    assert checks(result)["ports"]["status"] == "ok", output(result)
    other = tmp_path / "other"
    other.mkdir()
    published(other, port)  # another project wanting the same port: taken by the first one's container
    result = devenv(other, f"{project_name}-other", "doctor", "--format", "json")
    assert result.returncode == 1, output(result)
    assert f"taken by container {project_name}-web-1" in checks(result)["ports"]["detail"]


LIMIT = ["unshare", "--user", "--map-root-user", "sh", "-c", 'echo 3 > /proc/sys/user/max_inotify_watches && exec "$@"', "sh"]


def test_a_low_inotify_limit_warns_naming_the_sysctl(tmp_path: Path, project_name: str) -> None:
    if shutil.which("unshare") is None or subprocess.run([*LIMIT, "true"], capture_output=True).returncode != 0:
        pytest.skip("needs unshare and unprivileged user namespaces, to lower user.max_inotify_watches without root")
    for folder in ("src/a/b", "src/c/d", "src/e"):
        (tmp_path / folder).mkdir(parents=True)
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            develop:
              watch:
                - {{action: sync, path: ./src, target: /app}}
        """)
    result = subprocess.run([*LIMIT, sys.executable, "-m", "devenv", "-p", project_name, "doctor", "--format", "json"],
                            cwd=tmp_path, env=devenv_env(), capture_output=True, text=True, timeout=120)
    inotify = checks(result)["inotify"]
    assert inotify["status"] == "warn", output(result)
    assert "would watch 7 folders, more than user.max_inotify_watches=3" in inotify["detail"]
    assert inotify["remedy"] == "sudo sysctl user.max_inotify_watches=524288"


def test_the_environments_registry_and_context(tmp_path: Path, project_name: str) -> None:
    """The test registry (127.0.0.1:5000) answers; a port nobody serves warns; an unknown docker
    context blocks `up --env` (fail)."""
    closed = free_port()
    write_compose(tmp_path, f"""
        services:
          web: {{image: {BUSYBOX}, command: {FOREVER}}}
        x-devenv:
          environments:
            stage: {{registry: "127.0.0.1:5000/team"}}
            prod: {{registry: "127.0.0.1:{closed}", context: {project_name}-nowhere}}
        """)
    stage = devenv(tmp_path, project_name, "--env", "stage", "doctor", "--format", "json")
    assert stage.returncode == 0, output(stage)
    assert checks(stage)["registry"]["detail"] == "environment stage: registry 127.0.0.1:5000/team answers"
    prod = devenv(tmp_path, project_name, "--env", "prod", "doctor", "--format", "json", env={"DOCKER_CONFIG": str(tmp_path)})
    assert prod.returncode == 1, output(prod)
    found = checks(prod)
    assert found["registry"]["status"] == "warn" and f"127.0.0.1:{closed}" in found["registry"]["detail"]
    assert found["context"]["status"] == "fail" and f"{project_name}-nowhere" in found["context"]["detail"]
    assert found["engine"]["status"] == "ok"  # the local engine still answers
