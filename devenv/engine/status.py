"""The project's containers as rows for `ps` and the `up` summary (pure functions on the engine's
container list, plus the one call that lists them)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from devenv.plan.naming import project_filter

if TYPE_CHECKING:
    from devenv.engine.client import Engine


@dataclasses.dataclass(frozen=True)
class PortMapping:
    host_ip: str
    host_port: int | None
    container_port: int
    protocol: str
    engine_host: str | None = None  # a remote engine's host: its ports are there, not here

    @property
    def url(self) -> str:
        if self.host_port is None:
            return f"{self.container_port}/{self.protocol}"
        local = "localhost" if self.engine_host is None else self.engine_host
        host = local if self.host_ip in ("0.0.0.0", "::", "127.0.0.1", "") else self.host_ip
        host = f"[{host}]" if ":" in host else host
        if self.protocol == "tcp":
            return f"http://{host}:{self.host_port}"
        return f"{self.protocol}://{host}:{self.host_port}"

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.pop("engine_host")
        return out | {"url": self.url if self.host_port else None}


@dataclasses.dataclass(frozen=True)
class ContainerRow:
    name: str
    service: str
    number: int
    oneoff: bool
    image: str
    command: str
    state: str
    health: str
    status: str
    exit_code: int | None
    created: int
    ports: tuple[PortMapping, ...]

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["ports"] = [p.to_dict() for p in self.ports]
        return out


def _health(status: str) -> str:
    for word in ("healthy", "unhealthy", "starting"):
        if f"({word})" in status or f"(health: {word})" in status:
            return word
    return ""


def _exit_code(status: str) -> int | None:
    if status.startswith("Exited ("):
        try:
            return int(status[len("Exited (") :].split(")", 1)[0])
        except ValueError:
            return None
    return None


def row(summary: Mapping[str, Any]) -> ContainerRow:
    labels = summary.get("Labels") or {}
    status = summary.get("Status") or ""
    ports = []
    seen = set()
    for p in summary.get("Ports") or ():
        mapping = PortMapping(p.get("IP", ""), p.get("PublicPort"), p.get("PrivatePort", 0), p.get("Type", "tcp"))
        key = (mapping.host_port, mapping.container_port, mapping.protocol)
        if mapping.host_port and key in seen:
            continue  # IPv4 and IPv6 bindings of one published port
        seen.add(key)
        ports.append(mapping)
    number = labels.get("com.docker.compose.container-number", "0")
    return ContainerRow(
        name=(summary.get("Names") or ["/?"])[0].lstrip("/"),
        service=labels.get("com.docker.compose.service", ""),
        number=int(number) if number.isdigit() else 0,
        oneoff=labels.get("com.docker.compose.oneoff") == "True",
        image=summary.get("Image", ""),
        command=summary.get("Command", ""),
        state=summary.get("State", ""),
        health=_health(status),
        status=status,
        exit_code=_exit_code(status),
        created=int(summary.get("Created") or 0),
        ports=tuple(sorted(ports, key=lambda m: (m.container_port, m.protocol, m.host_ip))),
    )


def list_rows(client: Engine, project: str, *, all: bool = True) -> list[ContainerRow]:
    from devenv.plan.shipping import remote_host

    rows = [row(c) for c in client.api.containers(all=all, filters=project_filter(project))]
    host = remote_host(str(getattr(client, "address", "") or ""))
    if host is not None:  # a published port of a remote engine is on that host
        rows = [dataclasses.replace(r, ports=tuple(dataclasses.replace(p, engine_host=host) for p in r.ports)) for r in rows]
    return sorted(rows, key=lambda r: (r.service, r.oneoff, r.number, r.name))


def age(created: int) -> str:
    seconds = max(0, int(time.time()) - created)
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}{'s' if n > 1 else ''} ago"
    return f"{seconds} seconds ago"
