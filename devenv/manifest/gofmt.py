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
    """Go's %v for float64: shortest representation, exponent only when the exponent is < -4 or >= 21."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, _, exp = text.partition("e")
        exponent = int(exp)
        if -4 <= exponent < 21:
            return _plain(value)
        sign = "-" if exponent < 0 else "+"
        return f"{mantissa}e{sign}{abs(exponent):02d}"
    if text.endswith(".0"):
        return text[:-2]
    return text


def _plain(value: float) -> str:
    text = f"{value:.17f}".rstrip("0").rstrip(".")
    # keep the shortest digits repr() chose
    short = repr(value)
    digits = short.partition("e")[0].replace(".", "").replace("-", "").lstrip("0")
    if len(text.replace(".", "").replace("-", "").lstrip("0")) > len(digits):
        whole, _, frac = text.partition(".")
        text = f"{value:.{max(0, len(digits) - len(whole.lstrip('-')))}f}".rstrip("0").rstrip(".") if frac else whole
    return text
