"""`devenv doctor`: is this machine ready for `up`? One line per check (ok / warn / fail, what was
seen, a remedy when not ok); exit 1 when something blocks `up`. Probes: devenv/engine/doctor.py;
verdicts: devenv/plan/doctor.py."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, format_option

COLORS = {"ok": "green", "warn": "yellow", "fail": "red"}


@click.command("doctor", help="Check the engine, BuildKit, storage, published ports, disk space, inotify limits, "
                              "the environment's registry and context, and the clock; exit 1 when something blocks `up`.")
@format_option()
@click.pass_obj
def doctor(g: Globals, fmt: str) -> int:
    import json
    import sys

    from devenv.cli.common import echo, publish_host
    from devenv.cli.output import style
    from devenv.engine.doctor import examine
    from devenv.plan.doctor import blocks_up, lines, to_json

    checks = examine(g.options, publish_host)
    if fmt == "json":
        echo(json.dumps(to_json(checks), separators=(",", ":")))
    else:
        width = max(len(c.name) for c in checks)
        for status, name, text in lines(checks):
            echo(f"{style(f'{status:<4}', COLORS.get(status), stream=sys.stdout)}  {name:<{width}}  {text}")
    return 1 if blocks_up(checks) else 0
