"""Registry access without the engine: digests of references, blobs, manifests, OCI artifacts.

Stdlib only (http.client), so importing it stays cheap; `devenv.registry.client` holds the API.
"""

from __future__ import annotations

from devenv.registry.client import (
    ALL,
    Manifest,
    RegistryClient,
    Resolved,
    client_for,
    default_platform,
    parse_reference,
    resolve_digest,
)

__all__ = ["ALL", "Manifest", "RegistryClient", "Resolved", "client_for", "default_platform", "parse_reference", "resolve_digest"]
