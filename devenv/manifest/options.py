"""What the user told us about where the project is: the global CLI options and the environment."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping


@dataclasses.dataclass(frozen=True)
class ProjectOptions:
    files: tuple[str, ...] = ()  # -f, repeated; empty means COMPOSE_FILE or the default names
    project_name: str | None = None  # -p
    project_directory: str | None = None  # --project-directory
    profiles: tuple[str, ...] = ()  # --profile, repeated; empty means COMPOSE_PROFILES
    env_files: tuple[str, ...] = ()  # --env-file, repeated; empty means <project dir>/.env
    env: str | None = None  # --env NAME (or DEVENV_ENV): the environment whose overlay and settings apply
    # the environment's `laptop` overrides: True (`--local`), False (never: the declared model, as
    # `config` and `diff` read it), None (when the environment declares no engine of its own: `up`)
    local: bool | None = False
    environ: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(os.environ))
    cwd: str = dataclasses.field(default_factory=os.getcwd)
