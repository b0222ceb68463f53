"""`devenv logs`: the services' output, one coloured prefix per container (NO_COLOR honoured)."""

from __future__ import annotations

import datetime as dt
import sys
import queue
import threading
import time
from typing import TYPE_CHECKING, Iterator

import click

from devenv.cli.command import Globals, services_argument
from devenv.cli.common import echo, load
from devenv.errors import UsageError

if TYPE_CHECKING:
    import docker

COLORS = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow", "bright_green", "bright_magenta")


def parse_since(value: str | None) -> int | dt.datetime | None:
    """A timestamp (RFC 3339 / ISO 8601, or Unix seconds) or a duration back from now (`42m`, `1h30m`)."""
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    from devenv.manifest.shortsyntax import SyntaxProblem, parse_duration

    try:
        return int(time.time() - parse_duration(value) / 1e9)
    except SyntaxProblem:
        raise UsageError(f"invalid --since {value!r}: use a timestamp (2024-01-02T13:23:37Z) or a duration (42m)") from None


def _lines(stream: Iterator[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace")


def _prefixes(names: list[str]) -> dict[str, str]:
    from devenv.cli.output import style

    width = max((len(n) for n in names), default=0)
    return {n: style(f"{n.ljust(width)} | ", COLORS[i % len(COLORS)], stream=sys.stdout) for i, n in enumerate(names)}


def follow(
    client: "docker.DockerClient", project: str, services: tuple[str, ...], *, tail: str, timestamps: bool,
    since: int | dt.datetime | None = None, keep_following: bool = True,
) -> int:
    """Print (and with `keep_following`, follow until Ctrl-C) the logs of the project's containers."""
    from devenv.engine.status import list_rows

    rows = [r for r in list_rows(client, project) if not services or r.service in services]
    prefixes = _prefixes([r.name for r in rows])
    tail_arg: int | str = int(tail) if tail.isdigit() else "all"
    if not keep_following:
        for r in rows:
            stream = client.api.logs(r.name, stream=True, follow=False, tail=tail_arg, timestamps=timestamps, since=since)
            for line in _lines(stream):
                echo(prefixes[r.name] + line)
        return 0
    lines: queue.Queue[tuple[str, str] | None] = queue.Queue()

    def pump(name: str) -> None:
        try:
            stream = client.api.logs(name, stream=True, follow=True, tail=tail_arg, timestamps=timestamps, since=since)
            for line in _lines(stream):
                lines.put((name, line))
        except Exception:
            pass
        lines.put(None)

    for r in rows:
        threading.Thread(target=pump, args=(r.name,), daemon=True).start()
    open_streams = len(rows)
    while open_streams:
        item = lines.get()
        if item is None:
            open_streams -= 1
            continue
        echo(prefixes[item[0]] + item[1])
    return 0


@click.command("logs", help="Show the services' output.")
@services_argument
@click.option("-f", "--follow", "keep_following", is_flag=True, help="Keep following new output.")
@click.option("-n", "--tail", default="all", metavar="N", help="Lines from the end of each container's log (default: all).")
@click.option("--since", metavar="TIME", help="Only output since a timestamp or a duration ago (42m).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.pass_obj
def logs(g: Globals, services: tuple[str, ...], keep_following: bool, tail: str, since: str | None, timestamps: bool) -> int:
    from devenv.engine.client import connect

    if tail != "all" and not tail.isdigit():
        raise UsageError(f"invalid --tail {tail!r}: a number of lines, or 'all'")
    project = load(g.options, services)
    return follow(connect(), project.name, services, tail=tail, timestamps=timestamps,
                  since=parse_since(since), keep_following=keep_following)
