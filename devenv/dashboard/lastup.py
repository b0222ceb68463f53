"""What the last `up` of a project did (each action with its reason, status and seconds), kept in
a private state folder so the dashboard can show it: $XDG_STATE_HOME/devenv/last-up/PROJECT.json
(else ~/.local/state/devenv/...), the folders 0700 and the file 0600."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from devenv.engine.apply import Applied

VERSION = 1


def state_folder(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_STATE_HOME") or os.path.join(env.get("HOME") or os.path.expanduser("~"), ".local", "state")
    return Path(base) / "devenv" / "last-up"


def path_for(project: str, environ: Mapping[str, str] | None = None) -> Path:
    if not project or "/" in project or project.startswith("."):
        raise ValueError(f"not a project name: {project!r}")
    return state_folder(environ) / f"{project}.json"


def summary(project: str, applied: Applied, finished: float | None = None) -> dict[str, Any]:
    """The record of an applied plan (pure: what `up` applied, as JSON-ready data)."""
    return {
        "version": VERSION,
        "project": project,
        "finished": time.time() if finished is None else finished,
        "seconds": round(applied.seconds, 3),
        "ok": not applied.failures,
        "actions": [
            {
                "op": o.action.op.value, "target": o.action.target, "service": o.action.service,
                "reason": o.action.reason, "status": o.status, "detail": o.detail, "seconds": round(o.seconds, 3),
            }
            for o in applied.outcomes
        ],
        "notes": [n for p in applied.plans for n in p.notes],
    }


def _private_dirs(folder: Path) -> None:
    """Make the folder and its parents up to the state home; the devenv ones 0700."""
    for part in (folder.parent, folder):
        if not part.is_dir():
            part.parent.mkdir(parents=True, exist_ok=True)
            part.mkdir(mode=0o700, exist_ok=True)
        os.chmod(part, 0o700)


def write(project: str, record: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Path:
    """Write the record atomically (a 0600 temporary file renamed over the old one)."""
    target = path_for(project, environ)
    _private_dirs(target.parent)
    fd, temp = tempfile.mkstemp(prefix=f".{project}.", suffix=".tmp", dir=target.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(record, out, indent=1)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return target


def record(project: str, applied: Applied) -> None:
    """What `up` calls: never fails the command (the record is a convenience)."""
    try:
        write(project, summary(project, applied))
    except (OSError, ValueError):
        pass


def read(project: str, environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The last record, None when there is none or it cannot be read."""
    try:
        data = json.loads(path_for(project, environ).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("version") == VERSION else None
