"""examples/quickstart works with the reference Compose v2 binary on the test engine.

Compose builds the images itself (its built-in builder on the engine's BuildKit: no buildx
needed), then `up --wait` brings the stack up under a unique project name on a free port.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.engine_helpers import free_port, run_compose

pytestmark = pytest.mark.engine

QUICKSTART = Path(__file__).resolve().parents[2] / "examples" / "quickstart"
HITS = re.compile(r'<b id="hits">(\d+)</b>')


def compose(project: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run Compose on the quickstart file; on failure, fail the test with its output and logs."""
    base = ["-f", "devenv.yaml", "-p", project]
    result = run_compose([*base, *args], cwd=QUICKSTART, env=env)
    if result.returncode != 0:
        logs = run_compose([*base, "logs", "--no-color"], cwd=QUICKSTART, env=env).stdout
        pytest.fail(f"compose {' '.join(args)} exited {result.returncode}:\n{result.stderr}\n--- logs ---\n{logs}")
    return result


def hits(port: int) -> int:
    """Fetch the web page and return the hit counter it shows (metrics must be flowing)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        page = response.read().decode()
    assert '<b id="metrics">flowing</b>' in page, page
    match = HITS.search(page)
    assert match, page
    return int(match.group(1))


def received_metrics(project: str, env: dict[str, str], want: int) -> list[str]:
    """The lines metrics stored (served by its busybox httpd), once there are `want` of them."""
    fetch = ("exec", "-T", "metrics", "wget", "-qO-", "http://127.0.0.1:8081/metrics.txt")
    deadline = time.monotonic() + 10
    while True:
        lines = compose(project, *fetch, env=env).stdout.splitlines()
        if len(lines) >= want or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def test_quickstart_counts_hits_and_sends_metrics(base_images: tuple[str, str], project_name: str) -> None:
    port = free_port()
    env = {"WEB_PORT": str(port)}
    compose(project_name, "build", env=env)
    compose(project_name, "up", "--detach", "--wait", env=env)

    first = hits(port)
    assert hits(port) == first + 1

    lines = received_metrics(project_name, env, want=2)
    assert [line.split()[:2] for line in lines] == [
        ["quickstart.web.hits", str(first)],
        ["quickstart.web.hits", str(first + 1)],
    ], lines
    assert all(len(line.split()) == 3 and line.split()[2].isdigit() for line in lines), lines

    # The counter lives in the db-data volume: it survives recreating db.
    compose(project_name, "up", "--detach", "--wait", "--force-recreate", "--no-deps", "db", env=env)
    assert hits(port) == first + 2


def devenv(project: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os
    import sys

    command = [sys.executable, "-m", "devenv", "-f", "devenv.yaml", "-p", project, *args]
    result = subprocess.run(command, cwd=QUICKSTART, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"devenv {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def test_devenv_up_brings_the_quickstart_up_and_prints_its_url(base_images: tuple[str, str], project_name: str) -> None:
    import json

    port = free_port()
    env = {"WEB_PORT": str(port)}
    report = json.loads(devenv(project_name, "up", "--format", "json", env=env).stdout)

    assert report["ok"] is True
    states = {c["service"]: (c["state"], c["health"]) for c in report["containers"]}
    assert states == {s: ("running", "healthy") for s in ("web", "db", "metrics")}
    urls = [p["url"] for c in report["containers"] for p in c["ports"] if p["url"]]
    assert urls == [f"http://localhost:{port}"]
    first = hits(port)
    assert hits(port) == first + 1

    table = devenv(project_name, "up", env=env)
    assert "nothing to do" in table.stderr
    assert f"http://localhost:{port}" in table.stdout

    devenv(project_name, "down", env=env)
    devenv(project_name, "up", env=env)
    assert hits(port) == first + 2  # db-data survived `down` (no -v)
