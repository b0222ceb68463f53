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
    from devenv.engine.client import connect
    from devenv.engine.executor import Executor
    from devenv.engine.operations import Context
    from devenv.plan import Plan

    if not actions:
        say("nothing to do")
        return 0
    if g.dry_run:
        for action in actions:
            say(f"dry run: would {action.describe()}")
        return 0
    client = connect()
    engine_settings(g)
    show = fmt != "json" and not quiet and g.progress != "quiet"
    outcomes = Executor(
        Context(client, None, 0, lambda: False, lambda line: say(f"    {line}") if show else None),
        Plan("images", project.name, tuple(actions)),
        progress(g, fmt, quiet=quiet),
    ).run()
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
    from devenv.model import thaw
    from devenv.plan import Action, Op
    from devenv.plan.images import build_payload
    from devenv.plan.naming import image_name

    project = load(g.options, services)
    overrides = dict(p.split("=", 1) for p in env_pairs(build_args, "--build-arg", lookup={**dict(project.environment), **os.environ}))
    actions, seen = [], set()
    for service in project.services.values():
        if (services and service.name not in services) or service.build is None:
            continue
        reference = image_name(project.name, service)
        if reference in seen:
            continue
        seen.add(reference)
        config = thaw(service.build) | ({"no_cache": True} if no_cache else {}) | ({"pull": True} if pull else {})
        if overrides:
            config["args"] = {**(config.get("args") or {}), **overrides}
        actions.append(Action(f"build_image:{reference}", Op.BUILD_IMAGE, reference, "devenv build", service=service.name,
                              payload=build_payload(project, service, config)))
    return _run_actions(g, project, actions, fmt, quiet=quiet)


@click.command("pull", help="Pull the images of services that name one.")
@services_argument
@click.option("--ignore-buildable", is_flag=True, help="Skip services that also have a build section.")
@click.option("-q", "--quiet", is_flag=True, help="Do not print the pulls' progress.")
@format_option()
@click.pass_obj
def pull(g: Globals, services: tuple[str, ...], ignore_buildable: bool, quiet: bool, fmt: str) -> int:
    from devenv.plan import Action, Op

    project = load(g.options, services)
    actions, seen = [], set()
    for service in project.services.values():
        if (services and service.name not in services) or not service.image:
            continue
        if ignore_buildable and service.build is not None:
            continue
        if service.image in seen:
            continue
        seen.add(service.image)
        actions.append(Action(f"pull_image:{service.image}", Op.PULL_IMAGE, service.image, "devenv pull", service=service.name,
                              payload={"image": service.image, "platform": service.get("platform")}))
    return _run_actions(g, project, actions, fmt, quiet=quiet)
