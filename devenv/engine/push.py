"""Pushing an image through the engine API: tag it, `POST /images/{name}/push` with the registry's
credentials docker would use (devenv.registry.auth: credential helpers, then `auths`), and read
the pushed digest from the stream.

The credentials go in the X-Registry-Auth header only (base64url JSON, `{}` when there are none
for that host); they are never printed nor put in an error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from devenv.errors import EngineError

if TYPE_CHECKING:
    from devenv.engine.client import Engine


@dataclasses.dataclass(frozen=True)
class PushResult:
    tag: str
    digest: str
    size: int  # the manifest's size, as the registry reports it


def auth_config(host: str, config: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The X-Registry-Auth payload for the registry `host`: the credentials docker would use
    (registry.auth: `credHelpers`, `credsStore`, then `auths`), `{}` when there are none."""
    from devenv.registry.auth import credentials, server_key

    found = credentials(host, env, config)
    if found is None:
        return {}
    out = {"serveraddress": server_key(host)}
    if found.identity_token:
        out["identitytoken"] = found.identity_token
    else:
        out.update(username=found.username, password=found.password)
    return out


def read_auth(host: str) -> dict[str, str]:
    return auth_config(host)


def push(client: Engine, source: str, repository: str, tag: str, auth: Mapping[str, str],
         log: Callable[[str], None] = lambda _line: None) -> PushResult:
    """Tag `source` as `repository:tag` and push it; the digest from the stream's aux message."""
    api = client.api
    try:
        api.tag(source, repository, tag)
    except Exception as exc:
        from devenv.engine.api import explanation

        raise EngineError(f"tag {source} as {repository}:{tag}: {explanation(exc) or exc}") from None
    aux: dict[str, Any] = {}
    error = None
    try:
        for chunk in api.push(repository, tag=tag, auth_config=dict(auth)):
            if chunk.get("error"):
                error = str(chunk["error"])
            elif isinstance(chunk.get("aux"), Mapping) and chunk["aux"].get("Digest"):
                aux = dict(chunk["aux"])
            elif chunk.get("status") and not chunk.get("progressDetail"):
                ident = chunk.get("id")
                log(f"{ident}: {chunk['status']}" if ident else str(chunk["status"]))
    except Exception as exc:
        from devenv.engine.api import explanation

        error = explanation(exc) or str(exc).splitlines()[0]
    if error:
        raise EngineError(f"push {repository}:{tag}: {' '.join(error.split())}")
    if not aux:
        raise EngineError(f"push {repository}:{tag}: the engine reported no digest")
    return PushResult(str(aux.get("Tag") or tag), str(aux["Digest"]), int(aux.get("Size") or 0))
