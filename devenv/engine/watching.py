"""`devenv watch`: the live loop of Compose's `develop.watch`.

File events (engine/filewatch.py) and the engine's container `start` events land in one queue;
the loop takes them one at a time: a batch of touched paths is stat'ed (a new folder walked,
pruned as the rules say) and planned (plan/watch.py: pure), then synced (engine/sync.py: one tar
through the archive API per container), rebuilt, restarted, exec'ed or replanned as `up`. A
container that starts anew (recreated, restarted by hand) is compared with the host and brought
back in sync before it is reported ready. Ctrl-C ends the loop; the containers keep running.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import queue
import stat
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from devenv.errors import DevenvError
from devenv.plan.naming import ONEOFF_LABEL, SERVICE_LABEL, project_filter
from devenv.plan.shipping import human_size, shown_path
from devenv.plan.watch import (
    SYNC_ACTIONS,
    HostEntry,
    Rule,
    SyncStep,
    WatchPlan,
    plan_batch,
    plan_initial_sync,
    rules_of,
    sync_line,
)

if TYPE_CHECKING:
    from devenv.engine.client import Engine
    from devenv.engine.filewatch import Batch, FileWatch, Root
    from devenv.model import Project

SYNC_WORKERS = 8  # containers synced at once


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    """One thing the loop did or saw: a line for people (`line`), a JSON object for tools."""

    event: str  # watching | sync | resync | rebuild | restart | exec | replan | warning | error | stopped
    line: str
    service: str | None = None
    fields: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.event}
        if self.service is not None:
            out["service"] = self.service
        out.update(self.fields)
        out["message"] = self.line
        return out


@dataclasses.dataclass(frozen=True)
class Running:
    """A running container of a watched service."""

    id: str
    name: str
    service: str
    started: str  # State.StartedAt: a new value means a new start


# callbacks the CLI gives: how to run `up` for some services (returns whether it went well),
# how to reload the project from its files (raises DevenvError on a bad manifest)
UpRunner = Callable[["Project", tuple[str, ...], bool], bool]
Reloader = Callable[[], "Project"]


class Session:
    """One `devenv watch`: `run()` returns when interrupted (KeyboardInterrupt) or closed."""

    def __init__(self, client: Engine, project: Project, services: Sequence[str], *, up: UpRunner,
                 reload: Reloader, emit: Callable[[WatchEvent], None], prune: bool = True) -> None:
        self.client = client
        self.api = client.api
        self.project = project
        self.services = tuple(services)
        self.up = up
        self.reload = reload
        self.emit = emit
        self.prune = prune
        self.rules: tuple[Rule, ...] = self._rules(project)
        self.items: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.files: FileWatch | None = None
        self.synced: dict[str, str] = {}  # container id -> the StartedAt it was last brought in sync for
        self.owners: dict[str, Any] = {}  # container id -> engine.sync.Owner
        self.closed = threading.Event()
        self.failed = False  # the loop ended on an error (the command's exit code is 1)
        self._warned: set[str] = set()
        self._events: Any = None
        self._pumps: list[threading.Thread] = []

    def _rules(self, project: Project) -> tuple[Rule, ...]:
        """The selected services' rules, but a sync rule whose path a bind mount already shows the
        container (Compose warns and leaves it out too; on an engine that gets copies of the local
        files instead of binds, the rule stays)."""
        from devenv.engine.shipping import wanted
        from devenv.plan.watch import bind_mounted

        rules = rules_of(project, self.services)
        if wanted(self.client.address):
            return rules
        kept = []
        for rule in rules:
            source = bind_mounted(project.services[rule.service], rule)
            if source is None:
                kept.append(rule)
            else:
                here = project.working_dir
                self.emit(WatchEvent("warning", f"warning: {rule.service}: {shown_path(rule.path, here)} is also bind-mounted "
                                                f"({shown_path(source, here)}): the container sees it already, "
                                                "this rule is left out", rule.service))
        return tuple(kept)

    # -- set-up

    def start(self) -> None:
        """Place the file watches, follow the engine's container starts, then bring every
        running container with sync rules in sync (initial_sync rules send what differs)."""
        started = time.monotonic()
        self._watch_files()
        self._follow_engine()
        assert self.files is not None
        report = self._report
        self._new_warnings()
        self.emit(WatchEvent(
            "watching",
            f"watching {', '.join(self._watched_labels())} for {', '.join(self._rule_services())}"
            f" ({report.watches} watches{', polling ' + str(len(report.polled)) if report.polled else ''},"
            f" {_ms(time.monotonic() - started)})",
            fields={"services": list(self._rule_services()), "paths": self._watched_labels(), "watches": report.watches,
                    "polled": list(report.polled), "seconds": round(time.monotonic() - started, 3)},
        ))
        for service in self._rule_services():
            for c in self._running(service):
                self._resync(c, initial_only=True, reason="initial sync")

    def _rule_services(self) -> list[str]:
        return list(dict.fromkeys(r.service for r in self.rules))

    def _watched_labels(self) -> list[str]:
        return [shown_path(p, self.project.working_dir) for p in dict.fromkeys(r.path for r in self.rules)]

    def _watch_files(self) -> None:
        from devenv.engine.filewatch import FileWatch

        roots, singles = watch_roots(self.rules)
        singles = list(dict.fromkeys([*singles, *manifest_files(self.project)]))
        self.files = FileWatch(roots, singles)
        self._report = self.files.start()
        files = self.files

        def pump() -> None:
            while not self.closed.is_set():
                try:
                    batch = files.next(timeout=0.5)
                except Exception as exc:  # the watching thread broke: the loop ends with it
                    if files is self.files:
                        self.items.put(("broken", f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__))
                    return
                if batch is not None:
                    self.items.put(("batch", batch))
                elif files is not self.files:
                    return

        self._spawn(pump, "devenv-watch-files")

    def _rewatch(self) -> None:
        """Place the file watches again (the rules changed): the new ones first, so nothing is
        missed in between."""
        previous = self.files
        self._watch_files()
        if previous is not None:
            previous.close()
        self._new_warnings()

    def _new_warnings(self) -> None:
        """The file watch's warnings not said yet (a tree that fell back to polling, at start or later)."""
        for warning in self.files.warnings if self.files is not None else ():
            if warning not in self._warned:
                self._warned.add(warning)
                self.emit(WatchEvent("warning", f"warning: {warning}"))

    def _follow_engine(self) -> None:
        from devenv.engine.queries import project_events

        stream = project_events(self.client, self.project.name, ("start",))
        self._events = stream

        def pump() -> None:
            try:
                for event in stream:
                    attrs = (event.get("Actor") or {}).get("Attributes") or {}
                    if attrs.get(ONEOFF_LABEL) == "True":
                        continue
                    self.items.put(("start", (event.get("id") or (event.get("Actor") or {}).get("ID"), attrs.get(SERVICE_LABEL))))
            except Exception as exc:  # the stream broke: say so, file syncs go on
                if not self.closed.is_set():
                    self.items.put(("lost", str(exc) or type(exc).__name__))

        self._spawn(pump, "devenv-watch-engine")

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._pumps.append(thread)

    # -- the loop

    def run(self) -> None:
        self.start()
        try:
            while not self.closed.is_set():
                try:
                    kind, item = self.items.get(timeout=0.5)
                except queue.Empty:
                    continue
                try:
                    if kind == "batch":
                        self.handle_batch(item)
                    elif kind == "start":
                        self.handle_start(*item)
                    elif kind == "broken":
                        self.emit(WatchEvent("error", f"error: watching the files failed ({item}); stopped watching"))
                        self.failed = True
                        return
                    elif kind == "lost":
                        self.emit(WatchEvent("warning", f"warning: lost the engine's events ({item}): "
                                                        "containers restarted from now on are not resynced"))
                except DevenvError as exc:  # one bad step (a build, an unreachable container) does not end the loop
                    self.emit(WatchEvent("error", f"error: {exc}"))
        finally:
            self.close()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        if self.files is not None:
            self.files.close()
        if self._events is not None:
            try:
                self._events.close()
            except Exception:
                pass

    # -- a batch of file changes

    def handle_batch(self, batch: Batch) -> None:
        self._new_warnings()
        changes = stat_changes(batch.paths, self.rules)
        manifests = set(manifest_files(self.project))
        plan = plan_batch(self.rules, changes, manifests)
        if plan.empty:
            return
        self.apply_plan(plan, batch.first)

    def apply_plan(self, plan: WatchPlan, first: float) -> None:
        if plan.replan:
            self._replan()
        if plan.rebuild:
            self._rebuild(plan.rebuild, first)
        for step in plan.syncs:
            self._sync(step, first)
        if plan.restarts:
            self._restart(plan.restarts, first)
        for service, hook in plan.execs:
            self._exec(service, hook)

    def _sync(self, step: SyncStep, first: float) -> None:
        from devenv.engine.sync import send

        containers = self._running(step.service)
        if not containers:
            self.emit(WatchEvent("warning", f"{step.service}: no running container: {step.files} files not synced"
                                            " (they will be when it starts)", step.service))
            return

        def one(c: Running) -> Any:
            return send(self.api, c.id, step, self._owner(c.id))

        with ThreadPoolExecutor(max_workers=min(SYNC_WORKERS, len(containers))) as pool:
            results = list(pool.map(one, containers))
        seconds = time.time() - first
        sent = results[0]
        self.emit(WatchEvent(
            "sync", sync_line(step.service, step.files, sent.size, seconds), step.service,
            {"files": step.files, "copied": len(step.copies), "deleted": len(step.deletes), "bytes": sent.size,
             "containers": [c.name for c in containers], "ms": round(seconds * 1000, 1)},
        ))

    def _rebuild(self, services: tuple[str, ...], first: float) -> None:
        self.emit(WatchEvent("rebuild", f"rebuilding {', '.join(services)}", None, {"services": list(services), "phase": "start"}))
        before = {s: {c.id for c in self._running(s)} for s in services}
        images = {s: self._image_of(s) for s in services} if self.prune else {}
        ok = self.up(self.project, services, True)
        if not ok:
            self.emit(WatchEvent("error", f"error: rebuilding {', '.join(services)} failed; the previous containers keep running",
                                 None, {"services": list(services)}))
            return
        for service in services:
            for c in self._running(service):
                self._resync(c, initial_only=False, reason="rebuilt" if c.id not in before[service] else "restarted")
        seconds = time.time() - first
        self.emit(WatchEvent("rebuild", f"{', '.join(services)}: rebuilt and ready in {_ms(seconds)}", None,
                             {"services": list(services), "phase": "ready", "ms": round(seconds * 1000, 1)}))
        if self.prune:
            self._prune_images(images)

    def _restart(self, services: tuple[str, ...], first: float) -> None:
        for service in services:
            for c in self._running(service):
                self.api.stop(c.id, timeout=self._stop_timeout(service))
                self.api.start(c.id)
                fresh = self._running_one(c.id)
                if fresh is not None:
                    self.synced[fresh.id] = fresh.started  # its files were never lost: nothing to resync
            seconds = time.time() - first
            self.emit(WatchEvent("restart", f"{service}: restarted in {_ms(seconds)}", service, {"ms": round(seconds * 1000, 1)}))

    def _exec(self, service: str, hook: Any) -> None:
        from devenv.engine.sync import run_hook

        for c in self._running(service):
            result = run_hook(self.api, c.id, hook)
            command = " ".join(hook.command)
            if result.exit_code == 0:
                self.emit(WatchEvent("exec", f"{service}: ran {command!r}", service, {"exit_code": 0, "container": c.name}))
            else:
                tail = f": {result.output.strip().splitlines()[-1]}" if result.output.strip() else ""
                self.emit(WatchEvent("exec", f"{service}: {command!r} exited with {result.exit_code}{tail}", service,
                                     {"exit_code": result.exit_code, "container": c.name}))

    def _replan(self) -> None:
        try:
            project = self.reload()
        except DevenvError as exc:
            self.emit(WatchEvent("error", f"error: {exc} (still watching with the previous configuration)"))
            return
        try:
            rules = self._rules(project)
        except DevenvError as exc:
            self.emit(WatchEvent("error", f"error: {exc} (still watching with the previous configuration)"))
            return
        self.emit(WatchEvent("replan", "configuration changed: applying it as `up`", None, {"phase": "start"}))
        old_roots = watch_roots(self.rules), manifest_files(self.project)
        self.project, self.rules = project, rules
        ok = self.up(project, self.services, False)
        if (watch_roots(rules), manifest_files(project)) != old_roots:
            self._rewatch()
        for service in self._rule_services():
            for c in self._running(service):
                if self.synced.get(c.id) != c.started:
                    self._resync(c, initial_only=False, reason="recreated")
        self.emit(WatchEvent("replan", "configuration applied" if ok else "applying the configuration failed", None,
                             {"phase": "done", "ok": ok}))

    # -- containers that start

    def handle_start(self, container_id: str | None, service: str | None) -> None:
        if not container_id or service not in self._rule_services():
            return
        c = self._running_one(container_id)
        if c is None or self.synced.get(c.id) == c.started:
            return  # gone again, or started by this loop and already in sync
        self._resync(c, initial_only=False, reason="started")

    def _resync(self, c: Running, *, initial_only: bool, reason: str) -> None:
        """Compare the container with the host for every sync rule of its service (only those with
        initial_sync when `initial_only`) and send what differs, then report it ready."""
        from devenv.engine.sync import listing, send

        started = time.monotonic()
        files = size = unchanged = kept = 0
        rules = [r for r in self.rules if r.service == c.service and r.action in SYNC_ACTIONS and r.target
                 and (r.initial_sync or not initial_only)]
        for rule in rules:
            host = host_tree(rule)
            names = _top_names(rule, host)
            container = listing(self.api, c.id, rule.target or "/", names) if names is None or names else {}
            initial = plan_initial_sync(rule, host, container, sha256_of)
            unchanged += initial.unchanged
            kept += initial.only_in_container
            if initial.step.copies or initial.step.deletes:
                sent = send(self.api, c.id, initial.step, self._owner(c.id))
                files += initial.step.files
                size += sent.size
        self.synced[c.id] = c.started
        if not rules:
            return
        seconds = time.monotonic() - started
        extra = f", {unchanged:,} unchanged" if unchanged else ""
        extra += f", {kept:,} only in the container (kept)" if kept else ""
        noun = "file" if files == 1 else "files"
        self.emit(WatchEvent(
            "resync", f"{c.service}: {reason}: in sync ({files:,} {noun} sent, {human_size(size)}{extra}) in {_ms(seconds)}; ready",
            c.service, {"container": c.name, "reason": reason, "files": files, "bytes": size, "unchanged": unchanged,
                        "only_in_container": kept, "ms": round(seconds * 1000, 1)},
        ))

    # -- engine lookups

    def _running(self, service: str) -> list[Running]:
        filters = project_filter(self.project.name)
        filters = {**filters, "label": [*filters.get("label", []), f"{SERVICE_LABEL}={service}"]}
        found = []
        for entry in self.api.containers(all=False, filters=filters):
            labels = entry.get("Labels") or {}
            if labels.get(ONEOFF_LABEL) == "True":
                continue
            c = self._running_one(str(entry.get("Id")))
            if c is not None:
                found.append(c)
        return sorted(found, key=lambda c: c.name)

    def _running_one(self, container_id: str) -> Running | None:
        try:
            info = self.api.inspect_container(container_id)
        except Exception:
            return None
        state = info.get("State") or {}
        if not state.get("Running"):
            return None
        labels = (info.get("Config") or {}).get("Labels") or {}
        return Running(str(info.get("Id")), str(info.get("Name") or "").lstrip("/"), labels.get(SERVICE_LABEL, ""),
                       str(state.get("StartedAt") or ""))

    def _owner(self, container_id: str) -> Any:
        from devenv.engine.sync import owner_of

        if container_id not in self.owners:
            self.owners[container_id] = owner_of(self.api, container_id)
        return self.owners[container_id]

    def _image_of(self, service: str) -> set[str]:
        ids = set()
        for c in self._running(service):
            try:
                ids.add(str(self.api.inspect_container(c.id).get("Image") or ""))
            except Exception:
                pass
        return ids

    def _prune_images(self, before: Mapping[str, set[str]]) -> None:
        """Remove the images the rebuilt services ran before, once nothing uses them and no tag
        names them any more (Compose's `watch --prune`)."""
        for ids in before.values():
            for image in ids:
                try:
                    info = self.api.inspect_image(image)
                    if info.get("RepoTags") or self.api.containers(all=True, filters={"ancestor": [image]}):
                        continue
                    self.api.remove_image(image)
                except Exception:  # in use, or already gone: nothing to prune
                    pass

    def _stop_timeout(self, service: str) -> int:
        from devenv.plan import units

        grace = self.project.services[service].get("stop_grace_period")
        return int(units.duration_seconds(grace)) if grace is not None else 10


