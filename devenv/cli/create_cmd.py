"""`devenv create`: `up` without starting anything: networks, volumes, images and containers."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, format_option, services_argument
from devenv.cli.up_cmd import scale_count
from devenv.errors import UsageError


def parse_scale(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not name or not (count.isascii() and count.isdigit()):
            raise UsageError(f"create: invalid --scale {value!r}: use SERVICE=NUMBER")
        out[name] = scale_count(value, count, "create: ")
    return out


@click.command("create", help="Create the services' containers (and networks, volumes, images) without starting them.")
@services_argument
@click.option("--build", is_flag=True, help="Build images first.")
@click.option("--no-build", is_flag=True, help="Never build; fail if an image is missing.")
@click.option("--pull", type=click.Choice(("always", "missing", "never")), help="Pull policy for every service.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if their configuration is unchanged.")
@click.option("--no-recreate", is_flag=True, help="Keep existing containers even if their configuration changed.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services no longer in the project.")
@click.option("--scale", multiple=True, metavar="SERVICE=N", help="Number of containers for a service (repeatable).")
@click.option("-y", "--yes", is_flag=True, help="Go on despite the risky declarations warned about (remembered for this project).")
@click.option("--local", is_flag=True, help="With --env: that environment on the local engine, its laptop overrides merged.")
@format_option()
@click.pass_obj
def create(
    g: Globals, services: tuple[str, ...], build: bool, no_build: bool, pull: str | None, force_recreate: bool,
    no_recreate: bool, remove_orphans: bool, scale: tuple[str, ...], yes: bool, local: bool, fmt: str,
) -> int:
    from devenv.cli.common import (
        explicit_env_files,
        load_while_connecting,
        local_options,
        publish_host,
        say,
        show_laptop_differences,
    )
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import UpOptions, plan_up

    project_options = local_options(g.options, local)
    project, engine = load_while_connecting(project_options, services, from_labels=False)
    show_laptop_differences(project, project_options)
    options = UpOptions(
        services=services, force_recreate=force_recreate, no_recreate=no_recreate, remove_orphans=remove_orphans,
        scale=parse_scale(scale), pull=pull, build=build, no_build=no_build, no_start=True, wait=False,
        publish_host=publish_host(project), env_files=explicit_env_files(g.options),
    )
    from devenv.cli.risk_check import confirm_risks

    confirm_risks(project, yes, dry_run=g.dry_run)
    client = engine.result()
    from devenv.engine.shipping import for_up

    shipping = for_up(client, project, services)  # local files for a remote engine
    if shipping is not None:
        import dataclasses

        options = dataclasses.replace(options, shipped=shipping.mounts)
    applied = apply(
        client, project, lambda observed: plan_up(project, observed, options),
        listener=Progress(quiet=fmt == "json" or g.dry_run), say=say, wait_timeout=0, dry_run=g.dry_run,
        before_containers=None if shipping is None else (lambda: shipping.ship(say)),
    )
    if g.dry_run:
        print_plan(applied.plans[0], fmt)
        return 0
    return print_applied(client, project, applied, fmt, verb="create")
