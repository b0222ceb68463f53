"""`devenv watch`'s rules (plan/watch.py): the .dockerignore-syntax Matcher, and develop.watch read
from a real Compose file into Rules (ignore sources, include, targets, exec hooks, errors)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devenv.errors import ManifestError, UsageError
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan.watch import (
    ACTIONS,
    ALWAYS_IGNORED,
    SYNC_ACTIONS,
    ExecHook,
    Matcher,
    bind_mounted,
    read_ignore_file,
    rules_of,
)

B = "/w/app"


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Any:
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    return load_project(ProjectOptions(cwd=str(tmp_path), environ=dict(environ or {})))


def m(*patterns: str, base: str = B) -> Matcher:
    return Matcher.of(base, patterns)


# -- Matcher: matching


@pytest.mark.parametrize(
    ("patterns", "path", "expected"),
    [
        (("node_modules",), f"{B}/node_modules", True),
        (("node_modules",), f"{B}/node_modules/a/b.js", True),  # a parent matches
        (("node_modules",), f"{B}/src/node_modules/x", False),  # anchored at the base
        (("node_modules/",), f"{B}/node_modules/x", True),  # trailing `/` changes nothing
        (("/node_modules",), f"{B}/node_modules/x", True),  # leading `/`: the base
        ((f"{B}/tmp",), f"{B}/tmp/x", True),  # an absolute path inside the base
        (("*.log",), f"{B}/a.log", True),
        (("*.log",), f"{B}/sub/a.log", False),  # `*` does not cross `/`
        (("**/*.log",), f"{B}/sub/deep/a.log", True),
        (("**/*.log",), f"{B}/a.log", True),  # `**/` is zero folders too
        (("sub/**",), f"{B}/sub/x/y", True),
        (("sub/**",), f"{B}/subx/y", False),
        (("a?c",), f"{B}/abc", True),
        (("a?c",), f"{B}/a/c", False),
        (("[ab].txt",), f"{B}/b.txt", True),
        (("[!ab].txt",), f"{B}/c.txt", True),
        (("[!ab].txt",), f"{B}/a.txt", False),
        (("[a-c]",), f"{B}/b", True),
        (("[a-c]",), f"{B}/-", False),
        (("[-a]",), f"{B}/-", True),  # a `-` at an end is literal
        (("[\\]]",), f"{B}/]", True),  # an escaped `]` does not close the class
        (("[!]a]",), f"{B}/x", True),
        (("[&&x]",), f"{B}/&", True),  # no regex set operators
        (("[ab",), f"{B}/[ab", True),  # an unclosed `[` is literal
        (("a[!x]b",), f"{B}/a/b", False),  # a class never matches `/`
        (("x\\*y",), f"{B}/x*y", True),
        (("x\\*y",), f"{B}/xzy", False),
        (("./a/../b",), f"{B}/b/c", True),  # cleaned
        (("../shared",), "/w/shared/x", True),  # `..` leaves the base
        ((".",), f"{B}/anything", True),
        (("*", "!keep"), f"{B}/keep/x", False),  # `!` re-includes (Compose's `*` special case is not kept)
        (("*", "!keep"), f"{B}/other", True),
        (("*", "!keep", "keep/tmp"), f"{B}/keep/tmp/x", True),  # the last rule wins
        (("node_modules", "!node_modules/keep"), f"{B}/node_modules/keep/a", False),
        (("node_modules", "!node_modules/keep"), f"{B}/node_modules/other", True),
        (("", "  ", "!"), f"{B}/x", False),  # blank patterns ignored
        (("a b",), f"{B}/a b", True),
        (("a+b(c)",), f"{B}/a+b(c)", True),  # regex characters are literal
    ],
)
def test_matches(patterns: tuple[str, ...], path: str, expected: bool) -> None:
    assert m(*patterns).matches(path) is expected


def test_base_with_glob_characters_is_literal() -> None:
    matcher = Matcher.of("/w/[x]*", ["tmp"])
    assert matcher.matches("/w/[x]*/tmp/a")
    assert not matcher.matches("/w/xyz/tmp/a")


def test_nothing_outside_the_base_matches() -> None:
    assert not m("*").matches("/w/other/x")
    assert not m("*").matches(B)  # `*` matches what is in the base, not the base itself
    assert not Matcher().matches("/anything")


def test_any_of_matches_when_one_part_does_and_keeps_each_parts_own_negations() -> None:
    ignore = Matcher.any_of(m("*.log", "!keep.log"), m("keep.log", base=f"{B}/sub"))
    assert ignore.matches(f"{B}/a.log")
    assert not ignore.matches(f"{B}/keep.log")  # re-included by its own part, nothing else matches it
    assert ignore.matches(f"{B}/sub/keep.log")
    # a `!` in one part does not re-include what another part matches
    both = Matcher.any_of(m("*.log"), m("!a.log"))
    assert both.matches(f"{B}/a.log")
    assert Matcher.any_of(Matcher(), Matcher()).empty


def test_editor_temporary_files_and_git_are_always_ignored() -> None:
    for path in ("/p/src/.git", "/p/src/.git/objects/ab", "/p/a/.git/HEAD", "/p/.a.py.swp", "/p/x/.b.swx",
                 "/p/x/a.py~", "/p/4913", "/p/.#a.py", "/p/#a.py#", "/p/a.py___jb_tmp___", "/p/.idea/w.xml",
                 "/p/.a.kate-swp", "/p/x-go-tmp-umask"):
        assert ALWAYS_IGNORED.matches(path), path
    for path in ("/p/src/a.py", "/p/.gitignore", "/p/a.swp", "/p/49130", "/p/.github/ci.yml"):
        assert not ALWAYS_IGNORED.matches(path), path


# -- Matcher: whole folders (covers / misses), conservative


@pytest.mark.parametrize(
    ("patterns", "folder", "expected"),
    [
        (("node_modules",), f"{B}/node_modules", True),
        (("node_modules",), f"{B}/node_modules/deep", True),
        (("node_modules",), f"{B}/src", False),
        (("node_modules", "!node_modules/keep"), f"{B}/node_modules", False),  # keep/ may come back
        (("node_modules", "!node_modules/keep"), f"{B}/node_modules/other", True),
        (("node_modules", "!node_modules/keep"), f"{B}/node_modules/keep", False),
        (("node_modules", "!**/*.js"), f"{B}/node_modules", False),  # `**` can reach anything
        (("node_modules", "!*.js"), f"{B}/node_modules", True),  # `*.js` stays at the top
        (("node_modules", "!node_modules/*/x"), f"{B}/node_modules/a", False),
        (("!node_modules/keep", "node_modules"), f"{B}/node_modules", True),  # a `!` before decides nothing
        (("**/.cache",), f"{B}/a/b/.cache", True),
        (("**/.idea/**",), f"{B}/.idea", True),  # its contents match (not the folder itself)
        (("**/.idea/**",), f"{B}/x/.idea/y", True),
        (("**/.idea/**",), f"{B}/x", False),
        (("node_modules/**",), f"{B}/node_modules", True),
        (("node_modules/*",), f"{B}/node_modules", True),
        (("node_modules/*.js",), f"{B}/node_modules", False),
        (("node_modules/**", "!node_modules/keep"), f"{B}/node_modules", False),
        (("**",), B, True),
        (("**/*",), f"{B}/a", True),
        (("*/cache/**",), f"{B}/a/cache", True),
        (("*/cache/**",), f"{B}/a/b/cache", False),
        (("node_modules", "!node_modules/**"), f"{B}/node_modules", False),
    ],
)
def test_covers(patterns: tuple[str, ...], folder: str, expected: bool) -> None:
    assert m(*patterns).covers(folder) is expected


def test_covers_through_any_part() -> None:
    assert Matcher.any_of(m("dist"), ALWAYS_IGNORED).covers("/z/q/.git")
    assert Matcher.any_of(m("dist"), ALWAYS_IGNORED).covers(f"{B}/dist")
    assert not Matcher.any_of(m("dist"), ALWAYS_IGNORED).covers(f"{B}/src")


@pytest.mark.parametrize(
    ("patterns", "folder", "expected"),
    [
        (("src",), f"{B}/lib", True),
        (("src",), f"{B}/src", False),
        (("src",), f"{B}/src/x", False),
        (("src/app",), f"{B}/src", False),  # on the way to src/app
        (("*.py",), f"{B}/lib", True),  # anchored: no .py under lib can match
        (("**/*.py",), f"{B}/lib", False),
        (("src", "!src/gen"), f"{B}/src/gen", True),
        (("src", "!src/gen"), f"{B}/src/other", False),
        (("s*",), f"{B}/lib", True),
        (("s*",), f"{B}/sx", False),
    ],
)
def test_misses(patterns: tuple[str, ...], folder: str, expected: bool) -> None:
    assert m(*patterns).misses(folder) is expected


def test_read_ignore_file_is_moby_ignorefile() -> None:
    text = "\ufeff# comment\n\nnode_modules/\n  /dist  \n!  keep.log\n*.log\n ./a/../b \n# x\n!\n"
    assert read_ignore_file(text) == ["node_modules", "dist", "!keep.log", "*.log", "b", "!"]


# -- rules_of on real Compose files

APP = """
services:
  web:
    build: ./app
    volumes:
      - ./data:/data
    develop:
      watch:
        - path: ./app/src
          action: sync
          target: /srv/src/
          ignore: [tmp/, "*.bak"]
          initial_sync: true
        - path: ./app/package.json
          action: rebuild
        - path: ./app/conf
          action: sync+restart
          target: /etc/app
          include: ["*.conf"]
        - path: ./app/hooks
          action: sync+exec
          target: /hooks
          exec:
            command: sh -c 'echo "$$A"'
            user: "1000"
            privileged: true
            working_dir: /hooks
            environment:
              Z: "1"
              A: two
        - path: ./app/restart-me
          action: restart
          target: /ignored
        - path: ./data/sub
          action: sync
          target: /data/sub
  db:
    image: busybox
