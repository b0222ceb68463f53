"""`devenv ls`: the Compose projects on the engine, found by their labels (devenv's and Compose's)."""

from __future__ import annotations

import json
import re

import click

from devenv.cli.command import Globals, format_option
from devenv.errors import UsageError

FILTERS = ("name",)


def parse_filters(values: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for value in values:
        key, sep, wanted = value.partition("=")
        if not sep or not key:
            raise UsageError(f"ls: invalid --filter {value!r}: use KEY=VALUE (keys: {', '.join(FILTERS)})")
        if key not in FILTERS:
            raise UsageError(f"ls: invalid filter {key!r} (keys: {', '.join(FILTERS)})")
        out.setdefault(key, []).append(wanted)
    return out


def name_matches(name: str, patterns: list[str]) -> bool:
    """Docker's `name=` filter: any of the values, each a regular expression searched in the name."""
    for pattern in patterns:
        try:
            if re.search(pattern, name):
                return True
        except re.error:
            if pattern in name:
                return True
    return False


@click.command("ls", help="List the Compose projects on the engine (running ones; -a for all).")
@click.option("-a", "--all", "show_all", is_flag=True, help="Also projects whose containers are all stopped.")
@click.option("-q", "--quiet", is_flag=True, help="Only the project names.")
@click.option("--filter", "filters", multiple=True, metavar="KEY=VALUE", help="Filter: name=REGEX (repeatable).")
@format_option()
@click.pass_obj
def ls(g: Globals, show_all: bool, quiet: bool, filters: tuple[str, ...], fmt: str) -> int:
    from devenv.cli.common import echo, say_engine
    from devenv.cli.dockerfmt import tabulate
    from devenv.engine.client import connect
    from devenv.engine.labelled import list_stacks

    wanted = parse_filters(filters)
    client = connect()
    if not quiet:
        say_engine(client)
    found = [s for s in list_stacks(client, all=show_all) if "name" not in wanted or name_matches(s.name, wanted["name"])]
    if quiet:
        for stack in found:
            echo(stack.name)
    elif fmt == "json":
        echo(json.dumps([s.to_dict() for s in found], separators=(",", ":")))
    else:
        echo(tabulate([("NAME", "STATUS", "CONFIG FILES")] + [(s.name, s.status, s.config_files) for s in found], minwidth=20, padding=3))
    return 0
