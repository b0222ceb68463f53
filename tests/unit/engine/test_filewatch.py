"""devenv.engine.filewatch on the real kernel: inotify on tmp_path, no Docker.

No wall-clock assertions: every wait for an event is a generous timeout that a passing run never
reaches; the absence of an event is checked with a sentinel written after it (events of one
descriptor arrive in order), never by waiting."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from devenv.engine import filewatch
from devenv.engine.filewatch import Batch, FileWatch, Root

WAIT = 10.0  # seconds; generous, only reached when an event is missing


def pruned(path: str) -> bool:
    return os.path.basename(path) in ("node_modules", ".git")


def collect(fw: FileWatch, done: Callable[[set[str]], bool], timeout: float = WAIT) -> set[str]:
    """The union of the batches until `done` holds (fails after `timeout` without a batch)."""
    seen: set[str] = set()
    while not done(seen):
        batch = fw.next(timeout)
        assert batch is not None, f"no event after {len(seen)} paths, e.g. {sorted(seen)[:5]}"
        seen |= batch.paths
    return seen


def has(*paths: Path | str) -> Callable[[set[str]], bool]:
    wanted = {str(p) for p in paths}
    return lambda seen: wanted <= seen


@pytest.fixture
def watch_of() -> Iterator[Callable[..., FileWatch]]:
    """Started FileWatches, closed at the end."""
    made: list[FileWatch] = []

    def make(roots: list[Root], files: tuple[str, ...] = (), **options: float) -> FileWatch:
        fw = FileWatch(roots, files, **options)
        made.append(fw)
        fw.start()
        return fw

    yield make
    for fw in made:
        fw.close()


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "mod.py").write_text("x = 1\n")
    (tmp_path / "src" / "node_modules" / "lib").mkdir(parents=True)
    (tmp_path / "src" / "node_modules" / "lib" / "index.js").write_text("//\n")
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    return tmp_path


def test_create_modify_delete_and_rename(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    fw = watch_of([Root(str(tree / "src"), pruned)])
    new = tree / "src" / "pkg" / "new.py"
    new.write_text("a\n")
    assert str(new) in collect(fw, has(new))

    existing = tree / "src" / "pkg" / "mod.py"
    with open(existing, "a") as handle:
        handle.write("y = 2\n")
    assert str(existing) in collect(fw, has(existing))

    renamed = tree / "src" / "pkg" / "renamed.py"
    new.rename(renamed)
    assert {str(new), str(renamed)} <= collect(fw, has(new, renamed))

    renamed.unlink()
    assert str(renamed) in collect(fw, has(renamed))


def test_mode_changes_and_links_are_reported_reads_are_not(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    fw = watch_of([Root(str(tree / "src"), pruned)])
    module = tree / "src" / "pkg" / "mod.py"
    module.chmod(0o755)
    collect(fw, has(module))
    link = tree / "src" / "pkg" / "link.py"
    link.symlink_to("mod.py")
    collect(fw, has(link))
    read = tree / "src" / "pkg" / "read.py"
    read.write_text("r")
    collect(fw, has(read))
    read.read_text()  # the sync reads what it sends: that must not wake the watch
    sentinel = tree / "src" / "sentinel"
    sentinel.write_text("s")
    assert str(read) not in collect(fw, has(sentinel))


def test_new_subfolder_with_files_written_at_once(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    """Files written before the new folder's watch is placed are reported by its listing."""
    fw = watch_of([Root(str(tree / "src"), pruned)])
    deep = tree / "src" / "a" / "b" / "c"
    deep.mkdir(parents=True)
    files = [deep / f"f{i}.py" for i in range(20)] + [tree / "src" / "a" / "top.py"]
    for file in files:
        file.write_text("1\n")
    seen = collect(fw, has(*files))
    assert {str(tree / "src" / "a"), str(tree / "src" / "a" / "b"), str(deep)} <= seen
    # and the new folders are watched from now on
    later = deep / "later.py"
    later.write_text("2\n")
    collect(fw, has(later))


def test_folder_moved_in_and_out(tree: Path, tmp_path: Path, watch_of: Callable[..., FileWatch]) -> None:
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "one.txt").write_text("1")
    fw = watch_of([Root(str(tree / "src"), pruned)])

    moved_in = tree / "src" / "moved"
    outside.rename(moved_in)
    collect(fw, has(moved_in, moved_in / "sub", moved_in / "sub" / "one.txt"))
    written = moved_in / "sub" / "two.txt"
    written.write_text("2")
    collect(fw, has(written))

    away = tmp_path / "away"
    moved_in.rename(away)
    collect(fw, has(moved_in))
    (away / "sub" / "three.txt").write_text("3")  # no longer in the tree: never reported
    sentinel = tree / "src" / "sentinel"
    sentinel.write_text("s")
    seen = collect(fw, has(sentinel))
    assert not [p for p in seen if p.startswith(str(away))]


