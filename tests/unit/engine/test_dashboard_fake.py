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
