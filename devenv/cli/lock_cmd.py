"""`devenv lock`: write the environment's lock file (devenv.lock, devenv.NAME.lock), check it, or
refresh some of its entries."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from devenv.cli.command import Globals, format_option, services_argument
from devenv.cli.common import echo, emit_json, say
from devenv.errors import EXIT_FAILED, UsageError

if TYPE_CHECKING:
    from devenv.engine.client import Engine


@click.command("lock", help="Pin every service's image digests, Dockerfile bases, build inputs and config hash "
                            "in the environment's lock file (devenv.lock); --check only compares.")
@services_argument
@click.option("--check", is_flag=True, help="Write nothing; exit 1 naming each stale entry.")
@click.option("--update", is_flag=True, help="Refresh only the SERVICEs' entries (all when none is named).")
@click.option("--offline", is_flag=True, help="Local images only: no registry call.")
@format_option()
@click.pass_obj
def lock(g: Globals, services: tuple[str, ...], check: bool, update: bool, offline: bool, fmt: str) -> int:
    from devenv import lockfile
    from devenv.cli.common import load_while_connecting
    from devenv.engine.digests import lock_entries
    from devenv.manifest.environments import settings
    from devenv.plan import locking

    if services and not (update or check):
        raise UsageError("name services with --update (refresh only their entries) or --check")
    project, engine = load_while_connecting(g.options, services)
    unknown = [s for s in services if s not in project.services]
    if unknown:
        raise UsageError(f"not an enabled service: {', '.join(unknown)}")
    path = settings(project).lock
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    old = lockfile.read(path)
    names = tuple(services) or tuple(sorted(project.services))
    only = names if services else None
    entries = lock_entries(engine.result(), project, names, offline=offline, warn=say)
    if check:
        if old is None:
            say(f"devenv: no lock file {shown} (run devenv lock)")
            return EXIT_FAILED
        stale = locking.compare(old, entries, project, only=only)
        if fmt == "json":
            emit_json({"lock": path, "stale": [{"service": s.service, "reason": s.reason} for s in stale]})
        elif stale:
            for item in stale:
                echo(f"{shown}: {item}")
        else:
            echo(f"{shown} is up to date")
        return EXIT_FAILED if stale else 0
    changes = locking.compare(old, entries, project, only=only) if old else []
    new = locking.merged(old, project, entries, only=only)
    if g.dry_run:
        written = False
    else:
        written = lockfile.write(path, new)
    if fmt == "json":
        emit_json({"lock": path, "written": written, "changed": [str(c) for c in changes], "lockfile": new.to_json()})
    elif not written and not g.dry_run:
        echo(f"{shown} is up to date")
    else:
        echo(f"{'would write' if g.dry_run else 'wrote'} {shown} ({len(new.services)} services)")
        for item in changes:
            echo(f"  {item}")
    return 0


# ---- what `up` asks of the lock ------------------------------------------------------------------


def frozen_project(project: Any, client: Engine, services: tuple[str, ...], *, no_deps: bool, dry_run: bool,
                   declared: Any = None) -> Any:
    """`up --frozen`: the project pinned from its lock, its images checked (and pulled by digest);
    one refusal line otherwise, before anything else changes on the engine. `declared`: the
    environment's own model when `project` has the laptop's overrides merged."""
    from devenv import buildinputs, lockfile
    from devenv.engine.digests import build_facts, engine_platform, verify_frozen
    from devenv.errors import DevenvError
    from devenv.manifest.environments import settings
    from devenv.plan import frozen, locking

    path = settings(project).lock
    lock = lockfile.read(path)
    if lock is None:
        raise DevenvError(f"no lock file {path} (up --frozen runs what it pins; run devenv lock)")
    names = frozen.selected(project, services, no_deps=no_deps)
    here = engine_platform(client)
    facts, texts = {}, {}
    for name in names:
        service = project.services[name]
        entry = lock.services.get(name)
        if service.build is None or entry is None or (entry.pushed and entry.digest):
            continue
        platform = locking.service_platform(service, here)
        facts[name] = build_facts(service, platform, here)
        text = buildinputs.dockerfile_text(dict(service.build))
        texts[name] = None if text is None else text.decode("utf-8", "replace")
    pinned = frozen.freeze_project(project, lock, names, facts, texts, declared=declared)
    platforms = {name: locking.service_platform(project.services[name], here) for name in names}
    return verify_frozen(client, pinned, platforms=platforms, dry_run=dry_run)


def warn_if_stale(project: Any, client: Engine, services: tuple[str, ...], *, no_deps: bool) -> None:
    """Without --frozen: one warning line when the lock exists and is stale for the services `up`
    brings up (config hashes and local images only: no registry, no context walk)."""
    from devenv import lockfile
    from devenv.engine.digests import inspect_all
    from devenv.manifest.environments import settings
    from devenv.plan import frozen, locking

    path = settings(project).lock
    if not os.path.exists(path):
        return
    try:
        lock = lockfile.read(path)
    except Exception as exc:  # a damaged lock is worth a warning, not a failed `up`
        say(f"devenv: warning: {exc}")
        return
    if lock is None:
        return
    names = frozen.selected(project, services, no_deps=no_deps)
    images = [project.services[n].image for n in names if project.services[n].build is None and project.services[n].image]
    stale = locking.quick_stale(project, lock, names, inspect_all(client, [i for i in images if i]))
    if stale:
        shown = ", ".join(str(s) for s in stale[:3]) + (f" (+{len(stale) - 3} more)" if len(stale) > 3 else "")
        say(f"devenv: warning: {os.path.basename(path)} is stale: {shown}; run devenv lock, or up --frozen to run what it pins")
