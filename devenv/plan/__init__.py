"""The pure middle of manifest -> model -> plan -> apply: what to do on the engine, and why.

Nothing here imports the Docker SDK or does I/O: the engine layer observes (observed.py types),
`plan_up`/`plan_down`/... decide, and an executor runs each action (one Engine API call) along
the plan's dependency edges.
"""

from __future__ import annotations

from devenv.plan.actions import Action, Op, Plan
from devenv.plan.containerspec import ContainerSpec, NetworkAttachment, container_spec
from devenv.plan.errors import DependencyError, PlanError, UnsupportedFeature
from devenv.plan.graph import Dependency, ServiceGraph
from devenv.plan.lifecycle import plan_down, plan_restart, plan_start, plan_stop
from devenv.plan.observed import ObservedContainer, ObservedMount, ObservedNetwork, ObservedState, ObservedVolume
from devenv.plan.options import DownOptions, RestartOptions, StartOptions, StopOptions, UpOptions
from devenv.plan.planner import plan_up

__all__ = [
    "Action",
    "ContainerSpec",
    "Dependency",
    "DependencyError",
    "DownOptions",
    "NetworkAttachment",
    "ObservedContainer",
    "ObservedMount",
    "ObservedNetwork",
    "ObservedState",
    "ObservedVolume",
    "Op",
    "Plan",
    "PlanError",
    "RestartOptions",
    "ServiceGraph",
    "StartOptions",
    "StopOptions",
    "UnsupportedFeature",
    "UpOptions",
    "container_spec",
    "plan_down",
    "plan_restart",
    "plan_start",
    "plan_stop",
    "plan_up",
]
