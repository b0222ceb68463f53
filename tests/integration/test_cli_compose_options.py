"""The everyday Compose options of devenv's commands, on a real engine, checked against what the
Compose binary does where the claim is "as Compose does": ps output (json lines read by a script
written for Compose, templates, filters), logs options and `-f` across a recreate, down --rmi,
run and exec overrides, up --no-start / --abort-on-container-exit / --exit-code-from, and
build --build-arg."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, devenv, devenv_env, forever_after, free_ports, inspect, ok, output, start_devenv, states, up,
    write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


def compose(compose_bin: str, cwd: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([compose_bin, "-p", project, *args], cwd=cwd, env=devenv_env(), capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)


def read_ps_json(text: str) -> list[dict]:
    """How a script written for `docker compose ps --format json` reads it: one object per line."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- ps


@pytest.fixture
def served(tmp_path: Path, project_name: str) -> tuple[Path, int]:
    port = free_ports()
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            ports: ["127.0.0.1:{port}:80"]
            volumes: [data:/data]
          job:
            image: {BUSYBOX}
            command: ["sh", "-c", "exit 0"]
        volumes:
          data:
    """)
    up(tmp_path, project_name)
    return tmp_path, port


def test_ps_json_is_composes_schema(served: tuple[Path, int], project_name: str, compose_bin: str) -> None:
    cwd, port = served
    p = project_name
    rows = read_ps_json(ok(devenv(cwd, p, "ps", "--format", "json")).stdout)
    assert [r["Name"] for r in rows] == [f"{p}-web-1"]  # running ones only
    web = rows[0]
    assert (web["Service"], web["State"], web["Project"]) == ("web", "running", p)
    assert web["Publishers"][0]["PublishedPort"] == port and web["Publishers"][0]["URL"] == "127.0.0.1"
    theirs = read_ps_json(compose(compose_bin, cwd, p, "ps", "--format", "json").stdout)
    assert len(theirs) == 1 and set(theirs[0]) <= set(web), set(theirs[0]) - set(web)
    for key in ("Command", "ExitCode", "Health", "ID", "Image", "LocalVolumes", "Name", "Names", "Networks", "Ports",
                "Project", "Publishers", "Service", "Size", "State", "CreatedAt"):
        assert web[key] == theirs[0][key], key
    assert sorted(web["Labels"].split(",")) == sorted(theirs[0]["Labels"].split(","))
    everything = read_ps_json(ok(devenv(cwd, p, "ps", "-a", "--format", "json")).stdout)
    job = next(r for r in everything if r["Service"] == "job")
    assert (job["State"], job["ExitCode"]) == ("exited", 0)


def test_ps_filters_templates_and_table(served: tuple[Path, int], project_name: str, compose_bin: str,
                                        engine: docker.DockerClient) -> None:
    cwd, port = served
    p = project_name
    assert ok(devenv(cwd, p, "ps", "--services")).stdout.split() == ["web"]
    assert ok(devenv(cwd, p, "ps", "--status", "exited", "--services")).stdout.split() == ["job"]
    assert ok(devenv(cwd, p, "ps", "--filter", "status=exited", "-q")).stdout.split() == [inspect(engine, f"{p}-job-1")["Id"]]
    assert ok(devenv(cwd, p, "ps", "-q")).stdout.split() == [inspect(engine, f"{p}-web-1")["Id"]]
    for fmt in ("{{.Name}}\\t{{.State}}", "table {{.Name}}\\t{{.Service}}\\t{{.Ports}}", "{{json .Publishers}}"):
        mine = ok(devenv(cwd, p, "ps", "-a", "--format", fmt)).stdout
        theirs = compose(compose_bin, cwd, p, "ps", "-a", "--format", fmt).stdout
        assert mine == theirs, (fmt, mine, theirs)
    table = ok(devenv(cwd, p, "ps")).stdout
    assert f"127.0.0.1:{port}->80/tcp" in table, table
    assert devenv(cwd, p, "ps", "--format", "{{.Nope}}").returncode == 2
    assert devenv(cwd, p, "ps", "--filter", "name=web").returncode == 2


# -- logs


@pytest.fixture
def talkers(tmp_path: Path, project_name: str) -> Path:
    write_compose(tmp_path, f"""
        services:
          talker:
            image: {BUSYBOX}
            command: {forever_after("said-once")}
    """)
    up(tmp_path, project_name, "--scale", "talker=2")
    return tmp_path


def test_logs_options(talkers: Path, project_name: str) -> None:
    p = project_name
    ok(devenv(talkers, p, "run", "-d", "talker", "sh", "-c", "echo from-run; sleep 30"))
    both = ok(devenv(talkers, p, "logs")).stdout
    assert f"{p}-talker-1 | said-once" in both and f"{p}-talker-2 | said-once" in both, both
    assert "from-run" not in both  # one-off containers are left out
    assert ok(devenv(talkers, p, "logs", "--no-log-prefix")).stdout.splitlines() == ["said-once", "said-once"]
    second = ok(devenv(talkers, p, "logs", "--index", "2", "talker")).stdout.splitlines()
    assert second == [f"{p}-talker-2 | said-once"], second
    assert ok(devenv(talkers, p, "logs", "--until", "2000-01-01T00:00:00Z")).stdout == ""
    assert len(ok(devenv(talkers, p, "logs", "--until", "2999-01-01T00:00:00Z")).stdout.splitlines()) == 2
    assert ok(devenv(talkers, p, "logs", "--since", "2999-01-01T00:00:00Z")).stdout == ""
    assert ok(devenv(talkers, p, "logs", "--no-color", "--tail", "1", "talker")).stdout.count("said-once") == 2
    assert devenv(talkers, p, "logs", "--index", "2").returncode == 2  # --index names one service


def _lines_of(proc: subprocess.Popen[str]) -> "queue.Queue[str]":
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _wait_for_line(lines: "queue.Queue[str]", wanted: str, timeout: float = 60.0) -> list[str]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            continue
        seen.append(line)
        if wanted in line:
            return seen
    raise AssertionError(f"no line with {wanted!r} within {timeout}s; saw {seen}")


def test_logs_follow_keeps_following_a_recreated_container(tmp_path: Path, project_name: str) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
            command: ["sh", "-c", "trap 'exit 0' TERM; echo hello-$$V; while :; do sleep 0.1; done"]
            environment: {{V: "${{V:-one}}"}}
    """)
    up(tmp_path, p)
    follower = start_devenv(tmp_path, p, "logs", "-f", "web")
    try:
        lines = _lines_of(follower)
        _wait_for_line(lines, "hello-one")
        ok(devenv(tmp_path, p, "up", env={"V": "two"}))  # recreated: a new container, the same name
        seen = _wait_for_line(lines, "hello-two")
        assert any(line.startswith(f"{p}-web-1 | hello-two") for line in seen), seen
        ok(devenv(tmp_path, p, "up", "--scale", "web=2", env={"V": "two"}))  # scaled: a new container
        _wait_for_line(lines, f"{p}-web-2 | hello-two")
        assert follower.poll() is None  # still following
        ok(devenv(tmp_path, p, "stop"))
        assert follower.wait(timeout=60) == 0  # nothing runs any more: following ends, as with Compose
    finally:
        if follower.poll() is None:
            follower.kill()
            follower.wait()


