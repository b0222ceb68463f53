"""`devenv watch` on the real engine: saves, deletes, renames and new folders reach the container;
ignore/include; initial_sync sends only what differs; sync+restart and sync+exec; a rebuild
recreates only its service; a changed .env recreates only the service that uses it; a container
restarted or recreated by hand is brought back in sync; Ctrl-C leaves the containers running.
The same loop against a remote engine (TLS), where nothing is bind-mounted."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine_helpers import cleanup_project
from tests.images import BUSYBOX_IMAGE
from tests.remote_engine import ENGINE_VARS, RemoteEngine

SLEEPER = ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
WAIT = 90.0  # seconds for an event: generous, the machine may be loaded


class Watch:
    """A running `devenv watch --format json`: its events, read as they come."""

    def __init__(self, folder: Path, project: str, env: dict[str, str], *args: str, wrap: tuple[str, ...] = ()) -> None:
        """`devenv watch ARGS` (`devenv up ARGS` when ARGS start with up), under `wrap` if given."""
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        command = [*args] if args and args[0] == "up" else ["watch", *args]
        self.process = subprocess.Popen(
            [*wrap, sys.executable, "-m", "devenv", "-p", project, *command, "--format", "json"],
            cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        threading.Thread(target=self._errors, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            line = line.strip()
            try:
                event = json.loads(line)
            except ValueError:  # `up --watch --format json`: up's own report comes first, indented
                continue
            if isinstance(event, dict) and "event" in event:
                self.events.put(event)

    def _errors(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.stderr.append(line)

    def next(self, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.seen.append(event)
            if match(event):
                return event
        raise AssertionError(f"no {what} event; saw {self.seen}; stderr: {''.join(self.stderr)[-3000:]}")

    def event(self, kind: str, service: str | None = None, **fields: Any) -> dict[str, Any]:
        return self.next(lambda e: e["event"] == kind and (service is None or e.get("service") == service)
                         and all(e.get(k) == v for k, v in fields.items()), f"{kind} {service or ''} {fields or ''}")

    def stop(self) -> int:
        """Ctrl-C, as a user would; its exit code (the remaining events stay readable)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        code = self.process.wait()
        self.reader.join(timeout=10)
        return code


class Project:
    def __init__(self, folder: Path, name: str, client: Any, env: dict[str, str]) -> None:
        self.folder, self.name, self.client, self.env = folder, name, client, env
        self.watches: list[Watch] = []

    def write(self, rel: str, text: str) -> Path:
        path = self.folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def watch(self, *args: str, wrap: tuple[str, ...] = ()) -> Watch:
        w = Watch(self.folder, self.name, self.env, *args, wrap=wrap)
        self.watches.append(w)
        return w

    def devenv(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "devenv", "-p", self.name, *args], cwd=self.folder, env=self.env,
                              capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)

    def container(self, service: str = "web") -> Any:
        return self.client.containers.get(f"{self.name}-{service}-1")

    def sh(self, script: str, service: str = "web") -> tuple[int, str]:
        code, out = self.container(service).exec_run(["sh", "-c", script])
        return code, out.decode()

    def cat(self, path: str, service: str = "web") -> str | None:
        code, out = self.sh(f"cat {path}", service)
        return out if code == 0 else None


def _project(folder: Path, client: Any, env: dict[str, str]) -> Iterator[Project]:
    p = Project(folder, f"dvt-w-{uuid.uuid4().hex[:8]}", client, env)
    try:
        yield p
    finally:
        for w in p.watches:
            w.stop()
        cleanup_project(client, p.name)


@pytest.fixture
def project(engine: Any, tmp_path: Path) -> Iterator[Project]:
    env = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS or k == "DOCKER_HOST"}
    yield from _project(tmp_path, engine, env)


@pytest.fixture
def remote_project(remote_engine: RemoteEngine, tmp_path: Path) -> Iterator[Project]:
    client = remote_engine.client()
    try:
        yield from _project(tmp_path, client, remote_engine.environ("tls"))
    finally:
        client.close()


def _compose(rules: str, extra: str = "", web_extra: str = "") -> str:
    return f"""
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: {json.dumps(SLEEPER)}
{web_extra}    develop:
      watch:
{rules}{extra}"""


SYNC_SRC = """        - action: sync
          path: ./src
          target: /app
"""


