"""Conversions of canonical Compose values to Engine units."""

from __future__ import annotations

import pytest

from devenv.plan import units


@pytest.mark.parametrize(
    "text,ns",
    [("0", 0), ("1s", 10**9), ("1m30s", 90 * 10**9), ("1h", 3600 * 10**9), ("500ms", 5 * 10**8), ("1.5s", 15 * 10**8),
     ("2us", 2000), ("3µs", 3000), ("10ns", 10), ("1h2m3s4ms", (3723 * 1000 + 4) * 10**6), (5, 5 * 10**9), (0.5, 5 * 10**8)],
)
def test_durations(text, ns) -> None:
    assert units.duration_ns(text) == ns


@pytest.mark.parametrize("bad", ["", "1", "1x", "s", "1s2", True, "1 s"])
def test_bad_durations(bad) -> None:
    with pytest.raises(ValueError):
        units.duration_ns(bad)


def test_stop_timeout_truncates_to_seconds() -> None:
    assert units.duration_seconds("1m30s") == 90
    assert units.duration_seconds("1500ms") == 1


@pytest.mark.parametrize(
    "value,size",
    [("67108864", 67108864), (1024, 1024), ("-1", -1), ("64m", 64 * 1024**2), ("1g", 1024**3), ("1GB", 1024**3), ("512k", 512 * 1024), ("10b", 10), ("1.5k", 1536)],
)
def test_byte_sizes(value, size) -> None:
    assert units.byte_size(value) == size


def test_bad_size() -> None:
    with pytest.raises(ValueError):
        units.byte_size("lots")


def test_cpus_and_integers() -> None:
    assert units.nano_cpus(0.5) == 500_000_000
    assert units.nano_cpus("1.5") == 1_500_000_000
    assert units.nano_cpus(1.1) == 1_100_000_000
    assert units.integer("10") == 10
    with pytest.raises(ValueError):
        units.integer(True)
