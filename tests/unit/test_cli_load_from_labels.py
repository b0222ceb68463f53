"""`load()` without a Compose file: the engine's labels with a project name, for the commands that
act on what exists; the file's absence otherwise (no Docker: a fake engine answers the lists)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import pytest

from devenv.cli.common import FROM_LABELS_COMMANDS, load
from devenv.engine.labelled import NoSuchProject
from devenv.errors import ManifestError, UsageError
from devenv.manifest.discover import NoComposeFile
from devenv.manifest.options import ProjectOptions
from devenv.plan import naming
from devenv.plan.labelled import is_observed


class FakeAPI:
    def __init__(self, containers: list[dict[str, Any]]) -> None:
        self._containers = containers

    def containers(self, all: bool = False, filters: Any = None) -> list[dict[str, Any]]:
        wanted = filters["label"][0].split("=", 1)[1]
        return [c for c in self._containers if c["Labels"][naming.PROJECT_LABEL] == wanted]

    def networks(self, filters: Any = None) -> list[dict[str, Any]]:
        return []

    def volumes(self, filters: Any = None) -> list[dict[str, Any]]:
        return []


class FakeEngine:
    def __init__(self, containers: list[dict[str, Any]]) -> None:
        self.api = FakeAPI(containers)


ENGINE = FakeEngine([{
    "Id": "1", "Names": ["/p-web-1"], "Image": "devenv/busybox:latest", "State": "running",
    "Labels": {naming.PROJECT_LABEL: "p", naming.SERVICE_LABEL: "web", naming.CONTAINER_NUMBER_LABEL: "1"},
}])


def options(folder: Path, name: str | None = None, **environ: str) -> ProjectOptions:
    return ProjectOptions(project_name=name, cwd=str(folder), environ={"PATH": "/usr/bin", **environ})


def test_with_a_name_and_no_file_the_labels_make_the_project(tmp_path: Path) -> None:
    project = load(options(tmp_path, "p"), ("web",), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]
    assert is_observed(project) and list(project.services) == ["web"]
    from_env = load(options(tmp_path, COMPOSE_PROJECT_NAME="p"), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]
    assert list(from_env.services) == ["web"]
    with pytest.raises(UsageError, match="no such service: db"):
        load(options(tmp_path, "p"), ("db",), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]


def test_an_unknown_name_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NoSuchProject) as caught:
        load(options(tmp_path, "q"), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]
    assert str(caught.value) == "no such project q: no Compose file here and nothing on the engine carries its label"


def test_without_a_name_or_for_manifest_commands_the_missing_file_is_the_error(tmp_path: Path) -> None:
    with pytest.raises(NoComposeFile, match="no Compose file found"):
        load(options(tmp_path), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]
    with pytest.raises(NoComposeFile):
        load(options(tmp_path, "p"), from_labels=False, engine=ENGINE)  # type: ignore[arg-type]
    with pytest.raises(ManifestError, match="invalid project name"):
        load(options(tmp_path, "Bad Name"), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]


@pytest.mark.parametrize(("command", "from_labels"), [("ps", True), ("down", True), ("exec", True), ("up", False), ("config", False)])
def test_by_default_the_running_command_decides(tmp_path: Path, command: str, from_labels: bool) -> None:
    with click.Context(click.Command(command), info_name=command):
        if from_labels:
            assert list(load(options(tmp_path, "p"), engine=ENGINE).services) == ["web"]  # type: ignore[arg-type]
        else:
            with pytest.raises(NoComposeFile):
                load(options(tmp_path, "p"), engine=ENGINE)  # type: ignore[arg-type]


def test_a_file_wins_over_the_labels(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  db:\n    image: devenv/busybox:latest\n")
    project = load(options(tmp_path, "p"), from_labels=True, engine=ENGINE)  # type: ignore[arg-type]
    assert not is_observed(project) and list(project.services) == ["db"]


def test_the_acting_commands_are_composes() -> None:
    assert FROM_LABELS_COMMANDS >= {"ps", "logs", "down", "stop", "start", "restart", "kill", "rm", "exec", "top", "port",
                                    "cp", "images", "pause", "unpause", "events", "wait", "attach", "stats"}
    assert not FROM_LABELS_COMMANDS & {"up", "run", "build", "create", "config", "pull"}
