"""The dashboard's Dashboard on the in-memory engine: its state, its restart/stop through the
plan/apply path, and its feed of the engine's events (no Docker: the browser test has that)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from devenv.dashboard.server import Dashboard
from devenv.engine.apply import apply
from devenv.plan.options import UpOptions
from devenv.plan.planner import plan_up
from tests.fake_engine import FakeEngineAPI
from tests.unit.engine.fake_projects import GUARD, WEB_DB_CACHE, when_running

pytestmark = pytest.mark.usefixtures("private_locks")


@pytest.fixture
def board(client: Any, fake: FakeEngineAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    when_running(fake, "demo-db-1", lambda: fake.set_health("demo-db-1", "healthy"))
    applied = apply(client, WEB_DB_CACHE, lambda observed: plan_up(WEB_DB_CACHE, observed, UpOptions()),
                    listener=lambda *_: None, say=lambda _line: None, wait_timeout=GUARD)
    assert not applied.failures
    from devenv.dashboard import lastup

    lastup.write("demo", lastup.summary("demo", applied))
    dash = Dashboard(client, WEB_DB_CACHE)
    yield dash
    dash.close()


def test_state_lists_each_service_with_its_container_and_the_last_up(board: Dashboard) -> None:
    state = board.state()
    assert [s["name"] for s in state["services"]] == ["cache", "db", "web"]
    assert {s["name"]: [c["state"] for c in s["containers"]] for s in state["services"]} == {
        "cache": ["running"], "db": ["running"], "web": ["running"]}
    ops = [a["op"] for a in state["last_up"]["actions"]]
    assert "create_container" in ops and "wait_healthy" in ops
    assert all(a["reason"] for a in state["last_up"]["actions"] if a["op"] == "create_container")


def test_restart_and_stop_go_through_apply_and_the_event_feed_sees_them(board: Dashboard, fake: FakeEngineAPI) -> None:
    board.start()

    def bumped_past(version: int) -> bool:
        with board.changed:
            return board.changed.wait_for(lambda: board.version > version, timeout=GUARD)

    with board.changed:
        assert board.changed.wait_for(lambda: board.version >= 1, timeout=GUARD)  # subscribed
        before = board.version
    result = board.act("restart", "cache")
    assert result["ok"] and result["verb"] == "restart"
    assert any(a["op"] == "start_container" and a["target"] == "demo-cache-1" for a in result["actions"])
    assert bumped_past(before)  # the engine's events woke the streams: no polling
    result = board.act("stop", "web")
    assert result["ok"]
    assert fake.containers_["demo-web-1"]["State"]["Running"] is False
    assert fake.containers_["demo-db-1"]["State"]["Running"] is True  # only what was asked


def _sse(server: Any, path: str, cookie: str, until: str) -> list[tuple[str, Any]]:
    """The events of a stream up to the first of kind `until` (raw HTTP: what EventSource reads)."""
    import http.client
    import json

    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=GUARD)
    conn.request("GET", path, headers={"Host": f"127.0.0.1:{port}", "Cookie": cookie})
    answer = conn.getresponse()
    assert answer.status == 200 and answer.getheader("Content-Type") == "text/event-stream"
    events: list[tuple[str, Any]] = []
    kind = ""
    while True:
        line = answer.fp.readline().decode().rstrip("\n")
        if line.startswith("event: "):
            kind = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((kind, json.loads(line[len("data: "):])))
            if kind == until:
                conn.close()
                return events


def test_the_streams_send_the_state_and_a_services_logs(board: Dashboard, fake: FakeEngineAPI) -> None:
    from devenv.dashboard.server import Server

    fake.logs_["demo-web-1"] = ["2026-01-01T00:00:01.5Z hello", "2026-01-01T00:00:02Z world"]
    server = Server(board, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        cookie = f"devenv_dashboard_{server.server_address[1]}={board.token}"
        kind, state = _sse(server, "/api/events", cookie, "state")[0]
        assert kind == "state" and [s["name"] for s in state["services"]] == ["cache", "db", "web"]
        lines = _sse(server, "/api/logs?service=web", cookie, "end")
        assert [(k, d.get("text")) for k, d in lines] == [("line", "hello"), ("line", "world"), ("end", None)]
        assert lines[0][1]["container"] == "demo-web-1" and lines[0][1]["t"] is not None
    finally:
        board.close()
        server.shutdown()
        server.server_close()
        thread.join()
