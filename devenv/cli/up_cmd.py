"""`devenv up`: bring the project to the declared state, and return once it is ready. With --attach,
--attach-dependencies, --abort-on-container-exit or --exit-code-from it stays attached to the
services' output as Compose's attached `up` does (without waiting for readiness), until the
containers stop; Ctrl-C leaves them running."""

from __future__ import annotations

import threading
from typing import Any

import click

from devenv.cli.command import (
    Globals,
    complete_services,
    engine_settings,
    format_option,
    progress,
    services_argument,
    timeout_option,
)
from devenv.cli.common import (
    explicit_env_files,
    load_while_connecting,
    local_options,
    publish_host,
    say,
    show_laptop_differences,
)
from devenv.errors import UsageError


def scale_count(value: str, count: str, prefix: str = "") -> int:
    """The NUMBER of `--scale SERVICE=NUMBER` (all digits), refused at once beyond MAX_REPLICAS."""
    from devenv.manifest.typed import MAX_REPLICAS

    if len(count.lstrip("0")) > len(str(MAX_REPLICAS)) or int(count) > MAX_REPLICAS:
        raise UsageError(f"{prefix}invalid --scale {value!r}: at most {MAX_REPLICAS} containers per service")
    return int(count)


def _scale(values: tuple[str, ...]) -> dict[str, int]:
    out = {}
    for value in values:
        name, sep, count = value.partition("=")
        if not sep or not (count.isascii() and count.isdigit()):
            raise UsageError(f"invalid --scale {value!r}: use SERVICE=NUMBER")
        out[name] = scale_count(value, count)
    return out


def _check(detach: bool, wait: bool, attach: tuple[str, ...], attach_dependencies: bool, abort_exit: bool,
           abort_failure: bool, build: bool, no_build: bool, force_recreate: bool, no_recreate: bool,
           renew: bool, always_recreate_deps: bool) -> None:
    """The combinations Compose refuses, with its words."""
    if abort_exit and abort_failure:
        raise UsageError("--abort-on-container-failure cannot be combined with --abort-on-container-exit")
    if wait and (attach_dependencies or abort_exit or attach):
        raise UsageError("--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies")
    if build and no_build:
        raise UsageError("--build and --no-build are incompatible")
    if detach and (attach_dependencies or abort_exit or abort_failure or attach):
        raise UsageError("--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, "
                         "--attach or --attach-dependencies")
    if renew and no_recreate:
        raise UsageError("--no-recreate and --renew-anon-volumes are incompatible")
    if force_recreate and no_recreate:
        raise UsageError("--force-recreate and --no-recreate are incompatible")
    if always_recreate_deps and no_recreate:
        raise UsageError("--always-recreate-deps and --no-recreate are incompatible")
    if attach and attach_dependencies:
        raise UsageError("cannot combine --attach and --attach-dependencies")


def _attach_set(project: Any, services: tuple[str, ...], attach: tuple[str, ...], with_dependencies: bool,
                no_attach: tuple[str, ...]) -> set[str]:
    """The services whose output an attached `up` shows (Compose's rules, `attach: false` honoured)."""
    if attach:
        unexpected = sorted(set(attach) - set(project.services))
        if unexpected:
            raise UsageError(f"cannot attach to services not included in up: {', '.join(unexpected)}")
        chosen = set(attach)
    else:
        names = list(services or project.services)
        if with_dependencies:
            todo = list(names)
            while todo:
                for dep in project.services[todo.pop()].dependencies():
                    if dep in project.services and dep not in names:
                        names.append(dep)
                        todo.append(dep)
        chosen = {n for n in names if project.services[n].get("attach", True) is not False}
    return chosen - set(no_attach)


@click.command("up", help="Create and start the services (and what they need); return once they are ready. "
                          "With --attach/--abort-on-container-exit/--exit-code-from, follow their output instead.")
@services_argument
@click.option("-d", "--detach", is_flag=True, help="Accepted for Compose habits: up returns once ready unless attached.")
@click.option("--wait", is_flag=True, help="Accepted for Compose habits: up always waits for running/healthy.")
@click.option("--wait-timeout", type=float, default=300.0, metavar="SECONDS", show_default=True,
              help="Seconds to wait for a service to become ready.")
