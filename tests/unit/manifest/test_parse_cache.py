"""The parse cache: a file whose text has not changed is not parsed again, and what comes out of
the cache is exactly what the parser gives, markers, special numbers and lines included."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from devenv.errors import ManifestError
from devenv.manifest import parsecache
from devenv.manifest.parsecache import parse_cached
from devenv.manifest.tags import RESET, Override, Reset
from devenv.manifest.yamlio import parse

REPO = Path(__file__).resolve().parents[3]

TRICKY = textwrap.dedent(
    """\
    services:
      web:
        image: !reset null
        command: !override ["sh", "-c", "echo ${X}"]
        ports: !override
          - "8080:80"
        environment:
          EMPTY:
          "\\0key": nul-prefixed
          "\\0": just-nul
          "\\0\\0twice": two
          unicode: "é ✓ 𝄞"
        x-numbers: [.inf, -.inf, .nan, -0.0, 1e3, 0x1F, 0o17, 9223372036854775807, 18446744073709551615,
                    99999999999999999999, 1_000, true, False, ~, "", 22:22]
        deploy: !reset {}
      db: &db
        image: postgres
      replica:
        <<: *db
        labels: [a, b]
    ---
    second: document
    """
)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(parsecache.NO_CACHE_ENV, raising=False)
    return tmp_path / "cache" / "devenv" / "parsed"


def same(a, b) -> bool:
    """Equal, with NaN equal to NaN and the markers' types kept (RESET is the singleton)."""
    if isinstance(a, float) and math.isnan(a):
        return isinstance(b, float) and math.isnan(b)
    if type(a) is not type(b):
        return False
    if isinstance(a, Reset):
        return a is RESET and b is RESET
    if isinstance(a, Override):
        return same(a.value, b.value)
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return a == b