def _save_delete_rename(p: Project) -> None:
    p.write("src/keep.txt", "kept\n")
    w = p.watch()
    w.event("watching")
    p.write("src/a.txt", "one\n")
    sync = w.event("sync", "web")
    assert sync["files"] >= 1 and sync["bytes"] >= 4 and sync["ms"] >= 0
    assert p.cat("/app/a.txt") == "one\n"
    # a save of new content
    p.write("src/a.txt", "two, longer\n")
    w.event("sync", "web")
    assert p.cat("/app/a.txt") == "two, longer\n"
    # a new subfolder with files, created at once
    p.write("src/new/deep/b.txt", "bee\n")
    w.next(lambda e: e["event"] == "sync" and p.cat("/app/new/deep/b.txt") == "bee\n", "sync of new/deep/b.txt")
    # a rename
    os.rename(p.folder / "src" / "a.txt", p.folder / "src" / "renamed.txt")
    w.next(lambda e: e["event"] == "sync" and p.cat("/app/renamed.txt") == "two, longer\n" and p.cat("/app/a.txt") is None,
           "sync of the rename")
    # a delete, and a folder delete
    (p.folder / "src" / "new" / "deep" / "b.txt").unlink()
    (p.folder / "src" / "new" / "deep").rmdir()
    w.next(lambda e: e["event"] == "sync" and p.sh("test -e /app/new/deep")[0] == 1, "sync of the folder delete")
    assert p.cat("/app/new/deep/b.txt") is None


def test_saves_deletes_renames_and_new_folders_reach_the_container(project: Project) -> None:
    p = project
    p.write("compose.yaml", _compose(SYNC_SRC))
    _save_delete_rename(p)
    created = p.container().id
    w = p.watches[-1]
    assert w.stop() == 0
    w.event("stopped")
    assert p.container().status == "running" and p.container().id == created  # Ctrl-C leaves it running


