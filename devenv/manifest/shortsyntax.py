"""Parsers for Compose's short syntaxes: ports, volumes, devices, durations, byte sizes, shell commands."""

from __future__ import annotations

import ipaddress
import posixpath
import re
from typing import Any


class SyntaxProblem(ValueError):
    """A short-syntax value that cannot be parsed; the caller adds file, line and field."""


# ---------------------------------------------------------------- ports


_DIGITS = re.compile(r"[0-9]{1,10}")


def _port_range(text: str, what: str, spec: str) -> tuple[int, int]:
    start, sep, end = text.partition("-")
    try:  # ASCII digits only, as Go's ParseUint (Python's int() takes spaces, NEL, `_`, other digits)
        if not _DIGITS.fullmatch(start) or (sep and not _DIGITS.fullmatch(end)):
            raise ValueError(text)
        lo = int(start, 10)
        hi = int(end, 10) if sep else lo
    except ValueError:
        raise SyntaxProblem(f"invalid {what} port {text!r} in {spec!r}") from None
    if not (0 <= lo <= 65535 and 0 <= hi <= 65535):
        raise SyntaxProblem(f"{what} port {text!r} out of range in {spec!r}")
    if hi < lo:
        raise SyntaxProblem(f"invalid {what} port range {text!r} in {spec!r}")
    return lo, hi


def parse_port(spec: str) -> list[dict[str, Any]]:
    """`[HOST_IP:][HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]` to long-form port mappings."""
    raw, _, proto = spec.rpartition("/") if "/" in spec else (spec, "", "tcp")
    proto = (proto or "tcp").lower()
    parts = raw.split(":")
    if len(parts) == 1:
        ip, host, container = "", "", parts[0]
    elif len(parts) == 2:
        ip, host, container = "", parts[0], parts[1]
    elif len(parts) == 3:
        ip, host, container = parts
    else:
        ip, host, container = ":".join(parts[:-2]), parts[-2], parts[-1]
    if ip.startswith("[") and ip.endswith("]"):
        ip = ip[1:-1]
    if ip:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise SyntaxProblem(f"invalid IP address {ip!r} in port {spec!r}") from None
    if not container:
        raise SyntaxProblem(f"no container port in {spec!r}")
    c_lo, c_hi = _port_range(container, "container", spec)
    if host:
        h_lo, h_hi = _port_range(host, "host", spec)
        if (h_hi - h_lo) != (c_hi - c_lo) and c_hi != c_lo:
            raise SyntaxProblem(f"invalid ranges in {spec!r}: host and container ranges differ in size")
    out = []
    for i, port in enumerate(range(c_lo, c_hi + 1)):
        if not host:
            published = ""
        elif (h_hi - h_lo) == (c_hi - c_lo):
            published = str(h_lo + i)
        else:
            published = host
        entry: dict[str, Any] = {"mode": "ingress", "target": port, "protocol": proto}
        if ip:
            entry["host_ip"] = ip
        if published:
            entry["published"] = published
        out.append((f"{port}/{proto}", entry))
    out.sort(key=lambda kv: kv[0])  # Compose sorts by "port/proto" as text
    return [e for _, e in out]


# ---------------------------------------------------------------- volumes

_PROPAGATIONS = {"rprivate", "private", "rshared", "shared", "rslave", "slave"}
_SELINUX = {"z", "Z"}


def _is_file_path(source: str) -> bool:
    if not source:
        return False
    if source[0] in "./~":
        return True
    if source.startswith("\\\\"):
        return True
    return len(source) > 1 and source[0].isalpha() and source[1] == ":"


