"""Fixtures for the manifest specifications: a scratch project directory that writes Compose files
and loads them with `load_project`, without Docker and without the caller's environment."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Mapping

import pytest

from devenv.errors import ManifestError
from devenv.manifest.loader import load_project
from devenv.manifest.options import ProjectOptions
from devenv.model import Project, thaw

_DEFAULT = object()


class Workspace:
    """A project directory under `tmp_path`. `load()` reads it as `devenv` would, with an
    environment that holds only what the test gives (plus HOME), and records the warnings."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.warnings: list[str] = []

    def write(self, name: str, text: str = "") -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def options(
        self,
        *files: str,
        environ: Mapping[str, str] | None = None,
        project_name: Any = _DEFAULT,
        profiles: tuple[str, ...] = (),
        env_files: tuple[str, ...] = (),
        cwd: str | Path | None = None,
        project_directory: str | None = None,
    ) -> ProjectOptions:
        env = {"HOME": str(self.root / "home")}
        env.update(environ or {})
        return ProjectOptions(
            files=tuple(files),
            project_name="proj" if project_name is _DEFAULT else project_name,
            project_directory=project_directory,
            profiles=tuple(profiles),
            env_files=tuple(env_files),
            environ=env,
            cwd=str(cwd if cwd is not None else self.root),
        )

    def load(self, *files: str, **kwargs: Any) -> Project:
        self.warnings.clear()
        return load_project(self.options(*files, **kwargs), warn=self.warnings.append)

    def error(self, *files: str, **kwargs: Any) -> ManifestError:
        """The ManifestError that loading raises (fails the test if it loads)."""
        self.warnings.clear()
        with pytest.raises(ManifestError) as info:
            load_project(self.options(*files, **kwargs), warn=self.warnings.append)
        return info.value

    def service(self, text: str, name: str | None = None, **kwargs: Any) -> dict:
        """Write `text` as compose.yaml, load it and return one service's canonical config."""
        self.write("compose.yaml", text)
        project = self.load(**kwargs)
        if name is None:
            (name,) = project.services
        return thaw(project.services[name].config)


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)
