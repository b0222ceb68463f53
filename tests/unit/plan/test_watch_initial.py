"""`devenv watch`'s initial sync (plan/watch.py plan_initial_sync): only what differs is sent, the
host's files are hashed only when size matches and mtime does not; nothing is deleted. And the
one-line sync report."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from devenv.plan.watch import (
    ALWAYS_IGNORED,
    ContainerEntry,
    Copy,
    HostEntry,
    InitialSync,
    Matcher,
    Rule,
    SyncStep,
    plan_initial_sync,
    sync_line,
)

SRC = "/p/src"
T = 1700000000


def rule(path: str = SRC, target: str = "/app") -> Rule:
    return Rule("web", 0, "sync", path, target, Matcher.any_of(ALWAYS_IGNORED), None, True, None)


def host_file(size: int = 10, mtime: float = T + 0.7, mode: int = 0o644) -> HostEntry:
    return HostEntry("file", size, mtime, mode)


def theirs(kind: str = "file", size: int = 10, mtime: int = T, sha: str | None = "same", link: str | None = None) -> ContainerEntry:
    return ContainerEntry(kind, size, mtime, 0o644, 1000, 1000, sha256=sha if kind == "file" else None, link=link)


DIR = HostEntry("dir", 4096, T, 0o755)
CDIR = ContainerEntry("dir", 0, T, 0o755, 0, 0)


class Hasher:
    def __init__(self, digests: dict[str, str] | None = None) -> None:
        self.digests = digests or {}
        self.calls: list[str] = []

    def __call__(self, path: str) -> str:
        self.calls.append(path)
        return self.digests.get(path, "same")


def plan(host: dict[str, HostEntry], container: dict[str, ContainerEntry], sha: Callable[[str], str] | None = None) -> InitialSync:
    return plan_initial_sync(rule(), host, container, sha or Hasher())


def test_equal_trees_send_nothing_and_hash_nothing() -> None:
    sha = Hasher()
    result = plan({SRC: DIR, f"{SRC}/a": host_file(), f"{SRC}/d": DIR, f"{SRC}/d/b": host_file(3)},
                  {"/app": CDIR, "/app/a": theirs(), "/app/d": CDIR, "/app/d/b": theirs(size=3)}, sha)
    assert result == InitialSync(SyncStep("web", (), ()), unchanged=2, only_in_container=0)
    assert sha.calls == []  # same size and same whole-second mtime: equal without reading


def test_missing_files_and_folders_are_sent_sorted() -> None:
    host = {SRC: DIR, f"{SRC}/new": DIR, f"{SRC}/new/x": host_file(7), f"{SRC}/a": host_file()}
    result = plan(host, {"/app": CDIR, "/app/a": theirs()})
    assert result.step.copies == (Copy(f"{SRC}/new", "/app/new", DIR), Copy(f"{SRC}/new/x", "/app/new/x", host["/p/src/new/x"]))
    assert result.step.files == 1 and result.step.size == 7 and result.unchanged == 1


def test_an_empty_or_missing_target_gets_everything() -> None:
    host = {SRC: DIR, f"{SRC}/a": host_file()}
    assert [c.container for c in plan(host, {}).step.copies] == ["/app", "/app/a"]


def test_another_size_is_sent_without_hashing() -> None:
    sha = Hasher()
    result = plan({f"{SRC}/a": host_file(11)}, {"/app/a": theirs(size=10)}, sha)
    assert [c.container for c in result.step.copies] == ["/app/a"] and sha.calls == []


def test_same_size_other_mtime_compares_content() -> None:
    sha = Hasher({f"{SRC}/changed": "new"})
    host = {f"{SRC}/same": host_file(mtime=T + 5.2), f"{SRC}/changed": host_file(mtime=T + 5.2)}
    result = plan(host, {"/app/same": theirs(), "/app/changed": theirs()}, sha)
    assert [c.container for c in result.step.copies] == ["/app/changed"]
    assert result.unchanged == 1
    assert sorted(sha.calls) == [f"{SRC}/changed", f"{SRC}/same"]


def test_mtime_is_compared_in_whole_seconds() -> None:
    sha = Hasher({f"{SRC}/a": "other"})
    assert plan({f"{SRC}/a": host_file(mtime=T + 0.999)}, {"/app/a": theirs(mtime=T)}, sha).step.copies == ()
    assert sha.calls == []


def test_a_container_file_without_digest_is_sent() -> None:
    assert len(plan({f"{SRC}/a": host_file(mtime=T + 9)}, {"/app/a": theirs(sha=None)}).step.copies) == 1


@pytest.mark.parametrize(
    ("mine", "container", "sent"),
    [
        (host_file(), theirs("dir"), True),
        (DIR, theirs(), True),
        (HostEntry("link", 3, T, 0o777, link="a"), theirs(), True),
        (HostEntry("link", 3, T, 0o777, link="a"), theirs("link", link="b"), True),
        (HostEntry("link", 3, T, 0o777, link="a"), theirs("link", size=0, link="a"), False),
        (DIR, CDIR, False),
    ],
)
def test_kinds_and_links(mine: HostEntry, container: ContainerEntry, sent: bool) -> None:
    assert bool(plan({f"{SRC}/x": mine}, {"/app/x": container}).step.copies) is sent


def test_files_only_in_the_container_are_kept_and_counted() -> None:
    container = {"/app": CDIR, "/app/a": theirs(), "/app/extra": theirs(), "/app/node_modules": CDIR,
                 "/app/node_modules/m.js": theirs(), "/app/l": theirs("link", link="x")}
    result = plan({SRC: DIR, f"{SRC}/a": host_file()}, container)
    assert result.step.deletes == ()
    assert result.only_in_container == 3  # files and links, not folders
    assert result.unchanged == 1


def test_a_file_rule_compares_its_target() -> None:
    r = rule(path="/p/app.conf", target="/etc/app.conf")
    result = plan_initial_sync(r, {"/p/app.conf": host_file(5)}, {"/etc/app.conf": theirs(size=4)}, Hasher())
    assert result.step.copies == (Copy("/p/app.conf", "/etc/app.conf", host_file(5)),)


@pytest.mark.parametrize(
    ("files", "size", "seconds", "line"),
    [
        (3, 12400, 0.048, "web: synced 3 files (12.4 kB) in 48 ms"),
        (1, 5, 0.0004, "web: synced 1 file (5 B) in 0 ms"),
        (0, 0, 0.0125, "web: synced 0 files (0 B) in 12 ms"),
        (12345, 3_000_000, 1.5, "web: synced 12,345 files (3.0 MB) in 1500 ms"),
        (2, 10, 12.34, "web: synced 2 files (10 B) in 12.3 s"),
    ],
)
def test_sync_line(files: int, size: int, seconds: float, line: str) -> None:
    assert sync_line("web", files, size, seconds) == line
