"""The project lock's folder and file: private to the user, never through a symbolic link, any
project name fits, and a bad DEVENV_LOCK_DIR is one clear line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devenv.engine import lock
from devenv.engine.lock import Busy, LockError, lock_dir, lock_name, project_lock
from devenv.errors import UsageError

ENGINE = "unix:///var/run/docker.sock"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME and no XDG_RUNTIME_DIR / DEVENV_LOCK_DIR."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.delenv("DEVENV_LOCK_DIR", raising=False)
    return home


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_the_runtime_folder_is_used_when_it_is_ours(tmp_path: Path, home: Path, monkeypatch) -> None:
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    with project_lock(ENGINE, "demo", 0, print):
        files = list((runtime / "devenv").iterdir())
        assert len(files) == 1 and files[0].name.startswith("demo-") and files[0].name.endswith(".lock")
        assert mode(runtime / "devenv") == 0o700
        assert mode(files[0]) == 0o600
        assert files[0].read_text() == f"{os.getpid()}\n"


def test_a_runtime_folder_of_someone_else_is_passed_over_for_the_cache(tmp_path: Path, home: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "missing"))
    assert lock_dir() == str(home / ".cache" / "devenv" / "locks")
    assert mode(home / ".cache" / "devenv" / "locks") == 0o700


def test_without_a_home_the_temporary_folder_is_per_user(tmp_path: Path, home: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "no-such-home"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
    assert lock_dir() == str(tmp_path / f"devenv-{os.getuid()}")
    assert mode(tmp_path / f"devenv-{os.getuid()}") == 0o700


def test_a_lock_folder_that_is_a_symbolic_link_is_refused(tmp_path: Path, home: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (home / ".cache" / "devenv").mkdir(parents=True)
    (home / ".cache" / "devenv" / "locks").symlink_to(elsewhere)
    with pytest.raises(LockError, match="it is a symbolic link") as caught:
        with project_lock(ENGINE, "demo", 0, print):
            pass
    assert "\n" not in str(caught.value)
    assert list(elsewhere.iterdir()) == []


def test_a_lock_folder_owned_by_someone_else_is_refused(home: Path, monkeypatch) -> None:
    lock_dir()  # made by us...
    real_uid = os.getuid()
    monkeypatch.setattr(lock.os, "getuid", lambda: real_uid + 1)  # ...then seen as another user
    monkeypatch.setenv("HOME", str(home))
    with pytest.raises(LockError, match=rf"belongs to user id {real_uid}, not to you"):
        lock._private(str(home / ".cache" / "devenv" / "locks"))


def test_our_own_folder_open_to_others_is_made_private(home: Path) -> None:
    folder = home / ".cache" / "devenv" / "locks"
    folder.mkdir(parents=True)
    folder.chmod(0o777)
    assert lock_dir() == str(folder)
    assert mode(folder) == 0o700


def test_a_lock_file_that_is_a_symbolic_link_is_not_followed(tmp_path: Path, home: Path) -> None:
    target = tmp_path / "victim"
    target.write_text("precious\n")
    folder = Path(lock_dir())
    (folder / lock_name(ENGINE, "demo")).symlink_to(target)
    with pytest.raises(LockError, match="cannot open the project lock .*: it is a symbolic link"):
        with project_lock(ENGINE, "demo", 0, print):
            pass
    assert target.read_text() == "precious\n"


def test_a_300_character_project_name_fits(home: Path) -> None:
    name = "p" * 300
    assert len(lock_name(ENGINE, name)) < 100
    assert lock_name(ENGINE, name) != lock_name(ENGINE, name + "q")  # the hash is of the full name
    assert lock_name(ENGINE, "demo") != lock_name("tcp://other:2376", "demo")
    with project_lock(ENGINE, name, 0, print):
        pass


def test_a_second_holder_waits_then_is_told_the_project_is_busy(home: Path) -> None:
    said: list[str] = []
    with project_lock(ENGINE, "demo", 0, said.append):
        with pytest.raises(Busy, match="project demo is busy"):
            with project_lock(ENGINE, "demo", 0.3, said.append):
                pass
    assert said == ["another devenv command is changing project demo; waiting for it (up to 0s)"]
    with project_lock(ENGINE, "demo", 0, said.append):  # released
        pass


def test_devenv_lock_dir_is_used_and_created(tmp_path: Path, home: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEVENV_LOCK_DIR", str(tmp_path / "locks"))
    with project_lock(ENGINE, "demo", 0, print):
        assert len(list((tmp_path / "locks").iterdir())) == 1


def test_devenv_lock_dir_that_is_not_a_folder_is_one_clear_line(home: Path, monkeypatch) -> None:
    monkeypatch.setenv("DEVENV_LOCK_DIR", "/dev/null")
    with pytest.raises(UsageError) as caught:
        lock_dir()
    message = str(caught.value)
    assert "\n" not in message and message.startswith("DEVENV_LOCK_DIR=/dev/null ")
    assert caught.value.exit_code == 2
