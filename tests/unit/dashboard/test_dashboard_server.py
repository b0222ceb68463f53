"""The dashboard's HTTP server without an engine (a stand-in Dashboard): the token, the cookie,
the Host check, the token header on POSTs, the page and the JSON state."""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from devenv.dashboard.server import Server, log_line


class StandIn:
    token = "t0ken-abc"

    def __init__(self) -> None:
        self.project = SimpleNamespace(name="p", services={"web": {}})
        self.stopping = threading.Event()
        self.acted: list[tuple[str, str]] = []

    def state(self) -> dict[str, Any]:
        return {"project": "p", "services": [], "last_up": None}

    def act(self, verb: str, service: str) -> dict[str, Any]:
        self.acted.append((verb, service))
        return {"ok": True, "verb": verb, "service": service}


@pytest.fixture
def served() -> Iterator[tuple[Server, StandIn]]:
    board = StandIn()
    server = Server(board, 0)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server, board
    server.shutdown()
    server.server_close()
    thread.join()


def request(server: Server, method: str, path: str, headers: dict[str, str] | None = None,
            host: str | None = None) -> tuple[int, dict[str, str], bytes]:
    port = server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest(method, path, skip_host=True)
    conn.putheader("Host", host or f"127.0.0.1:{port}")
    for key, value in (headers or {}).items():
        conn.putheader(key, value)
    conn.endheaders()
    answer = conn.getresponse()
    body = answer.read()
    conn.close()
    return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body


def test_the_url_listens_on_loopback_with_the_token(served: tuple[Server, StandIn]) -> None:
    server, board = served
    assert server.server_address[0] == "127.0.0.1"
    assert server.url == f"http://127.0.0.1:{server.server_address[1]}/?token={board.token}"


def test_nothing_is_served_without_the_token(served: tuple[Server, StandIn]) -> None:
    server, _ = served
    for path in ("/", "/api/state", "/api/events", "/?token=wrong"):
        assert request(server, "GET", path)[0] == 403, path


def test_the_token_in_the_url_sets_a_strict_cookie_that_opens_the_page(served: tuple[Server, StandIn]) -> None:
    server, board = served
    code, headers, _ = request(server, "GET", f"/?token={board.token}")
    assert code == 303 and headers["location"] == "/"
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    pair = cookie.split(";")[0]
    code, headers, body = request(server, "GET", "/", {"Cookie": pair})
    assert code == 200 and headers["content-type"].startswith("text/html")
    assert f'content="{board.token}"' in body.decode() and "__DEVENV_TOKEN__" not in body.decode()
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    code, _, body = request(server, "GET", "/api/state", {"Cookie": pair})
    assert code == 200 and json.loads(body) == board.state()


def test_another_host_name_is_refused_even_with_the_token(served: tuple[Server, StandIn]) -> None:
    server, board = served
    assert request(server, "GET", f"/?token={board.token}", host="evil.example:80")[0] == 403


def test_posts_need_the_token_header_not_just_the_cookie(served: tuple[Server, StandIn]) -> None:
    server, board = served
    cookie = f"devenv_dashboard_{server.server_address[1]}={board.token}"
    assert request(server, "POST", "/api/restart?service=web", {"Cookie": cookie})[0] == 403
    assert board.acted == []
    code, _, body = request(server, "POST", "/api/restart?service=web", {"X-Devenv-Token": board.token})
    assert code == 200 and json.loads(body)["ok"] is True
    code, _, _ = request(server, "POST", "/api/stop?service=nope", {"X-Devenv-Token": board.token})
    assert code == 404
    assert request(server, "POST", "/api/stop?service=web", {"X-Devenv-Token": board.token})[0] == 200
    assert board.acted == [("restart", "web"), ("stop", "web")]


def test_log_lines_carry_the_engines_time() -> None:
    assert log_line("c", "1970-01-01T00:00:02.5Z hello world") == {
        "container": "c", "ts": "1970-01-01T00:00:02.5Z", "t": 2.5, "text": "hello world"}
    assert log_line("c", "no stamp")["t"] is None
