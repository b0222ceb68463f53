"""Validate a Compose document against the Compose Specification's JSON Schema, with readable errors.

The schema (`compose-spec.json`, draft-07) is compiled once, on first use, into a tree of `_Node`s whose
checks are closures; validation stops at the first problem, in document order.  Only the draft-07 keywords
listed in `_BUILDERS` (plus "type" and annotations) are implemented, and compiling fails on any other, so a
newer schema can never be enforced less strictly than it says without anyone noticing.

Where compose-go (Compose v2) and a literal reading of the schema differ, this follows compose-go:
- "integer" also accepts a float with no fractional part (`2.0`): compose-go validates a JSON round-trip
  of the document, and JSON Schema defines integers that way.
- "format" is an annotation only.  The schema uses no format today; compose-go would check only
  "duration" (with Go's `time.ParseDuration`), and durations are parsed later anyway.
- "uniqueItems" is not enforced on the lists that compose-go de-duplicates before validating
  (`_DEDUPLICATED`: ports, environment, cap_add, ...); merging keeps the last of equal entries.
- A `!reset` value is valid anywhere, and its key or list item counts as absent (even a key that is
  not allowed); an `!override` value is checked as the value it wraps.  compose-go validates after
  applying both.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from functools import cache
from typing import Any, NamedTuple

from devenv.manifest.tags import Override, Reset
from devenv.manifest.treepath import dotted

SCHEMA_FILE = "compose-spec.json"

_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated"})
_EXTENSION = "^x-"  # the pattern of `x-` extension keys: they are not names a user could have misspelt
_ANY_KEY, _ANY_ITEM = "*", "[]"
# Lists that compose-go de-duplicates before validating (compose-go override/uncity.go), as data paths.
_DEDUPLICATED = frozenset(
    tuple(path.split("."))
    for path in (
        "networks.*.labels",
        "services.*.annotations",
        "services.*.build.additional_contexts",
        "services.*.build.args",
        "services.*.build.labels",
        "services.*.build.tags",
        "services.*.cap_add",
        "services.*.cap_drop",
        "services.*.configs",
        "services.*.deploy.labels",
        "services.*.devices",
        "services.*.dns",
        "services.*.dns_opt",
        "services.*.dns_search",
        "services.*.env_file",
        "services.*.environment",
        "services.*.expose",
        "services.*.labels",
        "services.*.links",
        "services.*.networks.*.aliases",
        "services.*.networks.*.link_local_ips",
        "services.*.ports",
        "services.*.profiles",
        "services.*.secrets",
        "services.*.sysctls",
        "services.*.tmpfs",
        "services.*.volumes",
    )
)
_ARTICLE = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "a boolean",
    "object": "a mapping",
    "array": "a list",
    "null": "null",
}
_KIND = {str: "string", dict: "object", list: "array", bool: "boolean", int: "integer", type(None): "null"}


class SchemaViolation(Exception):
    """A document breaks the Compose schema: `path` points at the offending value, `message` says why."""

    def __init__(self, path: tuple, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message

    def __str__(self) -> str:
        return f"{dotted(self.path)}: {self.message}" if self.path else self.message


def validate(data: Any) -> None:
    """Raise `SchemaViolation` for the first problem in `data` (one parsed, interpolated Compose file)."""
    failure = _root().check(data)
    if failure is not None:
        raise SchemaViolation(tuple(reversed(failure.rpath)), failure.message)


class _Failure:
    """A problem on its way up: the path is collected in reverse, and only when something fails."""

    __slots__ = ("message", "rpath")

    def __init__(self, message: str) -> None:
        self.message = message
        self.rpath: list[str | int] = []

    def at(self, part: str | int) -> _Failure:
        self.rpath.append(part)
        return self


_Check = Callable[[Any], "_Failure | None"]


class _Node:
    """One compiled schema: the JSON `types` it can accept (None: any) and the `checks` to run in order."""

    __slots__ = ("types", "kinds", "checks")

    def __init__(self) -> None:
        self.types: tuple[str, ...] | None = None
        self.kinds: frozenset[str] | None = None
        self.checks: list[_Check] = []

    def restrict(self, types: tuple[str, ...] | None) -> None:
        """Narrow the accepted types (a superset is fine: they only pick oneOf branches and word messages)."""
        if types is None:
            return
        if self.types is not None:
            types = tuple(t for t in self.types if _kinds((t,)) & _kinds(types))
        self.types, self.kinds = types, _kinds(types)

    def check(self, value: Any) -> _Failure | None:
        if type(value) is Override:
            value = value.value
        elif type(value) is Reset:
            return None
        for check in self.checks:
            failure = check(value)
            if failure is not None:
                return failure
        return None


def _kinds(types: tuple[str, ...]) -> frozenset[str]:
    """The value kinds (see `_kind`) that JSON types accept: a "number" may be an integer."""
    return frozenset(types) | ({"integer"} if "number" in types else set())


def _kind(value: Any) -> str:
    """The JSON type of a value; "integer" includes floats like 2.0, "number" means other floats."""
    kind = _KIND.get(type(value))
    if kind is not None:
        return kind
    if isinstance(value, float):
        return "integer" if value.is_integer() else "number"
    return type(value).__name__


@cache
def _root() -> _Node:
    with open(os.path.join(os.path.dirname(__file__), SCHEMA_FILE), encoding="utf-8") as file:
        schema = json.load(file)
    return _Compiler(schema).compile(schema, _Site("#", ()))


class _Site(NamedTuple):
    """Where a schema applies: its JSON pointer, and the document paths it validates ("*": any key)."""

    pointer: str
    data: tuple[str, ...]

    def child(self, *keywords: str | int, data: str | None = None) -> _Site:
        pointer = "/".join((self.pointer, *map(str, keywords)))
        return _Site(pointer, self.data if data is None else self.data + (data,))


class _Compiler:
    def __init__(self, root: dict) -> None:
        self.root = root
        self.refs: dict[tuple[str, tuple[str, ...] | None], _Node] = {}

    def compile(self, schema: Any, site: _Site) -> _Node:
        if not isinstance(schema, dict):
            raise ValueError(f"{site.pointer}: a schema must be an object, not {schema!r}")
        if "$ref" in schema:
            extra = set(schema) - _ANNOTATIONS - {"$ref"}
            if extra:  # draft-07 ignores keywords beside $ref; refuse rather than silently drop them
                raise ValueError(f"{site.pointer}: keywords beside $ref would be ignored: {sorted(extra)}")
            return self.ref(schema["$ref"], site)
        node = _Node()
        self.fill(node, schema, site)
        return node

    def ref(self, ref: str, site: _Site) -> _Node:
        # A definition is compiled once, unless a de-duplicated list lies at or under where it is used.
        on_the_way = any(path[: len(site.data)] == site.data for path in _DEDUPLICATED)
        key = (ref, site.data if on_the_way else None)
        node = self.refs.get(key)
        if node is None:
            if not ref.startswith("#/"):
                raise ValueError(f"{site.pointer}: only local references are supported, not {ref!r}")
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            node = self.refs[key] = _Node()  # registered before filling, so that cycles resolve
            self.fill(node, target, _Site(ref, site.data))
        return node

    def fill(self, node: _Node, schema: dict, site: _Site) -> None:
        unknown = set(schema) - _ANNOTATIONS - _KEYWORDS - {"type", "definitions", "format"}
        if unknown:
            raise ValueError(f"{site.pointer}: unsupported JSON Schema keywords {sorted(unknown)}")
        if "type" in schema:
            types = schema["type"]
            node.restrict(tuple(types) if isinstance(types, list) else (types,))
            node.checks.append(_type_check(node.types or ()))
        for keywords, build in _BUILDERS:
            if not keywords.isdisjoint(schema):
                check = build(self, schema, site, node)
                if check is not None:
                    node.checks.append(check)


# --- keywords: a builder gets the schema, where it applies and its node; it returns the check to run


def _type_check(types: tuple[str, ...]) -> _Check:
    kinds = _kinds(types)

    def check(value: Any) -> _Failure | None:
        kind = _KIND.get(type(value)) or _kind(value)
        return None if kind in kinds else _Failure(_type_message(types, value))

    return check


def _enum(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    allowed = schema["enum"]
    keys = {_canon(v) for v in allowed}
    listing = ", ".join(v if isinstance(v, str) else _show(v) for v in allowed)

    def check(value: Any) -> _Failure | None:
        return None if _canon(value) in keys else _Failure(f"must be one of: {listing} (got {_show(value)})")

    return check


def _const(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    want = schema["const"]
    key = _canon(want)

    def check(value: Any) -> _Failure | None:
        return None if _canon(value) == key else _Failure(f"must be {_show(want)} (got {_show(value)})")

    return check


def _pattern(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    pattern = schema["pattern"]
    search = re.compile(pattern).search

    def check(value: Any) -> _Failure | None:
        if not isinstance(value, str) or search(value):
            return None
        return _Failure(f"must match the pattern {pattern!r} (got {_show(value)})")

    return check


def _minimum(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    bound = schema["minimum"]

    def check(value: Any) -> _Failure | None:
        if _is_number(value) and value < bound:
            return _Failure(f"must be at least {bound} (got {_show(value)})")
        return None

    return check


def _maximum(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    bound = schema["maximum"]

    def check(value: Any) -> _Failure | None:
        if _is_number(value) and value > bound:
            return _Failure(f"must be at most {bound} (got {_show(value)})")
        return None

    return check


def _object(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    """properties, patternProperties and additionalProperties, which only make sense together."""
    props = {
        name: compiler.compile(sub, site.child("properties", name, data=name))
        for name, sub in schema.get("properties", {}).items()
    }
    patterns = [
        (re.compile(p).search, compiler.compile(sub, site.child("patternProperties", p, data=_ANY_KEY)))
        for p, sub in schema.get("patternProperties", {}).items()
    ]
    extra = schema.get("additionalProperties", True)
    additional = (
        compiler.compile(extra, site.child("additionalProperties", data=_ANY_KEY)) if isinstance(extra, dict) else None
    )
    unknown = _unknown_key_message(list(props), list(schema.get("patternProperties", {}))) if extra is False else None

    def check(value: Any) -> _Failure | None:
        if not isinstance(value, dict):
            return None
        for key, item in value.items():
            if type(item) is Reset:  # the key is removed: it may even be one that is not allowed
                continue
            name = key if isinstance(key, str) else str(key)
            sub = props.get(name)
            matched = sub is not None
            if sub is not None and sub.checks and (failure := sub.check(item)) is not None:
                return failure.at(key)
            for search, pattern_sub in patterns:
                if search(name):
                    matched = True
                    if pattern_sub.checks and (failure := pattern_sub.check(item)) is not None:
                        return failure.at(key)
            if matched:
                continue
            if unknown is not None:
                return _Failure(unknown(name)).at(key)
            if additional is not None and (failure := additional.check(item)) is not None:
                return failure.at(key)
        return None

    return check


def _required(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    names = schema["required"]

    def check(value: Any) -> _Failure | None:
        if isinstance(value, dict):
            for name in names:
                if name not in value or type(value[name]) is Reset:
                    return _Failure(f"{name!r} is required")
        return None

    return check


def _items(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    if not isinstance(schema["items"], dict):
        raise ValueError(f"{site.pointer}/items: only a single schema is supported")
    items = compiler.compile(schema["items"], site.child("items", data=_ANY_ITEM))

    def check(value: Any) -> _Failure | None:
        if isinstance(value, list) and items.checks:
            for index, item in enumerate(value):
                failure = items.check(item)
                if failure is not None:
                    return failure.at(index)
        return None

    return check


def _unique_items(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check | None:
    if not schema["uniqueItems"] or site.data in _DEDUPLICATED:
        return None

    def check(value: Any) -> _Failure | None:
        if isinstance(value, list):
            seen: set = set()
            for item in value:
                if type(item) is Reset:  # the item is removed
                    continue
                key = _canon(item)
                if key in seen:
                    return _Failure(f"contains a duplicate item {_show(item)}")
                seen.add(key)
        return None

    return check


def _all_of(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    branches = [compiler.compile(sub, site.child("allOf", i)) for i, sub in enumerate(schema["allOf"])]
    for branch in branches:
        node.restrict(branch.types)

    def check(value: Any) -> _Failure | None:
        for branch in branches:
            failure = branch.check(value)
            if failure is not None:
                return failure
        return None

    return check


def _any_of(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    return _alternatives(compiler, schema["anyOf"], site.child("anyOf"), node, exactly_one=False)


def _one_of(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    return _alternatives(compiler, schema["oneOf"], site.child("oneOf"), node, exactly_one=True)


def _alternatives(compiler: _Compiler, schemas: list, site: _Site, node: _Node, exactly_one: bool) -> _Check:
    """oneOf/anyOf: only branches whose type fits the value are tried; of their failures the deepest wins."""
    branches = [compiler.compile(sub, site.child(i)) for i, sub in enumerate(schemas)]
    if all(b.types is not None for b in branches):
        node.restrict(tuple(dict.fromkeys(t for b in branches for t in b.types or ())))
    by_kind: dict[str, list[_Node]] = {}

    def check(value: Any) -> _Failure | None:
        kind = _KIND.get(type(value)) or _kind(value)
        candidates = by_kind.get(kind)
        if candidates is None:  # chosen at run time: a branch in a reference cycle gets its types late
            candidates = by_kind[kind] = [b for b in branches if b.kinds is None or kind in b.kinds]
        if not candidates:
            return _Failure(_type_message(tuple(dict.fromkeys(t for b in branches for t in b.types or ())), value))
        if len(candidates) == 1:
            return candidates[0].check(value)
        failures = []
        for branch in candidates:
            failure = branch.check(value)
            if failure is not None:
                failures.append(failure)
            elif not exactly_one:
                return None
        if len(failures) == len(candidates) - 1:
            return None
        if len(failures) < len(candidates):
            return _Failure("is ambiguous: it matches more than one of the allowed forms")
        return max(failures, key=lambda f: len(f.rpath))  # max() keeps the first of equals

    return check


def _not(compiler: _Compiler, schema: dict, site: _Site, node: _Node) -> _Check:
    forbidden = compiler.compile(schema["not"], site.child("not"))

    def check(value: Any) -> _Failure | None:
        return _Failure("has a form that is not allowed here") if forbidden.check(value) is None else None

    return check


# In the order their checks run, after "type": the value itself, then its contents, then the combinators.
_BUILDERS: tuple[tuple[frozenset[str], Callable[[_Compiler, dict, _Site, _Node], _Check | None]], ...] = tuple(
    (frozenset(keywords.split()), build)
    for keywords, build in (
        ("enum", _enum),
        ("const", _const),
        ("pattern", _pattern),
        ("minimum", _minimum),
        ("maximum", _maximum),
        ("properties patternProperties additionalProperties", _object),
        ("required", _required),
        ("items", _items),
        ("uniqueItems", _unique_items),
        ("allOf", _all_of),
        ("anyOf", _any_of),
        ("oneOf", _one_of),
        ("not", _not),
    )
)
_KEYWORDS = frozenset(k for keywords, _ in _BUILDERS for k in keywords)


# --- messages


def _type_message(types: tuple[str, ...], value: Any) -> str:
    words = [_ARTICLE.get(t, t) for t in types]
    wanted = words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]
    kind = _kind(value)
    if kind == "number" and "integer" in types:
        got = "a fractional number"
    elif kind in ("integer", "number"):
        got = "a number"
    else:
        got = _ARTICLE.get(kind, f"a {kind}")
    return f"must be {wanted}, not {got}"


def _unknown_key_message(props: list[str], patterns: list[str]) -> Callable[[str], str]:
    """How to reject a key that additionalProperties: false forbids: a misspelt property, or a bad name."""
    names = [p for p in patterns if p != _EXTENSION]
    if names and not props:
        rule = " or ".join(_describe_name_pattern(p) for p in names)
        return lambda key: f"invalid name {key!r} ({rule})"

    def message(key: str) -> str:
        import difflib  # only for a "did you mean"

        close = difflib.get_close_matches(key, props, n=1)
        return f"additional property {key!r} is not allowed" + (f" (did you mean {close[0]!r}?)" if close else "")

    return message


_CHAR_CLASS = re.compile(r"\^\[([^\]\\^]+)\]\+\$")
_RANGES = {("a", "z"): "lowercase letters", ("A", "Z"): "uppercase letters", ("0", "9"): "digits"}


def _describe_name_pattern(pattern: str) -> str:
    """`^[a-zA-Z0-9._-]+$` -> "allowed: letters, digits, '.', '_', '-'"; other patterns are quoted."""
    if pattern in (".+", "^.+$"):
        return "must not be empty"
    match = _CHAR_CLASS.fullmatch(pattern)
    if match is None:
        return f"must match the pattern {pattern!r}"
    body, parts, i = match.group(1), [], 0
    while i < len(body):
        if i + 2 < len(body) and body[i + 1] == "-":
            low, high = body[i], body[i + 2]
            parts.append(_RANGES.get((low, high), f"{low!r} to {high!r}"))
            i += 3
        else:
            parts.append(repr(body[i]))
            i += 1
    if "lowercase letters" in parts and "uppercase letters" in parts:
        parts[parts.index("lowercase letters")] = "letters"
        parts.remove("uppercase letters")
    return "allowed: " + ", ".join(parts)


def _show(value: Any, limit: int = 60) -> str:
    """A short rendering of a value for a message, in YAML words: 'text', 3, true, null."""
    if isinstance(value, Override):
        value = value.value
    if isinstance(value, str):
        text = repr(value)
    elif isinstance(value, Reset):
        text = "!reset"
    else:
        text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _canon(value: Any) -> Any:
    """A hashable form with JSON equality: 1 == 1.0, but true != 1 and "1" != 1; wrappers are unwrapped."""
    if isinstance(value, Override):
        value = value.value
    if isinstance(value, bool):
        return ("boolean", value)
    if isinstance(value, dict):
        return ("object", frozenset((k, _canon(v)) for k, v in value.items()))
    if isinstance(value, list):
        return ("array", tuple(_canon(v) for v in value))
    return value
