"""Hostile and odd YAML: alias bombs, deep nesting, huge numbers, tags, anchors and merge keys.

Bounds are checked with resource limits and operation counts, never with wall-clock assertions on
normal work; the alarms here are generous hang guards."""

from __future__ import annotations

import os
import random
import resource
import shlex
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devenv.errors import ManifestError, UsageError
from devenv.manifest.shortsyntax import SyntaxProblem, split_command
from devenv.manifest.typed import MAX_REPLICAS
from devenv.manifest.yamlio import MAX_DEPTH, allowed_alias_ratio, parse

REPO = Path(__file__).resolve().parents[3]


def alias_bomb(levels: int = 9) -> str:
    """The "billion laughs": each level a list of nine aliases to the level before (9**levels nodes)."""
    lines = ["x-bomb:", "  l0: &l0 [x, x, x, x, x, x, x, x, x]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 9) + "]")
    return "services:\n  a:\n    image: busybox\n" + "\n".join(lines) + "\n"


@contextmanager
def hang_guard(seconds: int) -> Iterator[None]:
    def fail(*_: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def devenv_bounded(tmp_path: Path, text: str, *args: str, memory: int = 300 * 2**20) -> subprocess.CompletedProcess:
    """`devenv -f compose.yaml ARGS` on `text`, its address space capped at `memory` bytes."""
    (tmp_path / "compose.yaml").write_text(text)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "devenv", "-f", "compose.yaml", "-p", "hostile", *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, preexec_fn=cap,
    )


# ---------------------------------------------------------------- alias expansion


def test_allowed_alias_ratio_follows_go_yaml() -> None:
    assert allowed_alias_ratio(1_000) == 0.99
    assert allowed_alias_ratio(400_000) == 0.99
    assert allowed_alias_ratio(2_200_000) == pytest.approx(0.545)
    assert allowed_alias_ratio(4_000_000) == 0.10
    assert allowed_alias_ratio(40_000_000) == 0.10


def test_an_alias_bomb_is_refused_early_naming_the_alias_line() -> None:
    with pytest.raises(ManifestError) as info:
        parse(alias_bomb(), "compose.yaml")
    error = info.value
    assert "excessive aliasing" in str(error)
    assert error.file == "compose.yaml"
    # the alias being expanded is on one of the `lN: &lN [*lN-1, ...]` lines
    assert 6 <= (error.line or 0) <= 13
    nodes = int(str(error).split(" of ")[1].split()[0])
    assert nodes < 10_000  # refused after a few thousand nodes, not millions


def test_an_alias_bomb_is_refused_by_config_in_bounded_memory(tmp_path: Path) -> None:
    result = devenv_bounded(tmp_path, alias_bomb(), "config")
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("devenv: ") and "compose.yaml:" in line and "excessive aliasing" in line


