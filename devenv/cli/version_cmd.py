"""`devenv version`: devenv's version, as `docker compose version` prints Compose's."""

from __future__ import annotations

import json

import click

from devenv.cli.command import Globals


@click.command("version", help="Show devenv's version.")
@click.option("-f", "--format", "fmt", type=click.Choice(("pretty", "json")), default="pretty", show_default=True,
              help="Output format.")
@click.option("--short", is_flag=True, help="Only the version number.")
@click.pass_obj
def version(g: Globals, fmt: str, short: bool) -> int:
    from devenv import __version__
    from devenv.cli.common import echo

    if short:
        echo(__version__)
    elif fmt == "json":
        echo(json.dumps({"version": __version__}, separators=(",", ":")))
    else:
        echo(f"devenv version {__version__}")
    return 0
