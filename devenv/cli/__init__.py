"""The `devenv` command line (click): global options, then one command whose module is imported
only when it runs, so `--help` and the quick commands stay fast. See CLI-CONTRACT.md."""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

import click

from devenv import __version__
from devenv.cli.command import Globals, complete_environments, complete_profiles, project_options
from devenv.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, DevenvError

# command name -> ("module:attribute" of its click.Command, the line `devenv --help` shows)
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
    "completion": ("devenv.cli.completion_cmd:completion", "Print the shell completion script (bash, zsh, fish)."),
    "version": ("devenv.cli.version_cmd:version", "Show devenv's version."),
    "ls": ("devenv.cli.ls_cmd:ls", "List the Compose projects on the engine."),
    "top": ("devenv.cli.inspect_cmds:top", "Show the processes running in the containers."),
    "port": ("devenv.cli.inspect_cmds:port", "Print the host address published for a container's port."),
    "images": ("devenv.cli.inspect_cmds:images", "List the images the containers use."),
    "kill": ("devenv.cli.control_cmds:kill", "Send a signal (default SIGKILL) to the running containers."),
    "rm": ("devenv.cli.control_cmds:rm", "Remove stopped containers."),
    "pause": ("devenv.cli.control_cmds:pause", "Pause the running containers."),
    "unpause": ("devenv.cli.control_cmds:unpause", "Unpause the paused containers."),
    "stats": ("devenv.cli.stats_cmd:stats", "Show the containers' resource usage."),
    "events": ("devenv.cli.monitor_cmds:events", "Follow the containers' events."),
    "wait": ("devenv.cli.monitor_cmds:wait", "Block until containers exit; exit with the first one's code."),
    "create": ("devenv.cli.create_cmd:create", "Create the services' containers without starting them."),
    "attach": ("devenv.cli.attach_cmd:attach", "Attach to a service's running container."),
    "cp": ("devenv.cli.cp_cmd:cp", "Copy files between a container and the host."),
    "lock": ("devenv.cli.lock_cmd:lock", "Pin the services' digests, bases and config in the lock file; --check compares."),
    "snapshot": ("devenv.cli.snapshot_cmd:snapshot", "Write the project's named volumes to a snapshot file or a registry."),
    "restore": ("devenv.cli.snapshot_cmd:restore", "Write a snapshot back into the project's named volumes."),
    "push": ("devenv.cli.push_cmd:push", "Push the services' images to the environment's registry; record their digests."),
    "diff": ("devenv.cli.diff_cmd:diff", "Compare two environments, a lock file or an engine; exit 1 on drift."),
    "export": ("devenv.cli.export_cmd:export", "Export the manifest to another format (kubernetes)."),
    "deploy": ("devenv.cli.deploy_cmd:deploy", "Deploy the manifest to a Docker swarm as a stack; --rm removes it."),
    "watch": ("devenv.cli.watch_cmd:watch", "Bring the services up, then sync/rebuild/restart them as files change."),
    "doctor": ("devenv.cli.doctor_cmd:doctor", "Check the engine, ports, disk, inotify, registry and clock; exit 1 if `up` is blocked."),
    "dashboard": ("devenv.cli.dashboard_cmd:dashboard", "Serve a local web page of the services: state, logs, restart/stop."),
    "init": ("devenv.cli.init_cmd:init", "List the project templates, or write one into a folder (graphite, web-postgres, web-redis)."),
}

DESCRIPTION = "devenv: a production-identical environment from a Compose file, in one command."
COMPLETE_VAR = "_DEVENV_COMPLETE"


def _distance(a: str, b: str) -> int:
    """Edit distance where swapping two neighbouring letters is one edit (`dwon` -> `down`)."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def suggest(word: str, names: list[str] | tuple[str, ...] | Any) -> str | None:
    """The command `word` was surely meant to be, or None. Only near misses: one edit (two for long
    names), and the same first letter unless the first two are swapped, so `top` never suggests
    `stop` and `ls` never `ps`."""
    best: tuple[int, str] | None = None
    for name in sorted(names):
        same_start = word[:1] == name[:1] or (len(word) > 1 and word[:2] == name[1::-1])
        if not same_start:
            continue
        distance = _distance(word, name)
        if distance <= (2 if min(len(word), len(name)) >= 6 else 1) and (best is None or distance < best[0]):
            best = (distance, name)
    return best[1] if best else None


class LazyGroup(click.Group):
    """The root: commands from COMMANDS, imported on use; `--help` lists them from their help lines."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module_name, attr = COMMANDS[cmd_name][0].split(":")
        return getattr(importlib.import_module(module_name), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]) -> Any:
        name = args[0]
        if name not in COMMANDS and not ctx.resilient_parsing:
            if name.startswith("-"):
                raise click.NoSuchOption(name, ctx=ctx)
            close = suggest(name, COMMANDS)
            hint = f"did you mean {close!r}?" if close else f"commands: {', '.join(sorted(COMMANDS))}"
            raise click.UsageError(f"no such command {name!r} ({hint})", ctx)
        return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])


