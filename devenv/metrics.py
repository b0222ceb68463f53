"""Metrics to carbon (`x-devenv: {metrics: {carbon: HOST:PORT, prefix: P}}`): devenv's own timings
and the containers' CPU and memory, in carbon's plaintext protocol ("path value timestamp\\n")
over TCP. A background thread sends from a bounded queue: a full queue, a carbon that does not
answer or a lost connection drop metrics (one debug-level note), never slow or fail a command;
`close()` flushes for at most `FLUSH_SECONDS`.

Names: PREFIX.devenv.<project>.up.seconds, .<project>.service.<svc>.ready_seconds,
.<project>.watch.<svc>.sync_ms, .<project>.container.<name>.cpu_percent / .memory_bytes."""

from __future__ import annotations

import logging
import queue
import re
import socket
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("devenv.metrics")

CONNECT_TIMEOUT = 0.3  # seconds to connect to carbon before giving up
FLUSH_SECONDS = 0.5  # at most this long spent sending what is queued at exit
QUEUE_SIZE = 10_000  # metrics waiting to be sent; beyond it new ones are dropped

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    prefix: str = ""


@dataclass(frozen=True)
class Metric:
    path: str
    value: float
    timestamp: int

    def line(self) -> str:
        value = int(self.value) if float(self.value).is_integer() else round(self.value, 6)
        return f"{self.path} {value} {self.timestamp}\n"


def settings_of(x_devenv: Mapping[str, Any] | None) -> Settings | None:
    """The project's metrics settings (validated by the manifest loader), None when it has none."""
    metrics = (x_devenv or {}).get("metrics")
    if not isinstance(metrics, Mapping) or not isinstance(metrics.get("carbon"), str):
        return None
    host, _, port = metrics["carbon"].rpartition(":")
    return Settings(host.strip("[]"), int(port), str(metrics.get("prefix") or ""))


def part(name: str) -> str:
    """One component of a metric path: what carbon would split or refuse becomes '_'."""
    return _UNSAFE.sub("_", name).strip("_") or "_"


def path(prefix: str, project: str, *parts: str) -> str:
    return ".".join(([prefix] if prefix else []) + ["devenv", part(project)] + [part(p) for p in parts])


def up_metrics(prefix: str, project: str, seconds: float, ready: Mapping[str, float], now: int) -> list[Metric]:
    """`up`'s duration and each service's seconds from the command's start until it was ready."""
    out = [Metric(path(prefix, project, "up", "seconds"), round(seconds, 3), now)]
    out += [Metric(path(prefix, project, "service", svc, "ready_seconds"), round(s, 3), now) for svc, s in sorted(ready.items())]
    return out


def ready_by_service(applied: Any) -> dict[str, float]:
    """Seconds from the command's start until each service's last container was started (and, if
    waited on, ready); services with a container that did not get there have none."""
    from devenv.plan.actions import Op

    steps = (Op.START_CONTAINER, Op.WAIT_HEALTHY, Op.WAIT_RUNNING, Op.WAIT_COMPLETED)
    failed = {o.action.service for o in applied.outcomes if o.status != "done"}
    out: dict[str, float] = {}
    for outcome in applied.outcomes:
        service = outcome.action.service
        if outcome.ok and outcome.action.op in steps and service and service not in failed:
            out[service] = max(out.get(service, 0.0), outcome.ended - applied.started)
    return out


def stats_metrics(prefix: str, project: str, samples: Iterable[tuple[str, Mapping[str, Any]]], now: int) -> list[Metric]:
    """CPU % and memory bytes of each (container name, engine stats sample)."""
    from devenv.cli.dockerfmt import cpu_percent, memory_usage

    out = []
    for name, sample in samples:
        if sample:
            out.append(Metric(path(prefix, project, "container", name, "cpu_percent"), round(cpu_percent(sample), 3), now))
            out.append(Metric(path(prefix, project, "container", name, "memory_bytes"), int(memory_usage(sample)), now))
    return out


_STOP = object()


