"""`devenv completion SHELL`: the shell completion script (click's), to source from the shell's rc."""

from __future__ import annotations

import click

from devenv.cli.common import echo


@click.command("completion", help="Print the completion script for SHELL (bash, zsh or fish); see README, Shell completion.")
@click.argument("shell", type=click.Choice(("bash", "zsh", "fish")), metavar="SHELL")
def completion(shell: str) -> int:
    from click.shell_completion import get_completion_class

    from devenv.cli import COMPLETE_VAR, cli

    cls = get_completion_class(shell)
    assert cls is not None
    echo(cls(cli, {}, "devenv", COMPLETE_VAR).source(), nl=False)
    return 0
