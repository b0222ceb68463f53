"""`devenv logs`: the services' output, one coloured prefix per container (NO_COLOR honoured). With
-f it keeps following the services as Compose does: a container recreated or added by scaling is
picked up from the engine's events, and following ends when none of them runs any more."""

from __future__ import annotations

import dataclasses
import datetime as dt
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import click

from devenv.cli.command import Globals, services_argument
from devenv.cli.common import echo, load
from devenv.errors import UsageError

if TYPE_CHECKING:
    from devenv.engine.client import Engine

COLORS = ("cyan", "yellow", "green", "magenta", "blue", "bright_cyan", "bright_yellow", "bright_green", "bright_magenta")
SERVICE_LABEL = "com.docker.compose.service"
NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"


def parse_since(value: str | None, option: str = "--since") -> int | float | dt.datetime | None:
    """A timestamp (RFC 3339 / ISO 8601, or Unix seconds) or a duration back from now (`42m`, `1h30m`)."""
    if not value:
        return None
    if value.isdigit():
        return int(value)
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        pass
    from devenv.manifest.shortsyntax import SyntaxProblem, parse_duration

    try:
        return int(time.time() - parse_duration(value) / 1e9)
    except SyntaxProblem:
        raise UsageError(f"invalid {option} {value!r}: use a timestamp (2024-01-02T13:23:37Z) or a duration (42m)") from None


def _lines(stream: Iterator[bytes]) -> Iterator[str]:
    buffer = b""
    for chunk in stream:
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode("utf-8", "replace").rstrip("\r")
    if buffer:
        yield buffer.decode("utf-8", "replace")


@dataclasses.dataclass(frozen=True)
class LogView:
    """How lines are shown and which part of each log is read."""

    tail: str = "all"
    timestamps: bool = False
    since: int | float | dt.datetime | None = None
    until: int | float | dt.datetime | None = None
    prefix: bool = True
    color: bool = True

    def read(self, client: Engine, container: str, follow: bool, since: Any = None, tail: str | None = None) -> Iterator[str]:
        from devenv.engine.queries import container_logs

        tail = self.tail if tail is None else tail
        chosen = since if since is not None else self.since
        return _lines(container_logs(client, container, follow=follow, tail=int(tail) if tail.isdigit() else "all",
                                     timestamps=self.timestamps, since=chosen, until=self.until))


class Prefixes:
    """`name | ` in a colour of its own per container, aligned, growing as containers appear."""

    def __init__(self, view: LogView, names: list[str]) -> None:
        self.view = view
        self.width = max((len(n) for n in names), default=0)
        self.colors: dict[str, str] = {}
        for n in names:
            self.color_of(n)

    def color_of(self, name: str) -> str:
        if name not in self.colors:
            self.colors[name] = COLORS[len(self.colors) % len(COLORS)]
        return self.colors[name]

    def line(self, name: str, text: str) -> str:
        if not self.view.prefix:
            return text
        from devenv.cli.output import style

        self.width = max(self.width, len(name))
        prefix = f"{name.ljust(self.width)} | "
        return (style(prefix, self.color_of(name), stream=sys.stdout) if self.view.color else prefix) + text


def _wanted(labels: Mapping[str, Any], services: tuple[str, ...], declared: set[str] | None, index: int | None) -> bool:
    if labels.get(ONEOFF_LABEL) == "True":
        return False
    service = labels.get(SERVICE_LABEL, "")
    if services and service not in services:
        return False
    if not services and declared is not None and service not in declared:
        return False
    return index is None or labels.get(NUMBER_LABEL) == str(index)


@dataclasses.dataclass
class Exit:
    """A followed container stopped (not to be restarted by the engine)."""

    name: str
    service: str
    code: int


def _event_time(event: dict[str, Any]) -> float:
    nano = event.get("timeNano")
    return nano / 1e9 if isinstance(nano, int) else float(event.get("time") or 0)


