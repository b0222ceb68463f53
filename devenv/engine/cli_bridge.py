"""Interactive sessions (`exec`, attaching to `run`) go through the docker CLI, which handles
terminals, raw mode, resizing and signals better than a re-implementation would."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from devenv.errors import EngineError


def docker_cli() -> str:
    path = shutil.which("docker")
    if not path:
        raise EngineError("the docker command-line client is needed for this command (apt-get install docker.io)")
    return path


def stdin_is_tty() -> bool:
    return sys.stdin is not None and sys.stdin.isatty()


def run_cli(args: list[str]) -> int:
    """Run `docker ARGS...` attached to our terminal; return its exit code (the container's)."""
    try:
        return subprocess.run([docker_cli(), *args], env=dict(os.environ)).returncode
    except KeyboardInterrupt:
        return 130
