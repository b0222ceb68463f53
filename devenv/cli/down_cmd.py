"""`devenv down`: stop and remove the project's containers and networks (volumes only with -v)."""

from __future__ import annotations

import argparse

from devenv.cli.command import Command, Parser, add_format
from devenv.cli.common import load_and_connect, say
from devenv.manifest.options import ProjectOptions


def arguments(parser: Parser) -> None:
    parser.add_argument("-v", "--volumes", action="store_true", help="Also remove the project's named and anonymous volumes.")
    parser.add_argument("--remove-orphans", action="store_true", help="Also remove containers of services no longer in the project.")
    parser.add_argument("-t", "--timeout", type=int, metavar="SECONDS", help="Seconds to wait for a container to stop before killing it.")
    parser.add_argument("--dry-run", action="store_true", help="Print the plan and change nothing.")
    add_format(parser)


def down(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.cli.output import Progress
    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import DownOptions, plan_down

    project, client = load_and_connect(options)
    down_options = DownOptions(volumes=args.volumes, remove_orphans=args.remove_orphans, timeout=args.timeout)
    applied = apply(
        client, project, lambda observed: plan_down(project, observed, down_options),
        listener=Progress(quiet=args.fmt == "json" or args.dry_run), say=say, wait_timeout=0, dry_run=args.dry_run, images=False,
    )
    if args.dry_run:
        print_plan(applied.plans[0], args.fmt)
        return 0
    return print_applied(client, project, applied, args.fmt, verb="down")


DOWN = Command("Stop and remove containers and networks; named volumes only with -v.", arguments, down)
