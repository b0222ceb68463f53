"""`devenv doctor`'s host probes (engine/doctor.py) that need no engine: the folders develop.watch
would watch (a pruned walk, as `devenv watch` places its inotify watches), the inotify limits as
watch names them, and the environment's registry and context."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devenv.engine import doctor, filewatch
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan import doctor as verdicts


def load(tmp_path: Path, text: str, env: str | None = None) -> Any:
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    return load_project(ProjectOptions(cwd=str(tmp_path), environ={}, env=env))


WATCHED = """\
services:
  web:
    image: x
    develop:
      watch:
        - {action: sync, path: ./src, target: /app, ignore: [build/]}
        - {action: restart, path: ./conf/app.ini}
"""


def tree(root: Path) -> None:
    for folder in ("src/a/b", "src/c", "src/node_modules/pkg", "src/build/out", "src/.git/objects", "conf", "other/x"):
        (root / folder).mkdir(parents=True, exist_ok=True)
    (root / "conf" / "app.ini").write_text("x", encoding="utf-8")


def test_watched_folders_prune_as_watch_does(tmp_path: Path) -> None:
    tree(tmp_path)
    project = load(tmp_path, WATCHED)
    # src, src/a, src/a/b, src/c, src/node_modules, src/node_modules/pkg (not ignored here);
    # not src/build (ignored) nor src/.git; conf (the single file's folder); the project folder
    # (compose.yaml, watched by name)
    expected = {"src", "src/a", "src/a/b", "src/c", "src/node_modules", "src/node_modules/pkg", "conf", "."}
    assert doctor.watched_folders(project) == len(expected)


def test_no_watch_rules(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  web:\n    image: x\n")
    assert doctor.watched_folders(project) is None
    assert "no develop.watch rules" in verdicts.inotify_check(doctor.inotify_facts(project)).detail


def test_a_rule_path_not_there_yet_counts_its_nearest_folder(tmp_path: Path) -> None:
    project = load(tmp_path, "services:\n  web:\n    image: x\n    develop:\n      watch:\n"
                             "        - {action: sync, path: ./later/deep, target: /app}\n")
    assert doctor.watched_folders(project) == 1  # the project folder, which holds compose.yaml too


def test_inotify_names_the_limiting_sysctl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree(tmp_path)
    project = load(tmp_path, WATCHED)
    limits = {"max_user_watches": ("user.max_inotify_watches", 3), "max_user_instances": ("fs.inotify.max_user_instances", 128)}
    monkeypatch.setattr(filewatch, "_limit", lambda fs_name, _user: limits[fs_name])
    facts = doctor.inotify_facts(project)
    assert facts.watches == ("user.max_inotify_watches", 3) and facts.folders and facts.folders > 3
    check = verdicts.inotify_check(facts)
    assert check.status == verdicts.WARN and check.remedy == "sudo sysctl user.max_inotify_watches=524288"


def test_inotify_without_a_compose_file() -> None:
    facts = doctor.inotify_facts(None)
    assert facts.folders is None and verdicts.NO_COMPOSE_FILE in verdicts.inotify_check(facts).detail


ENVIRONMENTS = """\
services:
  web:
    image: x
x-devenv:
  environments:
    prod: {context: nowhere, registry: "127.0.0.1:%d/team"}
    dev: {}
"""


def test_environment_context_missing_and_registry_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = ProjectOptions(cwd=str(tmp_path), environ={}, env="prod")
    (tmp_path / "compose.yaml").write_text(ENVIRONMENTS % port, encoding="utf-8")
    context, registry = doctor._environment(options, load_project(options))
    assert context.status == verdicts.FAIL and "nowhere" in context.detail
    assert registry.status == verdicts.WARN and f"127.0.0.1:{port}" in registry.detail and "cannot connect" in registry.detail
    dev = ProjectOptions(cwd=str(tmp_path), environ={}, env="dev")
    context, registry = doctor._environment(dev, load_project(dev))
    assert context.status == registry.status == verdicts.OK and "local engine" in context.detail
