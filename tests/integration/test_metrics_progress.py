"""Metrics to carbon and progress lines, on the real engine.

`up` with x-devenv.metrics pointing at a listener of the test sends `up.seconds` and each
service's `ready_seconds` in carbon's plaintext protocol; pointing at a dead port, `up` still
succeeds and says nothing about it. A pull from the local registry (127.0.0.1:5000) with
`--progress plain` prints the plain progress lines (start, end), and so does a snapshot (the
volume's bytes); a build on a terminal draws a bar of its steps."""

from __future__ import annotations

import io
import re
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.images import REGISTRY
from tests.integration.test_engine_support import BUSYBOX, FAST_HEALTH, FOREVER, devenv, ok, output, up, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


class Carbon:
    """A carbon stand-in on 127.0.0.1: collects what every connection sends."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.data = b""
        self.lock = threading.Lock()
        self.closed = threading.Event()  # a connection ended (the sender closes it at exit)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        with conn:
            while chunk := conn.recv(65536):
                with self.lock:
                    self.data += chunk
        self.closed.set()

    def metrics(self) -> dict[str, float]:
        assert self.closed.wait(30), "devenv never closed its carbon connection"
        out = {}
        with self.lock:
            text = self.data.decode()
        for line in text.splitlines():
            name, value, stamp = line.split(" ")
            assert stamp.isdigit(), line
            out[name] = float(value)
        return out


@pytest.fixture
def carbon() -> Iterator[Carbon]:
    listener = Carbon()
    yield listener
    listener.server.close()


def _stack(folder: Path, carbon: str) -> None:
    write_compose(folder, f"""
        x-devenv:
          metrics: {{carbon: "{carbon}", prefix: k4}}
        services:
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            healthcheck: {FAST_HEALTH}
            depends_on: [db]
          db:
            image: {BUSYBOX}
            command: {FOREVER}
    """)


def test_up_sends_its_time_and_each_services_time_to_ready(tmp_path: Path, project_name: str, carbon: Carbon) -> None:
    p = project_name
    _stack(tmp_path, f"127.0.0.1:{carbon.port}")
    result = up(tmp_path, p)
    got = carbon.metrics()
    assert set(got) == {f"k4.devenv.{p}.up.seconds", f"k4.devenv.{p}.service.web.ready_seconds",
                        f"k4.devenv.{p}.service.db.ready_seconds"}, output(result)
    for service in ("web", "db"):  # measured from the same start as up's own time
        assert 0 < got[f"k4.devenv.{p}.service.{service}.ready_seconds"] <= got[f"k4.devenv.{p}.up.seconds"]


def test_a_dead_carbon_changes_nothing_for_up(tmp_path: Path, project_name: str) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    _stack(tmp_path, f"127.0.0.1:{port}")
    result = up(tmp_path, project_name)
    assert "carbon" not in result.stderr and "metrics" not in result.stderr, output(result)


@pytest.fixture
def registry_image(engine: docker.DockerClient, project_name: str) -> Iterator[str]:
    """An image with a layer of its own (1 MiB of random bytes) pushed to the local registry, then
    removed from the engine so that a pull downloads that layer."""
    reference = f"{REGISTRY}/{project_name}/blob:1"
    dockerfile = f"FROM {BUSYBOX}\nRUN head -c 1048576 /dev/urandom > /blob && echo {uuid.uuid4().hex} > /id\n"
    image, _logs = engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=reference, rm=True)
    try:
        for chunk in engine.api.push(f"{REGISTRY}/{project_name}/blob", tag="1", stream=True, decode=True):
            assert "error" not in chunk, chunk
        engine.images.remove(reference, force=True)
        yield reference
    finally:
        try:
            engine.images.remove(reference, force=True)
        except docker.errors.NotFound:
            pass


def test_a_pull_shows_plain_progress_lines(tmp_path: Path, project_name: str, registry_image: str) -> None:
    write_compose(tmp_path, f"""
        services:
          app:
            image: {registry_image}
            command: {FOREVER}
    """)
    result = ok(devenv(tmp_path, project_name, "--progress", "plain", "pull"))
    lines = [line for line in result.stderr.splitlines() if line.startswith(f"pull {registry_image}: ")]
    assert lines[0].startswith(f"pull {registry_image}: started ("), output(result)
    assert re.fullmatch(rf"pull {re.escape(registry_image)}: done \((\S+ \S+) / \1\)", lines[-1]), output(result)
    quarters = [int(m.group(1)) for line in lines[1:-1] if (m := re.search(r": (\d+)% \(", line))]
    assert len(quarters) == len(lines) - 2 and quarters == sorted(set(quarters)), output(result)


def _on_a_terminal(cwd: Path, project: str, *args: str) -> tuple[int, str]:
    """Run `devenv -p PROJECT ARGS...` with a pseudo-terminal as stdout and stderr: its exit code and output."""
    import os
    import pty
    import subprocess
    import sys

    from tests.integration.test_engine_support import devenv_env

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "devenv", "-p", project, *args], cwd=cwd, env=devenv_env({"CI": ""}),
                            stdin=subprocess.DEVNULL, stdout=slave, stderr=slave)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        data += chunk
    os.close(master)
    return proc.wait(timeout=120), data.decode("utf-8", "replace")


def test_a_build_draws_a_bar_of_its_steps_on_a_terminal(tmp_path: Path, project_name: str) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo one > /one\nRUN echo two > /two\n")
    write_compose(tmp_path, """
        services:
          app:
            build: ./app
    """)
    code, text = _on_a_terminal(tmp_path, project_name, "build")
    assert code == 0, text
    assert f"\r\x1b[Jbuild {project_name}-app [########################] 100% 3/3 steps\r\n" in text, text
    plain = ok(devenv(tmp_path, project_name, "--progress", "plain", "build", "--no-cache"))
    assert f"build {project_name}-app" not in plain.stderr.replace(f"build image {project_name}-app", ""), output(plain)


def test_a_snapshot_shows_the_volumes_transfer(tmp_path: Path, project_name: str) -> None:
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: ["sh", "-c", "head -c 200000 /dev/urandom > /data/blob; trap 'exit 0' TERM; sleep 3600 & wait"]
            volumes: [data:/data]
        volumes:
          data:
    """)
    up(tmp_path, project_name)
    result = ok(devenv(tmp_path, project_name, "--progress", "plain", "snapshot", "-o", str(tmp_path / "s.tar")))
    lines = [line for line in result.stderr.splitlines() if line.startswith("read volume data: ")]
    assert lines[0] == "read volume data: started" and lines[-1].startswith("read volume data: done ("), output(result)


def test_an_attached_up_sends_the_containers_cpu_and_memory(tmp_path: Path, project_name: str, carbon: Carbon) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        x-devenv:
          metrics: {{carbon: "127.0.0.1:{carbon.port}"}}
        services:
          job:
            image: {BUSYBOX}
            command: ["sh", "-c", "sleep 6"]
    """)
    result = ok(devenv(tmp_path, p, "up", "--abort-on-container-exit"))
    got = carbon.metrics()
    assert got[f"devenv.{p}.container.{p}-job-1.memory_bytes"] > 0, output(result)
    assert got[f"devenv.{p}.container.{p}-job-1.cpu_percent"] >= 0, output(result)