class Sender:
    """Sends metrics to one carbon from a daemon thread. `send` never blocks; after a failed connect
    or a lost connection the sender gives up (`gave_up`) and drops what follows."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = CONNECT_TIMEOUT, size: int = QUEUE_SIZE) -> None:
        self.address = (host, port)
        self.connect_timeout = connect_timeout
        self.queue: queue.Queue[Any] = queue.Queue(maxsize=size)
        self.gave_up = False
        self.sent = 0
        self.dropped = 0
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="devenv-metrics", daemon=True)
        self._thread.start()

    def send(self, metrics: Iterable[Metric]) -> None:
        for metric in metrics:
            if self.gave_up:
                self.dropped += 1
                continue
            try:
                self.queue.put_nowait(metric)
            except queue.Full:
                self.dropped += 1

    @property
    def stopped(self) -> bool:
        """Whether the sending thread has ended (after `close`)."""
        return not self._thread.is_alive()

    def close(self, timeout: float = FLUSH_SECONDS) -> None:
        """Send what is queued, for at most `timeout` seconds; what is left is dropped."""
        self._closing.set()  # a full queue has no room for the marker: the thread stops after its batch
        try:
            self.queue.put_nowait(_STOP)
        except queue.Full:
            pass
        self._thread.join(timeout)

    def _give_up(self, why: str) -> None:
        if not self.gave_up:
            self.gave_up = True
            log.debug("metrics: carbon %s:%s %s; metrics dropped", *self.address, why)

    def _run(self) -> None:
        conn: socket.socket | None = None
        try:
            while True:
                try:  # closing: the marker may not have fitted, so an empty queue ends it too
                    item = self.queue.get(timeout=0.05 if self._closing.is_set() else None)
                except queue.Empty:
                    return
                if item is _STOP:
                    return
                batch = [item]
                while len(batch) < 500:  # what is queued already goes in one write
                    try:
                        more = self.queue.get_nowait()
                    except queue.Empty:
                        break
                    if more is _STOP:
                        self.queue.put_nowait(_STOP)
                        break
                    batch.append(more)
                if self.gave_up:
                    self.dropped += len(batch)
                    continue
                try:
                    if conn is None:
                        conn = socket.create_connection(self.address, timeout=self.connect_timeout)
                        conn.settimeout(FLUSH_SECONDS)
                    conn.sendall("".join(m.line() for m in batch).encode())
                    self.sent += len(batch)
                except OSError as e:
                    self._give_up(f"unreachable ({e.strerror or e})")
                    self.dropped += len(batch)
        finally:
            if conn is not None:
                conn.close()


class Reporter:
    """A project's metrics: its settings, a sender, and the container sampler while a long command runs."""

    def __init__(self, settings: Settings, project: str) -> None:
        self.settings = settings
        self.project = project
        self.sender = Sender(settings.host, settings.port)
        self._stop = threading.Event()
        self._sampler: threading.Thread | None = None

    def up(self, applied: Any) -> None:
        self.sender.send(up_metrics(self.settings.prefix, self.project, applied.seconds, ready_by_service(applied), int(time.time())))

    def watch_event(self, event: Any) -> None:
        """A watch sync's duration (`devenv watch`'s WatchEvent "sync")."""
        ms = event.fields.get("ms") if event.event == "sync" else None
        if ms is not None and event.service:
            self.sender.send([Metric(path(self.settings.prefix, self.project, "watch", event.service, "sync_ms"), ms, int(time.time()))])

    def sample_containers(self, client: Any, every: float = 10.0) -> None:
        """Send each running container's CPU % and memory every `every` seconds until `close()`."""
        if self._sampler is not None:
            return

        def loop() -> None:
            from devenv.engine import control

            while not self._stop.is_set():
                try:
                    observed = control.project_containers(client, self.project, all=False)
                    samples = control.each(list(observed.containers), lambda c: control.stats_sample(client, c))
                    pairs = [(c.name, sample) for c, sample, _error in samples if sample]
                    self.sender.send(stats_metrics(self.settings.prefix, self.project, pairs, int(time.time())))
                except Exception as e:  # sampling is best effort: never the command's failure
                    log.debug("metrics: sampling failed: %s", e)
                self._stop.wait(every)

        self._sampler = threading.Thread(target=loop, name="devenv-metrics-sampler", daemon=True)
        self._sampler.start()

    def close(self) -> None:
        self._stop.set()
        self.sender.close()


def reporter(project: Any) -> Reporter | None:
    """The project's Reporter, None without `x-devenv.metrics`."""
    settings = settings_of(project.x_devenv)
    return None if settings is None else Reporter(settings, project.name)
