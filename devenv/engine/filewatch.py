"""File events for `devenv watch`: the host paths touched under the watched trees, in batches.

Strategy: ONE inotify instance (watchdog's `InotifyFD`: one descriptor, one reader thread) and
one inotify watch per kept folder, placed by our own `os.scandir` walk that never enters a pruned
folder (`Root.prunes`: node_modules, .git, ...). Inotify has no recursive watch: watchdog's
"recursive" watch is one inotify watch per folder too, placed by an `os.walk` of everything
under its path, pruned folders included, at start and again whenever a folder appears (an
`npm install` inside it adds thousands of watches); and every watch scheduled on its Observer is
an emitter thread. Measured on a 104,864-file monorepo tree (10,843 folders, 3,203 of them kept):
this module starts in ~0.1 s with 3,204 watches and 1 thread; watchdog's Observer with one
recursive watch per highest unpruned folder and non-recursive ones above pruned folders, 0.43 s,
43 watchdog watches, 45 threads, and it still watches a node_modules created later; one recursive
watch on the root, 0.63 s and 10,843 watches.

A folder that appears later is watched, then listed, and everything already in it is reported, so
nothing written before its watch was placed is missed. A folder deleted or moved away drops its
watches (a move is reported as the old path gone and the new one created). Every target (a Root,
or one of the `files`: Compose files, env files) is also watched by name in its nearest existing
ancestor, non-recursively, as Compose does: a Root or file that does not exist yet is picked up
when it appears, and one whose folder is deleted or moved away is reported and watched again
from higher up. When the kernel's event queue overflows, everything is watched again and every
path reported (the orchestrator resyncs). An unexpected error on the watching thread is raised
by next(), never swallowed.

When the kernel refuses a watch (ENOSPC: fs.inotify.max_user_watches; EMFILE:
max_user_instances), at start or later, that target's inotify watches are removed and it is
polled instead by watchdog's `PollingObserverVFS` with a `listdir` that prunes (so polling never
walks node_modules either); one warning line says so and names the sysctl (StartReport.warnings,
and `warnings` for a limit reached while watching).
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from watchdog.events import DirModifiedEvent, FileSystemEvent, FileSystemEventHandler

if TYPE_CHECKING:
    from watchdog.observers.api import BaseObserver
    from watchdog.observers.inotify_c import InotifyEvent, InotifyFD, WatchDescriptor

QUIET = 0.02  # seconds without an event that close a batch (Compose waits 0.5)
MAX_DELAY = 0.5  # a batch is delivered at the latest this long after its first event
LIMIT_ERRNOS = (errno.ENOSPC, errno.EMFILE)
# What a kept folder's watch listens to: changes of content, metadata, names. Not IN_OPEN,
# IN_ACCESS nor IN_CLOSE_NOWRITE: reading the files (the sync does) must not wake the watch.
_IN_MODIFY, _IN_ATTRIB, _IN_CLOSE_WRITE = 0x2, 0x4, 0x8
_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_DELETE_SELF, _IN_MOVE_SELF = 0x400, 0x800
_IN_ONLYDIR, _IN_DONT_FOLLOW, _IN_EXCL_UNLINK, _IN_ISDIR = 0x01000000, 0x02000000, 0x04000000, 0x40000000
MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE
        | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR | _IN_DONT_FOLLOW | _IN_EXCL_UNLINK)
SUGGESTED_WATCHES = 524288
SUGGESTED_INSTANCES = 1024


@dataclass(frozen=True)
class Root:
    path: str  # abs folder or file
    prunes: Callable[[str], bool]  # abs folder -> never walked nor watched (node_modules, .git)


@dataclass(frozen=True)
class Batch:
    paths: frozenset[str]  # abs paths touched (created, modified, deleted, both ends of a move)
    first: float  # time.time() of the batch's first event (the "save")


@dataclass(frozen=True)
class StartReport:
    seconds: float
    watches: int  # inotify watches placed
    polled: tuple[str, ...]  # roots watched by polling (inotify limit)
    warnings: tuple[str, ...]  # one line each, e.g. the inotify limit (names fs.inotify.max_user_watches)


@dataclass(frozen=True)
class _Target:
    """A Root (prunes set: a tree) or one of the `files` (prunes None: never walked)."""

    path: str
    prunes: Callable[[str], bool] | None


@dataclass
class _Folder:
    """One inotify watch: a folder, the targets whose tree holds it, the targets watched through it."""

    path: str
    trees: set[int] = field(default_factory=set)  # targets whose tree holds this folder
    # entry name -> targets watched through it: the target itself (a file, or a Root's top folder,
    # so that it is seen deleted and created again) or, for a target that does not exist yet, the
    # next folder on its way (Compose watches the nearest existing ancestor too)
    waits: dict[str, set[int]] = field(default_factory=dict)


class FileWatch:
    """Watches `roots` (trees, pruned) and `files` (single files), delivering touched paths in batches."""

    def __init__(self, roots: Sequence[Root], files: Sequence[str] = (), *, quiet: float = QUIET,
                 max_delay: float = MAX_DELAY, poll_interval: float = 0.5) -> None:
        self._targets = tuple([_Target(os.path.abspath(r.path), r.prunes) for r in roots]
                              + [_Target(os.path.abspath(f), None) for f in files])
        self._quiet, self._max_delay, self._poll_interval = quiet, max_delay, poll_interval
        self._cond = threading.Condition()  # guards the batch (and _closed, _failure)
        self._pending: set[str] = set()
        self._first = 0.0  # time.time() of the pending batch's first event
        self._first_mono = self._last_mono = 0.0
        self._closed = False
        self._failure: BaseException | None = None
        # The watches, guarded by _lock (start() and the inotify thread both place them).
        self._lock = threading.RLock()
        self._started = False
        self._fd: InotifyFD | None = None
        self._folders: dict[int, _Folder] = {}  # wd -> folder
        self._wd_of: dict[str, int] = {}  # folder path -> wd
        self._polled: dict[int, BaseObserver] = {}  # target -> its polling observer (inotify limit)
        self._warnings: list[str] = []

    # -- public API ---------------------------------------------------------------------------

    def start(self) -> StartReport:
        """Place every watch (or start polling); changes made after this returns are seen."""
        began = time.monotonic()
        with self._lock:
            if self._started:
                raise RuntimeError("FileWatch.start() called twice")
            self._started = True
            try:
                self._fd = self._open_fd()
            except OSError as err:
                if err.errno not in LIMIT_ERRNOS:
                    raise
                for index in range(len(self._targets)):
                    self._poll(index, err)
            else:
                for index in range(len(self._targets)):
                    self._attach(index)
            return StartReport(
                seconds=time.monotonic() - began,
                watches=len(self._folders),
                polled=tuple(self._targets[i].path for i in sorted(self._polled)),
                warnings=tuple(self._warnings),
            )

    def next(self, timeout: float | None = None) -> Batch | None:
        """The next batch: once QUIET seconds passed without an event, or MAX_DELAY after its
        first event. None on timeout or once closed. Raises what broke the watching thread."""
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                if self._failure is not None:
                    raise self._failure
                now = time.monotonic()
                wait: float | None
                if self._pending:
                    due = min(self._last_mono + self._quiet, self._first_mono + self._max_delay)
                    if now >= due:
                        batch = Batch(frozenset(self._pending), self._first)
                        self._pending = set()
                        return batch
                    wait = due - now if end is None else min(due, end) - now
                else:
                    wait = None if end is None else end - now
                if wait is not None and wait <= 0:
                    return None
                self._cond.wait(wait)
            return None

    @property
    def warnings(self) -> tuple[str, ...]:
        """Every warning so far: start()'s, and those of a Root that fell back to polling later
        (a folder created while watching went past the inotify limit)."""
        with self._lock:
            return tuple(self._warnings)

    def close(self) -> None:
        """Stop watching (idempotent, quick): removes the inotify watches, stops the pollers, wakes next()."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
        with self._lock:
            fd, self._fd = self._fd, None
            observers = list(self._polled.values())
            self._polled.clear()
            self._folders.clear()
            self._wd_of.clear()
        if fd is not None:
            fd.stop()  # closes the descriptor (removing every watch) and ends its thread
        for observer in observers:
            observer.stop()
        for thread in [fd, *observers]:
            if thread is not None and thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout=2)

    # -- batching -----------------------------------------------------------------------------

    def _touch(self, paths: Iterable[str]) -> None:
        """Add paths to the pending batch; every event, even on a path already pending (a file
        written in several chunks), restarts the quiet period."""
        paths = list(paths)
        if not paths:
            return
        with self._cond:
            if self._closed:
                return
            now = time.monotonic()
            starts = not self._pending
            if starts:
                self._first, self._first_mono = time.time(), now
            self._pending.update(paths)
            self._last_mono = now
            if starts:  # later events only move the deadline later: a waiter wakes at the old one and waits on
                self._cond.notify_all()

    def _fail(self, error: BaseException) -> None:
        """An unexpected error on the watching thread: next() raises it rather than going silent."""
        with self._cond:
            if self._failure is None:
                self._failure = error
            self._cond.notify_all()

    # -- placing watches ----------------------------------------------------------------------

    @staticmethod
    def _open_fd() -> InotifyFD:
        from watchdog.observers.inotify_c import InotifyFD

        fd = InotifyFD()
        fd.start()
        return fd

    def _add(self, path: str) -> _Folder | None:
        """The folder's watch, placed if needed. None: the folder is gone (or unreadable).
        Raises OSError(ENOSPC/EMFILE) at the inotify limits."""
        wd = self._wd_of.get(path)
        if wd is not None:
            return self._folders[wd]
        if self._fd is None:
            return None  # closed meanwhile
        from watchdog.observers.inotify_c import CallbackId, Mask

        try:
            new = self._fd.add_callback(os.fsencode(path), Mask(MASK), self, CallbackId(id(self)))
        except OSError as err:
            if err.errno in LIMIT_ERRNOS:
                raise
            return None  # ENOENT, ENOTDIR, EACCES...: nothing to watch there
        folder = self._folders.get(new)
        if folder is None:
            folder = self._folders[new] = _Folder(path)
        elif folder.path != path:  # the same folder under another name (moved): follow it
            self._wd_of.pop(folder.path, None)
            folder.path = path
        self._wd_of[path] = new
        return folder

    def _release(self, wds: list[int]) -> None:
        """Remove the watches nothing needs any more."""
        unused = [wd for wd in wds if wd in self._folders and not self._folders[wd].trees and not self._folders[wd].waits]
        for wd in unused:
            folder = self._folders.pop(wd)
            if self._wd_of.get(folder.path) == wd:
                del self._wd_of[folder.path]
        if unused and self._fd is not None:
            from watchdog.observers.inotify_c import CallbackId, WatchDescriptor

            self._fd.remove_callbacks([(WatchDescriptor(wd), CallbackId(id(self))) for wd in unused])

    def _attach(self, index: int, report: bool = False) -> None:
        """Watch a target: by name in its nearest existing ancestor, and its tree when it is a
        Root that is a folder. At the inotify limit, poll it instead. With `report`, report what
        is there (a target that just appeared)."""
        if index in self._polled:
            return
        target = self._targets[index]
        try:
            child, parent = target.path, os.path.dirname(target.path)
            while parent != child and not os.path.isdir(parent):
                child, parent = parent, os.path.dirname(parent)
            if parent != child:
                folder = self._add(parent)
                if folder is not None:
                    folder.waits.setdefault(os.path.basename(child), set()).add(index)
            if target.prunes is not None and os.path.isdir(target.path) and not os.path.islink(target.path):
                self._walk(index, target.path, report)
            elif report and os.path.lexists(target.path):
                self._touch((target.path,))
        except OSError as err:
            if err.errno not in LIMIT_ERRNOS:
                raise
            self._detach(index)
            self._poll(index, err)
            if report and target.prunes is not None:
                self._walk(index, target.path, report=True, watch=False)  # what the poller's first snapshot holds

    def _walk(self, index: int, top: str, report: bool, watch: bool = True) -> None:
        """Watch `top` and every folder under it that the Root does not prune; with `report`, report
        every path found (a folder that just appeared: what was written before its watch)."""
        prunes = self._targets[index].prunes
        assert prunes is not None
        found: list[str] = []
        stack = [top]
        while stack:
            path = stack.pop()
            if watch:
                folder = self._add(path)  # the watch first, then the listing: nothing falls in between
                if folder is None or index in folder.trees:
                    continue  # gone, or listed already (its events since then come from its watch)
                folder.trees.add(index)
            try:
                with os.scandir(path) as entries:
                    for entry in entries:
                        try:
                            is_dir = entry.is_dir(follow_symlinks=False)
                        except OSError:
                            is_dir = False
                        if report:
                            found.append(entry.path)
                        if is_dir and not prunes(entry.path):
                            stack.append(entry.path)
            except OSError:
                continue  # gone or unreadable meanwhile
        if found:
            self._touch(found)

    def _grow(self, index: int, path: str) -> None:
        """Walk a folder that appeared in Root `index`'s tree; at the limit, poll that Root instead."""
        try:
            self._walk(index, path, report=True)
        except OSError as err:
            if err.errno not in LIMIT_ERRNOS:
                raise
            self._detach(index)
            self._poll(index, err)
            self._walk(index, path, report=True, watch=False)  # what was written before the poller's first snapshot

    def _detach(self, index: int) -> None:
        """Remove a target's watches (before polling it instead)."""
        touched = []
        for wd, folder in self._folders.items():
            if index in folder.trees:
                folder.trees.discard(index)
                touched.append(wd)
            for name, waiting in list(folder.waits.items()):
                if index in waiting:
                    waiting.discard(index)
                    touched.append(wd)
                    if not waiting:
                        del folder.waits[name]
        self._release(touched)

    def _forget(self, path: str, subtree: bool = True) -> None:
        """A folder was deleted or moved away: drop the watches at (and under) it."""
        if subtree:
            prefix = path + os.sep
            gone = [wd for wd, folder in self._folders.items() if folder.path == path or folder.path.startswith(prefix)]
        else:
            gone = [self._wd_of[path]] if path in self._wd_of else []
        waiting: set[int] = set()
        for wd in gone:
            folder = self._folders[wd]
            folder.trees.clear()
            waiting.update(*folder.waits.values())
            folder.waits.clear()
        self._release(gone)
        self._rewatch(waiting)

    def _rewatch(self, waiting: set[int]) -> None:
        """Targets watched through a folder now gone (a Root's or a Compose file's folder, deleted
        or moved away): reported, and watched again from their nearest existing ancestor."""
        if waiting:
            self._touch(self._targets[i].path for i in waiting)
            for index in sorted(waiting):
                self._attach(index)

    # -- inotify events (WatchCallback, called on the InotifyFD thread) -------------------------

    def on_event(self, event: InotifyEvent) -> None:
        try:
            self._on_event(event)
        except Exception as error:  # never let the reader thread die silently
            self._fail(error)

    def _on_event(self, event: InotifyEvent) -> None:
        with self._lock:
            folder = self._folders.get(event.wd)
            if folder is None:
                return  # a late event of a removed watch
            if not event.name:
                self._on_self_event(folder, event.mask)
                return
            name = os.fsdecode(event.name)
            path = os.path.join(folder.path, name)
            waiting = sorted(folder.waits.get(name, ()))
            if not folder.trees and not waiting:
                return
            is_dir = bool(event.mask & _IN_ISDIR)
            appeared = bool(event.mask & (_IN_CREATE | _IN_MOVED_TO))
            if is_dir and event.mask & _IN_DELETE:
                self._forget(path, subtree=False)  # empty when deleted: the watches under it are gone already
            elif is_dir and event.mask & _IN_MOVED_FROM:
                self._forget(path)
            elif is_dir and appeared:
                self._forget(path, subtree=False)  # renamed over another (empty) folder: its watch is stale
                for index in sorted(folder.trees):
                    prunes = self._targets[index].prunes
                    if index not in self._polled and prunes is not None and not prunes(path):
                        self._grow(index, path)
            if is_dir and waiting:
                for index in waiting:  # a target, or a folder on its way, appeared or went
                    self._attach(index, report=appeared)
            if not folder.trees and not [i for i in waiting if self._targets[i].path == path]:
                return  # a folder on the way to a target that does not exist yet: not a touched path
        self._touch((path,))

    def _on_self_event(self, folder: _Folder, mask: int) -> None:
        """A watched folder itself was deleted or moved. Its parent reports it when watched; a
        folder watched for the targets under it (the parent of a Root, of a Compose file) is
        forgotten, and those targets are watched again from their nearest existing ancestor."""
        if mask & (_IN_DELETE_SELF | _IN_MOVE_SELF) and folder.waits:
            self._forget(folder.path)

    def on_watch_deleted(self, wd: WatchDescriptor) -> None:
        """The kernel dropped a watch (its folder is gone)."""
        try:
            with self._lock:
                folder = self._folders.pop(wd, None)
                if folder is None:
                    return
                if self._wd_of.get(folder.path) == wd:
                    del self._wd_of[folder.path]
                if self._fd is not None:
                    self._rewatch(set().union(*folder.waits.values()))
        except Exception as error:
            self._fail(error)

    def on_queue_overflow(self) -> None:
        try:
            self._resync()
        except Exception as error:
            self._fail(error)

    def _resync(self) -> None:
        """Events were lost: watch everything again and report every path (the orchestrator resyncs)."""
        with self._lock:
            if self._fd is None:
                return
            watched = [i for i, t in enumerate(self._targets) if i not in self._polled and t.path in self._wd_of]
            for index in range(len(self._targets)):
                if index not in self._polled:
                    self._forget(self._targets[index].path)
            self._touch(self._targets[i].path for i in watched)  # a Root deleted meanwhile: gone
            for index in range(len(self._targets)):
                self._attach(index, report=True)

    # -- polling fallback -----------------------------------------------------------------------

    def _poll(self, index: int, err: OSError) -> None:
        """Poll a target (at the inotify limit), with one warning line."""
        target = self._targets[index]
        self._warn_limit(err, target.path)
        from watchdog.observers.polling import PollingObserverVFS

        if target.prunes is not None and os.path.isdir(target.path):
            watched, recursive, listdir = target.path, True, _pruning_listdir(target.prunes)
        else:
            watched, recursive, listdir = os.path.dirname(target.path), False, _named_listdir(os.path.basename(target.path))
        observer = PollingObserverVFS(os.lstat, listdir, polling_interval=self._poll_interval)
        observer.schedule(_Forward(self._touch), watched, recursive=recursive)
        try:
            observer.start()  # takes the first snapshot before returning
        except OSError:
            observer.stop()  # its folder does not exist: nothing to poll
            return
        self._polled[index] = observer

    def _warn_limit(self, err: OSError, path: str) -> None:
        if err.errno == errno.EMFILE:
            what, (sysctl, value), suggested = "instance", _limit("max_user_instances", "max_inotify_instances"), SUGGESTED_INSTANCES
        else:
            what, (sysctl, value), suggested = "watch", _limit("max_user_watches", "max_inotify_watches"), SUGGESTED_WATCHES
        line = (f"inotify {what} limit reached ({sysctl}={value}) for {_shown(path)}: polling it every {self._poll_interval:g} s; "
                f"raise it: sudo sysctl {sysctl}={suggested}")
        if line not in self._warnings:
            self._warnings.append(line)


