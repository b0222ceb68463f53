"""The client against a stub registry: digest verification, authentication challenges, the
docker config and credential helpers, redirects, error lines, and secrets kept out of messages."""

from __future__ import annotations

import base64
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from devenv.errors import RegistryError
from devenv.registry import auth
from devenv.registry.artifacts import pull_artifact
from devenv.registry.client import DOCKER_MANIFEST, RegistryClient, parse_reference, proxy_for, resolve_digest, sha256_of

PASSWORD = "s3cr3t-pa55w0rd"
TOKEN = "tok-abcdef-123"

CONFIG = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).encode()
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": sha256_of(CONFIG), "size": len(CONFIG)},
        "layers": [],
    }
).encode()


def _serve_image(stub, repo: str = "app", tag: str = "1", manifest: bytes = MANIFEST, announce: str | None = None) -> None:
    digest = announce or sha256_of(manifest)
    headers = {"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": digest}
    stub.route("GET", f"/v2/{repo}/manifests/{tag}", (200, headers, manifest))
    stub.route("GET", f"/v2/{repo}/manifests/{sha256_of(MANIFEST)}", (200, headers, manifest))
    stub.route("GET", f"/v2/{repo}/blobs/{sha256_of(CONFIG)}", (200, {}, CONFIG))


def test_resolves_a_single_manifest(stub, no_docker_config) -> None:
    _serve_image(stub)
    resolved = resolve_digest(f"{stub.host}/app:1")
    assert resolved.digest == resolved.platform_digest == sha256_of(MANIFEST)
    assert resolved.config_digest == sha256_of(CONFIG)
    assert resolved.platforms == ("linux/amd64",)
    assert "authorization" not in stub.requests[0].headers
    assert DOCKER_MANIFEST in stub.requests[0].headers["accept"]


def test_a_manifest_not_matching_the_digest_asked_for_is_refused(stub, no_docker_config) -> None:
    wanted = sha256_of(b"something else")
    stub.route("GET", f"/v2/app/manifests/{wanted}", (200, {"Content-Type": DOCKER_MANIFEST}, MANIFEST))
    with pytest.raises(RegistryError, match="does not match its digest") as caught:
        RegistryClient(stub.host).manifest("app", wanted)
    assert str(caught.value).startswith(f"registry {stub.host}, repository app: manifest {wanted}: ")


def test_a_manifest_not_matching_the_announced_digest_is_refused(stub, no_docker_config) -> None:
    _serve_image(stub, announce=sha256_of(b"tampered"))
    with pytest.raises(RegistryError, match="does not match its digest"):
        resolve_digest(f"{stub.host}/app:1")


def test_a_tampered_blob_is_refused_and_nothing_is_written(stub, no_docker_config, tmp_path: Path) -> None:
    digest = sha256_of(b"the real content")
    stub.route("GET", f"/v2/app/blobs/{digest}", (200, {}, b"the evil content"))
    dest = tmp_path / "blob"
    with pytest.raises(RegistryError, match="the blob's content does not match its digest"):
        RegistryClient(stub.host).get_blob("app", digest, dest)
    assert list(tmp_path.iterdir()) == []


def test_a_tampered_artifact_layer_is_refused_and_nothing_is_left(stub, no_docker_config, tmp_path: Path) -> None:
    good, real = b"good file\n", b"real\n"
    layers = [
        {"mediaType": "text/plain", "digest": sha256_of(good), "size": len(good), "annotations": {"org.opencontainers.image.title": "a"}},
        {"mediaType": "text/plain", "digest": sha256_of(real), "size": len(real), "annotations": {"org.opencontainers.image.title": "d/b"}},
    ]
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": layers}).encode()
    stub.route("GET", "/v2/snap/manifests/1", (200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, manifest))
    stub.route("GET", f"/v2/snap/blobs/{sha256_of(good)}", (200, {}, good))
    stub.route("GET", f"/v2/snap/blobs/{sha256_of(real)}", (200, {}, b"fake\n"))
    dest = tmp_path / "dest"
    with pytest.raises(RegistryError, match="does not match its digest"):
        pull_artifact(f"{stub.host}/snap:1", dest)
    assert list(dest.iterdir()) == []


