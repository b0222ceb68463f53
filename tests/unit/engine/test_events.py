"""The event watch without an engine: fake event streams that end, replay and die; the readiness
wait's crash-loop rule on scripted container states."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from devenv.engine import events
from devenv.engine.events import CRASH_LOOP_RESTARTS, EventWatch, WaitFailed, running_verdict, wait_for


class FakeStream:
    def __init__(self, items: list[dict[str, Any]], hold: bool = False) -> None:
        self.items = items
        self.hold = hold  # after the items, block until closed (a live stream)
        self.closed = threading.Event()

    def __iter__(self):
        yield from self.items
        if self.hold:
            self.closed.wait()

    def close(self) -> None:
        self.closed.set()


class FakeAPI:
    """`events()` hands out the scripted streams in turn, then streams that end at once."""

    def __init__(self, *streams: FakeStream) -> None:
        self.streams = list(streams)
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def events(self, **kwargs: Any) -> FakeStream:
        with self.lock:
            self.calls.append(kwargs)
            return self.streams.pop(0) if self.streams else FakeStream([])


class FakeClient:
    def __init__(self, api: FakeAPI) -> None:
        self.api = api


def event(action: str, name: str, nano: int, cid: str = "", **attributes: str) -> dict[str, Any]:
    return {
        "Action": action, "id": cid or f"id-{name}", "timeNano": nano, "time": nano // 10**9,
        "Actor": {"ID": cid or f"id-{name}", "Attributes": {"name": name, **attributes}},
    }


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RECONNECT_DELAYS", (0.01, 0.02, 0.05))


def until(condition, timeout: float = 5.0) -> None:
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "condition not reached"
        time.sleep(0.005)


def test_a_wait_on_an_ended_stream_rereads_at_a_bounded_pace_not_in_a_tight_loop(monkeypatch) -> None:
    """The engine's stream ends (and every new subscription ends at once): the waiter re-reads the
    container at FALLBACK_RECHECK, not 100,000 times a second."""
    monkeypatch.setattr(events, "FALLBACK_RECHECK", 0.1)
    watch = EventWatch(FakeClient(FakeAPI()), "demo")
    reads = 0

    def read() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        return {"State": {"Status": "created"}}

    with pytest.raises(WaitFailed, match="timed out"):
        wait_for(watch, "demo-web-1", read, running_verdict, time.monotonic() + 0.6, lambda: False)
    watch.close()
    assert reads <= 10, f"{reads} reads in 0.6 s"
    assert watch.subscriptions > 1  # it kept trying to subscribe again


def test_an_ended_stream_is_resubscribed_from_the_last_event_and_replays_are_not_counted_twice() -> None:
    first = FakeStream([event("start", "web", 1_000_000_000_5), event("die", "web", 1_000_000_000_7, exitCode="3")])
    # `since` replays the event at the same nanosecond; then a new one, and the stream stays open.
    second = FakeStream(
        [event("die", "web", 1_000_000_000_7, exitCode="3"), event("start", "web", 1_000_000_000_9)], hold=True
    )
    api = FakeAPI(first, second)
    watch = EventWatch(FakeClient(api), "demo")
    until(lambda: watch.count("web", "start") == 2)
    assert watch.count("web", "die") == 1 and watch.count("id-web", "die") == 1
    assert watch.last_exit_code("id-web") == "3"
    assert "since" not in api.calls[0]
    assert api.calls[1]["since"] == "10.000000007"  # seconds.nanoseconds of the last event seen
    assert api.calls[1]["filters"] == api.calls[0]["filters"]
    assert watch.connected and not watch.closed
    watch.close()
    until(lambda: watch.closed)
    assert second.closed.is_set()


def test_a_failing_subscription_is_retried_with_backoff() -> None:
    class Flaky(FakeAPI):
        def events(self, **kwargs: Any) -> FakeStream:
            with self.lock:
                self.calls.append(kwargs)
                if len(self.calls) == 1:
                    return FakeStream([])  # ends at once
                if len(self.calls) in (2, 3):
                    raise ConnectionError("engine restarting")
            return FakeStream([event("start", "web", 20 * 10**9)], hold=True)

    api = Flaky()
    watch = EventWatch(FakeClient(api), "demo")
    until(lambda: watch.count("web", "start") == 1)
    assert len(api.calls) == 4 and watch.connected
    watch.close()


def test_events_wake_only_their_container_and_close_ends_the_pump() -> None:
    stream = FakeStream([], hold=True)
    watch = EventWatch(FakeClient(FakeAPI(stream)), "demo")
    began = time.monotonic()
    watch.wait_after("demo-web-1", watch.seq("demo-web-1"), 0.05)  # nothing came: the timeout ends it
    assert time.monotonic() - began >= 0.04
    watch.poke("demo-web-1")
    watch.wait_after("demo-web-1", 0, 5.0)  # already newer: returns at once
    watch.close()
    until(lambda: watch.closed)


# -- the crash-loop rule

class LiveStream(FakeStream):
    """A stream that yields what `push` gives it, until closed."""

    def __init__(self) -> None:
        super().__init__([])
        import queue

        self.queue: "queue.Queue[dict[str, Any] | None]" = queue.Queue()

    def push(self, item: dict[str, Any]) -> None:
        self.queue.put(item)

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is None:
                return
            yield item

    def close(self) -> None:
        super().close()
        self.queue.put(None)


def test_a_crash_loop_fails_the_wait_at_once_with_its_exit_code() -> None:
    """Counted from the engine's `die` events (RestartCount stays 0 here): each read, the container
    has died once more and the engine said so."""
    stream = LiveStream()
    watch = EventWatch(FakeClient(FakeAPI(stream)), "demo")
    reads = 0

    def read() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        stream.push(event("die", "demo-app-1", 10**9 + reads, cid="id-app", exitCode="5"))
        return {"Id": "id-app", "RestartCount": 0, "State": {"Status": "restarting", "Running": True, "Restarting": True}}

    with pytest.raises(WaitFailed) as failed:
        wait_for(watch, "demo-app-1", read, running_verdict, time.monotonic() + 300, lambda: False, stable_for=0.01)
    watch.close()
    assert "keeps restarting" in str(failed.value) and "last exit code 5" in str(failed.value)
    assert f"died {CRASH_LOOP_RESTARTS} times" in str(failed.value)
    assert reads <= CRASH_LOOP_RESTARTS + 2


def test_a_crash_loop_is_also_seen_from_restart_count(monkeypatch) -> None:
    """With no events (the stream is down), the engine's RestartCount tells the same."""
    monkeypatch.setattr(events, "FALLBACK_RECHECK", 0.01)
    watch = EventWatch(FakeClient(FakeAPI()), "demo")
    reads = 0

    def read() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        state = {"Status": "restarting", "Running": True, "Restarting": True, "ExitCode": 7}
        return {"Id": "id-app", "RestartCount": reads, "State": state}

    with pytest.raises(WaitFailed, match=r"keeps restarting \(died 5 times .*last exit code 7\)"):
        wait_for(watch, "demo-app-1", read, running_verdict, time.monotonic() + 300, lambda: False, stable_for=0.01)
    watch.close()


