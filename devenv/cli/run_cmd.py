"""`devenv run`: a one-off container of a service (its dependencies up first); its exit code is ours."""

from __future__ import annotations

import argparse
import secrets

from devenv.cli.command import Command, Parser
from devenv.cli.common import echo, explicit_env_files, load, publish_host, say
from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions


def arguments(parser: Parser) -> None:
    parser.add_argument("--rm", dest="remove", action="store_true", help="Remove the container when it exits.")
    parser.add_argument("-d", "--detach", action="store_true", help="Start it in the background and print its name.")
    parser.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VALUE", help="Set an environment variable.")
    parser.add_argument("--no-deps", action="store_true", help="Do not start the service's dependencies.")
    parser.add_argument("-T", dest="no_tty", action="store_true", help="Do not allocate a pseudo-TTY.")
    parser.add_argument("--name", help="Container name (default: {project}-{service}-run-{id}).")
    parser.add_argument("--entrypoint", help="Override the image's entrypoint.")
    parser.add_argument("-w", "--workdir", help="Working directory inside the container.")
    parser.add_argument("-u", "--user", help="User (name or uid[:gid]) to run as.")
    parser.add_argument("--service-ports", action="store_true", help="Publish the service's ports (not done by default).")
    parser.add_argument("--wait-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="Seconds to wait for dependencies (default: 300).")
    parser.add_argument("service", metavar="SERVICE")
    parser.add_argument("command", nargs=argparse.REMAINDER, metavar="COMMAND ...", help="The command (default: the service's).")


def run(options: ProjectOptions, args: argparse.Namespace) -> int:
    from devenv.cli.output import Progress
    from devenv.engine.apply import apply
    from devenv.engine.cli_bridge import run_cli, stdin_is_tty
    from devenv.engine.client import connect
    from devenv.engine.oneoff import create_oneoff, ensure_image
    from devenv.plan import UpOptions
    from devenv.plan.containerspec import find_service

    service, command, env = args.service, args.command, args.env
    project = load(options, (service,))
    target = find_service(project, service)
    host = publish_host(project)
    for item in env:
        if "=" not in item:
            raise UsageError(f"invalid -e {item!r}: use KEY=VALUE")
    client = connect()
    dependencies = () if args.no_deps else tuple(d for d in target.dependencies() if d in project.services)
    up_options = UpOptions(services=dependencies, wait=False, publish_host=host, env_files=explicit_env_files(options))
    applied = apply(client, project, lambda observed: _prepare(project, target, observed, up_options),
                    listener=Progress(), say=say, wait_timeout=args.wait_timeout)
    if applied.failures:
        from devenv.engine.apply import explain_failure

        for outcome in applied.failures:
            say(explain_failure(client, outcome))
        return 1
    image_id = ensure_image(client, project, target, say)
    tty = not args.no_tty and not args.detach and stdin_is_tty()
    container = create_oneoff(
        client, project, target, image_id, slug=secrets.token_hex(32), name=args.name, command=list(command) or None,
        entrypoint=args.entrypoint, env=list(env), workdir=args.workdir, user=args.user, tty=tty,
        interactive=not args.detach, service_ports=args.service_ports, publish_host=host,
        remove_on_exit=args.remove and args.detach,
        env_files=explicit_env_files(options),
    )
    if args.detach:
        client.api.start(container)
        echo(container)
        return 0
    code = run_cli(["start", "--attach", "--interactive", container])
    if args.remove:
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


RUN = Command("Run a one-off command in a new container of SERVICE.", arguments, run, intermixed=False)
