"""Readiness against the real engine: a crash loop fails `up` at once (not at the wait timeout),
`start` and `restart` wait until ready as `up` does, and `service_healthy` on a service whose image
has no healthcheck is refused before anything is created."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, assert_nothing_exists, devenv, health, ok, output, states, up, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

HANG_GUARD = 60.0  # seconds: far below the 120 s wait timeout the commands are given
LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"


def test_a_crash_loop_fails_up_long_before_the_wait_timeout(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          ok:
            image: {BUSYBOX}
            command: {FOREVER}
          app:
            image: {BUSYBOX}
            restart: always
            command: ["sh", "-c", "echo cannot bind port 8080; exit 5"]
    """)
    result = devenv(tmp_path, p, "up", "--wait-timeout", "120", timeout=HANG_GUARD)
    assert result.returncode == 1, output(result)
    assert "timed out" not in result.stderr, output(result)
    assert "app" in result.stderr and "keeps restarting" in result.stderr, output(result)
    assert "last exit code 5" in result.stderr, output(result)
    assert "cannot bind port 8080" in result.stderr, output(result)  # its last log lines
    assert states(engine, p)[f"{p}-ok-1"] == "running"


def test_a_crash_loop_with_a_healthcheck_fails_up_the_same_way(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    """Between runs the engine calls the container unhealthy: that is the crash loop, said as such."""
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            restart: on-failure
            command: ["sh", "-c", "echo no config; sleep 0.2; exit 3"]
            healthcheck: {{test: ["CMD", "true"], interval: 1s}}
    """)
    result = devenv(tmp_path, p, "up", "--wait-timeout", "120", timeout=HANG_GUARD)
    assert result.returncode == 1, output(result)
    assert "keeps restarting" in result.stderr and "last exit code 3" in result.stderr, output(result)
    assert "no config" in result.stderr, output(result)


def test_a_service_that_restarts_a_few_times_while_its_dependency_comes_up_becomes_ready(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    """Three failed starts (the engine's back-off between them) are not a crash loop."""
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            restart: on-failure
            volumes: [state:/state]
            command: ["sh", "-c", "echo x >> /state/tries; test $$(wc -l < /state/tries) -gt 3 || exit 1; {LOOP}"]
        volumes:
          state: {{}}
    """)
    result = devenv(tmp_path, p, "up", "--wait-timeout", "120", timeout=HANG_GUARD)
    assert result.returncode == 0, output(result)
    assert states(engine, p) == {f"{p}-app-1": "running"}
    assert engine.api.inspect_container(f"{p}-app-1")["RestartCount"] == 3


BREAKABLE = f"""
    services:
      db:
        image: {BUSYBOX}
        command: {FOREVER}
        healthcheck: {{test: ["CMD", "true"], interval: 0.5s}}
      app:
        image: {BUSYBOX}
        restart: {{restart}}
        depends_on: [db]
        volumes: [state:/state]
        command: ["sh", "-c", "test -f /state/broken && {{ echo config is broken; exit 4; }}; {LOOP}"]
    volumes:
      state: {{}}
"""


def test_start_and_restart_wait_until_ready(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, BREAKABLE.replace("{restart}", '"no"'))
    up(tmp_path, p)
    ok(devenv(tmp_path, p, "stop"))
    started = ok(devenv(tmp_path, p, "start", timeout=HANG_GUARD))
    assert health(engine, f"{p}-db-1") == "healthy", output(started)  # healthy when start returns
    assert set(states(engine, p).values()) == {"running"}
    ok(devenv(tmp_path, p, "restart", timeout=HANG_GUARD))
    assert health(engine, f"{p}-db-1") == "healthy"

    # A container that now exits on start: `start` fails as `up` does, naming it and its logs.
    ok(devenv(tmp_path, p, "exec", "-T", "app", "touch", "/state/broken"))
    ok(devenv(tmp_path, p, "stop", "app"))
    result = devenv(tmp_path, p, "start", "app", timeout=HANG_GUARD)
    assert result.returncode == 1, output(result)
    assert "app" in result.stderr and "exited with code 4" in result.stderr, output(result)
    assert "config is broken" in result.stderr, output(result)


def test_restart_fails_at_once_on_a_crash_loop(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, BREAKABLE.replace("{restart}", "always"))
    up(tmp_path, p)
    ok(devenv(tmp_path, p, "exec", "-T", "app", "touch", "/state/broken"))
    result = devenv(tmp_path, p, "restart", "app", timeout=HANG_GUARD)
    assert result.returncode == 1, output(result)
    assert "keeps restarting" in result.stderr and "last exit code 4" in result.stderr, output(result)
    assert "config is broken" in result.stderr, output(result)


def test_service_healthy_on_an_image_without_a_healthcheck_is_refused_before_anything_is_created(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    path = write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              db:
                condition: service_healthy
    """)
    result = devenv(tmp_path, p, "up", timeout=HANG_GUARD)
    assert result.returncode == 2, output(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, output(result)
    assert lines[0].startswith(f"devenv: {path}:9: services.web.depends_on.db: "), output(result)
    assert f"'db' has no healthcheck (none in the file, none in its image {BUSYBOX})" in lines[0], output(result)
    assert_nothing_exists(engine, p)


def test_service_healthy_on_an_image_with_a_healthcheck_waits_for_it(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "Dockerfile").write_text(
        f"FROM {BUSYBOX}\nHEALTHCHECK --interval=1s CMD true\nCMD [\"sh\", \"-c\", \"{LOOP}\"]\n"
    )
    write_compose(tmp_path, f"""
        services:
          db:
            build: ./db
            image: {p}-db-with-healthcheck
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              db:
                condition: service_healthy
    """)
    try:
        result = devenv(tmp_path, p, "up", timeout=DEVENV_BUILD_TIMEOUT)
        assert result.returncode == 0, output(result)
        assert health(engine, f"{p}-db-1") == "healthy"
        assert states(engine, p)[f"{p}-web-1"] == "running"
    finally:
        devenv(tmp_path, p, "down", "-t", "0")
        try:
            engine.images.remove(f"{p}-db-with-healthcheck", force=True)
        except docker.errors.ImageNotFound:
            pass


DEVENV_BUILD_TIMEOUT = 120.0


def test_a_lock_folder_that_is_not_a_folder_is_one_line_and_nothing_is_created(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"services:\n  web:\n    image: {BUSYBOX}\n    command: {FOREVER}\n")
    result = devenv(tmp_path, p, "up", env={"DEVENV_LOCK_DIR": "/dev/null"}, timeout=HANG_GUARD)
    assert result.returncode == 2, output(result)
    assert result.stderr.startswith("devenv: DEVENV_LOCK_DIR=/dev/null is not a folder"), output(result)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, output(result)
    assert_nothing_exists(engine, p)
