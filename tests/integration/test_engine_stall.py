"""An engine that stops answering (a proxy socket in front of the real one that stalls, keeping
every connection open): devenv says what it waits for, a quick call gives up after the quick-call
timeout with one line, and Ctrl-C ends the command (exit 130), a second Ctrl-C at once.

The subprocess timeouts here are hang guards, not measurements."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.stall_proxy import StallProxy
from tests.integration.test_engine_support import BUSYBOX, FOREVER, devenv, start_devenv, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

HANG_GUARD = 30.0
WAITING = "waiting for the Docker engine"


@pytest.fixture
def socket_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="stall") as directory:  # short: a unix socket path has ~108 bytes
        yield Path(directory)


def manifest(tmp_path: Path) -> None:
    write_compose(tmp_path, f"""
services:
  db: {{image: {BUSYBOX}, command: {FOREVER}}}
  web: {{image: {BUSYBOX}, command: {FOREVER}, depends_on: [db]}}
""")


def read_until(proc: subprocess.Popen[str], marker: str) -> list[str]:
    """stderr lines up to the first that contains `marker` (all of them if it never comes)."""
    assert proc.stderr is not None
    seen = []
    guard = threading.Timer(HANG_GUARD, proc.kill)  # a marker that never comes must not hang the test
    guard.start()
    try:
        for line in proc.stderr:
            seen.append(line)
            if marker in line:
                break
    finally:
        guard.cancel()
    return seen


def finish(proc: subprocess.Popen[str]) -> tuple[int, str]:
    try:
        out, err = proc.communicate(timeout=HANG_GUARD)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"devenv did not end after Ctrl-C:\n{out}\n{err}")
    return proc.returncode, out + err


@pytest.mark.parametrize("stall", ["after the first requests", "at a container's creation"])
def test_ctrl_c_ends_up_on_a_stalled_engine(project_name: str, tmp_path: Path, socket_dir: Path, stall: str) -> None:
    manifest(tmp_path)
    sock = str(socket_dir / "engine.sock")
    proxy = StallProxy(sock, after=3) if stall.startswith("after") else StallProxy(sock, on=b"/containers/create")
    try:
        proc = start_devenv(tmp_path, project_name, "up", env={"DOCKER_HOST": f"unix://{sock}"})
        seen = read_until(proc, WAITING)
        assert any(WAITING in line for line in seen), "".join(seen)
        proc.send_signal(signal.SIGINT)
        code, printed = finish(proc)
        assert code == 130, "".join(seen) + printed
        assert "interrupted" in printed
    finally:
        proxy.close()


def test_a_second_ctrl_c_leaves_at_once(project_name: str, tmp_path: Path, socket_dir: Path) -> None:
    manifest(tmp_path)
    sock = str(socket_dir / "engine.sock")
    proxy = StallProxy(sock, on=b"/containers/create")
    try:
        proc = start_devenv(tmp_path, project_name, "up", env={"DOCKER_HOST": f"unix://{sock}"})
        seen = read_until(proc, WAITING)
        proc.send_signal(signal.SIGINT)
        seen += read_until(proc, "interrupted")
        proc.send_signal(signal.SIGINT)
        code, printed = finish(proc)
        assert code == 130, "".join(seen) + printed
    finally:
        proxy.close()


@pytest.mark.parametrize("command", ["ps", "down"])
def test_a_quick_call_gives_up_with_one_line(project_name: str, tmp_path: Path, socket_dir: Path, command: str) -> None:
    manifest(tmp_path)
    sock = str(socket_dir / "engine.sock")
    proxy = StallProxy(sock, after=1)  # the connection's ping is answered, nothing after it
    try:
        result = devenv(tmp_path, project_name, command, env={"DOCKER_HOST": f"unix://{sock}", "DEVENV_ENGINE_TIMEOUT": "1"},
                        timeout=HANG_GUARD)
    finally:
        proxy.close()
    assert result.returncode == 1, result
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("devenv: the Docker engine did not answer "), result.stderr
    assert "within 1 s" in result.stderr