# -- down --rmi


def test_down_rmi_local_removes_only_the_images_built_for_the_project(tmp_path: Path, project_name: str,
                                                                       engine: docker.DockerClient) -> None:
    p = project_name
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nCMD [\"sh\", \"-c\", \"sleep 3600\"]\n")
    write_compose(tmp_path, f"""
        services:
          app:
            build: ./app
            stop_grace_period: 1s
          base:
            image: {BUSYBOX}
            command: {FOREVER}
    """)
    up(tmp_path, p, "--build")
    engine.images.get(f"{p}-app")
    dry = ok(devenv(tmp_path, p, "--dry-run", "down", "--rmi", "local"))
    assert f"{p}-app" in dry.stderr and states(engine, p), output(dry)  # nothing removed
    ok(devenv(tmp_path, p, "down", "--rmi", "local"))
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(f"{p}-app")
    engine.images.get(BUSYBOX)  # a service's named image stays (only `--rmi all` removes it)


# -- run and exec


def test_run_overrides(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    port, published = free_ports(), free_ports()
    (tmp_path / "mounted.txt").write_text("from-the-host\n")
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: ["echo", "default-command"]
            ports: ["{published}:80"]
    """)
    result = ok(devenv(tmp_path, p, "run", "--rm", "-T", "-v", "./mounted.txt:/m.txt:ro", "-w", "/tmp", "-u", "1234",
                       "-e", "WHO", "app", "sh", "-c", "cat /m.txt; pwd; id -u; echo who=$WHO", env={"WHO": "me"}))
    assert result.stdout.splitlines() == ["from-the-host", "/tmp", "1234", "who=me"], output(result)
    assert ok(devenv(tmp_path, p, "run", "--rm", "-T", "--entrypoint", "echo", "app", "from-entrypoint")).stdout.strip() \
        == "from-entrypoint"
    name = f"{p}-named"
    ok(devenv(tmp_path, p, "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:80", "-l", "team=qa", "app",
              "sh", "-c", "sleep 30"))
    info = inspect(engine, name)
    assert info["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert info["Config"]["Labels"]["team"] == "qa" and info["Config"]["Labels"]["com.docker.compose.oneoff"] == "True"
    plain = ok(devenv(tmp_path, p, "run", "-d", "app", "sh", "-c", "sleep 30")).stdout.strip()
    assert not inspect(engine, plain)["HostConfig"].get("PortBindings")  # no ports without --service-ports
    ported = ok(devenv(tmp_path, p, "run", "-d", "--service-ports", "app", "sh", "-c", "sleep 30")).stdout.strip()
    assert inspect(engine, ported)["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"] == str(published)
    assert devenv(tmp_path, p, "run", "--service-ports", "-p", "80", "app").returncode == 2


def test_exec_options(tmp_path: Path, project_name: str) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {FOREVER}
    """)
    up(tmp_path, p)
    result = ok(devenv(tmp_path, p, "exec", "-T", "-e", "A=1", "-e", "FROM_HOST", "-w", "/etc", "app",
                       "sh", "-c", "echo $A $FROM_HOST; pwd", env={"FROM_HOST": "here"}))
    assert result.stdout.splitlines() == ["1 here", "/etc"], output(result)
    piped = subprocess.run(
        [*_devenv_argv(p), "exec", "-T", "app", "cat"], cwd=tmp_path, env=devenv_env(), input="through-stdin\n",
        capture_output=True, text=True, timeout=60,
    )
    assert piped.returncode == 0 and piped.stdout == "through-stdin\n", piped.stderr  # -i is on by default
    assert devenv(tmp_path, p, "exec", "-T", "app", "sh", "-c", "exit 3").returncode == 3


