"""The other commands on a real engine: logs, exec, run, build, pull, stop/start/restart, and the
exit codes of bad usage."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.images import REGISTRY
from tests.remote_engine import skip_if_remote
from tests.integration.test_engine_support import (
    BUSYBOX, FAST_HEALTH, FOREVER, containers, devenv, devenv_env, forever_after, ids, inspect, names, ok,
    output, started_at, finished_at, first_healthy_at, states, up, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

ANSI = "\x1b["


@pytest.fixture
def talkers(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> Path:
    write_compose(tmp_path, f"""
        services:
          talker:
            image: {BUSYBOX}
            command: {forever_after("line-1", "line-2", "line-3", "line-4", "line-5")}
          db:
            image: {BUSYBOX}
            command: {forever_after("db-ready")}
            healthcheck: {FAST_HEALTH}
    """)
    up(tmp_path, project_name)
    return tmp_path


def test_logs_prefix_every_line_with_its_container_and_tail_keeps_the_last_lines(talkers: Path, project_name: str) -> None:
    p = project_name
    text = ok(devenv(talkers, p, "logs")).stdout
    talker = re.escape(f"{p}-talker-1")
    db = re.escape(f"{p}-db-1")
    for n in range(1, 6):
        assert re.search(rf"^{talker} +\| line-{n}$", text, re.M), text
    assert re.search(rf"^{db} +\| db-ready$", text, re.M), text
    widths = {line.index(" | ") for line in text.splitlines()}
    assert len(widths) == 1, text  # prefixes are aligned

    tail = ok(devenv(talkers, p, "logs", "--tail", "2", "talker")).stdout.splitlines()
    assert [line.split(" | ", 1)[1] for line in tail] == ["line-4", "line-5"], tail

    stamped = ok(devenv(talkers, p, "logs", "-t", "--tail", "1", "db")).stdout
    assert re.search(r"\| \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z db-ready$", stamped, re.M), stamped

    assert devenv(talkers, p, "logs", "--tail", "many").returncode == 2


def _on_a_terminal(cwd: Path, project: str, args: list[str], env: dict[str, str]) -> str:
    """What `devenv ARGS` prints on a terminal (stdout and stderr both on a pseudo-terminal)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "devenv", "-p", project, *args], cwd=cwd, env=env,
            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave,
        )
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=60) == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_no_color_is_honoured_on_a_terminal(talkers: Path, project_name: str) -> None:
    coloured = _on_a_terminal(talkers, project_name, ["logs", "--tail", "1"], devenv_env())
    assert ANSI in coloured, repr(coloured)  # the check below would see colours if there were any
    plain = _on_a_terminal(talkers, project_name, ["logs", "--tail", "1"], devenv_env({"NO_COLOR": "1"}))
    assert ANSI not in plain and "db-ready" in plain, repr(plain)
    plain_up = _on_a_terminal(talkers, project_name, ["up"], devenv_env({"NO_COLOR": "1"}))
    assert ANSI not in plain_up and "nothing to do" in plain_up, repr(plain_up)


def test_exec_passes_the_exit_code_through_and_honours_env_workdir_and_user(talkers: Path, project_name: str) -> None:
    p = project_name
    assert devenv(talkers, p, "exec", "-T", "talker", "sh", "-c", "exit 7").returncode == 7
    result = ok(devenv(talkers, p, "exec", "-T", "-e", "GREETING=hi there", "-w", "/tmp", "-u", "1234:5678",
                       "talker", "sh", "-c", 'echo "$GREETING"; pwd; id -u; id -g'))
    assert result.stdout.splitlines() == ["hi there", "/tmp", "1234", "5678"], output(result)
    missing = devenv(talkers, p, "exec", "-T", "--index", "2", "talker", "true")
    assert missing.returncode == 2 and "talker" in missing.stderr, output(missing)


