"""`devenv stop`, `start`, `restart`: the project's existing containers, in dependency order."""

from __future__ import annotations

from typing import Any, Callable

import click

from devenv.cli.common import format_option, load, say
from devenv.manifest.options import ProjectOptions


def _run(options: ProjectOptions, services: tuple[str, ...], fmt: str, verb: str, make: Callable[[Any], Any]) -> int:
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied
    from devenv.engine.apply import apply
    from devenv.engine.client import connect

    project = load(options, services)
    client = connect()
    applied = apply(
        client, project, lambda observed: make(project, observed),
        listener=Progress(quiet=fmt == "json"), say=say, wait_timeout=300.0,
    )
    return print_applied(client, project, applied, fmt, verb=verb)


@click.command("stop", help="Stop running containers (dependents first) without removing them.")
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=int, help="Seconds to wait before killing.")
@format_option()
@click.pass_obj
def stop(options: ProjectOptions, services, timeout, fmt) -> int:  # type: ignore[no-untyped-def]
    from devenv.plan import StopOptions, plan_stop

    opts = StopOptions(services=tuple(services), timeout=timeout)
    return _run(options, tuple(services), fmt, "stop", lambda p, o: plan_stop(p, o, opts))


@click.command("start", help="Start existing, stopped containers (dependencies first).")
@click.argument("services", nargs=-1)
@format_option()
@click.pass_obj
def start(options: ProjectOptions, services, fmt) -> int:  # type: ignore[no-untyped-def]
    from devenv.plan import StartOptions, plan_start

    opts = StartOptions(services=tuple(services))
    return _run(options, tuple(services), fmt, "start", lambda p, o: plan_start(p, o, opts))


@click.command("restart", help="Restart containers: stop dependents first, start dependencies first.")
@click.argument("services", nargs=-1)
@click.option("-t", "--timeout", type=int, help="Seconds to wait before killing.")
@format_option()
@click.pass_obj
def restart(options: ProjectOptions, services, timeout, fmt) -> int:  # type: ignore[no-untyped-def]
    from devenv.plan import RestartOptions, plan_restart

    opts = RestartOptions(services=tuple(services), timeout=timeout)
    return _run(options, tuple(services), fmt, "restart", lambda p, o: plan_restart(p, o, opts))
