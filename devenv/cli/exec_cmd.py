"""`devenv exec`: run a command in a service's running container; its exit code is ours."""

from __future__ import annotations

import click

from devenv.cli.common import load
from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions


@click.command("exec", help="Run a command in a running container of SERVICE.", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.option("-T", "no_tty", is_flag=True, help="Do not allocate a pseudo-TTY.")
@click.option("-d", "--detach", is_flag=True, help="Run the command in the background.")
@click.option("-e", "--env", "env", multiple=True, metavar="KEY=VALUE", help="Set an environment variable.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="User (name or uid[:gid]) to run as.")
@click.option("--privileged", is_flag=True, help="Give extended privileges to the command.")
@click.option("--index", type=int, default=1, show_default=True, help="Which container of the service.")
@click.argument("service")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@click.pass_obj
def exec_(options: ProjectOptions, no_tty, detach, env, workdir, user, privileged, index, service, command) -> int:  # type: ignore[no-untyped-def]
    from devenv.engine.cli_bridge import run_cli, stdin_is_tty
    from devenv.engine.client import connect
    from devenv.engine.status import list_rows

    project = load(options, (service,))
    rows = [r for r in list_rows(connect(), project.name, all=False) if r.service == service and not r.oneoff]
    container = next((r for r in rows if r.number == index), None)
    if container is None:
        running = ", ".join(r.name for r in rows) or "none"
        raise UsageError(f"service {service} has no running container number {index} (running: {running}); run `devenv up` first")
    args = ["exec"]
    if detach:
        args.append("-d")
    else:
        args.append("-i")
        if not no_tty and stdin_is_tty():
            args.append("-t")
    for item in env:
        if "=" not in item:
            raise UsageError(f"invalid -e {item!r}: use KEY=VALUE")
        args += ["-e", item]
    if workdir:
        args += ["-w", workdir]
    if user:
        args += ["-u", user]
    if privileged:
        args.append("--privileged")
    return run_cli(args + [container.name, *command])
