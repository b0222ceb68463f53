"""`devenv stop`, `start`, `restart`: the project's existing containers, in dependency order."""

from __future__ import annotations

import argparse
from typing import Any, Callable

from devenv.cli.command import Command, Parser, add_format, add_services
from devenv.cli.common import load_and_connect, say
from devenv.manifest.options import ProjectOptions


def _run(options: ProjectOptions, services: tuple[str, ...], fmt: str, verb: str, make: Callable[[Any], Any]) -> int:
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied
    from devenv.engine.apply import apply

    project, client = load_and_connect(options, services)
    applied = apply(
        client, project, lambda observed: make(project, observed),
        listener=Progress(quiet=fmt == "json"), say=say, wait_timeout=300.0, images=False,
    )
    return print_applied(client, project, applied, fmt, verb=verb)


def _with_timeout(parser: Parser) -> None:
    add_services(parser)
    parser.add_argument("-t", "--timeout", type=int, metavar="SECONDS", help="Seconds to wait before killing.")
    add_format(parser)


def _services_only(parser: Parser) -> None:
    add_services(parser)
    add_format(parser)


def stop(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.plan import StopOptions, plan_stop

    opts = StopOptions(services=tuple(args.services), timeout=args.timeout)
    return _run(options, tuple(args.services), args.fmt, "stop", lambda p, o: plan_stop(p, o, opts))


def start(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.plan import StartOptions, plan_start

    opts = StartOptions(services=tuple(args.services))
    return _run(options, tuple(args.services), args.fmt, "start", lambda p, o: plan_start(p, o, opts))


def restart(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.plan import RestartOptions, plan_restart

    opts = RestartOptions(services=tuple(args.services), timeout=args.timeout)
    return _run(options, tuple(args.services), args.fmt, "restart", lambda p, o: plan_restart(p, o, opts))


STOP = Command("Stop running containers (dependents first) without removing them.", _with_timeout, stop)
START = Command("Start existing, stopped containers (dependencies first).", _services_only, start)
RESTART = Command("Restart containers: stop dependents first, start dependencies first.", _with_timeout, restart)
