"""`devenv config`: print the resolved model in Compose's canonical form."""

from __future__ import annotations

import json
from typing import Any

import click

from devenv.manifest.options import ProjectOptions


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


@click.command("config", help="Print the resolved Compose model (after interpolation, merging and normalization).")
@click.option("--format", "fmt", type=click.Choice(["yaml", "json"]), default="yaml", show_default=True)
@click.option("--services", "what", flag_value="services", help="Print the service names, one per line.")
@click.option("--volumes", "what", flag_value="volumes", help="Print the volume names, one per line.")
@click.option("--networks", "what", flag_value="networks", help="Print the network names, one per line.")
@click.option("--profiles", "what", flag_value="profiles", help="Print the profile names, one per line.")
@click.option("--images", "what", flag_value="images", help="Print the image names, one per line.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
@click.pass_obj
def config(options: ProjectOptions, fmt: str, what: str | None, quiet: bool) -> None:
    from devenv.manifest import load_project

    project = load_project(options)
    if quiet:
        return
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
        click.echo(text.replace("$", "$$"))
        return
    else:
        from devenv.manifest.yamlout import dump_yaml

        click.echo(dump_yaml(escape_dollars(project.to_dict())), nl=False)
        return
    for line in lines:
        click.echo(line)
