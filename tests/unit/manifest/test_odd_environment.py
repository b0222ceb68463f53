"""Odd values of the variables devenv reads give one clear line or a documented fallback, never
an internal error: DEVENV_* (cache, publish host, lock folder, builder, docker CLI, debug) and
COMPOSE_PATH_SEPARATOR. (COMPOSE_FILE is checked against Compose in test_bounded_reads.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.errors import DevenvError

REPO = Path(__file__).resolve().parents[3]
ODD = ["", " ", "\x01", os.devnull, "relative", "x" * 5000, "a\nb", "é", "/", "0", "-1", "${X}"]
VARIABLES = [
    "DEVENV_NO_CACHE", "DEVENV_PUBLISH_HOST", "DEVENV_LOCK_DIR", "DEVENV_BUILDER", "DEVENV_DOCKER_CLI",
    "DEVENV_DEBUG", "COMPOSE_PATH_SEPARATOR", "COMPOSE_PROFILES", "COMPOSE_PROJECT_NAME",
]


@pytest.mark.parametrize("variable", VARIABLES)
def test_config_never_fails_internally(tmp_path: Path, variable: str) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n    ports: ['8080']\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DEVENV_"))}
    base.update(PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "cache"))
    for value in ODD:
        proc = subprocess.run(
            [sys.executable, "-m", "devenv", "config", "-q"],
            cwd=tmp_path, env={**base, variable: value}, capture_output=True, text=True, timeout=60,
        )
        assert "internal error" not in proc.stderr and "Traceback" not in proc.stderr, (variable, value, proc.stderr)
        if proc.returncode:
            assert proc.stderr.startswith("devenv: ") and proc.stderr.count("\n") == 1, (variable, value, proc.stderr)


@pytest.mark.parametrize("value", ODD)
def test_lock_dir_values_give_a_folder_or_one_line(tmp_path: Path, monkeypatch, value: str) -> None:
    from devenv.engine import lock

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(lock.LOCK_DIR_ENV, value)
    try:
        folder = lock.lock_dir()
    except DevenvError as exc:
        assert str(exc).startswith(lock.LOCK_DIR_ENV)
    else:
        assert os.path.isdir(folder)
    assert len(lock.lock_name("unix:///var/run/docker.sock", "p" * 300)) < 100


@pytest.mark.parametrize("value", ODD)
def test_builder_values_give_a_builder_or_one_line(value: str) -> None:
    from devenv.engine import builders

    for variable in ("DEVENV_BUILDER", "DEVENV_DOCKER_CLI"):
        environ = {"PATH": os.environ.get("PATH", ""), variable: value}
        try:
            builders.detect(environ)
        except DevenvError as exc:
            assert str(exc)


@pytest.mark.parametrize("value", ODD)
def test_publish_host_values_give_an_address_or_one_line(monkeypatch, value: str) -> None:
    from devenv.cli.common import PUBLISH_HOST_ENV, publish_host

    class Project:
        x_devenv: dict = {}

    monkeypatch.setenv(PUBLISH_HOST_ENV, value)
    try:
        host = publish_host(Project())  # type: ignore[arg-type]
    except DevenvError as exc:
        assert str(exc)
    else:
        assert host == "127.0.0.1" if value == "" else host == value
