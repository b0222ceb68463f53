"""The command line's grammar, Compose's: global options, then a command and its own options;
bad usage is one line on stderr and exit 2. Parsing only: nothing here runs a command."""

from __future__ import annotations

import sys

import pytest

from devenv.cli import COMMANDS, cli, main, parse, suggest


def test_global_options_become_the_globals() -> None:
    _, g, _ = parse(
        ["-f", "a.yaml", "--file", "b.yaml", "-p", "demo", "--project-directory", "/srv", "--profile", "debug",
         "--profile", "tools", "--env-file", "one.env", "--env-file", "two.env", "--dry-run", "--ansi", "never",
         "--progress", "plain", "--parallel", "4", "ps"]
    )
    options = g.options
    assert options.files == ("a.yaml", "b.yaml")
    assert options.project_name == "demo"
    assert options.project_directory == "/srv"
    assert options.profiles == ("debug", "tools")
    assert options.env_files == ("one.env", "two.env")
    assert (g.dry_run, g.ansi, g.progress, g.parallel) == (True, "never", "plain", 4)


def test_global_defaults() -> None:
    _, g, _ = parse(["ps"])
    assert (g.dry_run, g.ansi, g.progress, g.parallel) == (False, "auto", "auto", -1)


def test_options_may_follow_service_names_as_with_compose() -> None:
    name, _, args = parse(["up", "web", "--build", "db", "--scale", "web=2", "--scale", "db=3", "-t", "5"])
    assert name == "up"
    assert args["services"] == ("web", "db")
    assert args["build"] is True
    assert args["scale"] == ("web=2", "db=3")
    assert args["timeout"] == 5


def test_everything_after_the_service_of_exec_is_the_containers_command() -> None:
    _, _, args = parse(["exec", "-T", "-e", "A=1", "-e", "B=2", "-u", "1000", "web", "ls", "-la", "--color", "-T"])
    assert (args["service"], args["command"]) == ("web", ("ls", "-la", "--color", "-T"))
    assert args["no_tty"] is True and args["env"] == ("A=1", "B=2") and args["user"] == "1000"


def test_exec_is_interactive_by_default_and_takes_combined_short_flags() -> None:
    _, _, plain = parse(["exec", "web", "sh"])
    assert plain["interactive"] is True and plain["tty"] is False
    _, _, combined = parse(["exec", "-it", "--index", "2", "web", "sh"])
    assert combined["interactive"] and combined["tty"] and combined["index"] == 2


def test_run_takes_its_options_before_the_service_and_an_optional_command() -> None:
    from devenv.cli.command import strip_separator

    _, _, args = parse(["run", "--rm", "--no-deps", "web", "--", "echo", "hi"])
    assert args["remove"] and args["no_deps"] and args["service"] == "web"
    assert strip_separator(args["command"]) == ["echo", "hi"]  # the first `--` only separates
    _, _, dashes = parse(["run", "web", "--", "--", "x"])
    assert strip_separator(dashes["command"]) == ["--", "x"]
    _, _, bare = parse(["run", "web"])
    assert bare["command"] == ()


def test_down_flags() -> None:
    _, _, args = parse(["down", "-v", "--remove-orphans", "-t", "3", "--format", "json"])
    assert (args["volumes"], args["remove_orphans"], args["timeout"], args["fmt"]) == (True, True, 3, "json")


def test_config_prints_one_list_at_a_time_the_last_asked() -> None:
    _, _, args = parse(["config", "--services", "--volumes"])
    assert args["what"] == "volumes"


