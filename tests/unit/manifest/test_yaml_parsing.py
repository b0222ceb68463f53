"""Parsing: YAML 1.2 scalars as Compose (go-yaml v3) reads them, anchors and `<<` merge keys,
duplicate keys, Compose's `!reset` / `!override` tags, and the line of every key."""

from __future__ import annotations

import math
import textwrap

import pytest

from devenv.errors import ManifestError
from devenv.manifest.tags import RESET, Override, Reset
from devenv.manifest.yamlio import parse, scalar


def data(text: str):
    (doc,) = parse(textwrap.dedent(text), "compose.yaml")
    return doc.data


def plain(value: str):
    return data(f"v: {value}\n")["v"]


# ------------------------------------------------------------------ scalars


@pytest.mark.parametrize(
    "text, expected",
    [
        # YAML 1.1 booleans are plain strings in YAML 1.2
        ("on", "on"),
        ("off", "off"),
        ("yes", "yes"),
        ("no", "no"),
        ("y", "y"),
        ("n", "n"),
        ("Yes", "Yes"),
        # YAML 1.2 booleans
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("false", False),
        ("FALSE", False),
        # base 60 is gone: these are strings
        ("22:22", "22:22"),
        ("1:30:00", "1:30:00"),
        ("0.0.0.0", "0.0.0.0"),
        ("1.2.3", "1.2.3"),
        # nulls
        ("~", None),
        ("null", None),
        ("Null", None),
        ("NULL", None),
        ("", None),
        # integers
        ("42", 42),
        ("-7", -7),
        ("+12", 12),
        ("0", 0),
        ("-0", 0),
        ("1_000", 1000),
        ("0o17", 15),
        ("017", 15),
        ("0_7", 7),
        ("0x1F", 31),
        ("0x_1F", 31),
        ("0b11", 3),
        ("18446744073709551615", 18446744073709551615),
        ("-9223372036854775808", -9223372036854775808),
        # floats
        ("1.5", 1.5),
        ("1.50", 1.5),
        (".5", 0.5),
        ("+.5", 0.5),
        ("1e3", 1000.0),
        ("12e03", 12000.0),
        ("1_000.5", 1000.5),
        ("08", 8.0),  # not valid octal: a float
        (".inf", math.inf),
        ("-.Inf", -math.inf),
        # things that only look numeric
        ("_1", "_1"),
        ("0o", "0o"),
        ("0b", "0b"),
        ("1e", "1e"),
        ("0x", "0x"),
        ("2001-12-14", "2001-12-14"),
    ],
)
def test_plain_scalars_resolve_like_yaml_1_2(text: str, expected) -> None:
    value = plain(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("+0o17", 15),
        ("-0o17", -15),
        ("0O17", 15),
        ("0X1F", 31),
        ("-0x10", -16),
        ("-0b101", -5),
        ("0B11", 3),
    ],
)
def test_signed_and_upper_case_prefixed_integers_are_integers_as_in_go(text: str, expected: int) -> None:
    assert plain(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("18446744073709551616", 1.8446744073709552e19),  # above uint64: Go falls back to a float
        ("-9223372036854775809", -9.223372036854776e18),  # below int64
        ("100000000000000000000000", 1e23),
    ],
)
def test_integers_beyond_64_bits_become_floats_as_in_go(text: str, expected: float) -> None:
    value = plain(text)
    assert type(value) is float and value == expected


@pytest.mark.parametrize("text", ["1e400", "-1e400", "0x1FFFFFFFFFFFFFFFFF"])
def test_numbers_go_cannot_represent_stay_strings(text: str) -> None:
    assert plain(text) == text


def test_nan() -> None:
    assert math.isnan(plain(".NaN"))


@pytest.mark.parametrize(
    "text, expected",
    [
        ('"true"', "true"),
        ("'42'", "42"),
        ('"~"', "~"),
        ('""', ""),
        ("!!str 12", "12"),
        ("!!str true", "true"),
        ('"22:22"', "22:22"),
    ],
)
def test_quoted_or_str_tagged_scalars_stay_strings(text: str, expected: str) -> None:
    assert plain(text) == expected


