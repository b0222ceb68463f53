"""Reading a shipped source on this machine: the manifest after `.devenvignore`, digests reused
for files whose size and mtime did not change, the limits, and the tar sent."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import tarfile
from pathlib import Path

import pytest

from devenv.engine.status import PortMapping
from devenv.plan.shipping import ShipError, diff
from devenv.shipfiles import scan, write_tar


def tree(root: Path) -> Path:
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("hello")
    (root / "sub" / "b.txt").write_text("deep")
    (root / "debug.log").write_text("noise")
    (root / "node_modules" / "x").mkdir(parents=True)
    (root / "node_modules" / "x" / "i.js").write_text("js")
    (root / "link").symlink_to("a.txt")
    (root / ".devenvignore").write_text("*.log\nnode_modules\n")
    return root


def test_a_folder_is_scanned_after_its_devenvignore_links_kept_as_links(tmp_path: Path) -> None:
    manifest = scan(str(tree(tmp_path / "src")), "./src")
    assert sorted(manifest) == [".", ".devenvignore", "a.txt", "link", "sub", "sub/b.txt"]  # `.`: the folder itself
    assert manifest["a.txt"].sha256 == hashlib.sha256(b"hello").hexdigest() and manifest["a.txt"].size == 5
    assert manifest["link"].kind == "link" and manifest["link"].sha256 == hashlib.sha256(b"a.txt").hexdigest()
    assert manifest["sub"].kind == "dir"


def test_an_unchanged_file_keeps_its_digest_unread_a_changed_one_is_read_again(tmp_path: Path) -> None:
    root = tree(tmp_path / "src")
    first = scan(str(root), "./src")
    remembered = dict(first, **{"a.txt": dataclasses.replace(first["a.txt"], sha256="from-the-manifest")})
    assert scan(str(root), "./src", remembered)["a.txt"].sha256 == "from-the-manifest"  # size and mtime alike: not read
    (root / "a.txt").write_text("hello, world")
    again = scan(str(root), "./src", remembered)
    assert again["a.txt"].sha256 == hashlib.sha256(b"hello, world").hexdigest()
    assert diff(first, again).send == ("a.txt",)


def test_a_file_is_its_own_manifest_and_a_missing_path_an_empty_one(tmp_path: Path) -> None:
    conf = tmp_path / "app.conf"
    conf.write_text("x=1")
    conf.chmod(0o640)
    manifest = scan(str(conf), "./app.conf")
    assert list(manifest) == ["app.conf"] and manifest["app.conf"].mode == 0o640
    assert scan(str(tmp_path / "nothing"), "./nothing") == {}


def test_the_limits_stop_before_anything_is_read(tmp_path: Path) -> None:
    root = tree(tmp_path / "src")
    (root / "a.txt").chmod(0)  # unreadable (as root too the limit comes first)
    with pytest.raises(ShipError, match=r"cannot ship \./src to the engine: .* in 4 files is over the limit"):
        scan(str(root), "./src", max_files=3)
    with pytest.raises(ShipError, match="over the limit"):
        scan(str(root), "./src", max_bytes=10)


def test_the_tar_holds_the_entries_asked_for_with_their_modes(tmp_path: Path) -> None:
    root = tree(tmp_path / "src")
    (root / "sub" / "b.txt").chmod(0o600)
    manifest = scan(str(root), "./src")
    out = io.BytesIO()
    root.chmod(0o750)
    manifest = scan(str(root), "./src")
    write_tar(out, str(root), [".", "sub", "sub/b.txt", "link"], manifest, prefix="devenv-ship/vol")
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        members = {m.name.removeprefix("devenv-ship/vol/"): m for m in tar.getmembers()}
        assert sorted(members) == ["devenv-ship/vol", "link", "sub", "sub/b.txt"]
        assert members["devenv-ship/vol"].isdir() and members["devenv-ship/vol"].mode == 0o750
        assert members["sub/b.txt"].mode == 0o600 and tar.extractfile(members["sub/b.txt"]).read() == b"deep"  # type: ignore[union-attr]
        assert members["link"].issym() and members["link"].linkname == "a.txt"
        assert members["sub/b.txt"].uid == os.getuid()


def test_a_file_source_reached_through_a_link_is_sent_as_the_file(tmp_path: Path) -> None:
    (tmp_path / "real.conf").write_text("x=2")
    (tmp_path / "app.conf").symlink_to("real.conf")
    manifest = scan(str(tmp_path / "app.conf"), "./app.conf")
    out = io.BytesIO()
    write_tar(out, str(tmp_path / "app.conf"), ["app.conf"], manifest)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        assert tar.extractfile("app.conf").read() == b"x=2"  # type: ignore[union-attr]


def test_published_port_urls_name_a_remote_engines_host() -> None:
    port = PortMapping("0.0.0.0", 8080, 80, "tcp")
    assert port.url == "http://localhost:8080"
    assert dataclasses.replace(port, engine_host="build.example").url == "http://build.example:8080"
    assert dataclasses.replace(port, host_ip="10.0.0.5", engine_host="build.example").url == "http://10.0.0.5:8080"
    assert "engine_host" not in dataclasses.replace(port, engine_host="build.example").to_dict()
