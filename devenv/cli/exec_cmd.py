"""`devenv exec`: run a command in a service's running container; its exit code is ours."""

from __future__ import annotations

import argparse

from devenv.cli.command import Command, Parser
from devenv.cli.common import load
from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions


def arguments(parser: Parser) -> None:
    parser.add_argument("-T", dest="no_tty", action="store_true", help="Do not allocate a pseudo-TTY.")
    parser.add_argument("-d", "--detach", action="store_true", help="Run the command in the background.")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE", help="Set an environment variable.")
    parser.add_argument("-w", "--workdir", help="Working directory inside the container.")
    parser.add_argument("-u", "--user", help="User (name or uid[:gid]) to run as.")
    parser.add_argument("--privileged", action="store_true", help="Give extended privileges to the command.")
    parser.add_argument("--index", type=int, default=1, help="Which container of the service (default: 1).")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND ...", help="The command and its arguments.")


def exec_(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.engine.cli_bridge import run_cli, stdin_is_tty
    from devenv.engine.client import connect
    from devenv.engine.status import list_rows

    service, index, command = args.service, args.index, args.command
    if not command:
        raise UsageError("exec: a command to run is required: devenv exec SERVICE COMMAND [ARGS]...")
    project = load(options, (service,))
    rows = [r for r in list_rows(connect(), project.name, all=False) if r.service == service and not r.oneoff]
    container = next((r for r in rows if r.number == index), None)
    if container is None:
        running = ", ".join(r.name for r in rows) or "none"
        raise UsageError(f"service {service} has no running container number {index} (running: {running}); run `devenv up` first")
    argv = ["exec"]
    if args.detach:
        argv.append("-d")
    else:
        argv.append("-i")
        if not args.no_tty and stdin_is_tty():
            argv.append("-t")
    for item in args.env:
        if "=" not in item:
            raise UsageError(f"invalid -e {item!r}: use KEY=VALUE")
        argv += ["-e", item]
    if args.workdir:
        argv += ["-w", args.workdir]
    if args.user:
        argv += ["-u", args.user]
    if args.privileged:
        argv.append("--privileged")
    return run_cli(argv + [container.name, *command])


EXEC = Command("Run a command in a running container of SERVICE.", arguments, exec_, intermixed=False)
