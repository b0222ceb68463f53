"""Remembered acknowledgements of risky declarations: private files, damage ignored."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devenv import acknowledged


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return tmp_path / "state" / "devenv" / "acknowledged"


def test_remembered_per_project_and_folder(state: Path, tmp_path: Path) -> None:
    assert acknowledged.acknowledged("p", str(tmp_path)) == set()
    acknowledged.remember("p", str(tmp_path), ["a", "b"])
    acknowledged.remember("p", str(tmp_path), ["c"])
    assert acknowledged.acknowledged("p", str(tmp_path)) == {"a", "b", "c"}
    assert acknowledged.acknowledged("p", str(tmp_path / "other")) == set()
    assert acknowledged.acknowledged("q", str(tmp_path)) == set()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert [stat.S_IMODE(f.stat().st_mode) for f in state.iterdir()] == [0o600]


def test_a_long_project_name_is_hashed_into_the_file_name(state: Path, tmp_path: Path) -> None:
    acknowledged.remember("x" * 300, str(tmp_path), ["a"])
    assert acknowledged.acknowledged("x" * 300, str(tmp_path)) == {"a"}
    assert all(len(f.name) < 64 for f in state.iterdir())


@pytest.mark.parametrize("damage", [b"", b"\xff\xfe", b"[1, 2]", b'{"risks": [1, null, "ok"]}', b"{" * 100000])
def test_a_damaged_record_is_ignored_and_rewritten(state: Path, tmp_path: Path, damage: bytes) -> None:
    acknowledged.remember("p", str(tmp_path), ["a"])
    (record,) = state.iterdir()
    record.write_bytes(damage)
    assert acknowledged.acknowledged("p", str(tmp_path)) <= {"ok"}
    acknowledged.remember("p", str(tmp_path), ["b"])
    assert "b" in acknowledged.acknowledged("p", str(tmp_path))


def test_an_unwritable_state_folder_only_means_asking_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", os.devnull)
    acknowledged.remember("p", str(tmp_path), ["a"])
    assert acknowledged.acknowledged("p", str(tmp_path)) == set()
