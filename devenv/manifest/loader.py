"""Runs the loading passes in order: discover, parse, interpolate, merge, resolve, normalize, validate."""

from __future__ import annotations

from typing import Callable

from devenv.manifest.options import ProjectOptions
from devenv.model import Project


def load_project(options: ProjectOptions, warn: Callable[[str], None] | None = None) -> Project:
    raise NotImplementedError("being written")
