"""What a command that applied a plan prints: the plan (dry run), failures with their causes, and
the project's containers as a table with clickable URLs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from devenv.cli.common import echo, emit_json
from devenv.cli.output import style, table
from devenv.errors import EXIT_FAILED
from devenv.plan.actions import Op, Plan

if TYPE_CHECKING:
    from devenv.engine.apply import Applied
    from devenv.engine.client import Engine
    from devenv.model import Project


EXPLAINED_OPS = frozenset({Op.WAIT_HEALTHY, Op.WAIT_COMPLETED, Op.WAIT_RUNNING, Op.START_CONTAINER})


def print_plan(plan: Plan, fmt: str) -> None:
    if fmt == "json":
        emit_json(plan.to_dict())
    else:
        echo(plan.describe())


def _ready_times(applied: Applied) -> dict[str, float]:
    """Seconds from the command's start until each container was started (and, if waited on, ready)."""
    out: dict[str, float] = {}
    never = {o.action.target for o in applied.outcomes if o.status != "done"}  # not ready: no time to show
    for outcome in applied.outcomes:
        if outcome.ok and outcome.action.op in (Op.START_CONTAINER, Op.WAIT_HEALTHY, Op.WAIT_RUNNING, Op.WAIT_COMPLETED):
            target = outcome.action.target
            if target not in never:
                out[target] = max(out.get(target, 0.0), outcome.ended - applied.started)
    return out


def print_applied(client: Engine, project: Project, applied: Applied, fmt: str, verb: str) -> int:
    from devenv.engine.apply import explain_failure

    rows = []
    if verb != "down":
        from devenv.engine.status import list_rows

        rows = list_rows(client, project.name)
    failed = applied.failures
    if fmt == "json":
        emit_json(
            {
                "project": project.name,
                "ok": not failed,
                "seconds": round(applied.seconds, 3),
                "actions": [
                    {"id": o.action.id, "status": o.status, "detail": o.detail, "seconds": round(o.seconds, 3)}
                    for o in applied.outcomes
                ],
                "notes": [n for p in applied.plans for n in p.notes],
                "warnings": [w for p in applied.plans for w in p.warnings],
                "containers": [r.to_dict() for r in rows],
            }
        )
    else:
        for plan in applied.plans:
            for warning in plan.warnings:
                echo(style(f"warning: {warning}", "yellow"), err=True)
        if not any(p.actions for p in applied.plans):
            state = {"up": "is up to date", "down": "has nothing on the engine"}.get(verb, f"needs no {verb}")
            echo(f"nothing to do: project {project.name} {state}", err=True)
        for outcome in failed:
            if outcome.action.op in EXPLAINED_OPS:  # others were told in full by the progress lines
                echo(style(explain_failure(client, outcome), "red"), err=True)
        if rows:
            ready = _ready_times(applied)
            echo(
                table(
                    ("service", "container", "state", "health", "ports", "ready in"),
                    (
                        (
                            r.service, r.name, r.state, r.health or "-",
                            " ".join(p.url for p in r.ports if p.host_port) or "-",
                            f"{ready[r.name]:.1f}s" if r.name in ready else "-",
                        )
                        for r in rows
                        if not r.oneoff
                    ),
                )
            )
        summary = f"{verb}: {len(applied.outcomes) - len(failed) - len(applied.skipped)} actions done in {applied.seconds:.1f}s"
        if failed:
            summary += f", {len(failed)} failed, {len(applied.skipped)} skipped"
            if all(o.action.op in (Op.PULL_IMAGE, Op.BUILD_IMAGE) for o in applied.outcomes if o.status != "skipped"):
                summary += "; nothing else was changed"
        echo(summary, err=True)
    return EXIT_FAILED if failed else 0
