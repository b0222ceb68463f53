"""`devenv -p NAME CMD` from a folder without any Compose file: the commands that act on what
exists work from the engine's labels, as Compose's do (also on a project the Compose binary made)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import docker
import pytest

from tests.engine_helpers import run_compose
from tests.integration.test_engine_support import (
    BUSYBOX, containers, devenv, finished_at, forever_after, free_ports, names, networks, ok, output, states, up,
    volumes, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


def compose_text(port: int) -> str:
    return f"""
        services:
          db:
            image: {BUSYBOX}
            command: {forever_after("db-ready")}
          web:
            image: {BUSYBOX}
            command: {forever_after("web-ready")}
            depends_on: [db]
            ports: ["127.0.0.1:{port}:80"]
            volumes: ["data:/data", "/anon"]
        volumes:
          data: {{}}
    """


@pytest.fixture
def empty(tmp_path: Path) -> Path:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    return folder


@pytest.fixture
def made(tmp_path: Path, project_name: str) -> tuple[Path, int]:
    """A project brought up by devenv from its own folder; the port web publishes."""
    folder = tmp_path / "project"
    folder.mkdir()
    port = free_ports()
    write_compose(folder, compose_text(port))
    up(folder, project_name)
    return folder, port


def test_reading_commands_work_without_a_compose_file(made: tuple[Path, int], empty: Path, project_name: str) -> None:
    p, (_, port) = project_name, made
    rows = [json.loads(line) for line in ok(devenv(empty, p, "ps", "--format", "json")).stdout.splitlines() if line.strip()]
    rows = rows[0] if len(rows) == 1 and isinstance(rows[0], list) else rows
    assert sorted(r["Name"] for r in rows) == [f"{p}-db-1", f"{p}-web-1"]
    logs = ok(devenv(empty, p, "logs", "db")).stdout
    assert "db-ready" in logs and "web-ready" not in logs
    assert ok(devenv(empty, p, "exec", "-T", "web", "echo", "from-exec")).stdout.strip() == "from-exec"
    top = ok(devenv(empty, p, "top", "web")).stdout.splitlines()
    assert top[0].split()[:3] == ["SERVICE", "#", "UID"] and all(line.split()[0] == "web" for line in top[1:])
    assert ok(devenv(empty, p, "port", "web", "80")).stdout.strip() == f"127.0.0.1:{port}"
    image_ids = ok(devenv(empty, p, "images", "-q")).stdout.split()
    assert len(image_ids) == 1 and len(image_ids[0]) == 64


def test_changing_commands_work_without_a_compose_file(
    made: tuple[Path, int], empty: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    web, db = f"{p}-web-1", f"{p}-db-1"
    (empty / "note.txt").write_text("copied in")
    ok(devenv(empty, p, "cp", "note.txt", "web:/tmp/note.txt"))
    ok(devenv(empty, p, "cp", "web:/tmp/note.txt", "back.txt"))
    assert (empty / "back.txt").read_text() == "copied in"

    ok(devenv(empty, p, "pause", "web"))
    assert states(engine, p) == {web: "paused", db: "running"}
    ok(devenv(empty, p, "unpause"))
    assert states(engine, p) == {web: "running", db: "running"}

    ok(devenv(empty, p, "stop"))
    assert states(engine, p) == {web: "exited", db: "exited"}
    assert finished_at(engine, web) <= finished_at(engine, db)  # the depends_on label orders the stops
    ok(devenv(empty, p, "start"))
    assert states(engine, p) == {web: "running", db: "running"}
    ok(devenv(empty, p, "restart", "db"))
    assert states(engine, p)[db] == "running"

    ok(devenv(empty, p, "kill", "web"))
    assert states(engine, p) == {web: "exited", db: "running"}
    ok(devenv(empty, p, "rm", "-f"))
    assert names(engine, p) == [db]

    ok(devenv(empty, p, "down"))
    assert containers(engine, p) == [] and networks(engine, p) == []
    assert volumes(engine, p) == [f"{p}_data"]  # named volumes only with -v, as Compose
    ok(devenv(empty, p, "down", "-v"))
    assert volumes(engine, p) == []


def test_down_from_labels_removes_a_project_the_compose_binary_made(
    tmp_path: Path, empty: Path, project_name: str, engine: docker.DockerClient, compose_bin: str
) -> None:
    folder = tmp_path / "by-compose"
    folder.mkdir()
    write_compose(folder, compose_text(free_ports()))
    made = run_compose(["-p", project_name, "up", "-d"], folder)
    assert made.returncode == 0, made.stderr
    assert len(names(engine, project_name)) == 2 and volumes(engine, project_name)
    anonymous = [m["Name"] for m in engine.api.inspect_container(f"{project_name}-web-1")["Mounts"] if m["Destination"] == "/anon"]
    result = ok(devenv(empty, project_name, "down", "-v"))
    assert containers(engine, project_name) == [], output(result)
    assert networks(engine, project_name) == [] and volumes(engine, project_name) == []
    assert not [v for v in engine.api.volumes().get("Volumes") or () if v["Name"] in anonymous]


def test_compose_project_name_from_the_environment_works_too(made: tuple[Path, int], empty: Path, project_name: str) -> None:
    import sys

    from tests.integration.test_engine_support import devenv_env

    result = subprocess.run(
        [sys.executable, "-m", "devenv", "ps", "-q"], cwd=empty, env=devenv_env({"COMPOSE_PROJECT_NAME": project_name}),
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0 and len(result.stdout.split()) == 2, output(result)


def test_an_unknown_project_is_one_line_and_manifest_commands_still_need_the_file(empty: Path, project_name: str) -> None:
    for command in (["ps"], ["down"], ["logs"], ["top"]):
        result = devenv(empty, project_name, *command)
        assert result.returncode == 1 and result.stdout == "", output(result)
        assert result.stderr == (
            f"devenv: no such project {project_name}: no Compose file here and nothing on the engine carries its label\n"
        )
    for command in (["up"], ["create"], ["config"], ["run", "web", "true"], ["build"]):
        result = devenv(empty, project_name, *command)
        assert result.returncode == 2 and "no Compose file found" in result.stderr, output(result)
        assert result.stderr.count("\n") == 1


def test_an_unknown_service_of_a_labelled_project_is_named(made: tuple[Path, int], empty: Path, project_name: str) -> None:
    result = devenv(empty, project_name, "stop", "nope")
    assert result.returncode == 2 and "no such service: nope (services: db, web)" in result.stderr, output(result)


def test_ps_and_images_from_labels_match_compose_from_labels(made: tuple[Path, int], empty: Path, project_name: str) -> None:
    p = project_name

    def objects(text: str) -> list[dict]:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        rows = rows[0] if len(rows) == 1 and isinstance(rows[0], list) else rows
        return sorted(rows, key=lambda r: r.get("Name") or r.get("ContainerName"))

    def compose(*args: str) -> str:
        result = run_compose(["-p", p, *args], empty)
        assert result.returncode == 0, result.stderr
        return result.stdout

    mine, theirs = objects(ok(devenv(empty, p, "ps", "--format", "json")).stdout), objects(compose("ps", "--format", "json"))
    assert [sorted(r) for r in mine] == [sorted(r) for r in theirs]
    steady = ("Name", "Service", "State", "Image", "Project", "Publishers", "Networks", "ID")
    assert [{k: r[k] for k in steady} for r in mine] == [{k: r[k] for k in steady} for r in theirs]
    assert objects(ok(devenv(empty, p, "images", "--format", "json")).stdout) == objects(compose("images", "--format", "json"))
