"""`devenv watch` beside `docker-compose watch` (the Compose v2 binary): save-to-visible latency, a
1,000-file burst, rebuild-to-ready time and start-up on a 100,000-file tree, in one run.

    python -m benchmarks.bench_watch [--saves 60] [--blocks 2] [--atomic-saves 30] [--burst 1000] [--bursts 3]
                                     [--rebuilds 5] [--starts 3]
                                     [--tree-files 100000] [--tools devenv,compose] [--skip latency,burst,rebuild,startup]
                                     [--out benchmarks/results/watch.md]

The project (generated in benchmarks/out/watch/) has one service `app`, built from
devenv/python:bookworm with a probe (PROBE below) as its command, port 8000 published on 127.0.0.1,
and two develop.watch rules: `sync` ./src -> /app/src and `rebuild` ./version.txt. Each tool runs
it under its own project name (`bench-watch-<pid>-devenv`, `-compose`) and its own host port,
one tool at a time: the other tool's watch process is stopped and its container too.

The probe (inside the container) polls /app/src/probe.txt every millisecond and stamps, with its own
`time.time()`, the moment a new complete token appears; at start it stamps its readiness and the
version baked into its image. It streams those stamps over the published port. Host and container
share one kernel clock, so:

- latency = probe's stamp of the token - host's `time.time()` just before writing the file (no exec,
  no log round trip in the measure). The next save waits until 100-150 ms after the previous one
  was seen, so saves never merge into one batch. The first 2 saves of each block are discarded.
  Blocks alternate between the tools (devenv, Compose, devenv, Compose, ...). devenv runs with
  `--format json`, so its own `sync` events (`ms`, save to synced as it measures it) are reported
  too; and the engine floor: an archive-API put of a one-file tar with the Docker SDK, 30 times.
  Then --atomic-saves more per tool saved as JetBrains IDEs do (a `___jb_tmp___` file renamed over
  the target; both tools ignore such temp files), one block each.
- burst: the --burst files of src/burst/ (in the image too) rewritten at once, as a branch switch
  does; an exec in the container every 50 ms counts the files with the new content until all have
  it (coarse by one exec), or reports how many never arrived.
- rebuild = the new container's probe readiness stamp (with the new version) - the host's time just
  before writing ./version.txt.
- start-up: on a generated tree (benchmarks/out/watch-tree/: src with --tree-files small files in
  nested folders, and src/node_modules, 12,000 files in 6,000 folders, ignored by the rule), the
  project is up, then the time from launching `watch --no-up` to its ready line (devenv: a line starting `watching`,
  or a JSON `watching` event; Compose: `Watch enabled`), one discarded run then --starts runs.

Everything the run creates on the engine (containers, networks, images of both projects) is
removed at the end, also on failure or Ctrl-C; the generated folders stay in benchmarks/out/.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import queue
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.engine_helpers import compose_binary, compose_env, free_port  # noqa: E402
from tests.images import BUSYBOX_IMAGE, PYTHON_IMAGE  # noqa: E402

OUT = REPO_ROOT / "benchmarks" / "out"
GOAL_P50 = 0.150
GOAL_P99 = 0.300
WARMUP_SAVES = 2
SEEN_TIMEOUT = 10.0  # a save not visible after this long counts as missed
READY_TIMEOUT = 300.0  # watch start-up, including the first build
REBUILD_TIMEOUT = 180.0
TEXT_READY = re.compile(r"^\s*watching\b|\"event\":\s*\"watching\"|Watch enabled")

# The probe: stdlib Python in the container. Every stamp is a line "start VERSION TIME" or
# "seen TOKEN TIME", sent to every client from the first one on (so a late client misses nothing).
PROBE = r'''
import os, signal, socket, sys, threading, time
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
TARGET = "/app/src/probe.txt"
VERSION = open("/app/version.txt").read().strip()
lines, cond = [], threading.Condition()
def emit(line):
    with cond:
        lines.append(line + "\n")
        cond.notify_all()
def poll():
    last = None
    while True:
        try:
            with open(TARGET, "rb") as f:
                data = f.read()
        except OSError:
            data = None
        if data != last:
            now = time.time()
            last = data
            if data and data.endswith(b"\n"):
                emit("seen %s %.6f" % (data.decode("utf-8", "replace").strip(), now))
        time.sleep(0.001)
def serve(conn):
    sent = 0
    try:
        while True:
            with cond:
                while sent >= len(lines):
                    cond.wait()
                chunk = "".join(lines[sent:])
                sent = len(lines)
            conn.sendall(chunk.encode())
    except OSError:
        pass
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", 8000))
server.listen(16)
emit("start %s %.6f" % (VERSION, time.time()))
threading.Thread(target=poll, daemon=True).start()
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
'''


def burst_file(folder: Path, number: int) -> Path:
    return folder / "src" / "burst" / f"d{number // 100:02d}" / f"f{number % 100:02d}.txt"


def write_project(folder: Path, burst: int = 0) -> None:
    """The benchmark project; ports come from the environment (APP_PORT), one per tool.
    src/burst/ holds `burst` files (in the image too), rewritten at once by the burst runs."""
    (folder / "src" / "lib").mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "src" / "burst", ignore_errors=True)
    for number in range(burst):
        burst_file(folder, number).parent.mkdir(parents=True, exist_ok=True)
        burst_file(folder, number).write_text("initial\n", encoding="utf-8")
    (folder / "probe.py").write_text(PROBE.lstrip(), encoding="utf-8")
    (folder / "version.txt").write_text("v0\n", encoding="utf-8")
    (folder / "src" / "probe.txt").write_text("initial\n", encoding="utf-8")
    for number in range(20):
        (folder / "src" / "lib" / f"module{number}.py").write_text(f"VALUE = {number}\n" * 20, encoding="utf-8")
    (folder / "Dockerfile").write_text(
        f"FROM {PYTHON_IMAGE}\nWORKDIR /app\nCOPY probe.py version.txt /app/\nCOPY src /app/src\n"
        'CMD ["python3", "-u", "/app/probe.py"]\n',
        encoding="utf-8",
    )
    (folder / "compose.yaml").write_text(
        """services:
  app:
    build: .
    ports: ["127.0.0.1:${APP_PORT}:8000"]
    stop_grace_period: 1s
    develop:
      watch:
        - action: sync
          path: ./src
          target: /app/src
        - action: rebuild
          path: ./version.txt
