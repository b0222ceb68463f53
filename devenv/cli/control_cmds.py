"""`devenv kill`, `rm`, `pause`, `unpause`: the project's existing containers, as Compose does."""

from __future__ import annotations

import sys

import click

from devenv.cli.command import Globals, services_argument
from devenv.errors import UsageError


def _signal(value: str) -> str:
    """A signal name (`KILL`, `SIGTERM`, `sigterm`) or number, as the engine takes it."""
    import signal

    text = value.strip().upper()
    if text.isdigit() and 0 < int(text) < 65:
        return text
    name = text if text.startswith("SIG") else "SIG" + text
    if name in signal.Signals.__members__:
        return name
    raise UsageError(f"kill: invalid signal {value!r}: a name (SIGTERM, HUP) or a number")


@click.command("kill", help="Send a signal (default SIGKILL) to the running containers.")
@services_argument
@click.option("-s", "--signal", "signal_name", default="SIGKILL", show_default=True, metavar="SIGNAL", help="The signal to send.")
@click.option("--remove-orphans", is_flag=True, help="Also the containers of services no longer in the project.")
@click.pass_obj
def kill(g: Globals, services: tuple[str, ...], signal_name: str, remove_orphans: bool) -> int:
    from devenv.cli.common import say
    from devenv.cli.targets import open_project, report
    from devenv.engine import control
    from devenv.plan.control import kill_targets

    sig = _signal(signal_name)
    project, client, observed = open_project(g, services)
    targets = kill_targets(project, observed, services, remove_orphans)
    if not targets:
        say("no container to kill")
        return 0
    if g.dry_run:
        for c in targets:
            say(f"kill {c.name} ({sig})")
        return 0
    return report(control.each(targets, lambda c: control.kill(client, c, sig)), "killed")


def _confirm(names: list[str]) -> bool:
    """Compose's question; with no terminal to answer it, a refusal that says to pass -f."""
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError(
            f"rm: would remove {', '.join(names)}, but standard input is not a terminal to confirm; pass -f to remove without asking"
        )
    return click.confirm(f"Going to remove {', '.join(names)}", default=False, err=True)


@click.command("rm", help="Remove stopped containers (-s: stop them first).")
@services_argument
@click.option("-f", "--force", is_flag=True, help="Do not ask to confirm the removal.")
@click.option("-s", "--stop", is_flag=True, help="Stop the containers first, if they run.")
@click.option("-v", "--volumes", is_flag=True, help="Also remove their anonymous volumes.")
@click.pass_obj
def rm(g: Globals, services: tuple[str, ...], force: bool, stop: bool, volumes: bool) -> int:
    from devenv.cli.common import echo, say
    from devenv.cli.output import Progress
    from devenv.cli.report import print_plan
    from devenv.cli.targets import open_project
    from devenv.engine.apply import apply
    from devenv.plan.control import RmOptions, plan_rm, rm_targets

    options = RmOptions(services=services, stop=stop, volumes=volumes)
    project, client, observed = open_project(g, services)
    names = [c.name for c in rm_targets(project, observed, options)]
    if not names:
        say("No stopped containers")
        return 0
    if force or g.dry_run:
        echo(f"Going to remove {', '.join(names)}")
    elif not _confirm(names):
        return 0
    applied = apply(
        client, project, lambda seen: plan_rm(project, seen, options),
        listener=Progress(quiet=g.dry_run), say=say, wait_timeout=300.0, dry_run=g.dry_run, images=False,
    )
    if g.dry_run:
        print_plan(applied.plans[0], "table")
        return 0
    return 1 if applied.failures else 0


def _pause(g: Globals, services: tuple[str, ...], unpause: bool) -> int:
    from devenv.cli.common import say
    from devenv.cli.targets import open_project, report
    from devenv.engine import control
    from devenv.plan.control import pause_targets

    project, client, observed = open_project(g, services)
    targets = pause_targets(project, observed, services, unpause=unpause)
    verb = "unpause" if unpause else "pause"
    if not targets:
        say(f"no container to {verb}")
        return 0
    if g.dry_run:
        for c in targets:
            say(f"{verb} {c.name}")
        return 0
    call = control.unpause if unpause else control.pause
    return report(control.each(targets, lambda c: call(client, c)), verb + "d")


@click.command("pause", help="Pause the services' running containers.")
@services_argument
@click.pass_obj
def pause(g: Globals, services: tuple[str, ...]) -> int:
    return _pause(g, services, unpause=False)


@click.command("unpause", help="Unpause the services' paused containers.")
@services_argument
@click.pass_obj
def unpause(g: Globals, services: tuple[str, ...]) -> int:
    return _pause(g, services, unpause=True)
