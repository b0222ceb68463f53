"""The build inputs hash (pure filesystem reads): what changes it and what does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devenv.buildinputs import build_inputs
from devenv.errors import ManifestError


@pytest.fixture()
def context(tmp_path: Path) -> Path:
    ctx = tmp_path / "ctx"
    (ctx / "src").mkdir(parents=True)
    (ctx / "Dockerfile").write_text("FROM devenv/busybox\nCOPY . /app\n")
    (ctx / "src" / "main.py").write_text("print(1)\n")
    (ctx / "run.sh").write_text("#!/bin/sh\n")
    (ctx / ".dockerignore").write_text("ignored/\n*.log\n")
    (ctx / "ignored").mkdir()
    (ctx / "ignored" / "big.bin").write_bytes(b"x" * 10)
    (ctx / "debug.log").write_text("noise\n")
    return ctx


def cfg(ctx: Path, **extra: object) -> dict:
    return {"context": str(ctx), "dockerfile": "Dockerfile", **extra}


def test_stable_and_prefixed(context: Path) -> None:
    first = build_inputs(cfg(context))
    assert first.startswith("sha256:") and len(first) == 71
    assert build_inputs(cfg(context)) == first


def test_same_content_elsewhere_same_hash(context: Path, tmp_path: Path) -> None:
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(context, copy, symlinks=True)
    assert build_inputs(cfg(copy)) == build_inputs(cfg(context))


def test_file_order_independent(tmp_path: Path) -> None:
    # the same files created in opposite orders (directory listing order may follow creation)
    one, two = tmp_path / "one", tmp_path / "two"
    for folder, names in ((one, "abcdef"), (two, "fedcba")):
        folder.mkdir()
        (folder / "Dockerfile").write_text("FROM x\n")
        for name in names:
            (folder / name).write_text(name)
    assert build_inputs(cfg(one)) == build_inputs(cfg(two))


@pytest.mark.parametrize("change", ["content", "new_file", "exec_bit", "symlink", "dockerfile", "rename"])
def test_changes_detected(context: Path, change: str) -> None:
    before = build_inputs(cfg(context))
    if change == "content":
        (context / "src" / "main.py").write_text("print(2)\n")
    elif change == "new_file":
        (context / "src" / "other.py").write_text("")
    elif change == "exec_bit":
        os.chmod(context / "run.sh", 0o755)
    elif change == "symlink":
        (context / "link").symlink_to("src/main.py")
        before = build_inputs(cfg(context))
        (context / "link").unlink()
        (context / "link").symlink_to("run.sh")
    elif change == "dockerfile":
        (context / "Dockerfile").write_text("FROM devenv/busybox\nCOPY . /srv\n")
    elif change == "rename":
        (context / "src" / "main.py").rename(context / "src" / "app.py")
    assert build_inputs(cfg(context)) != before


def test_dockerignored_paths_do_not_count(context: Path) -> None:
    before = build_inputs(cfg(context))
    (context / "ignored" / "big.bin").write_bytes(b"y" * 20)
    (context / "debug.log").write_text("other noise\n")
    (context / "new.log").write_text("")
    assert build_inputs(cfg(context)) == before


def test_args_target_and_inline(context: Path) -> None:
    base = build_inputs(cfg(context))
    assert build_inputs(cfg(context, args={"A": "1"})) != base
    assert build_inputs(cfg(context, args={"A": "1", "B": "2"})) == build_inputs(cfg(context, args={"B": "2", "A": "1"}))
    assert build_inputs(cfg(context, target="prod")) != base
    inline = {"context": str(context), "dockerfile_inline": "FROM devenv/busybox\n"}
    assert build_inputs(inline) != base
    assert build_inputs(inline) != build_inputs({**inline, "dockerfile_inline": "FROM devenv/busybox:1\n"})


def test_additional_contexts(context: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "f").write_text("1")
    with_dir = build_inputs(cfg(context, additional_contexts={"more": str(extra)}))
    assert with_dir != build_inputs(cfg(context))
    (extra / "f").write_text("2")
    assert build_inputs(cfg(context, additional_contexts={"more": str(extra)})) != with_dir
    image = cfg(context, additional_contexts={"base": "docker-image://alpine:3"})
    assert build_inputs(image) == build_inputs(image)
    assert build_inputs(image) != build_inputs(cfg(context, additional_contexts={"base": "docker-image://alpine:4"}))


def test_missing_context_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(ManifestError):
        build_inputs({"context": str(tmp_path / "nowhere"), "dockerfile_inline": "FROM x\n"})


def test_remote_context_as_string() -> None:
    remote = {"context": "https://github.com/example/repo.git#main", "dockerfile": "Dockerfile"}
    assert build_inputs(remote) == build_inputs(dict(remote))
    assert build_inputs(remote) != build_inputs({**remote, "context": "https://github.com/example/repo.git#dev"})
