"""Docker contexts resolved as the docker CLI does (devenv/engine/contexts.py), from a scratch
DOCKER_CONFIG whose store these tests write, and the TLS they hand to the engine client."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from devenv.engine import contexts
from devenv.engine.client import DEFAULT_HOST, Endpoint, TLSSettings, _sdk_client
from devenv.errors import EngineError


def add_context(config: Path, name: str, host: str, skip_verify: bool = False, tls: tuple[str, ...] = ()) -> Path:
    key = hashlib.sha256(name.encode()).hexdigest()
    meta = config / "contexts" / "meta" / key
    meta.mkdir(parents=True)
    (meta / "meta.json").write_text(json.dumps({
        "Name": name, "Metadata": {"Description": ""},
        "Endpoints": {"docker": {"Host": host, "SkipTLSVerify": skip_verify}},
    }))
    folder = config / "contexts" / "tls" / key / "docker"
    for pem in tls:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{pem}.pem").write_text("x")
    return folder


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "docker-config"


def env(config: Path, **more: str) -> dict[str, str]:
    return {"DOCKER_CONFIG": str(config), **more}


def test_a_context_gives_its_host(config: Path) -> None:
    add_context(config, "local", "unix:///var/run/docker.sock")
    assert contexts.resolve("local", env(config)) == Endpoint("unix:///var/run/docker.sock", environment_tls=False)
    assert contexts.address_of("local", env(config)) == "unix:///var/run/docker.sock"


def test_tls_material_of_the_context(config: Path) -> None:
    folder = add_context(config, "prod", "tcp://prod.example:2376", tls=("ca", "cert", "key"))
    endpoint = contexts.resolve("prod", env(config, DOCKER_TLS_VERIFY="", DOCKER_CERT_PATH="/elsewhere"))
    assert endpoint == Endpoint("tcp://prod.example:2376", environment_tls=False, tls=TLSSettings(
        verify=True, ca=str(folder / "ca.pem"), client_cert=(str(folder / "cert.pem"), str(folder / "key.pem"))))


def test_client_certificate_without_ca_verifies_against_the_default_bundle(config: Path) -> None:
    add_context(config, "prod", "tcp://prod.example:2376", tls=("cert", "key"))
    tls = contexts.resolve("prod", env(config)).tls
    assert tls is not None and tls.verify and tls.ca is None and tls.client_cert is not None


def test_tcp_context_without_tls_material_is_plain(config: Path) -> None:
    add_context(config, "plain", "tcp://10.0.0.2:2375")
    assert contexts.resolve("plain", env(config, DOCKER_TLS_VERIFY="1")) == Endpoint("tcp://10.0.0.2:2375", environment_tls=False)


def test_skip_tls_verify_needs_the_explicit_opt_in(config: Path) -> None:
    add_context(config, "lax", "tcp://lax.example:2376", skip_verify=True)
    with pytest.raises(EngineError) as info:
        contexts.resolve("lax", env(config))
    assert "SkipTLSVerify" in str(info.value) and "DEVENV_INSECURE_TLS=1" in str(info.value)
    tls = contexts.resolve("lax", env(config, DEVENV_INSECURE_TLS="1")).tls
    assert tls is not None and tls.verify is False


def test_default_is_docker_host_or_the_socket(config: Path) -> None:
    assert contexts.resolve("default", env(config)) == Endpoint(DEFAULT_HOST)
    assert contexts.resolve("default", env(config, DOCKER_HOST="tcp://h:2376")) == Endpoint("tcp://h:2376")


def test_unknown_context_lists_the_known_ones(config: Path) -> None:
    add_context(config, "prod", "ssh://deploy@prod")
    add_context(config, "stage", "ssh://deploy@stage")
    with pytest.raises(EngineError) as info:
        contexts.resolve("prdo", env(config))
    assert str(info.value) == "docker context 'prdo' not found (contexts: default, prod, stage)"


def test_no_store_at_all(config: Path) -> None:
    with pytest.raises(EngineError) as info:
        contexts.resolve("prod", env(config))
    assert str(info.value) == "docker context 'prod' not found (contexts: default)"
    assert contexts.names(env(config)) == ["default"]


def test_home_docker_is_the_default_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    add_context(tmp_path / ".docker", "home", "unix:///run/user/1000/docker.sock")
    assert contexts.address_of("home", {}) == "unix:///run/user/1000/docker.sock"


def test_unreadable_metadata_is_one_line(config: Path) -> None:
    folder = add_context(config, "bad", "unix:///x").parent.parent.parent / "meta"
    (next(folder.iterdir()) / "meta.json").write_text("{not json")
    with pytest.raises(EngineError) as info:
        contexts.resolve("bad", env(config))
    assert "cannot read docker context metadata" in str(info.value)


def test_a_context_without_docker_endpoint(config: Path) -> None:
    add_context(config, "k8s", "unix:///x")
    meta = next((config / "contexts" / "meta").iterdir()) / "meta.json"
    meta.write_text(json.dumps({"Name": "k8s", "Endpoints": {}}))
    with pytest.raises(EngineError) as info:
        contexts.resolve("k8s", env(config))
    assert "has no docker endpoint" in str(info.value)


def test_the_client_uses_the_contexts_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "")  # the context's TLS, not docker's variables
    client, warning = _sdk_client("tcp://prod.example:2376", TLSSettings(verify=True, ca=str(ca), client_cert=None), False)
    assert client.base_url.startswith("https://") and warning is None
    assert client.merge_environment_settings("https://prod.example:2376", {}, None, None, None)["verify"] == str(ca)
    plain, warning = _sdk_client("tcp://10.0.0.2:2375", None, False)
    assert plain.base_url.startswith("http://") and warning and "plain TCP" in warning


def test_the_engine_an_environment_declares(config: Path) -> None:
    from devenv.manifest.environments import Environment

    add_context(config, "prod", "ssh://deploy@prod")
    assert contexts.endpoint_of(Environment("prod", "/p/l", host="tcp://h:2376")) == Endpoint("tcp://h:2376")
    assert contexts.endpoint_of(Environment("prod", "/p/l", context="prod"), env(config)) == Endpoint(
        "ssh://deploy@prod", environment_tls=False)
    assert contexts.endpoint_of(Environment("dev", "/p/l")) is None
