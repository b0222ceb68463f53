"""Connecting to the engine, chosen as the docker CLI chooses it: `-H`/`--context` (the command
line), else the --env environment's declared engine, else DOCKER_HOST, DOCKER_CONTEXT, the docker
CLI config's currentContext, else the local socket. tcp:// with TLS verified (the engine's own CA,
never REQUESTS_CA_BUNDLE), ssh:// through the system's ssh client. A short answer when nobody is
there, naming the address tried. TLS that is not verified is refused unless DEVENV_INSECURE_TLS=1;
plain tcp:// is used with a warning naming the risk."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from devenv.errors import EngineError, UsageError

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
SCHEMES = ("unix://", "tcp://", "ssh://")
MACHINE_ENV = "DOCKER_MACHINE_NAME"


def engine_address() -> str:
    """The address of the engine this command talks to (`selected()`)."""
    return selected().address


def normalize_host(address: str, source: str = "-H") -> str:
    """An engine address as the docker CLI takes it: `host:port` is tcp://; unix://, tcp://, ssh://
    (and http(s):// for the SDK) kept; anything else a UsageError naming `source`."""
    address = address.strip()
    if "://" not in address and address:
        address = f"tcp://{address}"
    if not address.startswith((*SCHEMES, "http://", "https://")) or address.endswith("://"):
        raise UsageError(f"{source}: bad engine address {address!r} (unix:///path, tcp://host:port, ssh://[user@]host[:port])")
    return address


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
    """A connected engine: `api` makes the calls (`devenv.engine.api.EngineAPI`), `address` names it;
    `endpoint`: how it was chosen (for `describe`)."""

    def __init__(self, api: EngineAPI, address: str, endpoint: Endpoint | None = None) -> None:
        self.api = api
        self.address = address
        self.endpoint = endpoint or Endpoint(address)


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
    DOCKER_HOST would be) rather than `tls` alone (a context says all). `origin`: who chose it
    (`-H`, `context NAME`, `DOCKER_HOST`, `environment prod`...), for messages."""

    address: str
    tls: TLSSettings | None = None
    environment_tls: bool = True
    origin: str = ""


_selected: Endpoint | None = None
_command_line: tuple[str | None, str | None] = (None, None)  # (-H, --context)


def select(endpoint: Endpoint | None) -> None:
    """The engine `connect()` uses when given no address, for the rest of this command (the
    --env environment's engine, chosen once the project is loaded); None: the environment's.
    -H/--context still win (`choose`)."""
    global _selected
    _selected = endpoint


def choose(host: str | None = None, context: str | None = None) -> None:
    """The command line's engine (-H ADDR or --context NAME), above every other choice; resolved
    when first used. Both at once is a UsageError, as with the docker CLI."""
    global _command_line
    if host and context:
        raise UsageError("conflicting options: either specify --host or --context, not both")
    _command_line = (normalize_host(host) if host else None, context or None)


def _context(name: str, origin: str, environ: Mapping[str, str]) -> Endpoint:
    from devenv.engine import contexts

    known = contexts.names(environ)
    if name not in known:
        raise EngineError(f'context "{name}" not found ({origin}; contexts: {", ".join(known)})')
    return dataclasses.replace(contexts.resolve(name, environ), origin=f"context {name}")


def from_environment(environ: Mapping[str, str] | None = None) -> Endpoint:
    """The engine docker's variables and config choose: DOCKER_HOST, else DOCKER_CONTEXT, else the
    config's currentContext, else the local socket. An unknown context is an EngineError."""
    environ = os.environ if environ is None else environ
    host = environ.get("DOCKER_HOST")
    if host:
        return Endpoint(normalize_host(host, "DOCKER_HOST"), origin="DOCKER_HOST")
    name = environ.get("DOCKER_CONTEXT")
    if name:
        return _context(name, "DOCKER_CONTEXT", environ)
    from devenv.engine import contexts

    name, path = contexts.current_context(environ)
    if name and name != contexts.DEFAULT:
        return _context(name, f"currentContext of {path}", environ)
    return Endpoint(DEFAULT_HOST)


def selected() -> Endpoint:
    """The engine `connect()` reaches without an address: -H/--context, else the selected one
    (an --env environment's), else `from_environment()`."""
    host, context = _command_line
    if host:
        return Endpoint(host, origin="-H")
    if context:
        return _context(context, "--context", os.environ)
    return _selected or from_environment()


def describe(endpoint: Endpoint, environ: Mapping[str, str] | None = None) -> str | None:
    """One line naming the engine and how it is reached, e.g. `tcp://127.0.0.1:23760 (TLS,
    context remote)`; None for a local socket the environment points at (DOCKER_HOST or the
    default: nothing to say there, and Compose's output stays as it is)."""
    environ = os.environ if environ is None else environ
    address = endpoint.address
    if address.startswith("unix://") and endpoint.origin in ("", "DOCKER_HOST"):
        return None
    notes = []
    if address.startswith(("tcp://", "https://")):
        tls = endpoint.tls
        if tls is None and endpoint.environment_tls:
            try:
                tls = tls_settings(address, environ)
            except EngineError:
                tls = None
        notes.append("plain TCP, no TLS" if tls is None else "TLS" if tls.verify else "TLS not verified")
    if endpoint.origin:
        notes.append(endpoint.origin)
    machine = environ.get(MACHINE_ENV)
    if machine and endpoint.origin == "DOCKER_HOST":
        notes.append(f"docker-machine {machine}")
    return f"{address} ({', '.join(notes)})" if notes else address


def engine_line(engine: Engine) -> str | None:
    """`engine: ADDRESS (how)` for `ls` / `ps`, None on a local socket the environment points at."""
    text = describe(engine.endpoint)
    return f"engine: {text}" if text else None


def cli_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """`base` (default os.environ) for a docker CLI child talking to the selected engine:
    DOCKER_HOST set to it, no DOCKER_CONTEXT, a context's TLS material as DOCKER_CERT_PATH."""
    env = dict(os.environ if base is None else base)
    endpoint = selected()
    env.pop("DOCKER_CONTEXT", None)
    env["DOCKER_HOST"] = endpoint.address
    if not endpoint.environment_tls:
        for key in ("DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS"):
            env.pop(key, None)
        tls = endpoint.tls
        if tls is not None and (tls.ca or tls.client_cert):
            env["DOCKER_CERT_PATH"] = os.path.dirname(tls.ca or tls.client_cert[0])  # type: ignore[index]
            if tls.verify:
                env["DOCKER_TLS_VERIFY"] = "1"
            else:
                env["DOCKER_TLS"] = "1"
    return env


def _machine(endpoint: Endpoint) -> str:
    machine = os.environ.get(MACHINE_ENV)
    return f" (docker-machine {machine})" if machine and endpoint.origin == "DOCKER_HOST" else ""


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
            raise EngineError(f"cannot reach the Docker engine at {address}{_machine(endpoint)}: {_reason(exc, first)}") from None
        return Engine(api, address, endpoint)
    return _connect_sdk(endpoint)


def _sdk_client(address: str, tls: TLSSettings | None = None, environment_tls: bool = True) -> tuple[Any, str | None]:
    """The docker SDK's low-level client for a tcp:// or ssh:// engine, TLS verified with the
    engine's own CA (never REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE, which requests would prefer),
    and the warning to print once the engine answers. `tls`: a context's TLS; without it, docker's
    variables decide when `environment_tls`, else plain tcp."""
    import docker

    from devenv.engine.api import API_VERSION

    if address.startswith("ssh://"):  # the system's ssh client (keys, agent, known_hosts); no paramiko
        from devenv.engine import sshtransport

        return sshtransport.api_client(address, API_VERSION, int(CONNECT_TIMEOUT)), None
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
    where = f"{address}{_machine(endpoint)}"
    sdk: Any = None
    try:
        sdk, warning = _sdk_client(address, endpoint.tls, endpoint.environment_tls)
        sdk.ping()
    except requests.exceptions.SSLError as exc:
        raise EngineError(f"cannot reach the Docker engine at {where}: TLS verification failed: "
                          f"{_ssl_reason(exc)}") from None
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
        raise EngineError(f"cannot reach the Docker engine at {where}: {_ssh_said(sdk) or _reason(exc)}") from None
    if warning:
        sys.stderr.write(f"devenv: warning: {warning}\n")
    sdk.timeout = API_TIMEOUT
    return Engine(RemoteAPI(sdk), address, endpoint)


def _ssh_said(sdk: Any) -> str:
    if sdk is None:
        return ""
    from devenv.engine import sshtransport

    said = sshtransport.failure(sdk)
    return "" if not said else said if said.startswith("ssh:") else f"ssh: {said}"


def _ssl_reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("certificate verify failed", "hostname mismatch", "wrong version number", "unknown ca", "bad certificate"):
        if marker in text.lower():
            start = text.lower().index(marker)
            return text[start:].split("'")[0].split(" (_ssl")[0].split(")")[0][:200]
    return text.splitlines()[0][:200] if text else type(exc).__name__

