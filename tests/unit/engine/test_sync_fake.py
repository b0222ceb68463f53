"""devenv/engine/sync.py's own logic on the in-memory engine: the calls it makes (how many stats,
where the tar goes, how deletions are batched) and the multiplexed-stream decoding. What Docker does
with them is tested on the real engine (tests/integration/test_watch_sync.py)."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from devenv.engine import sync
from devenv.engine.api import APIError, _demux
from devenv.errors import EngineError
from devenv.plan.watch import Copy, ExecHook, HostEntry, SyncStep
from tests.fake_engine import FakeEngineAPI
from tests.unit.plan.plan_factories import IMAGE


def _frame(stream: int, data: bytes) -> bytes:
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_demux_joins_stdout_and_stderr_in_order() -> None:
    raw = _frame(1, b"out\n") + _frame(2, b"err\n") + _frame(1, b"") + _frame(1, b"more")
    assert _demux(raw) == b"out\nerr\nmore"
    assert _demux(b"not framed at all") == b"not framed at all"
    assert _demux(b"") == b""


def _container(fake: FakeEngineAPI, user: str = "") -> str:
    fake.create_container("web-1", {"Image": IMAGE, "User": user})
    fake.start("web-1")
    return "web-1"


def _file(tmp_path: Path, name: str, text: str = "x") -> Copy:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    os.utime(path, (1_600_000_000.5, 1_600_000_000.5))  # what is sent: the file as it is when read
    return Copy(str(path), "/app/" + name, HostEntry("file", len(text), 1_600_000_000.5, 0o644))


def _names(data: bytes) -> list[tuple[str, int, int]]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m.name, m.uid, m.mtime) for m in tar]


def test_files_in_one_existing_folder_cost_one_stat_and_go_there(fake: FakeEngineAPI, tmp_path: Path) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/app/old.txt": b"old"}
    step = SyncStep("web", (_file(tmp_path, "a.txt"), _file(tmp_path, "b.txt", "bb")), ())
    assert sync.send(fake, container, step, sync.Owner(7, 8)) == sync.Sent(2, 3)
    assert [c.args["path"] for c in fake.called("archive_stat")] == ["/app"]
    (put,) = fake.called("put_archive")
    assert put.args["path"] == "/app" and not put.args["copy_uid_gid"]
    assert _names(put.args["data"]) == [("a.txt", 7, 1_600_000_000), ("b.txt", 7, 1_600_000_000)]  # whole seconds
    assert fake.files["web-1"]["/app/b.txt"] == b"bb"


def test_missing_parents_become_the_owner_s_folders(fake: FakeEngineAPI, tmp_path: Path) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/srv/other": b""}  # /srv exists, /srv/app does not
    copy = _file(tmp_path, "deep/f.txt")
    step = SyncStep("web", (Copy(copy.host, "/srv/app/deep/f.txt", copy.entry),), ())
    sync.send(fake, container, step, sync.Owner(1000, 1000))
    (put,) = fake.called("put_archive")
    assert put.args["path"] == "/srv"
    with tarfile.open(fileobj=io.BytesIO(put.args["data"])) as tar:
        members = [(m.name, m.isdir(), m.uid, m.mode) for m in tar]
    assert members == [("app", True, 1000, 0o755), ("app/deep", True, 1000, 0o755), ("app/deep/f.txt", False, 1000, 0o644)]


def test_deletions_are_batched_rm_execs_before_the_copies(fake: FakeEngineAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/app/a/1": b"", "/app/b": b"", "/app/c": b""}
    monkeypatch.setattr(sync, "RM_ARGS", 14)  # two paths of 6 characters per exec
    step = SyncStep("web", (_file(tmp_path, "new.txt"),), ("/app/a", "/app/b", "/app/c"))
    assert sync.send(fake, container, step, sync.Owner(0, 0)) == sync.Sent(4, 1)
    assert [c.args["cmd"] for c in fake.called("exec_create")] == [["rm", "-rf", "--", "/app/a", "/app/b"],
                                                                   ["rm", "-rf", "--", "/app/c"]]
    assert fake.methods().index("put_archive") > max(i for i, m in enumerate(fake.methods()) if m == "exec_start")
    assert set(fake.files["web-1"]) == {"/app/new.txt"}


def test_a_failing_rm_is_one_line(fake: FakeEngineAPI) -> None:
    container = _container(fake)
    fake.exec_handler = lambda _name, _cmd: (1, b"rm: can't remove '/app/x': Read-only file system\n")
    with pytest.raises(EngineError, match=r"rm -rf of 1 path\(s\) failed: rm: can't remove '/app/x': Read-only file system$"):
        sync.send(fake, container, SyncStep("web", (), ("/app/x",)), sync.Owner(0, 0))


def test_owner_of_reads_the_container_s_own_passwd_and_group(fake: FakeEngineAPI) -> None:
    container = _container(fake, "app:staff")
    fake.files["web-1"] = {"/etc/passwd": b"root:x:0:0::/root:/bin/sh\napp:x:1234:1234::/home/app:/bin/sh\n",
                           "/etc/group": b"root:x:0:\nstaff:x:50:app\n"}
    assert sync.owner_of(fake, container) == sync.Owner(1234, 50)
    assert [c.args["path"] for c in fake.called("get_archive")] == ["/etc/passwd", "/etc/group"]


def test_owner_of_numeric_users_reads_nothing_it_does_not_need(fake: FakeEngineAPI) -> None:
    assert sync.owner_of(fake, _container(fake, "")) == sync.Owner(0, 0)
    fake.create_container("web-2", {"Image": IMAGE, "User": "10:20"})
    assert sync.owner_of(fake, "web-2") == sync.Owner(10, 20)
    assert not fake.called("get_archive")
    fake.create_container("web-3", {"Image": IMAGE, "User": "ghost"})  # an image without /etc/passwd
    with pytest.raises(EngineError, match="user 'ghost'"):
        sync.owner_of(fake, "web-3")


def test_listing_maps_the_base_rooted_tar_back_to_container_paths(fake: FakeEngineAPI) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/app/src/main.py": b"print()", "/app/node_modules/big": b"0" * 1000, "/app/README": b"hi"}
    found = sync.listing(fake, container, "/app", names=["src", "README", "gone"])
    assert sorted(found) == ["/app/README", "/app/src/main.py"]
    assert found["/app/README"].size == 2 and found["/app/README"].sha256 is not None
    assert sorted(c.args["path"] for c in fake.called("get_archive")) == ["/app/README", "/app/gone", "/app/src"]
    with pytest.raises(ValueError):
        sync.listing(fake, container, "/app", names=["src/deeper"])


def test_run_hook_passes_the_hook_s_settings(fake: FakeEngineAPI) -> None:
    container = _container(fake)
    fake.exec_handler = lambda _name, cmd: (2, b"line\n" * 50)
    hook = ExecHook(("make", "reload"), user="app", privileged=True, working_dir="/src", environment=(("A", "1"), ("B", "2")))
    result = sync.run_hook(fake, container, hook)
    assert result == sync.ExecResult(2, "\n".join(["line"] * sync.OUTPUT_LINES))
    (created,) = fake.called("exec_create")
    assert created.args == {"container": "web-1", "cmd": ["make", "reload"], "user": "app", "privileged": True,
                            "workdir": "/src", "env": ["A=1", "B=2"]}


def test_a_tree_into_a_fresh_container_costs_a_few_stats(fake: FakeEngineAPI, tmp_path: Path) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/srv/keep": b""}  # /srv exists; /srv/app does not
    copies = []
    for n in range(30):  # files in 30 folders, the folders not in the step (nothing copies them)
        copy = _file(tmp_path, f"d{n}/sub/f.txt")
        copies.append(Copy(copy.host, f"/srv/app/d{n}/sub/f.txt", copy.entry))
    copies.append(Copy(copies[0].host, "/srv/app/top.txt", copies[0].entry))
    sync.send(fake, container, SyncStep("web", tuple(sorted(copies, key=lambda c: c.container)), ()), sync.Owner(5, 5))
    assert sorted(c.args["path"] for c in fake.called("archive_stat")) == ["/srv", "/srv/app"]
    (put,) = fake.called("put_archive")
    assert put.args["path"] == "/srv"
    with tarfile.open(fileobj=io.BytesIO(put.args["data"])) as tar:
        made = [m.name for m in tar if m.isdir()]
    assert made == ["app"] + sorted(f"app/d{n}" for n in range(30)) + sorted(f"app/d{n}/sub" for n in range(30))


def test_a_tar_refused_over_a_linked_folder_goes_again_without_implied_folders(fake: FakeEngineAPI, tmp_path: Path) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/app/keep": b""}
    refused: list[int] = []

    def refuse_once(call: object) -> None:  # what engines since 23 answer (20.10 replaces the link)
        if not refused:
            refused.append(1)
            raise APIError(500, "cannot overwrite non-directory \"/app/lib\" with directory \"/app/lib\"", "PUT", "/archive")

    fake.on("put_archive", refuse_once)
    (tmp_path / "lib").mkdir()
    (tmp_path / "empty").mkdir()
    lib = Copy(str(tmp_path / "lib"), "/app/lib", HostEntry("dir", 0, 1.0, 0o755))
    empty = Copy(str(tmp_path / "empty"), "/app/empty", HostEntry("dir", 0, 1.0, 0o755))
    inner = _file(tmp_path, "lib/x.py")
    step = SyncStep("web", (empty, lib, inner), ())
    assert sync.send(fake, container, step, sync.Owner(0, 0)) == sync.Sent(1, 1)
    first, second = fake.called("put_archive")
    assert [n for n, _uid, _t in _names(first.args["data"])] == ["empty", "lib", "lib/x.py"]
    assert [n for n, _uid, _t in _names(second.args["data"])] == ["empty", "lib/x.py"]  # an empty folder keeps its entry


def test_another_refusal_is_one_line(fake: FakeEngineAPI, tmp_path: Path) -> None:
    container = _container(fake)
    fake.files["web-1"] = {"/app/keep": b""}
    fake.fail("put_archive", "web-1", 500, "no space left on device")
    with pytest.raises(EngineError, match=r"^web-1: copying into /app failed: no space left on device$"):
        sync.send(fake, container, SyncStep("web", (_file(tmp_path, "a.txt"),), ()), sync.Owner(0, 0))
    assert len(fake.called("put_archive")) == 1


def test_the_chunk_reader_gives_back_the_stream_in_any_pieces() -> None:
    data = bytes(range(256)) * 40
    chunks = [data[i:i + 777] for i in range(0, len(data), 777)]
    reader = sync._ChunkReader(iter(chunks))
    pieces = []
    for size in [1, 500, 3000, 10, 20000]:
        pieces.append(reader.read(size))
    assert b"".join(pieces) == data and reader.read(5) == b""
    again = sync._ChunkReader(chunks)
    assert again.read(3) == data[:3] and again.read() == data[3:]
