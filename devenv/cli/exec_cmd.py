"""`devenv exec`: run a command in a service's running container; its exit code is ours."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, env_pairs, service_argument, strip_separator
from devenv.cli.common import load
from devenv.errors import UsageError


@click.command("exec", help="Run a command in a running container of SERVICE.",
               context_settings={"allow_interspersed_args": False})
@click.option("-d", "--detach", is_flag=True, help="Run the command in the background.")
@click.option("-i", "--interactive/--no-interactive", default=True, help="Keep STDIN open (default: on, as Compose).")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY (default: when STDIN is a terminal).")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Do not allocate a pseudo-TTY.")
@click.option("-e", "--env", multiple=True, metavar="KEY=VALUE", help="Set an environment variable (repeatable).")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="User (name or uid[:gid]) to run as.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--index", type=int, default=1, show_default=True, help="Which container of the service.")
@service_argument
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="COMMAND [ARGS]...")
@click.pass_obj
def exec_(g: Globals, detach: bool, interactive: bool, tty: bool, no_tty: bool, env: tuple[str, ...], workdir: str | None,
          user: str | None, privileged: bool, index: int, service: str, command: tuple[str, ...]) -> int:
    from devenv.engine.cli_bridge import run_cli, stdin_is_tty
    from devenv.engine.client import connect
    from devenv.engine.status import list_rows

    words = strip_separator(command)
    if not words:
        raise UsageError("exec: a command to run is required: devenv exec SERVICE COMMAND [ARGS]...")
    project = load(g.options, (service,))
    rows = [r for r in list_rows(connect(), project.name, all=False) if r.service == service and not r.oneoff]
    container = next((r for r in rows if r.number == index), None)
    if container is None:
        running = ", ".join(r.name for r in rows) or "none"
        raise UsageError(f"service {service} has no running container number {index} (running: {running}); run `devenv up` first")
    argv = ["exec"]
    if detach:
        argv.append("-d")
    else:
        if interactive:
            argv.append("-i")
        if not no_tty and (tty or stdin_is_tty()):
            argv.append("-t")
    for item in env_pairs(env):
        argv += ["-e", item]
    if workdir:
        argv += ["-w", workdir]
    if user:
        argv += ["-u", user]
    if privileged:
        argv.append("--privileged")
    return run_cli(argv + [container.name, *words])
