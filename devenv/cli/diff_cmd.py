"""`devenv diff`: the drift report between the selected environment and another environment, a lock
file, or what runs on an engine. Exit 0 only when they are the same (allowed differences aside)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import click

from devenv.cli.command import Globals, format_option
from devenv.cli.common import echo, emit_json, load, publish_host, say
from devenv.errors import EXIT_FAILED, UsageError
from devenv.model import Project

ALLOWED_KEY = "allowed_differences"


def _environment_side(project: Project, label: str) -> Any:
    from devenv import lockfile
    from devenv.manifest.environments import settings
    from devenv.plan.declared import project_facts
    from devenv.plan.drift import project_side

    env = settings(project)
    lock = lockfile.read(env.lock)
    return project_side(label, project_facts(project), lock, publish_host(project), os.path.basename(env.lock))


def _address(host: str) -> str:
    """A DOCKER_HOST address as it is; a docker context's, through engine.contexts when there is one."""
    if "://" in host:
        return host
    import importlib

    try:  # through importlib: engine.contexts comes with the environments work
        contexts = importlib.import_module("devenv.engine.contexts")
    except ModuleNotFoundError:
        raise UsageError(f"--against-host {host}: not an engine address (unix://, tcp://, ssh://); "
                         "docker contexts are not supported by this build") from None
    return str(contexts.address_of(host))


def _host_side(project: Project, host: str, left: Any) -> Any:
    from devenv.engine.client import connect
    from devenv.engine.running import running_side
    from devenv.plan.fileobjects import file_binds
    from devenv.plan.naming import volume_name

    engine = connect(_address(host))
    volume_keys = {volume_name(project.name, key, config): key for key, config in project.volumes.items()}
    targets = {name: frozenset(b.rsplit(":", 2)[1] for b in file_binds(project, service)) for name, service in project.services.items()}
    hints = {name: facts.declared for name, facts in left.services.items()}
    return running_side(engine, project.name, f"host {host}", volume_keys=volume_keys, file_targets=targets, hints=hints)


def _allowed(project: Project) -> tuple[str, ...]:
    value = (project.x_devenv or {}).get(ALLOWED_KEY) or ()
    return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()


@click.command("diff", help="Compare the environment with another one, a lock file or what runs on an engine; exit 1 when they differ.")
@click.option("--against", "against_env", metavar="ENV", help="Another environment (its overlay and lock).")
@click.option("--against-lock", metavar="FILE", help="A lock file (its declared configuration and digests).")
@click.option("--against-host", metavar="DOCKER_HOST|CONTEXT", help="What runs on that engine (the project's containers).")
@format_option()
@click.pass_obj
def diff(g: Globals, against_env: str | None, against_lock: str | None, against_host: str | None, fmt: str) -> int:
    given = [o for o, v in (("--against", against_env), ("--against-lock", against_lock), ("--against-host", against_host)) if v]
    if len(given) != 1:
        raise UsageError("diff: give exactly one of --against ENV, --against-lock FILE, --against-host DOCKER_HOST|CONTEXT"
                         + (f" (got {' and '.join(given)})" if given else ""))
    from devenv.plan.drift import compare, summary, table_rows

    project = load(g.options)
    left = _environment_side(project, f"env {g.options.env or 'default'}")
    if against_env:
        other = load(dataclasses.replace(g.options, env=against_env))
        right = _environment_side(other, f"env {against_env}")
    elif against_lock:
        from devenv import lockfile
        from devenv.plan.drift import lock_side

        path = os.path.join(g.options.cwd, os.path.expanduser(against_lock))
        lock = lockfile.read(path)
        if lock is None:
            raise UsageError(f"--against-lock {against_lock}: no such lock file")
        right = lock_side(f"lock {against_lock}", lock, publish_host(project))
    else:
        right = _host_side(project, str(against_host), left)
    report = compare(left, right, _allowed(project))
    if fmt == "json":
        emit_json(report.to_json())
    else:
        from devenv.cli.dockerfmt import tabulate

        if report.differences:
            echo(tabulate(table_rows(report)))
        echo(summary(report))
        for note in report.notes:
            say(f"note: {note}")
    return 0 if report.same else EXIT_FAILED
