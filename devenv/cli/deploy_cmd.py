"""`devenv deploy`: the manifest as a stack on a Docker swarm (as `docker stack deploy --prune`),
waiting until its services converge; `--rm` removes the stack (never its volumes)."""

from __future__ import annotations

from typing import Any

import click

from devenv.cli.command import Globals, format_option
from devenv.cli.common import echo, emit_json, load, say, say_engine
from devenv.errors import EXIT_FAILED

DONE = {"create": "created", "update": "updated", "remove": "removed", "unchanged": "unchanged"}


def _json(change: Any) -> dict[str, str]:
    return {"kind": change.kind, "name": change.name, "result": DONE[change.action], "reason": change.reason}


def _stack_name(g: Globals, remove: bool) -> tuple[Any, str]:
    """The project (None under --rm without a Compose file) and the stack's name."""
    from devenv.manifest.discover import NoComposeFile

    try:
        project = load(g.options, from_labels=False)
    except NoComposeFile:
        import os

        name = g.options.project_name or os.environ.get("COMPOSE_PROJECT_NAME")
        if not (remove and name):
            raise
        return None, name
    return project, project.name


@click.command("deploy", help="Deploy the manifest to a Docker swarm as a stack named after the project; "
               "wait until its services converge. --rm removes the stack (never its volumes).")
@click.option("--rm", "remove", is_flag=True, help="Remove the stack's services, networks, secrets and configs.")
@click.option("-d", "--detach", is_flag=True, help="Do not wait for the services to converge.")
@click.option("--wait-timeout", type=click.FloatRange(min=0), default=120.0, show_default=True, metavar="SECONDS",
              help="How long to wait for the services to converge.")
@format_option()
@click.pass_obj
def deploy(g: Globals, remove: bool, detach: bool, wait_timeout: float, fmt: str) -> int:
    from devenv.engine.client import connect
    from devenv.engine.swarm import Swarm
    from devenv.plan.stack import Change

    project, name = _stack_name(g, remove)
    engine = connect()
    say_engine(engine)
    swarm = Swarm(engine)
    swarm.check_manager()
    done: list[Change] = []

    def report(change: Change) -> None:
        done.append(change)
        if fmt != "json":
            say(f"{change.kind} {change.name}: {DONE[change.action]}" + (f" ({change.reason})" if change.reason else ""))

    if remove:
        return _remove(g, swarm, name, fmt, report, done, wait_timeout)
    return _deploy(g, swarm, project, engine.address, fmt, report, done, detach, wait_timeout)


def _remove(g: Globals, swarm: Any, name: str, fmt: str, report: Any, done: list[Any], timeout: float) -> int:
    from devenv.engine.swarm import remove_stack
    from devenv.plan.stack import removal

    changes = removal(name, swarm.existing(name))
    if not changes:
        say(f"nothing to remove: no stack {name} on the swarm")
    elif g.dry_run:
        for change in changes:
            say(f"dry run: would remove {change.kind} {change.name}")
        return 0
    left = remove_stack(swarm, name, changes, report, max(timeout, 1.0)) if changes else []
    if fmt == "json":
        emit_json({"stack": name, "changes": [_json(c) for c in done], "left": left})
    for what in left:
        say(f"devenv: {what} of stack {name} is still there after {timeout:g} s")
    return EXIT_FAILED if left else 0


def _deploy(g: Globals, swarm: Any, project: Any, address: str, fmt: str, report: Any, done: list[Any],
            detach: bool, timeout: float) -> int:
    import os

    from devenv.engine.swarm import apply, failed_before, wait_converged
    from devenv.manifest.reading import read_bytes
    from devenv.plan.stack import MAX_FILE_OBJECT, Host, plan, render

    local = address.startswith("unix://")
    host = Host(read=lambda path: read_bytes(path, "file", limit=MAX_FILE_OBJECT + 1),
                bind_exists=os.path.exists if local else None)
    stack = render(project, host)
    for warning in stack.warnings:
        say(f"devenv: warning: {warning}")
    existing = swarm.existing(stack.project)
    changes = plan(stack, existing)
    if g.dry_run:
        for change in changes:
            say(f"dry run: {change.kind} {change.name}: {change.action}" + (f" ({change.reason})" if change.reason else ""))
        return 0
    seen = failed_before(swarm, [s for s in stack.services if s.name in existing.services])
    apply(swarm, stack, changes, existing, report)
    states = {} if detach else wait_converged(swarm, stack.services, timeout, seen, say)
    stuck = [s for s in stack.services if s.name in states and not states[s.name].done]
    for service in stuck:
        state = states[service.name]
        wanted = "one per node" if state.wanted is None else str(state.wanted)
        why = state.failed or f"not converged within {timeout:g} s"
        say(f"devenv: service {service.name}: {why} ({state.running} of {wanted} tasks running)")
    if fmt == "json":
        emit_json({
            "stack": stack.project,
            "changes": [_json(c) for c in done],
            "services": [{"name": s.name, "converged": states[s.name].done if s.name in states else None,
                          "running": states[s.name].running if s.name in states else None,
                          "replicas": s.replicas} for s in stack.services],
        })
    else:
        from devenv.cli.output import table

        results = {c.name: DONE[c.action] for c in done if c.kind == "service"}
        rows = []
        for s in stack.services:
            last = states.get(s.name)
            wanted = "global" if s.replicas is None else str(s.replicas)
            running = "-" if last is None else str(last.running)
            converged = "-" if last is None else "yes" if last.done else "no"
            rows.append([s.name, results.get(s.name, ""), f"{running}/{wanted}", converged])
        echo(table(["service", "result", "replicas", "converged"], rows))
    return EXIT_FAILED if stuck else 0
