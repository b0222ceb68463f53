"""Human output: progress lines while a plan runs, the summary table after, colours unless NO_COLOR."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Iterable, Sequence

from devenv.cli.common import echo
from devenv.plan.actions import Action, Op

_SYMBOL = {"done": "✔", "failed": "✘", "skipped": "–"}
_COLOR = {"done": "green", "failed": "red", "skipped": "yellow"}


ANSI = "auto"  # the global --ansi: always|never override NO_COLOR and the terminal test


def use_color(stream: Any = None) -> bool:
    if ANSI != "auto":
        return ANSI == "always"
    stream = stream or sys.stderr
    return not os.environ.get("NO_COLOR") and hasattr(stream, "isatty") and stream.isatty()


_ANSI = {name: code for code, name in enumerate(("black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"), 30)}
_ANSI |= {f"bright_{name}": code + 60 for name, code in list(_ANSI.items())}


def style(text: str, color: str | None, stream: Any = None, bold: bool = False) -> str:
    """`text` in an ANSI colour when `stream` (default stderr) is a terminal and NO_COLOR is unset."""
    if not color or not use_color(stream):
        return text
    return f"\x1b[{_ANSI[color]}m" + ("\x1b[1m" if bold else "") + text + "\x1b[0m"


class Progress:
    """Prints one line per action when it ends (and when a long one starts), to stderr; with
    `mode="json"` (global --progress json) one JSON object per event instead."""

    QUIET_OPS = frozenset({Op.CONNECT_NETWORK})

    def __init__(self, quiet: bool = False, mode: str = "auto", hidden: frozenset[Op] | set[Op] = frozenset()) -> None:
        self.quiet = quiet or mode == "quiet"
        self.mode = mode
        self.hidden = frozenset(hidden)  # ops whose lines are left out (--quiet-pull)
        self.lock = threading.Lock()
        self.started: dict[str, float] = {}
        self.t0 = time.monotonic()

    def __call__(self, event: str, action: Action, outcome: Any) -> None:
        if self.quiet or action.op in self.hidden and (outcome is None or outcome.status == "done"):
            return
        if self.mode == "json":
            import json

            record = {"event": event, "id": action.id, "op": action.op.value, "target": action.target}
            if outcome is not None:
                record |= {"status": outcome.status, "detail": outcome.detail, "seconds": round(outcome.seconds, 3)}
            echo(json.dumps(record), err=True)
            return
        with self.lock:
            if event == "start":
                self.started[action.id] = time.monotonic()
                if action.op in (Op.BUILD_IMAGE, Op.PULL_IMAGE) or action.op.value.startswith("wait"):
                    echo(f"  … {action.describe()}", err=True)
                return
            if action.op in self.QUIET_OPS and outcome.status == "done":
                return
            symbol = style(_SYMBOL[outcome.status], _COLOR[outcome.status])
            took = f" {outcome.seconds:.1f}s" if outcome.seconds >= 0.05 else ""
            if outcome.status == "done":
                text = _what(action)
            elif outcome.status == "failed":
                text = f"{action.describe()} failed: {outcome.detail}"
            else:
                text = f"{action.describe()} skipped: {outcome.detail}"
            echo(f"  {symbol} {text}{took}", err=True)


def _what(action: Action) -> str:
    kind = {
        Op.CREATE_NETWORK: "network", Op.CREATE_VOLUME: "volume", Op.REMOVE_NETWORK: "network",
        Op.REMOVE_VOLUME: "volume", Op.PULL_IMAGE: "image", Op.BUILD_IMAGE: "image",
    }.get(action.op, "container")
    verb = {
        Op.CREATE_NETWORK: "created", Op.CREATE_VOLUME: "created", Op.PULL_IMAGE: "pulled", Op.BUILD_IMAGE: "built",
        Op.CREATE_CONTAINER: "created", Op.CONNECT_NETWORK: "connected", Op.START_CONTAINER: "started",
        Op.COPY_FILES: "given its secrets and configs",
        Op.UNPAUSE_CONTAINER: "unpaused", Op.WAIT_HEALTHY: "healthy", Op.WAIT_COMPLETED: "completed",
        Op.WAIT_RUNNING: "running", Op.STOP_CONTAINER: "stopped", Op.REMOVE_CONTAINER: "removed",
        Op.REMOVE_NETWORK: "removed", Op.REMOVE_VOLUME: "removed",
    }[action.op]
    reason = f" ({action.reason})" if action.reason and action.op in (Op.CREATE_CONTAINER, Op.REMOVE_CONTAINER, Op.BUILD_IMAGE, Op.PULL_IMAGE) else ""
    return f"{kind} {action.target} {verb}{reason}"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    rows = [list(map(str, r)) for r in rows]
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.upper().ljust(w) for h, w in zip(headers, widths)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)
