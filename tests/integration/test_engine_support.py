"""Shared helpers of the devenv engine tests (test_engine_*.py, test_cli_*.py). No tests here.

devenv always runs as a real subprocess (`python -m devenv -p PROJECT ...` in the test's
tmp_path), so exit codes and output are the ones a user sees; the engine's state is read back
with the docker SDK. Every project a test creates is named from its `project_name` fixture
(`project_name` itself, or `project_name + "-suffix"`, which the fixture's cleanup also removes).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from tests.engine_helpers import PROJECT_LABEL
from tests.images import BUSYBOX_IMAGE

if TYPE_CHECKING:
    import docker

DEVENV_TIMEOUT = 120.0

# A busybox main process that exits at once on SIGTERM (a plain `sleep` as PID 1 ignores it and
# every stop would last the full 10 s grace period).
FOREVER = """["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]"""
BUSYBOX = BUSYBOX_IMAGE
FAST_HEALTH = """{test: ["CMD", "true"], interval: 0.5s}"""


def forever_after(*words: str) -> str:
    """FOREVER, printing `words` first (one line each)."""
    echoes = "".join(f"echo {w}; " for w in words)
    return f"""["sh", "-c", "trap 'exit 0' TERM; {echoes}while :; do sleep 0.1; done"]"""


def write_compose(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def devenv_env(env: Mapping[str, str] | None = None, drop: tuple[str, ...] = ()) -> dict[str, str]:
    out = dict(os.environ)
    for key in ("NO_COLOR", "DEVENV_PUBLISH_HOST", *drop):
        out.pop(key, None)
    out.update(env or {})
    return out


def _default_sigint() -> None:
    # A child of a shell job may inherit SIGINT ignored; the Ctrl-C tests need the real thing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def devenv(
    cwd: Path, project: str, *args: str, env: Mapping[str, str] | None = None, timeout: float = DEVENV_TIMEOUT,
) -> subprocess.CompletedProcess[str]:
    """Run `devenv -p PROJECT ARGS...` in `cwd`; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, "-m", "devenv", "-p", project, *args],
        cwd=cwd, env=devenv_env(env), capture_output=True, text=True, timeout=timeout, check=False,
        stdin=subprocess.DEVNULL,
    )


def start_devenv(cwd: Path, project: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
    """Start `devenv -p PROJECT ARGS...` in the background (stdout and stderr piped, text)."""
    return subprocess.Popen(
        [sys.executable, "-m", "devenv", "-p", project, *args],
        cwd=cwd, env=devenv_env(env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, preexec_fn=_default_sigint,
    )


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """The result, after checking it exited 0 (else fail with everything it printed)."""
    assert result.returncode == 0, output(result)
    return result


def up(cwd: Path, project: str, *args: str, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return ok(devenv(cwd, project, "up", *args, env=env))


# -- reading the engine back


def containers(engine: docker.DockerClient, project: str) -> list[dict[str, Any]]:
    """The project's containers (any state), as the engine lists them."""
    return engine.api.containers(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})


def names(engine: docker.DockerClient, project: str) -> list[str]:
    return sorted(c["Names"][0].lstrip("/") for c in containers(engine, project))


def states(engine: docker.DockerClient, project: str) -> dict[str, str]:
    """container name -> state (running, exited, created...)."""
    return {c["Names"][0].lstrip("/"): c["State"] for c in containers(engine, project)}


def ids(engine: docker.DockerClient, project: str) -> dict[str, str]:
    return {c["Names"][0].lstrip("/"): c["Id"] for c in containers(engine, project)}


def inspect(engine: docker.DockerClient, name: str) -> dict[str, Any]:
    return engine.api.inspect_container(name)


def health(engine: docker.DockerClient, name: str) -> str:
    return ((inspect(engine, name)["State"].get("Health") or {}).get("Status")) or "none"


def networks(engine: docker.DockerClient, project: str) -> list[str]:
    return sorted(n["Name"] for n in engine.api.networks(filters={"label": f"{PROJECT_LABEL}={project}"}))


def volumes(engine: docker.DockerClient, project: str) -> list[str]:
    found = engine.api.volumes(filters={"label": f"{PROJECT_LABEL}={project}"}).get("Volumes") or []
    return sorted(v["Name"] for v in found)


def _belongs(project: str, labels: Mapping[str, str] | None, name: str) -> bool:
    """Labelled with the project, or unlabelled and named like its objects."""
    owner = (labels or {}).get(PROJECT_LABEL)
    if owner is not None:
        return owner == project
    return name.lstrip("/").startswith((f"{project}-", f"{project}_"))