@pytest.mark.parametrize(
    "argv, says",
    [
        (["up", "--frobnicate"], "devenv: up: unrecognized arguments: --frobnicate (see `devenv up --help`)"),
        (["-x", "up"], "devenv: unrecognized arguments: -x (see `devenv --help`)"),
        (["up", "--pull", "sometimes"], "up: invalid value for '--pull': 'sometimes' is not one of"),
        (["down", "-t", "soon"], "down: invalid value for '-t' / '--timeout': 'soon' is not a valid integer"),
        (["down", "--format", "yaml"], "down: invalid value for '--format': 'yaml' is not one of 'table', 'json'"),
        (["ps", "--format", "{{.Nope}}"], "devenv: template: '{{.Nope}}': can't evaluate field Nope"),
        (["up", "-d", "--attach", "web"], "--detach cannot be combined with --abort-on-container-exit"),
        (["up", "--no-recreate", "-V"], "--no-recreate and --renew-anon-volumes are incompatible"),
        (["logs", "--index", "2"], "logs: --index needs exactly one SERVICE"),
        (["dwon"], "devenv: no such command 'dwon' (did you mean 'down'?)"),
        (["confg"], "devenv: no such command 'confg' (did you mean 'config'?)"),
        (["frobnicate"], "no such command 'frobnicate' (commands: "),
        (["exec"], "devenv: exec: missing argument 'SERVICE' (see `devenv exec --help`)"),
        (["up", "--vol"], "unrecognized arguments: --vol"),  # no abbreviations: they break when options are added
        (["-f"], "devenv: option '-f' requires an argument (see `devenv --help`)"),
        (["--ansi", "sometimes", "ps"], "invalid value for '--ansi'"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(argv: list[str], says: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.startswith("devenv: ") and says in err, err


@pytest.mark.parametrize(
    "word, meant",
    [("dwon", "down"), ("confg", "config"), ("stp", "stop"), ("biuld", "build"), ("restrat", "restart"),
     ("top", None), ("ls", None), ("pss", "ps"), ("xyz", None), ("pul", "pull"), ("sotp", "stop")],
)
def test_did_you_mean_only_for_near_misses(word: str, meant: str | None) -> None:
    names = [n for n in COMMANDS if n not in ("top", "ls")] + ["stats"]
    assert suggest(word, names) == meant


def test_a_word_one_letter_from_a_command_but_starting_differently_is_not_suggested(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["xtop"]) == 2  # one edit from `stop`, as `top` is
    err = capsys.readouterr().err
    assert "did you mean" not in err and "commands: " in err


def test_no_command_prints_the_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("Usage: devenv")


def test_help_lists_every_command_without_importing_them(capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess

    code = (
        "import sys; from devenv.cli import main; main(['--help']);"
        "bad = [m for m in sys.modules if m.endswith('_cmd') or m.endswith('_cmds') or m.split('.')[0] in"
        " ('docker', 'python_on_whales') or m.startswith('devenv.engine')]; print('IMPORTED', bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "IMPORTED []" in out
    for name, (_, line) in COMMANDS.items():
        assert f"  {name}" in out and line in " ".join(out.split())


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Usage: devenv {name}")
    command = cli.get_command(None, name)  # type: ignore[arg-type]
    assert " ".join(command.help.split()) in " ".join(out.split())


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("devenv, version ")


@pytest.mark.parametrize("mode, env, expected", [("always", {"NO_COLOR": "1"}, True), ("never", {}, False)])
def test_ansi_always_and_never_override_the_terminal_test(mode: str, env: dict[str, str], expected: bool,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from devenv.cli import output

    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(output, "ANSI", "auto")
    parse(["--ansi", mode, "ps"])  # the root group applies it
    try:
        assert output.use_color() is expected
        assert (output.style("x", "red") != "x") is expected
    finally:
        output.ANSI = "auto"


def test_compose_options_of_the_existing_commands_parse() -> None:
    _, _, up = parse(["up", "--attach", "web", "--no-attach", "db", "-V", "--no-start", "--quiet-pull", "-y", "--wait",
                      "--exit-code-from", "web", "--wait-timeout", "5"])
    assert up["attach"] == ("web",) and up["no_attach"] == ("db",) and up["renew_anon_volumes"] and up["no_start"]
    assert up["exit_code_from"] == "web" and up["wait_timeout"] == 5.0
    _, _, ps = parse(["ps", "--status", "running", "--status", "exited", "--format", "{{.Name}}", "--no-trunc"])
    assert ps["status"] == ("running", "exited") and ps["fmt"] == "{{.Name}}" and ps["no_trunc"]
    _, _, logs = parse(["logs", "--no-log-prefix", "--until", "5m", "--index", "2", "-n", "3", "web"])
    assert logs["no_log_prefix"] and logs["until"] == "5m" and logs["index"] == 2 and logs["tail"] == "3"
    _, _, down = parse(["down", "--rmi", "local"])
    assert down["rmi"] == "local"
    _, _, build = parse(["build", "--build-arg", "A=1", "--build-arg", "B", "-q"])
    assert build["build_args"] == ("A=1", "B") and build["quiet"]
    _, _, run = parse(["run", "-v", "./a:/a", "-v", "/b", "-p", "8080:80", "-P", "-l", "k=v", "--cap-add", "NET_ADMIN",
                       "-it", "app", "sh"])
    assert run["volume"] == ("./a:/a", "/b") and run["publish"] == ("8080:80",) and run["service_ports"]
    assert run["label"] == ("k=v",) and run["cap_add"] == ("NET_ADMIN",) and run["interactive"] and run["tty"]
    _, _, config = parse(["config", "--hash", "*", "--no-interpolate", "-o", "out.yaml"])
    assert config["hash_of"] == "*" and config["no_interpolate"] and config["output"] == "out.yaml"


def test_env_pairs_take_bare_keys_from_the_environment() -> None:
    from devenv.cli.command import env_pairs

    assert env_pairs(["A=1", "B", "C"], lookup={"B": "two"}) == ["A=1", "B=two"]
    with pytest.raises(Exception, match="use KEY=VALUE"):
        env_pairs(["=x"])


def test_parallel_sets_the_executors_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    import devenv.engine.executor as executor
    from devenv.cli.command import engine_settings

    monkeypatch.setattr(executor, "MAX_WORKERS", executor.MAX_WORKERS)
    _, g, _ = parse(["--parallel", "3", "down"])
    engine_settings(g)
    assert executor.MAX_WORKERS == 3
