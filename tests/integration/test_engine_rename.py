"""A container renamed behind devenv's back (`docker rename`): later commands find it by its labels
and act on it by ID. As Compose v2 does: `up` leaves an up-to-date one alone under its new name,
replaces a changed one under the expected name, and `down` removes it."""

from __future__ import annotations

from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import BUSYBOX, FOREVER, assert_nothing_exists, devenv, ids, names, ok, states, up, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


def manifest(word: str) -> str:
    return f"""
services:
  db:
    image: {BUSYBOX}
    command: {FOREVER}
    environment: {{WORD: {word}}}
  web:
    image: {BUSYBOX}
    command: {FOREVER}
    depends_on: [db]
"""


def test_up_after_a_rename_converges_and_down_removes_it(engine: docker.DockerClient, project_name: str, tmp_path: Path) -> None:
    write_compose(tmp_path, manifest("one"))
    ok(up(tmp_path, project_name))
    before = ids(engine, project_name)
    engine.api.rename(f"{project_name}-db-1", f"{project_name}-renamed")
    ok(up(tmp_path, project_name, "--wait"))  # waits on the renamed container, by ID
    assert ids(engine, project_name) == {**{k: v for k, v in before.items() if k != f"{project_name}-db-1"},
                                         f"{project_name}-renamed": before[f"{project_name}-db-1"]}
    engine.api.stop(f"{project_name}-renamed", timeout=0)
    ok(devenv(tmp_path, project_name, "restart"))
    ok(devenv(tmp_path, project_name, "stop"))
    ok(up(tmp_path, project_name))
    assert set(states(engine, project_name).values()) == {"running"}
    ok(devenv(tmp_path, project_name, "down"))
    assert_nothing_exists(engine, project_name)


def test_up_recreates_a_renamed_container_whose_config_changed(engine: docker.DockerClient, project_name: str, tmp_path: Path) -> None:
    write_compose(tmp_path, manifest("one"))
    ok(up(tmp_path, project_name))
    engine.api.rename(f"{project_name}-db-1", f"{project_name}-renamed")
    write_compose(tmp_path, manifest("two"))
    ok(up(tmp_path, project_name, "--wait"))
    assert sorted(names(engine, project_name)) == [f"{project_name}-db-1", f"{project_name}-web-1"]
    assert set(states(engine, project_name).values()) == {"running"}
    ok(devenv(tmp_path, project_name, "down"))
    assert_nothing_exists(engine, project_name)