def test_files_keep_their_mode_and_get_the_container_users_owner(project: Project) -> None:
    p = project
    p.write("compose.yaml", _compose(SYNC_SRC, web_extra='    user: "1000:1001"\n'))
    w = p.watch()
    w.event("watching")
    script = p.write("src/run.sh", "#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    w.next(lambda e: e["event"] == "sync" and p.cat("/app/run.sh") is not None, "sync of run.sh")
    code, out = p.sh("stat -c '%a %u %g' /app/run.sh")
    assert out.split() == ["755", "1000", "1001"]


def test_ignore_and_include(project: Project) -> None:
    p = project
    rules = """        - action: sync
          path: ./src
          target: /app
          ignore: ["*.log", "cache/"]
        - action: sync
          path: ./docs
          target: /docs
          include: ["*.md"]
"""
    p.write("compose.yaml", _compose(rules))
    p.write("docs/.keep", "")
    w = p.watch()
    w.event("watching")
    p.write("src/debug.log", "ignored\n")
    p.write("src/cache/x.txt", "ignored\n")
    p.write("docs/notes.txt", "not included\n")
    p.write("docs/readme.md", "# included\n")
    w.next(lambda e: e["event"] == "sync" and p.cat("/docs/readme.md") == "# included\n", "sync of readme.md")
    p.write("src/app.txt", "synced\n")
    w.next(lambda e: e["event"] == "sync" and p.cat("/app/app.txt") == "synced\n", "sync of app.txt")
    assert p.cat("/app/debug.log") is None and p.cat("/app/cache/x.txt") is None and p.cat("/docs/notes.txt") is None


def test_initial_sync_sends_only_what_changed_while_nothing_watched(project: Project) -> None:
    p = project
    for i in range(5):
        p.write(f"src/f{i}.txt", f"file {i}\n")
    p.write("Dockerfile", f"FROM {BUSYBOX_IMAGE}\nCOPY src /app\n")
    rules = SYNC_SRC + "          initial_sync: true\n"
    p.write("compose.yaml", f"""
services:
  web:
    build: .
    command: {json.dumps(SLEEPER)}
    develop:
      watch:
{rules}""")
    up = p.devenv("up")
    assert up.returncode == 0, up.stderr
    # changed while nothing watched: one file edited, one added
    time.sleep(1.1)  # a new whole-second mtime: the quick check cannot miss the edit
    p.write("src/f1.txt", "file 1, edited\n")
    p.write("src/added.txt", "added\n")
    w = p.watch("--no-up")
    resync = w.event("resync", "web")
    assert resync["files"] == 2 and resync["unchanged"] == 4, resync
    assert p.cat("/app/f1.txt") == "file 1, edited\n" and p.cat("/app/added.txt") == "added\n"


def test_sync_restart_and_sync_exec(project: Project) -> None:
    p = project
    rules = """        - action: sync+restart
          path: ./conf
          target: /etc/app
        - action: sync+exec
          path: ./src
          target: /app
          exec:
            command: ["sh", "-c", "cat /app/x.txt > /tmp/ran"]
"""
    p.write("conf/app.conf", "v1\n")
    p.write("compose.yaml", _compose(rules))
    w = p.watch()
    w.event("watching")
    started = p.container().attrs["State"]["StartedAt"]
    p.write("conf/app.conf", "v2\n")
    w.event("restart", "web")
    assert p.container().attrs["State"]["StartedAt"] != started and p.cat("/etc/app/app.conf") == "v2\n"
    p.write("src/x.txt", "exec saw this\n")
    assert w.event("exec", "web")["exit_code"] == 0
    assert p.cat("/tmp/ran") == "exec saw this\n"


def test_a_rebuild_recreates_only_its_service(project: Project) -> None:
    p = project
    p.write("app/Dockerfile", f"FROM {BUSYBOX_IMAGE}\nCOPY version /version\n")
    p.write("app/version", "1\n")
    p.write("compose.yaml", f"""
services:
  db:
    image: {BUSYBOX_IMAGE}
    command: {json.dumps(SLEEPER)}
  web:
    build: ./app
    command: {json.dumps(SLEEPER)}
    depends_on: [db]
    develop:
      watch:
        - action: rebuild
          path: ./app
""")
    w = p.watch()
    w.event("watching")
    db, web = p.container("db").id, p.container("web").id
    assert p.cat("/version") == "1\n"
    p.write("app/version", "2\n")
    w.event("rebuild", phase="ready")
    assert p.cat("/version") == "2\n" and p.container("web").id != web
    assert p.container("db").id == db  # its dependency untouched


def test_a_changed_env_file_recreates_only_the_service_that_uses_it(project: Project) -> None:
    p = project
    p.write(".env", "GREETING=hello\n")
    p.write("compose.yaml", f"""
services:
  other:
    image: {BUSYBOX_IMAGE}
    command: {json.dumps(SLEEPER)}
  web:
    image: {BUSYBOX_IMAGE}
    command: {json.dumps(SLEEPER)}
    environment:
      GREETING: ${{GREETING}}
    develop:
      watch:
{SYNC_SRC}""")
    p.write("src/a.txt", "a\n")
    w = p.watch()
    w.event("watching")
    other, web = p.container("other").id, p.container("web").id
    p.write(".env", "GREETING=bonjour\n")
    w.event("replan", phase="done", ok=True)
    assert p.container("web").id != web and p.container("other").id == other
    code, out = p.sh("echo $GREETING")
    assert out == "bonjour\n"


def test_a_container_restarted_or_recreated_by_hand_is_brought_back_in_sync(project: Project) -> None:
    p = project
    p.write("compose.yaml", _compose(SYNC_SRC))
    w = p.watch()
    w.event("watching")
    p.write("src/a.txt", "synced\n")
    w.next(lambda e: e["event"] == "sync" and p.cat("/app/a.txt") == "synced\n", "sync of a.txt")
    p.container().restart(timeout=1)
    w.event("resync", "web", reason="started")
    assert p.cat("/app/a.txt") == "synced\n"
    # recreated: the new container has none of the synced files until the resync
    up = p.devenv("up", "--force-recreate", "web")
    assert up.returncode == 0, up.stderr
    resync = w.event("resync", "web", reason="started")
    assert resync["files"] >= 1 and p.cat("/app/a.txt") == "synced\n"


def test_a_bad_rule_is_one_line_before_anything_starts(project: Project) -> None:
    p = project
    p.write("compose.yaml", _compose("""        - action: sync+exec
          path: ./src
          target: /app
"""))
    result = p.devenv("watch")
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "compose.yaml:" in result.stderr, result.stderr
    assert not p.client.containers.list(all=True, filters={"label": f"com.docker.compose.project={p.name}"})


def test_nothing_to_watch_says_so(project: Project) -> None:
    p = project
    p.write("compose.yaml", f"services:\n  web:\n    image: {BUSYBOX_IMAGE}\n")
    result = p.devenv("watch")
    assert result.returncode != 0 and "configured for watch" in result.stderr and "Traceback" not in result.stderr


def test_up_watch(project: Project) -> None:
    p = project
    p.write("compose.yaml", _compose(SYNC_SRC))
    w = p.watch("up", "--watch")
    w.event("watching")
    p.write("src/a.txt", "up --watch\n")
    w.next(lambda e: e["event"] == "sync" and p.cat("/app/a.txt") == "up --watch\n", "sync of a.txt")


def test_watch_on_a_remote_engine(remote_project: Project) -> None:
    remote_project.write("compose.yaml", _compose(SYNC_SRC))
    _save_delete_rename(remote_project)


def _low_inotify_limit_works() -> str | None:
    """Why a user namespace with its own inotify limit cannot be made here, or None."""
    import shutil

    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "sh", "-c", "echo 3 > /proc/sys/user/max_inotify_watches"],
                           capture_output=True, text=True, check=False)
    return None if probe.returncode == 0 else f"the kernel refuses a user namespace's inotify limit: {probe.stderr.strip()}"


