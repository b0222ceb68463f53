"""`devenv ps`: the project's containers."""

from __future__ import annotations

import argparse

from devenv.cli.command import Command, Parser, add_format, add_services
from devenv.cli.common import echo, emit_json, load_and_connect
from devenv.manifest.options import ProjectOptions


def arguments(parser: Parser) -> None:
    add_services(parser)
    parser.add_argument("-a", "--all", dest="show_all", action="store_true", help="Also stopped containers.")
    parser.add_argument("-q", "--quiet", action="store_true", help="Only container names.")
    add_format(parser)


def ps(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.cli.output import table
    from devenv.engine.status import age, list_rows

    services = tuple(args.services)
    project, client = load_and_connect(options, services)
    rows = [r for r in list_rows(client, project.name, all=args.show_all) if not services or r.service in services]
    if args.fmt == "json":
        emit_json([r.to_dict() for r in rows])
    elif args.quiet:
        for r in rows:
            echo(r.name)
    else:
        echo(
            table(
                ("name", "image", "command", "service", "created", "status", "ports"),
                (
                    (
                        r.name, r.image, _short(r.command), r.service, age(r.created), r.status,
                        ", ".join(p.url if p.host_port else p.url for p in r.ports) or "-",
                    )
                    for r in rows
                ),
            )
        )
    return 0


def _short(command: str, width: int = 24) -> str:
    text = f'"{command}"'
    return text if len(text) <= width else text[: width - 4] + '…"'


PS = Command("List the project's containers (running ones; -a for all).", arguments, ps)
