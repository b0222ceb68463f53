"""`build.platforms` on the real builder: every command that builds (`up`, `create`, `run`, `build`)
refuses several platforms without buildx the same way, in one line, before anything is made (dry
runs too); one platform, the engine's, builds and runs.

The builder is forced to the docker CLI's built-in BuildKit (Debian's docker.io 20.10, no buildx)
so that the refusal does not depend on what else the machine has."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import BUSYBOX, FOREVER, devenv, names, ok, output, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

BUILTIN = {"DEVENV_BUILDER": "buildkit"}


def _compose(directory: Path, platforms: list[str]) -> None:
    listed = ", ".join(platforms)
    write_compose(directory, f"""
        services:
          web:
            build:
              context: .
              dockerfile_inline: "FROM {BUSYBOX}\\nRUN echo built > /built\\n"
              platforms: [{listed}]
            command: {FOREVER}
    """)


@pytest.mark.parametrize(
    "command",
    [("up", "-d"), ("--dry-run", "up"), ("create",), ("build",), ("--dry-run", "build"), ("run", "--rm", "-T", "web", "true")],
    ids=lambda c: " ".join(c),
)
def test_several_platforms_are_refused_alike_before_anything_is_made(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, command: tuple[str, ...]
) -> None:
    p = project_name
    _compose(tmp_path, ["linux/amd64", "linux/arm64"])
    result = devenv(tmp_path, p, *command, env=BUILTIN)
    assert result.returncode == 2, output(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, output(result)
    assert lines[0].startswith("devenv: ") and "compose.yaml:" in lines[0], output(result)
    assert "services.web.build.platforms: 2 platforms (linux/amd64, linux/arm64)" in lines[0], output(result)
    assert "needs buildx" in lines[0] and "Traceback" not in result.stderr
    assert names(engine, p) == []
    assert engine.networks.list(filters={"label": f"com.docker.compose.project={p}"}) == []
    assert engine.images.list(name=f"{p}-web") == []


def test_one_platform_the_engines_builds_and_runs(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    version = engine.version()
    here = f"{version['Os']}/{version['Arch']}"
    _compose(tmp_path, [here])
    ok(devenv(tmp_path, p, "build", env=BUILTIN))
    image = engine.images.get(f"{p}-web")
    assert f"{image.attrs['Os']}/{image.attrs['Architecture']}" == here
    assert ok(devenv(tmp_path, p, "run", "--rm", "-T", "web", "cat", "/built", env=BUILTIN)).stdout.strip() == "built"
    ok(devenv(tmp_path, p, "up", "-d", "--build", env=BUILTIN))
    assert names(engine, p) == [f"{p}-web-1"]
