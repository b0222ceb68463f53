"""HTTP/1.1 over a unix socket (`devenv.engine.unixhttp`), against a small server that answers the
ways the engine does: a sized body, a chunked body, a streamed body, a body ended by closing, and
a kept-alive connection that the server dropped in between."""

from __future__ import annotations

import socket
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from devenv.engine.unixhttp import Disconnected, ProtocolError, UnixConnection

Answer = Callable[[bytes], bytes | None]  # request head -> raw answer (None: close without answering)


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., str]]:
    """serve(answer, ...) -> socket path; each accepted connection gets the answers in turn."""
    servers: list[socket.socket] = []

    def start(*answers: Answer, close_after_each: bool = False) -> str:
        path = str(tmp_path / f"s{len(servers)}.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        server.listen()
        servers.append(server)
        queue = list(answers)

        def run() -> None:
            while queue:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    while queue:
                        head = b""
                        while b"\r\n\r\n" not in head:
                            data = conn.recv(65536)
                            if not data:
                                break
                            head += data
                        if not head:
                            break
                        reply = queue.pop(0)(head)
                        if reply is None:
                            break
                        conn.sendall(reply)
                        if close_after_each:
                            break

        threading.Thread(target=run, daemon=True).start()
        return path

    yield start
    for server in servers:
        server.close()


def sized(body: bytes, status: str = "200 OK", extra: str = "") -> Answer:
    return lambda _head: f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode() + body


def chunked(*chunks: bytes) -> Answer:
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    return lambda _head: b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body


def test_a_sized_answer_is_read_whole_and_the_connection_is_kept(serve: Callable[..., str]) -> None:
    seen: list[bytes] = []

    def first(head: bytes) -> bytes:
        seen.append(head)
        return sized(b'{"a": 1}', extra="Api-Version: 1.41\r\n")(head)

    conn = UnixConnection(serve(first, sized(b"[]")), timeout=5)
    head, body = conn.request("POST", "/v1.41/containers/create", b'{"Image": "x"}', {"Content-Type": "application/json"})
    assert (head.status, body, head.header("API-VERSION")) == (200, b'{"a": 1}', "1.41")
    assert seen[0].startswith(b"POST /v1.41/containers/create HTTP/1.1\r\n")
    assert b"Content-Length: 14\r\n" in seen[0] and b"Host: docker\r\n" in seen[0]
    assert conn.request("GET", "/v1.41/containers/json")[1] == b"[]"  # the same connection again
    conn.close()


def test_a_chunked_answer_is_joined(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(chunked(b'{"Id":', b' "abc"}')), timeout=5)
    assert conn.request("GET", "/x")[1] == b'{"Id": "abc"}'


def test_a_streamed_answer_yields_each_chunk_as_it_comes(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(chunked(b'{"status": "start"}\n', b'{"status": "die"}\n')), timeout=5)
    head, body = conn.stream("GET", "/events")
    assert head.status == 200
    assert list(body) == [b'{"status": "start"}\n', b'{"status": "die"}\n']


def test_an_answer_without_length_ends_with_the_connection(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(lambda _h: b"HTTP/1.1 200 OK\r\n\r\nall of it", close_after_each=True), timeout=5)
    assert conn.request("GET", "/x")[1] == b"all of it"


def test_no_content_has_no_body(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(lambda _h: b"HTTP/1.1 204 No Content\r\n\r\n", sized(b"next")), timeout=5)
    assert conn.request("POST", "/containers/x/start") [0].status == 204
    assert conn.request("GET", "/x")[1] == b"next"


def test_a_dropped_connection_says_disconnected(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(lambda _h: None), timeout=5)
    with pytest.raises(Disconnected):
        conn.request("GET", "/x")


def test_a_body_cut_short_says_disconnected(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(lambda _h: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", close_after_each=True), timeout=5)
    with pytest.raises(Disconnected):
        conn.request("GET", "/x")


def test_something_that_is_not_http_is_a_protocol_error(serve: Callable[..., str]) -> None:
    conn = UnixConnection(serve(lambda _h: b"SSH-2.0-OpenSSH\r\n\r\n"), timeout=5)
    with pytest.raises(ProtocolError):
        conn.request("GET", "/x")


def test_no_socket_is_an_os_error_naming_nothing_else(tmp_path: Path) -> None:
    with pytest.raises((FileNotFoundError, ConnectionRefusedError)):
        UnixConnection(str(tmp_path / "none.sock"), timeout=1).request("GET", "/_ping")


def test_the_api_client_reconnects_once_when_the_engine_dropped_a_kept_alive_connection(serve: Callable[..., str]) -> None:
    from devenv.engine.api import LocalAPI, NotFound

    path = serve(sized(b"[]"), sized(b'[{"Id": "a"}]'), sized(b'{"message": "No such container: x"}', "404 Not Found"),
                 close_after_each=True)
    api = LocalAPI(path, timeout=5)
    assert api.containers() == []
    assert api.containers(all=True) == [{"Id": "a"}]  # the first connection was closed by the server
    with pytest.raises(NotFound, match="No such container: x"):
        api.inspect_container("x")
