"""Wall-clock speed of `devenv diff` on a 30-service project brought up on a real engine.

    python -m benchmarks.bench_diff [--services 30] [--runs 10] [--out benchmarks/results/diff.md]

The stack is `up_stack.py`'s (N busybox services, local images only). It is brought up once with
`devenv up`; a lock file is then written with the lock file model (declared configuration and the
local image IDs of every service, as `devenv lock` records them), and two commands are timed as
fresh processes (`python -m devenv` of this checkout, environment PATH, HOME, PYTHONPATH and
DOCKER_HOST if set), round-robin after one discarded warm-up each:

- `devenv diff --against-lock devenv.lock` (no engine call at all);
- `devenv diff --against-host unix:///var/run/docker.sock` (one list, and an inspect of each
  container and of each distinct image).

Both must exit 0 (nothing differs); the benchmark fails otherwise. Docker Compose has no
equivalent command, so there is no reference column: the figures are absolute. The project is
removed at the end (`down -v`), whatever happens.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.up_stack import write_stack  # noqa: E402

HOST = "unix:///var/run/docker.sock"
TIMEOUT = 600


def clean_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": str(REPO_ROOT)}
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return env


def devenv(workdir: Path, project: str, *args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    argv = [sys.executable, "-m", "devenv", "-f", str(workdir / "compose.yaml"), "-p", project, *args]
    started = time.perf_counter()
    result = subprocess.run(argv, cwd=workdir, env=clean_env(), capture_output=True, text=True, timeout=TIMEOUT, check=False)
    return time.perf_counter() - started, result


def write_lock(workdir: Path, project: str) -> Path:
    """The lock `devenv lock` would write for what runs (declared facts, image IDs)."""
    from devenv import lockfile
    from devenv.engine.client import connect
    from devenv.manifest import load_project
    from devenv.manifest.options import ProjectOptions
    from devenv.plan.declared import project_facts
    from devenv.plan.naming import image_name

    loaded = load_project(ProjectOptions(files=(str(workdir / "compose.yaml"),), project_name=project, cwd=str(workdir)))
    api = connect().api
    services = {}
    for name, facts in project_facts(loaded).items():
        reference = image_name(loaded.name, loaded.services[name])
        services[name] = lockfile.ServiceLock(reference, id=api.inspect_image(reference)["Id"], declared=facts)
    path = workdir / "devenv.lock"
    lockfile.write(str(path), lockfile.LockFile(loaded.name, None, services))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--out", default=str(REPO_ROOT / "benchmarks" / "results" / "diff.md"))
    args = parser.parse_args(argv)

    workdir = REPO_ROOT / "benchmarks" / "out" / f"diff-{args.services}"
    write_stack(args.services, workdir)
    project = f"bench-diff-{os.getpid()}"
    commands = {
        "diff --against-lock devenv.lock": ("diff", "--against-lock", "devenv.lock"),
        f"diff --against-host {HOST}": ("diff", "--against-host", HOST),
    }
    times: dict[str, list[float]] = {name: [] for name in commands}
    try:
        seconds, result = devenv(workdir, project, "up")
        if result.returncode != 0:
            raise SystemExit(f"up failed: {result.stderr[-2000:]}")
        print(f"up: {seconds:.1f} s", file=sys.stderr)
        write_lock(workdir, project)
        for round_ in range(args.runs + 1):
            for name, command in commands.items():
                seconds, result = devenv(workdir, project, *command)
                if result.returncode != 0:
                    raise SystemExit(f"devenv {name} found differences or failed (exit {result.returncode}):\n{result.stdout}{result.stderr}")
                if round_:  # the first round warms up
                    times[name].append(seconds)
    finally:
        devenv(workdir, project, "down", "-v")

    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
    lines = [
        f"# `devenv diff` on a {args.services}-service project", "",
        f"Date: {date}. Reproduce from the repository root with:", "",
        "```sh", f"python -m benchmarks.bench_diff --services {args.services} --runs {args.runs}", "```", "",
        f"- Machine: {os.cpu_count()} cores, {platform.platform()}, load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}",
        f"- Python: {platform.python_version()} ({sys.executable}); devenv at commit {commit}",
        f"- Stack: `benchmarks/up_stack.py` ({args.services} busybox services, local images), brought up with `devenv up`;"
        " the lock written with the lock file model (declared configuration and image IDs of every service)",
        "- Docker Compose has no drift report, so there is no reference: the figures are absolute.", "",
        f"Wall clock per fresh process (`python -m devenv -f compose.yaml -p P ...`, `time.perf_counter` around"
        f" `subprocess.run`), {args.runs} runs each after one discarded warm-up, round-robin; every run exited 0 (no difference).", "",
        "| Command | Median ms | Min ms | Max ms |", "|---|---:|---:|---:|",
    ]
    for name, values in times.items():
        lines.append(f"| `devenv {name}` | {statistics.median(values) * 1000:.1f} | {min(values) * 1000:.1f} | {max(values) * 1000:.1f} |")
    text = "\n".join(lines) + "\n"
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