def test_a_low_inotify_limit_falls_back_to_polling_and_says_so(project: Project) -> None:
    """The real limit, lowered for this process alone: a user namespace keeps its own inotify limits."""
    why = _low_inotify_limit_works()
    if why:
        pytest.skip(why)
    p = project
    p.write("compose.yaml", _compose(SYNC_SRC))
    for i in range(6):
        p.write(f"src/d{i}/x.txt", "x\n")
    up = p.devenv("up")
    assert up.returncode == 0, up.stderr
    limited = ("unshare", "--user", "--map-root-user", "sh", "-c", 'echo 3 > /proc/sys/user/max_inotify_watches && exec "$@"', "sh")
    wrapped = p.watch("--no-up", wrap=limited)
    warning = wrapped.event("warning")
    assert "inotify watch limit reached" in warning["message"] and "max_inotify_watches=3" in warning["message"]
    assert "./src" in warning["message"] and "polling" in warning["message"]
    assert wrapped.event("watching")["polled"]
    p.write("src/d3/new.txt", "seen by polling\n")
    wrapped.next(lambda e: e["event"] == "sync" and p.cat("/app/d3/new.txt") == "seen by polling\n", "sync by polling")


def test_a_sync_rule_on_a_bind_mounted_path_is_left_out_with_a_warning(project: Project) -> None:
    p = project
    p.write("src/a.txt", "a\n")
    p.write("compose.yaml", _compose(SYNC_SRC + """        - action: sync
          path: ./other
          target: /other
""", web_extra="    volumes: [./src:/app]\n"))
    p.write("other/b.txt", "b\n")
    w = p.watch()
    warning = w.event("warning", "web")
    assert "./src is also bind-mounted" in warning["message"]
    assert w.event("watching")["paths"] == ["./other"]


def test_an_edited_compose_file_replans_and_its_new_rules_apply(project: Project) -> None:
    p = project
    p.write("src/a.txt", "a\n")
    p.write("docs/d.txt", "d\n")
    other = f"""  other:
    image: {BUSYBOX_IMAGE}
    command: {json.dumps(SLEEPER)}
"""
    p.write("compose.yaml", _compose(SYNC_SRC) + other)
    w = p.watch()
    w.event("watching")
    web, kept = p.container("web").id, p.container("other").id
    # a broken edit: one line, and watching goes on with the previous configuration
    p.write("compose.yaml", _compose(SYNC_SRC) + other + "  bad: [\n")
    error = w.event("error")
    assert "compose.yaml" in error["message"] and "previous configuration" in error["message"]
    # a new environment variable and a new rule
    p.write("compose.yaml", _compose(SYNC_SRC + """        - action: sync
          path: ./docs
          target: /docs
""", web_extra="    environment: {MODE: edited}\n") + other)
    w.event("replan", phase="done", ok=True)
    assert p.container("web").id != web and p.container("other").id == kept
    assert p.sh("echo $MODE")[1] == "edited\n"
    p.write("docs/new.txt", "new rule\n")
    w.next(lambda e: e["event"] == "sync" and p.cat("/docs/new.txt") == "new rule\n", "sync by the new rule")
    assert p.cat("/app/a.txt") == "a\n"  # the recreated container was brought in sync with the host
