"""`devenv up`: bring the project to the declared state, and return once it is ready."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, format_option, services_argument, timeout_option
from devenv.cli.common import explicit_env_files, load_while_connecting, publish_host, say
from devenv.errors import UsageError


def _scale(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not count.isdigit():
            raise UsageError(f"invalid --scale {value!r}: use SERVICE=NUMBER")
        out[name] = int(count)
    return out


@click.command("up", help="Create and start the services (and what they need); return once they are ready.")
@services_argument
@click.option("-d", "--detach", is_flag=True, help="Accepted for Compose habits: up always returns once ready.")
@click.option("--build", is_flag=True, help="Build images before starting.")
@click.option("--no-build", is_flag=True, help="Never build; fail if an image is missing.")
@click.option("--pull", type=click.Choice(("always", "missing", "never")), help="Pull policy for every service.")
@click.option("--no-deps", is_flag=True, help="Do not start the services' dependencies.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if their configuration is unchanged.")
@click.option("--no-recreate", is_flag=True, help="Keep existing containers even if their configuration changed.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services no longer in the project.")
@click.option("--dry-run", "dry_run_here", is_flag=True, help="Print the plan and change nothing (as the global --dry-run).")
@timeout_option
@click.option("--wait-timeout", type=float, default=300.0, metavar="SECONDS", show_default=True,
              help="Seconds to wait for a service to become ready.")
@click.option("--scale", multiple=True, metavar="SERVICE=N", help="Number of containers for a service (repeatable).")
@click.option("--attach", is_flag=True, help="Once ready, follow the services' logs until Ctrl-C (containers keep running).")
@format_option()
@click.pass_obj
def up(g: Globals, services: tuple[str, ...], detach: bool, build: bool, no_build: bool, pull: str | None, no_deps: bool,
       force_recreate: bool, no_recreate: bool, remove_orphans: bool, dry_run_here: bool, timeout: int | None,
       wait_timeout: float, scale: tuple[str, ...], attach: bool, fmt: str) -> int:
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import UpOptions, plan_up

    dry_run = g.dry_run or dry_run_here
    project, engine = load_while_connecting(g.options, services)
    up_options = UpOptions(
        services=services, no_deps=no_deps, force_recreate=force_recreate, no_recreate=no_recreate,
        remove_orphans=remove_orphans, scale=_scale(scale), pull=pull, build=build,
        no_build=no_build, wait=True, timeout=timeout, publish_host=publish_host(project),
        env_files=explicit_env_files(g.options),
    )
    client = engine.result()  # usage errors first, then an unreachable engine
    applied = apply(
        client, project, lambda observed: plan_up(project, observed, up_options),
        listener=Progress(quiet=fmt == "json" or dry_run), say=say, wait_timeout=wait_timeout,
        dry_run=dry_run,
    )
    if dry_run:
        print_plan(applied.plans[0], fmt)
        return 0
    code = print_applied(client, project, applied, fmt, verb="up")
    if code == 0 and attach:
        from devenv.cli.logs_cmd import follow

        follow(client, project.name, services, tail="0", timestamps=False)
    return code

