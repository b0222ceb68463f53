"""Connecting to the engine: the local socket, `DOCKER_HOST` (tcp with TLS verified, ssh), with a
short answer when nobody is there, naming the address tried."""

from __future__ import annotations

import os
from typing import Any

from devenv.errors import EngineError

CONNECT_TIMEOUT = 5.0  # seconds to wait for the engine's first answer
QUICK_TIMEOUT = 30.0  # then for each quick call (list, inspect, create, start, remove...); DEVENV_ENGINE_TIMEOUT
API_TIMEOUT = 600.0  # builds and pulls (between two messages of their streams); a stop gets its grace on top


def quick_timeout() -> float:
    """QUICK_TIMEOUT, or DEVENV_ENGINE_TIMEOUT seconds when that is a positive number."""
    try:
        value = float(os.environ.get("DEVENV_ENGINE_TIMEOUT") or QUICK_TIMEOUT)
    except ValueError:
        return QUICK_TIMEOUT
    return value if 0 < value < 86400 else QUICK_TIMEOUT
DEFAULT_HOST = "unix:///var/run/docker.sock"


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def _reason(exc: BaseException, timeout: float = CONNECT_TIMEOUT) -> str:
    text = str(exc)
    lowered = text.lower()
    if "filenotfounderror" in lowered or "no such file" in lowered:
        return "no engine socket there (is dockerd running? scripts/engine.sh starts one)"
    if "connection refused" in lowered:
        return "connection refused (is dockerd running?)"
    if "timed out" in lowered or "timeout" in lowered:
        return f"no answer within {timeout:g}s"
    if "permission denied" in lowered:
        return "permission denied (are you in the docker group?)"
    if "certificate" in lowered or "ssl" in lowered:
        return f"TLS failed: {text.splitlines()[0][:200]}"
    return text.splitlines()[0][:200] if text else type(exc).__name__


class Engine:
    """A connected engine: `api` has the docker SDK's low-level method names for the calls devenv makes."""

    def __init__(self, api: Any, address: str) -> None:
        self.api = api
        self.address = address


def connect() -> Engine:
    """A client of the engine the environment points at; EngineError within seconds if none answers."""
    address = engine_address()
    if address.startswith("unix://") and not os.environ.get("DOCKER_TLS_VERIFY"):
        from devenv.engine.api import LocalAPI

        first = min(CONNECT_TIMEOUT, quick_timeout())
        api = LocalAPI(address[len("unix://") :], timeout=quick_timeout(), connect_timeout=first, long_timeout=API_TIMEOUT)
        try:
            api.ping()
        except OSError as exc:
            raise EngineError(f"cannot reach the Docker engine at {address}: {_reason(exc, first)}") from None
        return Engine(api, address)
    return _connect_sdk(address)


def _connect_sdk(address: str) -> Engine:
    import docker
    import requests

    from devenv.engine.api import SDKBackedAPI

    try:
        # ssh://user@host engines go through the system's ssh client (keys, agent, known_hosts).
        client = docker.from_env(timeout=int(CONNECT_TIMEOUT), use_ssh_client=address.startswith("ssh://"))
        client.api.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise EngineError(f"cannot reach the Docker engine at {address}: {_reason(exc)}") from None
    client.api.timeout = API_TIMEOUT
    return Engine(SDKBackedAPI(client.api), address)
