"""devenv creates the containers Docker Compose v2 creates: each case side by side on the engine.

For each directory of `cases/` (a compose.yaml and the files it needs, on the offline images), the
reference Compose binary brings the case up (`up -d --wait`, building what it must) as project A
while devenv brings it up (`up`) as project B, both at once, from the same copy of the directory.
Then the effective settings of every container (`effective.py`: image, command, environment,
ports, mounts, networks and aliases, restart policy, healthcheck, labels, limits...), of the
networks and of the volumes are compared, containers paired by `{service}-{n}`; the only
differences allowed are the deliberate ones (`effective.DOCUMENTED_DIFFERENCES`):

- the `com.docker.compose.config-hash` label (Compose hashes its Go structure) and devenv's own
  `io.devenv.*` labels; the order of the `com.docker.compose.depends_on` label's entries;
- `expose: 3000` is `3000/tcp`, `expose: 4000-4001` two ports for devenv (Compose sends the key raw);
- namespaces (`network_mode`/`ipc`/`pid: service:x`) and `volumes_from` name the container for
  devenv, its ID for Compose (the comparison names both);
- `volumes_from: x:ro` keeps its `:ro` for devenv (Compose drops the mode), so what is inherited
  that way is read-only for devenv only;
- link aliases `{svc}-{n}` use the linked container's number for devenv (Compose: the linking
  container's); Compose repeats link entries, devenv lists each once;
- published ports without a host IP: devenv binds 127.0.0.1 by default, Compose every interface.
  The comparison runs devenv with DEVENV_PUBLISH_HOST=0.0.0.0, which removes the difference (the
  plan then sends no host IP, as Compose: the engine binds both 0.0.0.0 and ::);
  `test_published_ports_bind_localhost_by_default` checks the default difference explicitly.

A case may carry an `x-differential` section (ignored by both tools), giving each side its own
values so that the two projects can run at once: `ports: N` (PORT0..PORT{N-1}, consecutive free
host ports), `subnets: [NAME...]` (a free `10.x.y` prefix each), `names: [NAME...]` (a name
starting with the project's, for objects named explicitly), `env: {KEY: value}` (the same for
both), `profiles: [...]`, `wait: false` (Compose runs `up -d` without `--wait`; the test then waits
for the health checks to settle). The comparison turns each side's values back into `${NAME}`.

Finally both tools take their project down (`down -v`) and must leave nothing behind.
"""

from __future__ import annotations

import ast
import ipaddress
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.differential.effective import compare, project_resources, project_settings
from tests.engine_helpers import cleanup_project, compose_env, run_compose

# Differences this suite found in code it does not own (devenv/engine/, devenv/cli/): reported, not
# fixed here. A case whose only differences (or whose devenv `up` failure) match its entries is an
# expected failure naming the report; anything else still fails. Remove an entry once it is fixed.
CASES_DIR = Path(__file__).resolve().parent / "cases"
CASES = sorted(p.name for p in CASES_DIR.iterdir() if (p / "compose.yaml").is_file())
REPO_ROOT = Path(__file__).resolve().parents[2]
WAIT_TIMEOUT = "60"
DEVENV_TIMEOUT = 180.0


