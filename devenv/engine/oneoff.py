"""One-off containers for `devenv run`: the service's container, with the run's overrides."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from typing import TYPE_CHECKING

from devenv.engine.api import is_not_found
from devenv.errors import EngineError
from devenv.model import Project, Service
from devenv.plan import Action, Op, Plan
from devenv.plan.containerspec import container_spec
from devenv.plan.images import build_payload
from devenv.plan.naming import image_name

if TYPE_CHECKING:
    from devenv.engine.client import Engine


def ensure_image(client: Engine, project: Project, service: Service, say: Callable[[str], None]) -> str:
    """The service's image ID, building or pulling it first when it is missing."""
    from devenv.engine.executor import Executor
    from devenv.engine.operations import Context

    reference = image_name(project.name, service)
    try:
        return client.api.inspect_image(reference)["Id"]
    except Exception as exc:
        if not is_not_found(exc):
            raise
    if service.build is not None:
        action = Action(f"build_image:{reference}", Op.BUILD_IMAGE, reference, "missing locally", payload=build_payload(project, service))
    else:
        action = Action(f"pull_image:{reference}", Op.PULL_IMAGE, reference, "missing locally",
                        payload={"image": reference, "platform": service.get("platform")})
    say(f"  … {action.describe()}")
    outcomes = Executor(Context(client, None, 0, lambda: False, lambda _l: None), Plan("run", project.name, (action,))).run()
    if not outcomes or not outcomes[0].ok:
        raise EngineError(f"{action.describe()} failed: {outcomes[0].detail if outcomes else 'not run'}")
    return client.api.inspect_image(reference)["Id"]


def create_oneoff(
    client: Engine, project: Project, service: Service, image_id: str, *, slug: str, name: str | None,
    command: list[str] | None, entrypoint: str | None, env: list[str], workdir: str | None, user: str | None,
    tty: bool, interactive: bool, service_ports: bool, publish_host: str, remove_on_exit: bool,
    env_files: tuple[str, ...] = (), use_aliases: bool = True,
) -> str:
    spec = container_spec(project, service, None, image_id=image_id, publish_host=publish_host, slug=slug,
                          env_files=env_files, use_aliases=use_aliases)
    body = spec.create_body()
    if command:
        body["Cmd"] = command
    if entrypoint is not None:
        body["Entrypoint"] = shlex.split(entrypoint) if entrypoint else [""]
        if not command:
            body["Cmd"] = None
    if env:
        names = {e.split("=", 1)[0] for e in env}
        body["Env"] = [e for e in body.get("Env") or [] if e.split("=", 1)[0] not in names] + env
    if workdir:
        body["WorkingDir"] = workdir
    if user:
        body["User"] = user
    body.update(Tty=tty, OpenStdin=interactive, StdinOnce=interactive, AttachStdin=interactive, AttachStdout=True, AttachStderr=True)
    host = body.setdefault("HostConfig", {})
    if not service_ports:
        host.pop("PortBindings", None)
    if remove_on_exit:
        host["AutoRemove"] = True
    host["RestartPolicy"] = {"Name": "no"}
    container = name or spec.name
    api = client.api
    api.create_container(container, body)
    for attachment in spec.connect:
        api.connect_network(attachment.network, attachment.connect_body(container))
    if spec.files:
        from devenv.engine.operations import put_files

        put_files(api, container, spec.files)
    return container


def start(client: Engine, container: str) -> None:
    client.api.start(container)


def remove(client: Engine, container: str) -> None:
    """Remove the one-off container and its anonymous volumes (`run --rm`); gone already is fine."""
    try:
        client.api.remove_container(container, v=True, force=True)
    except Exception as exc:
        if not is_not_found(exc):
            raise
