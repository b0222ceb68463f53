"""What the engine commands share: load the project, find its settings, connect, report."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from devenv.errors import UsageError
from devenv.manifest.options import ProjectOptions
from devenv.model import Project

if TYPE_CHECKING:
    from devenv.engine.background import Background
    from devenv.engine.client import Endpoint, Engine

PUBLISH_HOST_ENV = "DEVENV_PUBLISH_HOST"


# The commands that act on what exists: with `-p NAME` and no Compose file, they work from the
# engine's labels (as Compose's do). `up`, `run`, `build`, `create`, `config`... need the file.
FROM_LABELS_COMMANDS = frozenset({
    "ps", "logs", "down", "stop", "start", "restart", "kill", "rm", "exec", "top", "port", "cp",
    "images", "pause", "unpause", "events", "wait", "attach", "stats",
})


def _current_command() -> str | None:
    """The name of the click command running, if any (click is only looked at once loaded)."""
    click = sys.modules.get("click")
    if click is None:
        return None
    ctx = click.get_current_context(silent=True)
    return ctx.info_name if ctx is not None else None


def _project_name_given(options: ProjectOptions, environ: dict[str, str]) -> str | None:
    from devenv.manifest.loader import normalize_project_name

    name = options.project_name or environ.get("COMPOSE_PROJECT_NAME")
    if name and normalize_project_name(name) != name:
        from devenv.errors import ManifestError

        raise ManifestError(
            f"invalid project name {name!r}: use only lowercase letters, digits, '-' and '_', starting with a letter or digit"
        )
    return name or None


def _check_services(project: Project, services: tuple[str, ...]) -> Project:
    known = set(project.services) | set(project.disabled_services)
    unknown = [s for s in services if s not in known]
    if unknown:
        raise UsageError(f"no such service: {', '.join(unknown)} (services: {', '.join(sorted(known))})")
    return project


def load(
    options: ProjectOptions, services: tuple[str, ...] = (), *, from_labels: bool | None = None,
    engine: Background[Engine] | Engine | None = None,
) -> Project:
    """The project of the Compose files; with no file but a project name (`-p`, COMPOSE_PROJECT_NAME)
    and `from_labels` (default: whether the running command acts on what exists), the project as
    the engine's labels describe it (`engine`: the connection to use, else a new one)."""
    from devenv.engine.client import select
    from devenv.manifest import load_project
    from devenv.manifest.discover import NoComposeFile

    select(None)  # connect(): DOCKER_HOST or the socket, unless the project's environment names its engine
    try:
        project = load_project(options)
        if project.env:
            select(environment_endpoint(project, options))
    except NoComposeFile as missing:
        if from_labels is None:
            from_labels = _current_command() in FROM_LABELS_COMMANDS
        name = _project_name_given(options, missing.environ) if from_labels else None
        if not name:
            raise
        from devenv.engine.labelled import observed_project

        if engine is None:
            from devenv.engine.client import connect

            engine = connect()
        client = engine.result() if hasattr(engine, "result") else engine
        project = observed_project(client, name, options.cwd)
    return _check_services(project, services)


def load_while_connecting(
    options: ProjectOptions, services: tuple[str, ...] = (), *, from_labels: bool | None = None
) -> tuple[Project, Background[Engine]]:
    """The project, and the connection to the engine being made meanwhile (a round trip, and the
    engine modules' import): `.result()` gives the client or raises why there is none. A bad
    manifest is reported first, as always."""
    from devenv.engine.background import Background
    from devenv.engine.client import connect

    if options.env and options.local is not True:  # the environment's engine is known once it is loaded
        project = load(options, services, from_labels=from_labels)
        return project, Background(connect)
    engine = Background(connect)
    project = load(options, services, from_labels=from_labels, engine=engine)
    return project, engine


def load_and_connect(
    options: ProjectOptions, services: tuple[str, ...] = (), *, from_labels: bool | None = None
) -> tuple[Project, Engine]:
    project, engine = load_while_connecting(options, services, from_labels=from_labels)
    return project, engine.result()


def environment_endpoint(project: Project, options: ProjectOptions) -> Endpoint | None:
    """The engine of the project's environment: its `host`, or its docker `context`; None (the
    local engine: DOCKER_HOST or the socket) under --local or when it declares neither. The
    environment's engine wins over DOCKER_HOST: the user chose --env."""
    import dataclasses

    from devenv.engine.contexts import endpoint_of
    from devenv.manifest.environments import settings

    endpoint = None if options.local is True else endpoint_of(settings(project))
    return dataclasses.replace(endpoint, origin=f"environment {project.env}") if endpoint else None


def local_options(options: ProjectOptions, local: bool) -> ProjectOptions:
    """The options of a command that runs the project (`up`): with --env, `--local` puts the
    environment on the local engine with its laptop overrides; without it, the laptop applies
    when the environment declares no engine of its own."""
    import dataclasses

    if local and not options.env:
        raise UsageError("--local needs an environment: devenv --env NAME ... --local")
    return dataclasses.replace(options, local=True if local else None) if options.env else options


def laptop_applied(project: Project, options: ProjectOptions) -> bool:
    """Whether the project was loaded with its environment's `laptop` overrides merged."""
    from devenv.manifest.environments import runs_locally, settings

    if not project.env or options.local is False:
        return False
    environment = settings(project)
    return bool(environment.laptop) and (options.local is True or runs_locally(environment))


def show_laptop_differences(project: Project, options: ProjectOptions) -> Project | None:
    """Each field the laptop overrides change, one line on stderr (secret values never shown); the
    environment's own model (without the laptop) when the laptop applies, else None."""
    if not laptop_applied(project, options):
        return None
    import dataclasses

    from devenv.manifest import load_project
    from devenv.plan.laptop import differences

    declared = load_project(dataclasses.replace(options, local=False), warn=lambda _message: None)
    for difference in differences(declared, project):
        say(f"devenv: laptop differs from {project.env}: {difference}")
    return declared


def explicit_env_files(options: ProjectOptions) -> tuple[str, ...]:
    """The `--env-file` paths given (absolute), recorded in a label as Compose does; not an implicit .env."""
    return tuple(os.path.normpath(os.path.join(options.cwd, f)) for f in options.env_files)


def publish_host(project: Project) -> str:
    """Where published ports without a host address bind: x-devenv.publish_host, DEVENV_PUBLISH_HOST, 127.0.0.1."""
    value = os.environ.get(PUBLISH_HOST_ENV) or (project.x_devenv or {}).get("publish_host") or "127.0.0.1"
    import ipaddress

    try:
        ipaddress.ip_address(str(value))
    except ValueError:
        raise UsageError(f"invalid publish_host {value!r}: use an IP address such as 127.0.0.1 or 0.0.0.0") from None
    return str(value)


ABOVE: Callable[[Callable[[], None]], None] | None = None  # progress bars on a terminal: lines go above them


def echo(message: str = "", err: bool = False, nl: bool = True) -> None:
    """One write and a flush, so progress lines show as they happen (also through a pipe)."""

    def write() -> None:
        stream = sys.stderr if err else sys.stdout
        stream.write(message + "\n" if nl else message)
        stream.flush()

    above = ABOVE
    if above is None:
        write()
    else:
        above(write)


def say(message: str) -> None:
    echo(message, err=True)


def say_engine(engine: Engine) -> None:
    """`engine: ADDRESS (how)` on stderr when it is not the default local socket (where Compose's
    output is kept identical)."""
    from devenv.engine.client import engine_line

    line = engine_line(engine)
    if line:
        say(line)


def emit_json(data: Any) -> None:
    echo(json.dumps(data, indent=2, sort_keys=False))