class Follower:
    """Follows the output of a project's containers as they come and go, as Compose's `logs -f` and
    attached `up` do. `start()` subscribes to the engine's events: call it before changing anything
    whose events matter (an `up`); `run()` then lists the containers, prints their output and the
    output of those that start later, and returns once none of them runs (or is about to)."""

    def __init__(self, client: Engine, project: str, services: tuple[str, ...], view: LogView, *,
                 declared: set[str] | None = None, index: int | None = None, grace: float = 3.0,
                 hidden: set[str] | None = None) -> None:
        self.hidden = hidden or set()  # services followed for their exits only, their output not shown
        self.client, self.project, self.services, self.view = client, project, services, view
        self.declared, self.index = declared, index
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.stream: Any = None
        self.pumps: dict[str, int] = {}  # container ID -> log streams being read
        self.running: set[str] = set()
        self.names: dict[str, str] = {}
        self.services_of: dict[str, str] = {}
        self.exited: set[str] = set()
        self.died_at: dict[str, float] = {}
        self.pumped_at: dict[str, float] = {}
        self.listed_at = 0.0
        self.prefixes = Prefixes(view, [])
        # Once nothing runs, how long to wait for a container to come (devenv replaces a container
        # by removing the old one first) before following ends.
        self.grace = grace


    def start(self) -> Follower:
        from devenv.engine.queries import project_events

        self.stream = project_events(self.client, self.project, ("create", "start", "die", "destroy"))
        threading.Thread(target=self._events, name="devenv-logs-events", daemon=True).start()
        return self

    def _events(self) -> None:
        try:
            for event in self.stream:
                self.items.put(("event", event))
        except Exception:
            pass
        self.items.put(("events-closed", None))

    def _pump(self, ident: str, since: Any, tail: str | None) -> None:
        self.pumps[ident] = self.pumps.get(ident, 0) + 1
        self.pumped_at[ident] = time.time()

        def read() -> None:
            try:
                for line in self.view.read(self.client, ident, True, since=since, tail=tail):
                    self.items.put(("line", (ident, line)))
            except Exception:
                pass
            self.items.put(("pump-done", ident))

        threading.Thread(target=read, daemon=True).start()

    def run(self, on_exit: Callable[[Exit], None] | None = None, *, since: Any = None) -> None:
        """Print until nothing followed runs. `since` applies to the containers there at the start
        (those that start later are read from their start)."""
        from devenv.engine.queries import project_summaries

        self.listed_at = time.time()
        summaries = [s for s in project_summaries(self.client, self.project)
                     if _wanted(s.labels, self.services, self.declared, self.index)]
        summaries.sort(key=lambda s: (s.service, s.name))
        self.prefixes = Prefixes(self.view, [s.name for s in summaries])
        for s in summaries:
            ident = s.id
            self.names[ident] = s.name
            self.services_of[ident] = s.service
            if s.state in ("running", "restarting", "paused"):
                self.running.add(ident)
            self._pump(ident, since, None)
        quiet_since: float | None = None
        while True:
            if self.running or self.pumps:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= self.grace:
                return
            try:
                kind, item = self.items.get(timeout=None if quiet_since is None else self.grace)
            except queue.Empty:
                continue
            if kind == "line":
                if self.services_of.get(item[0]) not in self.hidden:
                    echo(self.prefixes.line(self.names.get(item[0], item[0][:12]), item[1]))
            elif kind == "pump-done":
                self.pumps[item] -= 1
                if not self.pumps[item]:
                    del self.pumps[item]
            elif kind == "events-closed":
                self.running.clear()
            elif kind == "event":
                self._event(item, on_exit)

    def _event(self, event: dict[str, Any], on_exit: Callable[[Exit], None] | None) -> None:
        actor = event.get("Actor") or {}
        ident = str(actor.get("ID") or event.get("id") or "")
        attributes = actor.get("Attributes") or {}
        if not _wanted(attributes, self.services, self.declared, self.index):
            return
        action = str(event.get("Action") or event.get("status") or "").split(":", 1)[0]
        before_listing = _event_time(event) < self.listed_at
        if ident not in self.names:
            if before_listing:
                return  # a container gone before we looked (one that was replaced)
            self.names[ident] = str(attributes.get("name") or ident[:12])
            self.services_of[ident] = str(attributes.get(SERVICE_LABEL) or "")
        if action == "create" and not before_listing:
            self.running.add(ident)  # about to start
        elif action == "start":
            self.exited.discard(ident)
            if not before_listing:
                self.running.add(ident)
                if self.pumps.get(ident) and self.died_at.get(ident, 0.0) <= self.pumped_at.get(ident, 0.0):
                    return  # started while we listed it: its output is being read already
                # a new container: all its output; one restarted: what followed its last exit
                self._pump(ident, self.died_at.get(ident), "all")
        elif action == "die":
            self.died_at[ident] = _event_time(event)
            if before_listing and ident in self.running:
                return  # it stopped and was started again before we looked (a restart)
            from devenv.engine.queries import container_state

            state = container_state(self.client, ident)
            code = int(attributes.get("exitCode") or (state.exit_code if state else 0))
            name = self.names[ident]
            if state is not None and state.restarting:
                echo(f"{name} exited with code {code} (restarting)")
                return
            self.running.discard(ident)
            if ident in self.exited:
                return
            self.exited.add(ident)
            echo(f"{name} exited with code {code}")
            if on_exit is not None:
                on_exit(Exit(name, self.services_of[ident], code))
        elif action == "destroy":
            self.running.discard(ident)

    def close(self) -> None:
        try:
            if self.stream is not None:
                self.stream.close()
        except Exception:
            pass


