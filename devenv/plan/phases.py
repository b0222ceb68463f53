"""What `apply` runs, and in which phases: gates already passed are pruned; images come first."""

from __future__ import annotations

import dataclasses

from devenv.plan.actions import GATES, Action, Op, Plan
from devenv.plan.observed import ObservedState
from devenv.plan.payloads import OnContainer

IMAGE_OPS = frozenset({Op.PULL_IMAGE, Op.BUILD_IMAGE})


def gate_satisfied(action: Action, observed: ObservedState) -> bool:
    """A gate on a container that this plan does not touch (no edge) and that already passes it."""
    if action.op not in GATES or action.after:
        return False
    wanted = action.payload.container if isinstance(action.payload, OnContainer) else None
    container = next(
        (c for c in observed.project_containers() if (c.id == wanted if wanted else c.name == action.target)), None
    )
    if container is None:
        return False
    if action.op == Op.WAIT_RUNNING:
        return container.state == "running"
    if action.op == Op.WAIT_HEALTHY:
        return container.state == "running" and container.health == "healthy"
    return container.state == "exited" and container.exit_code == 0


def without(plan: Plan, drop: set[str] | frozenset[str]) -> Plan:
    """The plan without the actions `drop`, and without the edges to them."""
    if not drop:
        return plan
    actions = tuple(
        dataclasses.replace(a, after=tuple(x for x in a.after if x not in drop)) for a in plan.actions if a.id not in drop
    )
    return dataclasses.replace(plan, actions=actions)


def prune_satisfied_gates(plan: Plan, observed: ObservedState) -> Plan:
    """The plan without the waits the observed state already satisfies (a no-op `up` is then empty)."""
    return without(plan, {a.id for a in plan.actions if gate_satisfied(a, observed)})


def split_image_phase(plan: Plan) -> tuple[Plan, Plan]:
    """The plan's pulls and builds, and the rest (whose edges to them are then already satisfied)."""
    images = tuple(a for a in plan.actions if a.op in IMAGE_OPS)
    if not images:
        return dataclasses.replace(plan, actions=()), plan
    return dataclasses.replace(plan, actions=images), without(plan, {a.id for a in images})
