"""`devenv build` and `devenv pull`: the services' images, in parallel."""

from __future__ import annotations

import argparse

from devenv.cli.command import Command, Parser, add_format, add_services
from devenv.cli.common import emit_json, load, say
from devenv.errors import EXIT_FAILED
from devenv.manifest.options import ProjectOptions


def _run_actions(project, actions, fmt: str) -> int:  # type: ignore[no-untyped-def]
    from devenv.cli.output import Progress
    from devenv.engine.client import connect
    from devenv.engine.executor import Executor
    from devenv.engine.operations import Context
    from devenv.plan import Plan

    if not actions:
        say("nothing to do")
        return 0
    client = connect()
    outcomes = Executor(
        Context(client, None, 0, lambda: False, lambda line: say(f"    {line}") if fmt != "json" else None),
        Plan("images", project.name, tuple(actions)),
        Progress(quiet=fmt == "json"),
    ).run()
    failed = [o for o in outcomes if not o.ok]
    if fmt == "json":
        emit_json([{"image": o.action.target, "status": o.status, "detail": o.detail, "seconds": round(o.seconds, 3)} for o in outcomes])
    for o in failed:
        say(f"{o.action.describe()} failed: {o.detail}")
    return EXIT_FAILED if failed else 0


def _build_arguments(parser: Parser) -> None:
    add_services(parser)
    parser.add_argument("--no-cache", action="store_true", help="Do not use the build cache.")
    parser.add_argument("--pull", action="store_true", help="Always pull newer base images.")
    add_format(parser)


def build(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.model import thaw
    from devenv.plan import Action, Op
    from devenv.plan.images import build_payload
    from devenv.plan.naming import image_name

    services, no_cache, pull = tuple(args.services), args.no_cache, args.pull
    project = load(options, services)
    actions, seen = [], set()
    for service in project.services.values():
        if (services and service.name not in services) or service.build is None:
            continue
        reference = image_name(project.name, service)
        if reference in seen:
            continue
        seen.add(reference)
        config = thaw(service.build) | ({"no_cache": True} if no_cache else {}) | ({"pull": True} if pull else {})
        actions.append(Action(f"build_image:{reference}", Op.BUILD_IMAGE, reference, "devenv build", service=service.name,
                              payload=build_payload(project, service, config)))
    return _run_actions(project, actions, args.fmt)


def _pull_arguments(parser: Parser) -> None:
    add_services(parser)
    parser.add_argument("--ignore-buildable", action="store_true", help="Skip services that also have a build section.")
    add_format(parser)


def pull(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.plan import Action, Op

    services = tuple(args.services)
    project = load(options, services)
    actions, seen = [], set()
    for service in project.services.values():
        if (services and service.name not in services) or not service.image:
            continue
        if args.ignore_buildable and service.build is not None:
            continue
        if service.image in seen:
            continue
        seen.add(service.image)
        actions.append(Action(f"pull_image:{service.image}", Op.PULL_IMAGE, service.image, "devenv pull", service=service.name,
                              payload={"image": service.image, "platform": service.get("platform")}))
    return _run_actions(project, actions, args.fmt)


BUILD = Command("Build the images of services that have a build section.", _build_arguments, build)
PULL = Command("Pull the images of services that name one.", _pull_arguments, pull)
