"""devenv/cli/progressbar.py (bars on a terminal, plain lines elsewhere) and the pull stream's
byte tally (devenv/engine/transfer.py), from fake progress events."""

from __future__ import annotations

import io

import pytest

from devenv.cli import progressbar
from devenv.cli.progressbar import Bars, mode_for
from devenv.engine import transfer


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_draws_bars_only_on_a_terminal_without_ci_or_no_color() -> None:
    assert mode_for("auto", Tty(), {}) == "tty"
    assert mode_for("auto", io.StringIO(), {}) == "plain"  # a pipe
    assert mode_for("auto", Tty(), {"CI": "true"}) == "plain"
    assert mode_for("auto", Tty(), {"NO_COLOR": "1"}) == "plain"
    assert mode_for("plain", Tty(), {}) == "plain" and mode_for("tty", io.StringIO(), {}) == "tty"
    assert mode_for("quiet", Tty(), {}) is None and mode_for("json", Tty(), {}) is None


def test_plain_prints_start_each_quarter_and_end() -> None:
    out = io.StringIO()
    bars = Bars("plain", out)
    for done in range(0, 1_000_001, 50_000):
        bars("pull img", done, 1_000_000)
    bars("pull img", 1_000_000, 1_000_000, finished=True)
    assert out.getvalue().splitlines() == [
        "pull img: started (1.0 MB)",
        "pull img: 25% (250.0 kB / 1.0 MB)",
        "pull img: 50% (500.0 kB / 1.0 MB)",
        "pull img: 75% (750.0 kB / 1.0 MB)",
        "pull img: done (1.0 MB / 1.0 MB)",
    ]


def test_plain_says_where_an_unfinished_transfer_stopped() -> None:
    out = io.StringIO()
    bars = Bars("plain", out)
    bars("pull img", 10, 100)
    bars("pull img", 40, 100, finished=True)
    assert out.getvalue().splitlines()[-1] == "pull img: stopped at 40% (40 B / 100 B)"


def test_tty_redraws_one_line_per_item_in_place() -> None:
    out = Tty()
    bars = Bars("tty", out, clock=lambda: 0.0, redraw=0.0)
    bars("pull a", 0, 100)
    bars("pull b", 50, 200)
    bars("pull a", 100, 100)
    bars("pull a", 100, 100, finished=True)
    bars("pull b", 200, 200, finished=True)
    text = out.getvalue()
    frames = text.split("\r\x1b[J")  # each redraw erases from the first live line down...
    a0 = "pull a [........................]   0% 0 B / 100 B\n"
    a1 = "pull a [########################] 100% 100 B / 100 B\n"
    b25 = "pull b [######..................]  25% 50 B / 200 B\n"
    b1 = "pull b [########################] 100% 200 B / 200 B\n"
    up = "\x1b[{}A".format  # ...after going back up over the live lines drawn before
    assert frames == ["", a0 + up(1), a0 + b25 + up(2), a1 + b25 + up(2),
                      a1 + b25 + up(1),  # a finished: its line stays, above the live ones
                      b1]
    assert bars.drawn == 0 and not bars.live


def test_tty_throttles_redraws_but_always_draws_the_end() -> None:
    out = Tty()
    now = [0.0]
    bars = Bars("tty", out, clock=lambda: now[0], redraw=1.0)
    for done in range(1, 100):
        bars("pull a", done, 100)  # the clock does not move: only the first is drawn
    bars("pull a", 100, 100, finished=True)
    assert out.getvalue().count("\r\x1b[J") == 2
    assert out.getvalue().endswith("pull a [########################] 100% 100 B / 100 B\n")


def test_unknown_totals_show_bytes_only() -> None:
    out = io.StringIO()
    bars = Bars("plain", out)
    bars("snapshot data", 5000, 0)
    bars("snapshot data", 9000, 0, finished=True)
    assert out.getvalue().splitlines() == ["snapshot data: started", "snapshot data: done (9.0 kB)"]


def test_install_sets_and_clears_the_reporter() -> None:
    try:
        assert progressbar.install("plain", io.StringIO()) is transfer.REPORTER is not None
        assert progressbar.install("quiet") is None and transfer.REPORTER is None
    finally:
        transfer.REPORTER = None


def test_a_broken_reporter_never_fails_the_transfer() -> None:
    def broken(*_: object) -> None:
        raise OSError("stderr closed")

    transfer.REPORTER = broken
    try:
        transfer.report("pull x", 1, 2)
    finally:
        transfer.REPORTER = None