def test_run_rm_passes_the_exit_code_through_and_removes_its_container(
    talkers: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    before = set(names(engine, p))
    result = devenv(talkers, p, "run", "--rm", "-T", "talker", "sh", "-c", "echo from-run; exit 5")
    assert result.returncode == 5, output(result)
    assert "from-run" in result.stdout, output(result)
    assert set(names(engine, p)) == before  # gone

    kept = ok(devenv(talkers, p, "run", "-T", "-e", "WHO=me", "talker", "sh", "-c", 'echo "run by $WHO"'))
    assert "run by me" in kept.stdout, output(kept)
    oneoffs = [c for c in containers(engine, p) if c["Labels"].get("com.docker.compose.oneoff") == "True"]
    assert len(oneoffs) == 1, oneoffs
    assert re.fullmatch(rf"/{re.escape(p)}-talker-run-[0-9a-f]{{12}}", oneoffs[0]["Names"][0]), oneoffs


def test_run_starts_the_services_dependencies_first_and_waits_for_their_conditions(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1.5; touch /tmp/ready; while :; do sleep 0.1; done"]
            healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 0.5s, retries: 20}}
          app:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              db: {{condition: service_healthy}}
    """)
    result = devenv(tmp_path, p, "run", "-T", "app", "nslookup", "db")
    assert result.returncode == 0, output(result)
    assert states(engine, p)[f"{p}-db-1"] == "running"
    assert f"{p}-app-1" not in names(engine, p)  # the service's own container is not made
    oneoff = next(c["Names"][0].lstrip("/") for c in containers(engine, p) if c["Labels"]["com.docker.compose.oneoff"] == "True")
    assert started_at(engine, oneoff) >= first_healthy_at(engine, f"{p}-db-1"), output(result)

    # --no-deps on a project with nothing up yet: the one-off still gets the project's network.
    ok(devenv(tmp_path, p, "down", "--remove-orphans"))
    nodeps = devenv(tmp_path, p, "run", "--rm", "--no-deps", "-T", "app", "echo", "alone")
    assert nodeps.returncode == 0 and "alone" in nodeps.stdout, output(nodeps)
    assert names(engine, p) == []


def test_build_makes_the_services_image_from_its_dockerfile(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo built-by-devenv > /built.txt\n")
    write_compose(tmp_path, f"""
        services:
          app:
            build: ./app
            command: {FOREVER}
    """)
    result = ok(devenv(tmp_path, p, "build"))
    image = engine.images.get(f"{p}-app")
    assert image.id, output(result)

    up(tmp_path, p)
    assert inspect(engine, f"{p}-app-1")["Image"] == image.id
    assert ok(devenv(tmp_path, p, "exec", "-T", "app", "cat", "/built.txt")).stdout.strip() == "built-by-devenv"


def test_pull_fetches_the_services_image_from_the_local_registry(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    skip_if_remote(f"the registry on this machine's {REGISTRY} is not on the remote engine's loopback")
    p = project_name
    repository, tag = f"{REGISTRY}/devenv/busybox", "test"
    reference = f"{repository}:{tag}"
    engine.images.get(BUSYBOX).tag(repository, tag)
    try:
        for chunk in engine.api.push(repository, tag=tag, stream=True, decode=True):
            assert "error" not in chunk, chunk
        engine.images.remove(reference)
        write_compose(tmp_path, f"""
            services:
              app:
                image: {reference}
                command: {FOREVER}
        """)
        result = ok(devenv(tmp_path, p, "pull"))
        assert engine.images.get(reference).id == engine.images.get(BUSYBOX).id, output(result)

        engine.images.remove(reference)  # `up` pulls a missing image by itself
        up(tmp_path, p)
        assert states(engine, p) == {f"{p}-app-1": "running"}
    finally:
        try:
            engine.images.remove(reference, force=True)
        except docker.errors.ImageNotFound:
            pass


def test_stop_start_and_restart_in_dependency_order(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on: [db]
    """)
    up(tmp_path, p)
    first = ids(engine, p)

    ok(devenv(tmp_path, p, "stop"))
    assert states(engine, p) == {f"{p}-db-1": "exited", f"{p}-web-1": "exited"}
    assert finished_at(engine, f"{p}-web-1") <= finished_at(engine, f"{p}-db-1")  # dependents first
    assert ok(devenv(tmp_path, p, "ps", "-q")).stdout.split() == []

    ok(devenv(tmp_path, p, "start"))
    assert states(engine, p) == {f"{p}-db-1": "running", f"{p}-web-1": "running"}
    assert started_at(engine, f"{p}-db-1") <= started_at(engine, f"{p}-web-1")  # dependencies first

    before = {n: started_at(engine, n) for n in first}
    ok(devenv(tmp_path, p, "restart"))
    assert all(started_at(engine, n) > before[n] for n in first)
    assert ids(engine, p) == first  # the same containers throughout

    ok(devenv(tmp_path, p, "stop", "web"))
    assert states(engine, p) == {f"{p}-db-1": "running", f"{p}-web-1": "exited"}


def test_bad_usage_exits_2_with_a_clear_message(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    write_compose(tmp_path, f"services:\n  app:\n    image: {BUSYBOX}\n")
    cases = {
        ("up", "nosuch"): "nosuch",
        ("up", "--scale", "app"): "--scale",
        ("up", "--frobnicate"): "--frobnicate",
        ("exec", "-T", "nosuch", "true"): "nosuch",
    }
    for args, says in cases.items():
        result = devenv(tmp_path, project_name, *args)
        assert result.returncode == 2 and says in result.stderr, (args, output(result))
        assert "Traceback" not in result.stderr, output(result)
    write_compose(tmp_path, "services:\n  app:\n    image: [not, a, string]\n")
    broken = devenv(tmp_path, project_name, "up")
    assert broken.returncode == 2 and "compose.yaml" in broken.stderr, output(broken)
    assert containers(engine, project_name) == []
