"""`devenv run`: a one-off container of a service (its dependencies up first); its exit code is ours."""

from __future__ import annotations

import dataclasses
import os
import secrets
from types import MappingProxyType
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
    from devenv.engine.oneoff import remove as remove_oneoff
    from devenv.plan.actions import Op
    from devenv.plan.containerspec import find_service
    from devenv.plan.run import ONE_OFF, RunOptions, derive, oneoff_container, plan_run

    labels = _split_pairs(label, "--label")
    from devenv.cli.common import local_options, show_laptop_differences

    project_options = local_options(g.options, local)
    project = load(project_options, (service,))
    show_laptop_differences(project, project_options)
    lookup = {**dict(project.environment), **os.environ}
    words, environment = strip_separator(command), env_pairs(env, lookup=lookup)
    use_tty = not no_tty and not detach and (tty or stdin_is_tty())
    options = RunOptions(
        service=service, slug=secrets.token_hex(32), command=tuple(words), entrypoint=entrypoint, env=tuple(environment),
        workdir=workdir, user=user, volumes=volume, publish=publish, service_ports=service_ports, use_aliases=use_aliases,
        labels=labels, cap_add=cap_add, cap_drop=cap_drop, tty=use_tty, interactive=interactive and not detach,
        detach=detach, remove=remove, name=name, no_deps=no_deps, build=build, pull=pull, remove_orphans=remove_orphans,
        publish_host=publish_host(project), env_files=explicit_env_files(g.options),
    )
    derive(project, find_service(project, service), options)  # bad --publish/--volume: refused before anything
    from devenv.cli.risk_check import confirm_risks

    confirm_risks(project, yes, dry_run=g.dry_run)
    if g.dry_run:
        say(f"dry run: would create and start a one-off container of {service}"
            + (f" running {' '.join(words)}" if words else ""))
        return 0
    client = connect()
    engine_settings(g)
    shown = progress(g, hidden={Op.PULL_IMAGE} if quiet_pull else set())

    def listener(event: str, action: Any, outcome: Any) -> None:
        if action.reason != ONE_OFF or (outcome is not None and outcome.status != "done"):  # as Compose: its own steps unsaid
            shown(event, action, outcome)

    from devenv.engine.shipping import for_up

    derived, target = derive(project, find_service(project, service), options)  # with its -v binds
    with_target = dataclasses.replace(derived, services=MappingProxyType({**derived.services, service: target}))
    shipping = for_up(client, with_target, (service,), no_deps=no_deps)  # local files for a remote engine
    if shipping is not None:
        options = dataclasses.replace(options, shipped=shipping.mounts)
    applied = apply(client, project, lambda observed: plan_run(project, observed, options),
                    listener=listener, say=say, wait_timeout=wait_timeout,
                    before_containers=None if shipping is None else (lambda: shipping.ship(say)))
    if applied.failures:
        from devenv.engine.apply import explain_failure

        for outcome in applied.failures:
            say(explain_failure(client, outcome))
        return 1
    container = oneoff_container(applied.plans[0])
    if detach:
        echo(container)
        return 0
    code = run_cli(["start", "--attach", *(["--interactive"] if interactive else []), container])
    if remove:
        try:
            remove_oneoff(client, container)
        except Exception:
            pass
    return code
