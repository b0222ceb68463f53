"""Optional material beside the clone, in `../shared` (the developers' machines have it).

- `corpus/`: 96 real Compose files (docker/awesome-compose, docker/compose's e2e fixtures),
  one folder each, for the conformance and schema tests;
- `reference/compose-spec.json`: the Compose JSON schema, to check the vendored copy against.

`DEVENV_SHARED` names another folder (a git worktree's `..` is not the clone's). A user's
clone has neither. Tests that need them are skipped with `REASON`; the project's own
cases (tests/conformance/cases, invalid/) cover the same ground without them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("DEVENV_SHARED") or REPO.parent / "shared")
CORPUS = SHARED / "corpus"
REFERENCE_SCHEMA = SHARED / "reference" / "compose-spec.json"

REASON = f"needs the shared Compose corpus at {CORPUS} (beside the clone, or DEVENV_SHARED; not part of the repository)"
SCHEMA_REASON = f"needs the reference schema at {REFERENCE_SCHEMA} (beside the clone, or DEVENV_SHARED; not part of the repository)"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=REASON)
needs_reference_schema = pytest.mark.skipif(not REFERENCE_SCHEMA.is_file(), reason=SCHEMA_REASON)


def corpus_cases() -> list[Path]:
    """The corpus's case folders, sorted; empty without the corpus."""
    return sorted(p for p in CORPUS.iterdir() if p.is_dir()) if CORPUS.is_dir() else []


def params(items: Sequence[Any]) -> list[Any]:
    """Items for `parametrize`: without the corpus, one test skipped with `REASON` instead."""
    return list(items) or [pytest.param(None, marks=pytest.mark.skip(reason=REASON), id="no-corpus")]
