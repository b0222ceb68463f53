"""A tiny registry stub on 127.0.0.1 (plain http, as for any loopback registry): each test
installs the answers it needs and reads back the requests it received."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[Request], Answer]


@dataclass
class Stub:
    host: str = ""
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    proxied: list[str] = field(default_factory=list)  # absolute-form request targets received

    def route(self, method: str, path: str, answer: Route | Answer) -> None:
        self.routes[(method, path)] = answer if callable(answer) else (lambda _r, a=answer: a)


def _handler(stub: Stub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path
            if "://" in path:  # absolute form: the stub acts as an http proxy; routes match the path
                stub.proxied.append(path)
                path = "/" + path.split("://", 1)[1].partition("/")[2]
            request = Request(self.command, path, {k.lower(): v for k, v in self.headers.items()}, body)
            stub.requests.append(request)
            route = stub.routes.get((self.command, path.split("?")[0])) or stub.routes.get((self.command, path))
            status, headers, payload = route(request) if route else (404, {}, b'{"errors":[{"code":"NOT_FOUND","message":"no route"}]}')
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            if "Content-Length" not in headers:
                self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = _answer

    return Handler


def _serve(context: ssl.SSLContext | None = None) -> Iterator[Stub]:
    stub = Stub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    stub.host = f"127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def stub() -> Iterator[Stub]:
    yield from _serve()


@pytest.fixture
def other_stub() -> Iterator[Stub]:
    """A second server: another host:port, e.g. a token service or a redirect target."""
    yield from _serve()


@pytest.fixture
def no_docker_config(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> str:
    """DOCKER_CONFIG pointing at an empty folder: no credentials unless the test writes some."""
    folder = tmp_path_factory.mktemp("docker-config")
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return str(folder)


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="session")
def tls_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A throwaway CA (ca.pem) and a server certificate for IP 127.0.0.1 signed by it."""
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make the test certificates (Debian: apt-get install openssl)")
    out = tmp_path_factory.mktemp("tls")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=devenv registry test CA", cwd=out)
    (out / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server-key.pem", "-out", "server.csr", "-subj", "/CN=server", cwd=out)
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
             "-out", "server-cert.pem", "-days", "2", "-extfile", "san.cnf", cwd=out)
    return out


@pytest.fixture
def tls_stub(tls_certs: Path) -> Iterator[Stub]:
    """The stub behind TLS, with a certificate only the test CA vouches for."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(tls_certs / "server-cert.pem"), str(tls_certs / "server-key.pem"))
    yield from _serve(context)
