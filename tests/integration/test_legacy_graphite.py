"""examples/legacy-graphite comes up with devenv (the version-1 layout Compose v2 rejects) and works
end to end: a metric line sent to carbon's port is stored in carbon's volume, and graphite-web,
which sees that volume only through `volumes_from`, renders it; user-registration reaches carbon
through its link."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.engine_helpers import free_port

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "legacy-graphite"


def devenv(project: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "devenv", "-f", "docker-compose.yml", "-p", project, *args]
    result = subprocess.run(command, cwd=EXAMPLE, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"devenv {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def render(port: int, target: str, fmt: str = "json") -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/render?target={target}&format={fmt}", timeout=10) as response:
        body = response.read().decode()
    return json.loads(body) if fmt == "json" else body


def eventually(fetch: Any, what: str, timeout: float = 20.0) -> Any:
    """fetch() until it gives something truthy; the timeout only guards against a hang."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        assert time.monotonic() < deadline, f"no {what} within {timeout}s"
        time.sleep(0.2)


def test_legacy_graphite_stores_metrics_that_graphite_web_renders(project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    ports = {"CARBON_PORT": free_port(), "GRAPHITE_PORT": free_port(), "REGISTRATION_PORT": free_port()}
    env = {k: str(v) for k, v in ports.items()}
    result = devenv(p, "up", env=env)
    assert "legacy (version 1) Compose layout" in result.stderr, result.stderr

    # graphite-web has no storage of its own: carbon's volume, through volumes_from.
    carbon = engine.api.inspect_container(f"{p}-carbon-1")
    web = engine.api.inspect_container(f"{p}-graphite-web-1")
    storage = {m["Destination"]: m["Name"] for m in carbon["Mounts"] if m["Type"] == "volume"}
    assert {m["Destination"]: m.get("Name") for m in web["Mounts"]} == storage
    assert "/opt/graphite/storage" in storage

    # A metric line sent to the carbon port, a malformed line next to it (dropped).
    stamp = int(time.time())
    with socket.create_connection(("127.0.0.1", ports["CARBON_PORT"]), timeout=10) as conn:
        conn.sendall(f"deploys.api 3 {stamp}\nnot a metric\ndeploys.web 1.5 {stamp}\n".encode())

    def both() -> Any:
        data = render(ports["GRAPHITE_PORT"], "deploys.*")
        return data if len(data) == 2 else None

    series = eventually(both, "rendered metrics")
    assert series == [
        {"target": "deploys.api", "datapoints": [[3.0, stamp]]},
        {"target": "deploys.web", "datapoints": [[1.5, stamp]]},
    ]

    # user-registration reports to carbon by its link name; the CSV form renders it.
    request = urllib.request.Request(f"http://127.0.0.1:{ports['REGISTRATION_PORT']}/", data=b"alice", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert json.loads(response.read()) == {"registered": "alice"}
    csv = eventually(lambda: render(ports["GRAPHITE_PORT"], "user_registration.registrations", "csv"), "registration metric")
    assert csv.startswith("user_registration.registrations,") and csv.rstrip().endswith(",1"), csv

    devenv(p, "down", "-v", env=env)
    assert engine.containers.list(all=True, filters={"label": f"com.docker.compose.project={p}"}) == []