def follow(
    client: Engine, project: str, services: tuple[str, ...], *, tail: str, timestamps: bool,
    since: float | dt.datetime | None = None, keep_following: bool = True, until: Any = None,
    prefix: bool = True, color: bool = True, index: int | None = None, declared: set[str] | None = None,
) -> int:
    """Print (and with `keep_following`, follow until the containers stop, or Ctrl-C) the logs of the
    project's containers (one-off `run` containers left out)."""
    view = LogView(tail=tail, timestamps=timestamps, since=since, until=until, prefix=prefix, color=color)
    if keep_following and until is None:
        follower = Follower(client, project, services, view, declared=declared, index=index).start()
        try:
            follower.run()
        finally:
            follower.close()
        return 0
    from devenv.engine.queries import project_summaries

    summaries = [s for s in project_summaries(client, project) if _wanted(s.labels, services, declared, index)]
    summaries.sort(key=lambda s: (s.service, s.name))
    prefixes = Prefixes(view, [s.name for s in summaries])
    for s in summaries:
        for line in view.read(client, s.id, False):
            echo(prefixes.line(s.name, line))
    return 0


@click.command("logs", help="Show the services' output.")
@services_argument
@click.option("-f", "--follow", "keep_following", is_flag=True, help="Keep following new output (and recreated containers).")
@click.option("-n", "--tail", default="all", metavar="N", help="Lines from the end of each container's log (default: all).")
@click.option("--since", metavar="TIME", help="Only output since a timestamp or a duration ago (42m).")
@click.option("--until", metavar="TIME", help="Only output before a timestamp or a duration ago (42m).")
@click.option("-t", "--timestamps", is_flag=True, help="Show timestamps.")
@click.option("--no-log-prefix", is_flag=True, help="Do not prefix the lines with the container's name.")
@click.option("--no-color", is_flag=True, help="Monochrome output.")
@click.option("--index", type=int, help="Only this container of the service (1, 2...).")
@click.pass_obj
def logs(g: Globals, services: tuple[str, ...], keep_following: bool, tail: str, since: str | None, until: str | None,
         timestamps: bool, no_log_prefix: bool, no_color: bool, index: int | None) -> int:
    from devenv.engine.client import connect

    if tail != "all" and not tail.isdigit():
        raise UsageError(f"invalid --tail {tail!r}: a number of lines, or 'all'")
    if index is not None and len(services) != 1:
        raise UsageError("logs: --index needs exactly one SERVICE")
    project = load(g.options, services)
    declared = set(project.services) | set(project.disabled_services)
    return follow(connect(), project.name, services, tail=tail, timestamps=timestamps, since=parse_since(since),
                  until=parse_since(until, "--until"), keep_following=keep_following, prefix=not no_log_prefix,
                  color=not no_color, index=index, declared=declared)
