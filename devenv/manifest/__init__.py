"""The manifest layer: Compose files in, an immutable typed `Project` out. Pure: no Docker.

`load_project` is imported on first use, so commands that never read a manifest (`--help`) stay fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from devenv.manifest.options import ProjectOptions

if TYPE_CHECKING:
    from devenv.model import Project

__all__ = ["load_project", "ProjectOptions"]


def load_project(options: ProjectOptions, warn: Any = None, **kwargs: Any) -> Project:
    from devenv.manifest.loader import load_project as load

    return load(options, warn, **kwargs)