@pytest.mark.parametrize("kind", ["merge", "override"])
def test_bombs_through_merge_lists_and_override_are_refused(kind: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse(_list_bomb(12, 9, kind), "compose.yaml")
    assert "excessive aliasing" in str(info.value)


def test_ordinary_reuse_through_aliases_is_accepted() -> None:
    base = "x-base: &base\n  image: busybox\n  environment: &env\n" + "".join(f"    V{i}: '{i}'\n" for i in range(40))
    services = "".join(f"  s{i}:\n    <<: *base\n    labels: {{n: '{i}'}}\n    environment: *env\n" for i in range(300))
    (doc,) = parse(base + "services:\n" + services, "compose.yaml")
    assert len(doc.data["services"]) == 300
    assert doc.data["services"]["s299"]["environment"]["V39"] == "39"


def test_a_large_document_without_aliases_is_never_refused() -> None:
    text = "x-big:\n" + "".join(f"  - [{i}, {i}, {i}, {i}]\n" for i in range(60_000))
    (doc,) = parse(text, "compose.yaml")
    assert len(doc.data["x-big"]) == 60_000


# ---------------------------------------------------------------- nesting


@pytest.mark.parametrize("opening", ["[", "{a: ", "- "])
def test_deep_nesting_is_one_clear_error(opening: str) -> None:
    text = "a: " + opening * 100_000 if opening != "- " else "".join("  " * i + "-\n" for i in range(2_000))
    with pytest.raises(ManifestError) as info:
        parse(text, "compose.yaml")
    assert "nesting" in str(info.value)


def test_nesting_up_to_the_limit_is_accepted(tmp_path: Path) -> None:
    depth = MAX_DEPTH - 2
    text = "services:\n  a:\n    image: busybox\nx-deep: " + "[" * depth + "]" * depth + "\n"
    (doc,) = parse(text, "compose.yaml")
    assert doc.data["x-deep"] is not None
    result = devenv_bounded(tmp_path, text, "config", "--format", "json")
    assert result.returncode == 0, result.stderr


def test_100000_brackets_through_config(tmp_path: Path) -> None:
    result = devenv_bounded(tmp_path, "services: " + "[" * 100_000 + "\n", "config")
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("devenv: ") and "compose.yaml:1:" in line and "nesting" in line


# ---------------------------------------------------------------- anchors, merge keys, tags


def test_an_anchor_defined_again_wins_for_the_aliases_after_it() -> None:
    (doc,) = parse("a: &x one\nb: *x\nc: &x two\nd: *x\n", "f.yaml")
    assert doc.data == {"a": "one", "b": "one", "c": "two", "d": "two"}


def test_two_merge_keys_in_one_mapping_are_refused_like_go_yaml() -> None:
    text = "x: &x {a: 1}\ny: &y {b: 2}\nz:\n  <<: *x\n  <<: *y\n"
    with pytest.raises(ManifestError) as info:
        parse(text, "f.yaml")
    assert info.value.line == 5
    assert 'mapping key "<<" already defined at line 4' in str(info.value)


@pytest.mark.parametrize(
    "text",
    ['!!bool "abc"', "!!bool abc", "!!int abc", '!!int "1.5"', "!!float abc", "!!null abc", "!!int true", "!!bool 1"],
)
def test_a_tag_that_does_not_fit_the_value_is_refused(text: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse(f"a:\n  b: {text}\n", "f.yaml")
    assert info.value.line == 2
    assert "cannot decode" in str(info.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("!!str 1", "1"),
        ("!!str true", "true"),
        ('!!bool "true"', True),
        ('!!int "12"', 12),
        ("!!int 0x1F", 31),
        ("!!float 12", 12),
        ("!!float 1.5", 1.5),
        ("!!null ~", None),
        ("!!null ''", None),
        ("!custom anything", "anything"),
    ],
)
def test_tags_that_fit_are_accepted(text: str, expected: object) -> None:
    (doc,) = parse(f"a: {text}\n", "f.yaml")
    assert doc.data["a"] == expected


def test_a_tag_on_a_key_is_checked_too() -> None:
    with pytest.raises(ManifestError):
        parse("? !!int abc\n: 1\n", "f.yaml")


# ---------------------------------------------------------------- counts and integer ranges


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("deploy:\n      replicas", "99999999999999999999", "out of range"),
        ("deploy:\n      replicas", str(MAX_REPLICAS + 1), "limit"),
        ("scale", "9223372036854775808", "out of range"),
        ("scale", '"99999999999999999999"', "not a valid number"),
        ("deploy:\n      restart_policy:\n        max_attempts", "-1", "overflows uint"),
        ("healthcheck:\n      retries", "-1", "overflows uint"),
        ("pids_limit", "99999999999999999999", "out of range"),
        ("cpu_shares", '"1_000"', "not a valid number"),
    ],
)
def test_counts_and_integers_out_of_range_are_refused(ws, field: str, value: str, words: str) -> None:
    ws.write("compose.yaml", f"services:\n  a:\n    image: busybox\n    {field}: {value}\n")
    error = ws.error()
    assert words in str(error)
    assert error.line is not None


