"""`devenv deploy`'s command line: its options, and `--rm` by project name without a Compose file."""

from __future__ import annotations

from pathlib import Path

import click
import pytest

from devenv.cli import main, parse


def test_options_parse() -> None:
    name, _, params = parse(["deploy", "--rm", "-d", "--wait-timeout", "5", "--format", "json"])
    assert name == "deploy"
    assert params == {"remove": True, "detach": True, "wait_timeout": 5.0, "fmt": "json"}
    assert parse(["deploy"])[2] == {"remove": False, "detach": False, "wait_timeout": 120.0, "fmt": "table"}


def test_a_negative_timeout_is_a_usage_error() -> None:
    with pytest.raises(click.BadParameter):
        parse(["deploy", "--wait-timeout", "-1"])


def test_deploy_without_a_compose_file_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COMPOSE_PROJECT_NAME", raising=False)
    monkeypatch.delenv("COMPOSE_FILE", raising=False)
    assert main(["deploy"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("devenv: ")


def test_rm_needs_only_the_project_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from devenv.cli import deploy_cmd
    from devenv.cli.command import Globals
    from devenv.manifest.options import ProjectOptions

    monkeypatch.chdir(tmp_path)
    g = Globals(options=ProjectOptions(project_name="shop", cwd=str(tmp_path)))
    assert deploy_cmd._stack_name(g, remove=True) == (None, "shop")