def test_a_cached_parse_is_exactly_the_parsers_result(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    direct = [(d.data, d.lines) for d in parse(TRICKY, file)]
    first = parse_cached(TRICKY, file)
    assert len(list(cache.iterdir())) == 1
    second = parse_cached(TRICKY, file)
    for expected, got in ((direct, first), (direct, second)):
        assert len(got) == 2
        for (data, lines), (data2, lines2) in zip(expected, got):
            assert same(data, data2)
            assert lines == lines2
    assert second[0][0]["services"]["web"]["image"] is RESET
    assert second[0][0]["services"]["web"]["environment"]["\0key"] == "nul-prefixed"
    assert second[0][1][("services", "replica", "labels", 1)] == 20


def test_the_second_parse_comes_from_the_cache(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    parse_cached("services: {web: {image: a}}\n", file)
    (entry,) = cache.iterdir()
    stored = json.loads(entry.read_text())
    stored["docs"][0][0]["services"]["web"]["image"] = "from-the-cache"
    entry.write_text(json.dumps(stored))
    assert parse_cached("services: {web: {image: a}}\n", file)[0][0]["services"]["web"]["image"] == "from-the-cache"


def test_changed_text_is_parsed_again(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    assert parse_cached("a: 1\n", file)[0][0] == {"a": 1}
    assert parse_cached("a: 2\n", file)[0][0] == {"a": 2}
    assert parse_cached("a: 1\n", file)[0][0] == {"a": 1}
    assert len(list(cache.iterdir())) == 1  # one entry per file, overwritten


def test_a_change_to_the_parser_invalidates_every_entry(cache: Path, tmp_path: Path, monkeypatch) -> None:
    file = str(tmp_path / "compose.yaml")
    parse_cached("a: 1\n", file)
    key = parsecache._key("a: 1\n")
    monkeypatch.setattr(parsecache, "_CODE", parsecache._CODE + ("__init__.py",))
    assert parsecache._key("a: 1\n") != key


def test_errors_are_not_cached(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    for _ in range(2):
        with pytest.raises(ManifestError) as info:
            parse_cached("a: 1\na: 2\n", file)
        assert info.value.line == 2
    assert not cache.exists() or not list(cache.iterdir())


@pytest.mark.parametrize("garbage", [b"", b"{not json", b'{"key": 1}', b"[]", b'{"key": "x", "docs": 3}'])
def test_a_damaged_entry_is_ignored_and_replaced(cache: Path, tmp_path: Path, garbage: bytes) -> None:
    file = str(tmp_path / "compose.yaml")
    parse_cached("a: 1\n", file)
    (entry,) = cache.iterdir()
    entry.write_bytes(garbage)
    assert parse_cached("a: 1\n", file)[0][0] == {"a": 1}
    assert json.loads(entry.read_text())["key"] == parsecache._key("a: 1\n")


def test_a_damaged_entry_with_the_right_key_is_ignored(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    parse_cached("a: 1\n", file)
    (entry,) = cache.iterdir()
    entry.write_text(json.dumps({"key": parsecache._key("a: 1\n"), "docs": [[{"\0": "bogus"}, []]]}))
    assert parse_cached("a: 1\n", file)[0][0] == {"a": 1}


def test_an_entry_others_can_write_is_not_trusted(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    parse_cached("a: 1\n", file)
    (entry,) = cache.iterdir()
    stored = json.loads(entry.read_text())
    stored["docs"][0][0]["a"] = "planted"
    entry.write_text(json.dumps(stored))
    os.chmod(entry, 0o666)
    assert parse_cached("a: 1\n", file)[0][0] == {"a": 1}


def test_entries_are_private_to_the_user(cache: Path, tmp_path: Path) -> None:
    parse_cached("a: 1\n", str(tmp_path / "compose.yaml"))
    (entry,) = cache.iterdir()
    assert entry.stat().st_mode & 0o777 == 0o600
    assert cache.stat().st_mode & 0o777 == 0o700


def test_no_cache_when_turned_off(cache: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(parsecache.NO_CACHE_ENV, "1")
    assert parse_cached("a: 1\n", str(tmp_path / "compose.yaml"))[0][0] == {"a": 1}
    assert not cache.exists()


def test_a_cache_that_cannot_be_written_changes_nothing(tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # the cache folder cannot be made under a file
    monkeypatch.delenv(parsecache.NO_CACHE_ENV, raising=False)
    assert parse_cached("a: 1\n", str(tmp_path / "compose.yaml"))[0][0] == {"a": 1}
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_relative_cache_home_is_not_used(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.chdir(tmp_path)
    parse_cached("a: 1\n", "compose.yaml")
    assert not (tmp_path / "relative").exists()


def test_a_command_on_an_unchanged_file_does_not_import_pyyaml(tmp_path: Path, cache: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: nginx\n    ports: ['80']\n")
    probe = (
        "import sys; from devenv.manifest import load_project; from devenv.manifest.options import ProjectOptions;"
        "p = load_project(ProjectOptions(project_name='x')); print(sorted(p.services), 'yaml' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    runs = [
        subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True, check=True)
        for _ in range(2)
    ]
    assert [r.stdout.split() for r in runs] == [["['web']", "True"], ["['web']", "False"]]


# ------------------------------------------------------------------ the cache never amplifies

# Within the alias-ratio limit (a few aliases of one big scalar), yet ~40x its source once expanded.
ALIAS_HEAVY = (
    "x-a: &a '" + "x" * 20_000 + "'\n"
    + "x-f: [" + ", ".join(["*a"] * 40) + "]\n"
    + "services: {s: {image: busybox}}\n"
)


def test_an_entry_that_would_amplify_its_source_is_not_written(cache: Path, tmp_path: Path) -> None:
    file = str(tmp_path / "compose.yaml")
    docs = parse_cached(ALIAS_HEAVY, file)
    assert len(docs[0][0]["x-f"]) == 40  # parsed all right, ~800 KB once expanded, from ~20 KB
    assert not cache.exists() or not list(cache.iterdir())
    assert parse_cached(ALIAS_HEAVY, file)[0][0]["services"] == {"s": {"image": "busybox"}}


def test_an_entry_over_the_size_cap_is_not_written(cache: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(parsecache, "MAX_ENTRY", 200)
    text = "services:\n" + "".join(f"  s{i}: {{image: busybox}}\n" for i in range(20))
    parse_cached(text, str(tmp_path / "compose.yaml"))
    assert not cache.exists() or not list(cache.iterdir())
    monkeypatch.setattr(parsecache, "MAX_ENTRY", 1 << 20)
    parse_cached(text, str(tmp_path / "compose.yaml"))
    assert len(list(cache.iterdir())) == 1


def test_the_folder_has_a_total_cap_least_recently_used_first(cache: Path, tmp_path: Path, monkeypatch) -> None:
    files = [str(tmp_path / f"c{i}.yaml") for i in range(6)]
    for i, file in enumerate(files):
        parse_cached(f"a: {i}\n", file)
    entries = sorted(cache.iterdir())
    size = entries[0].stat().st_size
    for age, file in enumerate(files):  # c0 oldest ... c5 newest
        os.utime(parsecache._entry_path(file), ns=(age * 10**9, age * 10**9))
    parse_cached("a: 1\n", files[1])  # a hit: c1 becomes the most recently used
    monkeypatch.setattr(parsecache, "MAX_TOTAL", size * 4 + size // 2)
    parse_cached("b: 1\n", str(tmp_path / "new.yaml"))
    left = {p.name for p in cache.iterdir()}
    assert len(left) == 4
    gone = {os.path.basename(parsecache._entry_path(f)) for f in files[0:1] + files[2:4]}
    assert not gone & left
    assert os.path.basename(parsecache._entry_path(files[1])) in left


def deeply_nested(depth: int) -> bytes:
    return b'{"key": "%s", "docs": [[' % parsecache._key("a: 1\n").encode() + b"[" * depth + b"]" * depth + b", []]]}"


@pytest.mark.parametrize(
    "damage",
    [
        "deep",
        "huge",
        "truncated",
        "line-not-int",
        "path-not-list",
        "docs-not-pairs",
        "not-utf8",
    ],
)
def test_any_damage_with_the_right_key_is_ignored(cache: Path, tmp_path: Path, monkeypatch, damage: str) -> None:
    file = str(tmp_path / "compose.yaml")
    parse_cached("a: 1\n", file)
    (entry,) = cache.iterdir()
    key = parsecache._key("a: 1\n")
    good = entry.read_bytes()
    data = {
        "deep": deeply_nested(200_000),
        "huge": good[:-1] + b" " * (parsecache.MAX_ENTRY + 1) + b"}",
        "truncated": good[: len(good) // 2],
        "line-not-int": json.dumps({"key": key, "docs": [[{"a": 2}, [[["a"], "one"]]]]}).encode(),
        "path-not-list": json.dumps({"key": key, "docs": [[{"a": 2}, [["a", 1]]]]}).encode(),
        "docs-not-pairs": json.dumps({"key": key, "docs": [[{"a": 2}]]}).encode(),
        "not-utf8": good.replace(b'"a"', b'"\xff"'),
    }[damage]
    entry.write_bytes(data)
    entry.chmod(0o600)
    assert parse_cached("a: 1\n", file)[0][0] == {"a": 1}


@pytest.mark.parametrize("value, on", [("", True), ("0", True), ("false", True), ("1", False), ("yes", False), ("x", False)])
def test_no_cache_values(cache: Path, tmp_path: Path, monkeypatch, value: str, on: bool) -> None:
    monkeypatch.setenv(parsecache.NO_CACHE_ENV, value)
    assert (parsecache.cache_dir() is not None) is on
