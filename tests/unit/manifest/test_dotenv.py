"""Env-file syntax (`.env`, `--env-file`, a service's `env_file`), as Compose reads it."""

from __future__ import annotations

import pytest

from devenv.manifest.dotenv import DotenvError, parse_dotenv


def parse(text: str, env: dict | None = None) -> dict[str, str]:
    env = env or {}
    return parse_dotenv(text, env.get)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A=1", {"A": "1"}),
        ("A=hello world", {"A": "hello world"}),
        ("A = padded  ", {"A": "padded"}),
        ("A=", {"A": ""}),
        ("A:  yaml style", {"A": "yaml style"}),
        ("export A=exported", {"A": "exported"}),
        ("export  A=two spaces", {"A": "two spaces"}),
        ("A.B-C[0]=odd key", {"A.B-C[0]": "odd key"}),
        ("A=1\nA=2", {"A": "2"}),
        ("A=ěš", {"A": "ěš"}),
        ("\ufeffA=bom", {"A": "bom"}),
        ("A=1\r\nB=2\r\n", {"A": "1", "B": "2"}),
    ],
)
def test_assignments(text: str, expected: dict) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("# a comment\nA=1", {"A": "1"}),
        ("  # indented comment\nA=1", {"A": "1"}),
        ("\n\nA=1\n\n", {"A": "1"}),
        ("A=value # inline comment", {"A": "value"}),
        ("A=value#not a comment", {"A": "value#not a comment"}),
        ("A=value\t#tab is not a comment start", {"A": "value\t#tab is not a comment start"}),
        ("A= #only", {"A": "#only"}),
        ('A="quoted" # comment', {"A": "quoted"}),
        ("A='quoted' # comment", {"A": "quoted"}),
        ('A="has # inside"', {"A": "has # inside"}),
    ],
)
def test_comments(text: str, expected: dict) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ('A="x y"', "x y"),
        ('A=  "leading space before the quote"', "leading space before the quote"),
        ("A='x y'", "x y"),
        ('A=a"b', 'a"b'),  # a quote inside an unquoted value is kept
        (r'A="tab\tnewline\nbackslash\\quote\"end"', 'tab\tnewline\nbackslash\\quote"end'),
        (r'A="dollar\$sign"', "dollar$sign"),
        (r"A='no\nescapes\t'", r"no\nescapes\t"),
        ("A='literal $VAR ${VAR:-x}'", "literal $VAR ${VAR:-x}"),
        (r"A=back\slash", r"back\slash"),
        ('A="line1\nline2\nline3"', "line1\nline2\nline3"),
        ("A='multi\nline'", "multi\nline"),
    ],
)
def test_quotes_and_escapes(text: str, expected: str) -> None:
    assert parse(text, {"VAR": "v"}) == {"A": expected}


def test_multi_line_double_quoted_value_keeps_counting_lines() -> None:
    text = 'A="one\ntwo"\nB=3\nC="open\n'
    with pytest.raises(DotenvError) as info:
        parse(text)
    assert info.value.line == 4
    assert "unterminated quoted value" in info.value.message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("A=${VAR}", {"A": "v"}),
        ("A=$VAR/x", {"A": "v/x"}),
        ('A="${VAR}-quoted"', {"A": "v-quoted"}),
        ("A=${NOPE:-def}", {"A": "def"}),
        ('A="${NOPE:-def}"', {"A": "def"}),
        ("A=${NOPE}", {"A": ""}),
        ("B=1\nA=$B$B", {"B": "1", "A": "11"}),
        ("A=$$", {"A": "$"}),
    ],
)
def test_variables_are_expanded_in_unquoted_and_double_quoted_values(text: str, expected: dict) -> None:
    assert parse(text, {"VAR": "v"}) == expected


def test_the_lookup_wins_over_earlier_keys_of_the_same_file() -> None:
    assert parse("B=file\nA=$B", {"B": "process"}) == {"B": "file", "A": "process"}


@pytest.mark.parametrize(
    "text, env, expected",
    [
        ("INHERITED", {"INHERITED": "from-env"}, {"INHERITED": "from-env"}),
        ("INHERITED\nB=2", {"INHERITED": "x"}, {"INHERITED": "x", "B": "2"}),
        ("MISSING", {}, {}),
        ("MISSING\nB=2", {}, {"B": "2"}),
        # (Compose 2.40 turns this line into a key named "": a parser slip devenv does not copy)
        ("export INHERITED", {"INHERITED": "e"}, {"INHERITED": "e"}),
    ],
)
def test_a_bare_key_inherits_its_value_or_is_left_out(text: str, env: dict, expected: dict) -> None:
    assert parse(text, env) == expected


@pytest.mark.parametrize(
    "text, line, fragment",
    [
        ("MY KEY=1", 1, "key cannot contain a space"),
        ("A=1\nB=2\nC=\"never closed", 3, "unterminated quoted value"),
        ("A=1\nB?=2", 2, "unexpected character '?'"),
    ],
)
def test_syntax_errors_give_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(DotenvError) as info:
        parse(text)
    assert info.value.line == line
    assert fragment in info.value.message


def test_env_file_syntax_error_through_the_loader_names_the_env_file_and_line(ws) -> None:
    ws.write(".env", "GOOD=1\nBAD KEY=2\n")
    ws.write("compose.yaml", "services: {web: {image: nginx}}")
    err = ws.error()
    assert err.file == str(ws.root / ".env")
    assert err.line == 2
    assert "key cannot contain a space" in str(err)


def test_service_env_file_is_folded_into_environment(ws) -> None:
    ws.write(
        "app.env",
        """
        # settings
        export MODE=production
        QUOTED="a b"
        LITERAL='$HOME'
        FROM_PROJECT=${PROJECT_VAR}
        OVERRIDDEN=from-file
        """,
    )
    service = ws.service(
        """
        services:
          web:
            image: nginx
            env_file: app.env
            environment:
              OVERRIDDEN: from-compose
        """,
        environ={"PROJECT_VAR": "pv"},
    )
    assert service["environment"] == {
        "MODE": "production",
        "QUOTED": "a b",
        "LITERAL": "$HOME",
        "FROM_PROJECT": "pv",
        "OVERRIDDEN": "from-compose",
    }
    assert "env_file" not in service