@click.group(
    "devenv", cls=LazyGroup, help=DESCRIPTION,
    epilog="Run `devenv COMMAND --help` for a command's options.",
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option("-f", "--file", "files", multiple=True, metavar="FILE", help="Compose file (repeatable).")
@click.option("-p", "--project-name", metavar="NAME", help="Project name.")
@click.option("--project-directory", metavar="DIR", help="Project directory (default: the first file's).")
@click.option("--profile", "profiles", multiple=True, metavar="PROFILE", shell_complete=complete_profiles,
              help="Enable a profile (repeatable).")
@click.option("--env-file", "env_files", multiple=True, metavar="FILE", help="Environment file (repeatable).")
@click.option("--env", "env", metavar="NAME", shell_complete=complete_environments,
              help="Environment (dev, stage, prod...): its overlay devenv.NAME.yaml and x-devenv settings (or DEVENV_ENV).")
@click.option("-H", "--host", "host", metavar="ADDR",
              help="Engine to talk to: unix:///path, tcp://host:port, ssh://[user@]host[:port] (over --context and DOCKER_HOST).")
@click.option("--context", "context", metavar="NAME", help="Docker context to use (over DOCKER_HOST, DOCKER_CONTEXT).")
@click.option("--dry-run", is_flag=True, help="Print what would be done; change nothing.")
@click.option("--ansi", type=click.Choice(("never", "always", "auto")), default="auto", show_default=True,
              help="When to print ANSI colours.")
@click.option("--progress", type=click.Choice(("auto", "tty", "plain", "json", "quiet")), default="auto",
              show_default=True, help="How to show progress.")
@click.option("--parallel", type=int, default=-1, metavar="N", help="Most engine operations at once (-1: unlimited).")
@click.version_option(__version__, "--version", prog_name="devenv", message="%(prog)s, version %(version)s",
                      help="Show the version and exit.")
@click.pass_context
def cli(ctx: click.Context, dry_run: bool, ansi: str, progress: str, parallel: int, host: str | None,
        context: str | None, **_: Any) -> None:
    from devenv.engine.client import choose

    choose(host, context)  # -H/--context: above an --env's engine and docker's variables
    if ansi != "auto":
        from devenv.cli import output

        output.ANSI = ansi
    ctx.obj = Globals(options=project_options(ctx.params), dry_run=dry_run, ansi=ansi, progress=progress, parallel=parallel)


def _one_line(error: click.ClickException) -> str:
    """click's usage error as devenv's one line: `devenv: up: <message> (see `devenv up --help`)`."""
    ctx = getattr(error, "ctx", None)
    if isinstance(error, click.NoSuchOption):
        message = f"unrecognized arguments: {error.option_name}"
        word = error.option_name.lstrip("-")
        close = [p for p in error.possibilities or () if suggest(word, [p.lstrip("-")])]
        if close:
            message += f" (did you mean {' or '.join(sorted(close))}?)"
    else:
        message = " ".join(error.format_message().split()).rstrip(".")
        message = message[:1].lower() + message[1:]
    path = ctx.command_path if ctx is not None else "devenv"
    command = path.partition(" ")[2]
    return f"devenv: {command + ': ' if command else ''}{message} (see `{path} --help`)"


def parse(argv: list[str]) -> tuple[str, Globals, dict[str, Any]]:
    """The command line parsed without running anything: the command's name, the globals and the
    command's parameters (for tests and tools). Raises click's exceptions on bad usage."""
    with cli.make_context("devenv", list(argv)) as ctx:
        args = [*ctx._protected_args, *ctx.args]
        name, command, rest = cli.resolve_command(ctx, args)
        assert cli.callback is not None and command is not None
        ctx.invoke(cli.callback, **ctx.params)
        sub = command.make_context(name, rest, parent=ctx)
        return str(name), ctx.obj, dict(sub.params)


def _dispatch(argv: list[str]) -> int:
    if os.environ.get(COMPLETE_VAR):  # the shell asks for completions: click answers and exits
        cli.main(argv, prog_name="devenv", complete_var=COMPLETE_VAR)
        return 0
    try:
        with cli.make_context("devenv", argv) as ctx:
            code = cli.invoke(ctx)
    except click.exceptions.NoArgsIsHelpError as shown:
        sys.stderr.write((shown.ctx.get_help() if shown.ctx else "") + "\n")
        return EXIT_USAGE
    except click.exceptions.Exit as done:  # --help, --version
        return done.exit_code
    except click.ClickException as error:
        sys.stderr.write(_one_line(error) + "\n")
        sys.stderr.flush()
        return EXIT_USAGE if isinstance(error, click.UsageError) else error.exit_code
    return code if isinstance(code, int) else 0


def _say(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(list(sys.argv[1:] if argv is None else argv))
    except DevenvError as exc:
        _say(f"devenv: {exc}")
        return exc.exit_code
    except (KeyboardInterrupt, click.exceptions.Abort):
        _say("devenv: interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `devenv ps | head`: the reader has gone, which is no error of ours
        return 0
    except Exception as exc:  # a bug of ours: one line, the traceback only on request
        if os.environ.get("DEVENV_DEBUG"):
            raise
        _say(f"devenv: internal error: {type(exc).__name__}: {exc} (set DEVENV_DEBUG=1 for the traceback)")
        return EXIT_FAILED


def run() -> None:
    """The console script: main(), then leave at once (the work is done and flushed; skipping the
    interpreter's teardown saves a noticeable share of a quick command's time)."""
    from devenv.interrupts import arm

    arm()  # Ctrl-C ends the command within 2 s, a second one at once, whatever the engine does
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
