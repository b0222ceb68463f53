"""`devenv config`: print the resolved model in Compose's canonical form."""

from __future__ import annotations

import json
from typing import Any

import click

from devenv.cli.command import Globals
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
@click.option("--format", "fmt", type=click.Choice(("yaml", "json")), help="Output format (default: yaml; a table for --variables).")
@_lists
@click.option("--environments", "what", flag_value="environments",
              help="Print the environment names (x-devenv.environments and overlay files), one per line.")
@click.option("--local", is_flag=True, help="With --env: print the model the environment runs locally (laptop overrides merged).")
@click.option("--hash", "hash_of", metavar="SERVICES|*", help="Print `name hash` of these services (comma-separated, * for all).")
@click.option("--variables", is_flag=True, help="Print the variables the files use, with their defaults.")
@click.option("--environment", is_flag=True, help="Print the environment used for interpolation.")
@click.option("--no-interpolate", is_flag=True, help="Print the merged files without interpolating variables.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the model to FILE instead of stdout.")
@click.option("-q", "--quiet", is_flag=True, help="Only validate; print nothing.")
@click.pass_obj
def config(g: Globals, fmt: str, what: str | None, local: bool, hash_of: str | None, variables: bool,
           environment: bool, no_interpolate: bool, output: str | None, quiet: bool) -> int:
    import dataclasses

    if local and not g.options.env:
        from devenv.errors import UsageError

        raise UsageError("--local needs an environment: devenv --env NAME config --local")
    if what == "environments":
        from devenv.manifest import load_project
        from devenv.manifest.environments import known_names

        for name in known_names(load_project(dataclasses.replace(g.options, env=None))):
            echo(name)
        return 0
    if variables:
        return _variables(g, fmt)
    fmt = fmt or "yaml"
    if no_interpolate and not what:
        from devenv.cli.rawmodel import raw_model

        model = raw_model(g.options)
        if quiet:
            return 0
        model = _sorted(model)
        return _write(json.dumps(model, indent=2, ensure_ascii=False) + "\n" if fmt == "json" else _yaml(model), output)

    from devenv.manifest import load_project

    project = load_project(dataclasses.replace(g.options, local=True) if local else g.options)
    if quiet:
        return 0
    if hash_of:
        return _hashes(project, hash_of)
    if environment:
        for key in sorted(project.environment):
            echo(f"{key}={project.environment[key]}")
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
        return _write(text.replace("$", "$$") + "\n", output)
    else:
        return _write(_yaml(escape_dollars(project.to_dict())), output)
    for line in lines:
        echo(line)
    return 0


def _sorted(value: Any) -> Any:
    """Keys in order at every level, as Compose prints a model it did not type."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _yaml(data: Any) -> str:
    from devenv.manifest.yamlout import dump_yaml

    return dump_yaml(data)


def _write(text: str, output: str | None) -> int:
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(text)
    else:
        echo(text, nl=False)
    return 0


def _hashes(project: Any, spec: str) -> int:
    """`name hash` per service, sorted by name, as `docker compose config --hash` prints them."""
    from devenv.errors import UsageError
    from devenv.plan.composehash import service_hash

    names = list(project.services) if spec == "*" else [n for n in spec.split(",") if n]
    for name in sorted(names):
        service = project.services.get(name)
        if service is None:
            raise UsageError(f"no such service: {name}")
        echo(f"{name} {service_hash(service)}")
    return 0


def _variables(g: Globals, fmt: str | None) -> int:
    """The variables the files use: a table (NAME, REQUIRED, DEFAULT VALUE, ALTERNATE VALUE), or
    json/yaml keyed by name, as `docker compose config --variables` prints them."""
    from devenv.cli.psformat import tabulate
    from devenv.cli.rawmodel import extract_variables, raw_model

    found = extract_variables(raw_model(g.options))
    names = sorted(found)
    if fmt == "json":
        echo(json.dumps({n: found[n].to_dict() for n in names}, indent=4, ensure_ascii=False))
    elif fmt == "yaml":
        echo(_yaml({n: {k.lower(): v for k, v in found[n].to_dict().items()} for n in names}), nl=False)
    else:
        rows = ["NAME\tREQUIRED\tDEFAULT VALUE\tALTERNATE VALUE"]
        rows += [f"{n}\t{str(found[n].required).lower()}\t{found[n].default}\t{found[n].presence}" for n in names]
        echo(tabulate(rows, minwidth=20, padding=3))
    return 0
