"""FROM parsing (pure): stages, bases, ARG expansion, --platform, stage references, escapes."""

from __future__ import annotations

import pytest

from devenv.engine.dockerfile import ExpansionError, Stage, expand, platform_args, stages

AMD64 = platform_args("linux/amd64")


def bases(text: str, args: dict | None = None, platforms: dict | None = None) -> list[tuple[str, str | None, str | None]]:
    return [(s.label, s.base, s.platform) for s in stages(text, args, platforms if platforms is not None else AMD64)]


def test_single_stage() -> None:
    assert stages("FROM python:3.11\nRUN true\n") == [Stage(0, None, 1, "python:3.11")]


def test_multi_stage_with_names_and_stage_references() -> None:
    text = (
        "FROM golang:1.22 AS builder\nRUN go build\n"
        "FROM builder AS tested\nRUN go test\n"
        "FROM alpine:3.19\nCOPY --from=builder /app /app\n"
    )
    found = stages(text, {}, AMD64)
    assert [(s.index, s.name, s.line, s.ref) for s in found] == [
        (0, "builder", 1, "golang:1.22"), (1, "tested", 3, "builder"), (2, None, 5, "alpine:3.19")]
    assert [s.base for s in found] == ["golang:1.22", None, "alpine:3.19"]
    assert found[1].stage_ref == "builder"
    assert [s.label for s in found] == ["builder", "tested", "2"]


def test_stage_reference_is_case_insensitive_and_only_to_earlier_stages() -> None:
    text = "FROM base AS x\nFROM Build AS build\nFROM BUILD\nFROM x\n"
    found = stages(text)
    assert [s.base for s in found] == ["base", "Build", None, None]
    assert found[2].stage_ref == "build" and found[1].name == "build"


def test_as_keyword_case_insensitive() -> None:
    assert stages("from alpine as First\nFROM first\n")[0].name == "first"
    assert stages("from alpine as First\nFROM first\n")[1].base is None


def test_scratch_is_no_base() -> None:
    found = stages("FROM scratch\nCOPY a /\n")
    assert found[0].scratch and found[0].base is None


def test_global_args_defaults_and_build_arg_override() -> None:
    text = "ARG VERSION=3.11\nARG VARIANT\nFROM python:${VERSION}${VARIANT:+-}${VARIANT} AS app\n"
    assert bases(text) == [("app", "python:3.11", None)]
    assert bases(text, {"VERSION": "3.12", "VARIANT": "slim"}) == [("app", "python:3.12-slim", None)]


def test_undeclared_build_arg_is_not_seen_by_from() -> None:
    assert bases("FROM img:${TAG:-default}\n", {"TAG": "given"}) == [("0", "img:default", None)]


def test_args_after_the_first_from_are_stage_local() -> None:
    text = "ARG A=one\nFROM x:$A\nARG A=two\nFROM y:$A\n"
    assert bases(text) == [("0", "x:one", None), ("1", "y:one", None)]


def test_arg_default_refers_to_earlier_arg_and_many_per_line() -> None:
    text = 'ARG REG=127.0.0.1:5000 NAME="my app"\nARG IMG=${REG}/base\nFROM $IMG:1\n'
    assert bases(text) == [("0", "127.0.0.1:5000/base:1", None)]
    assert bases(text, {"REG": "r.example"}) == [("0", "r.example/base:1", None)]


@pytest.mark.parametrize(("word", "env", "want"), [
    ("$A", {"A": "1"}, "1"),
    ("${A}", {"A": "1"}, "1"),
    ("x${A}y", {}, "xy"),
    ("${A:-d}", {}, "d"),
    ("${A:-d}", {"A": ""}, "d"),
    ("${A-d}", {"A": ""}, ""),
    ("${A-d}", {}, "d"),
    ("${A:+alt}", {"A": "v"}, "alt"),
    ("${A:+alt}", {"A": ""}, ""),
    ("${A+alt}", {"A": ""}, "alt"),
    ("${A:-${B}}", {"B": "b"}, "b"),
    ("\\$A", {"A": "1"}, "$A"),
    ("'$A'", {"A": "1"}, "$A"),
    ('"$A"', {"A": "1"}, "1"),
    ("a$", {}, "a$"),
    ("$1x", {}, "x"),
])
def test_expand(word: str, env: dict, want: str) -> None:
    assert expand(word, env) == want


def test_expand_errors() -> None:
    with pytest.raises(ExpansionError):
        expand("${A:?needed}", {})
    with pytest.raises(ExpansionError):
        expand("${A", {})
    assert expand("${A:?needed}", {"A": "v"}) == "v"


def test_platform_flag_expanded_with_predefined_args() -> None:
    text = "FROM --platform=$BUILDPLATFORM golang AS build\nFROM --platform=${TARGETOS}/arm64 alpine\n"
    found = stages(text, {}, platform_args("linux/arm64/v8", "linux/amd64"))
    assert [(s.base, s.platform) for s in found] == [("golang", "linux/amd64"), ("alpine", "linux/arm64")]


def test_predefined_target_args_in_image() -> None:
    text = "FROM img-${TARGETARCH}${TARGETVARIANT:+-}${TARGETVARIANT}\n"
    assert bases(text, platforms=platform_args("linux/arm/v7")) == [("0", "img-arm-v7", None)]
    assert platform_args("linux/amd64")["TARGETVARIANT"] == ""


def test_continuation_lines_and_comments() -> None:
    text = "# comment\nFROM \\\n  # inside\n  --platform=linux/amd64 \\\n  python:3.11 \\\n  AS app\nRUN x\n"
    found = stages(text)
    assert [(s.line, s.name, s.base, s.platform) for s in found] == [(2, "app", "python:3.11", "linux/amd64")]


def test_escape_directive_backtick() -> None:
    text = "# escape=`\nARG V=1\nFROM img:`$V `\n  AS a\nFROM img:$V\n"
    found = stages(text)
    assert [(s.ref, s.name) for s in found] == [("img:$V", "a"), ("img:1", None)]


def test_heredoc_body_is_no_from() -> None:
    text = "FROM a\nRUN <<EOF\nFROM b\nEOF\nFROM c\n"
    assert [s.base for s in stages(text)] == ["a", "c"]


def test_digest_reference_kept() -> None:
    ref = "busybox@sha256:" + "a" * 64
    assert stages(f"FROM {ref}\n")[0].base == ref


def test_pin_bases_keeps_flags_alias_and_line_numbers() -> None:
    from devenv.engine.dockerfile import instructions, pin_bases

    text = "# escape=`\nARG V=1\nFROM --platform=linux/amd64 `\n  img:$V AS b\nRUN x\nFROM b\nFROM other\n"
    out = pin_bases(text, {0: "img@sha256:aa", 2: "other@sha256:bb"})
    assert out.splitlines() == ["# escape=`", "ARG V=1", "FROM --platform=linux/amd64 img@sha256:aa AS b", "", "RUN x",
                                "FROM b", "FROM other@sha256:bb"]
    assert [i.line for i in instructions(out)] == [2, 3, 5, 6, 7]
    assert [s.base for s in stages(out)] == ["img@sha256:aa", None, "other@sha256:bb"]


@pytest.mark.parametrize(("text", "line"), [
    ("FROM\n", 1),
    ("# c\nFROM a b\n", 2),
    ("FROM a AS\n", 1),
    ("ARG X\nFROM $X\n", 2),
    ("ARG X\nFROM img:${X:?set X}\n", 2),
])
def test_malformed_from_names_its_line(text: str, line: int) -> None:
    with pytest.raises(ExpansionError) as caught:
        stages(text)
    assert caught.value.line == line
