"""Faults and their aftermath: Ctrl-C at awkward moments, two `up` at once, no engine, data that
must survive `down`, other projects that `down` must not touch, and (last, disruptive) the engine
itself restarting under a running project."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, assert_nothing_exists, containers, devenv, health, names, networks, nonstandard_names, ok,
    output, start_devenv, states, up, volumes, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

REPO = Path(__file__).resolve().parents[2]

# Three services whose containers take ~1 s to stop (so a recreate is slow enough to interrupt);
# c waits for a to be healthy.
SLOW_STOPPING = f"""
x-slow: &slow
  image: {BUSYBOX}
  command: ["sh", "-c", "trap 'sleep 1; exit 0' TERM; while :; do sleep 0.1; done"]
  healthcheck: {{test: ["CMD", "true"], interval: 0.5s}}
services:
  a: *slow
  b: *slow
  c:
    <<: *slow
    depends_on:
      a: {{condition: service_healthy}}
"""


def interrupt_when(proc: subprocess.Popen[str], marker: str, timeout: float = 60.0) -> tuple[int, str, bool]:
    """Send SIGINT to `proc` as soon as a line of its stderr contains `marker`; return its exit
    code, everything it printed, and whether the marker was seen before it ended by itself."""
    assert proc.stderr is not None and proc.stdout is not None
    seen: list[str] = []
    hit = False
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            hit = True
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out + "".join(seen) + err, hit


def assert_converged(engine: docker.DockerClient, project: str, services: tuple[str, ...]) -> None:
    expected = {f"{project}-{s}-1" for s in services}
    assert set(names(engine, project)) == expected, names(engine, project)
    assert set(states(engine, project).values()) == {"running"}
    for name in expected:
        assert health(engine, name) in ("healthy", "none"), name


@pytest.mark.parametrize(
    "flags, marker",
    [
        ((), "created"),  # a fresh up, while it creates containers
        (("--force-recreate",), "stopped"),  # a recreate: old container stopped, not yet removed
        (("--force-recreate",), "removed"),  # a recreate: old container removed, new one not yet made
        (("--force-recreate",), "wait until healthy"),  # a recreate: waiting on a's health
    ],
    ids=["fresh-create", "recreate-after-stop", "recreate-after-remove", "recreate-while-waiting"],
)
def test_ctrl_c_exits_130_leaves_no_temporary_names_and_the_next_up_converges(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, flags: tuple[str, ...], marker: str
) -> None:
    p = project_name
    write_compose(tmp_path, SLOW_STOPPING)
    if flags:
        up(tmp_path, p)
    code, text, hit = interrupt_when(start_devenv(tmp_path, p, "up", *flags), marker)
    assert hit, f"never saw {marker!r}:\n{text}"
    assert code == 130, text
    assert "interrupted" in text and "Traceback" not in text, text
    assert nonstandard_names(engine, p) == [], text

    up(tmp_path, p)
    assert_converged(engine, p, ("a", "b", "c"))


def _finish(proc: subprocess.Popen[str], already: str = "") -> tuple[int, str]:
    out, err = proc.communicate(timeout=120)
    return proc.returncode, already + out + err


def _check_pair(engine: docker.DockerClient, project: str, results: list[tuple[int, str]], *, met: bool) -> None:
    texts = "\n=====\n".join(text for _, text in results)
    for code, text in results:
        assert code == 0 or (code == 1 and "busy" in text), texts
        assert "Error response from daemon" not in text and "Conflict" not in text and "Traceback" not in text, texts
    if met:  # the second one found the first at work: it waited (saying so) or was refused
        assert "another devenv command is changing project" in texts or "busy" in texts, texts
    assert len(containers(engine, project)) == 3, texts  # never a duplicate
    assert_converged(engine, project, ("a", "b", "c"))


def test_two_ups_at_once_end_with_one_consistent_project(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, SLOW_STOPPING)
    # Started together on a fresh project: whoever gets there first does the work.
    pair = [start_devenv(tmp_path, p, "up"), start_devenv(tmp_path, p, "up")]
    _check_pair(engine, p, [_finish(proc) for proc in pair], met=False)

    # The second starts while the first is surely at work (recreating, then creating).
    for args, marker in ((("up", "--force-recreate"), "stopped"), (("up", "--force-recreate"), "created")):
        first = start_devenv(tmp_path, p, *args)
        assert first.stderr is not None
        seen = ""
        for line in first.stderr:
            seen += line
            if marker in line:
                break
        second = start_devenv(tmp_path, p, "up")
        _check_pair(engine, p, [_finish(first, seen), _finish(second)], met=True)
    assert nonstandard_names(engine, p) == []


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:1", "unix:///nonexistent/devenv-test/docker.sock"])
@pytest.mark.parametrize("command", [("up",), ("ps",), ("down",)], ids=["up", "ps", "down"])
def test_unreachable_engine_fails_fast_with_one_line_naming_the_address(
    tmp_path: Path, address: str, command: tuple[str, ...]
) -> None:
    write_compose(tmp_path, f"services:\n  a:\n    image: {BUSYBOX}\n")
    # Well under the connect timeout devenv names, or the hang guard fails the test.
    result = devenv(tmp_path, "dvt-unreachable", *command, env={"DOCKER_HOST": address}, timeout=60)
    assert result.returncode == 1, output(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and address in lines[0], output(result)


def test_named_volume_data_survives_down_and_is_removed_by_down_v(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
            volumes: [data:/data]
        volumes:
          data: {{}}
    """)
    up(tmp_path, p)
    ok(devenv(tmp_path, p, "exec", "-T", "db", "sh", "-c", "echo keep-me > /data/file"))

    ok(devenv(tmp_path, p, "down"))
    assert containers(engine, p) == [] and networks(engine, p) == []
    assert volumes(engine, p) == [f"{p}_data"]

    up(tmp_path, p)
    assert ok(devenv(tmp_path, p, "exec", "-T", "db", "cat", "/data/file")).stdout.strip() == "keep-me"

    ok(devenv(tmp_path, p, "down", "-v"))
    assert_nothing_exists(engine, p)