def test_registry_errors_are_one_line_with_status_and_code(stub, no_docker_config) -> None:
    body = json.dumps({"errors": [{"code": "DENIED", "message": "requested access\nto the resource is denied"}]}).encode()
    stub.route("GET", "/v2/app/manifests/1", (403, {"Content-Type": "application/json"}, body))
    with pytest.raises(RegistryError) as caught:
        resolve_digest(f"{stub.host}/app:1")
    assert str(caught.value) == (
        f"registry {stub.host}, repository app: manifest 1: 403 Forbidden (DENIED: requested access to the resource is denied)"
    )
    assert (caught.value.status, caught.value.code) == (403, "DENIED")


def test_nobody_listening_is_one_line(no_docker_config) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RegistryError, match=rf"registry 127.0.0.1:{port}, repository app: manifest 1: cannot connect to 127.0.0.1:{port}"):
        resolve_digest(f"127.0.0.1:{port}/app:1")


def _write_config(folder: str, config: dict) -> None:
    path = Path(folder) / "config.json"
    path.write_text(json.dumps(config))


def _bearer_realm(stub, other_stub, expect_basic: str | None) -> None:
    """The registry asks for a token from other_stub's /token; the token service checks Basic."""

    def token(request):
        if expect_basic is not None and request.headers.get("authorization") != expect_basic:
            return 401, {}, b'{"details":"bad credentials"}'
        return 200, {"Content-Type": "application/json"}, json.dumps({"access_token": TOKEN}).encode()

    other_stub.route("GET", "/token", token)
    challenge = f'Bearer realm="http://{other_stub.host}/token",service="stub-registry",scope="repository:app:pull"'

    def manifest(request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"WWW-Authenticate": challenge}, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}'
        return 200, {"Content-Type": DOCKER_MANIFEST, "Docker-Content-Digest": sha256_of(MANIFEST)}, MANIFEST

    stub.route("GET", "/v2/app/manifests/1", manifest)
    stub.route("GET", f"/v2/app/manifests/{sha256_of(MANIFEST)}", manifest)

    def config_blob(request):
        if "Bearer" not in request.headers.get("authorization", ""):
            return 401, {"WWW-Authenticate": challenge}, b""
        return 200, {}, CONFIG

    stub.route("GET", f"/v2/app/blobs/{sha256_of(CONFIG)}", config_blob)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_bearer_token_flow_with_basic_credentials_from_auths(stub, other_stub, no_docker_config) -> None:
    _write_config(no_docker_config, {"auths": {stub.host: {"auth": base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}}})
    _bearer_realm(stub, other_stub, _basic("alice", PASSWORD))
    client = RegistryClient(stub.host)
    resolved = resolve_digest(f"{stub.host}/app:1", client=client)
    assert resolved.config_digest == sha256_of(CONFIG)
    (token_request,) = other_stub.requests  # one token, reused for the blob
    assert token_request.path == "/token?service=stub-registry&scope=repository%3Aapp%3Apull"
    assert [r.headers.get("authorization") for r in stub.requests] == [None, f"Bearer {TOKEN}", f"Bearer {TOKEN}"]


def test_anonymous_bearer_token(stub, other_stub, no_docker_config) -> None:
    _bearer_realm(stub, other_stub, None)
    assert resolve_digest(f"{stub.host}/app:1").digest == sha256_of(MANIFEST)
    assert "authorization" not in other_stub.requests[0].headers


def test_bad_credentials_never_appear_in_the_error(stub, other_stub, no_docker_config) -> None:
    _write_config(no_docker_config, {"auths": {f"http://{stub.host}": {"username": "alice", "password": PASSWORD}}})
    _bearer_realm(stub, other_stub, _basic("alice", "another"))
    with pytest.raises(RegistryError) as caught:
        resolve_digest(f"{stub.host}/app:1")
    message = str(caught.value)
    assert "401" in message and other_stub.host in message
    assert PASSWORD not in message and base64.b64encode(f"alice:{PASSWORD}".encode()).decode() not in message
    assert PASSWORD not in repr(auth.credentials(stub.host))


