"""Shell completion through click: commands, options, the manifest's service and profile names,
driven as a shell drives it (the `_DEVENV_COMPLETE` protocol), without any engine."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

COMPOSE = """\
services:
  web:
    image: devenv/busybox:latest
  worker:
    image: devenv/busybox:latest
    profiles: [jobs]
  db:
    image: devenv/busybox:latest
    profiles: [debug]
"""


def complete(words: str, cwd: Path, shell: str = "bash") -> list[str]:
    """What `devenv` offers for the command line `words` (the cursor at its end) in `shell`."""
    env = dict(os.environ, _DEVENV_COMPLETE=f"{shell}_complete", COMP_WORDS=words,
               COMP_CWORD=str(len(words.split()) - (0 if words.endswith(" ") else 1)), PYTHONPATH=str(REPO),
               DOCKER_HOST="unix:///nonexistent/engine.sock")  # completion must never need the engine
    if shell == "fish":  # fish passes the word being typed itself
        env["COMP_CWORD"] = "" if words.endswith(" ") else words.split()[-1]
    result = subprocess.run([sys.executable, "-m", "devenv"], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    if shell == "bash":
        return [line.split(",", 1)[1] for line in result.stdout.splitlines() if "," in line]
    return result.stdout.splitlines()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return tmp_path


def test_commands_and_options(project: Path) -> None:
    completed = complete("devenv u", project)
    assert "up" in completed and all(name.startswith("u") for name in completed)
    assert "config" in complete("devenv ", project) and "completion" in complete("devenv ", project)
    assert complete("devenv up --no-d", project) == ["--no-deps"]
    assert "--project-name" in complete("devenv --pro", project)


def test_service_names_from_the_manifest(project: Path) -> None:
    assert complete("devenv up ", project) == ["db", "web", "worker"]  # profiles' services too
    assert complete("devenv logs w", project) == ["web", "worker"]
    assert complete("devenv up web ", project) == ["db", "worker"]  # not twice
    assert complete("devenv exec ", project) == ["db", "web", "worker"]
    assert complete("devenv up --exit-code-from w", project) == ["web", "worker"]


def test_profile_names(project: Path) -> None:
    assert complete("devenv --profile ", project) == ["debug", "jobs"]


def test_the_files_already_typed_are_used(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    (elsewhere / "other.yaml").write_text("services:\n  api:\n    image: x\n")
    assert complete(f"devenv -f {elsewhere / 'other.yaml'} up ", project) == ["api"]
    assert complete(f"devenv --project-directory {elsewhere} -f {elsewhere / 'other.yaml'} ps ", project) == ["api"]


def test_a_broken_or_missing_manifest_offers_nothing(tmp_path: Path) -> None:
    assert complete("devenv up ", tmp_path) == []
    (tmp_path / "compose.yaml").write_text("services: [oops\n")
    assert complete("devenv up ", tmp_path) == []


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_other_shells_get_the_names_too(project: Path, shell: str) -> None:
    out = complete("devenv up w", project, shell)
    assert any("web" in line for line in out) and any("worker" in line for line in out), out


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_prints_the_script(shell: str) -> None:
    result = subprocess.run([sys.executable, "-m", "devenv", "completion", shell], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert result.returncode == 0, result.stderr
    assert "_DEVENV_COMPLETE" in result.stdout and f"{shell}_complete" in result.stdout


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    result = subprocess.run([sys.executable, "-m", "devenv", "completion", "tcsh"], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("devenv: completion: invalid value for 'SHELL'")
