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
from collections.abc import Iterator, Mapping

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
    end: int = 0  # the last line of the instruction (its continuation lines; heredoc bodies not counted)


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
        end = i
        joined = " ".join(p.strip() for p in parts)
        keyword, _, rest = joined.partition(" ")
        keyword = keyword.upper()
        if keyword in ("RUN", "COPY", "ADD"):
            for match in _HEREDOC.finditer(rest):  # skip the bodies: their lines are no instructions
                strip_tabs, name = match.group(1) == "-", match.group(3)
                while i < len(lines) and (lines[i].lstrip("\t") if strip_tabs else lines[i]).rstrip("\r") != name:
                    i += 1
                i += 1
        yield Instruction(start, keyword, rest.strip(), end)


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


# ---- FROM: the stages and their bases (what `devenv lock` pins) -----------------------------------

PLATFORM_ARGS = ("BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
                 "TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT")
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")


@dataclasses.dataclass(frozen=True)
class Stage:
    """One `FROM` of a Dockerfile, ARGs expanded."""

    index: int
    name: str | None  # `AS name`, lower-cased as BuildKit does
    line: int
    ref: str  # the image (or earlier stage) named, after expansion
    platform: str | None = None  # `--platform=...`, expanded
    stage_ref: str | None = None  # the earlier stage it builds on (then it has no base image)
    scratch: bool = False

    @property
    def label(self) -> str:
        """The stage as the lock names it: its name, or its index."""
        return self.name or str(self.index)

    @property
    def base(self) -> str | None:
        """The image this stage pulls, None for `scratch` or an earlier stage."""
        return None if self.stage_ref is not None or self.scratch else self.ref


def platform_args(target: str, build: str | None = None) -> dict[str, str]:
    """The predefined ARGs BUILDPLATFORM/BUILDOS/... and TARGETPLATFORM/TARGETOS/... for `os/arch[/variant]`."""
    out: dict[str, str] = {}
    for prefix, value in (("BUILD", build or target), ("TARGET", target)):
        parts = (value.split("/") + ["", "", ""])[:3]
        out.update({f"{prefix}PLATFORM": value, f"{prefix}OS": parts[0], f"{prefix}ARCH": parts[1], f"{prefix}VARIANT": parts[2]})
    return out


class ExpansionError(ValueError):
    """A `${VAR?message}` whose variable is unset, an unterminated `${`, a malformed FROM;
    `line` is the instruction's line when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


def expand(word: str, env: Mapping[str, str], escape: str = "\\") -> str:
    """`word` as BuildKit's shell lexer expands it: `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`,
    `${VAR:+x}`, `${VAR+x}`, `${VAR:?x}`, quotes removed (single quotes literal), `escape` quoting
    the next character."""
    out, _ = _expand(word, 0, env, escape, stop="")
    return out


def _expand(word: str, i: int, env: Mapping[str, str], escape: str, stop: str) -> tuple[str, int]:
    """Expand from `i` until `stop` (a `}` closing an operand) or the end; returns (text, index after)."""
    out: list[str] = []
    quote = ""
    while i < len(word):
        c = word[i]
        if not quote and stop and c == stop:
            return "".join(out), i + 1
        if c == escape and quote != "'":
            if i + 1 < len(word):
                nxt = word[i + 1]
                # inside double quotes only `"`, `$` and the escape itself are escaped
                if quote == '"' and nxt not in ('"', "$", escape):
                    out.append(c)
                out.append(nxt)
                i += 2
            else:
                out.append(c)
                i += 1
            continue
        if c in "'\"" and (not quote or quote == c):
            quote = "" if quote else c
            i += 1
            continue
        if c == "$" and quote != "'":
            text, i = _variable(word, i + 1, env, escape)
            out.append(text)
            continue
        out.append(c)
        i += 1
    if stop:
        raise ExpansionError(f"missing '}}' in {word!r}")
    return "".join(out), i


def _variable(word: str, i: int, env: Mapping[str, str], escape: str) -> tuple[str, int]:
    """After a `$`: the variable's expansion and the index after it."""
    if i < len(word) and word[i] == "{":
        j = i + 1
        while j < len(word) and _NAME_CHAR.match(word[j]):
            j += 1
        name = word[i + 1:j]
        if not name:
            raise ExpansionError(f"bad substitution in {word!r}")
        if j < len(word) and word[j] == "}":
            return env.get(name, ""), j + 1
        colon = j < len(word) and word[j] == ":"
        op_at = j + 1 if colon else j
        if op_at >= len(word) or word[op_at] not in "-+?":
            raise ExpansionError(f"unsupported modifier in {word!r}")
        op = word[op_at]
        operand, after = _expand(word, op_at + 1, env, escape, stop="}")
        value = env.get(name)
        is_set = value is not None and (value != "" if colon else True)
        if op == "-":
            return (value if is_set else operand) or "", after
        if op == "+":
            return (operand if is_set else ""), after
        if not is_set:
            raise ExpansionError(f"{name}: {operand or 'is not set'}")
        return value or "", after
    j = i
    chars = str.isdigit if i < len(word) and word[i].isdigit() else (lambda ch: bool(_NAME_CHAR.match(ch)))
    while j < len(word) and chars(word[j]):  # `$1x`: a positional name is its digits only
        j += 1
    if j == i:
        return "$", i  # a lone `$` is itself
    return env.get(word[i:j], ""), j