def test_scalar_function_leaves_non_plain_tags_alone() -> None:
    assert scalar("true", "tag:yaml.org,2002:str", False) == "true"
    assert scalar("true", "?", True) is True


def test_yaml_scalars_through_the_loader(ws) -> None:
    service = ws.service(
        """
        services:
          web:
            image: nginx
            environment:
              ON: on
              TIME: 22:22
              OCT: 0o17
              FLOAT: 1.50
              NULL_VALUE: ~
              BOOL: true
            cpu_shares: 017
        """
    )
    assert service["environment"] == {
        "ON": "on",
        "TIME": "22:22",
        "OCT": "15",
        "FLOAT": "1.5",
        "NULL_VALUE": None,
        "BOOL": "true",
    }
    assert service["cpu_shares"] == 15


# ------------------------------------------------------------------ anchors and merge keys


def test_anchor_and_alias_repeat_a_value() -> None:
    doc = data(
        """
        x-image: &img nginx:1.25
        x-ports: &ports ["80", "443"]
        services:
          a: {image: *img, ports: *ports}
          b: {image: *img}
        """
    )
    assert doc["services"]["a"] == {"image": "nginx:1.25", "ports": ["80", "443"]}
    assert doc["services"]["b"] == {"image": "nginx:1.25"}


def test_merge_key_with_one_mapping_and_explicit_keys_winning() -> None:
    doc = data(
        """
        x-base: &base
          image: base
          restart: always
          labels: {from: base}
        services:
          web:
            <<: *base
            image: own
            labels: {own: "1"}
        """
    )
    # explicit keys win whole: merge keys do not deep-merge
    assert doc["services"]["web"] == {"image": "own", "restart": "always", "labels": {"own": "1"}}


def test_merge_key_with_a_list_earlier_mappings_win() -> None:
    doc = data(
        """
        x-a: &a {image: a, labels: {from: a}}
        x-b: &b {image: b, restart: always, labels: {from: b}}
        services:
          s:
            <<: [*a, *b]
        """
    )
    assert doc["services"]["s"] == {"image": "a", "labels": {"from": "a"}, "restart": "always"}


def test_merge_key_with_an_inline_mapping() -> None:
    assert data("s:\n  <<: {a: 1, b: 2}\n  b: 3\n")["s"] == {"a": 1, "b": 3}


@pytest.mark.parametrize("value", ["scalar", "[1, 2]", "[{a: 1}, x]"])
def test_merge_key_needs_mappings(value: str) -> None:
    with pytest.raises(ManifestError) as info:
        data(f"s:\n  <<: {value}\n")
    assert "merge key << needs a mapping or a list of mappings" in info.value.message
    assert info.value.line == 2


def test_aliases_through_the_loader(ws) -> None:
    service = ws.service(
        """
        x-common: &common
          image: busybox
          environment: {SHARED: "1"}
        services:
          app:
            <<: *common
            command: ["sleep", "1"]
        """
    )
    assert service["image"] == "busybox"
    assert service["environment"] == {"SHARED": "1"}


