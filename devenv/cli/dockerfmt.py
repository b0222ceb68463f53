"""Figures written as the docker CLI (and so Compose) writes them: sizes, durations, tables, and
the `stats` of one sample of `GET /containers/{id}/stats?stream=false`. Pure functions."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

DECIMAL = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
BINARY = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB")
HEADERS = ("CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O", "BLOCK I/O", "PIDS")


def _custom_size(fmt: str, size: float, base: float, units: tuple[str, ...]) -> str:
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return fmt % size + units[i]


def human_size(size: float) -> str:
    """Decimal units, 3 significant digits: `806B`, `1.11kB`, `23.5MB`."""
    return _custom_size("%.3g", float(size), 1000.0, DECIMAL)


def bytes_size(size: float) -> str:
    """Binary units, 4 significant digits: `812KiB`, `1.227MiB`, `23.54GiB`."""
    return _custom_size("%.4g", float(size), 1024.0, BINARY)


def cpu_percent(sample: Mapping[str, Any]) -> float:
    cpu = sample.get("cpu_stats") or {}
    pre = sample.get("precpu_stats") or {}
    cpu_delta = float((cpu.get("cpu_usage") or {}).get("total_usage") or 0) - float((pre.get("cpu_usage") or {}).get("total_usage") or 0)
    system_delta = float(cpu.get("system_cpu_usage") or 0) - float(pre.get("system_cpu_usage") or 0)
    online = float(cpu.get("online_cpus") or 0) or float(len((cpu.get("cpu_usage") or {}).get("percpu_usage") or ()))
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_usage(sample: Mapping[str, Any]) -> float:
    """Usage without the page cache: `total_inactive_file` (cgroup v1) or `inactive_file` (v2)."""
    mem = sample.get("memory_stats") or {}
    usage = float(mem.get("usage") or 0)
    stats = mem.get("stats") or {}
    if "total_inactive_file" in stats and stats["total_inactive_file"] < usage:
        return usage - stats["total_inactive_file"]
    if float(stats.get("inactive_file") or 0) < usage:
        return usage - float(stats.get("inactive_file") or 0)
    return usage


def network_io(sample: Mapping[str, Any]) -> tuple[float, float]:
    rx = tx = 0.0
    for net in (sample.get("networks") or {}).values():
        rx += float(net.get("rx_bytes") or 0)
        tx += float(net.get("tx_bytes") or 0)
    return rx, tx


def block_io(sample: Mapping[str, Any]) -> tuple[float, float]:
    read = write = 0.0
    for entry in (sample.get("blkio_stats") or {}).get("io_service_bytes_recursive") or ():
        op = str(entry.get("op") or "")
        if op[:1] in ("r", "R"):
            read += float(entry.get("value") or 0)
        elif op[:1] in ("w", "W"):
            write += float(entry.get("value") or 0)
    return read, write


@dataclasses.dataclass(frozen=True)
class StatsRow:
    container: str  # full ID
    name: str
    cpu: str
    mem_usage: str
    mem: str
    net_io: str
    block_io: str
    pids: str

    def cells(self) -> tuple[str, ...]:
        return (self.container[:12], self.name, self.cpu, self.mem_usage, self.mem, self.net_io, self.block_io, self.pids)

    def to_dict(self) -> dict[str, str]:
        """docker's JSON fields (keys sorted, as it prints them)."""
        return {
            "BlockIO": self.block_io, "CPUPerc": self.cpu, "Container": self.container, "ID": self.container[:12],
            "MemPerc": self.mem, "MemUsage": self.mem_usage, "Name": self.name, "NetIO": self.net_io, "PIDs": self.pids,
        }


def stats_row(container_id: str, name: str, sample: Mapping[str, Any] | None) -> StatsRow:
    """The row of one container; `None` (no sample: it went away) gives docker's `--` cells."""
    if not sample:
        return StatsRow(container_id, name, "--", "-- / --", "--", "-- / --", "-- / --", "--")
    limit = float((sample.get("memory_stats") or {}).get("limit") or 0)
    usage = memory_usage(sample)
    rx, tx = network_io(sample)
    read, write = block_io(sample)
    pids = (sample.get("pids_stats") or {}).get("current")
    return StatsRow(
        container=container_id,
        name=name,
        cpu=f"{cpu_percent(sample):.2f}%",
        mem_usage=f"{bytes_size(usage)} / {bytes_size(limit)}",
        mem=f"{(usage / limit * 100.0 if limit else 0.0):.2f}%",
        net_io=f"{human_size(rx)} / {human_size(tx)}",
        block_io=f"{human_size(read)} / {human_size(write)}",
        pids=str(pids if pids is not None else 0),
    )


def render_table(rows: list[StatsRow], full_ids: bool = False) -> str:
    """docker's layout (a tabwriter of minimum width 10, padding 3); IDs cut to 12 unless `full_ids`."""
    cells = [(r.container,) + r.cells()[1:] if full_ids else r.cells() for r in rows]
    table: list[tuple[str, ...]] = [HEADERS, *cells]
    return tabulate(table, minwidth=10, padding=3)


def tabulate(rows: Sequence[Sequence[str]], minwidth: int = 0, padding: int = 2) -> str:
    """Go's tabwriter as docker uses it: every cell but the last of its row padded to its column's
    width (the widest such cell plus `padding`, at least `minwidth`)."""
    widths: dict[int, int] = {}
    for cells in rows:
        for i, cell in enumerate(cells[:-1]):
            widths[i] = max(widths.get(i, minwidth), len(cell) + padding)
    return "\n".join("".join(cell.ljust(widths[i]) for i, cell in enumerate(r[:-1])) + (r[-1] if r else "") for r in rows)


def human_duration(seconds: float) -> str:
    """go-units' HumanDuration: `Less than a second`, `5 seconds`, `About a minute`, `3 days`..."""
    s = int(seconds)
    if s < 1:
        return "Less than a second"
    if s == 1:
        return "1 second"
    if s < 60:
        return f"{s} seconds"
    minutes = s // 60
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)  # go-units rounds half up
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(seconds / 3600) // 24 // 365} years"


def split_reference(reference: str) -> tuple[str, str]:
    """An image reference as Compose's `images` shows it: (familiar repository, tag); a bare name
    means `latest`; a digest-only reference has no tag; an image ID gives ("", "")."""
    ref = reference.strip()
    bare = ref[len("sha256:"):] if ref.startswith("sha256:") else ref
    if not ref or (len(bare) == 64 and all(ch in "0123456789abcdef" for ch in bare)):
        return "", ""
    name, _, digest = ref.partition("@")
    tag = ""
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = name.rsplit(":", 1)
    elif not digest:
        tag = "latest"
    for prefix in ("docker.io/library/", "index.docker.io/library/", "docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name, tag
