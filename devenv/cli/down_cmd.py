"""`devenv down`: stop and remove the project's containers and networks (volumes only with -v)."""

from __future__ import annotations

import click

from devenv.cli.common import format_option, load, say
from devenv.manifest.options import ProjectOptions


@click.command("down", help="Stop and remove containers and networks; named volumes only with -v.")
@click.option("-v", "--volumes", is_flag=True, help="Also remove the project's named and anonymous volumes.")
@click.option("--remove-orphans", is_flag=True, help="Also remove containers of services no longer in the project.")
@click.option("-t", "--timeout", type=int, help="Seconds to wait for a container to stop before killing it.")
@click.option("--dry-run", is_flag=True, help="Print the plan and change nothing.")
@format_option()
@click.pass_obj
def down(options: ProjectOptions, volumes, remove_orphans, timeout, dry_run, fmt) -> int:  # type: ignore[no-untyped-def]
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.engine.client import connect
    from devenv.plan import DownOptions, plan_down

    project = load(options)
    down_options = DownOptions(volumes=volumes, remove_orphans=remove_orphans, timeout=timeout)
    client = connect()
    applied = apply(
        client, project, lambda observed: plan_down(project, observed, down_options),
        listener=Progress(quiet=fmt == "json" or dry_run), say=say, wait_timeout=0, dry_run=dry_run,
    )
    if dry_run:
        print_plan(applied.plans[0], fmt)
        return 0
    return print_applied(client, project, applied, fmt, verb="down")
