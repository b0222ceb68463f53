"""Progress of long work (image pulls and snapshot transfers in bytes, builds in steps), reported to
whoever the CLI installs as `REPORTER` (devenv/cli/progressbar.py draws it); nothing is reported
without one. `PullTally` sums an engine pull stream's per-layer progressDetail into one (done,
total); `BuildSteps` counts the steps a build's output has started."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any

# (item, done, total or 0 when unknown, finished, unit: "B" for bytes, "steps" for builds)
Reporter = Callable[[str, int, int, bool, str], None]
REPORTER: Reporter | None = None


def report(item: str, done: int, total: int, finished: bool = False, unit: str = "B") -> None:
    reporter = REPORTER
    if reporter is not None:
        try:
            reporter(item, done, total, finished, unit)
        except Exception:  # drawing a bar never fails the transfer
            pass


class PullTally:
    """The bytes an image pull has downloaded out of those it must, from the engine's JSON stream:
    "Downloading" chunks carry each layer's current/total; a layer "Download complete" (or later)
    counts whole; layers that "Already exists" are not counted."""

    DONE = frozenset({"Download complete", "Verifying Checksum", "Extracting", "Pull complete"})

    def __init__(self) -> None:
        self.layers: dict[str, tuple[int, int]] = {}

    def feed(self, chunk: Mapping[str, Any]) -> bool:
        """Take one stream object; whether the sums changed."""
        layer, status = chunk.get("id"), str(chunk.get("status") or "")
        if not layer or layer not in self.layers and status != "Downloading":
            return False
        detail = chunk.get("progressDetail") or {}
        before = self.layers.get(layer)
        if status == "Downloading" and detail.get("total"):
            self.layers[layer] = (int(detail.get("current") or 0), int(detail["total"]))
        elif status in self.DONE and before is not None:
            self.layers[layer] = (before[1], before[1])
        return self.layers.get(layer) != before

    @property
    def done(self) -> int:
        return sum(d for d, _ in self.layers.values())

    @property
    def total(self) -> int:
        return sum(t for _, t in self.layers.values())


def counted(chunks: Iterable[bytes], item: str, total: int = 0) -> Generator[bytes, None, None]:
    """`chunks`, reporting the bytes that went through as `item` (finished when they are all out)."""
    done = 0
    for chunk in chunks:
        done += len(chunk)
        report(item, done, total)
        yield chunk
    report(item, done, total, finished=True)


class CountingReader:
    """A binary reader that reports the bytes read from it as `item`, out of `total`."""

    def __init__(self, reader: Any, item: str, total: int) -> None:
        self.reader, self.item, self.total, self.done = reader, item, total, 0

    def read(self, n: int = -1) -> bytes:
        data: bytes = self.reader.read(n)
        self.done += len(data)
        report(self.item, self.done, self.total, finished=not data or self.done >= self.total)
        return data

    def __len__(self) -> int:  # what is left: requests (the SDK) sends it as Content-Length
        return len(self.reader) if hasattr(self.reader, "__len__") else self.total - self.done

    def close(self) -> None:
        if hasattr(self.reader, "close"):
            self.reader.close()


_CLASSIC_STEP = re.compile(r"Step (\d+)/(\d+) : ")  # the classic builder: "Step 2/5 : RUN ..."
_BUILDKIT_STEP = re.compile(r"#\d+ \[(?:(\S+) )?(\d+)/(\d+)\] ")  # BuildKit plain: "#7 [stage-1 2/4] RUN ..."


class BuildSteps:
    """The steps a build has started out of all its stages' steps, from its output lines."""

    def __init__(self) -> None:
        self.stages: dict[str, tuple[int, int]] = {}  # stage -> (highest step started, steps)

    def feed(self, line: str) -> bool:
        """Take one output line; whether the counts changed."""
        classic = _CLASSIC_STEP.match(line)
        match = _BUILDKIT_STEP.match(line)
        if classic:
            stage, step, steps = "", int(classic.group(1)), int(classic.group(2))
        elif match:
            stage, step, steps = match.group(1) or "", int(match.group(2)), int(match.group(3))
        else:
            return False
        before = self.stages.get(stage)
        self.stages[stage] = (max(step, before[0] if before else 0), steps)
        return self.stages[stage] != before

    @property
    def done(self) -> int:
        return sum(d for d, _ in self.stages.values())

    @property
    def total(self) -> int:
        return sum(t for _, t in self.stages.values())
