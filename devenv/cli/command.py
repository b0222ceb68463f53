"""What every command is made of: a help line, its arguments (on an argparse parser), and the
function that runs it. argparse rather than click: it is part of Python and costs about 3 ms to
import against click's 20-odd, which every command (`down`, `ps`...) pays before its first call."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, NamedTuple

from devenv.errors import UsageError


class Command(NamedTuple):
    help: str
    arguments: Callable[["Parser"], None]
    run: Callable[[Any, argparse.Namespace], int | None]  # (ProjectOptions, parsed arguments) -> exit code
    # Options may follow SERVICE names (`up web --build`), as with Compose; not for `exec`/`run`,
    # where what follows SERVICE is the container's command, untouched.
    intermixed: bool = True


class HelpShown(Exception):
    """--help or --version was printed: leave with this code."""

    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class Parser(argparse.ArgumentParser):
    """argparse with one-line usage errors (exit 2, through `UsageError`) instead of SystemExit."""

    def __init__(self, prog: str, description: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            prog=prog, description=description, allow_abbrev=False, add_help=False,
            formatter_class=lambda prog: argparse.HelpFormatter(prog, max_help_position=32, width=help_width()),
            **kwargs,
        )
        self.add_argument("-h", "--help", action="help", help="Show this message and exit.")

    def error(self, message: str) -> Any:  # type: ignore[override]
        command = self.prog.partition(" ")[2]
        raise UsageError(f"{command + ': ' if command else ''}{message} (see `{self.prog} --help`)")

    def exit(self, status: int = 0, message: str | None = None) -> Any:  # type: ignore[override]
        if message:
            sys.stderr.write(message)
        raise HelpShown(status)


def help_width() -> int:
    """The terminal's width for help text, as shutil would say, without importing shutil: argparse
    builds a formatter for every option it adds, and shutil (with fnmatch) is 4 ms of start-up."""
    try:
        columns = int(os.environ.get("COLUMNS", "0"))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max(columns, 40) - 2


def add_format(parser: Parser, choices: tuple[str, ...] = ("table", "json"), default: str = "table") -> None:
    parser.add_argument(
        "--format", dest="fmt", choices=choices, default=default, help=f"Output format; json is for scripts (default: {default}).",
    )


def add_services(parser: Parser) -> None:
    parser.add_argument("services", nargs="*", metavar="SERVICE", help="Only these services (default: all).")
