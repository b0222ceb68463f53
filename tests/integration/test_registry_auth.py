"""The client's authentication against real registries (Debian's docker-registry, distribution
2.8), each started here on a free loopback port with its own storage in a temporary folder:

- htpasswd auth: the `Basic` challenge, with credentials from the docker config;
- token auth: the `Bearer` challenge, answered by a small token service in this file (JWTs
  signed with openssl, checked by the registry against the test CA), which wants Basic
  credentials and grants exactly the scopes asked for.

Both processes end with the test module; nothing outside the temporary folders is touched."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devenv.errors import RegistryError
from devenv.registry import RegistryClient, resolve_digest
from devenv.registry.artifacts import pull_artifact, push_artifact
from devenv.registry.client import DOCKER_MANIFEST
from tests.engine_helpers import free_port

REGISTRY_BIN = "/usr/bin/docker-registry"
USER, PASSWORD = "alice", "pa55-" + uuid.uuid4().hex[:12]
SERVICE, ISSUER = "devenv-test-registry", "devenv-test-issuer"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _openssl(*args: str, cwd: Path, data: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], cwd=cwd, input=data, check=True, capture_output=True, timeout=60).stdout


def _bcrypt(password: str) -> str:
    """A bcrypt hash for htpasswd, from the C library's crypt() (libxcrypt, in every Debian)."""
    import ctypes
    import ctypes.util
    import secrets

    name = ctypes.util.find_library("crypt") or "libcrypt.so.1"
    try:
        libcrypt = ctypes.CDLL(name)
    except OSError:
        pytest.fail(f"no C crypt library ({name}) to make the htpasswd file's bcrypt hash", pytrace=False)
    libcrypt.crypt.restype = ctypes.c_char_p
    libcrypt.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    alphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    salt = "$2b$10$" + "".join(secrets.choice(alphabet) for _ in range(21)) + "e"  # 22 characters; the last holds 2 bits
    hashed = (libcrypt.crypt(password.encode(), salt.encode()) or b"").decode()
    if not hashed.startswith("$2b$"):
        pytest.fail("the C library cannot make bcrypt hashes for the htpasswd file", pytrace=False)
    return hashed


@dataclass
class Served:
    host: str
    folder: Path
    process: subprocess.Popen
    token_requests: list[dict] = field(default_factory=list)


def _start_registry(folder: Path, auth: dict) -> Served:
    if not os.access(REGISTRY_BIN, os.X_OK):
        pytest.fail(f"{REGISTRY_BIN} is missing (Debian's docker-registry; scripts/registry.sh installs it)", pytrace=False)
    port = free_port()
    host = f"127.0.0.1:{port}"
    config = {
        "version": 0.1,
        "log": {"level": "error"},
        "storage": {"filesystem": {"rootdirectory": str(folder / "data")}, "delete": {"enabled": True}},
        "http": {"addr": host},
        "auth": auth,
    }
    (folder / "config.yml").write_text(json.dumps(config))  # JSON is YAML
    log = open(folder / "registry.log", "wb")  # noqa: SIM115 - kept open for the process's life
    process = subprocess.Popen([REGISTRY_BIN, "serve", str(folder / "config.yml")], stdout=log, stderr=subprocess.STDOUT)
    log.close()
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"http://{host}/v2/", timeout=2)
            break
        except urllib.error.HTTPError:
            break  # 401: it answers
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the test registry did not start: {(folder / 'registry.log').read_text()[-500:]}", pytrace=False)
            time.sleep(0.1)
    return Served(host=host, folder=folder, process=process)


def _stop(served: Served) -> None:
    served.process.terminate()
    try:
        served.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait()


@pytest.fixture(scope="module")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("basic-registry")
    (folder / "htpasswd").write_text(f"{USER}:{_bcrypt(PASSWORD)}\n")
    served = _start_registry(folder, {"htpasswd": {"realm": "devenv-test", "path": str(folder / "htpasswd")}})
    yield served
    _stop(served)


