"""`devenv stats`: CPU, memory, network, block I/O and PIDs of the project's containers, as
`docker stats` shows them; refreshed until Ctrl-C, or once with --no-stream."""

from __future__ import annotations

import json
import sys

import click

from devenv.cli.command import Globals, format_option, services_argument


@click.command("stats", help="Show the containers' resource usage (once with --no-stream).")
@services_argument
@click.option("-a", "--all", "show_all", is_flag=True, help="Also stopped containers.")
@click.option("--no-stream", is_flag=True, help="Print one sample and exit.")
@click.option("--no-trunc", is_flag=True, help="Full container IDs.")
@format_option()
@click.pass_obj
def stats(g: Globals, services: tuple[str, ...], show_all: bool, no_stream: bool, no_trunc: bool, fmt: str) -> int:
    from devenv.cli.common import echo, load_and_connect
    from devenv.cli.dockerfmt import render_table, stats_row
    from devenv.engine import control
    from devenv.plan.control import of_services

    project, client = load_and_connect(g.options, services, from_labels=True)
    clear = sys.stdout.isatty() and fmt == "table"
    while True:
        observed = control.project_containers(client, project.name, all=show_all)
        chosen = sorted(of_services(project, observed, services), key=lambda c: c.name)
        samples = control.each(chosen, lambda c: control.stats_sample(client, c))
        rows = [stats_row(c.id, c.name, sample) for c, sample, _error in samples]
        if fmt == "json":
            for r in rows:
                echo(json.dumps(r.to_dict(), separators=(",", ":")))
        else:
            text = render_table(rows, full_ids=no_trunc)
            echo(("\x1b[2J\x1b[H" if clear else "") + text)
        if no_stream:
            return 0
        if not chosen:  # nothing to sample: the engine's answer paced the loop; now we must
            import time

            time.sleep(1.0)