# -- the host side (pure I/O helpers)


def manifest_files(project: Project) -> list[str]:
    """The files whose change replans: the Compose files (included and extended ones too), the
    .env/--env-file files, each service's env_file and label_file."""
    out = [*project.compose_files, *project.env_files, *project.read_files]
    return list(dict.fromkeys(os.path.abspath(p) for p in out))


def watch_roots(rules: Sequence[Rule]) -> tuple[list[Root], list[str]]:
    """The folders to watch (none under another; a path that does not exist yet is watched as a
    folder: it is walked once it appears) with what is never walked inside them, and the single
    files (rules on a file)."""
    from devenv.engine.filewatch import Root

    folders = sorted({r.path for r in rules if os.path.isdir(r.path) or not os.path.lexists(r.path)})
    tops = [f for f in folders if not any(f != o and _under(f, o) for o in folders)]
    singles = sorted({r.path for r in rules if r.path not in folders})
    roots = [Root(top, _pruner(rules)) for top in tops]
    singles = [s for s in singles if not any(_under(s, t) for t in tops)]
    return roots, singles


@dataclasses.dataclass(frozen=True)
class _Pruner:
    """A folder is never walked when no rule can want anything in it: each rule either does not
    reach it (another branch) or prunes it. Comparable, so a reload sees unchanged roots."""

    rules: tuple[Rule, ...]

    def __call__(self, folder: str) -> bool:
        return all(prunes(rule, folder) for rule in self.rules)


