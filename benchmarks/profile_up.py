"""Where one `devenv` run spends its time: phase timestamps from inside the process, plus the process's own
start-up and exit seen from outside.

    python -m benchmarks.profile_up [--size 30] [--repeats 3] [--out FILE]   # cold up, no-op up, changed up, ps, down
    python -m benchmarks.profile_up --child -f F -p P up          # one instrumented run (what the above spawns)

The child wraps (at run time, without touching devenv's files) the functions a command goes through:
loading the model, connecting to the engine (which imports the Docker SDK), the lock, observing, planning,
the port check, opening the event stream, running the plan, and printing the result. Each wrapper records
its start and duration; the parent adds the interpreter start-up (spawn until the child's first line) and
the exit (end of `main` until the process is gone). Wrappers are skipped if devenv no longer has the
function, so a refactoring there makes the table shorter, not wrong. The five commands run in turn,
`--repeats` times (medians reported), on the `up_stack.py` stack, in a `bench-up-prof-N` project that is
removed at the end.
"""

from __future__ import annotations

import time

CHILD_T0_WALL = time.time()  # as early as possible: what happened before is interpreter start-up and site

import argparse  # noqa: E402
import contextlib  # noqa: E402
import functools  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any, Callable, Sequence  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
RECORD_ENV = "BENCH_PROFILE_RECORD"

# (module, attribute, phase label); methods as "Class.method". Order = the order a command meets them.
WRAPPED = (
    ("devenv.cli", "LazyGroup.get_command", "import the command's module"),
    ("devenv.manifest", "load_project", "load the model (read, interpolate, normalise)"),
    ("devenv.engine.client", "connect", "connect (engine client, ping)"),
    ("devenv.engine.apply", "project_lock", "take the project lock"),
    ("devenv.engine.apply", "observe", "observe (list containers, networks, volumes, images)"),
    ("devenv.plan", "plan_up", "plan"),
    ("devenv.plan", "plan_down", "plan"),
    ("devenv.engine.apply", "prune_satisfied_gates", "plan: prune satisfied gates"),
    ("devenv.engine.apply", "check_ports", "check published ports"),
    ("devenv.engine.apply", "EventWatch.__init__", "open the event stream"),
    ("devenv.engine.apply", "Executor.run", "run the plan (engine calls and waits)"),
    ("devenv.cli.report", "print_applied", "print the result (lists the containers again)"),
    ("devenv.engine.status", "list_rows", "list the containers"),
)


# --- the child: one instrumented run ---------------------------------------------------------------


