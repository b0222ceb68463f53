"""`devenv ps`: the project's containers."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, format_option, services_argument
from devenv.cli.common import echo, emit_json, load_and_connect


@click.command("ps", help="List the project's containers (running ones; -a for all).")
@services_argument
@click.option("-a", "--all", "show_all", is_flag=True, help="Also stopped containers.")
@click.option("-q", "--quiet", is_flag=True, help="Only container names.")
@format_option()
@click.pass_obj
def ps(g: Globals, services: tuple[str, ...], show_all: bool, quiet: bool, fmt: str) -> int:
    from devenv.cli.output import table
    from devenv.engine.status import age, list_rows

    project, client = load_and_connect(g.options, services)
    rows = [r for r in list_rows(client, project.name, all=show_all) if not services or r.service in services]
    if fmt == "json":
        emit_json([r.to_dict() for r in rows])
    elif quiet:
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

