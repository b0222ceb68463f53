"""`devenv lock`: write the environment's lock file (devenv.lock, devenv.NAME.lock), check it, or
refresh some of its entries."""

from __future__ import annotations

import os

import click

from devenv.cli.command import Globals, format_option, services_argument
from devenv.cli.common import echo, emit_json, say
from devenv.errors import EXIT_FAILED, UsageError


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
    entries = lock_entries(engine.result().api, project, names, offline=offline, warn=say)
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
