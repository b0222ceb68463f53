"""`devenv events` (the project's container events as they happen) and `devenv wait` (until
containers exit)."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Mapping
from typing import Any

import click

from devenv.cli.command import Globals, services_argument
from devenv.errors import DevenvError, UsageError

COMPOSE_LABEL_PREFIX = "com.docker.compose."


def engine_time(value: str | None, option: str) -> str | None:
    """--since/--until as the engine takes it (Unix seconds): a timestamp, Unix seconds, or a
    duration back from now (`10m`, `1h30m`)."""
    if not value:
        return None
    if value.replace(".", "", 1).isdigit():
        return value
    try:
        when = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if when.tzinfo is None:
            when = when.astimezone()
        return f"{when.timestamp():.9f}"
    except ValueError:
        pass
    from devenv.manifest.shortsyntax import SyntaxProblem, parse_duration

    try:
        return f"{time.time() - parse_duration(value) / 1e9:.9f}"
    except SyntaxProblem:
        raise UsageError(
            f"events: invalid {option} {value!r}: a timestamp (2024-01-02T13:23:37Z), Unix seconds or a duration (10m)"
        ) from None


def event_record(event: Mapping[str, Any], services: tuple[str, ...] = ()) -> dict[str, Any] | None:
    """A container event of the engine as Compose reports it (None for what Compose leaves out:
    other object types, one-off containers, services not asked for)."""
    if event.get("Type", event.get("type")) != "container":
        return None
    actor = event.get("Actor") or {}
    attributes = actor.get("Attributes") or {}
    if attributes.get(COMPOSE_LABEL_PREFIX + "oneoff") == "True":
        return None
    service = attributes.get(COMPOSE_LABEL_PREFIX + "service", "")
    if services and service not in services:
        return None
    nanos = int(event.get("timeNano") or 0) or int(event.get("time") or 0) * 1_000_000_000
    return {
        "action": str(event.get("Action") or event.get("status") or ""),
        "attributes": {k: str(v) for k, v in sorted(attributes.items()) if not k.startswith(COMPOSE_LABEL_PREFIX)},
        "id": str(actor.get("ID") or event.get("id") or ""),
        "service": service,
        "nanos": nanos,
    }


def _local(nanos: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(nanos // 1_000_000_000, dt.UTC).astimezone()


def event_line(record: Mapping[str, Any]) -> str:
    """Compose's line: `2024-01-02 13:23:37.123456 container start <id> (name=web-1, image=...)`."""
    when = _local(record["nanos"]).strftime("%Y-%m-%d %H:%M:%S") + f".{(record['nanos'] % 1_000_000_000) // 1000:06d}"
    attributes = ", ".join(f"{k}={v}" for k, v in record["attributes"].items())
    return f"{when} container {record['action']} {record['id']} ({attributes})"


def event_json(record: Mapping[str, Any]) -> str:
    """Compose's --json object (keys sorted, `time` in RFC 3339 with nanoseconds)."""
    local = _local(record["nanos"])
    fraction = f"{record['nanos'] % 1_000_000_000:09d}".rstrip("0")
    offset = local.strftime("%z")
    zone = "Z" if offset in ("+0000", "") else f"{offset[:3]}:{offset[3:]}"
    stamp = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + zone
    data = {
        "action": record["action"], "attributes": record["attributes"], "id": record["id"],
        "service": record["service"], "time": stamp, "type": "container",
    }
    return json.dumps(data, separators=(",", ":"))


@click.command("events", help="Follow the project's container events (Ctrl-C ends).")
@services_argument
@click.option("--json", "as_json", is_flag=True, help="One JSON object per event.")
@click.option("--since", metavar="TIME", help="Also the events since a timestamp or a duration ago (10m).")
@click.option("--until", metavar="TIME", help="Stop at this timestamp.")
@click.pass_obj
def events(g: Globals, services: tuple[str, ...], as_json: bool, since: str | None, until: str | None) -> int:
    from devenv.cli.common import echo, load_and_connect
    from devenv.engine.queries import project_events

    project, client = load_and_connect(g.options, services, from_labels=True)
    stream = project_events(client, project.name, since=engine_time(since, "--since"), until=engine_time(until, "--until"))
    try:
        for event in stream:
            record = event_record(event, services)
            if record is not None:
                echo(event_json(record) if as_json else event_line(record))
    finally:
        stream.close()
    return 0


@click.command("wait", help="Block until the services' containers exit; exit with the first one's code.")
@click.argument("services", nargs=-1, required=True, metavar="SERVICE...")
@click.option("--down-project", is_flag=True, help="Take the project down (as `down --remove-orphans`) when the first container exits.")
@click.pass_obj
def wait(g: Globals, services: tuple[str, ...], down_project: bool) -> int:
    import queue

    from devenv.cli.common import echo, load_and_connect, say
    from devenv.engine import control
    from devenv.engine.background import spawn
    from devenv.plan.control import of_services

    project, client = load_and_connect(g.options, services, from_labels=True)
    observed = control.project_containers(client, project.name, all=False)
    targets = of_services(project, observed, services)
    if not targets:
        raise DevenvError(f"no running container of {', '.join(services)} in project {project.name}")
    exits: queue.Queue[tuple[Any, int | None, BaseException | None]] = queue.Queue()

    def watch(container: Any) -> None:
        try:
            exits.put((container, control.wait_exit(client, container), None))
        except BaseException as exc:  # handed over to the main thread
            exits.put((container, None, exc))

    for c in targets:
        spawn(watch, c)
    first: int | None = None
    for _ in targets:
        container, code, error = exits.get()
        if error is not None:
            from devenv.engine.api import explanation, is_not_found

            if is_not_found(error):  # removed meanwhile: it no longer runs, nothing to report
                continue
            if explanation(error) is None:
                raise error
            raise DevenvError(f"wait: {container.name}: {explanation(error)}")
        echo(f'container "{container.id}" exited with status code {code}')
        if first is None:
            first = code
            if down_project:
                from devenv.cli.output import Progress
                from devenv.engine.apply import apply
                from devenv.plan import DownOptions, plan_down

                applied = apply(
                    client, project, lambda seen: plan_down(project, seen, DownOptions(remove_orphans=True)),
                    listener=Progress(), say=say, wait_timeout=0, images=False,
                )
                return (first or 0) if not applied.failures else 1
    return first or 0
