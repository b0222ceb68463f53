"""Fixtures of the unit tests that drive the in-memory engine (tests/fake_engine.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devenv.engine.client import Engine
from devenv.engine.events import EventWatch
from tests.fake_engine import FakeEngineAPI, fake_client
from tests.unit.plan.plan_factories import IMAGE, IMAGE_ID


@pytest.fixture
def fake() -> FakeEngineAPI:
    return FakeEngineAPI({IMAGE: IMAGE_ID})


@pytest.fixture
def client(fake: FakeEngineAPI) -> Engine:
    return fake_client(fake)


@pytest.fixture
def private_locks(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Project locks in this test's folder (apply takes one)."""
    from devenv.engine.lock import LOCK_DIR_ENV

    folder = tmp_path / "locks"
    folder.mkdir(mode=0o700)
    monkeypatch.setenv(LOCK_DIR_ENV, str(folder))


@pytest.fixture
def watch(client: Engine) -> Iterator[EventWatch]:
    w = EventWatch(client, "demo")
    yield w
    w.close()
