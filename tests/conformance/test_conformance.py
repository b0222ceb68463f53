"""devenv `config` against Docker Compose v2's, side by side, on real Compose files.

- `cases/`: our own files, one feature area or one kind of real-world stack each (merge of
  several files, extends, include, profiles, every short syntax, a web+db+cache stack with
  health-gated dependencies, a monitoring stack, build options...): all must agree. They stand
  on their own: a clone without `../shared` runs the whole suite.
- `../shared/corpus` (developers' machines only; skipped where absent): real files from
  docker/awesome-compose and docker/compose's fixtures; at least 95% must agree, and every
  disagreement must be listed in KNOWN_DISAGREEMENTS with a reason.
- `invalid/`: files Compose rejects: devenv rejects them too, with one line naming file and line,
  exit code 2 and no traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance.runner import compare, run_compose, run_devenv
from tests.shared_corpus import CORPUS, corpus_cases, needs_corpus, params

HERE = Path(__file__).parent
CORPUS_CASES = corpus_cases()
OWN_CASES = sorted(p for p in (HERE / "cases").iterdir() if p.is_dir())
INVALID_CASES = sorted(p for p in (HERE / "invalid").iterdir() if p.is_dir())

# corpus case -> why devenv deliberately differs from Compose v2 there (none today)
KNOWN_DISAGREEMENTS: dict[str, str] = {}


@needs_corpus
def test_the_corpus_is_there() -> None:
    assert len(CORPUS_CASES) >= 90, f"expected the shared corpus at {CORPUS}"


@pytest.mark.parametrize("case", params(CORPUS_CASES), ids=lambda p: p.name)
def test_corpus_case_agrees_with_compose(case: Path) -> None:
    verdict = compare(case)
    if case.name in KNOWN_DISAGREEMENTS:
        assert not verdict.agree, f"{case.name} now agrees: remove it from KNOWN_DISAGREEMENTS"
    else:
        assert verdict.agree, verdict.detail


@needs_corpus
def test_at_least_95_percent_of_the_corpus_agrees() -> None:
    agreeing = len(CORPUS_CASES) - len(KNOWN_DISAGREEMENTS)
    assert agreeing / len(CORPUS_CASES) >= 0.95


@pytest.mark.parametrize("case", OWN_CASES, ids=lambda p: p.name)
def test_feature_case_agrees_with_compose(case: Path) -> None:
    reference = run_compose(case)
    assert reference.returncode == 0, f"Compose must accept this case: {reference.stderr}"
    verdict = compare(case)
    assert verdict.agree, verdict.detail


@pytest.mark.parametrize("case", INVALID_CASES, ids=lambda p: p.name)
def test_invalid_case_is_rejected_like_compose_does(case: Path) -> None:
    reference = run_compose(case)
    assert reference.returncode != 0, "Compose accepts this case: it does not belong in invalid/"
    ours = run_devenv(case)
    assert ours.returncode == 2
    assert ours.stdout == ""
    lines = ours.stderr.strip().splitlines()
    errors = [line for line in lines if not line.startswith("devenv: warning:")]
    assert len(errors) == 1, ours.stderr
    assert "Traceback" not in ours.stderr
    assert errors[0].startswith("devenv: ")