""",
        encoding="utf-8",
    )


TREE_PACKAGES = 2000  # node_modules/pkgN/{lib,dist}/ with 3 files each: 12,000 files, 6,000 folders


def write_new(path: Path, data: bytes) -> None:
    """A new small file, with the bare system calls (a quarter of Path.write_text's time on 100,000 files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)


def write_tree(folder: Path, files: int) -> None:
    """src/: `files` small files, 100 per folder in pkgNN/modMM/ (a 1,100-folder tree for 100,000);
    src/node_modules/: TREE_PACKAGES packages, ignored by the rule. Kept between runs (a marker)."""
    marker = folder / f".made-{files}"
    if marker.exists():
        return
    shutil.rmtree(folder, ignore_errors=True)  # a tree left half-made by an interrupted run
    src = folder / "src"
    folder.mkdir(parents=True, exist_ok=True)
    for number in range(files):
        directory = src / f"pkg{number // 1000:03d}" / f"mod{number // 100 % 10}"
        if number % 100 == 0:
            directory.mkdir(parents=True, exist_ok=True)
        write_new(directory / f"file{number % 100:02d}.txt", b"file %d\n" % number)
    for number in range(TREE_PACKAGES):
        for part in ("lib", "dist"):
            directory = src / "node_modules" / f"pkg{number}" / part
            directory.mkdir(parents=True, exist_ok=True)
            for index in range(3):
                write_new(directory / f"f{index}.js", b"module.exports = 1;\n")
    (folder / "compose.yaml").write_text(
        f"""services:
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
""",
        encoding="utf-8",
    )
    marker.write_text("", encoding="utf-8")


@dataclass
class Tool:
    """One contender: how to call it on a project."""

    name: str
    prefix: list[str]
    env: dict[str, str]
    project: str
    watch_flags: tuple[str, ...] = ()
    port: int = 0
    started: list[Watch] = field(default_factory=list)
    images: set[str] = field(default_factory=set)  # IDs of the images its containers ran

    def argv(self, compose_file: Path, *args: str) -> list[str]:
        return [*self.prefix, "-f", str(compose_file), "-p", self.project, *args]

    def environment(self) -> dict[str, str]:
        return {**self.env, "APP_PORT": str(self.port)}

    def run(self, compose_file: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            self.argv(compose_file, *args), cwd=compose_file.parent, env=self.environment(),
            capture_output=True, text=True, timeout=600, check=False,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"{self.name} {' '.join(args)} exited {result.returncode}: {(result.stderr or result.stdout)[-1500:]}")
        return result

    def watch(self, compose_file: Path, *args: str) -> Watch:
        process = subprocess.Popen(
            self.argv(compose_file, "watch", *self.watch_flags, *args), cwd=compose_file.parent, env=self.environment(),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # the terminal's Ctrl-C reaches the benchmark only; it stops this
        )
        handle = Watch(self.name, process)
        self.started.append(handle)
        return handle


def make_tools(run_id: str) -> list[Tool]:
    devenv_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": str(REPO_ROOT)}
    for key in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "XDG_CACHE_HOME"):
        if key in os.environ:
            devenv_env[key] = os.environ[key]
    return [
        Tool("devenv", [sys.executable, "-m", "devenv"], devenv_env, f"{run_id}-devenv", ("--format", "json")),
        Tool("compose", [compose_binary()], compose_env(), f"{run_id}-compose"),
    ]


