"""`devenv stop`, `start`, `restart`: the project's existing containers, in dependency order."""

from __future__ import annotations

from typing import Any, Callable

import click

from devenv.cli.command import Globals, engine_settings, format_option, progress, services_argument, timeout_option
from devenv.cli.common import load_and_connect, say


def _run(g: Globals, services: tuple[str, ...], fmt: str, verb: str, make: Callable[[Any, Any], Any]) -> int:
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply

    project, client = load_and_connect(g.options, services)
    engine_settings(g)
    applied = apply(
        client, project, lambda observed: make(project, observed),
        listener=progress(g, fmt, quiet=g.dry_run), say=say, wait_timeout=300.0, images=False, dry_run=g.dry_run,
    )
    if g.dry_run:
        print_plan(applied.plans[0], fmt)
        return 0
    return print_applied(client, project, applied, fmt, verb=verb)


@click.command("stop", help="Stop running containers (dependents first) without removing them.")
@services_argument
@timeout_option
@format_option()
@click.pass_obj
def stop(g: Globals, services: tuple[str, ...], timeout: int | None, fmt: str) -> int:
    from devenv.plan import StopOptions, plan_stop

    opts = StopOptions(services=services, timeout=timeout)
    return _run(g, services, fmt, "stop", lambda p, o: plan_stop(p, o, opts))


@click.command("start", help="Start existing, stopped containers (dependencies first).")
@services_argument
@format_option()
@click.pass_obj
def start(g: Globals, services: tuple[str, ...], fmt: str) -> int:
    from devenv.plan import StartOptions, plan_start

    opts = StartOptions(services=services)
    return _run(g, services, fmt, "start", lambda p, o: plan_start(p, o, opts))


@click.command("restart", help="Restart containers: stop dependents first, start dependencies first.")
@services_argument
@timeout_option
@format_option()
@click.pass_obj
def restart(g: Globals, services: tuple[str, ...], timeout: int | None, fmt: str) -> int:
    from devenv.plan import RestartOptions, plan_restart

    opts = RestartOptions(services=services, timeout=timeout)
    return _run(g, services, fmt, "restart", lambda p, o: plan_restart(p, o, opts))