def _arg_pairs(rest: str) -> Iterator[tuple[str, str | None]]:
    """`ARG a=1 b c="x y"`: the (name, default) pairs, the defaults as written (expanded later)."""
    import shlex

    try:
        words = shlex.split(rest, posix=False)
    except ValueError:
        words = rest.split()
    for word in words:
        name, sep, default = word.partition("=")
        yield name, (default if sep else None)


def stages(
    text: str, build_args: Mapping[str, str | None] | None = None, platforms: Mapping[str, str] | None = None
) -> list[Stage]:
    """Every `FROM` in order. The global ARGs (before the first FROM) take their defaults, then the
    build args; `platforms` gives the predefined ARGs (platform_args). A FROM naming an earlier
    stage (case-insensitive) or `scratch` has no base. Raises ExpansionError for `${X?...}` unset."""
    escape = directives(text).get("escape", "\\") or "\\"
    args = build_args or {}
    env: dict[str, str] = dict(platforms or {})
    found: list[Stage] = []
    names: set[str] = set()
    for ins in instructions(text):
        try:
            stage = _stage(ins, env, args, escape, found, names)
        except ExpansionError as exc:
            raise ExpansionError(str(exc), ins.line) from None
        if stage is not None:
            found.append(stage)
            if stage.name:
                names.add(stage.name)
    return found


def _stage(
    ins: Instruction, env: dict[str, str], args: Mapping[str, str | None], escape: str, found: list[Stage], names: set[str]
) -> Stage | None:
    """A FROM's stage; a global ARG updates `env`; other instructions give None."""
    if ins.keyword == "ARG" and not found:
        for name, default in _arg_pairs(ins.rest):
            if args.get(name) is not None:
                env[name] = str(args[name])
            elif default is not None:
                env[name] = expand(default, env, escape)
            else:
                env.setdefault(name, "")
        return None
    if ins.keyword != "FROM":
        return None
    words = ins.rest.split()
    platform: str | None = None
    while words and words[0].startswith("--"):
        flag, _, value = words.pop(0)[2:].partition("=")
        if flag == "platform":
            platform = expand(value, env, escape) or None
    if len(words) not in (1, 3) or (len(words) == 3 and words[1].lower() != "as"):
        raise ExpansionError("FROM requires either one or three arguments (FROM IMAGE [AS NAME])")
    ref = expand(words[0], env, escape)
    if not ref:
        raise ExpansionError(f"FROM {words[0]}: the image name is empty after expanding the ARGs")
    stage_name = words[2].lower() if len(words) == 3 else None
    stage_ref = ref.lower() if ref.lower() in names else None
    return Stage(len(found), stage_name, ins.line, ref, platform, stage_ref, scratch=ref.lower() == "scratch")


def pin_bases(text: str, pins: Mapping[int, str]) -> str:
    """The Dockerfile with the image of stage N's `FROM` replaced by `pins[N]` (`ref@digest`); its
    flags and `AS name` kept, its continuation lines left empty so line numbers stay."""
    lines = text.splitlines()
    index = -1
    for ins in instructions(text):
        if ins.keyword != "FROM":
            continue
        index += 1
        if index not in pins:
            continue
        words = ins.rest.split()
        flags = []
        while words and words[0].startswith("--"):
            flags.append(words.pop(0))
        alias = words[1:3] if len(words) >= 3 and words[1].lower() == "as" else []
        lines[ins.line - 1] = " ".join(["FROM", *flags, pins[index], *alias])
        for number in range(ins.line, max(ins.end, ins.line)):
            lines[number] = ""
    return "\n".join(lines) + "\n"