class Watch:
    """A running `watch` process; its output is read by a thread and kept."""

    def __init__(self, name: str, process: subprocess.Popen[str]) -> None:
        self.name = name
        self.process = process
        self.output: list[str] = []
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line.rstrip("\n"))
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> tuple[float, str]:
        """perf_counter() when the ready line arrived, and the line."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"{self.name} watch: no ready line after {timeout:.0f} s; output:\n{self.tail()}") from None
            if line is None:
                self.process.wait()
                raise RuntimeError(f"{self.name} watch exited {self.process.returncode} before it was ready; output:\n{self.tail()}")
            if TEXT_READY.search(line):
                return time.perf_counter(), line

    def tail(self, count: int = 25) -> str:
        return "\n".join(self.output[-count:])

    def stop(self) -> None:
        """Ctrl-C (SIGINT to its session), then SIGKILL after 15 s."""
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGINT)
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass


class Probe:
    """The host end of the probe: reconnects to the published port whenever the link drops
    (a recreated container), and queues every stamp."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.stamps: queue.Queue[tuple[str, str, float]] = queue.Queue()
        self.closed = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self.closed.is_set():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as conn:
                    conn.settimeout(0.5)
                    buffer = b""
                    while not self.closed.is_set():
                        try:
                            chunk = conn.recv(65536)
                        except TimeoutError:
                            continue
                        if not chunk:
                            break
                        buffer += chunk
                        while b"\n" in buffer:
                            line, buffer = buffer.split(b"\n", 1)
                            kind, value, stamp = line.decode().split(" ")
                            self.stamps.put((kind, value, float(stamp)))
            except OSError:
                pass
            time.sleep(0.005)

    def wait(self, kind: str, value: str | None, timeout: float) -> float | None:
        """The stamp of the first `kind` line (with `value` if given) within `timeout`; None if none."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            try:
                got_kind, got_value, stamp = self.stamps.get(timeout=left)
            except queue.Empty:
                return None
            if got_kind == kind and (value is None or got_value == value):
                return stamp

    def close(self) -> None:
        self.closed.set()


@dataclass
class Latency:
    values: list[float] = field(default_factory=list)
    missed: int = 0
    reported: list[float] = field(default_factory=list)  # devenv's own `sync` events: `ms` (seconds here)


def sync_events(output: Sequence[str]) -> list[float]:
    """The `ms` of every JSON `sync` event (devenv --format json), in seconds."""
    found = []
    for line in output:
        if line.startswith("{"):
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "sync" and isinstance(event.get("ms"), (int, float)):
                found.append(event["ms"] / 1000)
    return found


def save(target: Path, text: str, atomic: bool) -> None:
    """In place (as VS Code, nano), or as JetBrains IDEs: a temp file beside it, renamed over it."""
    if atomic:
        temp = target.with_name(target.name + "___jb_tmp___")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, target)
    else:
        target.write_text(text, encoding="utf-8")


def latency_block(tool: Tool, compose_file: Path, saves: int, block: int, into: Latency, atomic: bool = False) -> None:
    """One watch session of `tool`: up (by the watch itself), WARMUP_SAVES + `saves` saves."""
    watch = tool.watch(compose_file)
    probe = Probe(tool.port)
    try:
        watch.wait_ready()
        if probe.wait("start", None, 60.0) is None:
            raise RuntimeError(f"{tool.name}: the probe did not answer on 127.0.0.1:{tool.port}; watch output:\n{watch.tail()}")
        target = compose_file.parent / "src" / "probe.txt"
        for number in range(WARMUP_SAVES + saves):
            token = f"{tool.name}-{block}-{number}-{uuid.uuid4().hex[:8]}"
            written = time.time()
            save(target, token + "\n", atomic)
            seen = probe.wait("seen", token, SEEN_TIMEOUT)
            if number < WARMUP_SAVES:
                time.sleep(0.3)
                continue
            if seen is None:
                into.missed += 1
                continue
            into.values.append(seen - written)
            time.sleep(0.1 + random.uniform(0.0, 0.05))
    finally:
        probe.close()
        watch.stop()
        into.reported += sync_events(watch.output)[WARMUP_SAVES:]
        tool.run(compose_file, "stop", check=False)  # its probe must not load the other tool's block


def note_images(tool: Tool) -> None:
    """Remember the image IDs of the project's containers (removed at the end if left dangling)."""
    ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label=com.docker.compose.project={tool.project}"],
                         capture_output=True, text=True, check=False).stdout.split()
    if ids:
        found = subprocess.run(["docker", "inspect", "-f", "{{.Image}}", *ids], capture_output=True, text=True, check=False)
        tool.images.update(found.stdout.split())


