"""Discover pass: which files, which project directory, which environment, which profiles.

Follows Compose v2: `-f` files, else `COMPOSE_FILE`, else the default names searched upward from the
working directory (with their override file); `.env` from the project directory (or `--env-file`),
the process environment winning over it; `COMPOSE_PROFILES` and `COMPOSE_PROJECT_NAME` may come
from either.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

from devenv.errors import EXIT_FAILED, ManifestError
from devenv.manifest.dotenv import DotenvError, parse_dotenv
from devenv.manifest.options import ProjectOptions
from devenv.manifest.reading import read_text

DEFAULT_FILES = ("devenv.yaml", "devenv.yml", "compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = (
    "devenv.override.yaml",
    "devenv.override.yml",
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
)


class NoComposeFile(ManifestError):
    """No file given and none of the default names found: commands that act on what exists may
    still work from the engine's labels when a project name is given (`environ` says whether)."""

    def __init__(self, message: str, environ: dict[str, str]) -> None:
        super().__init__(message)
        self.environ = environ


class ComposeFileEnvError(ManifestError):
    """COMPOSE_FILE names something that is not a file (`COMPOSE_FILE=::`): exit 1, as Compose."""

    exit_code = EXIT_FAILED


class Discovered(NamedTuple):
    files: tuple[str, ...]  # absolute paths, or "-" for standard input
    project_dir: str
    environ: dict[str, str]  # process environment merged with the env files (process wins)
    profiles: tuple[str, ...]
    env_files: tuple[str, ...]
    overlay: str | None = None  # the --env overlay file (also the last of `files`), when there is one


def _find_default(start: str, warn: Callable[[str], None]) -> list[str]:
    here = start
    while True:
        found = [os.path.join(here, n) for n in DEFAULT_FILES if os.path.isfile(os.path.join(here, n))]
        if found:
            if len(found) > 1:
                warn(f"Found multiple config files with supported names: {', '.join(found)}; using {found[0]}")
            files = [found[0]]
            overrides = [os.path.join(here, n) for n in OVERRIDE_FILES if os.path.isfile(os.path.join(here, n))]
            if overrides:
                if len(overrides) > 1:
                    warn(f"Found multiple override files with supported names: {', '.join(overrides)}; using {overrides[0]}")
                files.append(overrides[0])
            return files
        parent = os.path.dirname(here)
        if parent == here:
            return []
        here = parent


def read_env_file(path: str, lookup: Callable[[str], str | None] | None = None) -> dict[str, str]:
    text = read_text(path, "env file", utf16=False)
    try:
        return parse_dotenv(text, lookup)
    except DotenvError as exc:
        raise ManifestError(exc.message, path, exc.line) from None


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "t", "yes", "y", "on")


def discover(options: ProjectOptions, warn: Callable[[str], None]) -> Discovered:
    cwd = options.cwd
    environ = dict(options.environ)

    def absolute(p: str) -> str:
        return p if p == "-" else os.path.normpath(os.path.join(cwd, os.path.expanduser(p)))

    given = [absolute(f) for f in options.files]
    if options.project_directory:
        work_dir = absolute(options.project_directory)
    elif given and given[0] != "-":
        work_dir = os.path.dirname(given[0])
    else:
        work_dir = cwd

    # env files: --env-file, else <working dir>/.env
    if options.env_files:
        env_files = tuple(absolute(f) for f in options.env_files)
    elif not _truthy(environ.get("COMPOSE_DISABLE_ENV_FILE")) and os.path.isfile(os.path.join(work_dir, ".env")):
        env_files = (os.path.join(work_dir, ".env"),)
    else:
        env_files = ()
    from_files: dict[str, str] = {}
    for path in env_files:
        values = read_env_file(path, lambda k: environ.get(k) if k in environ else from_files.get(k))
        from_files.update(values)
    for key, value in from_files.items():
        environ.setdefault(key, value)

    files = given
    from_env = False
    if not files and environ.get("COMPOSE_FILE"):
        # as Compose: every entry counts, an empty one (`COMPOSE_FILE=::`) names the working directory
        sep = environ.get("COMPOSE_PATH_SEPARATOR") or os.pathsep
        files = [absolute(f) if f else cwd for f in environ["COMPOSE_FILE"].split(sep)]
        from_env = True
    if not files:
        files = _find_default(work_dir, warn)
        if not files:
            raise NoComposeFile(
                f"no Compose file found in {work_dir} or its parents "
                f"(looked for {', '.join(DEFAULT_FILES)}); use -f FILE",
                environ,
            )
    error = ComposeFileEnvError if from_env else ManifestError
    for f in files:
        if f != "-" and not os.path.exists(f):
            raise error(f"file not found: {f}" + (" (from COMPOSE_FILE)" if from_env else ""))
        if f != "-" and os.path.isdir(f):
            raise error(f"{f} is a directory, not a Compose file" + (" (from COMPOSE_FILE)" if from_env else ""))

    if options.project_directory:
        project_dir = work_dir
    elif files[0] != "-":
        project_dir = os.path.dirname(files[0])
    else:
        project_dir = cwd

    # Compose reads .env a second time once the files are known: the project directory's .env
    # (found by searching upward, or via COMPOSE_FILE) fills in what is still unset.
    late_env = os.path.join(project_dir, ".env")
    if (
        not options.env_files
        and not _truthy(environ.get("COMPOSE_DISABLE_ENV_FILE"))
        and late_env not in env_files
        and os.path.isfile(late_env)
    ):
        for key, value in read_env_file(late_env, environ.get).items():
            environ.setdefault(key, value)
        env_files = env_files + (late_env,)

    overlay = _overlay(options.env, files[0], project_dir, warn) if options.env else None
    if overlay and overlay not in files:
        files = [*files, overlay]

    if options.profiles:
        profiles = tuple(options.profiles)
    else:
        profiles = tuple(p.strip() for p in environ.get("COMPOSE_PROFILES", "").split(",") if p.strip())
    return Discovered(tuple(files), project_dir, environ, profiles, env_files, overlay)


def _overlay(name: str, main: str, project_dir: str, warn: Callable[[str], None]) -> str | None:
    """The overlay `devenv.NAME.yaml` (or .yml, or compose.NAME.*) beside the main file: merged
    after every other file. Several: the first, with a warning, as for the default names."""
    from devenv.manifest.environments import check_name, overlay_candidates

    check_name(name)
    found = overlay_candidates(os.path.dirname(main) if main != "-" else project_dir, name)
    if len(found) > 1:
        warn(f"Found multiple files for environment {name!r}: {', '.join(found)}; using {found[0]}")
    return found[0] if found else None
