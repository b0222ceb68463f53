"""The command line's grammar, Compose's: global options, then a command and its own options;
bad usage is one line on stderr and exit 2. Parsing only: nothing here runs a command."""

from __future__ import annotations

import pytest

from devenv.cli import COMMANDS, main, parse
from devenv.cli.command import HelpShown
from devenv.errors import UsageError


def test_global_options_become_the_project_options() -> None:
    _, options, _ = parse(
        ["-f", "a.yaml", "--file", "b.yaml", "-p", "demo", "--project-directory", "/srv", "--profile", "debug",
         "--profile", "tools", "--env-file", "one.env", "--env-file", "two.env", "ps"]
    )
    assert options.files == ("a.yaml", "b.yaml")
    assert options.project_name == "demo"
    assert options.project_directory == "/srv"
    assert options.profiles == ("debug", "tools")
    assert options.env_files == ("one.env", "two.env")


def test_options_may_follow_service_names_as_with_compose() -> None:
    command, _, args = parse(["up", "web", "--build", "db", "--scale", "web=2", "--scale", "db=3", "-t", "5"])
    assert command is COMMANDS_BY_NAME("up")
    assert args.services == ["web", "db"]
    assert args.build is True
    assert args.scale == ["web=2", "db=3"]
    assert args.timeout == 5


def test_everything_after_the_service_of_exec_is_the_containers_command() -> None:
    _, _, args = parse(["exec", "-T", "-e", "A=1", "-e", "B=2", "-u", "1000", "web", "ls", "-la", "--color", "-T"])
    assert (args.service, args.command) == ("web", ["ls", "-la", "--color", "-T"])
    assert args.no_tty is True and args.env == ["A=1", "B=2"] and args.user == "1000"


def test_run_takes_its_options_before_the_service_and_an_optional_command() -> None:
    _, _, args = parse(["run", "--rm", "--no-deps", "web", "--", "echo", "hi"])
    assert args.remove and args.no_deps and args.service == "web"
    assert args.command == ["echo", "hi"]  # the first `--` only separates
    _, _, dashes = parse(["run", "web", "--", "--", "x"])
    assert dashes.command == ["--", "x"]
    _, _, bare = parse(["run", "web"])
    assert bare.command == []


def test_down_flags() -> None:
    _, _, args = parse(["down", "-v", "--remove-orphans", "-t", "3", "--format", "json"])
    assert (args.volumes, args.remove_orphans, args.timeout, args.fmt) == (True, True, 3, "json")


def test_config_prints_one_list_at_a_time_the_last_asked() -> None:
    _, _, args = parse(["config", "--services", "--volumes"])
    assert args.what == "volumes"


@pytest.mark.parametrize(
    "argv, says",
    [
        (["up", "--frobnicate"], "up: unrecognized arguments: --frobnicate (see `devenv up --help`)"),
        (["-x", "up"], "unrecognized arguments: -x"),
        (["up", "--pull", "sometimes"], "invalid choice: 'sometimes'"),
        (["down", "-t", "soon"], "invalid int value: 'soon'"),
        (["ps", "--format", "yaml"], "invalid choice: 'yaml'"),
        (["dwon"], "no such command 'dwon' (did you mean 'down'?)"),
        (["frobnicate"], "no such command 'frobnicate' (commands: build, config, down,"),
        (["exec"], "the following arguments are required: SERVICE"),
        (["up", "--vol"], "unrecognized arguments: --vol"),  # no abbreviations: they break when options are added
        (["-f"], "argument -f/--file: expected one argument"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError) as info:
        parse(argv)
    assert says in str(info.value)
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("devenv: ") and says in err


def test_no_command_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("usage: devenv")


def test_help_lists_every_command_without_importing_them(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name, (_, line) in COMMANDS.items():
        assert f"  {name}" in out and line in out


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(HelpShown) as shown:
        parse([name, "--help"])
    assert shown.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: devenv {name}")
    assert COMMANDS_BY_NAME(name).help in " ".join(out.split())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("devenv, version ")


def COMMANDS_BY_NAME(name: str):  # noqa: N802 - reads like the table it looks into
    from devenv.cli import _command

    return _command(name)
