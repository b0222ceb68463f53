"""The declared configuration of a service that `diff` compares and `lock` records (pure).

One flat mapping per service: the fields where environments are meant to match (environment values,
command, entrypoint, ports, volumes, healthcheck, resources, secrets). Values that may be secret
(everything under `secrets:`, environment keys that look like credentials) are never kept in clear:
they become a salted, slow digest (`secret_digest`) that compares equal for equal values and is
costly to reverse by guessing, since a lock file holding it is committed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from typing import Any

from devenv.model import Project, Service, thaw

# environment keys whose values are treated as secrets
SECRET_KEY = re.compile(
    r"(?i)(pass(word|wd|phrase)?|secret|token|api[_-]?key|private[_-]?key|credential|auth|cookie|session[_-]?key|salt|dsn)"
)
SECRET_PREFIX = "secret:pbkdf2-sha256:"
_ITERATIONS = 50_000

FIELDS = ("image", "command", "entrypoint", "environment", "ports", "volumes", "healthcheck", "resources", "secrets")


def is_secret_key(key: str) -> bool:
    return bool(SECRET_KEY.search(key))


def secret_digest(value: str | bytes, salt: str) -> str:
    """A comparable stand-in for a secret value: PBKDF2-SHA256 with a salt naming where it lives
    (so equal values in the same place compare equal across environments and lock files)."""
    data = value.encode("utf-8") if isinstance(value, str) else value
    digest = hashlib.pbkdf2_hmac("sha256", data, f"devenv:{salt}".encode(), _ITERATIONS)
    return SECRET_PREFIX + digest.hex()


def is_secret_digest(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(SECRET_PREFIX)


def environment(service_name: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """KEY -> value, secret-looking keys as digests; a key declared without value stays None."""
    out: dict[str, Any] = {}
    for key in sorted(values):
        value = values[key]
        if value is not None and is_secret_key(key):
            value = secret_digest(str(value), f"{service_name}:environment:{key}")
        out[key] = value
    return out


def _ports(config: Mapping[str, Any]) -> list[str]:
    out = []
    for port in thaw(config.get("ports") or ()):
        if not isinstance(port, Mapping):
            out.append(str(port))
            continue
        host = port.get("host_ip") or ""
        published = str(port.get("published") or "")
        target = port.get("target")
        proto = port.get("protocol") or "tcp"
        left = ":".join(p for p in (host, published) if p)
        out.append(f"{left + ':' if left else ''}{target}/{proto}")
    return sorted(out)


def _volumes(config: Mapping[str, Any]) -> list[str]:
    out = []
    for volume in thaw(config.get("volumes") or ()):
        if not isinstance(volume, Mapping):
            out.append(str(volume))
            continue
        kind = volume.get("type") or "volume"
        source = volume.get("source") or ""
        flags = ",ro" if volume.get("read_only") else ""
        out.append(f"{kind}:{source}:{volume.get('target')}{flags}")
    return sorted(out)


def _resources(config: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    deploy_resources = thaw((config.get("deploy") or {}).get("resources") or {})
    for kind in ("limits", "reservations"):
        for key, value in sorted((deploy_resources.get(kind) or {}).items()):
            if value not in (None, "", [], {}):
                out[f"{kind}.{key}"] = value
    for key in ("mem_limit", "mem_reservation", "memswap_limit", "cpus", "cpu_shares", "cpu_quota", "cpuset", "pids_limit", "shm_size"):
        if config.get(key) not in (None, ""):
            out[key] = thaw(config.get(key))
    return out


def _secret_value(project: Project, name: str) -> str | None:
    """The digest of a project secret's content (file or environment), None when unreadable."""
    definition = project.secrets.get(name) or {}
    if definition.get("file"):
        path = os.path.join(project.working_dir, str(definition["file"]))
        try:
            with open(path, "rb") as handle:
                return secret_digest(handle.read(), f"secrets:{name}")
        except OSError:
            return None
    if definition.get("environment"):
        value = project.environment.get(str(definition["environment"]))
        return None if value is None else secret_digest(value, f"secrets:{name}")
    if definition.get("external"):
        return "external"
    return None


def service_facts(project: Project, service: Service) -> dict[str, Any]:
    """The declared configuration of `service` as plain JSON data, secrets as digests."""
    config = service.config
    secrets = {}
    for ref in thaw(config.get("secrets") or ()):
        source = ref if isinstance(ref, str) else ref.get("source")
        target = source if isinstance(ref, str) else (ref.get("target") or source)
        secrets[str(target)] = _secret_value(project, str(source))
    healthcheck = thaw(config.get("healthcheck"))
    return {
        "image": service.image,
        "command": thaw(config.get("command")),
        "entrypoint": thaw(config.get("entrypoint")),
        "environment": environment(service.name, config.get("environment") or {}),
        "ports": _ports(config),
        "volumes": _volumes(config),
        "healthcheck": healthcheck if healthcheck else None,
        "resources": _resources(config),
        "secrets": dict(sorted(secrets.items())),
    }


def project_facts(project: Project) -> dict[str, dict[str, Any]]:
    return {name: service_facts(project, project.services[name]) for name in sorted(project.services)}