@click.option("--build", is_flag=True, help="Build images before starting.")
@click.option("--no-build", is_flag=True, help="Never build; fail if an image is missing.")
@click.option("--pull", type=click.Choice(("always", "missing", "never")), help="Pull policy for every service.")
@click.option("--quiet-pull", is_flag=True, help="Do not print the image pulls' progress.")
@click.option("--quiet-build", is_flag=True, help="Do not print the builds' progress.")
@click.option("--no-deps", is_flag=True, help="Do not start the services' dependencies.")
@click.option("--no-start", is_flag=True, help="Create the containers (and what they need) but do not start them.")
@click.option("--force-recreate", is_flag=True, help="Recreate containers even if their configuration is unchanged.")
@click.option("--always-recreate-deps", is_flag=True, help="Recreate dependent containers too.")
@click.option("--no-recreate", is_flag=True, help="Keep existing containers even if their configuration changed.")
@click.option("-V", "--renew-anon-volumes", is_flag=True, help="New anonymous volumes instead of the previous containers' data.")
@click.option("--remove-orphans", is_flag=True, help="Remove containers of services no longer in the project.")
@click.option("--dry-run", "dry_run_here", is_flag=True, help="Print the plan and change nothing (as the global --dry-run).")
@timeout_option
@click.option("--scale", multiple=True, metavar="SERVICE=N", help="Number of containers for a service (repeatable).")
@click.option("--attach", multiple=True, metavar="SERVICE", shell_complete=complete_services,
              help="Follow these services' output after starting (repeatable).")
@click.option("--no-attach", multiple=True, metavar="SERVICE", shell_complete=complete_services,
              help="Do not show this service's output when attached (repeatable).")
@click.option("--attach-dependencies", is_flag=True, help="Follow the output of the dependencies too.")
@click.option("--abort-on-container-exit", "abort_exit", is_flag=True,
              help="Follow the output; when a container stops, stop the others and exit with its code.")
@click.option("--abort-on-container-failure", "abort_failure", is_flag=True,
              help="As --abort-on-container-exit, for a container that exits with a non-zero code.")
@click.option("--exit-code-from", metavar="SERVICE", shell_complete=complete_services,
              help="Exit with this service's container's exit code (implies --abort-on-container-exit).")
@click.option("--no-color", is_flag=True, help="Monochrome output when attached.")
@click.option("--no-log-prefix", is_flag=True, help="Do not prefix the lines with the container's name when attached.")
@click.option("--timestamps", is_flag=True, help="Show timestamps when attached.")
@click.option("--frozen", is_flag=True, help="Run exactly what the lock file pins (digests, bases); refuse when anything differs.")
@click.option("-y", "--yes", is_flag=True, help="Go on despite the risky declarations warned about (remembered for this project).")
@click.option("--local", is_flag=True, help="With --env: run that environment on the local engine, its laptop overrides merged.")
@click.option("-w", "--watch", "watch_after", is_flag=True,
              help="Then watch the files as `devenv watch` does (develop.watch rules); Ctrl-C leaves the containers running.")