def test_the_replica_limit_itself_is_accepted(ws) -> None:
    service = ws.service(f"services:\n  a:\n    image: busybox\n    scale: {MAX_REPLICAS}\n")
    assert service["scale"] == MAX_REPLICAS


def test_huge_replicas_are_refused_by_config_and_up_dry_run(tmp_path: Path) -> None:
    text = "services:\n  a:\n    image: busybox\n    deploy:\n      replicas: 99999999999999999999\n"
    for args in (("config",), ("up", "--dry-run", "-d")):
        result = devenv_bounded(tmp_path, text, *args)
        assert result.returncode == 2, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert "compose.yaml:5: services.a.deploy.replicas:" in line


@pytest.mark.parametrize("count", ["99999999999999999999", str(MAX_REPLICAS + 1), "٣", "1_0"])
def test_scale_option_beyond_the_limit_is_a_usage_error(count: str) -> None:
    from devenv.cli.create_cmd import parse_scale
    from devenv.cli.up_cmd import _scale

    with pytest.raises(UsageError):
        _scale((f"a={count}",))
    with pytest.raises(UsageError):
        parse_scale((f"a={count}",))


def test_scale_option_within_the_limit() -> None:
    from devenv.cli.up_cmd import _scale

    assert _scale(("a=3", f"b={MAX_REPLICAS}", "c=0")) == {"a": 3, "b": MAX_REPLICAS, "c": 0}


def test_huge_scale_option_is_refused_before_planning(tmp_path: Path) -> None:
    result = devenv_bounded(
        tmp_path, "services:\n  a:\n    image: busybox\n", "up", "--dry-run", "-d", "--scale", "a=99999999999999999999"
    )
    assert result.returncode != 0
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("devenv: invalid --scale")


# ---------------------------------------------------------------- command splitting


def _shlex_words(text: str) -> list[str] | str:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=False)
    lexer.whitespace_split = True
    lexer.commenters = ""
    try:
        return list(lexer)
    except ValueError:
        return "error"


def _ours(text: str) -> list[str] | str:
    try:
        return split_command(text)
    except SyntaxProblem:
        return "error"


def test_split_command_gives_shlex_words_on_random_input() -> None:
    rng = random.Random(12)
    alphabet = " \t\n\r'\"\\ab#$\x85é;|"
    for _ in range(30_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert _ours(text) == _shlex_words(text), repr(text)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("echo 'a b' \"c \\\" d\" e\\ f", ["echo", "a b", 'c " d', "e f"]),
        ("a '' b", ["a", "", "b"]),
        ('"x\\y"', ["x\\y"]),
        ("", []),
        ("  \t ", []),
    ],
)
def test_split_command_examples(text: str, words: list[str]) -> None:
    assert split_command(text) == words


@pytest.mark.parametrize("text", ["'open", '"open', "end\\", '"end\\'])
def test_split_command_errors(text: str) -> None:
    with pytest.raises(SyntaxProblem):
        split_command(text)


@pytest.mark.parametrize(
    "text",
    ["a" * 2_000_000, "'" + "a" * 2_000_000 + "'", '"' + "a\\b" * 700_000 + '"', "a\\ " * 700_000, "a " * 1_000_000],
)
def test_split_command_is_linear_on_megabytes(text: str) -> None:
    with hang_guard(5):  # quadratic splitting takes minutes on 2 MB
        words = split_command(text)
    assert words


# ---------------------------------------------------------------- property: hostile YAML, bounded