"""


def test_rules_of_reads_every_field(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    rules = rules_of(project)
    root = str(tmp_path)
    assert [(r.service, r.index, r.action) for r in rules] == [
        ("web", 0, "sync"), ("web", 1, "rebuild"), ("web", 2, "sync+restart"), ("web", 3, "sync+exec"),
        ("web", 4, "restart"), ("web", 5, "sync"),
    ]
    sync, rebuild, conf, hooks, restart, _data = rules
    assert sync.path == f"{root}/app/src" and sync.target == "/srv/src" and sync.initial_sync
    assert rebuild.target is None and not rebuild.initial_sync and rebuild.exec is None
    assert restart.target is None  # Compose ignores a target there
    assert conf.include is not None and conf.include.matches(f"{root}/app/conf/a.conf")
    assert not conf.initial_sync
    assert hooks.exec == ExecHook(
        command=("sh", "-c", 'echo "$A"'), user="1000", privileged=True, working_dir="/hooks",
        environment=(("A", "two"), ("Z", "1")),
    )
    assert sync.exec is None
    assert all(r.action in ACTIONS for r in rules) and set(SYNC_ACTIONS) < set(ACTIONS)


def test_rules_of_selected_services_and_errors(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    assert {r.service for r in rules_of(project, ["web"])} == {"web"}
    with pytest.raises(UsageError, match="none of the selected services is configured for watch, consider setting a 'develop' section"):
        rules_of(project, ["db"])
    with pytest.raises(UsageError, match="no such service: nope"):
        rules_of(project, ["nope"])


def test_wants_ignore_include_and_container_path(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".dockerignore").write_text("**/*.pyc\nsrc/secret\n", encoding="utf-8")
    project = load(tmp_path, APP)
    sync, rebuild, conf, *_ = rules_of(project)
    src = f"{tmp_path}/app/src"
    assert sync.wants(f"{src}/a.py")
    assert sync.wants(src)
    assert not sync.wants(f"{tmp_path}/app/srcx/a.py")  # not under the path
    assert not sync.wants(f"{src}/tmp/x")  # the rule's ignore, anchored at its path
    assert not sync.wants(f"{src}/a.bak")
    assert not sync.wants(f"{src}/x/a.pyc")  # the build context's .dockerignore
    assert not sync.wants(f"{src}/secret/k")  # .dockerignore anchored at the context
    assert not sync.wants(f"{src}/.git/HEAD")
    assert not sync.wants(f"{src}/.a.py.swp")
    assert sync.container_path(f"{src}/pkg/a.py") == "/srv/src/pkg/a.py"
    assert sync.container_path(src) == "/srv/src"
    with pytest.raises(ValueError):
        sync.container_path(f"{src}x/a.py")
    assert rebuild.wants(f"{tmp_path}/app/package.json")
    assert not rebuild.wants(f"{tmp_path}/app/package.json.bak")
    with pytest.raises(ValueError):
        rebuild.container_path(f"{tmp_path}/app/package.json")
    assert conf.wants(f"{tmp_path}/app/conf/a.conf")
    assert not conf.wants(f"{tmp_path}/app/conf/a.txt")
    assert not conf.wants(f"{tmp_path}/app/conf/sub/a.conf")  # `*.conf` is anchored at the path


def test_prunes(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / ".dockerignore").write_text("src/node_modules\n", encoding="utf-8")
    project = load(tmp_path, APP)
    sync, rebuild, conf, *_ = rules_of(project)
    src = f"{tmp_path}/app/src"
    assert sync.prunes(f"{src}/node_modules")
    assert sync.prunes(f"{src}/a/.git")
    assert sync.prunes(f"{src}/tmp")
    assert not sync.prunes(f"{src}/lib")
    assert not sync.prunes(src)
    assert not sync.prunes(f"{tmp_path}/app")  # on the way to the path
    assert sync.prunes(f"{tmp_path}/other")  # nowhere near it
    assert rebuild.prunes(f"{tmp_path}/app/src")  # a file rule needs no folder under its parent
    assert not rebuild.prunes(f"{tmp_path}/app")
    assert conf.prunes(f"{tmp_path}/app/conf/sub")  # include `*.conf` cannot reach inside sub/
    assert not conf.prunes(f"{tmp_path}/app/conf/x.conf")  # a folder named x.conf is included


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    app = tmp_path / "app"
    app.mkdir()
    (app / ".dockerignore").write_text("general\n", encoding="utf-8")
    (app / "Dev.Dockerfile.dockerignore").write_text("specific\n", encoding="utf-8")
    text = APP.replace("build: ./app", "build: {context: ./app, dockerfile: Dev.Dockerfile}")
    sync = rules_of(load(tmp_path, text))[0]
    assert sync.ignore.matches(f"{app}/specific")
    assert not sync.ignore.matches(f"{app}/general")


def test_no_build_or_remote_context_reads_no_ignore_file(tmp_path: Path) -> None:
    text = """
