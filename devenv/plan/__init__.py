"""The pure middle of manifest -> model -> plan -> apply: what to do on the engine, and why.

Nothing here imports the Docker SDK or does I/O: the engine layer observes (observed.py types),
`plan_up`/`plan_down`/... decide, and an executor runs each action (one Engine API call) along
the plan's dependency edges.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# name -> module: loaded on first use, so that importing one submodule (devenv.plan.actions, say)
# does not load the whole planner.
_EXPORTS = {
    "Action": "devenv.plan.actions",
    "Op": "devenv.plan.actions",
    "Plan": "devenv.plan.actions",
    "ContainerSpec": "devenv.plan.containerspec",
    "NetworkAttachment": "devenv.plan.containerspec",
    "container_spec": "devenv.plan.containerspec",
    "DependencyError": "devenv.plan.errors",
    "PlanError": "devenv.plan.errors",
    "UnsupportedFeature": "devenv.plan.errors",
    "Dependency": "devenv.plan.graph",
    "ServiceGraph": "devenv.plan.graph",
    "plan_down": "devenv.plan.lifecycle",
    "plan_restart": "devenv.plan.lifecycle",
    "plan_start": "devenv.plan.lifecycle",
    "plan_stop": "devenv.plan.lifecycle",
    "ObservedContainer": "devenv.plan.observed",
    "ObservedMount": "devenv.plan.observed",
    "ObservedNetwork": "devenv.plan.observed",
    "ObservedState": "devenv.plan.observed",
    "ObservedVolume": "devenv.plan.observed",
    "DownOptions": "devenv.plan.options",
    "RestartOptions": "devenv.plan.options",
    "StartOptions": "devenv.plan.options",
    "StopOptions": "devenv.plan.options",
    "UpOptions": "devenv.plan.options",
    "plan_up": "devenv.plan.planner",
    "RunOptions": "devenv.plan.run",
    "plan_run": "devenv.plan.run",
    "prune_satisfied_gates": "devenv.plan.phases",
    "split_image_phase": "devenv.plan.phases",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'devenv.plan' has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)


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
    "RunOptions",
    "ServiceGraph",
    "StartOptions",
    "StopOptions",
    "UnsupportedFeature",
    "UpOptions",
    "container_spec",
    "plan_down",
    "plan_restart",
    "plan_run",
    "plan_start",
    "plan_stop",
    "plan_up",
    "prune_satisfied_gates",
    "split_image_phase",
]