class _TokenService:
    """GET /token?service=&scope=: a JWT granting the scopes asked, for Basic USER:PASSWORD only."""

    def __init__(self, folder: Path, served: list[Served]):
        self.folder = folder
        self.served = served
        _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "token-key.pem", "-out", "token-cert.pem",
                 "-days", "2", "-subj", "/CN=devenv test token issuer", cwd=folder)
        der = _openssl("x509", "-in", "token-cert.pem", "-outform", "DER", cwd=folder)
        self.x5c = base64.b64encode(der).decode()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def token(self, scopes: list[str]) -> str:
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            access.append({"type": kind, "name": name, "actions": actions.split(",")})
        now = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "x5c": [self.x5c]}
        claims = {"iss": ISSUER, "sub": USER, "aud": SERVICE, "exp": now + 300, "nbf": now - 10, "iat": now,
                  "jti": uuid.uuid4().hex, "access": access}
        signed = _b64url(json.dumps(header).encode()) + "." + _b64url(json.dumps(claims).encode())
        signature = _openssl("dgst", "-sha256", "-sign", "token-key.pem", cwd=self.folder, data=signed.encode())
        return signed + "." + _b64url(signature)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
                record = {"query": query, "authorized": self.headers.get("Authorization") == expected}
                service.served[0].token_requests.append(record)
                if not record["authorized"]:
                    body, status = b'{"details":"wrong user name or password"}', 401
                else:
                    body, status = json.dumps({"token": service.token(query.get("scope", []))}).encode(), 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to sign the test tokens", pytrace=False)
    folder = tmp_path_factory.mktemp("token-registry")
    holder: list[Served] = []
    service = _TokenService(folder, holder)
    auth = {"token": {"realm": service.url, "service": SERVICE, "issuer": ISSUER, "rootcertbundle": str(folder / "token-cert.pem")}}
    try:
        served = _start_registry(folder, auth)
        holder.append(served)
        yield served
        _stop(served)
    finally:
        service.stop()


def _docker_config(folder: Path, host: str, password: str = PASSWORD) -> None:
    encoded = base64.b64encode(f"{USER}:{password}".encode()).decode()
    (folder / "config.json").write_text(json.dumps({"auths": {host: {"auth": encoded}}}))


@pytest.fixture
def docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "docker-config"
    folder.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(folder))
    return folder


def _push_small_image(client: RegistryClient, repo: str, tag: str) -> tuple[str, str]:
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
    config_digest = client.put_blob(repo, config)
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "layers": [],
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": config_digest, "size": len(config)},
    }).encode()
    return client.put_manifest(repo, tag, DOCKER_MANIFEST, manifest), config_digest


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_push_and_resolve_with_credentials(kind: str, request: pytest.FixtureRequest, docker_config: Path, tmp_path: Path) -> None:
    served: Served = request.getfixturevalue(f"{kind}_registry")
    _docker_config(docker_config, served.host)
    repo = f"h2test-{uuid.uuid4().hex[:8]}/app"
    client = RegistryClient(served.host)
    digest, config_digest = _push_small_image(client, repo, "1")
    resolved = resolve_digest(f"{served.host}/{repo}:1", platform="linux/amd64", client=RegistryClient(served.host))
    assert (resolved.digest, resolved.config_digest, resolved.platforms) == (digest, config_digest, ("linux/amd64",))
    source = tmp_path / "file"
    source.write_bytes(b"artifact bytes\n")
    pushed = push_artifact(f"{served.host}/{repo}:snap", [(source, "text/plain", "file")], "application/vnd.devenv.test", client=client)
    pulled = pull_artifact(f"{served.host}/{repo}:snap", tmp_path / "out", client=RegistryClient(served.host))
    assert pulled.digest == pushed and (tmp_path / "out" / "file").read_bytes() == b"artifact bytes\n"
    if kind == "token":
        scopes = [r["query"].get("scope") for r in served.token_requests[-6:]]
        assert [f"repository:{repo}:pull"] in scopes and [f"repository:{repo}:pull,push"] in scopes
        assert all(r["query"]["service"] == [SERVICE] for r in served.token_requests)


@pytest.mark.parametrize("kind", ["basic", "token"])
def test_wrong_or_missing_credentials_are_one_line_without_secrets(kind: str, request: pytest.FixtureRequest, docker_config: Path) -> None:
    served: Served = request.getfixturevalue(f"{kind}_registry")
    reference = f"{served.host}/h2test-none/app:1"
    with pytest.raises(RegistryError) as missing:
        resolve_digest(reference, client=RegistryClient(served.host))
    wrong = "wrong-" + PASSWORD
    _docker_config(docker_config, served.host, wrong)
    with pytest.raises(RegistryError) as refused:
        resolve_digest(reference, client=RegistryClient(served.host))
    for caught in (missing, refused):
        message = str(caught.value)
        assert message.startswith(f"registry {served.host}, repository h2test-none/app: manifest 1: ")
        assert "401" in message and "\n" not in message
        assert wrong not in message and PASSWORD not in message
        assert base64.b64encode(f"{USER}:{wrong}".encode()).decode() not in message
