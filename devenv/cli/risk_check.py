"""Before `up`, `run` and `create` change anything: print the manifest's risky declarations that
this project has not acknowledged, then go on only with a "y" at the terminal, `--yes`, or an
earlier acknowledgement of the same risks (remembered per project). Without a terminal and without
`--yes`, refuse with one line."""

from __future__ import annotations

import sys
from typing import Any

from devenv.errors import UsageError


def confirm_risks(project: Any, yes: bool, dry_run: bool = False) -> None:
    from devenv import acknowledged
    from devenv.cli.common import echo
    from devenv.plan.risks import find_risks

    risks = find_risks(project)
    if not risks:
        return
    known = acknowledged.acknowledged(project.name, project.working_dir)
    new = [r for r in risks if r.digest not in known]
    if not new:
        return
    for risk in new:
        echo(f"devenv: warning: {risk}", err=True)
    if dry_run:
        return
    if not yes:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise UsageError(f"{len(new)} risky declaration(s) above not acknowledged for project {project.name}: "
                             "read them, then pass --yes (remembered for these risks)")
        echo("Continue with these risks? [y/N] ", err=True, nl=False)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            raise UsageError("not confirmed: nothing changed")
    acknowledged.remember(project.name, project.working_dir, (r.digest for r in new))