@contextmanager
def budget(cpu_seconds: int = 5, memory: int = 400 * 2**20) -> Iterator[None]:
    """Resource limits around one example: CPU time (SIGXCPU becomes an exception) and address
    space beyond what the process already uses (MemoryError)."""
    import threading

    assert threading.current_thread() is threading.main_thread()
    cpu_soft, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    as_soft, as_hard = resource.getrlimit(resource.RLIMIT_AS)
    used_cpu = resource.getrusage(resource.RUSAGE_SELF)
    now = int(used_cpu.ru_utime + used_cpu.ru_stime) + 1
    with open("/proc/self/statm") as statm:
        vsize = int(statm.read().split()[0]) * resource.getpagesize()

    def over(*_: object) -> None:
        raise TimeoutError(f"more than {cpu_seconds} s of CPU")

    previous = signal.signal(signal.SIGXCPU, over)
    resource.setrlimit(resource.RLIMIT_CPU, (now + cpu_seconds, cpu_hard))
    resource.setrlimit(resource.RLIMIT_AS, (vsize + memory, as_hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (as_soft, as_hard))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_soft, cpu_hard))
        signal.signal(signal.SIGXCPU, previous)


def _bomb(levels: int, width: int) -> str:
    lines = ["  l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "x-bomb:\n" + "\n".join(lines) + "\n"


def _merge_bomb(levels: int, width: int) -> str:
    lines = ["x-m0: &m0 {" + ", ".join(f"k{i}: {i}" for i in range(width)) + "}"]
    for level in range(1, levels):
        lines.append(f"x-m{level}: &m{level} {{" + ", ".join(f"k{i}: *m{level - 1}" for i in range(width)) + "}")
    return "\n".join(lines) + "\n"


def _list_bomb(levels: int, width: int, kind: str) -> str:
    """Bombs through merge-key lists (`<<: [*a, *a]`) or `!override` lists of aliases."""
    lines = ["x0: &a0 {k: v}" if kind == "merge" else "x0: &a0 [k, v]"]
    for level in range(1, levels):
        items = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"x{level}: &a{level} " + (f"{{<<: [{items}]}}" if kind == "merge" else f"!override [{items}]"))
    return "\n".join(lines) + "\n"


def _hostile_documents():  # type: ignore[no-untyped-def]
    from hypothesis import strategies as st

    service = "services:\n  a:\n    image: busybox\n"
    return st.one_of(
        st.builds(lambda n, w: service + _bomb(n, w), st.integers(2, 12), st.integers(2, 12)),
        st.builds(lambda n, w: service + _merge_bomb(n, w), st.integers(2, 10), st.integers(2, 10)),
        st.builds(lambda n, w, k: service + _list_bomb(n, w, k), st.integers(2, 14), st.integers(2, 12),
                  st.sampled_from(["merge", "override"])),
        st.builds(lambda n, o: "x-d: " + o * n + "\n" + service, st.integers(1, 50_000), st.sampled_from(["[", "{a: ", "!!seq ["])),
        st.builds(
            lambda digits, field: service + f"    {field}: {digits}\n",
            st.from_regex(r"-?[0-9]{1,60}(\.[0-9]{0,5})?(e[0-9]{1,4})?", fullmatch=True),
            st.sampled_from(["scale", "cpu_shares", "pids_limit", "oom_score_adj", "mem_swappiness"]),
        ),
        st.builds(lambda tag, text: service + f"    labels: {{x: {tag} {text}}}\n",
                  st.sampled_from(["!!int", "!!bool", "!!float", "!!null", "!!str", "!!binary", "!x"]),
                  st.text(alphabet="0123456789abcx.-_ \"'", max_size=12)),
        st.builds(lambda text: service + f"    command: {text}\n", st.text(max_size=200)),
    )


def test_hostile_yaml_gets_our_own_error_within_budget(ws) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_hostile_documents())
    def check(text: str) -> None:
        (ws.root / "compose.yaml").write_text(text, encoding="utf-8")
        with budget():
            try:
                ws.load()
            except ManifestError as exc:
                assert str(exc).strip() and "\n" not in str(exc).strip()

    check()
