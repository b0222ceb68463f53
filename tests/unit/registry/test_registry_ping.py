"""RegistryClient.ping (for `devenv doctor`): a registry answers its API with 200, or 401 when it
wants credentials; anything else, or nobody listening, is one RegistryError line."""

from __future__ import annotations

import socket

import pytest

from devenv.errors import RegistryError
from devenv.registry.client import RegistryClient


def test_a_registry_answering_v2_is_reachable(stub, no_docker_config) -> None:
    stub.route("GET", "/v2/", (200, {}, b"{}"))
    RegistryClient(stub.host).ping()
    assert [r.path for r in stub.requests] == ["/v2/"]


def test_a_registry_wanting_credentials_is_reachable(stub, no_docker_config) -> None:
    stub.route("GET", "/v2/", (401, {"WWW-Authenticate": 'Basic realm="r"'}, b""))
    RegistryClient(stub.host).ping()


def test_something_else_on_the_port_is_no_registry(stub, no_docker_config) -> None:
    with pytest.raises(RegistryError, match=rf"registry {stub.host}: ping: 404"):
        RegistryClient(stub.host).ping()


def test_nobody_listening(no_docker_config) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed below: nothing listens there
    with pytest.raises(RegistryError, match=rf"registry 127.0.0.1:{port}: ping: cannot connect"):
        RegistryClient(f"127.0.0.1:{port}").ping()