@dataclass
class Burst:
    times: list[float] = field(default_factory=list)  # seconds until every file had the new content
    missed: list[int] = field(default_factory=list)  # files still old after BURST_TIMEOUT, per run


BURST_TIMEOUT = 60.0
BURST_CHECK = (  # in the container: how many of the burst files hold argv[1]
    "import glob, sys; t = sys.argv[1] + chr(10)\n"
    "print(sum(open(f).read() == t for f in glob.glob('/app/src/burst/*/*.txt')))"
)


def burst_runs(tool: Tool, compose_file: Path, files: int, runs: int) -> Burst:
    """Every file of src/burst/ rewritten at once (a branch switch), then a check in the container
    (an exec every 50 ms, so the figure is coarse by an exec's time) until all hold the new token."""
    watch = tool.watch(compose_file)
    probe = Probe(tool.port)
    found = Burst()
    try:
        watch.wait_ready()
        if probe.wait("start", None, 60.0) is None:
            raise RuntimeError(f"{tool.name}: the probe did not answer; watch output:\n{watch.tail()}")
        [container] = subprocess.run(["docker", "ps", "-q", "--filter", f"label=com.docker.compose.project={tool.project}"],
                                     capture_output=True, text=True, check=True).stdout.split()
        for number in range(runs):
            token = f"{tool.name}-burst{number}-{uuid.uuid4().hex[:8]}"
            began = time.time()
            for index in range(files):
                burst_file(compose_file.parent, index).write_text(token + "\n", encoding="utf-8")
            count = 0
            while time.time() - began < BURST_TIMEOUT:
                check = subprocess.run(["docker", "exec", container, "python3", "-c", BURST_CHECK, token],
                                       capture_output=True, text=True, check=False)
                count = int(check.stdout.strip() or 0)
                if count == files:
                    found.times.append(time.time() - began)
                    break
                time.sleep(0.05)
            else:
                found.missed.append(files - count)
            time.sleep(1.0)
    finally:
        probe.close()
        watch.stop()
        tool.run(compose_file, "stop", check=False)
    return found