def _limit(fs_name: str, user_name: str) -> tuple[str, int | str]:
    """The sysctl that limits us and its value: fs.inotify.NAME, or user.NAME when a user
    namespace set a lower one (containers)."""
    candidates = []
    for sysctl in (f"fs.inotify.{fs_name}", f"user.{user_name}"):
        try:
            with open("/proc/sys/" + sysctl.replace(".", "/")) as handle:
                candidates.append((int(handle.read().strip()), sysctl))
        except (OSError, ValueError):
            continue
    if not candidates:
        return f"fs.inotify.{fs_name}", "?"
    value, sysctl = min(candidates, key=lambda c: c[0])  # ties: fs.inotify.* (listed first)
    return sysctl, value


def _shown(path: str) -> str:
    """The path relative to the cwd when under it (./src), else as is."""
    cwd = os.getcwd()
    if path == cwd:
        return "."
    if path.startswith(cwd.rstrip(os.sep) + os.sep):
        return "./" + os.path.relpath(path, cwd)
    return path


def _pruning_listdir(prunes: Callable[[str], bool]) -> Callable[[str | None], Iterator[os.DirEntry]]:
    def listdir(path: str | None) -> Iterator[os.DirEntry]:
        with os.scandir(path) as entries:
            kept = []
            for entry in entries:
                try:
                    pruned = entry.is_dir(follow_symlinks=False) and prunes(entry.path)
                except OSError:
                    pruned = False
                if not pruned:
                    kept.append(entry)
        return iter(kept)

    return listdir


def _named_listdir(name: str) -> Callable[[str | None], Iterator[os.DirEntry]]:
    def listdir(path: str | None) -> Iterator[os.DirEntry]:
        with os.scandir(path) as entries:
            return iter([entry for entry in entries if entry.name == name])

    return listdir


class _Forward(FileSystemEventHandler):
    """A watchdog event handler that reports the paths of polling events (not folder mtime noise)."""

    def __init__(self, touch: Callable[[Iterable[str]], None]) -> None:
        self._touch = touch

    def dispatch(self, event: FileSystemEvent) -> None:
        if isinstance(event, DirModifiedEvent):
            return
        paths = [os.fsdecode(event.src_path)]
        if event.dest_path:
            paths.append(os.fsdecode(event.dest_path))
        self._touch(paths)
