"""`devenv ps`: the project's containers, printed as Compose prints them (table, json lines, or a Go
template)."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, services_argument
from devenv.cli.common import echo, load_and_connect
from devenv.errors import UsageError

STATUSES = ("paused", "restarting", "removing", "running", "dead", "created", "exited")


def _statuses(status: tuple[str, ...], filters: str | None) -> list[str]:
    out = list(status)
    if filters:
        key, sep, value = filters.partition("=")
        if not sep:
            raise UsageError(f"ps: invalid --filter {filters!r}: use status=STATUS")
        if key != "status":
            raise UsageError(f"ps: unknown filter {key} (supported: status)")
        if value not in STATUSES:
            raise UsageError(f"ps: invalid status {value!r} (one of: {', '.join(STATUSES)})")
        out.append(value)
    return out


@click.command("ps", help="List the project's containers (running ones; -a for all, run containers included).")
@services_argument
@click.option("-a", "--all", "show_all", is_flag=True, help="Also stopped containers, and those of `run`.")
@click.option("-q", "--quiet", is_flag=True, help="Only the containers' IDs.")
@click.option("--services", "only_services", is_flag=True, help="Only the services' names.")
@click.option("--status", multiple=True, type=click.Choice(STATUSES), help="Only containers in this state (repeatable).")
@click.option("--filter", "filters", metavar="status=STATUS", help="Filter by a property (status).")
@click.option("--format", "fmt", default="table", show_default=True, metavar="table|json|TEMPLATE",
              help="table, json (one object per line), or a Go template such as '{{.Name}}\\t{{.State}}' "
                   "('table TEMPLATE' adds headers).")
@click.option("--no-trunc", is_flag=True, help="Do not truncate the output.")
@click.option("--orphans/--no-orphans", default=True, show_default=True,
              help="Include containers of services the project no longer declares.")
@click.pass_obj
def ps(g: Globals, services: tuple[str, ...], show_all: bool, quiet: bool, only_services: bool, status: tuple[str, ...],
       filters: str | None, fmt: str, no_trunc: bool, orphans: bool) -> int:
    from devenv.cli.common import say_engine
    from devenv.cli.psformat import Template, render
    from devenv.engine.queries import project_summaries

    wanted = _statuses(status, filters)
    if fmt not in ("table", "json"):
        from devenv.cli.psformat import HEADERS, unescape

        source = fmt[len("table"):].strip() if fmt.startswith("table") else fmt
        Template(unescape(source), HEADERS)  # a bad template is a usage error before any work
    project, client = load_and_connect(g.options, services)
    if not (quiet or only_services):
        say_engine(client)
    declared = set(project.services) | set(project.disabled_services)
    every = show_all or bool(wanted)
    summaries = []
    for summary in project_summaries(client, project.name, all=every):
        if summary.oneoff and not every:
            continue
        if services and summary.service not in services:
            continue
        if not services and not orphans and summary.service not in declared:
            continue
        if wanted and summary.state not in wanted:
            continue
        summaries.append(summary)
    summaries.sort(key=lambda s: s.name)
    if quiet:
        for s in summaries:
            echo(s.id)
        return 0
    if only_services:
        seen: list[str] = []
        for s in summaries:
            if s.service not in seen:
                seen.append(s.service)
        for name in seen:
            echo(name)
        return 0
    for line in render([s.raw for s in summaries], fmt, trunc=not no_trunc):
        echo(line)
    return 0
