"""Remembered acknowledgements of risky declarations (devenv/plan/risks.py), per project.

After `up --yes` (or a "y" at the prompt), the risks seen are recorded, so the same risks do not
ask again; a new risk does. The records live in a folder private to the user:
`$XDG_STATE_HOME/devenv/acknowledged` (default `~/.local/state/devenv/acknowledged`), 0700, one
0600 file per project (named by a digest of the project's name and folder), holding risk digests."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable

MAX_BYTES = 1 << 20  # a record is a few hundred bytes; anything larger is not ours


def state_dir() -> str:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return os.path.join(base, "devenv", "acknowledged")


def _record(name: str, working_dir: str) -> str:
    key = hashlib.sha256(f"{name}\0{os.path.abspath(working_dir)}".encode()).hexdigest()[:32]
    return os.path.join(state_dir(), key + ".json")


def acknowledged(name: str, working_dir: str) -> set[str]:
    """The digests recorded for this project; nothing when the record is missing or damaged."""
    try:
        with open(_record(name, working_dir), "rb") as f:
            data = json.loads(f.read(MAX_BYTES + 1)[:MAX_BYTES])
    except (OSError, ValueError):
        return set()
    return {d for d in data.get("risks", ()) if isinstance(d, str)} if isinstance(data, dict) else set()


def remember(name: str, working_dir: str, digests: Iterable[str]) -> None:
    """Add `digests` to the project's record (best effort: a folder we cannot write only means
    the question comes again)."""
    folder = state_dir()
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
        os.chmod(folder, 0o700)
        path = _record(name, working_dir)
        known = acknowledged(name, working_dir) | set(digests)
        temp = f"{path}.{os.getpid()}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"project": name, "risks": sorted(known)}, f)
        os.replace(temp, path)
    except OSError:
        pass
