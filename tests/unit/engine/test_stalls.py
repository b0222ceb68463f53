"""A stalled engine: the quick-call timeout (one EngineError naming the call), the line saying what
devenv waits for, and the DEVENV_ENGINE_TIMEOUT knob. Against a unix socket that accepts and
never answers."""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest

from devenv.engine import api as api_module
from devenv.engine.api import LocalAPI, SlowCalls
from devenv.engine.client import QUICK_TIMEOUT, quick_timeout
from devenv.errors import EngineError


@pytest.fixture
def silent_socket() -> Iterator[str]:
    """A socket path whose server accepts connections and reads requests, but never answers."""
    with tempfile.TemporaryDirectory(prefix="stall") as directory:
        path = f"{directory}/s.sock"
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen()
        held: list[socket.socket] = []

        def run() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                held.append(conn)

        threading.Thread(target=run, daemon=True).start()
        yield path
        server.close()
        for conn in held:
            conn.close()


def test_a_quick_call_gives_up_naming_the_call(silent_socket: str) -> None:
    api = LocalAPI(silent_socket, timeout=0.2)
    with pytest.raises(EngineError, match=r"did not answer GET /containers/json within 0.2 s"):
        api.containers(all=True)
    with pytest.raises(EngineError, match=r"did not answer POST /containers/create"):
        api.create_container("x", {})
    with pytest.raises(EngineError, match=r"did not answer GET /events"):
        api.events()


def test_a_stop_gets_its_grace_on_top(silent_socket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    monkeypatch.setattr(api_module, "SLOW", SlowCalls(said.append))
    monkeypatch.setattr(api_module, "SLOW_AFTER", 0.05)
    api = LocalAPI(silent_socket, timeout=0.1)
    with pytest.raises(EngineError, match=r"POST /containers/web/stop within 1.1 s"):
        api.stop("web", timeout=1)


def test_a_slow_call_is_said_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "SLOW_AFTER", 0.05)
    said: list[str] = []
    slow = SlowCalls(said.append)
    quick = slow.begin("GET /_ping")
    slow.end(quick)  # ended in time: nothing said
    key = slow.begin("POST /containers/create")
    deadline = time.monotonic() + 10  # a hang guard
    while not said and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.6)  # a few more rounds of the watcher: still one line
    slow.end(key)
    assert len(said) == 1 and said[0].startswith("devenv: waiting for the Docker engine: POST /containers/create ("), said


@pytest.mark.parametrize("value, expected", [
    (None, QUICK_TIMEOUT), ("", QUICK_TIMEOUT), ("2", 2.0), ("0.5", 0.5), ("0", QUICK_TIMEOUT), ("-3", QUICK_TIMEOUT),
    ("nan", QUICK_TIMEOUT), ("inf", QUICK_TIMEOUT), ("ten", QUICK_TIMEOUT), ("1e999", QUICK_TIMEOUT),
])
def test_the_timeout_knob(monkeypatch: pytest.MonkeyPatch, value: str | None, expected: float) -> None:
    if value is None:
        monkeypatch.delenv("DEVENV_ENGINE_TIMEOUT", raising=False)
    else:
        monkeypatch.setenv("DEVENV_ENGINE_TIMEOUT", value)
    assert quick_timeout() == expected
