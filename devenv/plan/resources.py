"""Networks and volumes: their create bodies and how an existing one differs from the model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devenv.model import Project
from devenv.plan import composehash, naming
from devenv.plan.observed import ObservedNetwork, ObservedVolume


def _strings(mapping: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in (mapping or {}).items()}


def network_create_body(project: Project, key: str, *, version: str = naming.COMPOSE_VERSION) -> dict[str, Any]:
    """The body of `POST /networks/create` for network `key`."""
    cfg = project.networks[key]
    body: dict[str, Any] = {
        "Name": naming.network_name(project.name, key, cfg),
        "CheckDuplicate": True,
        "Driver": cfg.get("driver") or "bridge",
        "Labels": naming.network_labels(project.name, key, cfg, config_hash=composehash.network_hash(cfg), version=version),
    }
    if cfg.get("driver_opts"):
        body["Options"] = _strings(cfg["driver_opts"])
    for field, key_ in (("internal", "Internal"), ("attachable", "Attachable"), ("enable_ipv6", "EnableIPv6")):
        if cfg.get(field):
            body[key_] = True
    ipam = cfg.get("ipam") or {}
    if ipam.get("driver") or ipam.get("config") or ipam.get("options"):
        body["IPAM"] = {"Driver": ipam.get("driver") or "default", "Config": [_pool(p) for p in ipam.get("config") or ()]}
        if ipam.get("options"):
            body["IPAM"]["Options"] = _strings(ipam["options"])
    return body


def _pool(pool: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for field, key in (("subnet", "Subnet"), ("ip_range", "IPRange"), ("gateway", "Gateway")):
        if pool.get(field):
            out[key] = str(pool[field])
    if pool.get("aux_addresses"):
        out["AuxiliaryAddresses"] = _strings(pool["aux_addresses"])
    return out


def volume_create_body(project: Project, key: str, *, version: str = naming.COMPOSE_VERSION) -> dict[str, Any]:
    """The body of `POST /volumes/create` for volume `key`."""
    cfg = project.volumes[key]
    body: dict[str, Any] = {
        "Name": naming.volume_name(project.name, key, cfg),
        "Driver": cfg.get("driver") or "local",
        "Labels": naming.volume_labels(project.name, key, cfg, config_hash=composehash.volume_hash(cfg), version=version),
    }
    if cfg.get("driver_opts"):
        body["DriverOpts"] = _strings(cfg["driver_opts"])
    return body


def network_drift(config: Mapping[str, Any], observed: ObservedNetwork) -> tuple[str, ...]:
    """The model fields an existing network does not match.

    Only what the model sets is compared: the engine fills in defaults (a subnet, a gateway, options
    of its own) that the model never named.
    """
    drift = []
    if (config.get("driver") or "bridge") != (observed.driver or "bridge"):
        drift.append("driver")
    if any(observed.options.get(k) != v for k, v in _strings(config.get("driver_opts")).items()):
        drift.append("driver_opts")
    for field in ("internal", "attachable", "enable_ipv6"):
        if bool(config.get(field)) != bool(getattr(observed, field)):
            drift.append(field)
    ipam = config.get("ipam") or {}
    wanted = [_pool(p) for p in ipam.get("config") or ()]
    seen = [{k: v for k, v in _pool_from_api(p).items() if k in w} for p, w in zip(observed.ipam_config, wanted, strict=False)]
    if (ipam.get("driver") or "default") != observed.ipam_driver or (wanted and seen != wanted) or any(
        observed.ipam_options.get(k) != v for k, v in _strings(ipam.get("options")).items()
    ):
        drift.append("ipam")
    if any(observed.labels.get(k) != v for k, v in _strings(config.get("labels")).items()):
        drift.append("labels")
    return tuple(drift)


def _pool_from_api(pool: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: str(pool[k]) for k in ("Subnet", "IPRange", "Gateway") if pool.get(k)}
    if pool.get("AuxiliaryAddresses"):
        out["AuxiliaryAddresses"] = _strings(pool["AuxiliaryAddresses"])
    return out


def volume_drift(config: Mapping[str, Any], observed: ObservedVolume) -> tuple[str, ...]:
    """The model fields an existing volume does not match (its options must be exactly the model's)."""
    drift = []
    if (config.get("driver") or "local") != (observed.driver or "local"):
        drift.append("driver")
    if _strings(config.get("driver_opts")) != dict(observed.options):
        drift.append("driver_opts")
    if any(observed.labels.get(k) != v for k, v in _strings(config.get("labels")).items()):
        drift.append("labels")
    return tuple(drift)
