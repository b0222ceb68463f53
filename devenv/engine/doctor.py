"""`devenv doctor`'s probes: the facts each check needs, gathered from the engine (EngineAPI
version/info/containers/inspect_image), the host (/proc, statvfs, a bind per published port), the
docker CLI (builders.detect) and the environment's registry; devenv/plan/doctor.py judges them.
A probe that fails becomes its check's verdict, never an exception: doctor always reports."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from devenv.errors import DevenvError, EngineError
from devenv.plan import doctor as verdicts
from devenv.plan.doctor import Check

if TYPE_CHECKING:
    from devenv.engine.client import Engine
    from devenv.manifest.options import ProjectOptions
    from devenv.model import Project


def examine(options: ProjectOptions, publish_host: Callable[[Project], str]) -> list[Check]:
    """Every check, in order: the Compose file, the environment, the engine and what it says, the
    host. `publish_host`: where a published port without an address binds (the CLI's rule)."""
    from devenv.engine.client import select

    select(None)
    project, compose = _compose(options)
    environment = _environment(options, project)  # selects the environment's engine first
    client, engine = _engine()
    checks = [engine, _buildkit()]
    if client is not None:
        info, answered = _info(client)
        checks += [verdicts.storage_check(str(info.get("Driver") or "")),
                   verdicts.clock_check(str(info.get("SystemTime") or ""), answered),
                   _disk(client, info, project)]
    checks.append(compose)
    broken = compose.status == verdicts.FAIL  # a Compose file with errors: its ports and watch rules are unknown
    if not broken and (client is not None or project is None):  # an unreachable engine says nothing of its ports
        checks.append(_ports(client, project, publish_host))
    checks.append(verdicts.inotify_check(inotify_facts(project, "the Compose file has errors" if broken else None)))
    return checks + environment


def _compose(options: ProjectOptions) -> tuple[Project | None, Check]:
    from devenv.manifest import load_project
    from devenv.manifest.discover import NoComposeFile

    try:
        project = load_project(options)
    except NoComposeFile:
        return None, verdicts.compose_check(())
    except DevenvError as exc:
        return None, verdicts.compose_check((), str(exc))
    return project, verdicts.compose_check([f for f in project.compose_files if f != "-"])


def _environment(options: ProjectOptions, project: Project | None) -> list[Check]:
    """The --env environment's engine (selected for the checks that follow when it resolves) and
    its registry."""
    import dataclasses

    from devenv.engine.client import select
    from devenv.engine.contexts import endpoint_of
    from devenv.manifest.environments import settings

    if project is None or not project.env:
        return [verdicts.context_check(None, None), verdicts.registry_check(None, None)]
    environment = settings(project)
    try:
        endpoint = None if options.local is True else endpoint_of(environment)
    except EngineError as exc:
        context = verdicts.context_check(project.env, environment.context, str(exc))
    else:
        if endpoint is not None:
            select(dataclasses.replace(endpoint, origin=f"environment {project.env}"))
        context = verdicts.context_check(project.env, endpoint.address if endpoint else None)
    error = registry_error(environment.registry) if environment.registry else None
    return [context, verdicts.registry_check(project.env, environment.registry, error)]


def registry_error(registry: str) -> str | None:
    """Why the registry `HOST[:PORT][/PATH]` does not answer its API (GET /v2/), or None."""
    from devenv.registry.client import client_for

    try:
        client_for(registry.split("/")[0]).ping()
    except DevenvError as exc:
        return str(exc)
    return None


def _engine() -> tuple[Engine | None, Check]:
    from devenv.engine.api import API_VERSION
    from devenv.engine.client import connect, describe, selected

    try:
        endpoint = selected()
        where = describe(endpoint) or f"{endpoint.address} ({endpoint.origin or 'the default socket'})"
        client = connect()
        version = client.api.version()
    except DevenvError as exc:
        return None, verdicts.engine_check(verdicts.EngineFacts("", error=str(exc), needed_api=API_VERSION))
    except OSError as exc:
        return None, verdicts.engine_check(verdicts.EngineFacts("", error=f"the engine stopped answering: {exc}",
                                                                needed_api=API_VERSION))
    facts = verdicts.EngineFacts(where, server_version=str(version.get("Version") or ""),
                                 api_version=str(version.get("ApiVersion") or ""), needed_api=API_VERSION)
    return client, verdicts.engine_check(facts)


def _info(client: Engine) -> tuple[dict, datetime]:
    """GET /info, and our time when the engine answered (the middle of the call)."""
    before = time.time()
    try:
        info = client.api.info()
    except (DevenvError, OSError):
        info = {}
    after = time.time()
    return info, datetime.fromtimestamp((before + after) / 2, UTC)


def _buildkit() -> Check:
    from devenv.engine.builders import detect

    try:
        builder = detect()
    except DevenvError as exc:
        return verdicts.buildkit_check("", error=str(exc))
    return verdicts.buildkit_check(builder.kind, builder.describe())


def _disk(client: Engine, info: dict, project: Project | None) -> Check:
    root = str(info.get("DockerRootDir") or "")
    free = None
    if client.address.startswith("unix://") and root and os.path.isdir(root):
        try:
            stat = os.statvfs(root)
            free = stat.f_bavail * stat.f_frsize
        except OSError:
            free = None
    return verdicts.disk_check(root, free, _images_size(client, project) if free is not None else 0)


def _images_size(client: Engine, project: Project | None) -> int:
    """Bytes the project's images present on the engine take (those missing count nothing)."""
    from devenv.plan.naming import image_name

    if project is None:
        return 0
    total = 0
    for name in sorted({image_name(project.name, s) for s in project.services.values()}):
        try:
            total += int(client.api.inspect_image(name).get("Size") or 0)
        except Exception:  # noqa: BLE001 - missing (to be pulled or built) or unreadable: counts nothing
            continue
    return total


def _ports(client: Engine | None, project: Project | None, publish_host: Callable[[Project], str]) -> Check:
    """The fixed host ports the manifest publishes, each free or held by this project's own
    container (devenv/engine/ports.py: the engine's containers, then a bind here when local)."""
    from devenv.engine import ports
    from devenv.engine.client import engine_address
    from devenv.plan.naming import project_filter

    if project is None or client is None:
        return verdicts.ports_check(None)
    try:
        wanted = [ports.Binding(ip, port, protocol, service)
                  for ip, port, protocol, service in verdicts.published_ports(project, publish_host(project))]
    except DevenvError as exc:  # a bad publish_host
        return verdicts.ports_check([str(exc)])
    problems: list[str] = []
    try:
        running = client.api.containers(filters=project_filter(project.name))
        own = {n.lstrip("/") for c in running for n in c.get("Names") or ()}
        for binding in wanted:
            try:
                problems += ports.taken(client, engine_address(), [binding], own)
            except OSError as exc:
                if not isinstance(exc, (ConnectionError, TimeoutError)):
                    continue  # this user may not bind it (a port below 1024): the engine, as root, may
                raise
    except (DevenvError, OSError) as exc:
        return verdicts.ports_check(None, error=f"the engine stopped answering ({exc})")
    return verdicts.ports_check(problems, len(wanted))


def inotify_facts(project: Project | None, no_project: str | None = None) -> verdicts.InotifyFacts:
    """The inotify limits (the lowest of fs.inotify.* and the user namespace's user.max_inotify_*,
    named as `devenv watch` names them) and the folders the project's develop.watch rules would
    watch. `no_project`: why there is no project, when not for want of a Compose file."""
    from devenv.engine.filewatch import _limit  # the sysctl that limits us, as watch's warning names it

    watches, instances = _limit("max_user_watches", "max_inotify_watches"), _limit("max_user_instances", "max_inotify_instances")
    limits = (_value(watches), _value(instances))
    if project is None:
        return verdicts.InotifyFacts(*limits, folders=None, why_none=no_project or verdicts.NO_COMPOSE_FILE)
    try:
        folders = watched_folders(project)
    except DevenvError:
        folders = None
    return verdicts.InotifyFacts(*limits, folders=folders)


def _value(limit: tuple[str, int | str]) -> tuple[str, int | None]:
    return limit[0], limit[1] if isinstance(limit[1], int) else None


def watched_folders(project: Project) -> int | None:
    """How many folders (inotify watches) `devenv watch` would place: every folder under the
    rules' roots that they do not prune (node_modules, ignored trees...), and the folder of each
    single file watched by name (rule files, Compose and env files). None: no rules."""
    from devenv.engine.watching import manifest_files, watch_roots
    from devenv.plan.watch import NOT_CONFIGURED, rules_of

    try:
        rules = rules_of(project)
    except DevenvError as exc:
        if str(exc) == NOT_CONFIGURED:
            return None
        raise
    roots, singles = watch_roots(rules)
    folders: set[str] = set()
    for root in roots:
        stack = [root.path] if os.path.isdir(root.path) else [_existing(root.path)]
        while stack:
            path = stack.pop()
            folders.add(path)
            try:
                with os.scandir(path) as entries:
                    stack.extend(e.path for e in entries if _is_dir(e) and not root.prunes(e.path))
            except OSError:
                continue
    folders.update(_existing(os.path.dirname(f)) for f in [*singles, *manifest_files(project)])
    return len(folders)


def _existing(path: str) -> str:
    while path and not os.path.isdir(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False
