"""Every `devenv init` template is a working stack: init (non-interactive, free ports, a unique
project) -> up (built offline from Debian packages on the base images) -> an end-to-end check ->
down -v. graphite: the app's metric is rendered by graphite-web from carbon's whisper files,
which it sees only through volumes_from; web-postgres: the app's answer holds what is in the
database; web-redis: the counter in redis goes up with each hit."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.engine_helpers import free_port

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

REPO = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 1200  # a first build installs Debian packages (a guard against a hang, not a measure)


def devenv(folder: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-m", "devenv", *args], cwd=folder, env=env,
                            capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        pytest.fail(f"devenv {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture
def stack(tmp_path: Path, project_name: str) -> Iterator[Callable[..., Path]]:
    """init TEMPLATE into a fresh folder with --yes, the unique project name and the given values,
    then `up`; `down -v` afterwards (project_name's cleanup removes whatever is left, images too)."""
    made: list[Path] = []

    def make(template: str, **values: int) -> Path:
        folder = tmp_path / template
        sets = [f"--set={k}={v}" for k, v in {"project": project_name, **values}.items()]
        devenv(tmp_path, "init", template, str(folder), "--yes", *sets)
        made.append(folder)
        started = time.monotonic()
        devenv(folder, "up", timeout=BUILD_TIMEOUT)
        print(f"\n{template}: init + up (build included) took {time.monotonic() - started:.0f} s")
        return folder

    yield make
    for folder in made:
        subprocess.run([sys.executable, "-m", "devenv", "down", "-v"], cwd=folder, capture_output=True, timeout=300,
                       env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)


def get(url: str, data: bytes | None = None) -> Any:
    with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as response:
        return json.loads(response.read())


def eventually(fetch: Callable[[], Any], what: str, timeout: float = 120.0) -> Any:
    """fetch() until it gives something truthy (errors count as not yet); the timeout only guards
    against a hang."""
    deadline = time.monotonic() + timeout
    problem: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = fetch()
            if value:
                return value
        except (OSError, ValueError) as exc:
            problem = exc
        time.sleep(1)
    pytest.fail(f"no {what} within {timeout:.0f} s (last error: {problem})")


def test_graphite_app_metric_is_rendered_by_graphite_web(stack: Callable[..., Path], project_name: str,
                                                         engine: docker.DockerClient) -> None:
    web_port, carbon_port = free_port(), free_port()
    graphite_folder = [stack("graphite", graphite_port=web_port, carbon_port=carbon_port)]

    # graphite-web has no whisper files of its own: carbon's volume, through volumes_from.
    carbon = engine.api.inspect_container(f"{project_name}-carbon-1")
    web = engine.api.inspect_container(f"{project_name}-graphite-web-1")
    whisper = {m["Destination"]: m["Name"] for m in carbon["Mounts"] if m["Type"] == "volume"}
    assert whisper == {"/var/lib/graphite/whisper": f"{project_name}_whisper"}
    assert {m["Destination"]: m.get("Name") for m in web["Mounts"]} == whisper

    def heartbeat() -> list[float]:
        url = f"http://127.0.0.1:{web_port}/render?target=app.heartbeat&from=-10min&format=json"
        series = get(url)
        return [value for value, _ in series[0]["datapoints"] if value is not None] if series else []

    assert eventually(heartbeat, "non-null app.heartbeat datapoint in graphite-web's render API")[-1] >= 1

    # carbon's port is published on 127.0.0.1: a metric sent from here is rendered too.
    stamp = int(time.time())
    with socket.create_connection(("127.0.0.1", carbon_port), timeout=10) as conn:
        conn.sendall(f"k2.deploys 7 {stamp}\n".encode())

    def deploys() -> Any:
        series = get(f"http://127.0.0.1:{web_port}/render?target=k2.deploys&from=-10min&format=json")
        return series and [v for v, t in series[0]["datapoints"] if v is not None]

    assert eventually(deploys, "k2.deploys datapoint") == [7.0]

    # devenv's own metrics (x-devenv.metrics.carbon of the template): an `up` with carbon running
    # sends its timings, and graphite-web renders them.
    devenv(graphite_folder[0], "up")

    def up_seconds() -> Any:
        target = f"devenv.{project_name.replace('.', '_')}.up.seconds"
        series = get(f"http://127.0.0.1:{web_port}/render?target={target}&from=-10min&format=json")
        return series and [v for v, t in series[0]["datapoints"] if v is not None]

    assert eventually(up_seconds, "devenv's up.seconds in graphite-web")[-1] >= 0


def test_web_postgres_app_answers_with_what_the_database_holds(stack: Callable[..., Path]) -> None:
    port = free_port()
    folder = stack("web-postgres", app_port=port)
    assert oct((folder / ".env").stat().st_mode & 0o777) == "0o600"

    note = f"note-{time.monotonic_ns()}"
    # `up` returns once the app's container runs; its server may take a moment more to listen.
    assert eventually(lambda: get(f"http://127.0.0.1:{port}/", data=note.encode()), "answer from the app") == {"added": note}
    answer = get(f"http://127.0.0.1:{port}/")
    assert answer["notes"] == [note] and answer["database"].startswith("PostgreSQL 15")
    # The row is in PostgreSQL itself, and what is put there directly shows in the app's answer.
    stored = devenv(folder, "exec", "-T", "db", "psql", "-tAc", "SELECT text FROM notes").stdout.split()
    assert stored == [note]
    devenv(folder, "exec", "-T", "db", "psql", "-c", "INSERT INTO notes (text) VALUES ('from psql')")
    assert get(f"http://127.0.0.1:{port}/")["notes"] == [note, "from psql"]


def test_web_redis_counter_goes_up_with_each_hit(stack: Callable[..., Path]) -> None:
    port = free_port()
    folder = stack("web-redis", app_port=port)

    # `up` returns once the app's container runs; its server may take a moment more to listen.
    first = eventually(lambda: get(f"http://127.0.0.1:{port}/")["hits"], "answer from the app")
    second = get(f"http://127.0.0.1:{port}/")["hits"]
    assert second == first + 1
    assert devenv(folder, "exec", "-T", "redis", "redis-cli", "get", "hits").stdout.strip() == str(second)
