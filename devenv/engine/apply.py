"""Observe → plan → apply for the commands that change a project, under the project's lock."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from devenv.engine import ports
from devenv.engine.api import explanation
from devenv.engine.background import Background
from devenv.engine.client import engine_address
from devenv.engine.events import EventWatch, health_output
from devenv.engine.executor import Executor, Listener, Outcome
from devenv.engine.healthgates import check_health_gates
from devenv.engine.lock import project_lock
from devenv.engine.observe import observe
from devenv.engine.operations import Context, logs_tail
from devenv.errors import DevenvError
from devenv.model import Project
from devenv.plan import ObservedState, Op, Plan
from devenv.plan.actions import GATES
from devenv.plan.images import check_builds as check_build_actions
from devenv.plan.payloads import CreateContainer
from devenv.plan.phases import prune_satisfied_gates, split_image_phase

if TYPE_CHECKING:
    from devenv.engine.client import Engine

LOCK_WAIT = 600.0  # seconds a second command waits for the first


class PortsTaken(DevenvError):
    exit_code = 1


@dataclasses.dataclass
class Applied:
    plans: list[Plan]
    outcomes: list[Outcome]
    observed: ObservedState  # what the last plan was made from
    seconds: float
    started: float = 0.0  # time.monotonic() when the command started

    @property
    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def skipped(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "skipped"]


def check_builds(project: Project, plan: Plan) -> None:
    """The one check of a plan's builds, before anything runs (dry runs included): what the builder
    found on this machine cannot build is refused in one line naming the service and the field."""
    builds = plan.of(Op.BUILD_IMAGE)
    if not builds:
        return
    from devenv.engine.buildcmd import BUILDX
    from devenv.engine.builders import detect

    builder = detect()
    check_build_actions(project, builds, several_platforms=builder.kind == BUILDX, builder=builder.describe())


def run_images(
    client: Engine, project: Project, plan: Plan, listener: Listener | None = None,
    log: Callable[[str], None] = lambda _line: None,
) -> list[Outcome]:
    """Run a plan of pulls and builds only (`build`, `pull`), its builds checked first."""
    check_builds(project, plan)
    return Executor(Context(client, None, 0, lambda: False, log), plan, listener).run()


def check_ports(client: Engine, plan: Plan) -> None:
    wanted, released = [], set()
    for action in plan.actions:
        if isinstance(action.payload, CreateContainer):
            spec = action.payload.spec
            wanted += ports.bindings_of(spec.create_body(), spec.name)
        elif action.op in (Op.REMOVE_CONTAINER, Op.STOP_CONTAINER):
            released.add(action.target)
    problems = ports.taken(client, engine_address(), wanted, released)
    if problems:
        raise PortsTaken("nothing was changed: " + "; ".join(problems))


def apply(
    client: Engine,
    project: Project,
    make_plan: Callable[[ObservedState], Plan],
    *,
    listener: Listener,
    say: Callable[[str], None],
    wait_timeout: float,
    dry_run: bool = False,
    log: Callable[[str], None] = lambda _line: None,
    images: bool = True,  # the plan looks at local images (up, run); down, stop... do not
    before_containers: Callable[[], object] | None = None,
) -> Applied:
    """Plan against what is there and run it; replan once if the plan asks (images it built/pulled).
    `before_containers` runs once the images are there, before anything else (shipping files)."""
    started = time.monotonic()
    with project_lock(engine_address(), project.name, LOCK_WAIT, say):
        # Subscribed while we observe and plan: most plans wait on events (gates, stops), and the
        # subscription is a round trip to the engine that need not come after the others.
        early_watch = None if dry_run else Background(EventWatch, client, project.name)
        try:
            observed = observe(client, project, images)
            plan = prune_satisfied_gates(make_plan(observed), observed)
            check_builds(project, plan)
            if dry_run:
                return Applied([plan], [], observed, time.monotonic() - started, started)
            check_ports(client, plan)
            plans, outcomes = [plan], []
            needs_watch = any(a.op in GATES or a.op is Op.STOP_CONTAINER for a in plan.actions)  # stops end on `die`
            watch = early_watch.result() if early_watch is not None and (needs_watch or plan.recheck) else None
            ctx = Context(client, watch, wait_timeout, lambda: False, log)
            images_phase, rest = split_image_phase(plan)
            if images_phase.actions:  # every image first: a bad one must not leave a half-made project
                outcomes += Executor(ctx, images_phase, listener).run()
                if any(o.status != "done" for o in outcomes):
                    return Applied(plans, outcomes, observed, time.monotonic() - started, started)
            check_health_gates(client.api, project, rest)  # before anything is created or started
            if before_containers is not None:
                before_containers()
            outcomes += Executor(ctx, rest, listener).run()
            if plan.recheck and not any(o.status != "done" for o in outcomes):
                observed = observe(client, project, images)
                again = prune_satisfied_gates(make_plan(observed), observed)
                plans.append(again)
                check_ports(client, again)
                check_health_gates(client.api, project, again)
                outcomes += Executor(Context(client, watch, wait_timeout, lambda: False, log), again, listener).run()
            return Applied(plans, outcomes, observed, time.monotonic() - started, started)
        finally:
            if early_watch is not None:
                _close_quietly(early_watch)


WATCH_CLOSE_WAIT = 1.0  # seconds to wait for the event subscription when closing it


def _close_quietly(pending: Background[EventWatch], wait: float | None = WATCH_CLOSE_WAIT) -> None:
    """Close the event watch once subscribed; one that failed is no matter here (a plan that
    needed it has raised already). Not subscribed within `wait`: closed in the background when it
    is (a stalled engine must not hold the command's end)."""
    if wait is not None and not pending.wait(wait):
        Background(_close_quietly, pending, None)
        return
    try:
        watch = pending.result()
    except Exception:
        return
    watch.close()


def explain_failure(client: Engine, outcome: Outcome) -> str:
    """What went wrong, with the health-check output and the last log lines of the container."""
    action = outcome.action
    lines = [f"{action.service or action.target}: {action.describe()} failed: {outcome.detail}"]
    if action.op in (Op.WAIT_HEALTHY, Op.WAIT_COMPLETED, Op.WAIT_RUNNING, Op.START_CONTAINER):
        try:
            info = client.api.inspect_container(action.handle)
        except Exception as exc:
            if explanation(exc) is None:
                raise
            info = {}
        health = health_output(info)
        if health:
            lines.append("  last health checks:")
            lines += ["    " + h for h in health.splitlines()]
        ctx = Context(client, None, 0, lambda: False, lambda _l: None)
        logs = logs_tail(ctx, action.handle, 10)
        if logs:
            lines.append(f"  last log lines of {action.target}:")
            lines += ["    " + line for line in logs.splitlines()[-10:]]
    return "\n".join(lines)

