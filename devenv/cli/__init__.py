"""The `devenv` command line: global options, then one command whose module is imported only when
it runs, so `--help` and the quick commands stay fast."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from devenv import __version__
from devenv.cli.command import Command, HelpShown, Parser, help_width
from devenv.cli.common import echo
from devenv.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, DevenvError, UsageError
from devenv.manifest.options import ProjectOptions

# command name -> ("module:attribute" of its Command, the line `devenv --help` shows)
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("devenv.cli.config_cmd:CONFIG", "Print the resolved Compose model."),
    "up": ("devenv.cli.up_cmd:UP", "Create and start the services; return once they are ready."),
    "down": ("devenv.cli.down_cmd:DOWN", "Stop and remove containers and networks (volumes with -v)."),
    "ps": ("devenv.cli.ps_cmd:PS", "List the project's containers."),
    "logs": ("devenv.cli.logs_cmd:LOGS", "Show the services' output."),
    "exec": ("devenv.cli.exec_cmd:EXEC", "Run a command in a running container."),
    "run": ("devenv.cli.run_cmd:RUN", "Run a one-off command in a new container."),
    "build": ("devenv.cli.images_cmds:BUILD", "Build the services' images."),
    "pull": ("devenv.cli.images_cmds:PULL", "Pull the services' images."),
    "stop": ("devenv.cli.lifecycle_cmds:STOP", "Stop containers without removing them."),
    "start": ("devenv.cli.lifecycle_cmds:START", "Start existing containers."),
    "restart": ("devenv.cli.lifecycle_cmds:RESTART", "Restart containers."),
}

DESCRIPTION = "devenv: a production-identical environment from a Compose file, in one command."


def _global_parser() -> Parser:
    parser = Parser(
        "devenv", DESCRIPTION, usage="devenv [OPTIONS] COMMAND [ARGS]...",
        epilog="commands:\n" + "\n".join(f"  {name:<9} {line}" for name, (_, line) in sorted(COMMANDS.items()))
        + "\n\nRun `devenv COMMAND --help` for a command's options.",
    )
    parser.formatter_class = lambda prog: argparse.RawDescriptionHelpFormatter(prog, max_help_position=32, width=help_width())
    parser.add_argument("-f", "--file", dest="files", action="append", default=[], metavar="FILE", help="Compose file (repeatable).")
    parser.add_argument("-p", "--project-name", metavar="NAME", help="Project name.")
    parser.add_argument("--project-directory", metavar="DIR", help="Project directory (default: the first file's).")
    parser.add_argument("--profile", dest="profiles", action="append", default=[], metavar="PROFILE", help="Enable a profile (repeatable).")
    parser.add_argument("--env-file", dest="env_files", action="append", default=[], metavar="FILE", help="Environment file (repeatable).")
    parser.add_argument("--version", action="version", version=f"devenv, version {__version__}", help="Show the version and exit.")
    parser.add_argument("command", nargs="?", metavar="COMMAND", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return parser


def _command(name: str) -> Command:
    module_name, attr = COMMANDS[name][0].split(":")
    return getattr(importlib.import_module(module_name), attr)


def parse(argv: list[str]) -> tuple[Command, ProjectOptions, argparse.Namespace]:
    """The command line as the command to run, the project options and the command's arguments."""
    parser = _global_parser()
    given = parser.parse_args(argv)
    if given.command is None:
        parser.print_help(sys.stderr)
        raise HelpShown(EXIT_USAGE)
    if given.command not in COMMANDS:
        import difflib

        close = difflib.get_close_matches(given.command, COMMANDS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"commands: {', '.join(sorted(COMMANDS))}"
        raise UsageError(f"no such command {given.command!r} ({hint})")
    command = _command(given.command)
    sub = Parser(f"devenv {given.command}", command.help)
    command.arguments(sub)
    args = sub.parse_intermixed_args(given.args) if command.intermixed else sub.parse_args(given.args)
    options = ProjectOptions(
        files=tuple(given.files),
        project_name=given.project_name,
        project_directory=given.project_directory,
        profiles=tuple(given.profiles),
        env_files=tuple(given.env_files),
    )
    return command, options, args


def _dispatch(argv: list[str]) -> int:
    command, options, args = parse(argv)
    code = command.run(options, args)
    return code if isinstance(code, int) else 0


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except HelpShown as shown:
        return shown.code
    except DevenvError as exc:
        echo(f"devenv: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        echo("devenv: interrupted", err=True)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `devenv ps | head`: the reader has gone, which is no error of ours
        return 0
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        if os.environ.get("DEVENV_DEBUG"):
            raise
        echo(f"devenv: internal error: {type(exc).__name__}: {exc} (set DEVENV_DEBUG=1 for the traceback)", err=True)
        return EXIT_FAILED


def run() -> None:
    """The console script: main(), then leave at once (the work is done and flushed; skipping the
    interpreter's teardown saves a noticeable share of a quick command's time)."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    except (OSError, ValueError):
        code = code or EXIT_FAILED
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