@format_option()
@click.pass_obj
def up(g: Globals, services: tuple[str, ...], detach: bool, wait: bool, wait_timeout: float, build: bool, no_build: bool,
       pull: str | None, quiet_pull: bool, quiet_build: bool, no_deps: bool, no_start: bool, force_recreate: bool,
       always_recreate_deps: bool, no_recreate: bool, renew_anon_volumes: bool, remove_orphans: bool, dry_run_here: bool,
       timeout: int | None, scale: tuple[str, ...], attach: tuple[str, ...], no_attach: tuple[str, ...],
       attach_dependencies: bool, abort_exit: bool, abort_failure: bool, exit_code_from: str | None, no_color: bool,
       no_log_prefix: bool, timestamps: bool, frozen: bool, yes: bool, local: bool, watch_after: bool, fmt: str) -> int:
    import time

    from devenv.cli.report import print_applied, print_plan
    from devenv.engine.apply import apply
    from devenv.plan import UpOptions, plan_up
    from devenv.plan.actions import Op

    if exit_code_from and not abort_failure:
        abort_exit = True
    _check(detach, wait, attach, attach_dependencies, abort_exit, abort_failure, build, no_build, force_recreate,
           no_recreate, renew_anon_volumes, always_recreate_deps)
    attached = bool(attach or attach_dependencies or abort_exit or abort_failure) and not no_start
    if watch_after and (attached or no_start):
        raise UsageError("--watch cannot be combined with --attach, --abort-on-container-exit, --exit-code-from or --no-start")
    dry_run = g.dry_run or dry_run_here
    options = local_options(g.options, local)
    project, engine = load_while_connecting(options, services)
    declared = show_laptop_differences(project, options)
    if watch_after and not dry_run:
        from devenv.plan.watch import rules_of

        rules_of(project, services)  # a bad rule, or nothing to watch: said before anything starts
    if exit_code_from and exit_code_from not in project.services:
        raise UsageError(f"no such service: {exit_code_from} (--exit-code-from)")
    shown = _attach_set(project, services, attach, attach_dependencies, no_attach) if attached else set()
    up_options = UpOptions(
        services=services, no_deps=no_deps, force_recreate=force_recreate, always_recreate_deps=always_recreate_deps,
        no_recreate=no_recreate, remove_orphans=remove_orphans, scale=_scale(scale), pull=pull, build=build,
        no_build=no_build, no_start=no_start, wait=not attached, timeout=timeout, renew_anon_volumes=renew_anon_volumes,
        publish_host=publish_host(project), env_files=explicit_env_files(g.options),
    )
    from devenv.cli.risk_check import confirm_risks

    confirm_risks(project, yes, dry_run=dry_run)
    client = engine.result()  # usage errors first, then an unreachable engine
    from devenv.cli.lock_cmd import frozen_project, warn_if_stale

    if frozen:
        project = frozen_project(project, client, services, no_deps=no_deps, dry_run=dry_run, declared=declared)
    else:
        # the lock pins the environment's declared configuration, not the laptop's overrides
        checked = declared if declared is not None and set(declared.services) >= set(project.services) else project
        warn_if_stale(checked, client, services, no_deps=no_deps)
    engine_settings(g)
    from devenv.engine.shipping import for_up

    shipping = for_up(client, project, services, no_deps=no_deps)
    if shipping is not None:
        import dataclasses

        up_options = dataclasses.replace(up_options, shipped=shipping.mounts)
    follower = None
    if attached and not dry_run:
        from devenv.cli.logs_cmd import Follower, LogView

        color = not no_color
        view = LogView(timestamps=timestamps, prefix=not no_log_prefix, color=color)
        watched = tuple(services) if services else tuple(sorted(shown))
        follower = Follower(client, project.name, watched, view, hidden=set(project.services) - shown, grace=0.5).start()
    hidden = {Op.PULL_IMAGE} if quiet_pull else set()
    hidden |= {Op.BUILD_IMAGE} if quiet_build else set()
    since = time.time()
    from devenv.metrics import reporter

    metrics = None if dry_run else reporter(project)
    try:
        applied = apply(
            client, project, lambda observed: plan_up(project, observed, up_options),
            listener=progress(g, fmt, quiet=dry_run, hidden=hidden), say=say, wait_timeout=wait_timeout,
            dry_run=dry_run, log=(lambda _line: None) if quiet_build else (lambda line: say(f"    {line}")),  # build output
            before_containers=None if shipping is None else (lambda: shipping.ship(say)),
        )
        if dry_run:
            print_plan(applied.plans[0], fmt)
            for line in shipping.describe() if shipping is not None and fmt != "json" else ():
                say(line)
            return 0
        if metrics is not None:
            metrics.up(applied)
        code = print_applied(client, project, applied, fmt, verb="up")
        from devenv.dashboard.lastup import record

        record(project.name, applied)  # what `devenv dashboard` shows of the last up
        from devenv.engine.shipping import loopback_warning

        unreachable = loopback_warning(client, project.name)
        if unreachable:
            say(f"warning: {unreachable}")
        if code == 0 and watch_after:
            from devenv.cli.watch_cmd import run_watch

            return run_watch(g, client, project, services, up_first=False, prune=True, quiet=quiet_build, fmt=fmt,
                             metrics=metrics)
        if code != 0 or follower is None:
            return code
        if metrics is not None:
            metrics.sample_containers(client)
        return _attached(g, client, project, follower, since, abort_exit, abort_failure, exit_code_from, timeout)
    finally:
        if follower is not None:
            follower.close()
        if metrics is not None:
            metrics.close()


def _attached(g: Globals, client: Any, project: Any, follower: Any, since: float, abort_exit: bool, abort_failure: bool,
              exit_code_from: str | None, timeout: int | None) -> int:
    """Follow the output until the containers stop; on the first exit (with --abort-on-...), stop
    the others, as Compose does. The exit code: that container's, or --exit-code-from's."""
    from devenv.cli.logs_cmd import Exit

    result: dict[str, int] = {}
    stopping: list[threading.Thread] = []

    def on_exit(exit: Exit) -> None:
        if (abort_exit or abort_failure) and "first" not in result and not (abort_failure and exit.code == 0):
            result["first"] = exit.code
            say("Aborting on container exit...")
            stopping.append(threading.Thread(target=_stop_all, args=(g, client, project, timeout), daemon=True))
            stopping[-1].start()
        if exit_code_from and exit.service == exit_code_from and "from" not in result:
            result["from"] = exit.code

    follower.run(on_exit, since=since)
    for thread in stopping:
        thread.join()
    return result.get("from", result.get("first", 0))


def _stop_all(g: Globals, client: Any, project: Any, timeout: int | None) -> None:
    from devenv.engine.apply import apply
    from devenv.plan import StopOptions, plan_stop

    options = StopOptions(timeout=timeout)
    apply(client, project, lambda observed: plan_stop(project, observed, options),
          listener=progress(g), say=say, wait_timeout=300.0, images=False)

