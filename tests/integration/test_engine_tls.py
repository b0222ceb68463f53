"""Remote engines over tcp: TLS is verified with the engine's own CA (never REQUESTS_CA_BUNDLE),
TLS without verification is refused unless asked for, and plain tcp works with a warning.

A proxy on 127.0.0.1 terminates TLS (certificates made with openssl here) or plain TCP and
forwards to the local engine's socket."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_engine_support import devenv, ok, output

pytestmark = [pytest.mark.engine]

ENGINE_SOCKET = "/var/run/docker.sock"


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def make_certs(folder: Path, name: str) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, in `folder/name`
    (ca.pem, cert.pem, key.pem as DOCKER_CERT_PATH wants them, plus server-*.pem)."""
    out = folder / name
    out.mkdir()
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca-key.pem", "-out", "ca.pem", "-days", "2",
             "-subj", f"/CN=devenv test CA {name}", cwd=out)
    (out / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    (out / "client.cnf").write_text("extendedKeyUsage=clientAuth\n")
    for role, ext in (("server", "san.cnf"), ("client", "client.cnf")):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{role}-key.pem", "-out", f"{role}.csr",
                 "-subj", f"/CN={role}", cwd=out)
        _openssl("x509", "-req", "-in", f"{role}.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem", "-CAcreateserial",
                 "-out", f"{role}-cert.pem", "-days", "2", "-extfile", ext, cwd=out)
    shutil.copy(out / "client-cert.pem", out / "cert.pem")
    shutil.copy(out / "client-key.pem", out / "key.pem")
    return out


def _pump(source: socket.socket, target: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            target.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, target):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Proxy:
    """Listens on 127.0.0.1:<free port>; each connection (TLS-terminated when `context` is given)
    is forwarded to the engine's unix socket."""

    def __init__(self, context: ssl.SSLContext | None) -> None:
        self.context = context
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            if self.context is not None:
                conn = self.context.wrap_socket(conn, server_side=True)
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(ENGINE_SOCKET)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        threading.Thread(target=_pump, args=(upstream, conn), daemon=True).start()
        _pump(conn, upstream)

    def close(self) -> None:
        self.listener.close()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    if shutil.which("openssl") is None or not os.path.exists(ENGINE_SOCKET):
        pytest.fail("openssl and the local engine socket are needed")
    folder = tmp_path_factory.mktemp("tls")
    return {"good": make_certs(folder, "good"), "other": make_certs(folder, "other")}


@pytest.fixture(scope="module")
def tls_proxy(certs: dict[str, Path]) -> Iterator[Proxy]:
    good = certs["good"]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(good / "ca.pem"))
    context.load_cert_chain(good / "server-cert.pem", good / "server-key.pem")
    context.verify_mode = ssl.CERT_REQUIRED  # as dockerd --tlsverify: clients need a certificate of the CA
    proxy = Proxy(context)
    yield proxy
    proxy.close()


@pytest.fixture(scope="module")
def plain_proxy() -> Iterator[Proxy]:
    proxy = Proxy(None)
    yield proxy
    proxy.close()


DROP = ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS", "DEVENV_INSECURE_TLS", "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE")


def ps(tmp_path: Path, project_name: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {key: "" for key in DROP}
    base.update(env)
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: devenv/busybox:latest\n")
    return devenv(tmp_path, project_name, "ps", env=base)


def test_tls_verified_with_the_engines_ca_whatever_requests_bundle_says(
        tmp_path: Path, project_name: str, certs: dict[str, Path], tls_proxy: Proxy) -> None:
    other_bundle = str(certs["other"] / "ca.pem")  # a CA that did not sign the engine's certificate
    result = ps(tmp_path, project_name, DOCKER_HOST=f"tcp://127.0.0.1:{tls_proxy.port}", DOCKER_TLS_VERIFY="1",
                DOCKER_CERT_PATH=str(certs["good"]), REQUESTS_CA_BUNDLE=other_bundle, CURL_CA_BUNDLE=other_bundle)
    ok(result)
    assert "warning" not in result.stderr.lower(), output(result)


def test_tls_with_a_wrong_ca_is_one_line_naming_verification(
        tmp_path: Path, project_name: str, certs: dict[str, Path], tls_proxy: Proxy) -> None:
    wrong = tmp_path / "wrong"
    shutil.copytree(certs["good"], wrong)
    shutil.copy(certs["other"] / "ca.pem", wrong / "ca.pem")
    result = ps(tmp_path, project_name, DOCKER_HOST=f"tcp://127.0.0.1:{tls_proxy.port}", DOCKER_TLS_VERIFY="1",
                DOCKER_CERT_PATH=str(wrong))
    assert result.returncode != 0, output(result)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "verif" in lines[0] and f"127.0.0.1:{tls_proxy.port}" in lines[0], output(result)
    assert "Traceback" not in result.stderr


def test_tls_without_verification_is_refused_unless_asked_for(
        tmp_path: Path, project_name: str, certs: dict[str, Path], tls_proxy: Proxy) -> None:
    address = f"tcp://127.0.0.1:{tls_proxy.port}"
    refused = ps(tmp_path, project_name, DOCKER_HOST=address, DOCKER_CERT_PATH=str(certs["good"]))
    assert refused.returncode != 0, output(refused)
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "without verification" in lines[0] and "DOCKER_TLS_VERIFY=1" in lines[0], output(refused)
    assert "DEVENV_INSECURE_TLS=1" in lines[0]

    asked = ps(tmp_path, project_name, DOCKER_HOST=address, DOCKER_CERT_PATH=str(certs["good"]), DEVENV_INSECURE_TLS="1")
    ok(asked)
    assert "not verified" in asked.stderr and "InsecureRequestWarning" not in asked.stderr, output(asked)


def test_plain_tcp_works_with_a_warning_naming_the_risk(tmp_path: Path, project_name: str, plain_proxy: Proxy) -> None:
    address = f"tcp://127.0.0.1:{plain_proxy.port}"
    result = ok(ps(tmp_path, project_name, DOCKER_HOST=address))
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and address in warnings[0] and "without TLS" in warnings[0], output(result)
    assert "controls the engine" in warnings[0] and "root" in warnings[0]
