"""How Compose (written in Go) turns YAML scalars into strings: `fmt.Sprint` semantics."""

from __future__ import annotations

import math
from typing import Any


def sprint(value: Any) -> str:
    """Go's `fmt.Sprint` for the scalar types YAML yields (and nested lists/maps, roughly)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, list):
        return "[" + " ".join(sprint(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{sprint(v)}" for k, v in sorted(value.items())) + "]"
    return str(value)


def format_float(value: float) -> str:
    """Go's %v for float64 (strconv 'g' with the shortest digits): the exponent form when the
    decimal exponent is < -4 or >= 6 (`1e+06`, `1.5e-05`), else plain digits (`123456.5`)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    from decimal import Decimal  # only when a float is formatted

    number = Decimal(repr(value)).normalize()  # repr: the shortest digits that round-trip, as Go's
    sign, digits, exponent = number.as_tuple()
    exp10 = len(digits) + int(exponent) - 1
    if exp10 < -4 or exp10 >= 6:
        mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
        return f"{'-' if sign else ''}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"
    return format(number, "f")
