"""Pushing an image through the engine API: tag it, `POST /images/{name}/push` with the registry's
credentials from the docker config (`auths`), and read the pushed digest from the stream.

The credentials go in the X-Registry-Auth header only (base64url JSON, `{}` when the config has
none for that host); they are never printed nor put in an error. Credential helpers
(`credsStore`, `credHelpers`) are not consulted.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import os
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlparse

from devenv.errors import EngineError


@dataclasses.dataclass(frozen=True)
class PushResult:
    tag: str
    digest: str
    size: int  # the manifest's size, as the registry reports it


def docker_config_path(environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    folder = environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(folder, "config.json")


def _host_of(key: str) -> str:
    """An `auths` key (`https://index.docker.io/v1/`, `127.0.0.1:5000`) -> its host[:port]."""
    return urlparse(key).netloc if "://" in key else key.split("/", 1)[0]


def auth_config(host: str, config: Mapping[str, Any]) -> dict[str, str]:
    """The X-Registry-Auth payload for `host` from a docker config's `auths` (pure); {} when none."""
    for key, entry in (config.get("auths") or {}).items():
        if _host_of(str(key)) != host or not isinstance(entry, Mapping):
            continue
        out: dict[str, str] = {"serveraddress": host}
        if entry.get("identitytoken"):
            out["identitytoken"] = str(entry["identitytoken"])
            return out
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(str(entry["auth"])).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise EngineError(f"docker config: the `auth` entry for {host} is not base64 of user:password") from None
            out.update(username=user, password=password)
            return out
        if entry.get("username"):
            out.update(username=str(entry["username"]), password=str(entry.get("password") or ""))
            return out
    return {}


def read_auth(host: str, path: str | None = None) -> dict[str, str]:
    path = path or docker_config_path()
    try:
        with open(path, encoding="utf-8") as handle:
            config = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise EngineError(f"{path}: cannot read the docker config: {getattr(exc, 'strerror', None) or exc}") from None
    return auth_config(host, config if isinstance(config, Mapping) else {})


def push(api: Any, source: str, repository: str, tag: str, auth: Mapping[str, str],
         log: Callable[[str], None] = lambda _line: None) -> PushResult:
    """Tag `source` as `repository:tag` and push it; the digest from the stream's aux message."""
    try:
        api.tag(source, repository, tag)
    except Exception as exc:
        from devenv.engine.api import explanation

        raise EngineError(f"tag {source} as {repository}:{tag}: {explanation(exc) or exc}") from None
    aux: dict[str, Any] = {}
    error = None
    try:
        for chunk in api.push(repository, tag=tag, stream=True, decode=True, auth_config=dict(auth)):
            if chunk.get("error"):
                error = str(chunk["error"])
            elif isinstance(chunk.get("aux"), Mapping) and chunk["aux"].get("Digest"):
                aux = dict(chunk["aux"])
            elif chunk.get("status") and not chunk.get("progressDetail"):
                log(f"{chunk.get('id') + ': ' if chunk.get('id') else ''}{chunk['status']}")
    except Exception as exc:
        from devenv.engine.api import explanation

        error = explanation(exc) or str(exc).splitlines()[0]
    if error:
        raise EngineError(f"push {repository}:{tag}: {' '.join(error.split())}")
    if not aux:
        raise EngineError(f"push {repository}:{tag}: the engine reported no digest")
    return PushResult(str(aux.get("Tag") or tag), str(aux["Digest"]), int(aux.get("Size") or 0))