def test_down_never_touches_another_projects_or_unlabelled_objects(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p, other = project_name, f"{project_name}-other"
    shared = f"{p}-shared"  # an external volume: declared by p, owned by nobody
    engine.volumes.create(shared)
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
            volumes: [data:/data, shared:/shared]
        volumes:
          data: {{}}
          shared: {{external: true, name: {shared}}}
    """)
    up(tmp_path, p)
    up(tmp_path, other)
    stray = engine.containers.create(BUSYBOX, ["true"], name=f"{p}-db-9")  # a look-alike without labels
    theirs = (states(engine, other), networks(engine, other), volumes(engine, other))

    ok(devenv(tmp_path, p, "down", "-v", "--remove-orphans"))
    assert containers(engine, p) == [] and networks(engine, p) == [] and volumes(engine, p) == []
    assert (states(engine, other), networks(engine, other), volumes(engine, other)) == theirs
    assert theirs == ({f"{other}-db-1": "running"}, [f"{other}_default"], [f"{other}_data"])
    stray.reload()
    engine.volumes.get(shared)  # still there


def test_down_names_a_foreign_container_that_still_uses_the_projects_network(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: {FOREVER}
    """)
    up(tmp_path, p)
    intruder = engine.containers.run(BUSYBOX, ["sleep", "600"], name=f"{p}-intruder", network=f"{p}_default", detach=True)
    try:
        result = devenv(tmp_path, p, "down")
        assert result.returncode == 1, output(result)
        assert f"network {p}_default is still used by {p}-intruder, which this project does not own" in result.stderr
        assert containers(engine, p) == [] and networks(engine, p) == [f"{p}_default"]
        intruder.reload()
        assert intruder.status == "running"
    finally:
        intruder.remove(force=True)
    ok(devenv(tmp_path, p, "down"))  # once it has gone, the next down finishes the job
    assert networks(engine, p) == []


# -- Disruptive: restarts the machine's Docker engine. Keep it LAST in this file.

DOCKER_PIDFILE = Path("/var/run/docker.pid")


def _engine_answers() -> bool:
    try:
        client = docker.from_env(timeout=5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _start_engine() -> None:
    subprocess.run(["bash", str(REPO / "scripts" / "engine.sh")], check=True, timeout=180, stdin=subprocess.DEVNULL)


def _stop_engine(timeout: float = 90.0) -> None:
    """Stop dockerd as scripts/engine.sh knows it: SIGTERM the pid of its pidfile, wait for it to exit."""
    pid = int(DOCKER_PIDFILE.read_text().strip())
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, f"dockerd (pid {pid}) did not exit within {timeout}s"
        time.sleep(0.2)


def test_engine_restart_converges(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    """The engine stops under a running project, then comes back: `up` fails fast while it is away,
    and brings everything back once it answers again. Restores the engine even when failing."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if host not in ("unix:///var/run/docker.sock", "unix:///run/docker.sock") or not DOCKER_PIDFILE.is_file():
        pytest.skip("needs the local dockerd that scripts/engine.sh manages")
    if os.geteuid() != 0 or shutil.which("dockerd") is None:
        pytest.skip("needs root and dockerd to restart the engine")
    p = project_name
    write_compose(tmp_path, SLOW_STOPPING)
    up(tmp_path, p)
    try:
        _stop_engine()
        away = devenv(tmp_path, p, "up", timeout=60)
        assert away.returncode == 1 and "/var/run/docker.sock" in away.stderr, output(away)
        _start_engine()
    finally:
        if not _engine_answers():
            _start_engine()
    deadline = time.monotonic() + 30
    while not _engine_answers():
        assert time.monotonic() < deadline, "the engine did not answer after scripts/engine.sh"
        time.sleep(0.5)

    up(tmp_path, p)
    assert_converged(engine, p, ("a", "b", "c"))
