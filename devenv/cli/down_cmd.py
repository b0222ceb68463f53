"""`devenv down`: stop and remove the project's containers and networks (volumes only with -v)."""

from __future__ import annotations

from typing import Any

import click

from devenv.cli.command import (
    Globals,
    engine_settings,
    format_option,
    progress,
    timeout_option,
)
from devenv.cli.common import load_and_connect, say


def images_to_remove(project: Any, rmi: str) -> list[str]:
    """The images `down --rmi` removes: `local`, the build-only services' `{project}-{service}`
    images (no custom tag); `all`, every service's image."""
    from devenv.plan.naming import image_name

    every = list(project.services.values()) + list(project.disabled_services.values())
    names = [image_name(project.name, s) for s in every if rmi == "all" or not s.image]
    return list(dict.fromkeys(names))


def _remove_images(client: Any, names: list[str]) -> int:
    from devenv.engine.control import remove_image

    failed = 0
    for name in names:
        outcome = remove_image(client, name)
        if outcome.problem is not None:
            say(f"  ✘ image {name} not removed: {outcome.problem}")
            failed += 1
        elif outcome.removed:
            say(f"  ✔ image {name} removed")
    return failed


@click.command("down", help="Stop and remove containers and networks; named volumes only with -v.")
@click.option("-v", "--volumes", is_flag=True, help="Also remove the project's named and anonymous volumes.")
@click.option("--remove-orphans", is_flag=True, help="Also remove containers of services no longer in the project.")
@click.option("--rmi", type=click.Choice(("local", "all")),
              help="Also remove images: local, those without a custom tag (built by the project); all, every service's.")
@timeout_option
@click.option("--dry-run", "dry_run_here", is_flag=True, help="Print the plan and change nothing.")
@format_option()
@click.pass_obj
def down(g: Globals, volumes: bool, remove_orphans: bool, rmi: str | None, timeout: int | None, dry_run_here: bool,
         fmt: str) -> int:
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import DownOptions, plan_down

    dry_run = g.dry_run or dry_run_here
    project, client = load_and_connect(g.options)
    engine_settings(g)
    down_options = DownOptions(volumes=volumes, remove_orphans=remove_orphans, timeout=timeout)
    applied = apply(
        client, project, lambda observed: plan_down(project, observed, down_options),
        listener=progress(g, fmt, quiet=dry_run), say=say, wait_timeout=0, dry_run=dry_run, images=False,
    )
    images = images_to_remove(project, rmi) if rmi else []
    if dry_run:
        print_plan(applied.plans[0], fmt)
        for name in images:
            say(f"dry run: would remove image {name} (if present)")
        return 0
    code = print_applied(client, project, applied, fmt, verb="down")
    if images and code == 0:
        code = 1 if _remove_images(client, images) else 0
    return code