services:
  a:
    image: busybox
    develop: {watch: [{path: ./src, action: sync, target: /src}]}
  b:
    build: https://github.com/docker/compose.git
    develop: {watch: [{path: ./src, action: sync, target: /src}]}
"""
    (tmp_path / ".dockerignore").write_text("src\n", encoding="utf-8")
    for rule in rules_of(load(tmp_path, text)):
        assert rule.wants(f"{tmp_path}/src/x")


def test_exec_command_list_environment_list_and_unset_variables(tmp_path: Path) -> None:
    text = """
services:
  web:
    image: busybox
    develop:
      watch:
        - path: ./src
          action: sync+exec
          target: /src
          exec:
            command: [kill, "-HUP", "1"]
            environment: [A=1, FROM_SHELL, UNSET]
"""
    rule = rules_of(load(tmp_path, text, {"FROM_SHELL": "yes"}))[0]
    assert rule.exec == ExecHook(command=("kill", "-HUP", "1"), environment=(("A", "1"), ("FROM_SHELL", "yes")))


def test_initial_sync_only_for_sync_actions(tmp_path: Path) -> None:
    text = """
services:
  web:
    build: .
    develop:
      watch:
        - {path: ./a, action: sync, target: /a, initial_sync: true}
        - {path: ./b, action: rebuild, initial_sync: true}
        - {path: ./c, action: sync+exec, target: /c, initial_sync: true, exec: {command: "true"}}
