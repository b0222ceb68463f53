"""Interpolation pass: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?msg}`, `${VAR?msg}`,
`${VAR:+alt}`, `${VAR+alt}` and `$$`, in every value (never in keys), as the Compose specification says.

After substitution, values at paths that Compose types as booleans or numbers are cast, so
`privileged: "${PRIV:-false}"` becomes a real boolean.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Literal

from devenv.errors import ManifestError
from devenv.manifest.tags import Override
from devenv.manifest.treepath import Path, PatternTable, dotted

Lookup = Callable[[str], "str | None"]


class TemplateError(Exception):
    pass


class MissingRequired(Exception):
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        super().__init__(name)


def _is_name_start(c: str) -> bool:
    return c == "_" or ("a" <= c <= "z") or ("A" <= c <= "Z")


def _is_name_char(c: str) -> bool:
    return _is_name_start(c) or c.isdigit() and c.isascii()


def _closing_brace(text: str, start: int) -> int:
    """Index of the `}` closing the `${` that opens at text[start-2:start], or -1."""
    depth = 1
    i = start
    while i < len(text):
        c = text[i]
        if c == "}":
            depth -= 1
            if depth == 0:
                return i
        elif c == "{":
            depth += 1
        i += 1
    return -1


_OPERATORS = (":-", ":?", ":+", "-", "?", "+")


def substitute(text: str, lookup: Lookup, unset: Callable[[str], None]) -> str:
    """Substitute one string. Raises TemplateError or MissingRequired."""
    if "$" not in text:
        return text
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "$" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif _is_name_start(nxt):
            j = i + 2
            while j < n and _is_name_char(text[j]):
                j += 1
            name = text[i + 1 : j]
            value = lookup(name)
            if value is None:
                unset(name)
                value = ""
            out.append(value)
            i = j
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                raise TemplateError(text)
            out.append(_braced(text[i + 2 : end], text, lookup, unset))
            i = end + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _braced(body: str, whole: str, lookup: Lookup, unset: Callable[[str], None]) -> str:
    if not body or not _is_name_start(body[0]):
        raise TemplateError(whole)
    j = 1
    while j < len(body) and _is_name_char(body[j]):
        j += 1
    name, rest = body[:j], body[j:]
    value = lookup(name)
    if not rest:
        if value is None:
            unset(name)
            return ""
        return value
    op = next((o for o in _OPERATORS if rest.startswith(o)), None)
    if op is None:
        raise TemplateError(whole)
    operand = rest[len(op) :]
    if op == ":-":
        return value if value else substitute(operand, lookup, unset)
    if op == "-":
        return substitute(operand, lookup, unset) if value is None else value
    if op == ":+":
        return substitute(operand, lookup, unset) if value else (value or "")
    if op == "+":
        return substitute(operand, lookup, unset) if value is not None else ""
    # required
    if value is None or (op == ":?" and value == ""):
        raise MissingRequired(name, substitute(operand, lookup, unset))
    return value


# Paths whose interpolated string values Compose casts to a typed value ("*" is any key or index).
_BOOL, _INT, _FLOAT = "bool", "int", "float"
_CASTS: dict[tuple[str, ...], str] = {
    ("services", "*", "cpu_count"): _INT,
    ("services", "*", "cpu_percent"): _FLOAT,
    ("services", "*", "cpu_period"): _INT,
    ("services", "*", "cpu_quota"): _INT,
    ("services", "*", "cpu_rt_period"): _INT,
    ("services", "*", "cpu_rt_runtime"): _INT,
    ("services", "*", "cpus"): _FLOAT,
    ("services", "*", "cpu_shares"): _INT,
    ("services", "*", "init"): _BOOL,
    ("services", "*", "depends_on", "*", "required"): _BOOL,
    ("services", "*", "depends_on", "*", "restart"): _BOOL,
    ("services", "*", "deploy", "replicas"): _INT,
    ("services", "*", "deploy", "update_config", "parallelism"): _INT,
    ("services", "*", "deploy", "update_config", "max_failure_ratio"): _FLOAT,
    ("services", "*", "deploy", "rollback_config", "parallelism"): _INT,
    ("services", "*", "deploy", "rollback_config", "max_failure_ratio"): _FLOAT,
    ("services", "*", "deploy", "restart_policy", "max_attempts"): _INT,
    ("services", "*", "deploy", "placement", "max_replicas_per_node"): _INT,
    ("services", "*", "healthcheck", "retries"): _INT,
    ("services", "*", "healthcheck", "disable"): _BOOL,
    ("services", "*", "oom_kill_disable"): _BOOL,
    ("services", "*", "oom_score_adj"): _INT,
    ("services", "*", "pids_limit"): _INT,
    ("services", "*", "ports", "*", "target"): _INT,
    ("services", "*", "privileged"): _BOOL,
    ("services", "*", "read_only"): _BOOL,
    ("services", "*", "scale"): _INT,
    ("services", "*", "stdin_open"): _BOOL,
    ("services", "*", "tty"): _BOOL,
    ("services", "*", "ulimits", "*"): _INT,
    ("services", "*", "ulimits", "*", "hard"): _INT,
    ("services", "*", "ulimits", "*", "soft"): _INT,
    ("services", "*", "volumes", "*", "read_only"): _BOOL,
    ("services", "*", "volumes", "*", "volume", "nocopy"): _BOOL,
    ("networks", "*", "external"): _BOOL,
    ("networks", "*", "internal"): _BOOL,
    ("networks", "*", "attachable"): _BOOL,
    ("networks", "*", "enable_ipv4"): _BOOL,
    ("networks", "*", "enable_ipv6"): _BOOL,
    ("volumes", "*", "external"): _BOOL,
    ("secrets", "*", "external"): _BOOL,
    ("configs", "*", "external"): _BOOL,
}
_CAST_TABLE: PatternTable[str] = PatternTable({".".join(pattern): kind for pattern, kind in _CASTS.items()})


_GO_INT = re.compile(r"[-+]?[0-9]+")


def _cast(value: str, kind: str) -> Any:
    if kind == _BOOL:
        low = value.lower()
        if low in ("true", "y", "yes", "on"):
            return True
        if low in ("false", "n", "no", "off"):
            return False
        raise ValueError(f"invalid boolean: {value}")
    if kind == _INT:  # Go's ParseInt(value, 10, 64): ASCII digits, a sign, no spaces or `_`
        if not _GO_INT.fullmatch(value):
            raise ValueError(f'strconv.ParseInt: parsing "{value[:80]}": invalid syntax')
        number = int(value, 10) if len(value) <= 40 else 2**64
        if not -(2**63) <= number < 2**63:
            raise ValueError(f'strconv.ParseInt: parsing "{value[:80]}": value out of range')
        return number
    if "_" in value or value != value.strip(" \t\r\n") or not value.isascii():  # Python's float() is laxer than Go's
        raise ValueError(f'strconv.ParseFloat: parsing "{value[:80]}": invalid syntax')
    return float(value)


class Interpolator:
    """Interpolates a whole document; `lines` maps paths to line numbers for errors."""

    def __init__(self, environ: Mapping[str, str], file: str, lines: Mapping[Path, int], warn: Callable[[str], None]):
        self.environ = environ
        self.file = file
        self.lines = lines
        self.warn = warn
        self.warned: set[str] = set()

    def _unset(self, name: str) -> None:
        if name not in self.warned:
            self.warned.add(name)
            self.warn(f'The "{name}" variable is not set. Defaulting to a blank string.')

    def _lookup(self, name: str) -> str | None:
        return self.environ.get(name)

    def _error(self, path: Path, message: str) -> ManifestError:
        line = None
        for k in range(len(path), 0, -1):
            line = self.lines.get(path[:k])
            if line:
                break
        return ManifestError(message, self.file, line, dotted(path) or None)

    def value(self, value: Any, path: Path = (), node: PatternTable[str] | None | Literal[True] = True) -> Any:
        """Interpolate every string below `value`; `node` is the cast trie at `path` (True: from the root)."""
        if node is True:
            node = _CAST_TABLE.lookup_node(path)
        if isinstance(value, str):
            try:
                new = substitute(value, self._lookup, self._unset)
            except TemplateError as exc:
                raise self._error(
                    path, f"invalid interpolation format {exc.args[0]!r} (write $$ for a literal $)"
                ) from None
            except MissingRequired as exc:
                reason = f": {exc.reason}" if exc.reason else ""
                raise self._error(path, f"required variable {exc.name} is missing a value{reason}") from None
            kind = node.value if node is not None else None
            if kind is not None:
                try:
                    return _cast(new, kind)
                except ValueError:
                    raise self._error(path, f"{new!r} is not a valid {'boolean' if kind == _BOOL else 'number'}") from None
            return new
        if isinstance(value, dict):
            return {
                k: self.value(v, path + (k,), node.step(k) if node is not None else None) for k, v in value.items()
            }
        if isinstance(value, list):
            star = node.star if node is not None else None
            return [self.value(v, path + (i,), star) for i, v in enumerate(value)]
        if isinstance(value, Override):
            return Override(self.value(value.value, path, node))
        return value