def _pruner(rules: Sequence[Rule]) -> _Pruner:
    return _Pruner(tuple(rules))


def prunes(rule: Rule, folder: str) -> bool:
    if _under(folder, rule.path):
        return folder != rule.path and rule.prunes(folder)
    return not _under(rule.path, folder)  # the rule's path is elsewhere: nothing for it in here


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def entry_of(path: str) -> HostEntry | None:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    if stat.S_ISLNK(st.st_mode):
        try:
            target = os.readlink(path)
        except OSError:
            return None
        return HostEntry("link", 0, st.st_mtime, stat.S_IMODE(st.st_mode), target)
    if stat.S_ISDIR(st.st_mode):
        return HostEntry("dir", 0, st.st_mtime, stat.S_IMODE(st.st_mode))
    if stat.S_ISREG(st.st_mode):
        return HostEntry("file", st.st_size, st.st_mtime, stat.S_IMODE(st.st_mode))
    return None  # sockets, pipes, devices are not synced


def stat_changes(paths: Iterable[str], rules: Sequence[Rule]) -> dict[str, HostEntry | None]:
    """What is at each touched path now (None: gone); a folder's contents too, walked as the rules
    prune (a folder that appears brings files whose own events may have come before its watch)."""
    pruner = _pruner(rules)
    changes: dict[str, HostEntry | None] = {}
    for path in paths:
        entry = entry_of(path)
        changes[path] = entry
        if entry is not None and entry.kind == "dir" and not pruner(path):
            changes.update(walk(path, pruner))
    return changes


