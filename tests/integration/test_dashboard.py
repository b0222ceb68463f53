"""`devenv dashboard` end to end in Debian's headless Chromium, driven through the DevTools
protocol (tests/cdp.py, stdlib only): the page lists the services from the engine, a service
restarts from its button (its container's StartedAt changes), logs stream (a line the container
prints after the page opened appears in it, before and after the restart), and the last `up` is
shown with its reasons. A screenshot is kept: $DEVENV_TEST_ARTIFACTS/dashboard.png when that
variable names a folder, else in the test's tmp_path."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.cdp import Chromium, Page, chromium_binary
from tests.integration.test_engine_support import (
    BUSYBOX,
    FAST_HEALTH,
    FOREVER,
    forever_after,
    free_ports,
    start_devenv,
    started_at,
    up,
    wait_until,
    write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Page]:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("chromium is not installed and could not be (scripts/setup.sh installs Debian's chromium)")
    chromium = Chromium(binary, tmp_path / "chromium-profile")
    try:
        page = chromium.page()
        page.call("Page.enable")
        yield page
        page.ws.close()
    finally:
        chromium.close()


@pytest.fixture
def stack(tmp_path: Path, project_name: str) -> Iterator[tuple[Path, dict[str, str], int]]:
    port = free_ports()
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
            command: {forever_after("web-started")}
            ports: ["127.0.0.1:{port}:8080"]
            healthcheck: {FAST_HEALTH}
          worker:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on:
              web: {{condition: service_healthy}}
    """)
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    up(tmp_path, project_name, env=env)
    yield tmp_path, env, port


@pytest.fixture
def dashboard(stack: tuple[Path, dict[str, str], int], project_name: str) -> Iterator[str]:
    cwd, env, _port = stack
    process = start_devenv(cwd, project_name, "dashboard", env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout or ()], daemon=True).start()
    try:
        try:
            first = lines.get(timeout=60)
        except queue.Empty:
            raise AssertionError("devenv dashboard printed no URL") from None
        assert "http://127.0.0.1:" in first and "?token=" in first, first
        yield first.split(": ", 1)[1].strip()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe:
                pipe.close()


def _artifacts(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("DEVENV_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _say_in(engine: docker.DockerClient, container: str, line: str) -> None:
    """Make the container's main process print `line` (to its stdout, which the logs read)."""
    result = engine.containers.get(container).exec_run(["sh", "-c", f"echo {line} > /proc/1/fd/1"])
    assert result.exit_code == 0, result.output


def test_the_page_lists_the_services_restarts_one_from_its_button_and_streams_logs(
    browser: Page, dashboard: str, stack: tuple[Path, dict[str, str], int], project_name: str,
    engine: docker.DockerClient, tmp_path: Path,
) -> None:
    _cwd, _env, port = stack
    web = f"{project_name}-web-1"
    page = browser
    page.call("Page.navigate", url=dashboard)

    # the services, from the engine, with their state, health, port link and time to ready
    page.wait_for("""document.querySelectorAll('#services tr[data-service]').length >= 2
                     && [...document.querySelectorAll('#services td[data-field=state]')].every(td => td.textContent === 'running')""",
                  what="both services listed as running")
    rows = json.loads(page.evaluate("""JSON.stringify([...document.querySelectorAll('#services tr')].map(
        tr => [...tr.cells].map(td => td.textContent)))"""))
    assert [r[0] for r in rows] == ["web", "worker"], rows
    assert rows[0][1] == web and rows[0][3] == "healthy", rows
    links = page.evaluate("[...document.querySelectorAll('#services a')].map(a => a.href)")
    assert f"http://localhost:{port}/" in links, links
    assert rows[0][5].endswith(" s"), rows  # time to ready
    assert "token" not in page.evaluate("location.href")  # the token left the address bar for a cookie

    # what the last up did, with the reasons
    last_up = page.evaluate("document.getElementById('lastup').textContent")
    assert "create container" in last_up and web in last_up, last_up
    assert "wait healthy" in last_up, last_up

    # logs stream: the first service's output, then a line printed now
    page.wait_for("document.getElementById('logs').textContent.includes('web-started')", what="web's first line")
    marker = f"marker-{uuid.uuid4().hex[:8]}"
    _say_in(engine, web, marker)
    page.wait_for(f"document.getElementById('logs').textContent.includes('{marker}')", what="the new line in the page")

    # restart from the button: the container starts again, the page says so and follows the new run
    before = started_at(engine, web)
    page.evaluate("document.querySelector('#services tr[data-service=web] button[data-action=restart]').click()")
    page.wait_for("document.getElementById('message').textContent.startsWith('restart web: done')", timeout=60,
                  what="the restart's answer")
    wait_until(lambda: started_at(engine, web) > before, what="web's new StartedAt")
    page.wait_for("""[...document.querySelectorAll('#services td[data-field=state]')].every(td => td.textContent === 'running')""",
                  what="running again")
    after = f"after-{uuid.uuid4().hex[:8]}"
    _say_in(engine, web, after)
    page.wait_for(f"document.getElementById('logs').textContent.includes('{after}')", what="a line of the new run")
    text = page.evaluate("document.getElementById('logs').textContent")
    assert text.count(marker) == 1, text  # the reopened stream does not repeat the old lines

    shot = page.screenshot(_artifacts(tmp_path) / "dashboard.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    print(f"dashboard screenshot: {shot}")
