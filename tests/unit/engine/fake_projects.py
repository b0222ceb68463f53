"""Projects, plans and a running context for the unit tests that drive the in-memory engine."""

from __future__ import annotations

import threading
from typing import Any

from devenv.engine.client import Engine
from devenv.engine.events import EventWatch
from devenv.engine.executor import Executor, Outcome
from devenv.engine.operations import Context
from devenv.model import Project
from devenv.plan.actions import Plan
from devenv.plan.options import UpOptions
from devenv.plan.planner import plan_up
from tests.fake_engine import FakeEngineAPI
from tests.unit.plan.plan_factories import empty_state, make_project, svc

GUARD = 30.0  # seconds: a hang guard only, never a measure of speed


def healthy_dep() -> dict[str, Any]:
    return {"condition": "service_healthy", "required": True, "restart": False}


def started_dep() -> dict[str, Any]:
    return {"condition": "service_started", "required": True, "restart": False}


HEALTHCHECK = {"test": ["CMD", "true"], "interval": 1_000_000_000}

# db has a healthcheck; web waits for it to be healthy; cache depends on nothing
WEB_DB_CACHE = make_project({
    "db": svc(healthcheck=HEALTHCHECK),
    "web": svc(depends_on={"db": healthy_dep()}),
    "cache": svc(),
})


def up_plan(project: Project, **options: Any) -> Plan:
    return plan_up(project, empty_state(project), UpOptions(**options))


def run(client: Engine, watch: EventWatch | None, plan: Plan, wait_timeout: float = GUARD) -> dict[str, Outcome]:
    """Run the plan; its outcomes by action id."""
    ctx = Context(client, watch, wait_timeout, lambda: False, lambda _line: None)
    return {o.action.id: o for o in Executor(ctx, plan).run()}


def when_running(fake: FakeEngineAPI, name: str, then: Any) -> threading.Thread:
    """In a thread: once container `name` runs, call `then()` (the test's script of the engine)."""

    def wait() -> None:
        with fake.changed:
            if fake.changed.wait_for(lambda: (fake.containers_.get(name) or {}).get("State", {}).get("Status") == "running",
                                     timeout=GUARD):
                then()

    thread = threading.Thread(target=wait, daemon=True)
    thread.start()
    return thread
