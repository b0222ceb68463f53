"""The manifest layer: Compose files in, an immutable typed `Project` out. Pure: no Docker."""

from __future__ import annotations

from devenv.manifest.loader import load_project
from devenv.manifest.options import ProjectOptions

__all__ = ["load_project", "ProjectOptions"]
