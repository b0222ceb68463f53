"""Whatever a Compose file holds, loading it either yields a `Project` (that `config` can print) or
raises a `DevenvError` the CLI turns into one line — never another exception.

(a) random YAML-ish documents built from Compose-like keys, random keys and tricky scalars;
(b) random mutations of real Compose files (the conformance cases, and the shared corpus where
    `../shared` is there).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from devenv.cli.config_cmd import escape_dollars
from devenv.errors import DevenvError
from devenv.manifest.loader import load_project
from devenv.manifest.options import ProjectOptions
from devenv.manifest.yamlout import dump_yaml
from devenv.model import Project
from tests.shared_corpus import CORPUS

REPO = Path(__file__).resolve().parents[2]
CASES = REPO / "tests" / "conformance" / "cases"
MAIN_NAMES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")

SETTINGS = dict(
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

# ------------------------------------------------------------------ the check itself


def check_loads_or_fails_cleanly(options: ProjectOptions) -> Project | None:
    try:
        project = load_project(options, warn=lambda message: None)
    except DevenvError as exc:
        text = str(exc)
        assert isinstance(text, str) and text
        return None
    assert isinstance(project, Project)
    # what `devenv config` does with it must work too
    json.dumps(escape_dollars(project.to_dict(service_extensions=False)), ensure_ascii=False)
    dump_yaml(escape_dollars(project.to_dict()))
    return project


ENVIRON = {"SET": "value", "EMPTY": "", "PORT": "8080", "FLAG": "true", "NUM": "3"}

# ------------------------------------------------------------------ (a) random documents

SERVICE_KEYS = [
    "image", "build", "context", "dockerfile", "args", "ports", "volumes", "environment", "env_file", "depends_on",
    "condition", "required", "restart", "extends", "service", "file", "command", "entrypoint", "healthcheck",
    "test", "interval", "timeout", "retries", "profiles", "deploy", "resources", "limits", "memory", "cpus",
    "replicas", "networks", "aliases", "labels", "links", "volumes_from", "network_mode", "ulimits", "nofile",
    "soft", "hard", "logging", "driver", "options", "extra_hosts", "secrets", "configs", "source", "target",
    "published", "host_ip", "protocol", "mode", "type", "read_only", "bind", "volume", "tmpfs", "nocopy",
    "devices", "expose", "cap_add", "sysctls", "privileged", "tty", "init", "scale", "user", "working_dir",
    "stop_grace_period", "mem_limit", "shm_size", "container_name", "pull_policy", "dns", "path", "x-custom",
    "develop", "watch", "action", "external", "name", "gpus", "platform", "post_start", "models",
]
TOP_KEYS = ["services", "networks", "volumes", "secrets", "configs", "include", "name", "version", "x-ext", "models"]
SERVICE_NAMES = ["web", "db", "cache", "a", "b", "worker-1", "x", "web", "db"]

TRICKY_STRINGS = [
    "${SET}", "${UNSET}", "${EMPTY:-d}", "${UNSET:?boom}", "${UNSET?}", "${A:-${B:-c}}", "$$", "$", "${", "${}",
    "${1}", "$SET$", "${SET:+alt}", "80", "8080:80", "127.0.0.1::80", "[::1]:80:80", "1-3:4-6", "80/udp",
    "65536", "./data:/data", "/data", "named:/data:ro", "a:b:c:d", "~/x:/x", "10s", "1m30s", "1d", "500ms",
    "bogus", "512m", "1g", "-1", "CMD-SHELL", "NONE", "service_healthy", "host", "service:db", "container:x",
    "db", "web", "default", "yes", "on", "0o17", "22:22", "", " ", "\t", "é", "\\", '"', "'", "#", "*",
    "service:", "KEY=value", "KEY", "=", "host:1.2.3.4", "host=::1", "true", "false", "null", "~", "0x1F",
    "1e400", ".inf", "-0", "a" * 60, "/dev/sda:/dev/xvda:rwm", "other.yaml", "app.env", "missing.yaml",
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(TRICKY_STRINGS),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
    st.builds(lambda a, b: f"{a}${{{b}}}", st.sampled_from(["", "x", "pre-"]), st.sampled_from(["SET", "UNSET", "EMPTY:-d", "NUM", "X:?msg", "SET:-"])),
)
keys = st.one_of(
    st.sampled_from(SERVICE_KEYS),
    st.sampled_from(SERVICE_NAMES),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8),
)


def nodes(leaf: st.SearchStrategy, max_leaves: int = 25) -> st.SearchStrategy:
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=5),
        ),
        max_leaves=max_leaves,
    )


service = st.dictionaries(st.sampled_from(SERVICE_KEYS), nodes(scalars, 12), max_size=6)
services = st.dictionaries(st.sampled_from(SERVICE_NAMES), st.one_of(service, nodes(scalars, 5)), max_size=4)
compose_like = st.fixed_dictionaries(
    {"services": services},
    optional={
        "networks": st.dictionaries(st.sampled_from(["front", "back", "default"]), st.one_of(st.none(), nodes(scalars, 6)), max_size=3),
        "volumes": st.dictionaries(st.sampled_from(["data", "named", "static"]), st.one_of(st.none(), nodes(scalars, 6)), max_size=3),
        "secrets": st.dictionaries(st.sampled_from(["token", "key"]), nodes(scalars, 6), max_size=2),
        "name": scalars,
        "version": scalars,
        "include": nodes(scalars, 6),
        "x-ext": nodes(scalars, 6),
    },
)
legacy_like = st.dictionaries(st.sampled_from(SERVICE_NAMES), service, min_size=1, max_size=3)
anything = st.one_of(
    compose_like,
    legacy_like,
    st.dictionaries(st.one_of(st.sampled_from(TOP_KEYS), keys), nodes(scalars), max_size=5),
    nodes(scalars, 10),
)

YAML_TOKENS = [
    "services:", "  web:", "    image: nginx", "    ports:", "      - 80", "      - '8080:80'", "  - x", "- ",
    "&a", "*a", "<<: *a", "<<: [*a, *b]", "x: &a {k: v}", "!reset", "!override", "!!str", "!!int x", "---",
    "...", "? [a]", ": b", "{", "}", "[", "]", "'", '"', "|", ">", "#", "%YAML 1.2", "key: value", "key: value",
    "\t", "  ", "image: ${X", "volumes:", "x-y: 1", "services: !reset null", "a: b: c", "- - -", "@", "`",
]
raw_yaml = st.lists(st.sampled_from(YAML_TOKENS), max_size=15).map("\n".join)


@pytest.fixture(scope="module")
def scratch() -> Path:
    root = Path(tempfile.mkdtemp(prefix="devenv-prop-"))
    (root / "other.yaml").write_text("services:\n  base: {image: base, environment: [A=1]}\n")
    (root / "app.env").write_text("A=1\nB='two'\n")
    (root / "token.txt").write_text("secret\n")
    yield root
    shutil.rmtree(root, ignore_errors=True)


def dump(document: Any, flow: bool) -> str:
    return yaml.safe_dump(document, default_flow_style=flow, allow_unicode=True, sort_keys=False)


@settings(max_examples=250, **SETTINGS)
@given(document=anything, flow=st.booleans(), profiles=st.sampled_from([(), ("*",)]))
def test_random_documents_load_or_fail_cleanly(scratch: Path, document: Any, flow: bool, profiles: tuple) -> None:
    try:
        text = dump(document, flow)
    except (yaml.YAMLError, ValueError, RecursionError):  # pragma: no cover - not representable
        assume(False)
    (scratch / "compose.yaml").write_text(text, encoding="utf-8")
    check_loads_or_fails_cleanly(
        ProjectOptions(files=("compose.yaml",), cwd=str(scratch), project_name="prop", environ=ENVIRON, profiles=profiles)
    )


@settings(max_examples=150, **SETTINGS)
@given(text=raw_yaml)
def test_random_yaml_text_loads_or_fails_cleanly(scratch: Path, text: str) -> None:
    (scratch / "compose.yaml").write_text(text, encoding="utf-8")
    check_loads_or_fails_cleanly(ProjectOptions(files=("compose.yaml",), cwd=str(scratch), project_name="prop", environ=ENVIRON))


# ------------------------------------------------------------------ (b) mutations of real files


class _TolerantLoader(yaml.SafeLoader):
    """YAML 1.1 loader that reads Compose's `!reset` as null and `!override` as its value."""


