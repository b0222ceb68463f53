"""Before creating anything: are the host ports the plan publishes free? Names the holder if not."""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from devenv.engine.client import Engine


class Binding(NamedTuple):
    host_ip: str
    port: int
    protocol: str  # tcp | udp
    container: str  # the container that wants it


def bindings_of(body: dict, container: str) -> list[Binding]:
    out = []
    for key, entries in ((body.get("HostConfig") or {}).get("PortBindings") or {}).items():
        protocol = key.partition("/")[2] or "tcp"
        for entry in entries or ():
            port = str(entry.get("HostPort") or "")
            if port.isdigit() and int(port) > 0:
                out.append(Binding(entry.get("HostIp") or "0.0.0.0", int(port), protocol, container))
    return out


def _is_local(address: str) -> bool:
    return address.startswith("unix://") or address.startswith("npipe://")


def _free_here(binding: Binding) -> bool:
    """Whether the engine's proxy could bind the port: it binds TCP with SO_REUSEADDR (Go's default),
    so a port left in TIME_WAIT by the connections of a container just removed is free to it."""
    family = socket.AF_INET6 if ":" in binding.host_ip else socket.AF_INET
    kind = socket.SOCK_DGRAM if binding.protocol == "udp" else socket.SOCK_STREAM
    with socket.socket(family, kind) as sock:
        if kind == socket.SOCK_STREAM:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((binding.host_ip, binding.port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return False
            if exc.errno == errno.EADDRNOTAVAIL:
                return True  # an address this host lacks: the engine will say so
            raise
    return True


def _container_holder(client: Engine, binding: Binding) -> str | None:
    for c in client.api.containers(filters={"publish": f"{binding.port}/{binding.protocol}"}):
        names = [n.lstrip("/") for n in c.get("Names") or []]
        return f"container {names[0] if names else c['Id'][:12]}"
    return None


def _process_holder(binding: Binding) -> str | None:
    """Who holds the port, from /proc (naming a process needs the rights to read its fds): the process
    listening on it, else the process whose connection uses it as its local port, else a closing
    connection (TIME_WAIT, owned by no process)."""
    table = "/proc/net/udp" if binding.protocol == "udp" else "/proc/net/tcp"
    listening, connected, closing = set(), set(), False
    for path in (table, table + "6"):
        try:
            with open(path) as fh:
                next(fh)
                for line in fh:
                    fields = line.split()
                    if int(fields[1].rsplit(":", 1)[1], 16) != binding.port:
                        continue
                    if binding.protocol == "udp" or fields[3] == "0A":
                        listening.add(fields[9])
                    elif fields[9] != "0":
                        connected.add(fields[9])
                    elif fields[3] == "06":
                        closing = True
        except OSError:
            continue
    for inodes, what in ((listening, ""), (connected, " (a connection of it uses that port)")):
        holder = _owner(inodes)
        if holder:
            return holder + what
    if closing:
        return "a closing connection (TIME_WAIT; the port is free again within a minute)"
    return None


def _owner(inodes: set[str]) -> str | None:
    if not inodes:
        return None
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    with open(f"/proc/{pid}/comm") as fh:
                        return f"process {fh.read().strip()} (pid {pid})"
        except OSError:
            continue
    return None


def taken(client: Engine, address: str, wanted: Iterable[Binding], released: set[str]) -> list[str]:
    """One message per wanted binding that is taken; `released` containers' ports are about to be freed."""
    problems = []
    for binding in wanted:
        holder = _container_holder(client, binding)
        if holder and holder.removeprefix("container ") in released:
            continue
        if holder is None and _is_local(address) and not _free_here(binding):
            holder = _process_holder(binding) or "another program"
        if holder:
            problems.append(
                f"port {binding.host_ip}:{binding.port}/{binding.protocol} for {binding.container} is taken by {holder}"
            )
    return problems
