"""`devenv run`: a one-off container of a service (its dependencies up first); its exit code is ours."""

from __future__ import annotations

import secrets

import click

from devenv.cli.command import Globals, env_pairs, service_argument, strip_separator
from devenv.cli.common import echo, explicit_env_files, load, publish_host, say


@click.command("run", help="Run a one-off command in a new container of SERVICE.",
               context_settings={"allow_interspersed_args": False})
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True, help="Start it in the background and print its name.")
@click.option("-e", "--env", multiple=True, metavar="KEY=VALUE", help="Set an environment variable (repeatable).")
@click.option("--no-deps", is_flag=True, help="Do not start the service's dependencies.")
@click.option("-T", "--no-TTY", "no_tty", is_flag=True, help="Do not allocate a pseudo-TTY.")
@click.option("--name", help="Container name (default: {project}-{service}-run-{id}).")
@click.option("--entrypoint", help="Override the image's entrypoint.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="User (name or uid[:gid]) to run as.")
@click.option("--service-ports", is_flag=True, help="Publish the service's ports (not done by default).")
@click.option("--wait-timeout", type=float, default=300.0, metavar="SECONDS", show_default=True,
              help="Seconds to wait for dependencies.")
@service_argument
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[COMMAND [ARGS]...]")
@click.pass_obj
def run(g: Globals, remove: bool, detach: bool, env: tuple[str, ...], no_deps: bool, no_tty: bool, name: str | None,
        entrypoint: str | None, workdir: str | None, user: str | None, service_ports: bool, wait_timeout: float,
        service: str, command: tuple[str, ...]) -> int:
    from devenv.cli.output import Progress
    from devenv.engine.apply import apply
    from devenv.engine.cli_bridge import run_cli, stdin_is_tty
    from devenv.engine.client import connect
    from devenv.engine.oneoff import create_oneoff, ensure_image
    from devenv.plan import UpOptions
    from devenv.plan.containerspec import find_service

    words, environment = strip_separator(command), env_pairs(env)
    project = load(g.options, (service,))
    target = find_service(project, service)
    host = publish_host(project)
    client = connect()
    dependencies = () if no_deps else tuple(d for d in target.dependencies() if d in project.services)
    up_options = UpOptions(services=dependencies, wait=False, publish_host=host, env_files=explicit_env_files(g.options))
    applied = apply(client, project, lambda observed: _prepare(project, target, observed, up_options),
                    listener=Progress(), say=say, wait_timeout=wait_timeout)
    if applied.failures:
        from devenv.engine.apply import explain_failure

        for outcome in applied.failures:
            say(explain_failure(client, outcome))
        return 1
    image_id = ensure_image(client, project, target, say)
    tty = not no_tty and not detach and stdin_is_tty()
    container = create_oneoff(
        client, project, target, image_id, slug=secrets.token_hex(32), name=name, command=words or None,
        entrypoint=entrypoint, env=environment, workdir=workdir, user=user, tty=tty,
        interactive=not detach, service_ports=service_ports, publish_host=host,
        remove_on_exit=remove and detach,
        env_files=explicit_env_files(g.options),
    )
    if detach:
        client.api.start(container)
        echo(container)
        return 0
    code = run_cli(["start", "--attach", "--interactive", container])
    if remove:
        try:
            client.api.remove_container(container, v=True, force=True)
        except Exception:
            pass
    return code


def _prepare(project, target, observed, up_options):  # type: ignore[no-untyped-def]
    """What a one-off container needs before it starts, as Compose's `run` does: its dependencies up
    (unless --no-deps), the networks and volumes it uses, and its dependencies' conditions met
    (healthy, completed successfully)."""
    from devenv.plan import Action, Op, Plan, plan_up
    from devenv.plan.actions import PlanBuilder, action_id
    from devenv.plan.infra import plan_networks, plan_volumes, used_networks, used_volumes
    from devenv.plan.naming import container_name

    plan = plan_up(project, observed, up_options) if up_options.services else Plan("run", project.name)
    known = {a.id for a in plan.actions}
    infra = PlanBuilder("run", project.name)
    plan_networks(infra, project, observed, used_networks(project, [target]))
    plan_volumes(infra, project, observed, used_volumes([target]))
    extra = [a for a in infra.build().actions if a.id not in known]
    gate_op = {"service_healthy": Op.WAIT_HEALTHY, "service_completed_successfully": Op.WAIT_COMPLETED}
    for dep in target.depends_on:
        op = gate_op.get(dep.condition)
        if op is None or dep.service not in up_options.services:
            continue
        service = project.services[dep.service]
        for number in range(1, service.scale + 1):
            name = container_name(project.name, service, number)
            id = action_id(op, name)
            if id in known:
                continue
            start = action_id(Op.START_CONTAINER, name)
            extra.append(Action(id, op, name, f"{target.name} needs {dep.service}", after=(start,) if start in known else (),
                                payload={"service": dep.service, "dependent": target.name, "required": dep.required},
                                service=dep.service))
            known.add(id)
    return Plan(plan.command, plan.project, plan.actions + tuple(extra), plan.notes, plan.warnings, plan.recheck)

