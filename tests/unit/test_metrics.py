"""devenv/metrics.py: carbon's plaintext lines reach a listener; a dead carbon is given up on
without failing anything; names, settings and x-devenv.metrics validation."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from types import SimpleNamespace

import pytest

from devenv import metrics
from devenv.manifest import xdevenv
from devenv.plan.actions import Action, Op


class Listener:
    """A carbon stand-in on 127.0.0.1: collects the lines it receives."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.data = b""
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.data += chunk
        self.done.set()

    def lines(self) -> list[tuple[str, float, int]]:
        assert self.done.wait(10), "the sender never closed its connection"
        out = []
        for line in self.data.decode().splitlines():
            name, value, stamp = line.split(" ")
            out.append((name, float(value), int(stamp)))
        return out

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def carbon() -> Iterator[Listener]:
    listener = Listener()
    yield listener
    listener.close()


def test_lines_arrive_in_carbons_plaintext_protocol(carbon: Listener) -> None:
    sender = metrics.Sender("127.0.0.1", carbon.port)
    sender.send(metrics.up_metrics("team", "shop", 2.5, {"web": 1.25, "db": 0.5}, 1700000000))
    sender.send([metrics.Metric("team.devenv.shop.watch.web.sync_ms", 12.3, 1700000001)])
    sender.close(timeout=5)
    assert carbon.lines() == [
        ("team.devenv.shop.up.seconds", 2.5, 1700000000),
        ("team.devenv.shop.service.db.ready_seconds", 0.5, 1700000000),
        ("team.devenv.shop.service.web.ready_seconds", 1.25, 1700000000),
        ("team.devenv.shop.watch.web.sync_ms", 12.3, 1700000001),
    ]
    assert sender.sent == 4 and not sender.gave_up and sender.dropped == 0 and sender.stopped


def _dead_port() -> int:
    with socket.socket() as s:  # a port nothing listens on: bound, then closed
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_port_is_given_up_and_nothing_raises() -> None:
    sender = metrics.Sender("127.0.0.1", _dead_port())
    sender.send(metrics.up_metrics("", "p", 1.0, {}, 1))
    sender.close(timeout=5)
    assert sender.gave_up and sender.sent == 0 and sender.stopped
    sender.send(metrics.up_metrics("", "p", 1.0, {"a": 1.0}, 2))  # after giving up: dropped at once
    assert sender.dropped == 3


def test_a_full_queue_drops_instead_of_blocking() -> None:
    sender = metrics.Sender("127.0.0.1", _dead_port(), size=1)
    sender.send([metrics.Metric(f"m.{i}", i, 1) for i in range(1000)])  # returns: never waits for room
    sender.close(timeout=5)
    assert sender.dropped >= 990 and sender.stopped


def test_names_are_carbon_safe() -> None:
    assert metrics.path("", "my.proj", "service", "web app", "ready_seconds") == "devenv.my_proj.service.web_app.ready_seconds"
    assert metrics.path("a.b", "p", "up", "seconds") == "a.b.devenv.p.up.seconds"
    assert metrics.Metric("x", 3.0, 5).line() == "x 3 5\n"


def test_settings_from_x_devenv() -> None:
    assert metrics.settings_of({"metrics": {"carbon": "carbon:2003", "prefix": "t"}}) == metrics.Settings("carbon", 2003, "t")
    assert metrics.settings_of({"metrics": {"carbon": "[::1]:2003"}}) == metrics.Settings("::1", 2003, "")
    assert metrics.settings_of({}) is None and metrics.settings_of(None) is None


def _outcome(op: Op, service: str, ended: float, status: str = "done") -> SimpleNamespace:
    action = Action(id=f"{op.value}:{service}", op=op, target=f"p-{service}-1", service=service)
    return SimpleNamespace(action=action, status=status, ended=ended, ok=status == "done")


def test_ready_by_service_takes_the_last_step_and_skips_failures() -> None:
    applied = SimpleNamespace(started=100.0, outcomes=[
        _outcome(Op.START_CONTAINER, "web", 101.0), _outcome(Op.WAIT_HEALTHY, "web", 103.5),
        _outcome(Op.START_CONTAINER, "db", 100.5), _outcome(Op.START_CONTAINER, "bad", 100.2),
        _outcome(Op.WAIT_HEALTHY, "bad", 104.0, "failed"),
    ])
    assert metrics.ready_by_service(applied) == {"web": 3.5, "db": 0.5}


def test_stats_metrics_cpu_and_memory() -> None:
    sample = {
        "cpu_stats": {"cpu_usage": {"total_usage": 300}, "system_cpu_usage": 2000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 100}, "system_cpu_usage": 1000},
        "memory_stats": {"usage": 4096, "stats": {}},
    }
    got = {m.path: m.value for m in metrics.stats_metrics("", "p", [("p-web-1", sample)], 1)}
    assert got["devenv.p.container.p-web-1.memory_bytes"] == 4096
    assert got["devenv.p.container.p-web-1.cpu_percent"] == pytest.approx(40.0)


@pytest.mark.parametrize("value, says", [
    ("carbon:2003", "must be a mapping"),
    ({"carbon": "carbon"}, "invalid carbon address 'carbon'"),
    ({"carbon": "carbon:70000"}, "invalid carbon address"),
    ({"prefix": "x"}, "invalid carbon address None"),
    ({"carbon": "c:2003", "prefix": "a..b"}, "invalid prefix 'a..b'"),
    ({"carbon": "c:2003", "prefx": "a"}, "did you mean 'prefix'?"),
])
def test_bad_metrics_settings_name_the_field(value: object, says: str) -> None:
    with pytest.raises(Exception) as caught:
        xdevenv.check({"x-devenv": {"metrics": value}})
    assert says in str(caught.value) and str(caught.value.path).startswith("x-devenv.metrics")  # type: ignore[attr-defined]


def test_good_metrics_settings_pass() -> None:
    xdevenv.check({"x-devenv": {"metrics": {"carbon": "carbon:2003", "prefix": "team.laptop"}}})
    xdevenv.check({"x-devenv": {"metrics": {"carbon": "127.0.0.1:2003"}}})


def test_a_watch_sync_is_sent_as_sync_ms(carbon: Listener) -> None:
    from devenv.engine.watching import WatchEvent

    reporter = metrics.Reporter(metrics.Settings("127.0.0.1", carbon.port, "t"), "shop")
    reporter.watch_event(WatchEvent("sync", "web: synced 1 file", "web", {"ms": 48.5}))
    reporter.watch_event(WatchEvent("restart", "web restarted", "web"))  # not a sync: no metric
    reporter.close()
    assert [(name, value) for name, value, _ in carbon.lines()] == [("t.devenv.shop.watch.web.sync_ms", 48.5)]
