"""The `devenv` command line: thin click commands, loaded lazily so `--help` stays fast."""

from __future__ import annotations

import importlib
import os
import sys

import click

from devenv import __version__
from devenv.errors import EXIT_FAILED, EXIT_INTERRUPTED, DevenvError
from devenv.manifest.options import ProjectOptions

# command name -> "module:function"; each module is imported only when its command runs.
COMMANDS: dict[str, tuple[str, str]] = {
    "config": ("devenv.cli.config_cmd:config", "Print the resolved Compose model."),
    "up": ("devenv.cli.up_cmd:up", "Create and start the services; return once they are ready."),
    "down": ("devenv.cli.down_cmd:down", "Stop and remove containers and networks (volumes with -v)."),
    "ps": ("devenv.cli.ps_cmd:ps", "List the project's containers."),
    "logs": ("devenv.cli.logs_cmd:logs", "Show the services' output."),
    "exec": ("devenv.cli.exec_cmd:exec_", "Run a command in a running container."),
    "run": ("devenv.cli.run_cmd:run", "Run a one-off command in a new container."),
    "build": ("devenv.cli.images_cmds:build", "Build the services' images."),
    "pull": ("devenv.cli.images_cmds:pull", "Pull the services' images."),
    "stop": ("devenv.cli.lifecycle_cmds:stop", "Stop containers without removing them."),
    "start": ("devenv.cli.lifecycle_cmds:start", "Start existing containers."),
    "restart": ("devenv.cli.lifecycle_cmds:restart", "Restart containers."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        target, _ = COMMANDS[name]
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every command module.
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Compose file (repeatable).")
@click.option("-p", "--project-name", "project_name", metavar="NAME", help="Project name.")
@click.option("--project-directory", metavar="DIR", help="Project directory (default: the first file's).")
@click.option("--profile", "profiles", multiple=True, metavar="PROFILE", help="Enable a profile (repeatable).")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE", help="Environment file (repeatable).")
@click.version_option(__version__, "--version", prog_name="devenv")
@click.pass_context
def cli(ctx: click.Context, files, project_name, project_directory, profiles, env_files) -> None:
    """devenv: a production-identical environment from a Compose file, in one command."""
    ctx.obj = ProjectOptions(
        files=tuple(files),
        project_name=project_name,
        project_directory=project_directory,
        profiles=tuple(profiles),
        env_files=tuple(env_files),
    )


def main(argv: list[str] | None = None) -> int:
    try:
        rv = cli.main(args=argv, prog_name="devenv", standalone_mode=False)
    except DevenvError as exc:
        click.echo(f"devenv: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("devenv: interrupted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        click.echo("devenv: interrupted", err=True)
        return EXIT_INTERRUPTED
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        if os.environ.get("DEVENV_DEBUG"):
            raise
        click.echo(f"devenv: internal error: {type(exc).__name__}: {exc} (set DEVENV_DEBUG=1 for the traceback)", err=True)
        return EXIT_FAILED
    return rv if isinstance(rv, int) else 0


def run() -> None:
    """The console script: main(), then leave at once (the work is done and flushed; skipping the
    interpreter's teardown saves a noticeable share of a quick command's time)."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        code = code or EXIT_FAILED
    os._exit(code)


if __name__ == "__main__":
    sys.exit(main())
