"""What a Dockerfile asks of its builder (pure): the BuildKit-only features it uses, with their lines.

Two questions are answered from the text alone:
- does it need BuildKit at all (the classic builder cannot run it): `# syntax=`, `RUN --mount`,
  heredocs, `COPY --chmod`, ...;
- does it need a newer Dockerfile frontend than the one built into Docker engines before 23.0
  (BuildKit 0.8, Dockerfile syntax 1.2): heredocs, `RUN --network`, `COPY --link`, ...
  A `# syntax=` directive brings its own frontend, so the second question is moot then.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

# (instruction, flag) -> the Dockerfile syntax that brought it; the classic builder knows none.
BUILDKIT_FLAGS: dict[tuple[str, str], str] = {
    ("RUN", "mount"): "1.2",
    ("RUN", "network"): "1.3",
    ("RUN", "security"): "1.3",
    ("COPY", "chmod"): "1.2",
    ("ADD", "chmod"): "1.2",
    ("COPY", "link"): "1.4",
    ("ADD", "link"): "1.4",
    ("ADD", "checksum"): "1.6",
    ("ADD", "keep-git-dir"): "1.5",
    ("COPY", "parents"): "1.7",
    ("COPY", "exclude"): "1.7",
    ("ADD", "exclude"): "1.7",
}
HEREDOC_SYNTAX = "1.4"
BUILTIN_OLD_FRONTEND = "1.2"  # the Dockerfile frontend inside dockerd < 23

_HEREDOC = re.compile(r"(?<!<)<<(-?)([\"']?)([A-Za-z_][A-Za-z0-9_]*)\2")
_DIRECTIVE = re.compile(r"^#\s*([A-Za-z]+)\s*=\s*(.*?)\s*$")
_FLAG = re.compile(r"--([a-z][a-z-]*)(?:=|\s|$)")


@dataclasses.dataclass(frozen=True)
class Feature:
    line: int  # 1-based line of the instruction
    what: str  # "RUN --mount", "heredoc", "# syntax= directive"
    syntax: str  # the Dockerfile syntax version that brought it ("0" for a directive)

    def needs_newer_frontend(self) -> bool:
        return _version(self.syntax) > _version(BUILTIN_OLD_FRONTEND)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".") if p.isdigit())


@dataclasses.dataclass(frozen=True)
class Instruction:
    line: int
    keyword: str  # upper case
    rest: str  # the arguments, continuation lines joined


def directives(text: str) -> dict[str, str]:
    """The parser directives at the top (`# syntax=...`, `# escape=...`), keys in lower case."""
    out: dict[str, str] = {}
    for raw in text.splitlines():
        match = _DIRECTIVE.match(raw.strip())
        if not match:
            break
        key = match.group(1).lower()
        if key in out:
            break
        out[key] = match.group(2)
    return out


def instructions(text: str) -> Iterator[Instruction]:
    """The instructions with their first line, continuation lines joined, heredoc bodies skipped."""
    escape = directives(text).get("escape", "\\") or "\\"
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            i += 1
            continue
        start = i + 1
        parts = []
        while True:
            current = lines[i].rstrip()
            if current.endswith(escape):
                parts.append(current[: -len(escape)])
                i += 1
                while i < len(lines) and (not lines[i].strip() or lines[i].strip().startswith("#")):
                    i += 1  # comments and empty lines inside a continuation are dropped
                if i >= len(lines):
                    break
                continue
            parts.append(current)
            i += 1
            break
        joined = " ".join(p.strip() for p in parts)
        keyword, _, rest = joined.partition(" ")
        keyword = keyword.upper()
        if keyword in ("RUN", "COPY", "ADD"):
            for match in _HEREDOC.finditer(rest):  # skip the bodies: their lines are no instructions
                strip_tabs, name = match.group(1) == "-", match.group(3)
                while i < len(lines) and (lines[i].lstrip("\t") if strip_tabs else lines[i]).rstrip("\r") != name:
                    i += 1
                i += 1
        yield Instruction(start, keyword, rest.strip())


def _flags(rest: str) -> Iterator[str]:
    """The leading `--flag` options of an instruction."""
    for word in rest.split():
        if not word.startswith("--"):
            return
        match = _FLAG.match(word + " ")
        if match:
            yield match.group(1)


def features(text: str) -> list[Feature]:
    """The BuildKit-only features the Dockerfile uses, in order."""
    found: list[Feature] = []
    if "syntax" in directives(text):
        found.append(Feature(1, "the # syntax= directive", "0"))
    for ins in instructions(text):
        for flag in _flags(ins.rest):
            syntax = BUILDKIT_FLAGS.get((ins.keyword, flag))
            if syntax:
                found.append(Feature(ins.line, f"{ins.keyword} --{flag}", syntax))
        if ins.keyword in ("RUN", "COPY", "ADD") and _HEREDOC.search(ins.rest):
            found.append(Feature(ins.line, f"a heredoc ({ins.keyword} <<)", HEREDOC_SYNTAX))
    return found


def uses_syntax_directive(text: str) -> bool:
    return "syntax" in directives(text)