def parse_volume(spec: str) -> dict[str, Any]:
    """`[SOURCE:]TARGET[:MODE]` to a long-form service volume."""
    if not spec:
        raise SyntaxProblem("invalid empty volume spec")
    vol: dict[str, Any] = {}
    if len(spec) <= 2:
        return {"type": "volume", "target": spec, "volume": {}}
    fields: list[str] = []
    buf = ""
    depth = 0
    i = 0
    while i < len(spec):
        c = spec[i]
        if c == "$" and i + 1 < len(spec) and spec[i + 1] == "{":
            depth += 1
            buf += c
        elif c == "}" and depth:
            depth -= 1
            buf += c
        elif c == ":" and depth == 0 and not (len(buf) == 1 and buf.isalpha() and not fields):
            fields.append(buf)
            buf = ""
        else:
            buf += c
        i += 1
    fields.append(buf)
    if any(f == "" for f in fields):
        raise SyntaxProblem(f"invalid spec: {spec}: empty section between colons")
    if len(fields) > 3:
        raise SyntaxProblem(f"invalid spec: {spec}: too many colons")
    if len(fields) == 1:
        vol["target"] = fields[0]
    else:
        vol["source"], vol["target"] = fields[0], fields[1]
    bind: dict[str, Any] = {}
    if len(fields) == 3:
        for option in fields[2].split(","):
            if option == "ro":
                vol["read_only"] = True
            elif option == "rw":
                vol.pop("read_only", None)
            elif option == "nocopy":
                vol["volume"] = {"nocopy": True}
            elif option in _PROPAGATIONS:
                bind["propagation"] = option
            elif option in _SELINUX:
                bind["selinux"] = option
    source = vol.get("source", "")
    if _is_file_path(source):
        vol["type"] = "bind"
        bind["create_host_path"] = True
        vol["bind"] = bind
    else:
        vol["type"] = "volume"
        vol.setdefault("volume", {})
        if bind:
            vol["bind"] = bind
    vol["target"] = posixpath.normpath(vol["target"]) if vol["target"] else vol["target"]
    if vol["target"].startswith("//"):
        vol["target"] = "/" + vol["target"].lstrip("/")
    return vol


def parse_device(spec: str) -> dict[str, Any]:
    arr = spec.split(":")
    if len(arr) > 3:
        raise SyntaxProblem(f"confusing device mapping, please use long syntax: {spec}")
    src = arr[0]
    dst = arr[1] if len(arr) > 1 else ""
    perms = arr[2] if len(arr) > 2 else "rwm"
    return {"source": src, "target": dst or src, "permissions": perms}


# ---------------------------------------------------------------- durations (Go's time.ParseDuration and Duration.String)

# compose-go's durations add days and weeks to Go's units
_UNITS_NS = {
    "ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000, "s": 10**9, "m": 60 * 10**9,
    "h": 3600 * 10**9, "d": 24 * 3600 * 10**9, "w": 7 * 24 * 3600 * 10**9,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d|w)")


def parse_duration(value: Any) -> int:
    """A duration to nanoseconds. Numbers are seconds... no: Compose reads a bare number as nanoseconds? It rejects it."""
    if isinstance(value, bool):
        raise SyntaxProblem(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        return int(value * 10**9)
    text = str(value).strip()
    if text in ("0", ""):
        if text == "":
            raise SyntaxProblem("invalid duration ''")
        return 0
    sign = 1
    if text[0] in "+-":
        sign = -1 if text[0] == "-" else 1
        text = text[1:]
    pos = 0
    total = 0
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if not m:
            raise SyntaxProblem(f"invalid duration {value!r} (use forms like 30s, 1m30s, 500ms)")
        number, unit = m.groups()
        if "." in number:
            whole, frac = number.split(".")
            total += int(whole or 0) * _UNITS_NS[unit]
            if frac:
                total += int(int(frac) * _UNITS_NS[unit] / 10 ** len(frac))
        else:
            total += int(number) * _UNITS_NS[unit]
        pos = m.end()
    return sign * total


def _fmt_frac(v: int, prec: int) -> tuple[str, int]:
    digits = ""
    printed = False
    for _ in range(prec):
        d = v % 10
        printed = printed or d != 0
        if printed:
            digits = str(d) + digits
        v //= 10
    return ("." + digits if printed else ""), v


def format_duration(ns: int) -> str:
    """Go's time.Duration.String()."""
    if ns == 0:
        return "0s"
    neg = ns < 0
    u = -ns if neg else ns
    if u < 10**9:
        if u < 1_000:
            out = f"{u}ns"
        elif u < 1_000_000:
            frac, whole = _fmt_frac(u, 3)
            out = f"{whole}{frac}µs"
        else:
            frac, whole = _fmt_frac(u, 6)
            out = f"{whole}{frac}ms"
    else:
        frac, secs = _fmt_frac(u, 9)
        out = f"{secs % 60}{frac}s"
        mins = secs // 60
        if mins > 0:
            out = f"{mins % 60}m" + out
            hours = mins // 60
            if hours > 0:
                out = f"{hours}h" + out
    return ("-" if neg else "") + out


# ---------------------------------------------------------------- byte sizes (go-units RAMInBytes)

_BYTES = re.compile(r"^(\d+(?:\.\d+)?)\s*([kKmMgGtTpP]?)[iI]?[bB]?$")
_BYTE_MULT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}


