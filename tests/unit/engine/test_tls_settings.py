"""Which TLS devenv uses for a tcp:// engine, from docker's variables (devenv/engine/client.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devenv.engine.client import TLSSettings, plain_tcp_warning, tls_settings
from devenv.errors import EngineError

ADDRESS = "tcp://engine.example:2376"


@pytest.fixture
def certs(tmp_path: Path) -> Path:
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    return tmp_path


def test_plain_tcp_has_no_tls() -> None:
    assert tls_settings(ADDRESS, {}) is None
    assert tls_settings(ADDRESS, {"DOCKER_TLS_VERIFY": ""}) is None  # empty: unset, as docker reads it


def test_verify_uses_the_engines_ca_and_the_client_certificate(certs: Path) -> None:
    got = tls_settings(ADDRESS, {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(certs),
                                 "REQUESTS_CA_BUNDLE": "/elsewhere.pem"})
    assert got == TLSSettings(verify=True, ca=str(certs / "ca.pem"),
                              client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")))


def test_verify_without_a_ca_file_verifies_against_the_default_bundle(tmp_path: Path) -> None:
    assert tls_settings(ADDRESS, {"DOCKER_TLS_VERIFY": "1", "DOCKER_CERT_PATH": str(tmp_path)}) == TLSSettings(
        verify=True, ca=None, client_cert=None)


@pytest.mark.parametrize("env", [{"DOCKER_CERT_PATH": "/certs"}, {"DOCKER_TLS": "1"}])
def test_tls_without_verification_is_refused_in_one_line(env: dict[str, str]) -> None:
    with pytest.raises(EngineError) as caught:
        tls_settings(ADDRESS, env)
    message = str(caught.value)
    assert "\n" not in message and ADDRESS in message and "DOCKER_TLS_VERIFY=1" in message
    assert "DEVENV_INSECURE_TLS=1" in message


def test_tls_without_verification_when_asked_for(certs: Path) -> None:
    got = tls_settings(ADDRESS, {"DOCKER_CERT_PATH": str(certs), "DEVENV_INSECURE_TLS": "1"})
    assert got is not None and got.verify is False


def test_the_plain_tcp_warning_names_the_risk() -> None:
    text = plain_tcp_warning(ADDRESS)
    assert ADDRESS in text and "without TLS" in text and "root" in text