def walk(folder: str, pruned: Callable[[str], bool]) -> dict[str, HostEntry]:
    """Every entry under `folder` (not itself), folders `pruned` says skip left out with their contents."""
    found: dict[str, HostEntry] = {}
    todo = [folder]
    while todo:
        current = todo.pop()
        try:
            with os.scandir(current) as items:
                listed = list(items)
        except OSError:
            continue
        for item in listed:
            entry = entry_of(item.path)
            if entry is None:
                continue
            if entry.kind == "dir":
                if pruned(item.path):
                    continue
                todo.append(item.path)
            found[item.path] = entry
    return found


def host_tree(rule: Rule) -> dict[str, HostEntry]:
    """What a sync rule would send of the host now: every entry under its path that it wants."""
    entry = entry_of(rule.path)
    if entry is None:
        return {}
    if entry.kind != "dir":
        return {rule.path: entry} if rule.wants(rule.path) else {}
    return {p: e for p, e in walk(rule.path, rule.prunes).items() if rule.wants(p)}


LISTING_CALLS = 4  # top-level names read one by one at most; else the whole target in one call


def _top_names(rule: Rule, host: Mapping[str, HostEntry]) -> list[str] | None:
    """What to read back of the container under the rule's target: None for all of it (one
    get_archive call: the engine serves one container's calls one at a time, ~80 ms each), or only
    the top-level entries the host has, when the rule prunes a top-level folder of the host
    (`node_modules`, `.git`: most likely big in the image too) or there are only a few."""
    if not os.path.isdir(rule.path):
        return None
    prefix = rule.path.rstrip(os.sep) + os.sep
    names = sorted({p[len(prefix):].split(os.sep, 1)[0] for p in host if p.startswith(prefix)})
    try:
        with os.scandir(rule.path) as items:
            pruned = any(item.is_dir(follow_symlinks=False) and rule.prunes(item.path) for item in items)
    except OSError:
        pruned = False
    return names if pruned or len(names) <= LISTING_CALLS else None


def sha256_of(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 10 else f"{seconds:.1f} s"
