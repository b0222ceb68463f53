"""Pure conversions of the canonical Compose values: Go durations, byte sizes, CPU counts."""

from __future__ import annotations

import re
from typing import Any

_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_SIZE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def duration_ns(value: Any) -> int:
    """A Go duration (`1m30s`, `500ms`, `0`) or a number of seconds, in nanoseconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        return int(round(value * 10**9))
    text = str(value).strip()
    sign = -1 if text.startswith("-") else 1
    text = text.lstrip("+-")
    if text == "0":
        return 0
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"invalid duration {value!r}")
    return sign * int(round(total))


def duration_seconds(value: Any) -> int:
    """A duration in whole seconds, truncated as Compose does for StopTimeout."""
    return duration_ns(value) // 10**9


def byte_size(value: Any) -> int:
    """Bytes from the canonical form (an integer or its decimal string) or a unit string (`64m`, `1g`)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid size {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"invalid size {value!r}")
    return int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])


def nano_cpus(value: Any) -> int:
    """A CPU count (`0.5`, `"1.5"`) in the Engine's NanoCpus units."""
    return int(round(float(value) * 10**9))


def integer(value: Any) -> int:
    """An integer that the canonical form may print as a string (`mem_swappiness: "10"`)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid integer {value!r}")
    return int(value)
