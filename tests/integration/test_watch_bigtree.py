"""`devenv watch` on a 100,000-file tree whose node_modules the rule ignores (issue 10, "big trees").

One real-engine test: the watch starts (its `watching` event counts fewer inotify watches than
node_modules has folders: it was neither walked nor watched, and a FIFO in it caused no error),
then a save in a deep folder and a file in a new deep folder are synced and readable in the
container, while a file written under node_modules just before them never arrives.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.images import BUSYBOX_IMAGE

if TYPE_CHECKING:
    import docker

REPO_ROOT = Path(__file__).resolve().parents[2]
FILES = 100_000  # in src/: 100 per folder, src/pkgNNN/modM/ (1,101 folders with src itself)
MODULES = 2_000  # node_modules/pkgN/{lib,dist}/: 6,000 folders, 12,000 files
HANG_GUARD = 300.0  # seconds: only so a broken watch cannot hang the suite (no timing is asserted)

COMPOSE = f"""services:
  tree:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]
    stop_grace_period: 1s
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app/src
          ignore:
            - node_modules/
"""


def write_new(path: Path, data: bytes) -> None:
    """A new small file, with the bare system calls (a quarter of Path.write_text's time on 100,000 files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_tree(folder: Path) -> None:
    src = folder / "src"
    for number in range(FILES):
        directory = src / f"pkg{number // 1000:03d}" / f"mod{number // 100 % 10}"
        if number % 100 == 0:
            directory.mkdir(parents=True)
        write_new(directory / f"file{number % 100:02d}.txt", b"file %d\n" % number)
    for number in range(MODULES):
        for part in ("lib", "dist"):
            directory = src / "node_modules" / f"pkg{number}" / part
            directory.mkdir(parents=True)
            for index in range(3):
                write_new(directory / f"f{index}.js", b"module.exports = 1;\n")
    os.mkfifo(src / "node_modules" / "pkg0" / "fifo")  # opening it would block whoever walks in
    (folder / "compose.yaml").write_text(COMPOSE, encoding="utf-8")


class JsonWatch:
    """`devenv watch --format json` in the background; its events are queued as they come."""

    def __init__(self, folder: Path, project: str) -> None:
        env = {key: os.environ[key] for key in ("PATH", "HOME", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH",
                                                "XDG_CACHE_HOME") if key in os.environ}
        env["PYTHONPATH"] = str(REPO_ROOT)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "devenv", "-p", project, "watch", "--format", "json"], cwd=folder, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.events: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._errors, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.lstrip().startswith("{"):
                self.events.put(json.loads(line))
        self.events.put(None)

    def _errors(self) -> None:
        assert self.process.stderr is not None
        self.stderr.extend(self.process.stderr)

    def until(self, kind: str) -> dict[str, Any]:
        """The next event of `kind`; fails on an `error` event or if the watch ends first."""
        deadline = time.monotonic() + HANG_GUARD
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=1.0)
            except queue.Empty:
                continue
            if event is None:
                break
            self.seen.append(event)
            assert event["event"] != "error", f"error event: {event}"
            if event["event"] == kind:
                return event
        raise AssertionError(f"no {kind!r} event; events: {self.seen}; stderr: {''.join(self.stderr)[-2000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Path]:
    """The project folder with its 100,000-file tree, removed afterwards (about 0.5 GB of small
    files that pytest would otherwise keep for its last three runs)."""
    folder = tmp_path / "project"
    folder.mkdir()
    write_tree(folder)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def watch_of(tree: Path, project_name: str) -> Iterator[list[JsonWatch]]:
    """Watches to stop at the end: before the tree goes and before project_name's clean-up."""
    started: list[JsonWatch] = []
    yield started
    for watch in started:
        watch.stop()


def read_in(container: docker.models.containers.Container, path: str, want: str) -> str:
    """The file's content in the container once it is `want` (or the last one read at the hang guard)."""
    deadline = time.monotonic() + HANG_GUARD
    output = ""
    while time.monotonic() < deadline:
        code, raw = container.exec_run(["cat", path])
        output = raw.decode(errors="replace")
        if code == 0 and output == want:
            break
        time.sleep(0.05)
    return output


def test_a_100k_file_tree_starts_and_syncs_without_walking_node_modules(
    engine: docker.DockerClient, base_images: tuple[str, str], project_name: str, tree: Path,
    watch_of: list[JsonWatch],
) -> None:
    watch = JsonWatch(tree, project_name)
    watch_of.append(watch)

    watching = watch.until("watching")
    # src holds 1,101 folders, node_modules 6,000: one watch per folder of node_modules would be
    # far beyond this bound, so it was pruned, not walked (and its FIFO blocked nothing)
    assert watching["watches"] < MODULES, watching
    assert not watching.get("polled"), watching

    [container] = engine.containers.list(filters={"label": [f"com.docker.compose.project={project_name}",
                                                            "com.docker.compose.service=tree"]})
    token = uuid.uuid4().hex
    ignored = tree / "src" / "node_modules" / "pkg5" / "lib" / "f0.js"
    ignored.write_text(f"ignored {token}\n", encoding="utf-8")
    deep = tree / "src" / "pkg042" / "mod7" / "file13.txt"
    deep.write_text(f"saved {token}\n", encoding="utf-8")
    fresh = tree / "src" / "pkg099" / "mod9" / "new" / "deeper" / "added.txt"
    fresh.parent.mkdir(parents=True)
    fresh.write_text(f"added {token}\n", encoding="utf-8")

    assert read_in(container, "/app/src/pkg042/mod7/file13.txt", f"saved {token}\n") == f"saved {token}\n"
    assert read_in(container, "/app/src/pkg099/mod9/new/deeper/added.txt", f"added {token}\n") == f"added {token}\n"
    # written before the others: had it been synced it would be there by now
    code, _ = container.exec_run(["test", "-e", "/app/src/node_modules/pkg5/lib/f0.js"])
    assert code != 0, "a file under the ignored node_modules reached the container"
    assert all(event["event"] not in ("error", "warning") for event in watch.seen), watch.seen
