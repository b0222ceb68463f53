"""When `up` cannot succeed: a service that never becomes healthy, a bad or missing image.
`up` exits 1, says which service and why (health-check output, last log lines), and a fixed file
converges on the next `up`; an image problem leaves nothing behind."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.images import REGISTRY
from tests.integration.test_engine_support import (
    BUSYBOX, FAST_HEALTH, FOREVER, assert_nothing_exists, devenv, health, output, states, up, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

NEVER_HEALTHY = f"""
services:
  ok:
    image: {BUSYBOX}
    command: {FOREVER}
  api:
    image: {BUSYBOX}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo api booting; echo api cannot find its config; while :; do sleep 0.1; done"]
    healthcheck: {{test: ["CMD-SHELL", "echo probe-says-no; exit 1"], interval: 0.5s, retries: {{retries}}}}
"""


def test_never_healthy_service_fails_up_within_the_wait_timeout_and_says_why(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, NEVER_HEALTHY.replace("{retries}", "1000"))  # stays "starting": only the timeout ends it
    # The subprocess timeout is only a hang guard; the message says which limit ended the wait.
    result = devenv(tmp_path, p, "up", "--wait-timeout", "3", timeout=90)
    assert result.returncode == 1, output(result)
    assert f"{p}-api-1" in result.stderr and "api" in result.stderr, output(result)
    assert "timed out" in result.stderr, output(result)
    assert "probe-says-no" in result.stderr, output(result)  # its health-check output
    assert "api cannot find its config" in result.stderr, output(result)  # its last log lines
    assert states(engine, p)[f"{p}-ok-1"] == "running"  # the rest of the project is up

    # Fixing the file: the next up recreates api and converges.
    write_compose(tmp_path, NEVER_HEALTHY.replace("{retries}", "1000").replace('"echo probe-says-no; exit 1"', '"true"'))
    up(tmp_path, p)
    assert health(engine, f"{p}-api-1") == "healthy"
    assert set(states(engine, p).values()) == {"running"}


def test_unhealthy_service_fails_up_at_once_not_after_the_timeout(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, NEVER_HEALTHY.replace("{retries}", "2"))
    # With a wait timeout far beyond the hang guard, only the unhealthy verdict can end `up`.
    result = devenv(tmp_path, p, "up", "--wait-timeout", "600", timeout=120)
    assert result.returncode == 1, output(result)
    assert "timed out" not in result.stderr, output(result)
    assert "api" in result.stderr and "unhealthy" in result.stderr, output(result)
    assert "probe-says-no" in result.stderr and "api booting" in result.stderr, output(result)


def test_a_dependent_of_a_never_healthy_service_is_not_started(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, NEVER_HEALTHY.replace("{retries}", "2") + f"""
  web:
    image: {BUSYBOX}
    command: {FOREVER}
    depends_on:
      api: {{condition: service_healthy}}
""")
    result = devenv(tmp_path, p, "up")
    assert result.returncode == 1, output(result)
    assert states(engine, p)[f"{p}-web-1"] == "created", output(result)
    assert "skipped" in result.stderr, output(result)


@pytest.mark.parametrize(
    "image, says",
    [
        ("Not A Valid/Reference::", "invalid reference format"),
        (f"{REGISTRY}/devenv/no-such-image:missing", "no-such-image"),
    ],
    ids=["malformed", "missing-from-registry"],
)
def test_bad_image_reference_refuses_up_and_creates_nothing(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, image: str, says: str
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          good:
            image: {BUSYBOX}
            command: {FOREVER}
            volumes: [data:/data]
          bad:
            image: "{image}"
            healthcheck: {FAST_HEALTH}
        volumes:
          data: {{}}
    """)
    result = devenv(tmp_path, p, "up")
    assert result.returncode in (1, 2), output(result)
    assert says in result.stderr and image in result.stderr, output(result)
    assert "Traceback" not in result.stderr, output(result)
    assert_nothing_exists(engine, p)


def test_a_service_whose_container_exits_with_an_error_fails_up(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          crasher:
            image: {BUSYBOX}
            command: ["sh", "-c", "echo cannot open database; exit 3"]
          once:
            image: {BUSYBOX}
            command: ["sh", "-c", "echo did my job"]
    """)
    result = devenv(tmp_path, p, "up")
    assert result.returncode == 1, output(result)
    assert "crasher" in result.stderr and "exited with code 3" in result.stderr, output(result)
    assert "cannot open database" in result.stderr, output(result)
    failures = [line for line in result.stderr.splitlines() if "failed" in line]
    assert failures and not any("once" in line for line in failures), output(result)  # exit 0: a job done
    assert states(engine, p) == {f"{p}-crasher-1": "exited", f"{p}-once-1": "exited"}


def test_a_service_that_crashes_a_moment_after_starting_fails_up(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    """Seen running is not ready: without a healthcheck a container must stay up for a moment."""
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: ["sh", "-c", "echo missing DATABASE_URL; sleep 0.2; exit 4"]
    """)
    result = devenv(tmp_path, p, "up")
    assert result.returncode == 1, output(result)
    assert "exited with code 4" in result.stderr and "missing DATABASE_URL" in result.stderr, output(result)


def test_a_crash_looping_service_is_not_ready_and_says_it_keeps_restarting(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            restart: always
            command: ["sh", "-c", "echo cannot bind; exit 5"]
    """)
    result = devenv(tmp_path, p, "up", "--wait-timeout", "3")
    assert result.returncode == 1, output(result)
    assert "keeps restarting" in result.stderr and "exit code 5" in result.stderr, output(result)


def test_a_service_restarting_until_its_database_is_up_becomes_ready(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    """`restart: on-failure` to wait for a dependency is a common pattern: `up` waits it out."""
    p = project_name
    LOOP = "trap 'exit 0' TERM; while :; do sleep 0.1; done"
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            restart: on-failure
            volumes: [state:/state]
            command: ["sh", "-c", "test -f /state/tried || {{ touch /state/tried; exit 1; }}; {LOOP}"]
        volumes:
          state: {{}}
    """)
    result = devenv(tmp_path, p, "up", "--wait-timeout", "20")
    assert result.returncode == 0, output(result)
    assert states(engine, p) == {f"{p}-app-1": "running"}
