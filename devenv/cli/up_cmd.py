"""`devenv up`: bring the project to the declared state, and return once it is ready."""

from __future__ import annotations

import argparse

from devenv.cli.command import Command, Parser, add_format, add_services
from devenv.cli.common import explicit_env_files, load_while_connecting, publish_host, say
from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions


def _scale(values: list[str]) -> dict[str, int]:
    out = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not count.isdigit():
            raise UsageError(f"invalid --scale {value!r}: use SERVICE=NUMBER")
        out[name] = int(count)
    return out


def arguments(parser: Parser) -> None:
    add_services(parser)

    def flag(*names: str, help: str) -> None:
        parser.add_argument(*names, action="store_true", help=help)

    flag("-d", "--detach", help="Accepted for Compose habits: up always returns once ready.")
    flag("--build", help="Build images before starting.")
    flag("--no-build", help="Never build; fail if an image is missing.")
    parser.add_argument("--pull", choices=("always", "missing", "never"), help="Pull policy for every service.")
    flag("--no-deps", help="Do not start the services' dependencies.")
    flag("--force-recreate", help="Recreate containers even if their configuration is unchanged.")
    flag("--no-recreate", help="Keep existing containers even if their configuration changed.")
    flag("--remove-orphans", help="Remove containers of services no longer in the project.")
    flag("--dry-run", help="Print the plan and change nothing.")
    parser.add_argument("-t", "--timeout", type=int, metavar="SECONDS", help="Seconds to wait for a container to stop before killing it.")
    parser.add_argument("--wait-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="Seconds to wait for a service to become ready (default: 300).")
    parser.add_argument("--scale", action="append", default=[], metavar="SERVICE=N", help="Number of containers for a service.")
    flag("--attach", help="Once ready, follow the services' logs until Ctrl-C (containers keep running).")
    add_format(parser)


def up(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import UpOptions, plan_up

    services, scale = tuple(args.services), _scale(args.scale)
    project, engine = load_while_connecting(options, services)
    up_options = UpOptions(
        services=services, no_deps=args.no_deps, force_recreate=args.force_recreate, no_recreate=args.no_recreate,
        remove_orphans=args.remove_orphans, scale=scale, pull=args.pull, build=args.build,
        no_build=args.no_build, wait=True, timeout=args.timeout, publish_host=publish_host(project),
        env_files=explicit_env_files(options),
    )
    client = engine.result()  # usage errors first, then an unreachable engine
    applied = apply(
        client, project, lambda observed: plan_up(project, observed, up_options),
        listener=Progress(quiet=args.fmt == "json" or args.dry_run), say=say, wait_timeout=args.wait_timeout,
        dry_run=args.dry_run, log=lambda line: say(f"    {line}"),  # build output, one prefixed line at a time
    )
    if args.dry_run:
        print_plan(applied.plans[0], args.fmt)
        return 0
    code = print_applied(client, project, applied, args.fmt, verb="up")
    if code == 0 and args.attach:
        from devenv.cli.logs_cmd import follow

        follow(client, project.name, services, tail="0", timestamps=False)
    return code


UP = Command("Create and start the services (and what they need); return once they are ready.", arguments, up)