@pytest.fixture
def stream() -> list[dict[str, object]]:
    """A pull stream as the engine sends it (one layer present, two downloaded)."""
    return [
        {"status": "Pulling from library/x", "id": "latest"},
        {"status": "Already exists", "progressDetail": {}, "id": "aaa"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "bbb"},
        {"status": "Pulling fs layer", "progressDetail": {}, "id": "ccc"},
        {"status": "Downloading", "progressDetail": {"current": 100, "total": 1000}, "id": "bbb"},
        {"status": "Downloading", "progressDetail": {"current": 50, "total": 500}, "id": "ccc"},
        {"status": "Downloading", "progressDetail": {"current": 600, "total": 1000}, "id": "bbb"},
        {"status": "Download complete", "progressDetail": {}, "id": "ccc"},
        {"status": "Extracting", "progressDetail": {"current": 10, "total": 500}, "id": "ccc"},
        {"status": "Download complete", "progressDetail": {}, "id": "bbb"},
        {"status": "Pull complete", "progressDetail": {}, "id": "bbb"},
        {"status": "Digest: sha256:0123"},
        {"status": "Status: Downloaded newer image for x:latest"},
    ]


def test_pull_tally_sums_the_downloading_layers(stream: list[dict[str, object]]) -> None:
    tally = transfer.PullTally()
    seen = [(tally.done, tally.total) for chunk in stream if tally.feed(chunk)]
    assert seen == [(100, 1000), (150, 1500), (650, 1500), (1100, 1500), (1500, 1500)]


def test_counted_transfers_report_their_bytes() -> None:
    seen: list[tuple[str, int, int, bool]] = []
    transfer.REPORTER = lambda *a: seen.append(a[:4])
    try:
        assert b"".join(transfer.counted([b"ab", b"cde"], "read volume data")) == b"abcde"
        reader = transfer.CountingReader(io.BytesIO(b"12345"), "restore volume data", 5)
        assert len(reader) == 5 and reader.read(3) == b"123" and reader.read(3) == b"45"
    finally:
        transfer.REPORTER = None
    assert seen == [("read volume data", 2, 0, False), ("read volume data", 5, 0, False), ("read volume data", 5, 0, True),
                    ("restore volume data", 3, 5, False), ("restore volume data", 5, 5, True)]


def test_an_end_told_twice_is_drawn_once() -> None:
    out = io.StringIO()
    bars = Bars("plain", out)
    bars("push r data.tar", 10, 10, finished=True)
    bars("push r data.tar", 10, 10, finished=True)
    assert out.getvalue().splitlines() == ["push r data.tar: started", "push r data.tar: done (10 B / 10 B)"]


def test_build_steps_count_classic_and_buildkit_stages() -> None:
    classic = transfer.BuildSteps()
    for line in ["Step 1/3 : FROM x", " ---> abc", "Step 2/3 : RUN true", "Step 3/3 : CMD y"]:
        classic.feed(line)
    assert (classic.done, classic.total) == (3, 3)
    kit = transfer.BuildSteps()
    changed = [kit.feed(line) for line in [
        "#1 [internal] load build definition from Dockerfile",
        "#5 [build 1/2] FROM docker.io/devenv/python:bookworm",
        "#6 [stage-1 1/3] FROM docker.io/devenv/busybox",
        "#7 [build 2/2] RUN make",
        "#7 DONE 0.3s",
        "#8 [stage-1 2/3] COPY --from=build /out /app",
    ]]
    assert changed == [False, True, True, True, False, True]
    assert (kit.done, kit.total) == (4, 5)


def test_steps_are_shown_as_steps_on_a_terminal_and_left_to_the_builds_output_elsewhere() -> None:
    out = Tty()
    bars = Bars("tty", out, clock=lambda: 0.0, redraw=0.0)
    bars("build web", 1, 4, unit="steps")
    bars("build web", 4, 4, finished=True, unit="steps")
    assert out.getvalue().endswith("\r\x1b[Jbuild web [########################] 100% 4/4 steps\n")
    plain = io.StringIO()
    for step in (1, 2, 3, 4):
        Bars("plain", plain)("build web", step, 4, unit="steps")
    assert plain.getvalue() == ""


def test_tty_lines_printed_meanwhile_go_above_the_bars() -> None:
    out = Tty()
    bars = Bars("tty", out, clock=lambda: 0.0, redraw=0.0)
    bars("pull a", 50, 100)
    bars.above(lambda: out.write("web | Step 1/2\n"))
    assert out.getvalue().endswith("\x1b[1A\r\x1b[Jweb | Step 1/2\npull a [############............]  50% 50 B / 100 B\n")
    assert bars.drawn == 1


def test_an_item_that_transferred_nothing_is_not_shown() -> None:
    for mode in ("plain", "tty"):
        out = Tty()
        Bars(mode, out)("pull up-to-date", 0, 0, finished=True)
        assert out.getvalue() == ""


def test_plain_leaves_100_percent_to_the_end_line() -> None:
    out = io.StringIO()
    bars = Bars("plain", out)
    bars("pull img", 0, 100)
    bars("pull img", 100, 100)  # downloaded; extracting still
    bars("pull img", 100, 100, finished=True)
    assert out.getvalue().splitlines() == ["pull img: started (100 B)", "pull img: done (100 B / 100 B)"]