def test_a_container_that_restarts_a_few_times_then_stays_up_is_ready(monkeypatch) -> None:
    monkeypatch.setattr(events, "FALLBACK_RECHECK", 0.01)
    watch = EventWatch(FakeClient(FakeAPI(FakeStream([], hold=True))), "demo")
    reads = 0

    def read() -> dict[str, Any]:
        nonlocal reads
        reads += 1
        restarts = min(reads - 1, CRASH_LOOP_RESTARTS - 2)
        if reads <= CRASH_LOOP_RESTARTS - 2:
            state = {"Status": "restarting", "Running": True, "Restarting": True, "ExitCode": 1}
        else:
            state = {"Status": "running", "Running": True, "StartedAt": "2026-01-01T00:00:01Z"}
        return {"Id": "id-app", "RestartCount": restarts, "State": state}

    wait_for(watch, "demo-app-1", read, running_verdict, time.monotonic() + 30, lambda: False, stable_for=0.05)
    watch.close()


def test_deaths_of_a_replaced_container_of_the_same_name_do_not_count() -> None:
    stream = FakeStream([event("die", "demo-app-1", 10**9 + i, cid="old", exitCode="137") for i in range(10)], hold=True)
    watch = EventWatch(FakeClient(FakeAPI(stream)), "demo")
    until(lambda: watch.count("old", "die") == 10)
    state = {"Id": "new", "RestartCount": 0, "State": {"Status": "running", "Running": True, "StartedAt": "2026-01-01T00:00:01Z"}}
    wait_for(watch, "demo-app-1", lambda: state, running_verdict, time.monotonic() + 30, lambda: False, stable_for=0.05)
    watch.close()
