"""`devenv build` and `devenv pull`: the services' images, in parallel."""

from __future__ import annotations

import os

import click

from devenv.cli.command import (
    Globals,
    engine_settings,
    env_pairs,
    format_option,
    progress,
    services_argument,
)
from devenv.cli.common import emit_json, load, say
from devenv.errors import EXIT_FAILED


def _run_actions(g: Globals, project, actions, fmt: str, quiet: bool = False) -> int:  # type: ignore[no-untyped-def]
    from devenv.engine.apply import check_builds, run_images
    from devenv.engine.client import connect
    from devenv.plan import Plan

    if not actions:
        say("nothing to do")
        return 0
    plan = Plan("images", project.name, tuple(actions))
    if g.dry_run:
        check_builds(project, plan)
        for action in actions:
            say(f"dry run: would {action.describe()}")
        return 0
    client = connect()
    engine_settings(g)
    show = fmt != "json" and not quiet and g.progress != "quiet"
    outcomes = run_images(client, project, plan, progress(g, fmt, quiet=quiet), lambda line: say(f"    {line}") if show else None)
    failed = [o for o in outcomes if not o.ok]
    if fmt == "json":
        emit_json([{"image": o.action.target, "status": o.status, "detail": o.detail, "seconds": round(o.seconds, 3)} for o in outcomes])
    for o in failed:
        say(f"{o.action.describe()} failed: {o.detail}")
    return EXIT_FAILED if failed else 0


@click.command("build", help="Build the images of services that have a build section.")
@services_argument
@click.option("--no-cache", is_flag=True, help="Do not use the build cache.")
@click.option("--pull", is_flag=True, help="Always pull newer base images.")
@click.option("--build-arg", "build_args", multiple=True, metavar="KEY[=VALUE]", help="Set a build argument (repeatable).")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the build output.")
@click.option("--progress", "progress_mode", type=click.Choice(("auto", "tty", "plain", "json", "quiet")),
              help="How to show progress (as the global --progress).")
@format_option()
@click.pass_obj
def build(g: Globals, services: tuple[str, ...], no_cache: bool, pull: bool, build_args: tuple[str, ...], quiet: bool,
          progress_mode: str | None, fmt: str) -> int:
    import dataclasses

    if progress_mode:
        g = dataclasses.replace(g, progress=progress_mode)
    from devenv.plan import Op
    from devenv.plan.images import image_action

    project = load(g.options, services)
    overrides = dict(p.split("=", 1) for p in env_pairs(build_args, "--build-arg", lookup={**dict(project.environment), **os.environ}))
    actions, seen = [], set()
    for service in project.services.values():
        if (services and service.name not in services) or service.build is None:
            continue
        action = image_action(project, service, Op.BUILD_IMAGE, "devenv build", no_cache=no_cache, pull=pull, args=overrides)
        if action.target not in seen:
            seen.add(action.target)
            actions.append(action)
    return _run_actions(g, project, actions, fmt, quiet=quiet)


@click.command("pull", help="Pull the images of services that name one.")
@services_argument
@click.option("--ignore-buildable", is_flag=True, help="Skip services that also have a build section.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the pulls' progress.")
@format_option()
@click.pass_obj
def pull(g: Globals, services: tuple[str, ...], ignore_buildable: bool, quiet: bool, fmt: str) -> int:
    from devenv.plan import Op
    from devenv.plan.images import image_action

    project = load(g.options, services)
    actions, seen = [], set()
    for service in project.services.values():
        if (services and service.name not in services) or not service.image:
            continue
        if ignore_buildable and service.build is not None:
            continue
        action = image_action(project, service, Op.PULL_IMAGE, "devenv pull")
        if action.target not in seen:
            seen.add(action.target)
            actions.append(action)
    return _run_actions(g, project, actions, fmt, quiet=quiet)
