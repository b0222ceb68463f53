"""Where `down` spends its time, seen from the engine: a timeline of its container events.

    python -m benchmarks.down_timeline --size 30 --rounds 3

For devenv (as users install it, `install.py`) and Compose v2 in turn: bring up the `up_stack.py`
stack, subscribe to the project's events, run `down -v`, and report when the first `kill` came
(the client's own start-up: interpreter, reading the file, observing), when the last process died
(`die`), and when the last container was gone (`destroy`): the rest is the engine's clean-up.
Medians over the rounds, seconds from the moment the command was started.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_config import clean_env, compose_binary  # noqa: E402
from benchmarks.install import user_install  # noqa: E402
from benchmarks.up_stack import write_stack  # noqa: E402

MARKS = ("kill", "die", "destroy")


def timeline(command: list[str], project: str) -> dict[str, float]:
    """Seconds from the start of `command` to the first kill, the last die and the last destroy."""
    events = subprocess.Popen(
        ["docker", "events", "--format", "{{json .}}", "--filter", f"label=com.docker.compose.project={project}"],
        stdout=subprocess.PIPE, text=True,
    )
    seen: list[tuple[float, str]] = []
    reader = threading.Thread(
        target=lambda: seen.extend((time.monotonic(), json.loads(line).get("Action", "")) for line in events.stdout or ()),
        daemon=True,
    )
    reader.start()
    time.sleep(0.5)  # the subscription is in place
    start = time.monotonic()
    subprocess.run(command, capture_output=True, env=clean_env(), check=True)
    took = time.monotonic() - start
    time.sleep(0.5)
    events.terminate()
    reader.join(timeout=5)
    at = {mark: [t - start for t, action in seen if action == mark] for mark in MARKS}
    return {"first kill": min(at["kill"], default=float("nan")), "last die": max(at["die"], default=float("nan")),
            "last destroy": max(at["destroy"], default=float("nan")), "command": took}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    stack = write_stack(args.size, Path(__file__).resolve().parent / "out" / f"timeline-{args.size}")
    tools = {"devenv": ([str(user_install())], ("up",)), "compose": ([str(compose_binary())], ("up", "-d", "--wait"))}
    results: dict[str, list[dict[str, float]]] = {name: [] for name in tools}
    for _ in range(args.rounds):
        for name, (binary, up) in tools.items():
            project = f"timeline-{name}"
            base = [*binary, "-f", str(stack), "-p", project]
            subprocess.run([*base, *up], capture_output=True, env=clean_env(), check=True)
            time.sleep(2)  # health probes settle into their rhythm
            results[name].append(timeline([*base, "down", "-v"], project))
    print(f"`down -v` of {args.size} services, medians of {args.rounds} rounds (seconds from the command's start)")
    print("| tool | first kill | last die | last destroy | command |")
    print("|---|---:|---:|---:|---:|")
    for name, rounds in results.items():
        cells = [statistics.median(r[key] for r in rounds) for key in ("first kill", "last die", "last destroy", "command")]
        print(f"| {name} | " + " | ".join(f"{c:.2f}" for c in cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
