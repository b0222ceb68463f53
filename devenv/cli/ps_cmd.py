"""`devenv ps`: the project's containers."""

from __future__ import annotations

import click

from devenv.cli.common import emit_json, format_option, load
from devenv.manifest.options import ProjectOptions


@click.command("ps", help="List the project's containers (running ones; -a for all).")
@click.argument("services", nargs=-1)
@click.option("-a", "--all", "show_all", is_flag=True, help="Also stopped containers.")
@click.option("-q", "--quiet", is_flag=True, help="Only container names.")
@format_option()
@click.pass_obj
def ps(options: ProjectOptions, services, show_all, quiet, fmt) -> int:  # type: ignore[no-untyped-def]
    from devenv.cli.output import table
    from devenv.engine.client import connect
    from devenv.engine.status import age, list_rows

    project = load(options, tuple(services))
    rows = [r for r in list_rows(connect(), project.name, all=show_all) if not services or r.service in services]
    if fmt == "json":
        emit_json([r.to_dict() for r in rows])
    elif quiet:
        for r in rows:
            click.echo(r.name)
    else:
        click.echo(
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
