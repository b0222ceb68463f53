"""Start order on a real engine: depends_on conditions, optional dependencies, parallel starts of
independent services, and dependents restarted with their dependency (`restart: true`)."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FAST_HEALTH, FOREVER, devenv, finished_at, first_healthy_at, ids, inspect, ok, output, started_at, states,
    up, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


def test_service_started_and_service_healthy_order_the_starts(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    # db only passes its health check once it has been up ~1.5 s: web must not start before.
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: ["sh", "-c", "trap 'exit 0' TERM; sleep 1.5; touch /tmp/ready; while :; do sleep 0.1; done"]
            healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 0.5s, retries: 20}}
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              db: {{condition: service_healthy}}
          sidecar:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on: [web]
    """)
    up(tmp_path, p)
    assert set(states(engine, p).values()) == {"running"}
    assert started_at(engine, f"{p}-web-1") >= first_healthy_at(engine, f"{p}-db-1")
    assert started_at(engine, f"{p}-sidecar-1") >= started_at(engine, f"{p}-web-1")


def test_service_completed_successfully_waits_for_a_one_shot_init_job(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          init:
            image: {BUSYBOX}
            command: ["sh", "-c", "sleep 1; echo seeded > /data/flag"]
            volumes: [data:/data]
          app:
            image: {BUSYBOX}
            command: ["sh", "-c", "trap 'exit 0' TERM; cat /data/flag; while :; do sleep 0.1; done"]
            volumes: [data:/data]
            depends_on:
              init: {{condition: service_completed_successfully}}
        volumes:
          data: {{}}
    """)
    up(tmp_path, p)
    init = inspect(engine, f"{p}-init-1")["State"]
    assert (init["Status"], init["ExitCode"]) == ("exited", 0)
    assert states(engine, p)[f"{p}-app-1"] == "running"
    assert started_at(engine, f"{p}-app-1") >= finished_at(engine, f"{p}-init-1")
    assert "seeded" in ok(devenv(tmp_path, p, "logs", "app")).stdout

    # A second up runs the job again, as Compose does, and leaves the running app alone.
    app = inspect(engine, f"{p}-app-1")
    up(tmp_path, p)
    again = inspect(engine, f"{p}-app-1")
    assert (again["Id"], again["State"]["StartedAt"]) == (app["Id"], app["State"]["StartedAt"])
    assert inspect(engine, f"{p}-init-1")["State"]["ExitCode"] == 0


def test_a_failing_init_job_fails_up_and_its_dependent_never_starts(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          init:
            image: {BUSYBOX}
            command: ["sh", "-c", "echo migration failed; exit 3"]
          app:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              init: {{condition: service_completed_successfully}}
    """)
    result = devenv(tmp_path, p, "up")
    assert result.returncode == 1, output(result)
    assert "init" in result.stderr and "exited with code 3" in result.stderr, output(result)
    assert "migration failed" in result.stderr, output(result)  # its last log lines
    assert states(engine, p)[f"{p}-app-1"] == "created"


def test_optional_dependency_disabled_by_its_profile_is_ignored_with_a_warning(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              cache: {{condition: service_healthy, required: false}}
          cache:
            image: {BUSYBOX}
            command: {FOREVER}
            profiles: [extras]
    """)
    result = up(tmp_path, p)
    assert "cache" in result.stderr and "warning" in result.stderr, output(result)
    assert states(engine, p) == {f"{p}-app-1": "running"}


def test_optional_dependency_that_fails_does_not_keep_its_dependent_from_starting(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              opt: {{condition: service_healthy, required: false}}
          opt:
            image: {BUSYBOX}
            command: ["sh", "-c", "echo giving up; exit 3"]
            healthcheck: {FAST_HEALTH}
    """)
    result = devenv(tmp_path, p, "up")
    # opt itself never becomes healthy: `up` (which always waits) reports it...
    assert result.returncode == 1 and "opt" in result.stderr, output(result)
    # ...but app does not need it and runs.
    assert states(engine, p)[f"{p}-app-1"] == "running", output(result)


def test_independent_services_start_in_parallel(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    # The first health check runs one interval after the start, so a service is healthy no sooner
    # than that. Started one after another (each waited for before the next), a start would come
    # after an earlier one's first passing check; started in parallel, every start comes before.
    # The engine's own timestamps tell the order; how long `up` took is for benchmarks/.
    service = f"""
            image: {BUSYBOX}
            command: {FOREVER}
            healthcheck: {{test: ["CMD", "true"], interval: 2s}}"""
    names = ("one", "two", "three")
    write_compose(tmp_path, f"""
        services:
          one:{service}
          two:{service}
          three:{service}
    """)
    up(tmp_path, p)
    starts = {s: started_at(engine, f"{p}-{s}-1") for s in names}
    healthy = {s: first_healthy_at(engine, f"{p}-{s}-1") for s in names}
    assert max(starts.values()) < min(healthy.values()), f"started: {starts}, first healthy: {healthy}"


def test_dependent_with_restart_true_is_restarted_when_its_dependency_is_recreated(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    text = f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
            environment: {{VERSION: "1"}}
          api:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              db: {{condition: service_started, restart: true}}
          report:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on: [db]
    """
    write_compose(tmp_path, text)
    up(tmp_path, p)
    before_ids = ids(engine, p)
    before = {s: started_at(engine, f"{p}-{s}-1") for s in ("api", "report")}

    write_compose(tmp_path, text.replace('VERSION: "1"', 'VERSION: "2"'))
    plan = ok(devenv(tmp_path, p, "up", "--dry-run")).stdout
    assert f"start container {p}-api-1 (restart api: db recreated)" in plan, plan
    up(tmp_path, p)
    after_ids = ids(engine, p)
    assert after_ids[f"{p}-db-1"] != before_ids[f"{p}-db-1"]
    assert after_ids[f"{p}-api-1"] == before_ids[f"{p}-api-1"]  # restarted, not recreated
    assert started_at(engine, f"{p}-api-1") > before["api"]
    assert started_at(engine, f"{p}-api-1") >= started_at(engine, f"{p}-db-1")
    assert started_at(engine, f"{p}-report-1") == before["report"]  # no restart: true, left alone
    assert set(states(engine, p).values()) == {"running"}


def test_down_lets_a_dependent_finish_exiting_before_its_dependency_is_signalled(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    """A dependent that takes its time to shut down (flushing to its database) has exited before the
    database is asked to stop; down then goes on without waiting for the engine's clean-up of it."""
    p = project_name
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            volumes: [log:/log]
            command: ["sh", "-c", "trap 'echo db-signalled >> /log/order; exit 0' TERM; while :; do sleep 0.1; done"]
          app:
            image: {BUSYBOX}
            volumes: [log:/log]
            depends_on: [db]
            command: ["sh", "-c", "trap 'sleep 1; echo app-flushed >> /log/order; exit 0' TERM; while :; do sleep 0.1; done"]
        volumes:
          log: {{}}
    """)
    up(tmp_path, p)
    result = ok(devenv(tmp_path, p, "down"))
    assert states(engine, p) == {}, output(result)
    order = engine.containers.run(BUSYBOX, ["cat", "/log/order"], volumes={f"{p}_log": {"bind": "/log"}}, remove=True)
    assert order.decode().split() == ["app-flushed", "db-signalled"], output(result)
    engine.volumes.get(f"{p}_log").remove()
