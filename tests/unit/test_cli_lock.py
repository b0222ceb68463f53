"""`devenv lock` / `up --frozen` on the command line (no engine needed for these answers)."""

from __future__ import annotations

import pytest

from devenv.cli import COMMANDS, main, parse


def test_lock_is_registered_and_parses() -> None:
    assert "lock" in COMMANDS
    name, _, params = parse(["lock", "--check", "--offline", "--format", "json"])
    assert name == "lock" and params["check"] and params["offline"] and params["fmt"] == "json"
    _, _, params = parse(["lock", "--update", "web", "db"])
    assert params["update"] and params["services"] == ("web", "db")
    _, _, params = parse(["up", "--frozen", "web"])
    assert params["frozen"] and params["services"] == ("web",)


def test_services_without_update_or_check_is_one_usage_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lock", "web"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "name services with --update" in err
