"""`devenv config`: print the resolved model in Compose's canonical form."""

from __future__ import annotations

import json
from typing import Any

import click

from devenv.cli.command import Globals, format_option
from devenv.cli.common import echo


def default_image(project_name: str, service_name: str) -> str:
    """The image name Compose gives a service that only has a `build:` section."""
    return f"{project_name}-{service_name}"


def escape_dollars(value: Any) -> Any:
    """`$` written as `$$`, as Compose prints it, so the output loads back to the same model."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {escape_dollars(k): escape_dollars(v) for k, v in value.items()}
    if isinstance(value, list):
        return [escape_dollars(v) for v in value]
    return value


def _lists(function: Any) -> Any:
    for what in reversed(("services", "volumes", "networks", "profiles", "images")):
        function = click.option(f"--{what}", "what", flag_value=what, help=f"Print the {what[:-1]} names, one per line.")(function)
    return function


@click.command("config", help="Print the resolved Compose model (after interpolation, merging and normalization).")
@format_option(("yaml", "json"), "yaml")
@_lists
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
@click.pass_obj
def config(g: Globals, fmt: str, what: str | None, quiet: bool) -> int:
    from devenv.manifest import load_project

    project = load_project(g.options)
    if quiet:
        return 0
    if what == "services":
        lines = list(project.services)
    elif what in ("volumes", "networks"):
        lines = list(getattr(project, what))
    elif what == "profiles":
        every = list(project.services.values()) + list(project.disabled_services.values())
        lines = sorted({p for s in every for p in s.profiles})
    elif what == "images":
        lines = [s.image or default_image(project.name, s.name) for s in project.services.values()]
    elif fmt == "json":
        # In JSON a `$` can only stand inside a string, so escaping the text escapes every string.
        text = json.dumps(project.to_dict(service_extensions=False), indent=2, ensure_ascii=False)
        echo(text.replace("$", "$$"))
        return 0
    else:
        from devenv.manifest.yamlout import dump_yaml

        echo(dump_yaml(escape_dollars(project.to_dict())), nl=False)
        return 0
    for line in lines:
        echo(line)
    return 0

