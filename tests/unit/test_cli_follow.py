"""`logs -f` / attached `up` bookkeeping on a scripted engine: which containers are read, when
following ends, and which exits are reported (the real engine runs in the integration tests)."""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import pytest

from devenv.cli.logs_cmd import Exit, Follower, LogView

LABELS = {"com.docker.compose.project": "demo", "com.docker.compose.service": "web", "com.docker.compose.oneoff": "False"}


def summary(ident: str, name: str, state: str = "running", **labels: str) -> dict[str, Any]:
    return {"Id": ident, "Names": [f"/{name}"], "State": state, "Labels": {**LABELS, **labels}}


def event(action: str, ident: str, name: str, at: float, **attributes: str) -> dict[str, Any]:
    return {"Action": action, "Actor": {"ID": ident, "Attributes": {**LABELS, "name": name, **attributes}},
            "timeNano": int(at * 1e9)}


class FakeAPI:
    """Containers listed once; logs as fixed lines per container; events fed by the test."""

    def __init__(self, containers: list[dict[str, Any]], logs: dict[str, list[str]]) -> None:
        self.listed = containers
        self.log_lines = logs
        self.feed: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.log_calls: list[tuple[str, Any]] = []
        self.states: dict[str, dict[str, Any]] = {}

    def events(self, filters: Any = None, since: Any = None, until: Any = None) -> Any:
        feed = self.feed

        class Stream:
            def __iter__(self) -> Any:
                while (item := feed.get()) is not None:
                    yield item

            def close(self) -> None:
                feed.put(None)

        return Stream()

    def containers(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        return self.listed

    def logs(self, ident: str, **kwargs: Any) -> Any:
        self.log_calls.append((ident, kwargs.get("since")))
        return iter([(line + "\n").encode() for line in self.log_lines.get(ident, [])])

    def inspect_container(self, ident: str) -> dict[str, Any]:
        return {"State": self.states.get(ident, {"Running": False})}


class FakeClient:
    def __init__(self, api: FakeAPI) -> None:
        self.api = api


def follow_in_thread(follower: Follower, exits: list[Exit]) -> threading.Thread:
    """Run the follower in a thread; return once it has listed the containers."""
    thread = threading.Thread(target=follower.run, args=(exits.append,), daemon=True)
    thread.start()
    deadline = time.monotonic() + 30  # a hang guard only
    while not follower.listed_at and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


@pytest.fixture
def printed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    lines: list[str] = []
    monkeypatch.setattr("devenv.cli.logs_cmd.echo", lambda text="", **_: lines.append(text))
    return lines


def test_a_recreated_container_is_followed_and_following_ends_when_nothing_runs(printed: list[str]) -> None:
    api = FakeAPI([summary("old", "demo-web-1")], {"old": ["hello-one"], "new": ["hello-two"]})
    follower = Follower(FakeClient(api), "demo", (), LogView(prefix=False), grace=2.0).start()
    exits: list[Exit] = []
    thread = follow_in_thread(follower, exits)
    now = time.time()
    # devenv replaces a container by stopping and removing the old one before creating the new one
    api.feed.put(event("die", "old", "demo-web-1", now, exitCode="137"))
    api.feed.put(event("destroy", "old", "demo-web-1", now))  # nothing runs: the grace period starts
    api.feed.put(event("create", "new", "demo-web-1", time.time()))
    api.feed.put(event("start", "new", "demo-web-1", time.time()))
    api.states["new"] = {"Running": False}
    api.feed.put(event("die", "new", "demo-web-1", time.time(), exitCode="0"))
    thread.join(timeout=10)
    assert not thread.is_alive()
    follower.close()
    assert printed.count("hello-one") == 1 and printed.count("hello-two") == 1, printed
    assert [(e.name, e.code) for e in exits] == [("demo-web-1", 137), ("demo-web-1", 0)]
    assert ("new", None) in api.log_calls  # a new container is read from its beginning


def test_events_from_before_the_listing_do_not_count_twice(printed: list[str]) -> None:
    api = FakeAPI([summary("a", "demo-web-1"), summary("b", "demo-job-1", state="exited", **{"com.docker.compose.service": "job"})],
                  {"a": ["from-a"], "b": ["from-b"]})
    follower = Follower(FakeClient(api), "demo", (), LogView(prefix=False), grace=0.3).start()
    before = time.time() - 5
    api.feed.put(event("start", "a", "demo-web-1", before))  # already read from the listing
    api.feed.put(event("die", "gone", "demo-web-1", before))  # a container replaced before we looked
    api.feed.put(event("die", "b", "demo-job-1", before, exitCode="3", **{"com.docker.compose.service": "job"}))
    exits: list[Exit] = []
    thread = follow_in_thread(follower, exits)
    api.feed.put(event("die", "a", "demo-web-1", time.time(), exitCode="0"))
    thread.join(timeout=10)
    follower.close()
    assert printed.count("from-a") == 1 and printed.count("from-b") == 1, printed
    assert [(e.service, e.code) for e in exits] == [("job", 3), ("web", 0)]


def test_one_off_and_hidden_services(printed: list[str]) -> None:
    api = FakeAPI([summary("a", "demo-web-1"), summary("r", "demo-web-run-1", **{"com.docker.compose.oneoff": "True"}),
                   summary("d", "demo-db-1", **{"com.docker.compose.service": "db"})],
                  {"a": ["from-web"], "r": ["from-run"], "d": ["from-db"]})
    follower = Follower(FakeClient(api), "demo", (), LogView(prefix=False), grace=0.2, hidden={"db"}).start()
    thread = follow_in_thread(follower, [])
    for ident, name, service in (("a", "demo-web-1", "web"), ("d", "demo-db-1", "db")):
        api.feed.put(event("die", ident, name, time.time(), **{"com.docker.compose.service": service}))
    thread.join(timeout=10)
    follower.close()
    assert "from-web" in printed and "from-run" not in printed and "from-db" not in printed
    assert "demo-db-1 exited with code 0" in printed  # its exit still counts