def test_rename_a_folder_inside_the_tree(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    fw = watch_of([Root(str(tree / "src"), pruned)])
    before, after = tree / "src" / "pkg", tree / "src" / "lib2"
    before.rename(after)
    collect(fw, has(before, after, after / "mod.py"))
    written = after / "again.py"
    written.write_text("1")
    collect(fw, has(written))


def test_pruned_folders_are_never_listed_nor_watched(tree: Path, monkeypatch: pytest.MonkeyPatch,
                                                     watch_of: Callable[..., FileWatch]) -> None:
    from watchdog.observers.inotify_c import InotifyFD

    listed: list[str] = []
    watched: list[str] = []
    real_scandir, real_walk, real_listdir, real_add = os.scandir, os.walk, os.listdir, InotifyFD.add_callback

    def scandir(path: str = ".") -> object:
        listed.append(os.fspath(path))
        return real_scandir(path)

    def walk(top: str, *args: object, **kwargs: object) -> object:
        listed.append(os.fspath(top))
        return real_walk(top, *args, **kwargs)  # type: ignore[arg-type]

    def listdir(path: str = ".") -> list[str]:
        listed.append(os.fspath(path))
        return real_listdir(path)

    def add_callback(self: InotifyFD, path: bytes, *args: object) -> object:
        watched.append(os.fsdecode(path))
        return real_add(self, path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    monkeypatch.setattr(os, "walk", walk)
    monkeypatch.setattr(os, "listdir", listdir)
    monkeypatch.setattr(InotifyFD, "add_callback", add_callback)
    (tree / "src" / ".git" / "objects").mkdir(parents=True)

    fw = watch_of([Root(str(tree / "src"), pruned)])
    assert str(tree / "src" / "pkg") in listed and str(tree / "src" / "pkg") in watched
    # a node_modules that appears later (npm install in a sub-package) is not walked either
    sub = tree / "src" / "pkg" / "node_modules" / "dep"
    sub.mkdir(parents=True)
    (sub / "index.js").write_text("//")
    (tree / "src" / "node_modules" / "lib" / "index.js").write_text("// changed")
    sentinel = tree / "src" / "pkg" / "sentinel"
    sentinel.write_text("s")
    seen = collect(fw, has(sentinel, tree / "src" / "pkg" / "node_modules"))

    def inside(p: str) -> bool:
        return "node_modules" + os.sep in p + os.sep or ".git" + os.sep in p + os.sep

    assert not [p for p in listed + watched if inside(p)]
    # the pruned folder's own appearance is a touched path (the rules decide); nothing inside it
    assert not [p for p in seen if inside(p) and not p.endswith("node_modules")]


def test_files_report_only_their_names(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    compose, env = tree / "compose.yaml", tree / ".env"  # .env does not exist yet
    fw = watch_of([], (str(compose), str(env)))
    (tree / "other.yaml").write_text("no")
    env.write_text("A=1\n")
    seen = collect(fw, has(env))
    compose.write_text("services: {a: {}}\n")
    seen |= collect(fw, has(compose))
    assert seen == {str(compose), str(env)}


def test_a_root_that_is_a_file_or_appears_later(tmp_path: Path, watch_of: Callable[..., FileWatch]) -> None:
    (tmp_path / "package.json").write_text("{}")
    later = tmp_path / "later"
    fw = watch_of([Root(str(tmp_path / "package.json"), pruned), Root(str(later), pruned)])
    (tmp_path / "unrelated").write_text("x")
    (tmp_path / "package.json").write_text('{"a": 1}')
    seen = collect(fw, has(tmp_path / "package.json"))
    (later / "x").mkdir(parents=True)
    (later / "x" / "f").write_text("1")
    seen |= collect(fw, has(later / "x" / "f"))
    written = later / "x" / "g"
    written.write_text("2")
    seen |= collect(fw, has(written))
    assert str(tmp_path / "unrelated") not in seen


def test_a_root_under_folders_that_do_not_exist_yet(tmp_path: Path, watch_of: Callable[..., FileWatch]) -> None:
    """Watched from its nearest existing ancestor (as Compose does); the folders on its way are not
    touched paths."""
    root = tmp_path / "a" / "b" / "c"
    fw = watch_of([Root(str(root), pruned)])
    (root / "d").mkdir(parents=True)
    (root / "d" / "f").write_text("1")
    seen = collect(fw, has(root / "d" / "f"))
    written = root / "d" / "g"
    written.write_text("2")
    seen |= collect(fw, has(written))
    assert str(tmp_path / "a") not in seen and str(tmp_path / "a" / "b") not in seen


def test_the_folder_of_a_root_moved_away_and_made_again(tmp_path: Path, watch_of: Callable[..., FileWatch]) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "compose.yaml").write_text("services: {}")
    fw = watch_of([Root(str(project / "src"), pruned)], (str(project / "compose.yaml"),))
    project.rename(tmp_path / "old")
    collect(fw, has(project / "src", project / "compose.yaml"))  # gone from where they were
    (project / "src").mkdir(parents=True)
    (project / "src" / "new.py").write_text("1")
    (project / "compose.yaml").write_text("services: {a: {}}")
    collect(fw, has(project / "src" / "new.py", project / "compose.yaml"))
    # nothing under the old place is reported any more
    (tmp_path / "old" / "src" / "stale.py").write_text("1")
    sentinel = project / "src" / "sentinel"
    sentinel.write_text("s")
    assert not [p for p in collect(fw, has(sentinel)) if "old" in Path(p).parts]


def test_the_project_folder_deleted_and_made_again(tmp_path: Path, watch_of: Callable[..., FileWatch]) -> None:
    project = tmp_path / "project"
    project.mkdir()
    compose = project / "compose.yaml"
    compose.write_text("services: {}")
    fw = watch_of([Root(str(project), pruned)], (str(compose),))
    shutil.rmtree(project)
    collect(fw, has(project, compose))
    project.mkdir()
    compose.write_text("services: {a: {}}")
    collect(fw, has(compose))
    written = project / "app.py"
    written.write_text("1")
    collect(fw, has(written))


def test_an_editor_save_by_rename(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    compose = tree / "compose.yaml"
    fw = watch_of([Root(str(tree / "src"), pruned)], (str(compose),))
    temp = tree / ".compose.yaml.swp"
    temp.write_text("services: {b: {}}")
    temp.rename(compose)
    collect(fw, has(compose))
    module = tree / "src" / "pkg" / "mod.py"
    (tree / "src" / "pkg" / "mod.py~").write_text("x = 3")
    (tree / "src" / "pkg" / "mod.py~").rename(module)
    collect(fw, has(module))


def test_several_writes_make_one_batch_and_first_is_the_first_event(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    import time

    # A long quiet period so the writes below cannot fall into two batches.
    fw = watch_of([Root(str(tree / "src"), pruned)], quiet=1.0, max_delay=WAIT)
    before = time.time()
    files = [tree / "src" / "pkg" / f"m{i}.py" for i in range(10)]
    for file in files:
        file.write_text("1")
    batch = fw.next(WAIT * 2)
    assert batch is not None and batch.paths == {str(f) for f in files}
    assert before <= batch.first <= time.time()


def test_max_delay_closes_a_batch_that_never_goes_quiet(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    # quiet longer than the wait: only max_delay can deliver it
    fw = watch_of([Root(str(tree / "src"), pruned)], quiet=WAIT * 10, max_delay=0.2)
    file = tree / "src" / "pkg" / "one.py"
    file.write_text("1")
    batch = fw.next(WAIT)
    assert batch is not None and str(file) in batch.paths


def test_close_wakes_next_and_is_idempotent(tree: Path) -> None:
    fw = FileWatch([Root(str(tree / "src"), pruned)])
    fw.start()
    results: list[Batch | None] = []
    waiter = threading.Thread(target=lambda: results.append(fw.next()))
    waiter.start()
    fw.close()
    waiter.join(WAIT)
    assert not waiter.is_alive() and results == [None]
    fw.close()
    (tree / "src" / "pkg" / "after.py").write_text("1")
    assert fw.next(0.05) is None


def test_queue_overflow_reports_everything_again(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    """More events than the kernel queue holds (fs.inotify.max_queued_events) while the reader is
    held: the events are lost, so FileWatch watches again and reports every path of the tree."""
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 100_000:
        pytest.skip(f"fs.inotify.max_queued_events={limit}: too many files to write to overflow it")
    fw = watch_of([Root(str(tree / "src"), pruned)])
    flood = tree / "src" / "flood"
    flood.mkdir()
    collect(fw, has(flood))  # watched from now on
    with fw._lock:  # the reader thread blocks on its first event; the kernel queue fills
        for i in range(limit + 100):
            (flood / f"f{i}").touch()
    seen = collect(fw, has(tree / "src" / "pkg" / "mod.py", flood / f"f{limit + 99}"))
    assert str(flood / "f0") in seen


def test_a_folder_renamed_over_an_empty_one(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    (tree / "src" / "empty").mkdir()
    fw = watch_of([Root(str(tree / "src"), pruned)])
    (tree / "src" / "pkg").rename(tree / "src" / "empty")
    collect(fw, has(tree / "src" / "pkg", tree / "src" / "empty" / "mod.py"))
    written = tree / "src" / "empty" / "new.py"
    written.write_text("1")
    collect(fw, has(written))


def test_an_error_on_the_watching_thread_is_raised_by_next(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    def broken(path: str) -> bool:
        if path.endswith("boom"):
            raise ValueError("bad pattern")
        return False

    fw = watch_of([Root(str(tree / "src"), broken)])
    (tree / "src" / "boom").mkdir()
    with pytest.raises(ValueError, match="bad pattern"):
        fw.next(WAIT)


# -- the inotify limits, for real: in a user namespace, whose limits the test may lower ---------------

CHILD = textwrap.dedent("""
    import json, os, sys
    sys.path.insert(0, sys.argv[1])
    limit_file, limit, top = sys.argv[2], sys.argv[3], sys.argv[4]
    with open(limit_file, "w") as handle:
        handle.write(limit)
    listed = []
    real_scandir = os.scandir
    def scandir(path="."):
        listed.append(os.fspath(path))
        return real_scandir(path)
    os.scandir = scandir
    from devenv.engine.filewatch import FileWatch, Root
    fw = FileWatch([Root(top, lambda p: os.path.basename(p) == "node_modules")], poll_interval=0.1)
    report = fw.start()
    fd = fw._fd
    kernel_watches = None
    if fd is not None:
        with open(f"/proc/self/fdinfo/{fd._inotify_fd}") as handle:
            kernel_watches = sum(line.startswith("inotify wd:") for line in handle)
    os.makedirs(os.path.join(top, "d3", "new", "deeper"))
    with open(os.path.join(top, "d3", "new", "deeper", "file.txt"), "w") as handle:
        handle.write("x")
    seen = set()
    while os.path.join(top, "d3", "new", "deeper", "file.txt") not in seen:
        batch = fw.next(20)
        if batch is None:
            break
        seen |= batch.paths
    later = os.path.join(top, "d5", "later.txt")
    with open(later, "w") as handle:
        handle.write("x")
    while later not in seen:
        batch = fw.next(20)
        if batch is None:
            break
        seen |= batch.paths
    fw.close()
    print(json.dumps({"watches": report.watches, "kernel_watches": kernel_watches, "polled": report.polled,
                      "warnings": report.warnings, "later_warnings": fw.warnings, "seen": sorted(seen),
                      "listed_pruned": [p for p in listed if "node_modules" in p]}))
""")


def run_limited(tmp_path: Path, limit_file: str, limit: int) -> dict:
    """FileWatch in a child process in its own user namespace, whose inotify limit is `limit`,
    on a tree of 9 folders (8 pruned node_modules besides)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare (util-linux) is not installed: no way to lower the inotify limits without root on the host")
    probe = subprocess.run([unshare, "--user", "--map-root-user", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged user namespaces are disabled here ({probe.stderr.strip()}): "
                    "no way to lower the inotify limits of this test alone")
    top = tmp_path / "tree"
    for i in range(8):
        (top / f"d{i}" / "node_modules" / "x").mkdir(parents=True)
        (top / f"d{i}" / "f.txt").write_text("1")
    repo = str(Path(filewatch.__file__).resolve().parents[2])
    done = subprocess.run([unshare, "--user", "--map-root-user", sys.executable, "-c", CHILD, repo, limit_file, str(limit), str(top)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    top_s = str(top)
    result["top"] = top_s
    assert os.path.join(top_s, "d3", "new", "deeper", "file.txt") in result["seen"]
    assert os.path.join(top_s, "d5", "later.txt") in result["seen"]
    assert not [p for p in result["seen"] if "node_modules" in p]
    assert result["listed_pruned"] == []  # neither the walk nor the poller ever listed a pruned folder
    return result


def test_watch_limit_falls_back_to_polling_that_root(tmp_path: Path) -> None:
    result = run_limited(tmp_path, "/proc/sys/user/max_inotify_watches", 3)
    assert result["polled"] == [result["top"]]
    assert result["warnings"] == result["later_warnings"] == [
        "inotify watch limit reached (user.max_inotify_watches=3) for ./tree: polling it every 0.1 s; "
        "raise it: sudo sysctl user.max_inotify_watches=524288"
    ]
    # the partial inotify watches of that root were removed, in the kernel too
    assert result["watches"] == result["kernel_watches"] == 0


def test_watch_limit_reached_while_watching(tmp_path: Path) -> None:
    """Start fits (the parent, the root, its 8 folders); the folders created later do not: that
    root is polled from then on, and what was written in them meanwhile is reported."""
    result = run_limited(tmp_path, "/proc/sys/user/max_inotify_watches", 10)
    assert result["polled"] == [] and result["warnings"] == [] and result["watches"] == 10
    assert result["later_warnings"] == [
        "inotify watch limit reached (user.max_inotify_watches=10) for ./tree: polling it every 0.1 s; "
        "raise it: sudo sysctl user.max_inotify_watches=524288"
    ]


def test_instance_limit_falls_back_to_polling(tmp_path: Path) -> None:
    result = run_limited(tmp_path, "/proc/sys/user/max_inotify_instances", 0)
    assert result["polled"] == [result["top"]]
    assert result["warnings"] == [
        "inotify instance limit reached (user.max_inotify_instances=0) for ./tree: polling it every 0.1 s; "
        "raise it: sudo sysctl user.max_inotify_instances=1024"
    ]


def test_warning_names_fs_inotify_and_the_path_relative_to_the_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert filewatch._shown(str(tmp_path / "src")) == "./src"
    assert filewatch._shown(str(tmp_path)) == "."
    assert filewatch._shown("/elsewhere/src") == "/elsewhere/src"
    sysctl, value = filewatch._limit("max_user_watches", "max_inotify_watches")
    assert sysctl in ("fs.inotify.max_user_watches", "user.max_inotify_watches") and isinstance(value, int)


# -- a big tree -----------------------------------------------------------------------------------


def test_hundred_thousand_files_few_watches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            watch_of: Callable[..., FileWatch]) -> None:
    """100,000 files, 90,000 of them in node_modules: start() lists and watches only the 104 kept
    folders. Writing the tree takes ~2 s on an idle machine, but up to ~30 s was measured here
    while other jobs shared the disk (100,000 file creations: nothing shorter proves the point);
    start() itself takes a few hundredths of a second."""
    top = tmp_path / "app"
    for base, folders in (("src", 100), ("node_modules", 900)):
        for d in range(folders):
            folder = top / base / f"g{d // 50}" / f"d{d}"
            folder.mkdir(parents=True)
            for f in range(100):
                os.close(os.open(folder / f"f{f}.js", os.O_CREAT | os.O_WRONLY, 0o644))
    kept = 1 + 1 + 2 + 100  # app, src, src/g0..g1, src/g*/d*
    listed: list[str] = []
    real_scandir = os.scandir

    def scandir(path: str = ".") -> object:
        listed.append(os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    fw = FileWatch([Root(str(top), pruned)])
    report = fw.start()
    monkeypatch.undo()
    try:
        assert report.watches == kept + 1  # + the parent, watching the root by name
        assert len(listed) == kept and not [p for p in listed if "node_modules" in p]
        assert report.polled == () and report.warnings == ()
        changed = top / "src" / "g1" / "d99" / "f7.js"
        changed.write_text("changed")
        collect(fw, has(changed))
    finally:
        fw.close()


def test_overlapping_roots_each_with_its_own_prunes(tree: Path, watch_of: Callable[..., FileWatch]) -> None:
    """Two rules on nested paths: a folder one Root prunes is still watched for the other."""
    vendor = tree / "src" / "pkg" / "vendor"
    vendor.mkdir()
    fw = watch_of([Root(str(tree / "src"), lambda p: p.endswith("vendor")), Root(str(tree / "src" / "pkg"), lambda p: False)])
    written = vendor / "lib.py"
    written.write_text("1")
    collect(fw, has(written))
    fresh = tree / "src" / "pkg" / "vendor2"
    fresh.mkdir()
    (fresh / "a.py").write_text("1")
    collect(fw, has(fresh / "a.py"))