def _devenv_argv(project: str) -> list[str]:
    import sys

    return [sys.executable, "-m", "devenv", "-p", project]


# -- up


def test_up_no_start_creates_only(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, f"services:\n  app:\n    image: {BUSYBOX}\n    command: {FOREVER}\n")
    ok(devenv(tmp_path, p, "up", "--no-start"))
    assert states(engine, p) == {f"{p}-app-1": "created"}


@pytest.mark.parametrize("extra", [("--abort-on-container-exit",), ("--exit-code-from", "job")],
                         ids=["abort-on-container-exit", "exit-code-from"])
def test_up_abort_on_container_exit_as_compose(tmp_path: Path, project_name: str, compose_bin: str,
                                               engine: docker.DockerClient, extra: tuple[str, ...]) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {forever_after("app-started")}
          job:
            image: {BUSYBOX}
            command: ["sh", "-c", "echo job-ran; sleep 1; exit 3"]
    """)
    mine = devenv(tmp_path, p, "up", *extra)
    assert mine.returncode == 3, output(mine)
    assert f"{p}-job-1 | job-ran" in mine.stdout and f"{p}-app-1 | app-started" in mine.stdout, output(mine)
    assert states(engine, p) == {f"{p}-app-1": "exited", f"{p}-job-1": "exited"}  # the others stopped
    theirs = compose(compose_bin, tmp_path, p + "-compose", "up", *extra)
    assert theirs.returncode == mine.returncode, theirs.stderr


def test_up_exit_code_from_a_service_that_is_stopped(tmp_path: Path, project_name: str) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {FOREVER}
          job:
            image: {BUSYBOX}
            command: ["sh", "-c", "sleep 1; exit 5"]
    """)
    result = devenv(tmp_path, p, "up", "--exit-code-from", "app")
    assert result.returncode == 0, output(result)  # app was stopped by the abort: its trap exits 0


# -- build


def test_build_arg_overrides_the_files_args(tmp_path: Path, project_name: str) -> None:
    p = project_name
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nARG GREETING=from-dockerfile\nARG OTHER\nENV SEEN=\"$GREETING $OTHER\"\n"
    )  # ENV, not RUN: the build needs no container
    write_compose(tmp_path, """
        services:
          app:
            build:
              context: ./app
              args: {GREETING: from-compose-file}
    """)
    ok(devenv(tmp_path, p, "build", "-q", "--build-arg", "GREETING=from-cli", "--build-arg", "OTHER", "app",
              env={"OTHER": "and-env"}))
    seen = ok(devenv(tmp_path, p, "run", "--rm", "-T", "app", "sh", "-c", "echo $SEEN")).stdout.strip()
    assert seen == "from-cli and-env"
