"""`config --variables`, `--no-interpolate`, `--environment`, `--hash`, `-o`, compared with the
Compose binary where it prints the same thing (no engine needed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.cli.rawmodel import Variable, extract_variables, variables_in

REPO = Path(__file__).resolve().parents[2]

COMPOSE = """\
services:
  web:
    image: devenv/busybox:${TAG:-latest}
    environment:
      A: ${A_VAL}
      B: ${B_VAL:?must be set}
      C: ${C_VAL-dflt}
      D: ${D_VAL:+alt}
      E: $PLAIN
  db:
    image: devenv/busybox:latest
    command: echo $$HOME
"""


def devenv(cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devenv", *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def compose(compose_bin: str, cwd: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([compose_bin, *args], cwd=cwd, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    return tmp_path


def test_variables_in_strings() -> None:
    found = list(variables_in("a ${X:-${Y}} $Z $$NOT ${R:?bad} ${P+yes}"))
    assert Variable("Y") in found and Variable("X", default="${Y}") in found and Variable("Z") in found
    assert Variable("R", required=True) in found and Variable("P", presence="yes") in found
    assert all(v.name != "NOT" for v in found)
    assert extract_variables({"k": ["$A", {"${B:-b}": 1}]}) == {"A": Variable("A"), "B": Variable("B", default="b")}


def test_variables_as_compose(project: Path, compose_bin: str) -> None:
    mine = json.loads(devenv(project, "config", "--variables", "--format", "json").stdout)
    theirs = json.loads(compose(compose_bin, project, "config", "--variables", "--format", "json").stdout)
    assert mine == theirs
    table = devenv(project, "config", "--variables").stdout.splitlines()
    assert table[0].split() == ["NAME", "REQUIRED", "DEFAULT", "VALUE", "ALTERNATE", "VALUE"]
    assert sorted(table[1:]) == sorted(compose(compose_bin, project, "config", "--variables").stdout.splitlines()[1:])


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_no_interpolate_as_compose(project: Path, compose_bin: str, fmt: str) -> None:
    mine = devenv(project, "config", "--no-interpolate", "--format", fmt)
    assert mine.returncode == 0, mine.stderr  # B_VAL is required, yet not interpolating needs no value
    theirs = compose(compose_bin, project, "config", "--no-interpolate", "--format", fmt).stdout
    if fmt == "json":
        assert json.loads(mine.stdout) == json.loads(theirs)
    else:
        assert mine.stdout == theirs


def test_environment_and_output(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    env = {"B_VAL": "set", "COMPOSE_PROJECT_NAME": "envdemo"}
    lines = devenv(project, "config", "--environment", env=env).stdout.splitlines()
    assert "B_VAL=set" in lines and "COMPOSE_PROJECT_NAME=envdemo" in lines and lines == sorted(lines)
    out = tmp_path_factory.mktemp("out") / "model.yaml"
    result = devenv(project, "config", "-o", str(out), env=env)
    assert result.returncode == 0 and result.stdout == ""
    assert out.read_text() == devenv(project, "config", env=env).stdout


def test_hash_as_compose(project: Path, compose_bin: str) -> None:
    """Needs devenv.plan.composehash (the lead's, merged on main): `name hash` lines as Compose's."""
    env = {"B_VAL": "set"}
    mine = devenv(project, "config", "--hash", "*", env=env)
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout == compose(compose_bin, project, "config", "--hash", "*", env=env).stdout
    assert devenv(project, "config", "--hash", "web", env=env).stdout == \
        compose(compose_bin, project, "config", "--hash", "web", env=env).stdout
    assert devenv(project, "config", "--hash", "nosuch", env=env).returncode == 2