def test_unknown_alias_is_a_yaml_error_with_its_line(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: *nothing\n")
    err = ws.error()
    assert err.message.startswith("invalid YAML")
    assert err.line == 3


# ------------------------------------------------------------------ extensions


def test_extensions_are_kept_at_top_level_and_in_services(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        x-top: {a: 1}
        services:
          web:
            image: nginx
            x-note: hello
        networks:
          front:
            x-net-note: n
        """,
    )
    project = ws.load()
    assert project.extensions == {"x-top": {"a": 1}}
    full = project.to_dict()
    assert full["x-top"] == {"a": 1}
    assert full["services"]["web"]["x-note"] == "hello"
    lean = project.to_dict(service_extensions=False)
    assert lean["x-top"] == {"a": 1}
    assert "x-note" not in lean["services"]["web"]
    assert project.services["web"].config["x-note"] == "hello"


def test_x_devenv_settings_are_reachable(ws) -> None:
    ws.write("compose.yaml", "x-devenv: {publish_host: 0.0.0.0}\nservices: {web: {image: nginx}}\n")
    assert ws.load().x_devenv == {"publish_host": "0.0.0.0"}


# ------------------------------------------------------------------ duplicate keys, syntax errors


def test_duplicate_key_is_an_error_naming_both_lines() -> None:
    with pytest.raises(ManifestError) as info:
        parse("services:\n  web:\n    image: a\n    ports: ['80']\n    image: b\n", "f.yaml")
    err = info.value
    assert (err.file, err.line, err.path) == ("f.yaml", 5, "services.web")
    assert err.message == "mapping key 'image' already defined at line 3"


def test_duplicate_top_level_key_is_an_error() -> None:
    with pytest.raises(ManifestError) as info:
        parse("services: {}\nvolumes: {}\nservices: {}\n", "f.yaml")
    assert info.value.line == 3
    assert "already defined at line 1" in info.value.message


def test_same_key_in_different_mappings_is_fine() -> None:
    assert data("a: {image: x}\nb: {image: y}\n") == {"a": {"image": "x"}, "b": {"image": "y"}}


def test_a_merged_key_is_not_a_duplicate() -> None:
    assert data("x: &x {image: a}\ns:\n  <<: *x\n  image: b\n")["s"] == {"image": "b"}


@pytest.mark.parametrize(
    "text, line",
    [
        ("services:\n  web:\n    image: [unclosed\n", 4),
        ("services:\n  web:\n  image: x\n   bad: indent\n", 4),
        ("services:\n\tweb: {}\n", 2),
        ('services: {web: {image: "unterminated}}\n', 2),
    ],
)
def test_syntax_errors_name_the_line(text: str, line: int) -> None:
    with pytest.raises(ManifestError) as info:
        parse(text, "f.yaml")
    assert info.value.message.startswith("invalid YAML: ")
    assert (info.value.file, info.value.line) == ("f.yaml", line)


def test_a_mapping_key_must_be_a_scalar() -> None:
    with pytest.raises(ManifestError) as info:
        parse("services:\n  ? [a, b]\n  : x\n", "f.yaml")
    assert "a mapping key must be a plain value" in info.value.message


# ------------------------------------------------------------------ documents and lines


def test_empty_text_has_no_document() -> None:
    assert parse("", "f.yaml") == []
    assert parse("# only a comment\n", "f.yaml") == []


def test_every_key_and_list_item_has_its_line() -> None:
    (doc,) = parse("services:\n  web:\n    image: x\n    ports:\n      - '80'\n      - '81'\n", "f.yaml")
    assert doc.lines[("services",)] == 1
    assert doc.lines[("services", "web")] == 2
    assert doc.lines[("services", "web", "image")] == 3
    assert doc.lines[("services", "web", "ports", 1)] == 6


# ------------------------------------------------------------------ !reset and !override


def test_reset_and_override_tags_are_markers() -> None:
    doc = data(
        """
        services:
          web:
            ports: !reset []
            environment: !reset {}
            image: !reset null
            command: !override ["a", "b"]
            labels: !override {a: "1"}
            user: !override root
        """
    )
    web = doc["services"]["web"]
    assert web["ports"] is RESET and isinstance(web["environment"], Reset) and web["image"] is RESET
    assert web["command"] == Override(["a", "b"])
    assert web["labels"] == Override({"a": "1"})
    assert web["user"] == Override("root")


def test_override_tag_keeps_yaml_1_2_scalars() -> None:
    doc = data("a: !override 0o17\nb: !override on\nc: !override '5'\n")
    assert doc == {"a": Override(15), "b": Override("on"), "c": Override("5")}


def test_reset_in_a_single_file_just_removes_the_key(ws) -> None:
    service = ws.service("services:\n  web:\n    image: nginx\n    ports: !reset ['80']\n")
    assert "ports" not in service
