"""`devenv cp`: copy files between a service's container and the host, through the engine's
archive API (no docker CLI), with `docker cp`'s rules for where things land."""

from __future__ import annotations

import os
import posixpath
import sys
from typing import TYPE_CHECKING

import click

from devenv.cli.command import Globals
from devenv.errors import UsageError

if TYPE_CHECKING:
    from devenv.engine.client import Engine
    from devenv.plan.observed import ObservedContainer


def _resolve_link(client: Engine, container: str, path: str, stat: dict) -> tuple[str, dict | None]:
    target = str(stat.get("linkTarget") or "")
    if not target:
        return path, stat
    if not target.startswith("/"):
        target = posixpath.join(posixpath.dirname(path), target)
    from devenv.engine import archive

    return target, archive.stat(client, container, target)


def copy_from(client: Engine, container: ObservedContainer, src: str, dest: str, follow: bool) -> None:
    from devenv.engine import archive
    from devenv.engine.archive import extract, stat_is_dir, stat_is_link
    from devenv.plan.copying import CopyError, Destination, Source, place, split_dir_entry

    stat = archive.stat(client, container.id, src)
    if stat is None:
        raise CopyError(f"no such file or directory in container {container.name}: {src}")
    rebase_name = ""
    if follow and stat_is_link(stat):
        rebase_name = split_dir_entry(src)[1]
        src, stat = _resolve_link(client, container.id, src, stat)
        if stat is None:
            raise CopyError(f"the link {rebase_name} in container {container.name} points at nothing: {src}")
    chunks = archive.read(client, container.id, src)
    if dest == "-":
        out = sys.stdout.buffer
        for chunk in chunks:
            out.write(chunk)
        out.flush()
        return
    exists = os.path.lexists(dest)
    if not exists:
        parent = os.path.dirname(os.path.abspath(dest.rstrip("/") or "/"))
        if not os.path.isdir(parent):
            raise CopyError(f"destination directory {parent} does not exist")
    placement = place(
        Source(src, stat_is_dir(stat), rebase_name), Destination(dest, exists, os.path.isdir(dest))
    )
    extract(chunks, placement.directory, placement.old_base, placement.new_base)


def copy_to(client: Engine, container: ObservedContainer, src: str, dest: str, follow: bool, archive: bool) -> None:
    from devenv.engine import archive as engine_archive
    from devenv.engine.archive import rebase, stat_is_dir, stat_is_link, tar_of
    from devenv.plan.copying import CopyError, Destination, Source, place, split_dir_entry

    stat = engine_archive.stat(client, container.id, dest)
    if stat is not None and stat_is_link(stat):  # a link at the destination: copy to what it names
        dest, stat = _resolve_link(client, container.id, dest, stat)
    destination = Destination(dest, stat is not None, stat_is_dir(stat))
    if src == "-":
        if not destination.is_dir:
            raise CopyError(f"destination {dest} in container {container.name} must be a directory when copying from standard input")
        engine_archive.write(client, container.id, dest, sys.stdin.buffer.read(), keep_owners=archive)
        return
    if not os.path.lexists(src):
        raise CopyError(f"no such file or directory: {src}")
    rebase_name = ""
    if follow and os.path.islink(src):
        rebase_name = split_dir_entry(src)[1]
    is_dir = os.path.isdir(src) if (follow or not os.path.islink(src)) else False
    source = Source(src, is_dir, rebase_name)
    placement = place(source, destination)
    base = rebase_name or split_dir_entry(src)[1]
    data = tar_of(src, base, follow_links=follow)
    data = rebase(data, placement.old_base, placement.new_base)
    engine_archive.write(client, container.id, placement.directory, data, keep_owners=archive)


@click.command("cp", help="Copy files between a service's container and the host (SERVICE:SRC DEST, or SRC SERVICE:DEST).")
@click.argument("source", metavar="SRC")
@click.argument("destination", metavar="DEST")
@click.option(
    "--index", type=int, default=0,
    help="Which container of the service (default: all when copying to, the first when copying from).",
)
@click.option("--all", "include_oneoff", is_flag=True, help="Also the containers made by `run`.")
@click.option("-a", "--archive", is_flag=True, help="Keep the files' owners (uid/gid) in the container.")
@click.option("-L", "--follow-link", is_flag=True, help="Follow a symbolic link given as SRC.")
@click.pass_obj
def cp(g: Globals, source: str, destination: str, index: int, include_oneoff: bool, archive: bool, follow_link: bool) -> int:
    from devenv.cli.targets import open_project
    from devenv.errors import DevenvError
    from devenv.plan.control import of_services, pick
    from devenv.plan.copying import split_cp_arg

    src_service, src = split_cp_arg(source)
    dst_service, dest = split_cp_arg(destination)
    if src_service and dst_service:
        raise UsageError("cp: copying between services is not supported; copy to the host first")
    if not src_service and not dst_service:
        raise UsageError("cp: name a container path as SERVICE:PATH in SRC or in DEST")
    service = src_service or dst_service
    assert service is not None
    if not (src if src_service else dest):
        raise UsageError(f"cp: {service}: a path in the container is required (SERVICE:PATH)")
    project, client, observed = open_project(g, (service,))
    if index:
        containers = [pick(project, observed, service, index, running=False, oneoff=False)]
    else:
        containers = [c for c in of_services(project, observed, (service,), oneoff=include_oneoff) if c.service == service]
        if not containers:
            raise DevenvError(f"no container found for service {service!r}")
        if src_service:
            containers = containers[:1]
    for container in containers:
        try:
            _copy(g, client, container, src_service, src, dest, follow_link, archive)
        except Exception as exc:
            from devenv.engine.api import explanation

            message = explanation(exc)
            if message is None:
                raise
            raise DevenvError(f"cp: {container.name}: {message.strip()}") from None
    return 0


def _copy(g: Globals, client: Engine, container: ObservedContainer, src_service: str | None, src: str, dest: str,
          follow_link: bool, archive: bool) -> None:
    from devenv.cli.common import say
    from devenv.cli.output import style

    if src_service:
        what = f"{container.name}:{src} to {dest}"
    else:
        what = f"{src} to {container.name}:{dest}"
    if g.dry_run:
        say(f"copy {what}")
        return
    if src_service:
        copy_from(client, container, src, dest, follow_link)
    else:
        copy_to(client, container, src, dest, follow_link, archive)
    if dest != "-":
        say(f"  {style('✔', 'green')} copied {what}")