def rebuild_runs(tool: Tool, compose_file: Path, runs: int) -> list[float]:
    watch = tool.watch(compose_file)
    probe = Probe(tool.port)
    times: list[float] = []
    try:
        watch.wait_ready()
        if probe.wait("start", None, 60.0) is None:
            raise RuntimeError(f"{tool.name}: the probe did not answer; watch output:\n{watch.tail()}")
        note_images(tool)
        time.sleep(1.0)
        for number in range(runs):
            version = f"{tool.name}-r{number}-{uuid.uuid4().hex[:8]}"
            written = time.time()
            (compose_file.parent / "version.txt").write_text(version + "\n", encoding="utf-8")
            ready = probe.wait("start", version, REBUILD_TIMEOUT)
            if ready is None:
                raise RuntimeError(f"{tool.name}: no container with version {version} after {REBUILD_TIMEOUT:.0f} s;"
                                   f" watch output:\n{watch.tail()}")
            times.append(ready - written)
            note_images(tool)
            time.sleep(2.0)  # let the tool finish its own bookkeeping (image clean-up) before the next one
    finally:
        probe.close()
        watch.stop()
    return times


def inotify_watches(pid: int) -> int:
    """inotify watches the process holds now (the `inotify wd:` lines of its /proc fdinfo)."""
    count = 0
    folder = Path(f"/proc/{pid}/fdinfo")
    for entry in folder.iterdir():
        try:
            count += sum(1 for line in entry.read_text().splitlines() if line.startswith("inotify wd:"))
        except OSError:
            continue
    return count


@dataclass
class Startup:
    times: list[float]
    line: str  # the ready line
    watches: int  # inotify watches held once ready (read from /proc)


def startup_runs(tool: Tool, compose_file: Path, runs: int) -> Startup:
    """One discarded run, then `runs`: launch `watch --no-up` -> its ready line."""
    tool.run(compose_file, "up", "-d")
    times: list[float] = []
    line = ""
    watches = 0
    for number in range(runs + 1):
        began = time.perf_counter()
        watch = tool.watch(compose_file, "--no-up")
        try:
            ready, line = watch.wait_ready()
            watches = inotify_watches(watch.process.pid)
        finally:
            watch.stop()
        if number:
            times.append(ready - began)
    if line.lstrip().startswith("{"):  # devenv's JSON event: its message is the line people see
        line = json.loads(line).get("message", line)
    return Startup(times, line.strip(), watches)


def engine_floor(project: str, runs: int = 30) -> list[float]:
    """Seconds of one archive-API put of a one-file tar (the Docker SDK, no devenv) into a busybox
    container: what any sync through the engine pays at least, whoever sends it."""
    import io
    import tarfile

    import docker

    client = docker.from_env()
    container = client.containers.run(BUSYBOX_IMAGE, ["sleep", "600"], detach=True, name=f"{project}-floor-1",
                                      labels={"com.docker.compose.project": project})
    times = []
    try:
        for number in range(runs + 1):
            buffer = io.BytesIO()
            with tarfile.open(fileobj=buffer, mode="w") as tar:
                data = f"floor {number}\n".encode()
                info = tarfile.TarInfo("app/src/probe.txt")
                info.size, info.mtime = len(data), int(time.time())
                tar.addfile(info, io.BytesIO(data))
            began = time.perf_counter()
            client.api.put_archive(container.id, "/", buffer.getvalue())
            if number:
                times.append(time.perf_counter() - began)
    finally:
        container.remove(force=True)
        client.close()
    return times


