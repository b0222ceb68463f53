"""Parse pass: YAML text to plain data plus the line of every key, with YAML 1.2 scalars as Compose reads them.

PyYAML speaks YAML 1.1, where `22:22` is a base-60 integer and `on` is true; Compose (go-yaml v3) reads
both as strings. We resolve plain scalars with the YAML 1.2 core schema instead, construct the data
ourselves (merge keys `<<`, anchors, duplicate-key errors, Compose's `!reset` and `!override` tags) and
remember where every mapping key and list item came from, so later passes can name file and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any, NamedTuple

import yaml
import yaml.reader

from devenv.errors import ManifestError
from devenv.manifest.tags import RESET, Override
from devenv.manifest.treepath import Path, dotted

try:  # libyaml's event parser is ~10x faster; composing stays in Python (see _Loader)
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover
    from yaml.parser import Parser as _Parser  # type: ignore[assignment]
    from yaml.reader import Reader as _Reader
    from yaml.scanner import Scanner as _Scanner
else:
    _Reader = _Scanner = None  # type: ignore[assignment,misc]

from yaml.composer import Composer
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

MAX_DEPTH = 256  # nesting of flow/block collections; Compose files need a handful of levels

# Alias expansion ("billion laughs") is bounded as go-yaml v3 (Compose's parser) bounds it: once a
# document has cost more than 1,000 node decodes, of which more than 100 came from expanding
# aliases, the share of alias-driven decodes may not exceed a ratio that falls from 0.99 (up to
# 400,000 decodes) to 0.10 (from 4,000,000 decodes). A 400-byte bomb is refused after a few
# thousand nodes; documents without aliases are never refused.
_RATIO_LOW, _RATIO_HIGH = 400_000, 4_000_000


def allowed_alias_ratio(decodes: int) -> float:
    """The share of decodes that may come from alias expansion after `decodes` decodes."""
    if decodes <= _RATIO_LOW:
        return 0.99
    if decodes >= _RATIO_HIGH:
        return 0.10
    return 0.99 - 0.89 * (decodes - _RATIO_LOW) / (_RATIO_HIGH - _RATIO_LOW)

_INT = re.compile(r"^[-+]?(0|[1-9][0-9]*|0[oO][0-7]+|0[xX][0-9a-fA-F]+|0[bB][01]+|0[0-7]+)$")
_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SIGNS_AND_DIGITS = frozenset("+-0123456789")
_INF = re.compile(r"^[-+]?\.(inf|Inf|INF)$")
_NAN = re.compile(r"^\.(nan|NaN|NAN)$")
_NULL = {"", "~", "null", "Null", "NULL"}
_TYPED_TAGS = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"}
_TAG_TYPES: dict[str, tuple[type, ...]] = {
    "tag:yaml.org,2002:int": (int,),
    "tag:yaml.org,2002:float": (int, float),
    "tag:yaml.org,2002:bool": (bool,),
    "tag:yaml.org,2002:null": (type(None),),
}


class TagMismatch(ValueError):
    """A scalar whose explicit tag (`!!bool abc`) does not fit its text, which go-yaml refuses."""
_TRUE = {"true", "True", "TRUE"}
_FALSE = {"false", "False", "FALSE"}




class _Composer(Composer):
    """PyYAML's composer with YAML 1.2's anchors (a redefined anchor wins for the aliases after it,
    as go-yaml does), a nesting limit, and the line of every alias (for the alias-bomb error)."""

    def __init__(self) -> None:
        Composer.__init__(self)
        self.alias_lines: dict[tuple[int, Any], int] = {}
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()  # type: ignore[attr-defined]  # a Parser method; the loader mixes it in
        if isinstance(event, AliasEvent):
            if parent is not None and event.anchor in self.anchors:
                self.alias_lines[_slot(parent, index)] = event.start_mark.line + 1 if event.start_mark else 0
            return Composer.compose_node(self, parent, index)
        if event.anchor is not None:
            self.anchors.pop(event.anchor, None)
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise _TooDeep(event.start_mark.line + 1 if event.start_mark else 0)
            return Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1


class _TooDeep(Exception):
    def __init__(self, line: int) -> None:
        self.line = line


def _slot(parent: Node, index: Any) -> tuple[int, Any]:
    """Where a child sits: its parent, and its position in a list or its key node in a mapping."""
    return (id(parent), index if isinstance(index, int) else id(index))


class _Resolver(BaseResolver):
    def resolve(self, kind, value, implicit):
        if kind is ScalarNode and implicit[0]:
            return "?"  # plain scalar: resolved later by `scalar`, the YAML 1.2 way
        return BaseResolver.resolve(self, kind, value, implicit)


if _Reader is None:

    class _Loader(_Composer, _Parser, _Resolver):
        """libyaml parses into events; Python's Composer builds the nodes. (libyaml's own composer,
        `CParser.get_node`, fails on anchors in some PyYAML builds, so it is not used.)"""

        def __init__(self, stream: str) -> None:
            _Parser.__init__(self, stream)
            _Composer.__init__(self)
            _Resolver.__init__(self)

else:  # pragma: no cover

    class _Loader(_Reader, _Scanner, _Parser, _Composer, _Resolver):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            _Reader.__init__(self, stream)
            _Scanner.__init__(self)
            _Parser.__init__(self)  # type: ignore[call-arg]  # the pure-Python Parser takes no stream
            _Composer.__init__(self)
            _Resolver.__init__(self)


def _plain(node: Node) -> bool:
    """A plain (unquoted) scalar: style None from the Python parser, '' from libyaml."""
    return not getattr(node, "style", None)


class Document(NamedTuple):
    data: Any
    lines: dict[Path, int]  # path -> 1-based line of the key (or list item)
    file: str


def scalar(value: str, tag: str, plain: bool) -> Any:
    """Resolve one scalar as go-yaml v3 does (YAML 1.2 core schema). An explicit `!!int`, `!!float`,
    `!!bool` or `!!null` tag must fit the text (TagMismatch otherwise); `!!str` keeps the text."""
    if tag != "?" and tag not in _TYPED_TAGS:
        return value
    resolved = _resolve(value)
    if tag in _TAG_TYPES:
        wrong_type = not isinstance(resolved, _TAG_TYPES[tag])
        if wrong_type or (isinstance(resolved, bool) and tag != "tag:yaml.org,2002:bool"):
            raise TagMismatch(f"cannot decode {value!r} as a !!{tag.rsplit(':', 1)[1]}")
    return resolved


def _resolve(value: str) -> Any:
    if value in _NULL:
        return None
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    # go-yaml strips underscores, then tries Go's ParseInt (base prefixes, any sign), ParseUint,
    # ParseFloat; what none of them can represent (overflow) stays a string.
    text = value.replace("_", "") if value[:1] in _SIGNS_AND_DIGITS else value
    if _INT.match(text):
        sign = -1 if text.startswith("-") else 1
        body = text.lstrip("+-").lower()
        if body.startswith(("0o", "0x", "0b")):
            number = sign * int(body, 0)
        elif len(body) > 1 and body.startswith("0"):
            number = sign * int(body, 8)
        else:
            number = sign * int(body)
        if -(2**63) <= number < 2**63 or (0 <= number < 2**64 and text[0] != "+"):
            return number
    if _FLOAT.match(text) and any(c.isdigit() for c in text):
        real = float(text)
        return value if math.isinf(real) else real
    if _INF.match(value):
        return float("-inf") if value.startswith("-") else float("inf")
    if _NAN.match(value):
        return float("nan")
    return value


class _Builder:
    def __init__(self, file: str, alias_lines: dict[tuple[int, Any], int]) -> None:
        self.file = file
        self.lines: dict[Path, int] = {}
        self.alias_lines = alias_lines
        self.decodes = 0  # nodes built, go-yaml's decodeCount
        self.alias_decodes = 0  # of which while expanding an alias
        self.aliases: list[int] = []  # lines of the aliases being expanded, innermost last
        self.origins: dict[int, Node] = {}  # id of a node `!override` retagged -> the parsed node
        self.keep: list[Node] = []

    def alias_line(self, parent: Node, index: Any) -> int | None:
        """The line of the alias at this place in the document, if the child there is one."""
        return self.alias_lines.get(_slot(self.origins.get(id(parent), parent), index))

    def error(self, node: Node, message: str, path: Path = ()) -> ManifestError:
        return ManifestError(message, self.file, node.start_mark.line + 1, dotted(path) or None)

    def child(self, parent: Node, index: Any, node: Node, path: Path) -> Any:
        """Build a list item or mapping value, counting it as alias expansion if it is an alias."""
        line = self.alias_line(parent, index)
        if line is None:
            return self.build(node, path)
        self.aliases.append(line)
        try:
            return self.build(node, path)
        finally:
            self.aliases.pop()

    def count(self, path: Path) -> None:
        self.decodes += 1
        if self.aliases:
            self.alias_decodes += 1
            if (
                self.alias_decodes > 100
                and self.decodes > 1000
                and self.alias_decodes / self.decodes > allowed_alias_ratio(self.decodes)
            ):
                raise ManifestError(
                    "document contains excessive aliasing (an alias bomb?): "
                    f"{self.alias_decodes} of {self.decodes} nodes come from expanding aliases",
                    self.file, self.aliases[0], dotted(path) or None,
                )

    def build(self, node: Node, path: Path) -> Any:
        self.count(path)
        tag = node.tag or ""
        if tag == "!reset":
            return RESET
        if tag == "!override":
            retagged = _retag(node)
            self.origins[id(retagged)] = node  # its children's aliases are recorded under `node`
            self.keep.append(retagged)  # (and its id must not be reused while building)
            return Override(self.build(retagged, path))
        if isinstance(node, ScalarNode):
            try:
                return scalar(node.value, tag, _plain(node))
            except TagMismatch as exc:
                raise self.error(node, f"invalid YAML: {exc}", path) from None
        if isinstance(node, SequenceNode):
            out = []
            for i, item in enumerate(node.value):
                self.lines.setdefault(path + (i,), item.start_mark.line + 1)
                out.append(self.child(node, i, item, path + (i,)))
            return out
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        raise self.error(node, f"unsupported YAML node {tag}")  # pragma: no cover

    def mapping(self, node: MappingNode, path: Path) -> dict:
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        merge_line = 0
        for key_node, value_node in node.value:
            self.count(path)
            if key_node.tag == "tag:yaml.org,2002:merge" or (
                isinstance(key_node, ScalarNode) and key_node.value == "<<" and _plain(key_node)
            ):
                if merge_line:  # go-yaml (and so Compose) refuses a second merge key in one mapping
                    raise self.error(key_node, f'mapping key "<<" already defined at line {merge_line}', path)
                merge_line = key_node.start_mark.line + 1
                for source, line in self._merge_sources(node, key_node, value_node):
                    if line is not None:
                        self.aliases.append(line)
                    try:
                        for k, v in self.mapping(source, path).items():
                            merged.setdefault(k, v)
                    finally:
                        if line is not None:
                            self.aliases.pop()
                continue
            if not isinstance(key_node, ScalarNode):
                raise self.error(key_node, "a mapping key must be a plain value, not a list or mapping", path)
            try:
                key = scalar(key_node.value, key_node.tag or "", _plain(key_node))
            except TagMismatch as exc:
                raise self.error(key_node, f"invalid YAML: {exc}", path) from None
            if not isinstance(key, str):
                key = _key_text(key, key_node.value)
            if key in out:
                raise self.error(
                    key_node, f"mapping key {key!r} already defined at line {self.lines.get(path + (key,), '?')}", path
                )
            self.lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = self.child(node, key_node, value_node, path + (key,))
        for k, v in merged.items():
            out.setdefault(k, v)
        return out

    def _merge_sources(self, parent: Node, key: Node, node: Node) -> Iterator[tuple[MappingNode, int | None]]:
        """The mappings a merge key merges, each with the line of the alias it came through (if any)."""
        outer = self.alias_line(parent, key)
        if isinstance(node, MappingNode):
            yield node, outer
        elif isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
            for i, item in enumerate(node.value):
                line = self.alias_line(node, i)
                yield item, (line if line is not None else outer)
        else:
            raise self.error(node, "merge key << needs a mapping or a list of mappings")


def _retag(node: Node) -> Node:
    if isinstance(node, ScalarNode):
        return ScalarNode("?" if _plain(node) else "tag:yaml.org,2002:str", node.value, node.start_mark, node.end_mark, node.style)
    if isinstance(node, SequenceNode):
        return SequenceNode("tag:yaml.org,2002:seq", node.value, node.start_mark, node.end_mark, node.flow_style)
    assert isinstance(node, MappingNode)
    return MappingNode("tag:yaml.org,2002:map", node.value, node.start_mark, node.end_mark, node.flow_style)


def _key_text(key: Any, raw: str) -> str:
    if isinstance(key, bool):
        return "true" if key else "false"
    if key is None:
        return raw if raw else ""
    return raw


def parse(text: str, file: str) -> list[Document]:
    """Parse every YAML document of a file; an empty file gives no document."""
    loader = _Loader(text)
    docs: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:  # pragma: no cover
                continue
            builder = _Builder(file, loader.alias_lines)
            data = builder.build(node, ())
            loader.alias_lines = {}
            docs.append(Document(data, builder.lines, file))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or exc.context or "invalid YAML"
        raise ManifestError(f"invalid YAML: {problem}", file, line) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow; its str() spans two lines
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        what = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
        raise ManifestError(f"invalid YAML: unacceptable character {what}: {exc.reason}", file, line) from None
    except yaml.YAMLError as exc:
        message = " ".join(str(exc).split())
        raise ManifestError(f"invalid YAML: {message}", file) from None
    except _TooDeep as exc:
        raise ManifestError(f"invalid YAML: nesting deeper than {MAX_DEPTH} levels", file, exc.line) from None
    except RecursionError:
        raise ManifestError("invalid YAML: nesting too deep", file) from None
    finally:
        loader.dispose()
    return docs