def parse_bytes(value: Any) -> int:
    if isinstance(value, bool):
        raise SyntaxProblem(f"invalid size {value!r}")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise SyntaxProblem(f"invalid size {value!r}")
        return int(value)
    text = str(value).strip()
    try:
        return int(text, 10)
    except ValueError:
        pass
    m = _BYTES.match(text)
    if not m:
        raise SyntaxProblem(f"invalid size {value!r} (use forms like 512m, 1g, 1048576)")
    return int(float(m.group(1)) * _BYTE_MULT[m.group(2).lower()])


# ---------------------------------------------------------------- shell words


_PLAIN_RUN = re.compile(r"[^ \t\r\n'\"\\]+")
_SPACE_RUN = re.compile(r"[ \t\r\n]+")
_DOUBLE_RUN = re.compile(r'[^"\\]+')


def split_command(text: str) -> list[str]:
    """Split a string command like a POSIX shell would (quotes, escapes), without running anything.

    The words of `shlex.split(text)` (posix, no comments), in linear time: shlex grows each word one
    character at a time, which is quadratic on a long word."""
    words: list[str] = []
    word: list[str] = []
    quoted = False  # the current word has a quote, so it exists even if empty (`''`)
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n":
            if word or quoted:
                words.append("".join(word))
            word, quoted = [], False
            i = _SPACE_RUN.match(text, i).end()  # type: ignore[union-attr]
        elif c == "'":
            close = text.find("'", i + 1)
            if close < 0:
                raise SyntaxProblem(f"invalid command {_short(text)}: No closing quotation")
            word.append(text[i + 1 : close])
            quoted, i = True, close + 1
        elif c == '"':
            quoted, i = True, i + 1
            while True:
                if i >= n:
                    raise SyntaxProblem(f"invalid command {_short(text)}: No closing quotation")
                if text[i] == '"':
                    i += 1
                    break
                if text[i] == "\\":
                    if i + 1 >= n:
                        raise SyntaxProblem(f"invalid command {_short(text)}: No escaped character")
                    nxt = text[i + 1]
                    word.append(nxt if nxt in '"\\' else "\\" + nxt)
                    i += 2
                else:
                    end = _DOUBLE_RUN.match(text, i).end()  # type: ignore[union-attr]
                    word.append(text[i:end])
                    i = end
        elif c == "\\":
            if i + 1 >= n:
                raise SyntaxProblem(f"invalid command {_short(text)}: No escaped character")
            word.append(text[i + 1])
            i += 2
        else:
            end = _PLAIN_RUN.match(text, i).end()  # type: ignore[union-attr]
            word.append(text[i:end])
            i = end
    if word or quoted:
        words.append("".join(word))
    return words


def _short(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:77] + "...")