def remove_projects(run_id: str, tools: Sequence[Tool]) -> None:
    """Stop every watch started, remove everything of the run's projects (and the floor's container)."""
    for tool in tools:
        for handle in tool.started:
            handle.stop()
    try:
        import docker

        from tests.engine_helpers import cleanup_project

        client = docker.from_env()
        for project in (f"{run_id}-devenv", f"{run_id}-compose", f"{run_id}-floor"):
            try:
                cleanup_project(client, project)
            except RuntimeError as exc:
                print(f"bench_watch: {exc}", file=sys.stderr)
        for tool in tools:
            for image in tool.images:  # the images the rebuilds replaced, when the tool left them
                try:
                    client.api.remove_image(image)
                except docker.errors.APIError:
                    pass
        client.close()
    except Exception as exc:  # the report must still be written / the original error shown
        print(f"bench_watch: clean-up failed: {exc}", file=sys.stderr)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-fraction * len(ordered) // 1))))
    return ordered[rank - 1]


def ms(value: float) -> str:
    return f"{value * 1000:.0f}"


def latency_table(latency: dict[str, Latency]) -> list[str]:
    lines = ["| Tool | saves | p50 ms | p90 ms | p99 ms | max ms | min ms | missed |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for name, found in latency.items():
        values = found.values
        if values:
            lines.append(f"| {name} | {len(values)} | {ms(percentile(values, .5))} | {ms(percentile(values, .9))} |"
                         f" {ms(percentile(values, .99))} | {ms(max(values))} | {ms(min(values))} | {found.missed} |")
    if latency.get("devenv") and latency["devenv"].values and latency.get("compose") and latency["compose"].values:
        ours, theirs = latency["devenv"].values, latency["compose"].values
        lines += ["", "| Ratio devenv/Compose | p50 | p90 | p99 |", "|---|---:|---:|---:|",
                  "| | " + " | ".join(f"{percentile(ours, f) / percentile(theirs, f):.2f}" for f in (.5, .9, .99)) + " |"]
    if latency.get("devenv") and latency["devenv"].values:
        ours = latency["devenv"].values
        p50, p99 = percentile(ours, .5), percentile(ours, .99)
        lines += ["", f"Goal (issue 10): devenv p50 < {ms(GOAL_P50)} ms ({'met' if p50 < GOAL_P50 else 'missed'}: {ms(p50)}),"
                      f" p99 < {ms(GOAL_P99)} ms ({'met' if p99 < GOAL_P99 else 'missed'}: {ms(p99)})."]
        own = latency["devenv"].reported
        if own:
            lines += ["", f"devenv's own `sync` events (`ms`: from the batch's first file event to the tar put done):"
                          f" p50 {ms(percentile(own, .5))} ms, p99 {ms(percentile(own, .99))} ms over {len(own)} events."]
    return lines


def report(args: argparse.Namespace, latency: dict[str, Latency], atomic: dict[str, Latency], floor: list[float],
           bursts: dict[str, Burst], rebuild: dict[str, list[float]], startup: dict[str, Startup], compose_version: str,
           commit: str) -> str:
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = (f"python -m benchmarks.bench_watch --saves {args.saves} --blocks {args.blocks} --atomic-saves {args.atomic_saves}"
               f" --burst {args.burst} --bursts {args.bursts} --rebuilds {args.rebuilds}"
               f" --starts {args.starts} --tree-files {args.tree_files}")
    lines = [
        "# `devenv watch` beside `docker-compose watch`", "",
        f"Date: {date}. Reproduce from the repository root with:", "", "```sh", command, "```", "",
        f"- Machine: {os.cpu_count()} cores, {platform.platform()}, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Python: {platform.python_version()} (`python -m devenv` of this checkout, commit {commit}); {compose_version}",
        "- Project: one service built from `devenv/python:bookworm` whose command is a probe that polls"
        " /app/src/probe.txt every 1 ms; `sync` ./src -> /app/src, `rebuild` ./version.txt."
        " One tool at a time, each on its own project; see the docstring of `benchmarks/bench_watch.py`.",
        "",
    ]
    if latency:
        lines += [
            "## Save to visible in the container", "",
            f"Host `time.time()` just before writing the file -> the probe's `time.time()` when it first reads the new"
            f" content (one kernel clock). {args.blocks} alternating blocks per tool, {WARMUP_SAVES} discarded saves per block.", "",
            *latency_table(latency),
        ]
        if atomic:
            lines += ["", "Atomic saves (JetBrains style: `probe.txt___jb_tmp___` written, then renamed over `probe.txt`),"
                          f" one block per tool after the others, {WARMUP_SAVES} discarded:", "", *latency_table(atomic)]
        if floor:
            lines += ["", f"Engine floor: one archive-API put of a one-file tar (Docker SDK, no watcher) takes p50"
                          f" {ms(percentile(floor, .5))} ms (min {ms(min(floor))}, p90 {ms(percentile(floor, .9))}) over"
                          f" {len(floor)} puts; every sync through the engine pays it, on top of the tool's quiet period."]
        lines.append("")
    if bursts:
        lines += [
            f"## A burst: {args.burst:,} files rewritten at once", "",
            f"src/burst/ ({args.burst:,} files in {-(-args.burst // 100)} folders) rewritten in one go, as a branch switch does;"
            " then an exec in the container every 50 ms counts the files holding the new content, until all do"
            f" (at most {BURST_TIMEOUT:.0f} s). Coarse by one exec (about 0.1 s). {args.bursts} runs per tool.", "",
            "| Tool | runs complete | median s | min s | max s | files missing (incomplete runs) |", "|---|---:|---:|---:|---:|---|",
        ]
        for name, burst in bursts.items():
            values = burst.times
            figures = (f"{statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f}" if values else "- | - | -")
            lines.append(f"| {name} | {len(values)}/{len(values) + len(burst.missed)} | {figures} |"
                         f" {', '.join(map(str, burst.missed)) or '-'} |")
        lines.append("")
    if rebuild:
        lines += [
            "## Rebuild: trigger to new container ready", "",
            "Host time before writing ./version.txt (a `rebuild` rule) -> the new container's probe stamps its start"
            " (listening, with the new version baked in the image).", "",
            "| Tool | runs | median s | min s | max s |", "|---|---:|---:|---:|---:|",
        ]
        for name, values in rebuild.items():
            lines.append(f"| {name} | {len(values)} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f} |")
        if rebuild.get("devenv") and rebuild.get("compose"):
            ratio = statistics.median(rebuild["devenv"]) / statistics.median(rebuild["compose"])
            lines.append(f"\nRatio devenv/Compose (medians): {ratio:.2f}")
        lines.append("")
    if startup:
        lines += [
            f"## Start-up on a {args.tree_files:,}-file tree", "",
            f"`src/` holds {args.tree_files:,} small files (100 per folder) and `src/node_modules/` {TREE_PACKAGES * 6:,} files"
            f" in {TREE_PACKAGES * 3:,} folders, ignored by the rule (`ignore: [node_modules/]`). The project is up; launch of"
            " `watch --no-up` -> its ready line (devenv: `watching`, Compose: `Watch enabled`). One discarded run first.", "",
            "inotify watches: those the process held once ready, counted in /proc/PID/fdinfo (src has"
            f" {args.tree_files // 100 + args.tree_files // 1000 + 1:,} folders).", "",
            "| Tool | runs | median s | min s | max s | inotify watches | ready line |", "|---|---:|---:|---:|---:|---:|---|",
        ]
        for name, start in startup.items():
            values = start.times
            lines.append(f"| {name} | {len(values)} | {statistics.median(values):.2f} | {min(values):.2f} | {max(values):.2f}"
                         f" | {start.watches:,} | `{start.line[:120]}` |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=60, help="measured saves per tool (>= 50 for the issue)")
    parser.add_argument("--blocks", type=int, default=2, help="alternating blocks per tool the saves are split into")
    parser.add_argument("--atomic-saves", type=int, default=30, help="saves per tool written to a temp file renamed over (0: none)")
    parser.add_argument("--burst", type=int, default=1000, help="files rewritten at once per burst run (0: no burst runs)")
    parser.add_argument("--bursts", type=int, default=3, help="burst runs per tool")
    parser.add_argument("--rebuilds", type=int, default=5)
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--tree-files", type=int, default=100_000)
    parser.add_argument("--tools", default="devenv,compose", help="comma-separated: devenv, compose")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: latency, burst, rebuild, startup")
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results" / "watch.md"))
    args = parser.parse_args(argv)
    skip = {part for part in args.skip.split(",") if part}

    run_id = f"bench-watch-{os.getpid()}"
    tools = [tool for tool in make_tools(run_id) if tool.name in args.tools.split(",")]
    for tool in tools:
        tool.port = free_port()
    project = OUT / "watch"
    write_project(project, args.burst)
    compose_file = project / "compose.yaml"
    tree = OUT / "watch-tree"
    latency: dict[str, Latency] = {tool.name: Latency() for tool in tools} if "latency" not in skip else {}
    atomic: dict[str, Latency] = {tool.name: Latency() for tool in tools} if latency and args.atomic_saves else {}
    bursts: dict[str, Burst] = {}
    rebuild: dict[str, list[float]] = {}
    startup: dict[str, Startup] = {}
    compose_version = subprocess.run([compose_binary(), "version"], capture_output=True, text=True).stdout.strip()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()

    def progress(message: str) -> None:
        print(f"bench_watch: {datetime.datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)

    floor: list[float] = []
    try:
        if latency:
            progress("engine floor: 30 archive puts")
            floor = engine_floor(f"{run_id}-floor")
            per_block = [args.saves // args.blocks + (1 if block < args.saves % args.blocks else 0) for block in range(args.blocks)]
            for block, saves in enumerate(per_block):
                for tool in tools:
                    progress(f"latency block {block + 1}/{args.blocks}: {tool.name}, {saves} saves")
                    latency_block(tool, compose_file, saves, block, latency[tool.name])
            for tool in tools if atomic else ():
                progress(f"atomic saves: {tool.name}, {args.atomic_saves} saves")
                latency_block(tool, compose_file, args.atomic_saves, args.blocks, atomic[tool.name], atomic=True)
        if args.burst and args.bursts and "burst" not in skip:
            for tool in tools:
                progress(f"burst: {tool.name}, {args.bursts} x {args.burst} files")
                bursts[tool.name] = burst_runs(tool, compose_file, args.burst, args.bursts)
        if "rebuild" not in skip:
            for tool in tools:
                progress(f"rebuild: {tool.name}, {args.rebuilds} runs")
                rebuild[tool.name] = rebuild_runs(tool, compose_file, args.rebuilds)
                tool.run(compose_file, "stop", check=False)
        if "startup" not in skip:
            progress(f"start-up: writing the {args.tree_files}-file tree (kept in {tree})")
            write_tree(tree, args.tree_files)
            for tool in tools:
                progress(f"start-up: {tool.name}, {args.starts} runs")
                startup[tool.name] = startup_runs(tool, tree / "compose.yaml", args.starts)
                tool.run(tree / "compose.yaml", "stop", check=False)
    except KeyboardInterrupt:
        progress("interrupted")
        return 130
    finally:
        progress("cleaning up")
        remove_projects(run_id, tools)

    text = report(args, latency, atomic, floor, bursts, rebuild, startup, compose_version, commit)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