_TolerantLoader.add_constructor("!reset", lambda loader, node: None)
_TolerantLoader.add_constructor(
    "!override",
    lambda loader, node: loader.construct_object(
        yaml.MappingNode("tag:yaml.org,2002:map", node.value)
        if isinstance(node, yaml.MappingNode)
        else yaml.SequenceNode("tag:yaml.org,2002:seq", node.value)
        if isinstance(node, yaml.SequenceNode)
        else yaml.ScalarNode("tag:yaml.org,2002:str", node.value),
        deep=True,
    ),
)


def _sources() -> list[tuple[Path, str]]:
    found = []
    for base in (CORPUS, CASES):
        if not base.is_dir():
            continue
        for case in sorted(p for p in base.iterdir() if p.is_dir()):
            for name in MAIN_NAMES:
                if (case / name).is_file():
                    found.append((case, name))
                    break
    return found


SOURCES = _sources()


@pytest.fixture(scope="module")
def copies() -> dict[Path, Path]:
    """Each source case copied once (so the files it refers to are there); mutated files go beside."""
    root = Path(tempfile.mkdtemp(prefix="devenv-mut-"))
    out = {}
    for i, (case, _name) in enumerate(SOURCES):
        target = root / f"{i:03d}-{case.name}"
        shutil.copytree(case, target, symlinks=True)
        out[case] = target
    yield out
    shutil.rmtree(root, ignore_errors=True)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    out = [path]
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, path + (k,)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, path + (i,)))
    return out


