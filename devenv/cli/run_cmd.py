"""`devenv run`: a one-off container of a service (its dependencies up first); its exit code is ours."""

from __future__ import annotations

import os
import secrets
from typing import Any

import click

from devenv.cli.command import (
    Globals,
    engine_settings,
    env_pairs,
    progress,
    service_argument,
    strip_separator,
)
from devenv.cli.common import echo, explicit_env_files, load, publish_host, say
from devenv.errors import UsageError


def _split_pairs(items: tuple[str, ...], option: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid {option} {item!r}: use KEY=VALUE")
        out[key] = value
    return out


def derive(project: Any, target: Any, *, command: list[str], entrypoint: str | None, env: list[str], workdir: str | None,
           user: str | None, volumes: tuple[str, ...], publish: tuple[str, ...], service_ports: bool,
           labels: dict[str, str], cap_add: tuple[str, ...], cap_drop: tuple[str, ...], tty: bool,
           interactive: bool) -> tuple[Any, Any]:
    """The project and service a one-off container is made from, as Compose's `run` derives them:
    the service's canonical config with the command line's overrides (its own ports only with
    --service-ports; --publish, --volume, --label, --cap-add/--cap-drop added)."""
    import dataclasses
    import os
    import shlex

    from devenv.manifest.shortsyntax import SyntaxProblem, parse_port, parse_volume
    from devenv.model import Service, freeze, thaw

    cfg = thaw(target.config)
    if command:
        cfg["command"] = list(command)
    if entrypoint is not None:
        cfg["entrypoint"] = shlex.split(entrypoint) if entrypoint else [""]
        if not command:
            cfg.pop("command", None)
    if env:
        environment = dict(cfg.get("environment") or {})
        for item in env:
            key, _, value = item.partition("=")
            environment[key] = value
        cfg["environment"] = environment
    if workdir:
        cfg["working_dir"] = workdir
    if user:
        cfg["user"] = user
    cfg["tty"], cfg["stdin_open"] = tty, interactive
    if not service_ports:
        ports = []
        for spec in publish:
            try:
                ports += parse_port(spec)
            except SyntaxProblem as exc:
                raise UsageError(f"invalid --publish {spec!r}: {exc}") from None
        cfg["ports"] = ports
    volumes_declared = dict(project.volumes)
    if volumes:
        mounts = list(cfg.get("volumes") or ())
        for spec in volumes:
            try:
                mount = parse_volume(spec)
            except SyntaxProblem as exc:
                raise UsageError(f"invalid --volume {spec!r}: {exc}") from None
            source = mount.get("source")
            if mount["type"] == "bind" and source:
                source = os.path.expanduser(source)
                mount["source"] = os.path.normpath(os.path.join(project.working_dir, source))
            elif mount["type"] == "volume" and source and source not in volumes_declared:
                # a volume the project does not declare: used by its own name (the engine makes it)
                volumes_declared[source] = freeze({"name": source, "external": True})
            mounts = [m for m in mounts if m.get("target") != mount["target"]] + [mount]
        cfg["volumes"] = mounts
    if labels:
        cfg["labels"] = {**(cfg.get("labels") or {}), **labels}
    if cap_add:
        cfg["cap_add"] = list(dict.fromkeys([*(cfg.get("cap_add") or ()), *cap_add]))
        cfg["cap_drop"] = [c for c in cfg.get("cap_drop") or () if c not in cap_add]
    if cap_drop:
        cfg["cap_drop"] = list(dict.fromkeys([*(cfg.get("cap_drop") or ()), *cap_drop]))
        cfg["cap_add"] = [c for c in cfg.get("cap_add") or () if c not in cap_drop]
    for key in ("cap_add", "cap_drop"):
        if key in cfg and not cfg[key]:
            del cfg[key]
    service = Service(target.name, freeze(cfg))
    derived = dataclasses.replace(project, volumes=volumes_declared)
    return derived, service


@click.command("run", help="Run a one-off command in a new container of SERVICE.",
               context_settings={"allow_interspersed_args": False})
@click.option("--rm", "remove", is_flag=True, help="Remove the container when it exits.")
@click.option("-d", "--detach", is_flag=True, help="Start it in the background and print its name.")
@click.option("-e", "--env", multiple=True, metavar="KEY[=VALUE]", help="Set an environment variable (repeatable).")
@click.option("-l", "--label", multiple=True, metavar="KEY=VALUE", help="Add or override a label (repeatable).")
@click.option("-v", "--volume", multiple=True, metavar="[SOURCE:]TARGET[:MODE]", help="Mount a volume (repeatable).")
@click.option("-p", "--publish", multiple=True, metavar="[IP:][HOST:]PORT", help="Publish a container port (repeatable).")
@click.option("-P", "--service-ports", is_flag=True, help="Publish the service's ports (not done by default).")
@click.option("--use-aliases", is_flag=True, help="Join the networks under the service's aliases too.")
@click.option("--no-deps", is_flag=True, help="Do not start the service's dependencies.")
@click.option("-i", "--interactive/--no-interactive", default=True, help="Keep STDIN open (default: on).")
@click.option("-t", "--tty", is_flag=True, help="Allocate a pseudo-TTY (default: when STDIN is a terminal).")
@click.option("-T", "--no-TTY", "--no-tty", "no_tty", is_flag=True, help="Do not allocate a pseudo-TTY.")
@click.option("--name", help="Container name (default: {project}-{service}-run-{id}).")
@click.option("--entrypoint", help="Override the image's entrypoint.")
@click.option("-w", "--workdir", help="Working directory inside the container.")
@click.option("-u", "--user", help="User (name or uid[:gid]) to run as.")
@click.option("--cap-add", multiple=True, metavar="CAP", help="Add a Linux capability (repeatable).")
@click.option("--cap-drop", multiple=True, metavar="CAP", help="Drop a Linux capability (repeatable).")
@click.option("--build", is_flag=True, help="Build the service's image before starting the container.")
@click.option("--pull", type=click.Choice(("always", "missing", "never")), help="Pull the image first: always, if missing, or never.")
@click.option("--quiet-pull", is_flag=True, help="Do not print the image pull's progress.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services no longer in the project.")
@click.option("--wait-timeout", type=float, default=300.0, metavar="SECONDS", show_default=True,
              help="Seconds to wait for dependencies.")
@click.option("--yes", is_flag=True, help="Go on despite the risky declarations warned about (remembered for this project).")
@click.option("--local", is_flag=True, help="With --env: that environment on the local engine, its laptop overrides merged.")
@service_argument
@click.argument("command", nargs=-1, type=click.UNPROCESSED, metavar="[COMMAND [ARGS]...]")
@click.pass_obj
def run(g: Globals, remove: bool, detach: bool, env: tuple[str, ...], label: tuple[str, ...], volume: tuple[str, ...],
        publish: tuple[str, ...], service_ports: bool, use_aliases: bool, no_deps: bool, interactive: bool, tty: bool,
        no_tty: bool, name: str | None, entrypoint: str | None, workdir: str | None, user: str | None,
        cap_add: tuple[str, ...], cap_drop: tuple[str, ...], build: bool, pull: str | None, quiet_pull: bool,
        remove_orphans: bool, wait_timeout: float, yes: bool, local: bool, service: str,
        command: tuple[str, ...]) -> int:
    from devenv.engine.apply import apply
    from devenv.engine.cli_bridge import run_cli, stdin_is_tty
    from devenv.engine.client import connect
    from devenv.engine.oneoff import create_oneoff, ensure_image
    from devenv.engine.oneoff import remove as remove_oneoff
    from devenv.engine.oneoff import start as start_oneoff
    from devenv.plan import UpOptions
    from devenv.plan.actions import Op
    from devenv.plan.containerspec import find_service
    from devenv.plan.infra import used_volumes

    if service_ports and publish:
        raise UsageError("--service-ports and --publish are incompatible")
    labels = _split_pairs(label, "--label")
    from devenv.cli.common import local_options, show_laptop_differences

    project_options = local_options(g.options, local)
    project = load(project_options, (service,))
    show_laptop_differences(project, project_options)
    lookup = {**dict(project.environment), **os.environ}
    words, environment = strip_separator(command), env_pairs(env, lookup=lookup)
    original = find_service(project, service)
    use_tty = not no_tty and not detach and (tty or stdin_is_tty())
    project_for_run, target = derive(
        project, original, command=words, entrypoint=entrypoint, env=environment, workdir=workdir, user=user,
        volumes=volume, publish=publish, service_ports=service_ports, labels=labels, cap_add=cap_add,
        cap_drop=cap_drop, tty=use_tty, interactive=interactive and not detach,
    )
    host = publish_host(project)
    from devenv.cli.risk_check import confirm_risks

    confirm_risks(project, yes, dry_run=g.dry_run)
    if g.dry_run:
        say(f"dry run: would create and start a one-off container of {service}"
            + (f" running {' '.join(words)}" if words else ""))
        return 0
    client = connect()
    engine_settings(g)
    hidden = {Op.PULL_IMAGE} if quiet_pull else set()
    dependencies = () if no_deps else tuple(d for d in original.dependencies() if d in project.services)
    up_options = UpOptions(services=dependencies, wait=False, publish_host=host, remove_orphans=remove_orphans,
                           env_files=explicit_env_files(g.options))
    volume_keys = tuple(k for k in used_volumes([target]) if k in project.volumes)  # the declared ones it mounts
    applied = apply(client, project, lambda observed: _prepare(project, original, observed, up_options, volume_keys),
                    listener=progress(g, hidden=hidden), say=say, wait_timeout=wait_timeout)
    if applied.failures:
        from devenv.engine.apply import explain_failure

        for outcome in applied.failures:
            say(explain_failure(client, outcome))
        return 1
    _image_first(g, client, project, original, build=build, pull=pull, hidden=hidden)
    image_id = ensure_image(client, project, original, say)
    container = create_oneoff(
        client, project_for_run, target, image_id, slug=secrets.token_hex(32), name=name, command=None,
        entrypoint=None, env=[], workdir=None, user=None, tty=use_tty,
        interactive=interactive and not detach, service_ports=True, publish_host=host,
        remove_on_exit=remove and detach, env_files=explicit_env_files(g.options), use_aliases=use_aliases,
    )
    if detach:
        start_oneoff(client, container)
        echo(container)
        return 0
    code = run_cli(["start", "--attach", *(["--interactive"] if interactive else []), container])
    if remove:
        try:
            remove_oneoff(client, container)
        except Exception:
            pass
    return code


def _image_first(g: Globals, client: Any, project: Any, service: Any, *, build: bool, pull: str | None, hidden: set[Any]) -> None:
    """--build (build the image again) and --pull always|never, before the container is made."""
    from devenv.engine.executor import Executor
    from devenv.engine.operations import Context
    from devenv.errors import EngineError
    from devenv.plan import Action, Op, Plan
    from devenv.plan.images import build_payload
    from devenv.plan.naming import image_name

    reference = image_name(project.name, service)
    action = None
    if build and service.build is not None:
        action = Action(f"build_image:{reference}", Op.BUILD_IMAGE, reference, "run --build", payload=build_payload(project, service))
    elif pull == "always" and service.image:
        action = Action(f"pull_image:{reference}", Op.PULL_IMAGE, reference, "run --pull always",
                        payload={"image": reference, "platform": service.get("platform")})
    elif pull == "never":
        from devenv.engine.queries import image_present

        if not image_present(client, reference):
            raise EngineError(f"image {reference} is missing and --pull never forbids pulling it")
    if action is None:
        return
    outcomes = Executor(Context(client, None, 0, lambda: False, lambda _l: None), Plan("run", project.name, (action,)),
                        progress(g, hidden=hidden)).run()
    if not outcomes or not outcomes[0].ok:
        raise EngineError(f"{action.describe()} failed: {outcomes[0].detail if outcomes else 'not run'}")


def _prepare(project: Any, target: Any, observed: Any, up_options: Any, volume_keys: tuple[str, ...] | None = None) -> Any:
    """What a one-off container needs before it starts, as Compose's `run` does: its dependencies up
    (unless --no-deps), the networks and volumes it uses, and its dependencies' conditions met
    (healthy, completed successfully)."""
    from devenv.plan import Action, Op, Plan, plan_up
    from devenv.plan.actions import PlanBuilder, action_id
    from devenv.plan.infra import (
        plan_networks,
        plan_volumes,
        used_networks,
        used_volumes,
    )
    from devenv.plan.naming import container_name

    plan = plan_up(project, observed, up_options) if up_options.services else Plan("run", project.name)
    known = {a.id for a in plan.actions}
    infra = PlanBuilder("run", project.name)
    plan_networks(infra, project, observed, used_networks(project, [target]))
    plan_volumes(infra, project, observed, used_volumes([target]) if volume_keys is None else volume_keys)
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

