"""devenv's `com.docker.compose.config-hash` is Compose's: side by side with `docker-compose config
--hash '*'` on the project's own conformance cases (and on ../shared/corpus when it is there).

`config --hash` hashes the project before `up` merges `env_file` into `environment` and before it
names another service's container by ID, while devenv computes the hash `up` writes on the
container; services that use either differ by design, and are listed with the reason. The
label `up` writes is checked on real containers by tests/differential/test_compose_interop.py.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from devenv.errors import DevenvError
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan.composehash import service_hash
from tests.conformance.runner import case_args, clean_env, compose_binary

HERE = Path(__file__).parent
CORPUS = HERE.parents[2] / "shared" / "corpus"
CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())
CORPUS_CASES = sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []

BY_DESIGN = {
    ("extends", "fromfile"): "env_file (merged into environment by up)",
    ("include", "othersvc"): "env_file (merged into environment by up)",
    ("implied-deps", "web"): "volumes_from container:NAME (resolved by up)",
    ("e2e-config_hash", "optional-env"): "env_file (merged into environment by up)",
    ("e2e-config_hash", "with-env-file"): "env_file (merged into environment by up)",
}


def _options(case: Path) -> ProjectOptions:
    args = case_args(case)
    files, profiles, env_files, name = [], [], [], None
    for flag, value in zip(args, args[1:]):
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


def _compare(case: Path) -> list[str]:
    proc = subprocess.run(
        [compose_binary(), *case_args(case), "config", "--hash", "*"], cwd=case, env=clean_env(case),
        capture_output=True, text=True, timeout=60,
    )
    if proc.returncode != 0:
        pytest.skip(f"Compose rejects {case.name}")
    try:
        project = load_project(_options(case))
    except DevenvError as exc:  # devenv refuses what Compose's `config` lets through (tests/conformance)
        pytest.skip(f"devenv rejects {case.name}: {exc}")
    problems = []
    for line in proc.stdout.splitlines():
        name, _, theirs = line.partition(" ")
        if name not in project.services or (case.name, name) in BY_DESIGN:
            continue
        ours = service_hash(project.services[name])
        if ours != theirs:
            problems.append(f"{case.name}/{name}: devenv {ours[:12]}, Compose {theirs[:12]}")
    return problems


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_config_hash_is_composes(case: Path) -> None:
    assert not _compare(case)


@pytest.mark.parametrize("case", CORPUS_CASES, ids=lambda p: p.name)
def test_config_hash_is_composes_on_the_corpus(case: Path) -> None:
    assert not _compare(case)
