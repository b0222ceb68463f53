"""`.dockerignore` glob patterns as regular expressions (Go's filepath.Match plus `**`), shared
by `watch` rules (plan/watch.py) and shipped folders' `.devenvignore` (plan/shipping.py)."""

from __future__ import annotations

import re


def glob_regex(pattern: str) -> str:
    """A regex for a relative `.dockerignore` pattern (Go's filepath.Match plus `**`)."""
    out, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                i += 2
                if pattern.startswith("/", i):  # `**/`: zero or more folders
                    i += 1
                    out += "(?:.*/)?"
                else:
                    out += ".*"
                continue
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = _class_end(pattern, i)
            if end < 0:
                out += re.escape(c)
            else:
                body = pattern[i + 1 : end]
                negate = body.startswith(("!", "^"))
                out += "[" + ("^/" if negate else "") + _class_body(body[1:] if negate else body) + "]"
                i = end
        elif c == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(c)
        i += 1
    return out


def _class_end(pattern: str, start: int) -> int:
    """The index of the `]` closing the class opened at `start` (-1: none; `[` is then literal)."""
    i = start + 1
    if i < len(pattern) and pattern[i] in "!^":
        i += 1
    first = i
    while i < len(pattern):
        if pattern[i] == "\\":
            i += 2
            continue
        if pattern[i] == "]" and i > first:
            return i
        i += 1
    return -1


def _class_body(body: str) -> str:
    """A `[...]` class's characters for a regex: ranges kept, everything else literal."""
    out, i = "", 0
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            i += 1
            out += re.escape(body[i])
        else:
            out += "-" if c == "-" and 0 < i < len(body) - 1 else re.escape(c)
        i += 1
    return out
