"""Which engine a command talks to (devenv/engine/client.py), as the docker CLI chooses:
-H > --context > (an --env's declared engine) > DOCKER_HOST > DOCKER_CONTEXT > the config's
currentContext > the local socket; how it is named in `ls`/`ps`; the ssh command line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.engine import client, sshtransport
from devenv.engine.client import DEFAULT_HOST, Endpoint, TLSSettings
from devenv.errors import EngineError, UsageError
from tests.unit.engine.test_contexts import add_context

ENGINE_VARS = ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS",
               "DOCKER_MACHINE_NAME", "DEVENV_INSECURE_TLS")


@pytest.fixture(autouse=True)
def clean(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No engine variables, an empty docker config; the module's choices reset after each test."""
    for key in ENGINE_VARS:
        monkeypatch.delenv(key, raising=False)
    config = tmp_path / "docker-config"
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    yield config
    client.choose(None, None)
    client.select(None)


def set_current(config: Path, name: str) -> None:
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.json").write_text(json.dumps({"currentContext": name}))


def test_default_is_the_local_socket(clean: Path) -> None:
    assert client.selected() == Endpoint(DEFAULT_HOST)
    assert client.describe(client.selected()) is None


def test_precedence_as_the_docker_cli(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    add_context(clean, "ctx-env", "tcp://from-docker-context:2375")
    add_context(clean, "ctx-current", "tcp://from-current-context:2375")
    add_context(clean, "ctx-flag", "tcp://from-context-flag:2375")
    set_current(clean, "ctx-current")
    assert client.selected().address == "tcp://from-current-context:2375"
    monkeypatch.setenv("DOCKER_CONTEXT", "ctx-env")
    assert client.selected().address == "tcp://from-docker-context:2375"
    monkeypatch.setenv("DOCKER_HOST", "tcp://from-docker-host:2375")
    assert client.selected() == Endpoint("tcp://from-docker-host:2375", origin="DOCKER_HOST")
    client.select(Endpoint("tcp://from-environment:2375", origin="environment prod"))  # --env's engine
    assert client.selected().address == "tcp://from-environment:2375"
    client.choose(context="ctx-flag")
    assert client.selected().address == "tcp://from-context-flag:2375"
    assert client.selected().origin == "context ctx-flag"
    client.choose(host="tcp://from-h:2375")
    assert client.selected() == Endpoint("tcp://from-h:2375", origin="-H")
    assert client.engine_address() == "tcp://from-h:2375"


def test_host_and_context_together_are_refused() -> None:
    with pytest.raises(UsageError, match="either specify --host or --context, not both"):
        client.choose(host="tcp://a:1", context="b")


@pytest.mark.parametrize("given, expected", [
    ("tcp://10.0.0.1:2376", "tcp://10.0.0.1:2376"),
    ("10.0.0.1:2376", "tcp://10.0.0.1:2376"),
    ("unix:///run/other.sock", "unix:///run/other.sock"),
    ("ssh://me@box:2222", "ssh://me@box:2222"),
])
def test_host_addresses(given: str, expected: str) -> None:
    assert client.normalize_host(given) == expected


@pytest.mark.parametrize("bad", ["fd://", "ftp://x", "tcp://"])
def test_bad_host_is_one_usage_line(bad: str) -> None:
    with pytest.raises(UsageError, match=r"^-H: bad engine address"):
        client.normalize_host(bad)


@pytest.mark.parametrize("where", ["DOCKER_CONTEXT", "--context", "currentContext"])
def test_unknown_context_is_an_error_naming_where(where: str, clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if where == "DOCKER_CONTEXT":
        monkeypatch.setenv("DOCKER_CONTEXT", "nosuch")
    elif where == "--context":
        client.choose(context="nosuch")
    else:
        set_current(clean, "nosuch")
    with pytest.raises(EngineError) as raised:
        client.selected()
    message = str(raised.value)
    assert message.startswith('context "nosuch" not found (') and where in message
    assert "\n" not in message


def test_default_context_by_name_is_docker_host(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    set_current(clean, "default")
    assert client.selected() == Endpoint(DEFAULT_HOST)
    client.choose(context="default")
    assert client.selected().address == DEFAULT_HOST


def test_describe_names_transport_origin_and_machine(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert client.describe(Endpoint("tcp://h:2375", origin="DOCKER_HOST"), {}) == "tcp://h:2375 (plain TCP, no TLS, DOCKER_HOST)"
    tls_env = {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(clean), "DOCKER_MACHINE_NAME": "dev"}
    assert client.describe(Endpoint("tcp://h:2376", origin="DOCKER_HOST"), tls_env) == \
        "tcp://h:2376 (TLS, DOCKER_HOST, docker-machine dev)"
    context = Endpoint("tcp://h:2376", tls=TLSSettings(True, None, None), environment_tls=False, origin="context remote")
    assert client.describe(context, tls_env) == "tcp://h:2376 (TLS, context remote)"
    assert client.describe(Endpoint("ssh://me@box", origin="-H"), {}) == "ssh://me@box (-H)"
    # a local socket the environment points at is not worth a line (Compose's output stays as it is);
    # one chosen on purpose (-H, a context) is named
    assert client.describe(Endpoint("unix:///run/other.sock", origin="DOCKER_HOST"), {}) is None
    assert client.describe(Endpoint("unix:///run/other.sock", origin="-H"), {}) == "unix:///run/other.sock (-H)"
    assert client.describe(Endpoint(DEFAULT_HOST, origin="DOCKER_HOST"), {}) is None


def test_cli_environment_carries_a_context_tls(clean: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = add_context(clean, "remote", "tcp://remote:2376", tls=("ca", "cert", "key"))
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "")
    monkeypatch.setenv("DOCKER_CERT_PATH", "/elsewhere")
    client.choose(context="remote")
    env = client.cli_environment({"PATH": "/bin", "DOCKER_CONTEXT": "remote", "DOCKER_CERT_PATH": "/elsewhere"})
    assert env == {"PATH": "/bin", "DOCKER_HOST": "tcp://remote:2376", "DOCKER_CERT_PATH": str(folder),
                   "DOCKER_TLS_VERIFY": "1"}


def test_cli_environment_keeps_docker_tls_variables_for_docker_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://remote:2376")
    env = client.cli_environment({"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"})
    assert env == {"DOCKER_HOST": "tcp://remote:2376", "DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": "/certs"}


def test_ssh_command_line() -> None:
    target = sshtransport.parse("ssh://root@127.0.0.1:2222")
    assert target == sshtransport.SSHTarget(host="127.0.0.1", user="root", port=2222)
    assert target.command("/cfg") == ["ssh", "-F", "/cfg", "-o", "ConnectTimeout=5", "-T", "-l", "root", "-p", "2222",
                                      "--", "127.0.0.1", "docker system dial-stdio"]
    assert sshtransport.parse("ssh://box").command() == ["ssh", "-o", "ConnectTimeout=5", "-T", "--", "box",
                                                         "docker system dial-stdio"]


@pytest.mark.parametrize("bad", ["ssh://", "ssh://box:port", "ssh://me:secret@box", "ssh://box/path"])
def test_bad_ssh_address(bad: str) -> None:
    with pytest.raises(EngineError, match="bad engine address"):
        sshtransport.parse(bad)
