"""`devenv watch`: bring the services up (building those with `develop`), then keep their
containers in step with the host as Compose's `develop.watch` rules say (engine/watching.py).
One line per sync, rebuild, restart or exec; `--format json`: one JSON event per line."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import click

from devenv.cli.command import Globals, engine_settings, format_option, progress, services_argument


@click.command("watch", help="Bring the services up, then sync, rebuild or restart them as their "
                             "develop.watch rules say when files change. Ctrl-C stops watching; the containers keep running.")
@services_argument
@click.option("--no-up", is_flag=True, help="Do not build and start the services before watching.")
@click.option("--prune/--no-prune", default=True, show_default=True, help="Remove the dangling images left by rebuilds.")
@click.option("--quiet", is_flag=True, help="Hide the builds' output.")
@format_option()
@click.pass_obj
def watch(g: Globals, services: tuple[str, ...], no_up: bool, prune: bool, quiet: bool, fmt: str) -> int:
    from devenv.cli.common import load_while_connecting
    from devenv.plan.watch import rules_of

    project, engine = load_while_connecting(g.options, services)
    rules_of(project, services)  # a bad rule, or nothing to watch: said before anything starts
    client = engine.result()
    engine_settings(g)
    return run_watch(g, client, project, services, up_first=not no_up, prune=prune, quiet=quiet, fmt=fmt)


def run_watch(g: Globals, client: Any, project: Any, services: tuple[str, ...], *, up_first: bool, prune: bool,
              quiet: bool, fmt: str, metrics: Any = None) -> int:
    """The loop, after an `up` of the services (unless `up_first` is False: `up --watch` did it).
    `metrics`: `up --watch`'s Reporter (else one is made from x-devenv.metrics, and closed here)."""
    from devenv.cli.common import load
    from devenv.engine.watching import Session, WatchEvent
    from devenv.metrics import reporter

    own = metrics is None
    metrics = reporter(project) if own else metrics
    emit = _emitter(fmt, metrics)
    runner = _up_runner(g, client, fmt, quiet, emit, metrics)
    try:
        if up_first and not runner(project, services, False):
            return 1
        if metrics is not None:
            metrics.sample_containers(client)
        session = Session(client, project, services, up=runner, emit=emit, prune=prune,
                          reload=lambda: load(g.options, services))
        try:
            session.run()
        except KeyboardInterrupt:
            session.close()
            emit(WatchEvent("stopped", "watch stopped; the containers keep running"))
        return 1 if session.failed else 0
    finally:
        if own and metrics is not None:
            metrics.close()


def _emitter(fmt: str, metrics: Any = None) -> Callable[[Any], None]:
    import json

    from devenv.cli.common import echo
    from devenv.cli.output import style

    def emit(event: Any) -> None:
        if metrics is not None:
            metrics.watch_event(event)
        if fmt == "json":  # one object per line: a stream of events
            echo(json.dumps(event.to_json(), separators=(",", ":")))
        elif event.event in ("warning",):
            echo(style(event.line, "yellow"), err=True)
        elif event.event == "error":
            echo(style(event.line, "red"), err=True)
        else:
            echo(event.line)

    return emit


def _up_runner(g: Globals, client: Any, fmt: str, quiet: bool, emit: Callable[[Any], None],
               metrics: Any = None) -> Callable[..., bool]:
    """`up` for the loop: the services (their dependencies too unless `rebuild`); a rebuild builds
    and recreates only them. Services with both `build` and `develop` are always built, as
    Compose's watch does. Failures are reported as error events."""

    def run(project: Any, services: tuple[str, ...], rebuild: bool) -> bool:
        from devenv.cli.common import explicit_env_files, publish_host, say
        from devenv.engine.apply import apply, explain_failure
        from devenv.engine.watching import WatchEvent
        from devenv.plan import UpOptions, plan_up
        from devenv.plan.actions import Op

        built = _build_watched(project)
        options = UpOptions(services=services, no_deps=rebuild, build=rebuild, wait=True, publish_host=publish_host(project),
                            env_files=explicit_env_files(g.options))
        hidden = {Op.BUILD_IMAGE} if quiet else set()
        log = (lambda _line: None) if quiet or fmt == "json" else (lambda line: say(f"    {line}"))
        applied = apply(client, built, lambda observed: plan_up(built, observed, options),
                        listener=progress(g, fmt, hidden=hidden), say=say, wait_timeout=300.0, log=log)
        if metrics is not None:
            metrics.up(applied)
        for failure in applied.failures:
            emit(WatchEvent("error", f"error: {explain_failure(client, failure)}", failure.action.service))
        return not applied.failures

    return run


def _build_watched(project: Any) -> Any:
    """The project with `pull_policy: build` on the services that have `build` and `develop`."""
    from types import MappingProxyType

    services = dict(project.services)
    for name, service in project.services.items():
        if service.build and service.get("develop") and service.get("pull_policy") != "build":
            services[name] = dataclasses.replace(service, config=MappingProxyType({**service.config, "pull_policy": "build"}))
    return dataclasses.replace(project, services=MappingProxyType(services))
