"""Progress bars for long work (pulls, builds, snapshot transfers; devenv/engine/transfer.py
reports them). On a terminal (`tty`): one line per item in flight, a bar and bytes (or steps)
done/total, redrawn in place with ANSI codes. Elsewhere (`plain`: CI, NO_COLOR, pipes, `--progress
plain`): a line when a transfer starts, at every 25%, and when it ends; builds add none there, their
own output names each step."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, TextIO

WIDTH = 24  # characters of the bar
REDRAW = 0.1  # seconds between two redraws on a terminal (the last state is always drawn)


def mode_for(setting: str, stream: Any = None, environ: Mapping[str, str] | None = None) -> str | None:
    """`tty`, `plain`, or None (no bars) for the global --progress `setting`: `auto` draws bars only
    on a terminal without CI or NO_COLOR set."""
    if setting in ("quiet", "json"):
        return None
    if setting in ("tty", "plain"):
        return setting
    environ = os.environ if environ is None else environ
    stream = sys.stderr if stream is None else stream
    tty = hasattr(stream, "isatty") and stream.isatty()
    return "tty" if tty and not environ.get("CI") and not environ.get("NO_COLOR") else "plain"


def size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # unreachable


def amount(done: int, total: int, unit: str = "B") -> str:
    if unit != "B":
        return f"{done}/{total} {unit}" if total else f"{done} {unit}"
    return f"{size(done)} / {size(total)}" if total else size(done)


def bar(done: int, total: int, width: int = WIDTH) -> str:
    filled = min(width, int(width * done / total)) if total else 0
    return "[" + "#" * filled + "." * (width - filled) + "]"


class Bars:
    """Draws the items' progress on `stream` (default stderr) in `mode` (`tty` or `plain`); thread-safe.
    Call it as a transfer reporter: `bars(item, done, total, finished)`."""

    def __init__(self, mode: str, stream: TextIO | None = None, clock: Callable[[], float] = time.monotonic,
                 redraw: float = REDRAW) -> None:
        self.mode = mode
        self.stream = stream
        self.clock = clock
        self.redraw = redraw
        self.lock = threading.RLock()
        self.live: dict[str, tuple[int, int]] = {}  # item -> (done, total), in the order they started
        self.quarter: dict[str, int] = {}  # plain: the last 25% step printed
        self.drawn = 0  # tty: live lines on screen below the cursor's line
        self.last = -1e9
        self.ended: set[str] = set()  # items finished (and not started again since)
        self.units: dict[str, str] = {}  # item -> what it counts ("B": bytes)

    def __call__(self, item: str, done: int, total: int, finished: bool = False, unit: str = "B") -> None:
        with self.lock:
            self.units[item] = unit
            if finished and item in self.ended:
                return  # told twice: drawn once
            if finished and not done and not total and item not in self.live and item not in self.quarter:
                return  # nothing was transferred (an image already up to date): nothing to show
            if finished:
                self.ended.add(item)
            else:
                self.ended.discard(item)
            if self.mode == "plain":
                if unit == "B":  # a build's own output already names each step ("#5 [2/4] RUN ...")
                    self._plain(item, done, total, finished)
            else:
                self._tty(item, done, total, finished)

    def _write(self, text: str) -> None:
        stream = self.stream or sys.stderr
        stream.write(text)
        stream.flush()

    def _plain(self, item: str, done: int, total: int, finished: bool) -> None:
        if item not in self.quarter:
            self.quarter[item] = 0
            self._write(f"{item}: started" + (f" ({amount(total, 0, self.units[item])})" if total and not finished else "") + "\n")
        if finished:
            self.quarter.pop(item)
            state = "done" if not total or done >= total else f"stopped at {int(100 * done / total)}%"
            self._write(f"{item}: {state} ({amount(done, total, self.units[item])})\n")
            return
        step = int(4 * done / total) if total else 0
        if self.quarter[item] < step < 4:  # 100% is said by the end line
            self.quarter[item] = step
            self._write(f"{item}: {25 * step}% ({amount(done, total, self.units[item])})\n")

    def _line(self, item: str, done: int, total: int) -> str:
        percent = f"{int(100 * done / total):3d}%" if total else "   ?"
        return f"{item} {bar(done, total)} {percent} {amount(done, total, self.units.get(item, 'B'))}"

    def _erase(self) -> str:
        """Back to the first live line (the cursor is on the line below the last), erase to the end."""
        out = (f"\x1b[{self.drawn}A" if self.drawn else "") + "\r\x1b[J"
        self.drawn = 0
        return out

    def _live(self) -> str:
        lines = [self._line(i, d, t) for i, (d, t) in self.live.items()]
        self.drawn = len(lines)
        return "".join(line + "\n" for line in lines)

    def _tty(self, item: str, done: int, total: int, finished: bool) -> None:
        self.live[item] = (done, total)
        now = self.clock()
        if not finished and now - self.last < self.redraw and self.drawn == len(self.live):
            return  # throttled: a later call (at least the finishing one) draws the state
        self.last = now
        out = self._erase()
        if finished:  # a finished item's last line stays above the live ones
            out += self._line(item, *self.live.pop(item)) + "\n"
        self._write(out + self._live())

    def above(self, write: Callable[[], None]) -> None:
        """Let `write` print its lines above the live bars (which are drawn again below them)."""
        with self.lock:
            if not self.drawn:
                write()
                return
            self._write(self._erase())
            write()
            self._write(self._live())


def install(setting: str, stream: Any = None) -> Bars | None:
    """Draw the transfers' progress for the global --progress `setting` (None: none drawn)."""
    from devenv.cli import common
    from devenv.engine import transfer

    mode = mode_for(setting, stream)
    bars = None if mode is None else Bars(mode, stream)
    transfer.REPORTER = bars
    common.ABOVE = bars.above if bars is not None and mode == "tty" else None  # other lines go above the bars
    return bars
