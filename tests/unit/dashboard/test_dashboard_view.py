"""The dashboard's pure parts: times, time to ready, the state it shows, the last-up record."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from types import SimpleNamespace

from devenv.dashboard import lastup, view
from devenv.plan.actions import Action, Op


def test_parse_time_reads_the_engines_nanoseconds_and_zones_and_refuses_zero() -> None:
    assert view.parse_time("1970-01-01T00:00:01.5Z") == 1.5
    assert view.parse_time("1970-01-01T00:00:01.123456789Z") == 1.123456789
    assert view.parse_time("1970-01-01T01:00:02+01:00") == 2.0
    assert view.parse_time("0001-01-01T00:00:00Z") is None
    assert view.parse_time("") is None and view.parse_time(None) is None and view.parse_time("soon") is None


def _inspect(health: dict | None, running: bool = True) -> dict:
    state: dict = {"Running": running, "StartedAt": "1970-01-01T00:00:10Z"}
    if health is not None:
        state["Health"] = health
    return {"State": state}


def test_ready_seconds_is_the_first_passed_check_after_the_start() -> None:
    log = [
        {"Start": "1970-01-01T00:00:05Z", "End": "1970-01-01T00:00:06Z", "ExitCode": 0},  # an earlier run
        {"Start": "1970-01-01T00:00:11Z", "End": "1970-01-01T00:00:11.2Z", "ExitCode": 1},
        {"Start": "1970-01-01T00:00:12Z", "End": "1970-01-01T00:00:12.25Z", "ExitCode": 0},
        {"Start": "1970-01-01T00:00:13Z", "End": "1970-01-01T00:00:13.1Z", "ExitCode": 0},
    ]
    assert view.ready_seconds(_inspect({"Status": "healthy", "Log": log})) == 2.25
    assert view.ready_seconds(_inspect({"Status": "starting", "Log": log})) is None
    assert view.ready_seconds(_inspect({"Status": "healthy", "Log": log}, running=False)) is None
    assert view.ready_seconds(_inspect(None)) is None
    assert view.ready_seconds({}) is None


def test_ready_seconds_is_unknown_once_the_first_checks_of_the_run_may_have_been_dropped() -> None:
    log = [{"Start": f"1970-01-01T00:00:{s}Z", "End": f"1970-01-01T00:00:{s}.1Z", "ExitCode": 0} for s in range(11, 16)]
    assert view.ready_seconds(_inspect({"Status": "healthy", "Log": log})) is None  # 5 kept, all of this run
    older = [{"Start": "1970-01-01T00:00:05Z", "End": "1970-01-01T00:00:05.1Z", "ExitCode": 0}]
    assert view.ready_seconds(_inspect({"Status": "healthy", "Log": older + log[:4]})) == 1.1


def _event(name: str, action: str, seconds: float) -> dict:
    return {"Action": action, "timeNano": int(seconds * 1e9), "Actor": {"Attributes": {"name": name}}}


def test_ready_clock_measures_from_the_start_event_to_the_first_healthy_one() -> None:
    clock = view.ReadyClock()
    clock.record(_event("w", "health_status: healthy", 1.0))  # no start seen: nothing to measure
    assert clock.ready == {}
    clock.record(_event("w", "start", 10.0))
    clock.record(_event("w", "health_status: healthy", 12.5))
    clock.record(_event("w", "health_status: healthy", 20.0))  # still healthy: the first one counts
    assert clock.ready == {"w": 2.5}
    clock.record(_event("w", "start", 30.0))  # a new run: measured again
    assert clock.ready == {}
    clock.record(_event("w", "health_status: healthy", 31.0))
    assert clock.ready == {"w": 1.0}
    clock.record({"Action": "start"})  # nothing to go by
    assert clock.ready == {"w": 1.0}


def test_the_ready_clock_serves_when_the_health_log_cannot_tell() -> None:
    log = [{"Start": f"1970-01-01T00:00:{s}Z", "End": f"1970-01-01T00:00:{s}.1Z", "ExitCode": 0} for s in range(11, 16)]
    inspect = _inspect({"Status": "healthy", "Log": log})
    assert view.container_view(_row("c", "web"), inspect, 1.5)["ready_seconds"] == 1.5
    assert view.container_view(_row("c", "web"), _inspect({"Status": "starting", "Log": log}), 1.5)["ready_seconds"] is None


LAST_UP = {
    "actions": [
        {"op": "create_container", "service": "web", "status": "done", "seconds": 0.5},
        {"op": "start_container", "service": "web", "status": "done", "seconds": 0.25},
        {"op": "wait_healthy", "service": "web", "status": "done", "seconds": 1.5},
        {"op": "start_container", "service": "db", "status": "failed", "seconds": 0.1},
    ]
}


def test_recorded_ready_adds_the_start_and_the_waits_that_succeeded() -> None:
    assert view.recorded_ready(LAST_UP, "web") == 1.75
    assert view.recorded_ready(LAST_UP, "db") is None
    assert view.recorded_ready(None, "web") is None


def _row(name: str, service: str, state: str = "running", oneoff: bool = False) -> dict:
    return {"name": name, "service": service, "state": state, "health": "", "status": "Up", "oneoff": oneoff,
            "ports": [{"url": "http://localhost:8080", "host_port": 8080, "container_port": 80, "protocol": "tcp"},
                      {"url": None, "host_port": None, "container_port": 9000, "protocol": "tcp"}]}


def test_build_lists_every_service_with_its_containers_ports_and_time_to_ready() -> None:
    rows = [_row("p-web-1", "web"), _row("p-web-run-x", "web", oneoff=True), _row("p-old-1", "old", "exited")]
    state = view.build("p", ["web", "db"], rows, {"p-web-1": _inspect(None)}, LAST_UP)
    assert [s["name"] for s in state["services"]] == ["db", "old", "web"]
    db, old, web = state["services"]
    assert db["containers"] == [] and db["ready_seconds"] is None
    assert [c["name"] for c in web["containers"]] == ["p-web-1"]  # one-off containers are not services
    assert web["ready_seconds"] == 1.75 and web["ready_source"] == "last up"
    assert web["containers"][0]["ports"] == [{"url": "http://localhost:8080", "label": "8080→80/tcp"},
                                             {"url": None, "label": "9000/tcp"}]
    assert web["containers"][0]["started_at"] == 10.0
    assert old["containers"][0]["state"] == "exited"
    assert state["project"] == "p" and state["last_up"] is LAST_UP


def _applied() -> SimpleNamespace:
    action = Action(id="c1", op=Op.START_CONTAINER, target="p-web-1", reason="not created yet", service="web")
    outcome = SimpleNamespace(action=action, status="done", detail="created", seconds=0.12345)
    return SimpleNamespace(outcomes=[outcome], failures=[], plans=[SimpleNamespace(notes=["a note"])], seconds=1.23456)


def test_lastup_summary_keeps_each_action_with_its_reason_status_and_seconds() -> None:
    record = lastup.summary("p", _applied(), finished=100.0)  # type: ignore[arg-type]
    assert record == {
        "version": lastup.VERSION, "project": "p", "finished": 100.0, "seconds": 1.235, "ok": True,
        "actions": [{"op": "start_container", "target": "p-web-1", "service": "web", "reason": "not created yet",
                     "status": "done", "detail": "created", "seconds": 0.123}],
        "notes": ["a note"],
    }


def test_lastup_is_written_privately_under_the_state_home_and_read_back(tmp_path: Path) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    path = lastup.write("proj", {"version": lastup.VERSION, "x": 1}, env)
    assert path == tmp_path / "state" / "devenv" / "last-up" / "proj.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(path.parent.parent).st_mode) == 0o700
    assert lastup.read("proj", env) == {"version": lastup.VERSION, "x": 1}
    lastup.write("proj", {"version": lastup.VERSION, "x": 2}, env)
    assert lastup.read("proj", env) == {"version": lastup.VERSION, "x": 2}
    assert sorted(p.name for p in path.parent.iterdir()) == ["proj.json"]  # no temporary file left
    assert lastup.read("other", env) is None
    path.write_text("{not json")
    assert lastup.read("proj", env) is None


def test_lastup_falls_back_to_the_home_folder(tmp_path: Path) -> None:
    assert lastup.state_folder({"HOME": str(tmp_path)}) == tmp_path / ".local" / "state" / "devenv" / "last-up"