def test_basic_challenge(stub, no_docker_config) -> None:
    _write_config(no_docker_config, {"auths": {stub.host: {"username": "bob", "password": PASSWORD}}})

    def manifest(request):
        if request.headers.get("authorization") != _basic("bob", PASSWORD):
            return 401, {"WWW-Authenticate": 'Basic realm="basic-realm"'}, b""
        return 200, {"Content-Type": DOCKER_MANIFEST}, MANIFEST

    stub.route("GET", "/v2/app/manifests/1", manifest)
    assert RegistryClient(stub.host).manifest("app", "1").digest == sha256_of(MANIFEST)


def test_401_without_credentials_says_so(stub, no_docker_config) -> None:
    stub.route("GET", "/v2/app/manifests/1", (401, {"WWW-Authenticate": 'Basic realm="x"'}, b""))
    with pytest.raises(RegistryError, match="401 Unauthorized .no credentials for this registry"):
        resolve_digest(f"{stub.host}/app:1")


FAKE_HELPER = """#!{python}
import json, os, sys
server = sys.stdin.read()
with open(os.environ["FAKE_HELPER_LOG"], "a") as log:
    log.write(json.dumps([sys.argv[1:], server]) + "\\n")
if server == "unknown.example":
    print("credentials not found in native keychain")
    sys.exit(1)
print(json.dumps({{"ServerURL": server, "Username": "carol", "Secret": "{password}"}}))
"""


