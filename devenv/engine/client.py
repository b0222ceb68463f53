"""Connecting to the engine: the local socket, `DOCKER_HOST` (tcp with TLS verified, ssh), with a
short answer when nobody is there, naming the address tried. TLS that is not verified is refused
unless DEVENV_INSECURE_TLS=1; plain tcp:// is used with a warning naming the risk."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from devenv.errors import EngineError

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI

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
    """A connected engine: `api` makes the calls (`devenv.engine.api.EngineAPI`), `address` names it."""

    def __init__(self, api: EngineAPI, address: str) -> None:
        self.api = api
        self.address = address


INSECURE_TLS_ENV = "DEVENV_INSECURE_TLS"  # =1: accept TLS that is not verified (explicit opt-in)


@dataclasses.dataclass(frozen=True)
class TLSSettings:
    """How to talk TLS to a tcp:// engine, from docker's variables. `ca` is None: verify against
    the default bundle; `verify` False only under the explicit opt-in."""

    verify: bool
    ca: str | None
    client_cert: tuple[str, str] | None


def tls_settings(address: str, env: Mapping[str, str]) -> TLSSettings | None:
    """TLS for `address` from DOCKER_TLS_VERIFY / DOCKER_TLS / DOCKER_CERT_PATH, as docker's CLI
    reads them; None for plain tcp. TLS without verification is refused unless DEVENV_INSECURE_TLS=1."""
    verify = bool(env.get("DOCKER_TLS_VERIFY"))
    cert_path = env.get("DOCKER_CERT_PATH") or ""
    if not (verify or cert_path or env.get("DOCKER_TLS")):
        return None
    folder = cert_path or os.path.join(os.path.expanduser("~"), ".docker")
    if not verify and env.get(INSECURE_TLS_ENV) != "1":
        raise EngineError(
            f"refusing TLS without verification to {address}: set DOCKER_TLS_VERIFY=1 to verify the engine "
            f"with {os.path.join(folder, 'ca.pem')}, or {INSECURE_TLS_ENV}=1 to accept an engine nobody verified"
        )
    ca = os.path.join(folder, "ca.pem")
    cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    return TLSSettings(
        verify=verify,
        ca=ca if os.path.isfile(ca) else None,
        client_cert=(cert, key) if os.path.isfile(cert) and os.path.isfile(key) else None,
    )


def plain_tcp_warning(address: str) -> str:
    return (f"{address} is plain TCP without TLS: anyone who can reach that port controls the engine "
            "(root on its host); use TLS (DOCKER_TLS_VERIFY=1) or ssh://")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """Where an engine is and how to talk TLS to it. `tls` is a docker context's material;
    `environment_tls`: whether DOCKER_TLS_VERIFY / DOCKER_CERT_PATH apply (an address given as
    DOCKER_HOST would be) rather than `tls` alone (a context says all)."""

    address: str
    tls: TLSSettings | None = None
    environment_tls: bool = True


_selected: Endpoint | None = None


def select(endpoint: Endpoint | None) -> None:
    """The engine `connect()` uses when given no address, for the rest of this command (the
    --env environment's engine, chosen once the project is loaded); None: the environment's."""
    global _selected
    _selected = endpoint


def selected() -> Endpoint:
    """The engine `connect()` reaches without an address: the selected one, else DOCKER_HOST or the socket."""
    return _selected or Endpoint(engine_address())


def connect(address: str | Endpoint | None = None) -> Engine:
    """A client of the engine at `address` (default: `selected()`, else the one the environment
    points at); EngineError within seconds if none answers."""
    endpoint = address if isinstance(address, Endpoint) else Endpoint(address) if address else selected()
    address = endpoint.address
    if address.startswith("unix://"):  # TLS variables mean nothing on a local socket (docker's CLI ignores them)
        from devenv.engine.api import LocalAPI

        first = min(CONNECT_TIMEOUT, quick_timeout())
        api = LocalAPI(address[len("unix://") :], timeout=quick_timeout(), connect_timeout=first, long_timeout=API_TIMEOUT)
        try:
            api.ping()
        except OSError as exc:
            raise EngineError(f"cannot reach the Docker engine at {address}: {_reason(exc, first)}") from None
        return Engine(api, address)
    return _connect_sdk(endpoint)


def _sdk_client(address: str, tls: TLSSettings | None = None, environment_tls: bool = True) -> tuple[Any, str | None]:
    """The docker SDK's low-level client for a tcp:// or ssh:// engine, TLS verified with the
    engine's own CA (never REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, which requests would prefer),
    and the warning to print once the engine answers. `tls`: a context's TLS; without it, docker's
    variables decide when `environment_tls`, else plain tcp."""
    import docker

    from devenv.engine.api import API_VERSION

    if address.startswith("ssh://"):  # the system's ssh client (keys, agent, known_hosts)
        return docker.APIClient(base_url=address, version=API_VERSION, timeout=int(CONNECT_TIMEOUT), use_ssh_client=True), None
    if tls is None and environment_tls:
        tls = tls_settings(address, os.environ)
    if tls is None:
        warning = plain_tcp_warning(address) if address.startswith("tcp://") else None
        return docker.APIClient(base_url=address, version=API_VERSION, timeout=int(CONNECT_TIMEOUT)), warning
    warning = None
    if not tls.verify:
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # the user asked for it; said once below
        warning = f"TLS to {address} is not verified ({INSECURE_TLS_ENV}=1): anyone on the way can control the engine"
    config = docker.tls.TLSConfig(client_cert=tls.client_cert, ca_cert=tls.ca, verify=tls.verify)
    client = docker.APIClient(base_url=address, version=API_VERSION, timeout=int(CONNECT_TIMEOUT), tls=config)
    verify: Any = (tls.ca or True) if tls.verify else False
    merge = client.merge_environment_settings

    def merged(*args: Any, **kwargs: Any) -> dict[str, Any]:
        settings = merge(*args, **kwargs)
        settings["verify"] = verify  # requests would take REQUESTS_CA_BUNDLE over the session's CA
        return settings

    client.merge_environment_settings = merged
    return client, warning


def _connect_sdk(endpoint: Endpoint) -> Engine:
    import docker
    import requests

    from devenv.engine.api import RemoteAPI

    address = endpoint.address
    try:
        sdk, warning = _sdk_client(address, endpoint.tls, endpoint.environment_tls)
        sdk.ping()
    except requests.exceptions.SSLError as exc:
        raise EngineError(f"cannot reach the Docker engine at {address}: TLS verification failed: "
                          f"{_ssl_reason(exc)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise EngineError(f"cannot reach the Docker engine at {address}: {_reason(exc)}") from None
    if warning:
        sys.stderr.write(f"devenv: warning: {warning}\n")
    sdk.timeout = API_TIMEOUT
    return Engine(RemoteAPI(sdk), address)


def _ssl_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("certificate verify failed", "hostname mismatch", "wrong version number", "unknown ca", "bad certificate"):
        if marker in text.lower():
            start = text.lower().index(marker)
            return text[start:].split("'")[0].split(" (_ssl")[0].split(")")[0][:200]
    return text.splitlines()[0][:200] if text else type(exc).__name__
