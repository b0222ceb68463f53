"""devenv's own per-field digests of a service's containers, kept in the `io.devenv.config-digest`
label beside Compose's `com.docker.compose.config-hash` (composehash.py), so that a plan can say
which fields changed ("recreate web: environment changed") and can see what Compose's hash leaves
out: `publish_host` when the service publishes ports (it decides the host IP of ports that name
none) and the contents of file-backed secrets and configs.

What is hashed: every top-level key of the canonical service definition that shapes the container,
plus `image_id` (so a rebuilt or re-pulled image recreates the containers) and `publish_host`.
What is not (it never changes a container, only what the planner does around it):
`build`, `pull_policy`, `scale` and `deploy.replicas` (replicas are counted, not configured),
`profiles`, `depends_on` (order and gates only; a dependent needing a restart is planned explicitly),
`attach`, `develop`, the already-resolved `env_file`/`label_file`/`extends`, and `x-*` extensions.
Top-level `null` values and empty mappings count as absent, so a canonical form that prints
`command: null` and one that omits it hash alike; empty lists do not (`entrypoint: []` clears the
image's entrypoint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from devenv.model import Service, thaw
from devenv.plan.support import NON_CONTAINER_KEYS, PLANNER_KEYS, RESOLVED_KEYS

EXCLUDED_KEYS = PLANNER_KEYS | RESOLVED_KEYS | NON_CONTAINER_KEYS
SHORT = 8  # hex digits per field in the digest label


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, frozen mappings and tuples accepted."""
    return json.dumps(thaw(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _sha(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()


def hashed_fields(service: Service, *, publish_host: str | None = None) -> dict[str, Any]:
    """The values that shape the container, by field, image ID excepted."""
    fields: dict[str, Any] = {}
    for key, value in service.config.items():
        if key in EXCLUDED_KEYS or key.startswith("x-") or value is None:
            continue
        value = thaw(value)
        if key == "deploy":
            value = {k: v for k, v in value.items() if k != "replicas" and v not in (None, {})}
        if value == {}:
            continue
        fields[key] = value
    if service.get("ports") and publish_host is not None:
        fields["publish_host"] = publish_host
    return fields


def field_hashes(service: Service, *, publish_host: str | None = None) -> dict[str, str]:
    """A full sha256 per hashed field (image ID excepted: see `with_image`)."""
    return {key: _sha(value) for key, value in hashed_fields(service, publish_host=publish_host).items()}


def with_image(hashes: Mapping[str, str], image_id: str | None) -> dict[str, str]:
    """The field hashes completed with the image ID's."""
    return {**hashes, "image_id": _sha(image_id)}


def combine(hashes: Mapping[str, str]) -> str:
    """The config hash: sha256 of the canonical JSON of the per-field hashes."""
    return _sha(dict(hashes))


def config_hash(service: Service, image_id: str | None, *, publish_host: str | None = None) -> str:
    """One digest of every field (the per-field digests combined): equal digests, same container."""
    return combine(with_image(field_hashes(service, publish_host=publish_host), image_id))


def digest_label(hashes: Mapping[str, str]) -> str:
    """`field=12ab34cd,...` sorted by field: the value of `io.devenv.config-digest`."""
    return ",".join(f"{key}={value[:SHORT]}" for key, value in sorted(hashes.items()))


def parse_digest_label(text: str | None) -> dict[str, str]:
    """The inverse of `digest_label`; an absent or malformed label gives {}."""
    out: dict[str, str] = {}
    for part in (text or "").split(","):
        key, sep, value = part.partition("=")
        if sep and key:
            out[key] = value
    return out


def changed_fields(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[str, ...]:
    """Fields whose short hash differs, or that exist on one side only, sorted."""
    keys = set(old) | set(new)
    return tuple(sorted(k for k in keys if old.get(k, "")[:SHORT] != new.get(k, "")[:SHORT]))


def digest_of(value: Any) -> str:
    """sha256 of the canonical JSON of `value` (for fields computed outside the service config)."""
    return _sha(value)