def nothing_of(engine: docker.DockerClient, project: str) -> dict[str, list[str]]:
    """What the engine holds of the project (all empty: nothing)."""
    return {
        "containers": [c["Names"][0].lstrip("/") for c in engine.api.containers(all=True)
                       if _belongs(project, c.get("Labels"), c["Names"][0])],
        "networks": [n["Name"] for n in engine.api.networks() if _belongs(project, n.get("Labels"), n["Name"])],
        "volumes": [v["Name"] for v in engine.api.volumes().get("Volumes") or () if _belongs(project, v.get("Labels"), v["Name"])],
    }


def assert_nothing_exists(engine: docker.DockerClient, project: str) -> None:
    left = nothing_of(engine, project)
    assert left == {"containers": [], "networks": [], "volumes": []}, left


STANDARD_NAME = r"{project}-[a-z0-9][a-z0-9_.-]*-[1-9][0-9]*"


def nonstandard_names(engine: docker.DockerClient, project: str) -> list[str]:
    """Names of the project's service containers that are not `{project}-{service}-{n}`."""
    pattern = re.compile(STANDARD_NAME.format(project=re.escape(project)))
    out = []
    for c in engine.api.containers(all=True):
        name = c["Names"][0].lstrip("/")
        labels = c.get("Labels") or {}
        if labels.get(PROJECT_LABEL) == project or name.startswith(f"{project}-") or name.startswith(f"{project}_"):
            service = labels.get("com.docker.compose.service", "")
            number = labels.get("com.docker.compose.container-number", "")
            if not pattern.fullmatch(name) or name != f"{project}-{service}-{number}":
                out.append(name)
    return out


def timestamp(value: str) -> float:
    """Seconds since the epoch of an engine timestamp (RFC 3339 with nanoseconds)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value)
    assert match, value
    base = dt.datetime.fromisoformat(match.group(1) + (match.group(3).replace("Z", "+00:00")))
    return base.timestamp() + float("0." + (match.group(2) or "0"))


def started_at(engine: docker.DockerClient, name: str) -> float:
    return timestamp(inspect(engine, name)["State"]["StartedAt"])


def finished_at(engine: docker.DockerClient, name: str) -> float:
    return timestamp(inspect(engine, name)["State"]["FinishedAt"])


def first_healthy_at(engine: docker.DockerClient, name: str) -> float:
    """When the first passing health check of the container ended."""
    log = (inspect(engine, name)["State"].get("Health") or {}).get("Log") or []
    passing = [timestamp(entry["End"]) for entry in log if entry.get("ExitCode") == 0]
    assert passing, f"{name} never passed a health check: {log}"
    return min(passing)


def wait_until(predicate: Any, timeout: float = 20.0, interval: float = 0.1, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# -- ports


# Ports for the tests come from below the kernel's ephemeral range (32768-60999 by default): a
# port from inside it (as a bind to port 0 gives) can be taken by any outgoing connection between
# the moment a test picks it and the moment devenv checks it.
PORT_RANGE = (20000, 32000)


def free_ports(count: int = 1, protocol: str = "tcp") -> int:
    """The first of `count` consecutive ports, free right now on every address (tcp or udp),
    outside the ephemeral range."""
    kind = socket.SOCK_DGRAM if protocol == "udp" else socket.SOCK_STREAM
    for _ in range(200):
        first = random.randrange(PORT_RANGE[0], PORT_RANGE[1] - count)
        sockets = []
        try:
            for port in range(first, first + count):
                sock = socket.socket(socket.AF_INET, kind)
                sockets.append(sock)
                sock.bind(("", port))
            return first
        except OSError:
            continue
        finally:
            for sock in sockets:
                sock.close()
    raise RuntimeError(f"no {count} consecutive free {protocol} ports")


def host_address() -> str | None:
    """A non-loopback IPv4 address of this host (the one of its default route), if it has one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("10.254.254.254", 9))
            address = sock.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def http_get(host: str, port: int, timeout: float = 5.0) -> str:
    """The body of http://host:port/, retried until it answers or `timeout` passes."""
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/", timeout=2) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def refuses(host: str, port: int) -> bool:
    """True when nothing accepts a TCP connection on host:port."""
    try:
        with socket.create_connection((host, port), timeout=2):
            return False
    except OSError:
        return True
