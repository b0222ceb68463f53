"""Environments on the real engine: `--env NAME` (and DEVENV_ENV) selects the overlay and the
environment's engine (a host, or a docker context of a scratch DOCKER_CONFIG), which wins over
DOCKER_HOST; `up --local` runs it on the local engine with its laptop overrides and says what
they change first."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import docker
import pytest

from devenv.engine.client import engine_address
from tests.integration.test_engine_support import BUSYBOX, FOREVER, devenv, free_ports, ok, output, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

NOBODY = "unix:///nonexistent/devenv-engine.sock"  # DOCKER_HOST no engine answers on


def local_engine() -> str:
    """The engine these tests run on (the one `docker.from_env()` reaches): DOCKER_HOST or the socket."""
    address = engine_address()
    if not address.startswith("unix://"):
        pytest.fail(f"these tests name the local engine by its socket; DOCKER_HOST is {address}", pytrace=False)
    return address


def add_context(config: Path, name: str, host: str) -> None:
    """A docker context in the store under `config`, as `docker context create` writes it."""
    meta = config / "contexts" / "meta" / hashlib.sha256(name.encode()).hexdigest()
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({"Name": name, "Metadata": {}, "Endpoints": {"docker": {
        "Host": host, "SkipTLSVerify": False}}}))


def write_project(folder: Path, environments: str) -> None:
    write_compose(folder, f"""
        services:
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            environment: {{LEVEL: main}}
        x-devenv:
          environments:
        {environments}
    """, name="devenv.yaml")


def running(engine: docker.DockerClient, project: str) -> list[str]:
    found = engine.api.containers(filters={"label": f"com.docker.compose.project={project}"})
    return sorted(c["Labels"]["com.docker.compose.service"] for c in found)


def test_env_host_is_the_engine_used_whatever_docker_host_says(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    write_project(tmp_path, f"    prod: {{host: '{local_engine()}'}}")
    result = ok(devenv(tmp_path, project_name, "--env", "prod", "up", env={"DOCKER_HOST": NOBODY}))
    assert running(engine, project_name) == ["web"], output(result)
    ps = ok(devenv(tmp_path, project_name, "--env", "prod", "ps", "-q", env={"DOCKER_HOST": NOBODY}))
    assert len(ps.stdout.split()) == 1
    # without --env, DOCKER_HOST is the engine, as before
    refused = devenv(tmp_path, project_name, "ps", env={"DOCKER_HOST": NOBODY})
    assert refused.returncode == 1 and f"cannot reach the Docker engine at {NOBODY}" in refused.stderr


def test_env_context_of_a_docker_config(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    config = tmp_path / "docker-config"
    add_context(config, "laptop-engine", local_engine())
    folder = tmp_path / "app"
    folder.mkdir()
    write_project(folder, "    prod: {context: laptop-engine}")
    env = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": NOBODY}
    ok(devenv(folder, project_name, "--env", "prod", "up", env=env))
    assert running(engine, project_name) == ["web"]
    ok(devenv(folder, project_name, "--env", "prod", "down", env=env))
    assert running(engine, project_name) == []


def test_unknown_context_is_one_line(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    config = tmp_path / "docker-config"
    add_context(config, "staging", local_engine())
    folder = tmp_path / "app"
    folder.mkdir()
    write_project(folder, "    prod: {context: prodd}")
    result = devenv(folder, project_name, "--env", "prod", "up", env={"DOCKER_CONFIG": str(config)})
    assert result.returncode == 1, output(result)
    assert result.stderr == "devenv: docker context 'prodd' not found (contexts: default, staging)\n"
    assert running(engine, project_name) == []


def test_up_local_applies_the_laptop_and_prints_the_differences(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    port = free_ports()
    write_project(tmp_path, f"""    prod:
              host: tcp://127.0.0.1:9
              laptop:
                services:
                  web:
                    ports: ["127.0.0.1:{port}:8080"]
                    environment: {{LEVEL: debug, API_TOKEN: laptop-only-value}}""")
    result = ok(devenv(tmp_path, project_name, "--env", "prod", "up", "--local", env={"DOCKER_HOST": local_engine()}))
    assert result.stderr.splitlines()[:3] == [
        "devenv: laptop differs from prod: web.environment.API_TOKEN: (secret) -> (secret)",
        'devenv: laptop differs from prod: web.environment.LEVEL: "main" -> "debug"',
        f'devenv: laptop differs from prod: web.ports: [] -> ["127.0.0.1:{port}:8080/tcp"]',
    ], output(result)
    assert "laptop-only-value" not in result.stdout + result.stderr
    (container,) = engine.api.containers(filters={"label": f"com.docker.compose.project={project_name}"})
    details = engine.api.inspect_container(container["Id"])
    assert details["HostConfig"]["PortBindings"] == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]}
    assert "LEVEL=debug" in details["Config"]["Env"]


def test_env_without_engine_runs_locally_with_its_laptop(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    write_project(tmp_path, """    stage:
              laptop: {services: {web: {environment: {LEVEL: laptop}}}}""")
    result = ok(devenv(tmp_path, project_name, "--env", "stage", "up"))
    assert 'devenv: laptop differs from stage: web.environment.LEVEL: "main" -> "laptop"' in result.stderr
    (container,) = engine.api.containers(filters={"label": f"com.docker.compose.project={project_name}"})
    assert "LEVEL=laptop" in engine.api.inspect_container(container["Id"])["Config"]["Env"]


def test_config_env_shows_the_overlay_and_devenv_env_equals_env(tmp_path: Path, project_name: str) -> None:
    write_project(tmp_path, "    prod: {registry: 'registry.example.com/team'}")
    write_compose(tmp_path, "services:\n  web:\n    environment: {LEVEL: from-overlay}\n", name="devenv.prod.yaml")
    chosen = ok(devenv(tmp_path, project_name, "--env", "prod", "config", "--format", "json"))
    model = json.loads(chosen.stdout)
    assert model["services"]["web"]["environment"] == {"LEVEL": "from-overlay"}
    assert ok(devenv(tmp_path, project_name, "config", "--format", "json", env={"DEVENV_ENV": "prod"})).stdout == chosen.stdout
    plain = json.loads(ok(devenv(tmp_path, project_name, "config", "--format", "json")).stdout)
    assert plain["services"]["web"]["environment"] == {"LEVEL": "main"}
    assert ok(devenv(tmp_path, project_name, "config", "--environments")).stdout == "prod\n"
    unknown = devenv(tmp_path, project_name, "--env", "qa", "config")
    assert (unknown.returncode, unknown.stderr) == (2, "devenv: unknown environment 'qa' (environments: prod)\n")
