"""`devenv init [TEMPLATE] [DIR]`: list the templates, or write one into DIR with the values asked
for (or taken from --set / the defaults with --yes). Never overwrites a file unless --force."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from devenv.cli.command import Globals, format_option


def _complete_templates(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
    from click.shell_completion import CompletionItem

    from devenv import templates

    return [CompletionItem(n) for n in templates.names() if n.startswith(incomplete)]


@click.command("init", help="List the project templates, or write TEMPLATE into DIR (default: the current folder).")
@click.argument("template", required=False, metavar="[TEMPLATE]", shell_complete=_complete_templates)
@click.argument("directory", required=False, default=".", metavar="[DIR]", type=click.Path(file_okay=False))
@click.option("-y", "--yes", is_flag=True, help="Ask nothing: take the defaults (and the --set values).")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE", help="A template value (repeatable); not asked for.")
@click.option("--force", is_flag=True, help="Overwrite files that exist.")
@format_option()
@click.pass_obj
def init(g: Globals, template: str | None, directory: str, yes: bool, sets: tuple[str, ...], force: bool, fmt: str) -> int:
    from devenv import templates
    from devenv.cli.common import echo
    from devenv.errors import UsageError

    if template is None:
        if sets or force:
            raise UsageError("--set and --force need a TEMPLATE (`devenv init` alone lists them)")
        return _list(fmt)
    chosen = templates.load(template)
    values = templates.parse_sets(sets, chosen)
    missing = [v for v in chosen.values if v.key not in values]
    if missing and not yes and not sys.stdin.isatty():
        raise UsageError(f"init {template}: no terminal to ask for {', '.join(v.key for v in missing)} on; "
                         "use --yes for the defaults (and --set KEY=VALUE)")
    for value in missing:
        values[value.key] = templates.default_of(value) if yes else _ask(value)
    target = Path(directory)
    if target.exists() and not target.is_dir():
        raise UsageError(f"{directory}: not a folder")
    files = templates.render(chosen, values)
    templates.write(files, target, force=force)
    if fmt == "json":
        echo(json.dumps({"template": chosen.name, "directory": str(target), "files": [f.path for f in files]}))
    else:
        for f in files:
            echo(f"wrote {target / f.path}")
        where = "" if target.resolve() == Path.cwd().resolve() else f"cd {directory} && "
        echo(f"next: {where}devenv up")
    return 0


def _list(fmt: str) -> int:
    from devenv import templates
    from devenv.cli.common import echo

    found = [templates.parse(templates.root() / name) for name in templates.names()]
    if fmt == "json":
        rows: list[dict[str, Any]] = [
            {"name": t.name, "description": t.description,
             "values": [{"key": v.key, "type": v.type, "default": None if v.type == "secret" else v.default} for v in t.values]}
            for t in found
        ]
        echo(json.dumps(rows))
        return 0
    width = max((len(t.name) for t in found), default=0)
    for t in found:
        echo(f"{t.name.ljust(width)}  {t.description}")
    if not found:
        echo(f"no templates in {templates.root()}", err=True)
    return 0


def _ask(value: Any) -> str:
    """Prompt for one value with its default until a valid one is given."""
    from devenv import templates

    def proc(given: str) -> str:
        problem = templates.check(value, given)
        if problem:
            raise click.UsageError(problem)
        return given

    secret = value.type == "secret"
    prompt = value.prompt + (" (Enter: a random one)" if secret and not value.default else "")
    return str(click.prompt(prompt, default=templates.default_of(value), value_proc=proc,
                            hide_input=secret, show_default=not secret, err=True))