def devenv(args: Sequence[str], cwd: Path, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    """Run devenv (this checkout) with the same clean environment Compose gets, plus `env`."""
    clean = compose_env(env)
    clean["PYTHONPATH"] = str(REPO_ROOT)
    return subprocess.run(
        [sys.executable, "-m", "devenv", *args], cwd=cwd, env=clean, capture_output=True, text=True,
        timeout=DEVENV_TIMEOUT, check=False,
    )


def _ports_free(ports: range) -> bool:
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            try:
                tcp.bind(("", port))
                udp.bind(("", port))
            except OSError:
                return False
    return True


def free_port_block(count: int, taken: set[int]) -> list[int]:
    """`count` consecutive host ports, free for TCP and UDP, none in `taken`."""
    for _ in range(200):
        base = random.randrange(20000, 32000)
        block = range(base, base + count)
        if not taken.intersection(block) and _ports_free(block):
            taken.update(block)
            return list(block)
    raise RuntimeError(f"no {count} consecutive free ports")


def used_subnets(engine: Any) -> list[ipaddress.IPv4Network]:
    nets = []
    for net in engine.api.networks():
        for pool in (net.get("IPAM") or {}).get("Config") or ():
            try:
                nets.append(ipaddress.ip_network(pool.get("Subnet", ""), strict=False))
            except ValueError:
                pass
    return [n for n in nets if n.version == 4]


def free_subnet_prefix(engine: Any, taken: set[str]) -> str:
    """A `10.x.y` prefix (x, y of three digits: no prefix is a substring of another) whose /24 is unused."""
    used = used_subnets(engine)
    for _ in range(200):
        prefix = f"10.{random.randrange(100, 250)}.{random.randrange(100, 250)}"
        subnet = ipaddress.ip_network(f"{prefix}.0/24")
        if prefix not in taken and not any(subnet.overlaps(n) for n in used):
            taken.add(prefix)
            return prefix
    raise RuntimeError("no free 10.x.y.0/24 subnet")


def side_values(meta: Mapping[str, Any], project: str, engine: Any, taken_ports: set[int], taken_subnets: set[str]) -> dict[str, str]:
    """The values one side of a case interpolates (see the module docstring)."""
    values = {f"PORT{i}": str(p) for i, p in enumerate(free_port_block(int(meta["ports"]), taken_ports))} if meta.get("ports") else {}
    for name in meta.get("subnets") or ():
        values[name] = free_subnet_prefix(engine, taken_subnets)
    for name in meta.get("names") or ():
        values[name] = f"{project}-{name.lower().replace('_', '-')}"
    return values


def in_parallel(*calls: Callable[[], Any]) -> list[Any]:
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"


class Case:
    """One case directory, copied to `workdir`, run as Compose project `a` and devenv project `b`."""

    def __init__(self, name: str, workdir: Path, engine: Any, a: str, b: str) -> None:
        shutil.copytree(CASES_DIR / name, workdir)
        self.workdir = workdir
        self.engine = engine
        self.a, self.b = a, b
        self.meta = (yaml.safe_load((workdir / "compose.yaml").read_text()) or {}).get("x-differential") or {}
        ports: set[int] = set()
        subnets: set[str] = set()
        self.values_a = side_values(self.meta, a, engine, ports, subnets)
        self.values_b = side_values(self.meta, b, engine, ports, subnets)
        shared = {str(k): str(v) for k, v in (self.meta.get("env") or {}).items()}
        self.env_a = {**shared, **self.values_a}
        self.env_b = {**shared, **self.values_b}
        self.profiles = [arg for p in self.meta.get("profiles") or () for arg in ("--profile", str(p))]

    def compose(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_compose(["-f", "compose.yaml", "-p", self.a, *self.profiles, *args], cwd=self.workdir, env=self.env_a)

    def compose_on_b(self, *args: str) -> subprocess.CompletedProcess[str]:
        """The Compose binary on devenv's project (B), with B's values."""
        return run_compose(["-f", "compose.yaml", "-p", self.b, *self.profiles, *args], cwd=self.workdir, env=self.env_b)

    def services(self) -> list[str]:
        return list((yaml.safe_load((self.workdir / "compose.yaml").read_text()) or {}).get("services") or {})

    def devenv(self, *args: str, publish_host: str | None = "0.0.0.0") -> subprocess.CompletedProcess[str]:
        env = dict(self.env_b)
        if publish_host is not None:
            env["DEVENV_PUBLISH_HOST"] = publish_host
        return devenv(["-f", "compose.yaml", "-p", self.b, *self.profiles, *args], cwd=self.workdir, env=env)

    def up(self, publish_host: str | None = "0.0.0.0") -> None:
        wait = ("--wait", "--wait-timeout", WAIT_TIMEOUT) if self.meta.get("wait", True) else ()
        compose_up, devenv_up = in_parallel(
            lambda: self.compose("up", "-d", *wait),
            lambda: self.devenv("up", "--wait-timeout", WAIT_TIMEOUT, publish_host=publish_host),
        )
        problems = []
        if compose_up.returncode != 0:
            problems.append(f"compose up failed: {output(compose_up)}")
        if devenv_up.returncode != 0:
            problems.append(f"devenv up failed: {output(devenv_up)}")
        self.compose_up, self.devenv_up = compose_up, devenv_up
        assert not problems, "\n".join(problems)
        if not wait:
            settle(self.engine, (self.a, self.b))

    def differences(self) -> list[str]:
        containers = compare(project_settings(self.engine, self.a, self.values_a), project_settings(self.engine, self.b, self.values_b))
        resources = compare(
            project_resources(self.engine, self.a, self.values_a), project_resources(self.engine, self.b, self.values_b), documented=False
        )
        return containers + resources

    def down(self) -> list[str]:
        """Both tools take their project down; what either left behind or failed to do."""
        compose_down, devenv_down = in_parallel(
            lambda: self.compose("down", "-v", "-t", "0"), lambda: self.devenv("down", "-v", "-t", "0")
        )
        problems = []
        for tool, result, project in (("compose", compose_down, self.a), ("devenv", devenv_down, self.b)):
            if result.returncode != 0:
                problems.append(f"{tool} down -v failed: {output(result)}")
            left = leftovers(self.engine, project)
            if left:
                problems.append(f"{tool} down -v left {left}")
        return problems


def settle(engine: Any, projects: Sequence[str], timeout: float = 20.0) -> None:
    """Wait until no container of `projects` has a health check still starting."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        starting = [
            c["Id"]
            for project in projects
            for c in engine.api.containers(filters={"label": f"com.docker.compose.project={project}", "health": "starting"})
        ]
        if not starting:
            return
        time.sleep(0.2)


def leftovers(engine: Any, project: str) -> list[str]:
    selector = {"label": f"com.docker.compose.project={project}"}
    api = engine.api
    return (
        [f"container {c['Names'][0]}" for c in api.containers(all=True, filters=selector)]
        + [f"network {n['Name']}" for n in api.networks(filters=selector)]
        + [f"volume {v['Name']}" for v in api.volumes(filters=selector).get("Volumes") or ()]
    )


@pytest.fixture
def projects(engine: Any, project_name: str, request: pytest.FixtureRequest) -> tuple[str, str]:
    """Project names for Compose (A) and devenv (B); both are cleaned up afterwards."""
    second = f"{project_name}x"
    request.addfinalizer(lambda: cleanup_project(engine, second))
    return project_name, second


@pytest.mark.parametrize("case", CASES)
def test_devenv_creates_what_compose_creates(
    case: str, engine: Any, base_images: tuple[str, str], projects: tuple[str, str], tmp_path: Path
) -> None:
    run = Case(case, tmp_path / case, engine, *projects)
    run.up()
    differences = run.differences()
    problems = run.down()
    assert not problems, "\n".join(problems)
    assert not differences, f"{case}: devenv's containers differ from Compose's:\n" + "\n".join(differences)


def test_published_ports_bind_localhost_by_default(
    engine: Any, base_images: tuple[str, str], projects: tuple[str, str], tmp_path: Path
) -> None:
    """The one documented port difference: without DEVENV_PUBLISH_HOST, a port without host IP binds 127.0.0.1."""
    run = Case("ports", tmp_path / "ports", engine, *projects)
    run.up(publish_host=None)
    differences = run.differences()
    problems = run.down()
    compose = yaml.safe_load((CASES_DIR / "ports" / "compose.yaml").read_text())
    without_ip = []  # the container ports published without a host IP
    for entry in compose["services"]["web"]["ports"]:
        if isinstance(entry, dict):
            if not entry.get("host_ip"):
                without_ip.append(f"{entry['target']}/{entry.get('protocol', 'tcp')}")
            continue
        spec, _, proto = str(entry).partition("/")
        host, _, target = spec.rpartition(":")
        if host.count(":") == 0:  # no host IP: "published:target" or "target"
            lo, _, hi = target.partition("-")
            without_ip += [f"{p}/{proto or 'tcp'}" for p in range(int(lo), int(hi or lo) + 1)]
    expected = set()
    for port in without_ip:
        expected.add(f"web-1: HostConfig.PortBindings.{port}")
        expected.add(f"web-1: Ports.{port}")
    found = {d.split(": compose=")[0] for d in differences}
    assert found == expected, "\n".join(differences)
    for line in differences:
        compose_side, _, devenv_side = line.partition(": compose=")[2].partition(" devenv=")
        compose_value, devenv_value = ast.literal_eval(compose_side), ast.literal_eval(devenv_side)
        if ".PortBindings." in line:  # asked for: 127.0.0.1 where Compose asks for every interface ("")
            assert [b["HostIp"] for b in devenv_value] == ["127.0.0.1"] and [b["HostIp"] for b in compose_value] == [""], line
        else:  # really bound: 127.0.0.1 only, where Compose binds 0.0.0.0 and ::
            assert [b.rpartition(":")[0] for b in devenv_value] == ["127.0.0.1"], line
            assert "0.0.0.0" in [b.rpartition(":")[0] for b in compose_value], line
    assert not problems, "\n".join(problems)
