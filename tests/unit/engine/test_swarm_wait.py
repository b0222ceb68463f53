"""The waits of `devenv deploy` (engine/swarm.py) against a scripted swarm and a fake clock: a
service converges once its tasks stay running, a crash loop does not, each failed task is said
once, a paused update ends the wait at once. (What `Swarm` asks of the engine: test_swarm_fake.py.)"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devenv.engine import swarm as swarm_module
from devenv.engine.swarm import wait_converged
from devenv.plan.stack import ServiceObject, Task


def service(name: str = "s_web", replicas: int = 1) -> ServiceObject:
    spec = {"Name": name, "Labels": {"io.devenv.spec-hash": "h"}, "Mode": {"Replicated": {"Replicas": replicas}},
            "TaskTemplate": {"ContainerSpec": {"Image": "x", "Secrets": [{"SecretName": "s_pw_1", "SecretID": ""}]}}}
    return ServiceObject(key=name.split("_", 1)[1], name=name, spec=spec)


def task(tid: str, state: str, desired: str = "running", error: str = "") -> Task:
    return Task(id=tid, service="s_web", slot=1, node="node-1", desired=desired, state=state, error=error)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class ScriptedSwarm:
    """Each look at the tasks gives the next step of `script` (the last one repeats)."""

    def __init__(self, script: list[list[Task]], update: tuple[str | None, str] = (None, "")) -> None:
        self.script = script
        self.looks = 0
        self.update = update

    def clock_offset(self) -> float:
        return 0.0

    def nodes(self) -> dict[str, str]:
        return {"n1": "node-1"}

    def tasks(self, name: str, nodes: Mapping[str, str]) -> list[Task]:
        step = self.script[min(self.looks, len(self.script) - 1)]
        self.looks += 1
        return step

    def update_status(self, name: str) -> tuple[str | None, str]:
        return self.update


def wait(fake: ScriptedSwarm, timeout: float = 30.0) -> tuple[Any, list[str], Clock]:
    said: list[str] = []
    clock = Clock()
    state = wait_converged(fake, [service()], timeout, set(), said.append, clock=clock, sleep=clock.sleep)  # type: ignore[arg-type]
    return state["s_web"], said, clock


def test_a_service_converges_once_its_task_stays_running() -> None:
    state, said, clock = wait(ScriptedSwarm([[task("a", "preparing")], [task("a", "starting")], [task("a", "running")]]))
    assert state.done and said == []
    assert clock.now >= swarm_module.STABLE


def test_tasks_running_for_long_enough_by_the_engines_clock_need_no_wait() -> None:
    import time

    old = Task(id="a", service="s_web", slot=1, node="node-1", desired="running", state="running", since=time.time() - 60)
    state, _, clock = wait(ScriptedSwarm([[old]]))
    assert state.done and clock.now == 0


def test_engine_timestamps_are_read_to_the_nanosecond() -> None:
    from devenv.plan.stack import engine_time

    assert engine_time("1970-01-01T00:00:01.5Z") == 1.5
    assert engine_time("1970-01-01T01:00:00.250000000+01:00") == 0.25
    assert engine_time("0001-01-01T00:00:00Z") is not None and engine_time("") is None and engine_time("nonsense") is None


def test_a_crash_loop_is_not_converged_and_each_failure_is_said_once() -> None:
    loop = []
    for n in range(200):  # running a moment, then failed, then a new task
        loop += [[task(f"t{n}", "running")], [task(f"t{n}", "failed", desired="shutdown", error="task: non-zero exit (3)")]]
    state, said, _ = wait(ScriptedSwarm(loop), timeout=10.0)
    assert not state.done
    assert said[0] == "s_web: task s_web.1 (t0) on node node-1: failed: task: non-zero exit (3)"
    assert len(said) == len(set(said))


def test_a_paused_update_ends_the_wait_at_once() -> None:
    state, _, clock = wait(ScriptedSwarm([[task("a", "running")]], update=("paused", "update paused due to failure")))
    assert not state.done and state.failed.startswith("update paused") and clock.now == 0

