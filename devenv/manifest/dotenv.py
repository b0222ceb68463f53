"""`.env` and `env_file` parsing, with the syntax Compose accepts.

`KEY=value`, `KEY: value`, `export KEY=value`, `# comments`, inline ` #` comments on unquoted values,
'single quotes' (literal), "double quotes" (escapes and interpolation, may span lines), and a bare
`KEY` line that inherits the value from the lookup.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from devenv.manifest.interpolate import MissingRequired, TemplateError, substitute


class DotenvError(Exception):
    def __init__(self, line: int, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}")


_EXPORT = re.compile(r"^export\s+")
_ESCAPES = re.compile(r"\\(?:[abcfnrtv$\"\\]|0[0-7]{0,3})")
_SIMPLE = {"a": "\a", "b": "\b", "c": "\\c", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}
_SPACE = "\t\v\f\r \x85\xa0"


def _expand_escapes(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        seq = m.group(0)
        if seq == "\\$":
            return "$$"
        if seq[1] == "0":
            digits = seq[2:]
            return chr(int(digits, 8)) if digits else "\0"
        return _SIMPLE.get(seq[1], seq)

    return _ESCAPES.sub(repl, text)


def parse_dotenv(text: str, lookup: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """Parse env-file text. `lookup` resolves bare keys and `${VAR}` references before earlier keys."""
    lookup = lookup or (lambda _k: None)
    out: dict[str, str] = {}
    if text.startswith("\ufeff"):
        text = text[1:]
    line = 1
    i = 0
    n = len(text)

    def resolve(name: str) -> str | None:
        value = lookup(name)
        return value if value is not None else out.get(name)

    def expand(value: str) -> str:
        try:
            return substitute(value, resolve, lambda _n: None)
        except (TemplateError, MissingRequired) as exc:
            raise DotenvError(line, f"invalid interpolation in value {value!r}") from exc

    while i < n:
        # skip blank space and comment lines
        while i < n and text[i].isspace():
            if text[i] == "\n":
                line += 1
            i += 1
        if i >= n:
            break
        if text[i] == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        rest = text[i:]
        m = _EXPORT.match(rest)
        if m:
            i += m.end()
        # key
        j = i
        key_end = None
        inherited = False
        while j < n:
            c = text[j]
            if c in _SPACE:
                j += 1
                continue
            if c in "=:\n":
                key_end = j
                inherited = c == "\n"
                break
            if c in "_.-[]" or c.isalnum():
                j += 1
                continue
            first_line = text[i:].split("\n", 1)[0]
            raise DotenvError(line, f"unexpected character {c!r} in variable name {first_line!r}")
        if key_end is None:  # last line without '=' or newline: a bare key
            key_end = n
            inherited = True
        key = text[i:key_end].rstrip()
        if " " in key or "\t" in key:
            raise DotenvError(line, "key cannot contain a space")
        if inherited:
            value = lookup(key)
            if value is not None:
                out[key] = value
            i = key_end + 1
            line += 1
            continue
        i = key_end + 1
        while i < n and text[i] in _SPACE:
            i += 1
        if i < n and text[i] in "'\"":
            quote = text[i]
            chars: list[str] = []
            escaped = False
            k = i + 1
            start_line = line
            while k < n:
                c = text[k]
                if c == "\n":
                    line += 1
                if c != quote:
                    if not escaped and c == "\\":
                        escaped = True
                        k += 1
                        continue
                    if escaped:
                        escaped = False
                        chars.append("\\")
                    chars.append(c)
                    k += 1
                    continue
                if escaped:
                    escaped = False
                    chars.append(c)
                    k += 1
                    continue
                break
            else:
                raise DotenvError(start_line, f"unterminated quoted value {text[i:].split(chr(10), 1)[0]}")
            value = "".join(chars)
            if quote == '"':
                value = expand(_expand_escapes(value))
            out[key] = value
            i = k + 1
            # ignore the remainder of the line (spaces or a comment)
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        j = text.find("\n", i)
        raw = text[i:] if j < 0 else text[i:j]
        raw = raw.split(" #", 1)[0].rstrip()
        out[key] = expand(raw)
        i = n if j < 0 else j + 1
        line += 1
    return out
