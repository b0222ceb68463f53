"""The dashboard's state as JSON-ready data (pure): each service with its containers' state,
health, ports and time to ready, and what the last `up` did."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import Any

_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")
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
    ends = [end for e in health.get("Log") or () if e.get("ExitCode") == 0
            and (parse_time(e.get("Start")) or 0) >= started and (end := parse_time(e.get("End"))) is not None]
    return round(min(ends) - started, 3) if ends else None


def recorded_ready(last_up: Mapping[str, Any] | None, service: str) -> float | None:
    """The seconds the last `up` spent starting the service and waiting for it (None: it did not)."""
    if not last_up:
        return None
    spent = [a.get("seconds") or 0.0 for a in last_up.get("actions") or ()
             if a.get("service") == service and a.get("op") in READY_OPS and a.get("status") == "done"]
    return round(sum(spent), 3) if spent else None


def container_view(row: Mapping[str, Any], inspect: Mapping[str, Any] | None) -> dict[str, Any]:
    state = (inspect or {}).get("State") or {}
    return {
        "name": row.get("name"),
        "state": row.get("state"),
        "health": row.get("health") or ((state.get("Health") or {}).get("Status") or ""),
        "status": row.get("status"),
        "started_at": parse_time(state.get("StartedAt")),
        "ready_seconds": ready_seconds(inspect or {}),
        "ports": [
            {"url": p.get("url"), "label": f"{p.get('host_port')}→{p.get('container_port')}/{p.get('protocol')}"
             if p.get("host_port") else f"{p.get('container_port')}/{p.get('protocol')}"}
            for p in row.get("ports") or ()
        ],
    }


def build(project: str, services: Iterable[str], rows: Iterable[Mapping[str, Any]],
          inspects: Mapping[str, Mapping[str, Any]], last_up: Mapping[str, Any] | None) -> dict[str, Any]:
    """The page's whole state: `rows` as `ps --format json` gives them, `inspects` by container
    name, `last_up` as lastup.read() gives it."""
    by_service: dict[str, list[dict[str, Any]]] = {name: [] for name in services}
    for row in rows:
        if row.get("oneoff"):
            continue
        by_service.setdefault(str(row.get("service")), []).append(container_view(row, inspects.get(str(row.get("name")))))
    out = []
    for name in sorted(by_service):
        containers = by_service[name]
        measured = [c["ready_seconds"] for c in containers if c["ready_seconds"] is not None]
        out.append({
            "name": name,
            "containers": containers,
            "ready_seconds": max(measured) if measured else recorded_ready(last_up, name),
            "ready_source": "health log" if measured else ("last up" if recorded_ready(last_up, name) is not None else ""),
        })
    return {"project": project, "services": out, "last_up": last_up}
