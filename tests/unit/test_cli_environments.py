"""The global `--env NAME` (and DEVENV_ENV), its completion, and which engine an environment's
project connects to (devenv/cli/common.py): parsing and pure choices, no engine."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from devenv.cli import main, parse
from devenv.cli.common import environment_endpoint, laptop_applied, local_options
from devenv.engine.client import Endpoint
from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions
from devenv.model import Project
from tests.unit.test_cli_completion import complete


def test_env_is_a_global_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVENV_ENV", raising=False)
    assert parse(["--env", "prod", "config"])[1].options.env == "prod"
    assert parse(["config"])[1].options.env is None


def test_devenv_env_equals_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVENV_ENV", "stage")
    assert parse(["ps"])[1].options.env == "stage"
    assert parse(["--env", "prod", "ps"])[1].options.env == "prod"  # the option wins
    monkeypatch.setenv("DEVENV_ENV", "")
    assert parse(["ps"])[1].options.env is None


@pytest.mark.parametrize("argv, source", [(["--env", "Prod", "config"], "--env"), (["--env", "", "config"], "--env")])
def test_invalid_name_is_one_usage_line(argv: list[str], source: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("devenv: invalid environment name") and f"({source})" in err


def test_invalid_devenv_env(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("DEVENV_ENV", "prod/eu")
    assert main(["config"]) == 2
    assert "(DEVENV_ENV)" in capsys.readouterr().err


def project(env: str | None, settings: dict | None) -> Project:
    data = {"name": "p", "services": {}, "x-devenv": {"environments": {env: settings}} if env else {}}
    return dataclasses.replace(Project.from_dict(data, working_dir="/p"), env=env)


def test_the_engine_of_an_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    options = ProjectOptions(env="prod")
    assert environment_endpoint(project("prod", {"host": "tcp://prod:2376"}), options) == Endpoint(
        "tcp://prod:2376", origin="environment prod")
    assert environment_endpoint(project("prod", {}), options) is None  # no engine declared: the local one
    local = dataclasses.replace(options, local=True)
    assert environment_endpoint(project("prod", {"host": "tcp://prod:2376"}), local) is None
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    from devenv.errors import EngineError

    with pytest.raises(EngineError, match="docker context 'prod-ctx' not found"):
        environment_endpoint(project("prod", {"context": "prod-ctx"}), options)


def test_local_options() -> None:
    assert local_options(ProjectOptions(), False) == ProjectOptions()
    with pytest.raises(UsageError, match="--local needs an environment"):
        local_options(ProjectOptions(), True)
    assert local_options(ProjectOptions(env="prod"), True).local is True
    assert local_options(ProjectOptions(env="prod"), False).local is None  # laptop when prod declares no engine


def test_laptop_applied() -> None:
    laptop = {"services": {"web": {"ports": ["80"]}}}
    remote = project("prod", {"host": "tcp://prod:2376", "laptop": laptop})
    assert laptop_applied(remote, ProjectOptions(env="prod", local=True))
    assert not laptop_applied(remote, ProjectOptions(env="prod", local=None))
    assert laptop_applied(project("prod", {"laptop": laptop}), ProjectOptions(env="prod", local=None))
    assert not laptop_applied(project("prod", {"laptop": laptop}), ProjectOptions(env="prod", local=False))
    assert not laptop_applied(project("prod", {}), ProjectOptions(env="prod", local=True))


def test_completion_of_environment_names(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services: {web: {image: busybox}}\nx-devenv:\n  environments: {prod: {}, preview: {}}\n")
    (tmp_path / "compose.stage.yaml").write_text("services: {}\n")
    assert complete("devenv --env ", tmp_path) == ["preview", "prod", "stage"]
    assert complete("devenv --env pr", tmp_path) == ["preview", "prod"]