@pytest.fixture
def fake_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """docker-credential-fake on PATH; its calls (arguments, stdin) are logged to the returned file."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "docker-credential-fake"
    script.write_text(FAKE_HELPER.format(python=sys.executable, password=PASSWORD))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    log = tmp_path / "helper.log"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("FAKE_HELPER_LOG", str(log))
    return log


def test_cred_helper_is_asked_with_the_host_on_stdin(stub, other_stub, no_docker_config, fake_helper: Path) -> None:
    _write_config(no_docker_config, {"credHelpers": {stub.host: "fake"}, "auths": {stub.host: {"username": "x", "password": "y"}}})
    _bearer_realm(stub, other_stub, _basic("carol", PASSWORD))
    assert resolve_digest(f"{stub.host}/app:1").digest == sha256_of(MANIFEST)
    calls = [json.loads(line) for line in fake_helper.read_text().splitlines()]
    assert calls == [[["get"], stub.host]]


def test_creds_store_and_docker_hub_key(no_docker_config, fake_helper: Path) -> None:
    _write_config(no_docker_config, {"credsStore": "fake"})
    found = auth.credentials("registry-1.docker.io")
    assert found is not None and (found.username, found.password) == ("carol", PASSWORD)
    assert auth.credentials("unknown.example") is None
    calls = [json.loads(line) for line in fake_helper.read_text().splitlines()]
    assert calls == [[["get"], "https://index.docker.io/v1/"], [["get"], "unknown.example"]]


def test_identity_token_from_a_helper(no_docker_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    script = tmp_path / "docker-credential-tok"
    script.write_text(f'#!{sys.executable}\nimport sys\nsys.stdin.read()\nprint(\'{{"Username": "<token>", "Secret": "{TOKEN}"}}\')\n')
    script.chmod(0o700)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ.get('PATH', '')}")
    _write_config(no_docker_config, {"credHelpers": {"reg.example": "tok"}})
    found = auth.credentials("reg.example")
    assert found == auth.Credentials(identity_token=TOKEN)
    assert TOKEN not in repr(found)


def test_missing_helper_is_one_line(no_docker_config) -> None:
    _write_config(no_docker_config, {"credHelpers": {"reg.example": "devenv-absent-helper"}})
    with pytest.raises(RegistryError, match="credential helper docker-credential-devenv-absent-helper is not installed"):
        auth.credentials("reg.example")


def test_auths_entries_and_bad_config(no_docker_config) -> None:
    _write_config(no_docker_config, {"auths": {"https://index.docker.io/v1/": {"auth": base64.b64encode(b"dave:pw:with:colons").decode()}}})
    hub = auth.credentials("registry-1.docker.io")
    assert hub is not None and (hub.username, hub.password) == ("dave", "pw:with:colons")
    assert auth.credentials("other.example") is None
    _write_config(no_docker_config, {"auths": {"reg.example": {"auth": base64.b64encode(b"nocolon").decode()}}})
    with pytest.raises(RegistryError, match="not base64 of user:password"):
        auth.credentials("reg.example")
    (Path(no_docker_config) / "config.json").write_text("{not json")
    with pytest.raises(RegistryError, match=r"config.json:1: not valid JSON"):
        auth.credentials("reg.example")


def test_redirects_drop_credentials_for_another_host(stub, other_stub, no_docker_config, tmp_path: Path) -> None:
    _write_config(no_docker_config, {"auths": {stub.host: {"username": "bob", "password": PASSWORD}}})
    content = b"blob bytes"
    digest = sha256_of(content)

    def blob(request):
        if request.headers.get("authorization") != _basic("bob", PASSWORD):
            return 401, {"WWW-Authenticate": 'Basic realm="r"'}, b""
        return 307, {"Location": f"http://{other_stub.host}/storage/x?sig=1"}, b""

    stub.route("GET", f"/v2/app/blobs/{digest}", blob)
    other_stub.route("GET", "/storage/x", (200, {}, content))
    assert RegistryClient(stub.host).get_blob("app", digest, tmp_path / "out") == len(content)
    assert (tmp_path / "out").read_bytes() == content
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o600
    assert "authorization" not in other_stub.requests[0].headers


def test_blob_upload_is_monolithic_post_then_put(stub, no_docker_config, tmp_path: Path) -> None:
    content = os.urandom(100_000)
    digest = sha256_of(content)
    source = tmp_path / "blob"
    source.write_bytes(content)
    stub.route("HEAD", f"/v2/app/blobs/{digest}", (404, {}, b""))
    stub.route("POST", "/v2/app/blobs/uploads/", (202, {"Location": "/v2/app/blobs/uploads/u-1?_state=abc"}, b""))
    stub.route("PUT", "/v2/app/blobs/uploads/u-1", (201, {"Docker-Content-Digest": digest}, b""))
    seen: list[tuple[int, int]] = []
    assert RegistryClient(stub.host).put_blob("app", source, progress=lambda d, t: seen.append((d, t))) == digest
    put = stub.requests[-1]
    assert put.path == f"/v2/app/blobs/uploads/u-1?_state=abc&digest={digest.replace(':', '%3A')}"
    assert put.body == content and put.headers["content-length"] == str(len(content))
    assert seen[-1] == (len(content), len(content))


def test_put_manifest_checks_the_digest_the_registry_stored(stub, no_docker_config) -> None:
    stub.route("PUT", "/v2/app/manifests/1", (201, {"Docker-Content-Digest": sha256_of(b"other")}, b""))
    with pytest.raises(RegistryError, match="the registry stored digest"):
        RegistryClient(stub.host).put_manifest("app", "1", DOCKER_MANIFEST, MANIFEST)


def test_tls_is_verified(tls_stub, no_docker_config, tmp_path: Path) -> None:
    _serve_image(tls_stub)
    client = RegistryClient(tls_stub.host, scheme="https", certs_dir=tmp_path / "certs.d")
    with pytest.raises(RegistryError) as caught:
        client.manifest("app", "1")
    assert str(caught.value).startswith(f"registry {tls_stub.host}, repository app: manifest 1: TLS failed (CERTIFICATE_VERIFY_FAILED)")
    assert "\n" not in str(caught.value)
    assert tls_stub.requests == []


def test_tls_trusts_the_ca_in_docker_certs_d(tls_stub, tls_certs: Path, no_docker_config, tmp_path: Path) -> None:
    _serve_image(tls_stub)
    folder = tmp_path / "certs.d" / tls_stub.host
    folder.mkdir(parents=True)
    (folder / "ca.crt").write_bytes((tls_certs / "ca.pem").read_bytes())
    client = RegistryClient(tls_stub.host, scheme="https", certs_dir=tmp_path / "certs.d")
    assert client.resolve(parse_reference(f"{tls_stub.host}/app:1")).config_digest == sha256_of(CONFIG)


def test_plain_http_through_a_proxy(stub, no_docker_config, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve_image(stub)
    monkeypatch.setenv("HTTP_PROXY", f"http://proxyuser:{PASSWORD}@{stub.host}")
    monkeypatch.setenv("DEVENV_INSECURE_REGISTRIES", "reg.test:5000")
    resolved = resolve_digest("reg.test:5000/app:1")
    assert resolved.digest == sha256_of(MANIFEST)
    assert stub.proxied[0] == "http://reg.test:5000/v2/app/manifests/1"
    assert stub.requests[0].headers["proxy-authorization"] == _basic("proxyuser", PASSWORD)
    assert "authorization" not in stub.requests[0].headers


@pytest.mark.parametrize(
    ("scheme", "netloc", "env", "expected"),
    [
        ("https", "reg.example", {"HTTPS_PROXY": "http://p.lan:3128"}, ("p.lan", 3128, None)),
        ("https", "reg.example", {"https_proxy": "p.lan"}, ("p.lan", 80, None)),
        ("https", "reg.example", {"HTTP_PROXY": "http://p.lan:3128"}, None),
        ("http", "reg.example", {"HTTP_PROXY": "http://u:p@p.lan:3128"}, ("p.lan", 3128, "Basic dTpw")),
        ("https", "127.0.0.1:5000", {"HTTPS_PROXY": "http://p.lan:3128"}, None),
        ("https", "localhost", {"HTTPS_PROXY": "http://p.lan:3128"}, None),
        ("https", "a.corp.lan", {"HTTPS_PROXY": "http://p.lan:3128", "NO_PROXY": "x, .corp.lan"}, None),
        ("https", "corp.lan:443", {"HTTPS_PROXY": "http://p.lan:3128", "no_proxy": "corp.lan:443"}, None),
        ("https", "corp.lan:8443", {"HTTPS_PROXY": "http://p.lan:3128", "no_proxy": "corp.lan:443"}, ("p.lan", 3128, None)),
        ("https", "anything", {"HTTPS_PROXY": "http://p.lan:3128", "NO_PROXY": "*"}, None),
    ],
)
def test_proxy_choice(scheme: str, netloc: str, env: dict, expected: tuple | None) -> None:
    assert proxy_for(scheme, netloc, env) == expected


def test_only_http_proxies(no_docker_config) -> None:
    with pytest.raises(RegistryError, match="only http:// proxies"):
        proxy_for("https", "reg.example", {"HTTPS_PROXY": "socks5://p.lan:1080"})


def test_head_digest_and_its_fallback(stub, no_docker_config) -> None:
    stub.route("HEAD", "/v2/app/manifests/1", (200, {"Docker-Content-Digest": sha256_of(b"x"), "Content-Length": "1"}, b""))
    assert RegistryClient(stub.host).head_digest("app", "1") == sha256_of(b"x")
    _serve_image(stub, tag="2")
    stub.route("HEAD", "/v2/app/manifests/2", (200, {"Content-Length": str(len(MANIFEST))}, b""))
    assert RegistryClient(stub.host).head_digest("app", "2") == sha256_of(MANIFEST)


def test_shared_clients_follow_the_docker_config(stub, no_docker_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from devenv.registry import client_for

    first = client_for(stub.host)
    assert client_for(stub.host) is first
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    assert client_for(stub.host) is not first


def _serve_artifact(stub, titles_and_content: list[tuple[str, bytes]]) -> None:
    layers = []
    for title, content in titles_and_content:
        layers.append({"mediaType": "text/plain", "digest": sha256_of(content), "size": len(content),
                       "annotations": {"org.opencontainers.image.title": title}})
        stub.route("GET", f"/v2/snap/blobs/{sha256_of(content)}", (200, {}, content))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": layers}).encode()
    stub.route("GET", "/v2/snap/manifests/1", (200, {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}, manifest))


def test_a_title_the_file_system_refuses_is_one_line(stub, no_docker_config, tmp_path: Path) -> None:
    _serve_artifact(stub, [("ok", b"ok\n"), ("n" * 300, b"long\n")])
    with pytest.raises(RegistryError, match="cannot write .*File name too long") as caught:
        pull_artifact(f"{stub.host}/snap:1", tmp_path / "dest")
    assert "\n" not in str(caught.value)
    assert list((tmp_path / "dest").iterdir()) == []


def test_a_destination_that_cannot_be_made_is_one_line(stub, no_docker_config, tmp_path: Path) -> None:
    _serve_artifact(stub, [("ok", b"ok\n"), ("sub/file", b"x\n")])
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(RegistryError, match=r"cannot create .*file/dest: Not a directory"):
        pull_artifact(f"{stub.host}/snap:1", tmp_path / "file" / "dest")
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").write_text("a file where a folder is needed")
    with pytest.raises(RegistryError, match=r"refusing 'sub/file': .*sub is not a folder"):
        pull_artifact(f"{stub.host}/snap:1", dest)
    assert sorted(p.name for p in dest.iterdir()) == ["sub"]


def test_duplicate_titles_are_refused_before_anything_is_written(stub, no_docker_config, tmp_path: Path) -> None:
    _serve_artifact(stub, [("same", b"one\n"), ("same", b"two\n")])
    with pytest.raises(RegistryError, match="two layers have the title 'same'"):
        pull_artifact(f"{stub.host}/snap:1", tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
    assert not any(r.path.startswith("/v2/snap/blobs/") for r in stub.requests)


def test_push_artifact_falls_back_to_a_devenv_config_when_the_empty_one_is_refused(stub, no_docker_config, tmp_path: Path) -> None:
    from devenv.registry.artifacts import FALLBACK_CONFIG_TYPE, push_artifact

    source = tmp_path / "data.tar"
    source.write_bytes(b"tar bytes")
    for digest in (sha256_of(b"tar bytes"), sha256_of(b"{}")):
        stub.route("HEAD", f"/v2/snap/blobs/{digest}", (200, {}, b""))
    stored: list[dict] = []

    def put(request):
        manifest = json.loads(request.body)
        if manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json":
            return 400, {}, b'{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}'
        stored.append(manifest)
        return 201, {"Docker-Content-Digest": sha256_of(request.body)}, b""

    stub.route("PUT", "/v2/snap/manifests/1", put)
    digest = push_artifact(f"{stub.host}/snap:1", [(source, "application/x-tar", "data.tar")], "application/vnd.devenv.snapshot.v1")
    (manifest,) = stored
    assert manifest["config"] == {"mediaType": FALLBACK_CONFIG_TYPE, "digest": sha256_of(b"{}"), "size": 2}
    assert manifest["artifactType"] == "application/vnd.devenv.snapshot.v1"
    assert digest == sha256_of(json.dumps(manifest, separators=(",", ":")).encode())


def test_identity_token_is_exchanged_by_post(stub, other_stub, no_docker_config) -> None:
    _write_config(no_docker_config, {"auths": {stub.host: {"identitytoken": "refresh-me"}}})

    def token(request):
        form = dict(pair.split("=", 1) for pair in request.body.decode().split("&"))
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") != "refresh-me":
            return 401, {}, b"{}"
        return 200, {}, json.dumps({"access_token": TOKEN}).encode()

    other_stub.route("POST", "/token", token)
    challenge = f'Bearer realm="http://{other_stub.host}/token",service="s"'

    def manifest(request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, {"WWW-Authenticate": challenge}, b""
        return 200, {"Content-Type": DOCKER_MANIFEST}, MANIFEST

    stub.route("GET", "/v2/app/manifests/1", manifest)
    assert RegistryClient(stub.host).manifest("app", "1").digest == sha256_of(MANIFEST)
    assert other_stub.requests[0].headers["content-type"] == "application/x-www-form-urlencoded"


def test_reads_are_retried_when_the_registry_is_busy(stub, no_docker_config, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("devenv.registry.client.RETRY_DELAYS", (0.0, 0.0))
    answers = iter([(503, {}, b""), (429, {}, b""), (200, {"Content-Type": DOCKER_MANIFEST}, MANIFEST)])
    stub.route("GET", "/v2/app/manifests/1", lambda _r: next(answers))
    assert RegistryClient(stub.host).manifest("app", "1").digest == sha256_of(MANIFEST)
    stub.route("GET", "/v2/app/manifests/2", (503, {}, b""))
    with pytest.raises(RegistryError, match="manifest 2: 503 Service Unavailable"):
        RegistryClient(stub.host).manifest("app", "2")
    assert sum(r.path == "/v2/app/manifests/2" for r in stub.requests) == 3
    stub.route("GET", "/v2/app/manifests/3", (404, {}, b""))
    with pytest.raises(RegistryError, match="404"):
        RegistryClient(stub.host).manifest("app", "3")
    assert sum(r.path == "/v2/app/manifests/3" for r in stub.requests) == 1
