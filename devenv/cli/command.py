"""What every command is made of (see CLI-CONTRACT.md): a click command taking the `Globals` of the
root group first, plus the shared SERVICE argument and `--format` option, with shell completion of
the manifest's names. Completion loads the manifest only (never the engine) and keeps quiet when
the files cannot be read."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import click

from devenv.manifest.options import ProjectOptions

F = TypeVar("F", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class Globals:
    """The global options, given before the command (Compose's grammar)."""

    options: ProjectOptions  # -f, -p, --project-directory, --profile, --env-file
    dry_run: bool = False  # global --dry-run
    ansi: str = "auto"  # never|always|auto
    progress: str = "auto"  # auto|tty|plain|json|quiet
    parallel: int = -1  # --parallel N (-1: unlimited)


def project_options(params: dict[str, Any]) -> ProjectOptions:
    """The root group's parsed parameters as ProjectOptions (`--env`, else DEVENV_ENV)."""
    from devenv.manifest.environments import ENV_VARIABLE, check_name

    env = params.get("env")
    source = "--env"
    if env is None and os.environ.get(ENV_VARIABLE):
        env, source = os.environ[ENV_VARIABLE], ENV_VARIABLE
    return ProjectOptions(
        files=tuple(params.get("files") or ()),
        project_name=params.get("project_name"),
        project_directory=params.get("project_directory"),
        profiles=tuple(params.get("profiles") or ()),
        env_files=tuple(params.get("env_files") or ()),
        env=check_name(env, source) if env is not None else None,
    )


def _completion_project(ctx: click.Context, env: bool = True) -> Any:
    """The project named by the global options typed so far (`env`: with the --env typed), or
    None when it cannot be loaded."""
    from devenv.manifest import load_project

    try:
        options = project_options(ctx.find_root().params)
        if not env:
            options = dataclasses.replace(options, env=None)
        return load_project(options, warn=lambda *a, **k: None, validate=False)
    except BaseException:  # anything at all: completion offers nothing rather than an error
        return None


def complete_environments(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    """--env: the environments declared in x-devenv and those with an overlay file."""
    from devenv.manifest.environments import known_names

    project = _completion_project(ctx, env=False)
    return [] if project is None else _matching(known_names(project), incomplete)


def _matching(names: Iterable[str], incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    return [CompletionItem(n) for n in sorted(set(names)) if n.startswith(incomplete)]


def complete_services(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    project = _completion_project(ctx)
    if project is None:
        return []
    names = list(project.services) + list(project.disabled_services)
    already = set(ctx.params.get(param.name or "") or ()) if param.multiple or (param.nargs == -1) else set()
    return _matching((n for n in names if n not in already), incomplete)


def complete_profiles(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    project = _completion_project(ctx)
    if project is None:
        return []
    every = list(project.services.values()) + list(project.disabled_services.values())
    return _matching((p for s in every for p in s.profiles), incomplete)


def services_argument(function: F) -> F:
    """SERVICE... (any number; none means all), completed with the manifest's service names."""
    return click.argument("services", nargs=-1, metavar="[SERVICE]...", shell_complete=complete_services)(function)


def service_argument(function: F) -> F:
    """One SERVICE, completed with the manifest's service names."""
    return click.argument("service", metavar="SERVICE", shell_complete=complete_services)(function)


def format_option(choices: tuple[str, ...] = ("table", "json"), default: str = "table") -> Callable[[F], F]:
    """The shared `--format` option (parameter `fmt`)."""
    return click.option(
        "--format", "fmt", type=click.Choice(choices), default=default, show_default=True,
        help="Output format; json is for scripts.",
    )


def timeout_option(function: F) -> F:
    return click.option("-t", "--timeout", type=int, metavar="SECONDS",
                        help="Seconds to wait for a container to stop before killing it.")(function)


def strip_separator(command: tuple[str, ...]) -> list[str]:
    """A container's command as given after SERVICE: a first `--` only separates (`run web -- ls`)."""
    words = list(command)
    return words[1:] if words[:1] == ["--"] else words


def env_pairs(items: Iterable[str], option: str = "-e", lookup: Any = None) -> list[str]:
    """KEY=VALUE items; a bare KEY takes its value from `lookup` (default: our environment), as
    Compose does, or is left out when it has none."""
    from devenv.errors import UsageError

    lookup = os.environ if lookup is None else lookup
    out = []
    for item in items:
        key, sep, _ = item.partition("=")
        if not key:
            raise UsageError(f"invalid {option} {item!r}: use KEY=VALUE")
        if sep:
            out.append(item)
        elif key in lookup:
            out.append(f"{key}={lookup[key]}")
    return out


def progress(g: Globals, fmt: str = "table", *, quiet: bool = False, hidden: Iterable[Any] = ()) -> Any:
    """The progress listener the global --progress asks for (silent under --format json), and the
    pulls' progress bars (none with --quiet-pull: PULL_IMAGE `hidden`)."""
    from devenv.cli.output import Progress
    from devenv.cli.progressbar import install

    hidden = frozenset(hidden)
    silent = quiet or fmt == "json" or any(getattr(op, "value", op) == "pull_image" for op in hidden)
    install("quiet" if silent else g.progress)
    return Progress(quiet=quiet or fmt == "json", mode=g.progress, hidden=hidden)


def engine_settings(g: Globals) -> None:
    """Apply the global options that tune the engine work (--parallel) before a plan runs."""
    if g.parallel and g.parallel > 0:
        from devenv.engine import executor

        executor.MAX_WORKERS = g.parallel
