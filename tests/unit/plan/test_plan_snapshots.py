"""Data snapshots, the pure rules: the manifest format, which volumes a command acts on, the
checks a restore makes, the writers paused, and the snapshot file itself (written and read
back without an engine)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from devenv.errors import UsageError
from devenv.plan.observed import ObservedContainer, ObservedMount
from devenv.plan.snapshots import (
    ROOT, FileSum, Manifest, SnapshotError, VolumeEntry, compare, helper_images, member_path, parse, restore_volumes,
    snapshot_volumes, to_json, volume_file, writers,
)
from devenv.snapshotfile import ChunkReader, SnapshotFile, TarSink, scan
from tests.unit.plan.plan_factories import make_project, svc

SHA = "a" * 64


def project():
    return make_project(
        {
            "db": svc(volumes=[{"type": "volume", "source": "data", "target": "/data"}]),
            "web": svc(image="example/web:1"),
        },
        name="demo",
        volumes={"data": {}, "cache": {}, "shared": {"external": True}},
    )


def entry(name: str = "data", files: tuple[FileSum, ...] = (FileSum("a", SHA, 1),)) -> VolumeEntry:
    return VolumeEntry(name, f"demo_{name}", volume_file(name), SHA, 1024, files)


def volume_tar(files: dict[str, bytes], root: str = ROOT, extra: list[tarfile.TarInfo] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        top = tarfile.TarInfo(root)
        top.type, top.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(top)
        for name, data in files.items():
            info = tarfile.TarInfo(f"{root}/{name}")
            info.size, info.uid, info.mode = len(data), 123, 0o640
            tar.addfile(info, io.BytesIO(data))
        for info in extra or ():
            tar.addfile(info)
    return out.getvalue()


# ------------------------------------------------------------ manifest format


def test_manifest_round_trips_and_is_stable_json() -> None:
    manifest = Manifest("demo", (entry(), entry("cache", ())), created="2026-01-01T00:00:00Z")
    raw = to_json(manifest)
    assert parse(raw, "snap.tar") == manifest
    assert to_json(parse(raw, "snap.tar")) == raw
    data = json.loads(raw)
    assert data["format"] == "devenv-snapshot" and data["version"] == 1
    assert data["volumes"][0]["files"] == [{"path": "a", "sha256": SHA, "size": 1}]
    assert data["volumes"][0]["files_count"] == 1 and data["volumes"][0]["file"] == "volumes/data.tar"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(version=2), "format version 2 is not supported"),
        (lambda d: d.update(format="other"), "not a devenv snapshot manifest"),
        (lambda d: d["volumes"][0].update(file="../../etc/passwd"), "file must be 'volumes/data.tar'"),
        (lambda d: d["volumes"][0].update(name="../x"), "is not a volume name"),
        (lambda d: d["volumes"][0].update(sha256="xyz"), "sha256 or size is malformed"),
        (lambda d: d["volumes"][0].update(files_count=5), "files_count 5 but 1 files listed"),
        (lambda d: d["volumes"][0].update(root="/"), "root must be"),
        (lambda d: d["volumes"].append(dict(d["volumes"][0])), "given twice"),
        (lambda d: d.pop("project"), "field 'project' is missing"),
    ],
)
def test_a_manifest_devenv_did_not_write_is_refused_in_one_line(edit, message: str) -> None:
    data = json.loads(to_json(Manifest("demo", (entry(),))))
    edit(data)
    with pytest.raises(SnapshotError, match="snap.tar: devenv-snapshot.json") as caught:
        parse(json.dumps(data).encode(), "snap.tar")
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_not_json_is_refused() -> None:
    with pytest.raises(SnapshotError, match="not JSON"):
        parse(b"\xff{", "snap.tar")


# ------------------------------------------------------------ selection


def test_snapshot_takes_every_volume_but_external_ones_by_default() -> None:
    assert snapshot_volumes(project(), ()) == ("cache", "data")


def test_an_external_volume_only_when_named_and_names_are_kept_in_order_once() -> None:
    assert snapshot_volumes(project(), ("shared", "data", "shared")) == ("shared", "data")


def test_an_unknown_volume_is_one_usage_line_listing_the_volumes() -> None:
    with pytest.raises(UsageError) as caught:
        snapshot_volumes(project(), ("dta",))
    assert str(caught.value) == "no such volume: dta (the project's volumes: cache, data, shared)"


def test_restore_takes_the_snapshots_volumes_the_project_declares() -> None:
    manifest = Manifest("demo", (entry("data"), entry("cache", ())))
    assert restore_volumes(project(), manifest, (), "snap.tar") == ("data", "cache")
    assert restore_volumes(project(), manifest, ("cache",), "snap.tar") == ("cache",)
    with pytest.raises(UsageError, match=r"snap.tar holds no volume shared \(it holds: cache, data\)"):
        restore_volumes(project(), manifest, ("shared",), "snap.tar")
    foreign = Manifest("other", (entry("logs", ()),))
    with pytest.raises(UsageError, match="project demo declares no volume logs"):
        restore_volumes(project(), foreign, (), "snap.tar")


def test_helper_images_prefer_the_services_that_mount_the_volume() -> None:
    assert helper_images(project(), "data") == ("devenv/busybox:latest", "example/web:1")
    assert helper_images(project(), "cache") == ("devenv/busybox:latest", "example/web:1")
    built = make_project({"app": svc(image=None, build={"context": "."}), "db": svc()}, volumes={"v": {}})
    assert helper_images(built, "v") == ("demo-app", "devenv/busybox:latest")


def _container(name: str, state: str, mounts: tuple[ObservedMount, ...]) -> ObservedContainer:
    return ObservedContainer(id=name, name=name, project="demo", service=name, number=1, oneoff=False, state=state, mounts=mounts)


def test_writers_are_the_running_containers_mounting_the_volume_read_write() -> None:
    rw = ObservedMount("volume", "demo_data", "/var/lib/x", "/data", True)
    ro = ObservedMount("volume", "demo_data", "/var/lib/x", "/data", False)
    other = ObservedMount("volume", "demo_cache", "/var/lib/y", "/cache", True)
    found = writers([
        _container("a", "running", (rw,)), _container("b", "running", (ro,)), _container("c", "exited", (rw,)),
        _container("d", "paused", (rw,)), _container("e", "running", (other,)),
    ], "demo_data")
    assert [c.name for c in found] == ["a", "d"]


# ------------------------------------------------------------ checks


def test_member_paths_stay_below_the_root() -> None:
    assert member_path(ROOT) == member_path(ROOT + "/") == ""
    assert member_path(f"{ROOT}/a/b") == "a/b"
    for bad in ("/etc/passwd", f"{ROOT}/../x", f"{ROOT}/a/../../x", "other/a", f"{ROOT}x/a", f"{ROOT}//a"):
        assert member_path(bad) is None, bad


def test_compare_names_the_file_that_differs() -> None:
    e = entry(files=(FileSum("a", SHA, 1), FileSum("b/c", SHA, 2)))
    compare(e, SHA, 1024, e.files, "s")
    with pytest.raises(SnapshotError, match="s: volume data: file b/c does not match its SHA-256"):
        compare(e, SHA, 1024, (FileSum("a", SHA, 1), FileSum("b/c", "b" * 64, 2)), "s")
    with pytest.raises(SnapshotError, match="file b/c of the manifest is missing"):
        compare(e, SHA, 1024, (FileSum("a", SHA, 1),), "s")
    with pytest.raises(SnapshotError, match="file z is not in the manifest"):
        compare(e, SHA, 1024, (*e.files, FileSum("z", SHA, 0)), "s")
    with pytest.raises(SnapshotError, match="volumes/data.tar does not match its SHA-256"):
        compare(e, "c" * 64, 1024, e.files, "s")


def test_scan_sums_the_tar_and_every_file_and_passes_every_byte_on() -> None:
    data = volume_tar({"a": b"hello", "d/b": b"x" * 100_000})
    seen = bytearray()
    chunks = [data[i:i + 7000] for i in range(0, len(data), 7000)]
    sha, size, files = scan(ChunkReader(chunks), seen.extend)
    assert bytes(seen) == data and size == len(data) and sha == hashlib.sha256(data).hexdigest()
    assert files == (
        FileSum("a", hashlib.sha256(b"hello").hexdigest(), 5),
        FileSum("d/b", hashlib.sha256(b"x" * 100_000).hexdigest(), 100_000),
    )


def test_scan_refuses_entries_outside_the_root_and_tars_that_are_not() -> None:
    escape = tarfile.TarInfo(f"{ROOT}/../../etc/cron")
    with pytest.raises(SnapshotError, match="outside the volume's root"):
        scan(io.BytesIO(volume_tar({}, extra=[escape])))
    link = tarfile.TarInfo(f"{ROOT}/l")
    link.type, link.linkname = tarfile.LNKTYPE, "/etc/shadow"
    with pytest.raises(SnapshotError, match="outside the volume's root"):
        scan(io.BytesIO(volume_tar({}, extra=[link])))
    with pytest.raises(SnapshotError, match="not a readable tar"):
        scan(io.BytesIO(b"\x01" * 2048))


# ------------------------------------------------------------ the file


def write_snapshot(path: Path, volumes: dict[str, bytes]) -> Manifest:
    sink = TarSink(str(path))
    entries = [sink.add_volume(name, f"demo_{name}", [data]) for name, data in volumes.items()]
    manifest = Manifest("demo", tuple(entries), created="2026-01-01T00:00:00Z")
    sink.finish(manifest)
    return manifest


def test_a_snapshot_file_is_private_complete_and_reads_back(tmp_path: Path) -> None:
    data = volume_tar({"a": b"hello"})
    target = tmp_path / "snap.tar"
    manifest = write_snapshot(target, {"data": data, "cache": volume_tar({})})
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["snap.tar"]  # no temporary file left
    with tarfile.open(target) as tar:
        assert tar.getnames() == ["volumes/data.tar", "volumes/cache.tar", "devenv-snapshot.json"]
        assert tar.extractfile("volumes/data.tar").read() == data  # type: ignore[union-attr]
    snap = SnapshotFile(str(target))
    try:
        assert snap.manifest == manifest
        snap.verify(["data", "cache"])
        reader, size = snap.open_volume(manifest.volumes[0])
        assert size == len(data) and reader.read() == data
    finally:
        snap.close()


def test_an_interrupted_snapshot_leaves_nothing(tmp_path: Path) -> None:
    sink = TarSink(str(tmp_path / "snap.tar"))

    def chunks():
        yield volume_tar({"a": b"x"})[:1024]
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sink.add_volume("data", "demo_data", chunks())
    sink.abort()
    assert os.listdir(tmp_path) == []


def _flip(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0xFF]))


def test_a_flipped_byte_in_a_volume_is_refused_naming_the_volume_and_file(tmp_path: Path) -> None:
    target = tmp_path / "snap.tar"
    write_snapshot(target, {"data": volume_tar({"a": b"hello world"})})
    offset = target.read_bytes().index(b"hello world")
    _flip(target, offset + 3)
    snap = SnapshotFile(str(target))
    try:
        with pytest.raises(SnapshotError, match=f"{target}: volume data: file a does not match its SHA-256"):
            snap.verify(["data"])
    finally:
        snap.close()


def test_an_edited_sum_in_the_manifest_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "snap.tar"
    manifest = write_snapshot(target, {"data": volume_tar({"a": b"hello"})})
    raw = target.read_bytes()
    wrong = raw.replace(manifest.volumes[0].sha256.encode(), b"0" * 64)
    target.write_bytes(wrong)
    snap = SnapshotFile(str(target))
    try:
        with pytest.raises(SnapshotError, match="volumes/data.tar does not match its SHA-256"):
            snap.verify(["data"])
    finally:
        snap.close()


def test_a_file_that_is_no_snapshot_is_one_line(tmp_path: Path) -> None:
    other = tmp_path / "x.tar"
    with tarfile.open(other, "w") as tar:
        tar.addfile(tarfile.TarInfo("hello"))
    with pytest.raises(SnapshotError, match="no devenv-snapshot.json in it"):
        SnapshotFile(str(other))
    (tmp_path / "junk").write_bytes(b"junk" * 300)
    with pytest.raises(SnapshotError, match="not a snapshot file"):
        SnapshotFile(str(tmp_path / "junk"))
    with pytest.raises(SnapshotError, match="cannot read snapshot"):
        SnapshotFile(str(tmp_path / "missing.tar"))


def test_scan_refuses_an_entry_through_a_symbolic_link_of_the_volume() -> None:
    link = tarfile.TarInfo(f"{ROOT}/etc")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc"
    through = tarfile.TarInfo(f"{ROOT}/etc/cron.d")
    with pytest.raises(SnapshotError, match="goes through a symbolic link"):
        scan(io.BytesIO(volume_tar({}, extra=[link, through])))
    plain = tarfile.TarInfo(f"{ROOT}/etc2")
    assert scan(io.BytesIO(volume_tar({}, extra=[link, plain])))[2] == (FileSum("etc2", hashlib.sha256(b"").hexdigest(), 0),)


def test_restore_leaves_external_volumes_alone_unless_named() -> None:
    manifest = Manifest("demo", (entry("data"), entry("shared", ())))
    assert restore_volumes(project(), manifest, (), "s") == ("data",)
    assert restore_volumes(project(), manifest, ("shared",), "s") == ("shared",)
    with pytest.raises(UsageError, match="holds no volume to restore but external ones"):
        restore_volumes(project(), Manifest("demo", (entry("shared", ()),)), (), "s")


def test_file_names_that_are_not_utf8_or_long_survive_the_manifest(tmp_path: Path) -> None:
    odd = b"caf\xe9-latin1".decode("utf-8", "surrogateescape")
    long = "d/" + "x" * 180
    target = tmp_path / "snap.tar"
    manifest = write_snapshot(target, {"data": volume_tar({odd: b"1", long: b"2"})})
    assert [f.path for f in manifest.volumes[0].files] == [odd, long]
    snap = SnapshotFile(str(target))
    try:
        assert snap.manifest == manifest
        snap.verify(["data"])
    finally:
        snap.close()
