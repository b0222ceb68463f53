"""The dashboard's state as JSON-ready data (pure): each service with its containers' state,
health, ports and time to ready, and what the last `up` did."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
HEALTH_LOG_KEPT = 5  # the engine keeps this many health checks per container
READY_OPS = ("start_container", "wait_running", "wait_healthy", "wait_completed")


def parse_time(value: object) -> float | None:
    """The engine's RFC 3339 time (nanoseconds allowed) as Unix seconds; None for none or zero."""
    match = _TIME.match(str(value or ""))
    if not match or match.group(1).startswith("0001-"):
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = dt.datetime.fromisoformat(match.group(1) + zone).timestamp()
    fraction = match.group(2) or "0"
    return whole + int(fraction[:9].ljust(9, "0")) / 1e9


def ready_seconds(inspect: Mapping[str, Any]) -> float | None:
    """Seconds from the container's start to its first passed health check (its health log,
    which keeps the last checks only); None when not running, not healthy, or unknown."""
    state = inspect.get("State") or {}
    started = parse_time(state.get("StartedAt"))
    if not state.get("Running") or started is None:
        return None
    health = state.get("Health")
    if not health:
        return None
    if health.get("Status") != "healthy":
        return None
    log = health.get("Log") or ()
    this_run = [e for e in log if (parse_time(e.get("Start")) or 0) >= started]
    if len(log) >= HEALTH_LOG_KEPT and len(this_run) == len(log):
        return None  # the engine keeps the last checks only: the first of this run may be gone
    ends = [end for e in this_run if e.get("ExitCode") == 0 and (end := parse_time(e.get("End"))) is not None]
    return round(min(ends) - started, 3) if ends else None


class ReadyClock:
    """Time to ready as the dashboard sees it happen: from a container's `start` event to its next
    `health_status: healthy` event (from the stream the page is updated from)."""

    def __init__(self) -> None:
        self.started: dict[str, int] = {}  # container name -> timeNano of its last start
        self.ready: dict[str, float] = {}

    def record(self, event: Mapping[str, Any]) -> None:
        name = str(((event.get("Actor") or {}).get("Attributes") or {}).get("name") or "")
        action = str(event.get("Action") or event.get("status") or "")
        when = int(event.get("timeNano") or 0)
        if not name or not when:
            return
        if action == "start":
            self.started[name] = when
            self.ready.pop(name, None)
        elif action == "health_status: healthy" and name in self.started and name not in self.ready:
            self.ready[name] = round((when - self.started[name]) / 1e9, 3)


def recorded_ready(last_up: Mapping[str, Any] | None, service: str) -> float | None:
    """The seconds the last `up` spent starting the service and waiting for it (None: it did not)."""
    if not last_up:
        return None
    spent = [a.get("seconds") or 0.0 for a in last_up.get("actions") or ()
             if a.get("service") == service and a.get("op") in READY_OPS and a.get("status") == "done"]
    return round(sum(spent), 3) if spent else None


def container_view(row: Mapping[str, Any], inspect: Mapping[str, Any] | None, seen: float | None = None) -> dict[str, Any]:
    """`seen`: the time to ready ReadyClock measured, used when the health log cannot tell."""
    state = (inspect or {}).get("State") or {}
    measured = ready_seconds(inspect or {})
    healthy = bool((state.get("Health") or {}).get("Status") == "healthy")
    return {
        "name": row.get("name"),
        "state": row.get("state"),
        "health": row.get("health") or ((state.get("Health") or {}).get("Status") or ""),
        "status": row.get("status"),
        "started_at": parse_time(state.get("StartedAt")),
        "ready_seconds": measured if measured is not None else (seen if healthy and state.get("Running") else None),
        "ports": [
            {"url": p.get("url"), "label": f"{p.get('host_port')}→{p.get('container_port')}/{p.get('protocol')}"
             if p.get("host_port") else f"{p.get('container_port')}/{p.get('protocol')}"}
            for p in row.get("ports") or ()
        ],
    }


def build(project: str, services: Iterable[str], rows: Iterable[Mapping[str, Any]],
          inspects: Mapping[str, Mapping[str, Any]], last_up: Mapping[str, Any] | None,
          seen: Mapping[str, float] | None = None) -> dict[str, Any]:
    """The page's whole state: `rows` as `ps --format json` gives them, `inspects` by container
    name, `last_up` as lastup.read() gives it, `seen` as ReadyClock.ready."""
    by_service: dict[str, list[dict[str, Any]]] = {name: [] for name in services}
    for row in rows:
        if row.get("oneoff"):
            continue
        by_service.setdefault(str(row.get("service")), []).append(container_view(
            row, inspects.get(str(row.get("name"))), (seen or {}).get(str(row.get("name")))))
    out = []
    for name in sorted(by_service):
        containers = by_service[name]
        measured = [c["ready_seconds"] for c in containers if c["ready_seconds"] is not None]
        out.append({
            "name": name,
            "containers": containers,
            "ready_seconds": max(measured) if measured else recorded_ready(last_up, name),
            "ready_source": "measured" if measured else ("last up" if recorded_ready(last_up, name) is not None else ""),
        })
    return {"project": project, "services": out, "last_up": last_up}
