"""Docker contexts, resolved as the docker CLI does: the store under DOCKER_CONFIG (default
~/.docker) keeps `contexts/meta/<sha256(name)>/meta.json` (the engine's address under
Endpoints.docker.Host, SkipTLSVerify) and the TLS material in
`contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem`. `default` is DOCKER_HOST or the local socket."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

from devenv.engine.client import DEFAULT_HOST, INSECURE_TLS_ENV, Endpoint, TLSSettings
from devenv.errors import EngineError

if TYPE_CHECKING:
    from devenv.manifest.environments import Environment

DEFAULT = "default"


def config_dir(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def current_context(environ: Mapping[str, str] | None = None) -> tuple[str | None, str]:
    """The docker CLI config's `currentContext` (None when unset or there is no config) and the
    config file's path."""
    path = os.path.join(config_dir(environ), "config.json")
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None, path
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot read the docker CLI config {path}: {exc}") from None
    name = data.get("currentContext") if isinstance(data, dict) else None
    return (name if isinstance(name, str) and name else None), path


def _key(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()


def names(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every context of the store, `default` included."""
    found = {DEFAULT}
    folder = os.path.join(config_dir(environ), "contexts", "meta")
    try:
        entries = os.listdir(folder)
    except OSError:
        entries = []
    for entry in entries:
        meta = _read_meta(os.path.join(folder, entry, "meta.json"))
        if meta is not None and isinstance(meta.get("Name"), str):
            found.add(meta["Name"])
    return sorted(found)


def _read_meta(path: str) -> dict | None:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EngineError(f"cannot read docker context metadata {path}: {exc}") from None
    return data if isinstance(data, dict) else None


def resolve(name: str, environ: Mapping[str, str] | None = None) -> Endpoint:
    """The engine of context `name`: its address and TLS settings; EngineError when unknown."""
    environ = os.environ if environ is None else environ
    if name == DEFAULT:
        return Endpoint(environ.get("DOCKER_HOST") or DEFAULT_HOST)
    root = os.path.join(config_dir(environ), "contexts")
    meta_path = os.path.join(root, "meta", _key(name), "meta.json")
    meta = _read_meta(meta_path)
    if meta is None or meta.get("Name") != name:
        raise EngineError(f"docker context {name!r} not found (contexts: {', '.join(names(environ))})")
    docker = (meta.get("Endpoints") or {}).get("docker") or {}
    host = docker.get("Host") if isinstance(docker, dict) else None
    if not isinstance(host, str) or not host:
        raise EngineError(f"docker context {name!r} has no docker endpoint (Endpoints.docker.Host in {meta_path})")
    skip_verify = bool(docker.get("SkipTLSVerify"))
    folder = os.path.join(root, "tls", _key(name), "docker")
    ca, cert, key = (os.path.join(folder, f"{n}.pem") for n in ("ca", "cert", "key"))
    has_ca, has_pair = os.path.isfile(ca), os.path.isfile(cert) and os.path.isfile(key)
    if host.startswith(("unix://", "ssh://", "npipe://")) or not (has_ca or has_pair or skip_verify):
        return Endpoint(host, environment_tls=False)  # as docker's CLI: no TLS material, no TLS
    if skip_verify and environ.get(INSECURE_TLS_ENV) != "1":
        raise EngineError(
            f"refusing TLS without verification to {host} (docker context {name!r} sets SkipTLSVerify): "
            f"set {INSECURE_TLS_ENV}=1 to accept an engine nobody verified"
        )
    tls = TLSSettings(verify=not skip_verify, ca=ca if has_ca else None, client_cert=(cert, key) if has_pair else None)
    return Endpoint(host, tls=tls, environment_tls=False)


def address_of(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The engine address (DOCKER_HOST form) of context `name`."""
    return resolve(name, environ).address


def endpoint_of(environment: Environment, environ: Mapping[str, str] | None = None) -> Endpoint | None:
    """The engine an environment declares (its `host`, or its `context` resolved); None when it
    declares neither (it runs on the local engine)."""
    if environment.host:
        return Endpoint(environment.host)
    if environment.context:
        return resolve(environment.context, environ)
    return None