"""
    assert [r.initial_sync for r in rules_of(load(tmp_path, text))] == [True, False, True]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("{path: ./src, action: sync+exec, target: /x}",
         ':7: services.web.develop.watch[0].exec: can\'t watch with action "sync+exec" on service web without a command'),
        ("{path: ./src, action: sync, target: rel/x}",
         ":7: services.web.develop.watch[0].target: 'rel/x' must be an absolute container path"),
        ("{path: ./src, action: rebuild}",
         ':7: services.web.develop.watch[0].action: can\'t watch service "web" with action rebuild without a build context'),
        ("{path: ./src, action: sync+exec, target: /x, exec: {command: ls, working_dir: rel}}",
         ":7: services.web.develop.watch[0].exec: working_dir 'rel' must be an absolute container path"),
        ("{path: ./src, action: syncx, target: /x}", ":7: services.web.develop.watch[0].action: must be one of"),
        ("{path: ./src, action: sync}", ":7: services.web.develop.watch[0]: target is required for non-rebuild actions"),
    ],
)
def test_bad_rules_are_one_line_naming_file_line_and_field(tmp_path: Path, rule: str, expected: str) -> None:
    text = f"""
services:
  web:
    image: busybox
    develop:
      watch:
        - {rule}
"""
    with pytest.raises(ManifestError) as info:
        rules_of(load(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(tmp_path / "compose.yaml") + expected), message


def test_bind_mounted(tmp_path: Path) -> None:
    project = load(tmp_path, APP)
    rules = rules_of(project)
    service = project.services["web"]
    assert bind_mounted(service, rules[5]) == f"{tmp_path}/data"
    assert bind_mounted(service, rules[0]) is None
    assert bind_mounted(service, rules[1]) is None  # not a sync rule


def test_covers_and_misses_are_sound_on_random_pattern_sets() -> None:
    """Whatever `covers` says is all matched is, and whatever `misses` says is never matched is not:
    checked over every path of a small tree, for random mixes of patterns (fixed seed)."""
    import itertools
    import random

    pool = ["a", "b/", "*.py", "**/*.py", "a/**", "!a/keep", "c/*/d", "**/x", "?", "[ab]*", "!**/keep.py", "a/b",
            "/b", "./c", "**", "x/**/y", "!*.md", "*.md", "!a", "a/*", "!a/*/x", "**/b/**", "!c", "c/**"]
    names = ["a", "b", "c", "x", "keep", "keep.py", "m.md"]
    paths = ["/".join(p) for n in range(1, 4) for p in itertools.product(names, repeat=n)]
    folders = [p for p in paths if p.count("/") < 2]
    rng = random.Random(10)
    decided = 0
    for _ in range(60):
        matcher = m(*rng.sample(pool, rng.randint(1, 5)))
        for folder in folders:
            under = [f"{B}/{p}" for p in paths if p.startswith(folder + "/")]
            if matcher.covers(f"{B}/{folder}"):
                decided += 1
                assert all(matcher.matches(p) for p in under), (matcher.patterns, folder)
            if matcher.misses(f"{B}/{folder}"):
                decided += 1
                assert not any(matcher.matches(p) for p in [f"{B}/{folder}", *under]), (matcher.patterns, folder)
    assert decided > 500  # the checks said something, not always "unsure"


def test_matcher_agrees_with_the_shipping_excludes_on_relative_paths() -> None:
    """plan/shipping.py's `.devenvignore` reader is the project's other .dockerignore implementation."""
    import itertools

    from devenv.plan.shipping import Excludes

    sets = [["*.py", "!keep.py"], ["a/**", "!a/keep"], ["**/x", "c/*/d"], ["[ab]*", "!**/keep.py"], ["/b", "./c", "x/**/y"]]
    paths = ["/".join(p) for n in range(1, 4) for p in itertools.product(["a", "b", "c", "d", "x", "y", "keep", "keep.py"], repeat=n)]
    for patterns in sets:
        excludes, matcher = Excludes.parse("\n".join(patterns)), m(*patterns)
        assert [p for p in paths if excludes.excluded(p)] == [p for p in paths if matcher.matches(f"{B}/{p}")], patterns