def _get(node: Any, path: tuple) -> Any:
    for part in path:
        node = node[part]
    return node


OPERATIONS = ["delete", "replace", "retype", "junk", "duplicate", "rename", "wrap", "empty", "graft"]


def mutate(document: Any, data: st.DataObject) -> Any:
    paths = [p for p in _paths(document) if p]
    if not paths:
        return data.draw(nodes(scalars, 8))
    for _ in range(data.draw(st.integers(1, 3), label="mutations")):
        paths = [p for p in _paths(document) if p]
        if not paths:
            break
        path = data.draw(st.sampled_from(paths), label="path")
        parent, key = _get(document, path[:-1]), path[-1]
        value = parent[key]
        op = data.draw(st.sampled_from(OPERATIONS), label="op")
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = data.draw(scalars, label="scalar")
        elif op == "retype":
            parent[key] = (
                [value] if not isinstance(value, list) else {str(i): v for i, v in enumerate(value)}
            ) if data.draw(st.booleans()) else str(value)
        elif op == "junk":
            junk = data.draw(st.sampled_from(TRICKY_STRINGS), label="junk")
            if isinstance(value, list):
                value.insert(data.draw(st.integers(0, len(value))), junk)
            elif isinstance(value, dict):
                value[data.draw(keys, label="junk key")] = junk
            else:
                parent[key] = f"{value}{junk}"
        elif op == "duplicate":
            if isinstance(parent, list):
                parent.insert(key, value)
            elif isinstance(value, (list, dict)):
                parent[key] = value * 2 if isinstance(value, list) else {**value, **{f"{k}2": v for k, v in value.items()}}
            else:
                parent[key] = [value, value]
        elif op == "rename" and isinstance(parent, dict):
            new_key = data.draw(st.one_of(st.sampled_from(SERVICE_KEYS + TOP_KEYS), st.just(str(key)[:-1] or "x")), label="new key")
            parent[new_key] = parent.pop(key)
        elif op == "wrap":
            parent[key] = {"nested": value}
        elif op == "empty":
            parent[key] = type(value)() if isinstance(value, (list, dict, str)) else None
        elif op == "graft":
            parent[key] = data.draw(nodes(scalars, 8), label="graft")
    return document


@settings(max_examples=300, **SETTINGS)
@given(data=st.data())
def test_mutated_real_files_load_or_fail_cleanly(copies: dict[Path, Path], data: st.DataObject) -> None:
    case, name = data.draw(st.sampled_from(SOURCES), label="case")
    directory = copies[case]
    try:
        document = yaml.load((case / name).read_text(encoding="utf-8"), Loader=_TolerantLoader)
    except yaml.YAMLError:  # pragma: no cover - every source parses
        assume(False)
    document = mutate(document, data)
    try:
        text = dump(document, data.draw(st.booleans(), label="flow"))
    except (yaml.YAMLError, ValueError, RecursionError):  # pragma: no cover
        assume(False)
    (directory / "mutated.yaml").write_text(text, encoding="utf-8")
    profiles = data.draw(st.sampled_from([(), ("*",)]), label="profiles")
    check_loads_or_fails_cleanly(
        ProjectOptions(files=("mutated.yaml",), cwd=str(directory), project_name="prop", environ=ENVIRON, profiles=profiles)
    )


@settings(max_examples=150, **SETTINGS)
@given(data=st.data())
def test_text_mutations_of_real_files_load_or_fail_cleanly(copies: dict[Path, Path], data: st.DataObject) -> None:
    case, name = data.draw(st.sampled_from(SOURCES), label="case")
    lines = (case / name).read_text(encoding="utf-8").split("\n")
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        i = data.draw(st.integers(0, max(len(lines) - 1, 0)), label="line")
        op = data.draw(st.sampled_from(["drop", "dup", "junk", "indent", "dedent", "swap"]), label="op")
        if not lines:
            lines = [""]
        if op == "drop":
            del lines[i]
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "junk":
            token = data.draw(st.sampled_from(YAML_TOKENS + TRICKY_STRINGS), label="token")
            at = data.draw(st.integers(0, len(lines[i])), label="column")
            lines[i] = lines[i][:at] + token + lines[i][at:]
        elif op == "indent":
            lines[i] = "  " + lines[i]
        elif op == "dedent":
            lines[i] = lines[i][2:] if lines[i].startswith("  ") else lines[i]
        elif op == "swap" and len(lines) > 1:
            j = data.draw(st.integers(0, len(lines) - 1), label="other line")
            lines[i], lines[j] = lines[j], lines[i]
    directory = copies[case]
    (directory / "mutated.yaml").write_text("\n".join(lines), encoding="utf-8")
    check_loads_or_fails_cleanly(ProjectOptions(files=("mutated.yaml",), cwd=str(directory), project_name="prop", environ=ENVIRON))


def test_the_corpus_is_found() -> None:
    """The mutation tests need real files: the corpus beside the repository and the conformance cases."""
    assert CASES.is_dir()
    assert len(SOURCES) >= 10
