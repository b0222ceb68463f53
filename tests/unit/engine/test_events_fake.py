"""The event watch and the readiness waits on the in-memory engine: a wait ends on the event that
settles it, an event stream that ends is subscribed again from the last event seen (what happened
meanwhile is not lost), and a wait that can never end says why."""

from __future__ import annotations

import threading
import time

import pytest

from devenv.engine import events
from devenv.engine.events import EventWatch, WaitFailed, completed_verdict, healthy_verdict, running_verdict, wait_for
from tests.fake_engine import FakeEngineAPI
from tests.unit.engine.fake_projects import GUARD, HEALTHCHECK, when_running


@pytest.fixture(autouse=True)
def quick_reconnects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "RECONNECT_DELAYS", (0.01, 0.02, 0.05))


def make(fake: FakeEngineAPI, name: str, healthcheck: bool = False) -> None:
    body = {"Image": "devenv/busybox:latest", "Labels": {"com.docker.compose.project": "demo"}}
    if healthcheck:
        body["Healthcheck"] = {"Test": HEALTHCHECK["test"]}
    fake.create_container(name, body)


def wait(fake: FakeEngineAPI, watch: EventWatch, name: str, verdict, deadline: float = GUARD) -> dict:  # type: ignore[no-untyped-def]
    return wait_for(watch, name, lambda: fake.inspect_container(name), verdict, time.monotonic() + deadline, lambda: False)


def test_a_health_wait_ends_on_the_health_event(fake: FakeEngineAPI, watch: EventWatch, monkeypatch: pytest.MonkeyPatch) -> None:
    """No re-read on a timer (it would come after the guard): the event wakes the wait."""
    monkeypatch.setattr(events, "FALLBACK_RECHECK", 2 * GUARD)
    make(fake, "demo-db-1", healthcheck=True)
    fake.start("demo-db-1")
    reads: list[int] = []

    def first_read_then_healthy(call: object) -> None:
        reads.append(1)
        if len(reads) == 1:
            threading.Thread(target=fake.set_health, args=("demo-db-1", "healthy"), daemon=True).start()

    fake.on("inspect_container", first_read_then_healthy)
    info = wait(fake, watch, "demo-db-1", healthy_verdict)
    assert info["State"]["Health"]["Status"] == "healthy"


def test_a_completion_wait_fails_with_the_exit_code(fake: FakeEngineAPI, watch: EventWatch) -> None:
    make(fake, "demo-job-1")
    fake.start("demo-job-1")
    when_running(fake, "demo-job-1", lambda: fake.exit("demo-job-1", 2))
    with pytest.raises(WaitFailed, match="it exited with code 2"):
        wait(fake, watch, "demo-job-1", completed_verdict)


def test_a_stream_that_ends_is_resubscribed_and_the_events_of_the_gap_are_replayed(fake: FakeEngineAPI, watch: EventWatch) -> None:
    make(fake, "demo-db-1", healthcheck=True)
    fake.start("demo-db-1")
    deadline = time.monotonic() + GUARD
    while watch.count("demo-db-1", "start") < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    with fake.lock:  # the engine restarts: the stream ends, and the health event comes before devenv is back
        fake.end_streams()
        fake.set_health("demo-db-1", "healthy")
    wait(fake, watch, "demo-db-1", healthy_verdict)
    deadline = time.monotonic() + GUARD
    while watch.subscriptions < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watch.subscriptions == 2
    resubscribed = fake.called("events")[-1]
    assert resubscribed.args["since"] is not None
    assert resubscribed.args["filters"]["label"] == "com.docker.compose.project=demo"
    deadline = time.monotonic() + GUARD  # the replay (the start and the health event) is counted once
    while watch.count("demo-db-1", "health_status") < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watch.count("demo-db-1", "start") == 1
    assert watch.count("demo-db-1", "health_status") == 1


def test_a_wait_whose_container_never_gets_there_times_out_with_a_clear_error(fake: FakeEngineAPI, watch: EventWatch) -> None:
    make(fake, "demo-web-1")  # created, never started
    with pytest.raises(WaitFailed, match="^timed out$"):
        wait(fake, watch, "demo-web-1", running_verdict, deadline=0.2)


def test_a_closed_watch_ends_its_pump_and_waits_still_read_the_engine(fake: FakeEngineAPI, watch: EventWatch) -> None:
    watch.close()
    deadline = time.monotonic() + GUARD
    while not watch.closed and time.monotonic() < deadline:
        time.sleep(0.01)
    assert watch.closed
    make(fake, "demo-web-1")
    fake.start("demo-web-1")
    assert wait(fake, watch, "demo-web-1", running_verdict)["State"]["Running"]
