"""`devenv down`: stop and remove the project's containers and networks (volumes only with -v)."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, format_option, timeout_option
from devenv.cli.common import load_and_connect, say


@click.command("down", help="Stop and remove containers and networks; named volumes only with -v.")
@click.option("-v", "--volumes", is_flag=True, help="Also remove the project's named and anonymous volumes.")
@click.option("--remove-orphans", is_flag=True, help="Also remove containers of services no longer in the project.")
@timeout_option
@click.option("--dry-run", "dry_run_here", is_flag=True, help="Print the plan and change nothing.")
@format_option()
@click.pass_obj
def down(g: Globals, volumes: bool, remove_orphans: bool, timeout: int | None, dry_run_here: bool, fmt: str) -> int:
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import DownOptions, plan_down

    dry_run = g.dry_run or dry_run_here
    project, client = load_and_connect(g.options)
    down_options = DownOptions(volumes=volumes, remove_orphans=remove_orphans, timeout=timeout)
    applied = apply(
        client, project, lambda observed: plan_down(project, observed, down_options),
        listener=Progress(quiet=fmt == "json" or dry_run), say=say, wait_timeout=0, dry_run=dry_run, images=False,
    )
    if dry_run:
        print_plan(applied.plans[0], fmt)
        return 0
    return print_applied(client, project, applied, fmt, verb="down")

