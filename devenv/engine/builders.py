"""Which builder a build goes through, found once per command.

1. buildx, where a docker CLI has it (`docker buildx version` works), with its default builder;
2. else a docker CLI whose built-in BuildKit client works with DOCKER_BUILDKIT=1: CLIs before 23.0
   (from 23.0 on, DOCKER_BUILDKIT=1 needs the buildx plugin);
3. else the engine's classic builder through the Engine API.

`DEVENV_BUILDER=buildx|buildkit|classic` forces one (`auto`, the default, picks as above);
`DEVENV_DOCKER_CLI=/path/to/docker` names the CLI to use instead of every `docker` on PATH.
"""

from __future__ import annotations

import os
import re
import subprocess
import threading
from collections.abc import Mapping

from devenv.engine.buildcmd import BUILDKIT, BUILDX, CLASSIC, Builder
from devenv.errors import UsageError

CHOICES = ("auto", BUILDX, BUILDKIT, CLASSIC)
PROBE_TIMEOUT = 10.0

_lock = threading.Lock()
_found: dict[tuple[str, str, str], Builder] = {}


def candidates(environ: Mapping[str, str]) -> list[str]:
    """The docker CLIs to try: DEVENV_DOCKER_CLI, else every `docker` on PATH (first one first)."""
    named = environ.get("DEVENV_DOCKER_CLI")
    if named:
        return [named]
    out, seen = [], set()
    for directory in (environ.get("PATH") or os.defpath).split(os.pathsep):
        path = os.path.join(directory or ".", "docker")
        if os.path.isfile(path) and os.access(path, os.X_OK):
            real = os.path.realpath(path)
            if real not in seen:
                seen.add(real)
                out.append(path)
    return out


def cli_version(output: str) -> str | None:
    """`Docker version 20.10.24+dfsg1, build 297e128` -> `20.10.24+dfsg1`."""
    match = re.search(r"version\s+v?([0-9]+\.[0-9]+[^\s,]*)", output)
    return match.group(1) if match else None


def major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return 0


def builtin_buildkit(version: str) -> bool:
    """A CLI whose own BuildKit client answers DOCKER_BUILDKIT=1: 18.09 up to (not including) 23.0."""
    parts = [int(p) for p in re.findall(r"\d+", version)[:2]] + [0, 0]
    return (parts[0], parts[1]) >= (18, 9) and parts[0] < 23


def _run(args: list[str], environ: Mapping[str, str]) -> subprocess.CompletedProcess[str] | None:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=PROBE_TIMEOUT, env=dict(environ), stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return None


def _has_buildx(cli: str, environ: Mapping[str, str]) -> bool:
    from python_on_whales import DockerClient
    from python_on_whales.exceptions import DockerException

    try:
        DockerClient(client_call=[cli]).buildx.version()
    except (DockerException, OSError, ValueError):
        return False
    return True


def detect(environ: Mapping[str, str] | None = None) -> Builder:
    """The builder to use (cached for the command's lifetime)."""
    environ = os.environ if environ is None else environ
    choice = (environ.get("DEVENV_BUILDER") or "auto").strip().lower()
    if choice not in CHOICES:
        raise UsageError(f"DEVENV_BUILDER={choice!r}: use one of {', '.join(CHOICES)}")
    key = (choice, environ.get("DEVENV_DOCKER_CLI") or "", environ.get("PATH") or "")
    with _lock:
        if key not in _found:
            _found[key] = _detect(choice, environ)
        return _found[key]


def _detect(choice: str, environ: Mapping[str, str]) -> Builder:
    if choice == CLASSIC:
        return Builder(CLASSIC)
    versions: dict[str, str] = {}
    for cli in candidates(environ):
        done = _run([cli, "--version"], environ)
        version = cli_version(done.stdout) if done is not None and done.returncode == 0 else None
        if version:
            versions[cli] = version
    if choice in ("auto", BUILDX):
        for cli, version in versions.items():
            if _has_buildx(cli, environ):
                return Builder(BUILDX, cli, version)
    if choice in ("auto", BUILDKIT):
        for cli, version in versions.items():
            if builtin_buildkit(version):
                return Builder(BUILDKIT, cli, version)
    if choice == "auto":
        return Builder(CLASSIC)
    tried = ", ".join(f"{c} {v}" for c, v in versions.items()) or "no docker CLI found"
    need = "the buildx plugin" if choice == BUILDX else "a docker CLI before 23.0 (its built-in BuildKit client)"
    raise UsageError(f"DEVENV_BUILDER={choice} needs {need}; tried: {tried}")