def _wrap(records: list[dict[str, Any]], label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        try:
            return func(*args, **kwargs)
        finally:
            records.append({"phase": label, "start": start, "seconds": time.time() - start})

    return timed


def _wrap_cm(records: list[dict[str, Any]], label: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """A context manager factory: time only the entering (waiting for the lock), not the body."""

    @contextlib.contextmanager
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.time()
        with func(*args, **kwargs):
            records.append({"phase": label, "start": start, "seconds": time.time() - start})
            yield

    return timed


def _outcome_summary(records: list[dict[str, Any]]) -> Callable[..., Any]:
    """Wrap Executor.run so the per-operation durations of the plan are recorded too."""

    def wrap(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def run(self: Any) -> Any:
            outcomes = func(self)
            by_op: dict[str, list[float]] = {}
            for outcome in outcomes:
                by_op.setdefault(getattr(outcome.action.op, "value", str(outcome.action.op)), []).append(outcome.seconds)
            records.append({"phase": "_ops", "ops": {k: [len(v), sum(v), max(v)] for k, v in by_op.items()}})
            return outcomes

        return run

    return wrap


def child(argv: Sequence[str]) -> int:
    records: list[dict[str, Any]] = []
    start_import = time.time()
    import devenv.cli as cli  # noqa: PLC0415

    records.append({"phase": "import devenv.cli (argument parsing, options)", "start": start_import,
                    "seconds": time.time() - start_import})
    command = next((a for a in argv if not a.startswith("-") and a in cli.COMMANDS), "")
    for module_name, attribute, label in WRAPPED:
        if command not in ("up", "down", "stop", "start", "restart") and module_name in (
                "devenv.engine.apply", "devenv.cli.report"):
            continue  # ps does not import them; importing them here would bill ps for it
        if module_name == "devenv.plan" and not attribute.endswith(command):
            continue
        try:
            module = importlib.import_module(module_name)
            owner_name, _, name = attribute.rpartition(".")
            owner = getattr(module, owner_name) if owner_name else module
            original = getattr(owner, name)
        except (ImportError, AttributeError):
            continue
        if attribute == "project_lock":
            setattr(owner, name, _wrap_cm(records, label, original))
        elif attribute == "Executor.run":
            setattr(owner, name, _wrap(records, label, _outcome_summary(records)(original)))
        else:
            setattr(owner, name, _wrap(records, label, original))
    started = time.time()
    code = cli.main(list(argv))
    ended = time.time()
    records.append({"phase": "_main", "start": started, "seconds": ended - started})
    path = os.environ.get(RECORD_ENV)
    if path:
        Path(path).write_text(json.dumps({"t0": CHILD_T0_WALL, "records": records, "end": ended}))
    if hasattr(cli, "run"):  # the console script's way out: flush and skip the interpreter's teardown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


# --- the parent: a table per scenario --------------------------------------------------------------


def run_profiled(devenv_args: Sequence[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    """Run one instrumented devenv command; return its phases (seconds) in order."""
    record = Path(cwd) / ".profile.json"
    env = dict(env, **{RECORD_ENV: str(record)})
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.profile_up", "--child", *devenv_args],
                          cwd=REPO_ROOT, env=env | {"PYTHONPATH": str(REPO_ROOT)}, capture_output=True, text=True,
                          timeout=600)
    gone = time.time()
    if proc.returncode != 0:
        raise RuntimeError(f"devenv {' '.join(devenv_args)} exited {proc.returncode}:\n{proc.stderr[-2000:]}")
    data = json.loads(record.read_text())
    record.unlink()
    phases: list[tuple[str, float]] = [("interpreter start-up, `site`, profiler import", data["t0"] - spawned)]
    ops: dict[str, list[float]] = {}
    nested = 0.0
    for r in data["records"]:
        if r["phase"] == "_ops":
            for op, (count, total, longest) in r["ops"].items():
                old = ops.get(op, [0, 0.0, 0.0])
                ops[op] = [old[0] + count, old[1] + total, max(old[2], longest)]
            continue
        if r["phase"] == "_main":
            continue
        phases.append((r["phase"], r["seconds"]))
    main = next(r for r in data["records"] if r["phase"] == "_main")
    inside = sum(s for p, s in phases[2:] if p != "list the containers" or not any(
        q == "print the result (lists the containers again)" for q, _ in phases))
    nested = sum(s for p, s in phases if p == "list the containers") if any(
        p.startswith("print the result") for p, _ in phases) else 0.0
    phases.append(("everything else in `main` (argument parsing, lock file, threads, output)",
                   main["seconds"] - inside))
    phases.append(("exit (as the console script leaves)", gone - data["end"]))
    return {"phases": phases, "total": gone - spawned, "ops": ops, "nested_list": nested}


def clean_env() -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    if os.environ.get("DOCKER_HOST"):
        env["DOCKER_HOST"] = os.environ["DOCKER_HOST"]
    return env


def merge(phases: list[tuple[str, float]]) -> list[tuple[str, float, int]]:
    """Same-named phases summed, in first-seen order, with their count."""
    out: dict[str, list[float]] = {}
    for name, seconds in phases:
        entry = out.setdefault(name, [0.0, 0])
        entry[0] += seconds
        entry[1] += 1
    return [(name, total, int(count)) for name, (total, count) in out.items()]


def profile_markdown(size: int, repeats: int = 3) -> str:
    """Profile cold up, no-op up, changed up, ps and down of devenv on the N-service stack, `repeats` times;
    each cell is the median over the repeats."""
    sys.path.insert(0, str(REPO_ROOT))
    from benchmarks.up_stack import write_stack

    workdir = REPO_ROOT / "benchmarks" / "out" / f"up-{size}" / "profile"
    project = f"bench-up-prof-{size}"
    compose = write_stack(size, workdir)
    base = ["-f", str(compose), "-p", project]
    env = clean_env()
    python_floor = statistics.median(_time([sys.executable, "-c", "pass"], env) for _ in range(5))
    scenarios = [("cold `up`", ["up"], False), ("no-op `up`", ["up"], False),
                 ("`up` after one change", ["up"], True), ("`ps`", ["ps"], True), ("`down -v`", ["down", "-v"], False)]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label, _, _ in scenarios}
    try:
        for _ in range(repeats):
            write_stack(size, workdir)
            for label, args, changed in scenarios:
                if changed:
                    write_stack(size, workdir, changed=True)
                runs[label].append(run_profiled(base + args, workdir, env))
    finally:
        subprocess.run([sys.executable, "-m", "devenv", *base, "down", "-v"], cwd=REPO_ROOT, env=env,
                       capture_output=True, timeout=600)
        write_stack(size, workdir)
    lines = [
        f"Instrumented runs of each command on the {size}-service stack (`python -m benchmarks.profile_up "
        f"--size {size} --repeats {repeats}`); ms per phase, median of {repeats} runs. The instrumentation adds a "
        f"few ms. For scale: `python -c pass` takes {python_floor * 1000:.0f} ms here.",
        "",
    ]
    names: list[str] = []
    table: dict[str, dict[str, str]] = {}
    chosen: dict[str, dict[str, Any]] = {}
    for label, _, _ in scenarios:
        per_run = [{name: (seconds, count) for name, seconds, count in merge(r["phases"])} for r in runs[label]]
        for merged in per_run:
            for name in merged:
                if name not in names:
                    names.append(name)
        for name in names:
            values = [m[name] for m in per_run if name in m]
            if values:
                count = max(c for _, c in values)
                table.setdefault(name, {})[label] = (f"{statistics.median(v for v, _ in values) * 1000:.0f}"
                                                     + (f" ({count}×)" if count > 1 else ""))
        totals = sorted(runs[label], key=lambda r: r["total"])
        chosen[label] = totals[len(totals) // 2]
        table.setdefault("**total (wall clock)**", {})[label] = (
            f"**{statistics.median(r['total'] for r in runs[label]) * 1000:.0f}**")
    names.append("**total (wall clock)**")
    labels = [label for label, _, _ in scenarios]
    lines.append("| phase | " + " | ".join(labels) + " |")
    lines.append("|---|" + "---:|" * len(labels))
    for name in names:
        lines.append(f"| {name} | " + " | ".join(table.get(name, {}).get(label, "") for label in labels) + " |")
    lines += ["", "`list the containers` inside `print the result` is counted in both rows.", "",
              "Plan operations in the median run (count, summed and longest seconds; they overlap, the executor "
              "runs them in parallel):", ""]
    for label in labels:
        ops = ", ".join(f"{op} {c}× Σ{t:.2f}s max {m:.2f}s" for op, (c, t, m) in chosen[label]["ops"].items()) or "none"
        lines.append(f"- {label}: {ops}")
    return "\n".join(lines) + "\n"


def _time(argv: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=env, capture_output=True)
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return child(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=3, help="runs per command; the table gives medians")
    parser.add_argument("--out", default="", help="also write the Markdown here")
    args = parser.parse_args(argv)
    text = profile_markdown(args.size, args.repeats)
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
