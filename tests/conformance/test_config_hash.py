"""devenv's `com.docker.compose.config-hash` is Compose's, side by side with the Compose binary on
the project's own conformance cases (and on ../shared/corpus when it is there).

Compose's hash (pkg/compose/hash.go) is sha256 of Go's `json.Marshal` of the service as `up` sees
it, without build, pull_policy, scale, deploy.replicas, depends_on and profiles. Its `config
--format json` prints that same marshalling, indented, of the same service (environment files
merged, as `up` does), so compacting it (key order kept, Go's escaping of <, > and &) gives the
bytes `up` hashes; `config --hash` itself hashes the project before environment files are merged,
so it is the reference only for services without one. Services naming another container
(`volumes_from: [container:x]`) differ by design: `up` resolves those names first; the labels on
real containers are checked by tests/differential/test_compose_interop.py.
"""

from __future__ import annotations

import collections
import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from devenv.errors import DevenvError
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan.composehash import service_hash
from tests.conformance.runner import case_args, clean_env, compose_binary
from tests.shared_corpus import corpus_cases, params

HERE = Path(__file__).parent
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())
CORPUS_CASES = params(corpus_cases())  # DEVENV_SHARED or ../shared; one reasoned skip without it



def go_compact(value: object) -> str:
    """JSON as Go's encoding/json writes it: no spaces, key order kept, <, > and & escaped."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def unescape(value: object) -> object:
    """`config` prints a literal `$` as `$$` (so its output interpolates back): the value is `$`."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, dict):
        return collections.OrderedDict((unescape(k), unescape(v)) for k, v in value.items())
    if isinstance(value, list):
        return [unescape(v) for v in value]
    return value


def up_hash(service: dict) -> str:
    """The hash `up` writes, from Compose's own `config --format json` of the service."""
    service = dict(unescape(service))  # type: ignore[call-overload]
    for key in ("build", "pull_policy", "scale", "depends_on", "profiles"):
        service.pop(key, None)
    if isinstance(service.get("deploy"), dict):
        service["deploy"] = {k: v for k, v in service["deploy"].items() if k != "replicas"}
    return hashlib.sha256(go_compact(service).encode()).hexdigest()


def names_a_container(service: dict) -> bool:
    return any(str(v).startswith("container:") for v in service.get("volumes_from") or ())


def _options(case: Path) -> ProjectOptions:
    args = case_args(case)
    files, profiles, env_files, name = [], [], [], None
    for flag, value in zip(args, args[1:], strict=False):
        if flag in ("-f", "--file"):
            files.append(value)
        elif flag in ("-p", "--project-name"):
            name = value
        elif flag == "--profile":
            profiles.append(value)
        elif flag == "--env-file":
            env_files.append(value)
    return ProjectOptions(
        files=tuple(files), project_name=name, profiles=tuple(profiles), env_files=tuple(env_files),
        environ=clean_env(case), cwd=str(case),
    )


def _compose(case: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [compose_binary(), *case_args(case), *args], cwd=case, env=clean_env(case), capture_output=True, text=True, timeout=60,
    )


def _compare(case: Path) -> list[str]:
    printed = _compose(case, "config", "--format", "json")
    if printed.returncode != 0:  # no hash to compare: devenv must refuse the file too
        with pytest.raises(DevenvError):
            load_project(_options(case))
        return []
    services = json.loads(printed.stdout, object_pairs_hook=collections.OrderedDict)["services"]
    try:
        project = load_project(_options(case))
    except DevenvError as exc:
        pytest.fail(f"Compose accepts {case.name}, devenv refuses it: {exc}")
    problems = []
    for name, printed_service in services.items():
        if name not in project.services or names_a_container(printed_service):
            continue
        theirs = up_hash(printed_service)
        ours = service_hash(project.services[name])
        if ours != theirs:
            problems.append(f"{case.name}/{name}: devenv {ours[:12]}, Compose {theirs[:12]}")
    return problems


def test_compacting_config_json_gives_composes_own_hash(tmp_path: Path) -> None:
    """The method above, checked against `config --hash` where both hash the same thing (no
    environment file, no variable left to resolve): escaping, floats, empty structures, order."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web:\n"
        "    image: nginx:1.25\n"
        "    environment: {A: '<b>&\u2028 $$HOME', B: ''}\n"
        "    cpus: 0.3333333333\n"
        "    ports: ['8080:80', '127.0.0.1:53:53/udp']\n"
        "    deploy: {replicas: 2, restart_policy: {condition: on-failure, max_attempts: 0}}\n"
        "    healthcheck: {test: [CMD, 'true'], interval: 90s, retries: 0}\n"
        "    mem_limit: 1g\n"
        "    init: false\n"
        "    volumes: [data:/data, ./src:/src:ro]\n"
        "    depends_on: [db]\n"
        "  db: {image: postgres, ulimits: {nofile: {soft: 1, hard: 2}, nproc: 3}, tmpfs: [/run]}\n"
        "volumes: {data: {}}\n"
    )
    case = tmp_path
    services = json.loads(_compose(case, "config", "--format", "json").stdout, object_pairs_hook=collections.OrderedDict)["services"]
    hashes = dict(line.split(" ", 1) for line in _compose(case, "config", "--hash", "*").stdout.splitlines())
    project = load_project(_options(case))
    for name in ("web", "db"):
        assert up_hash(services[name]) == hashes[name]
        assert service_hash(project.services[name]) == hashes[name]


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_config_hash_is_composes(case: Path) -> None:
    assert not _compare(case)


@pytest.mark.parametrize("case", CORPUS_CASES, ids=lambda p: p.name if p else "no-corpus")
def test_config_hash_is_composes_on_the_corpus(case: Path) -> None:
    assert not _compare(case)
