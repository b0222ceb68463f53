"""What of the Compose specification devenv honours, and the explicit refusal of everything else.

Every key of a service definition is in exactly one of the sets below (a unit test checks this
against the Compose JSON schema). A refused key with a non-empty value raises `UnsupportedFeature`
naming the service and the field: nothing of a Compose file is ever dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from devenv.errors import ManifestError
from devenv.model import Project, Service
from devenv.plan.errors import UnsupportedFeature

# Mapped into the Engine's container create body by containerspec.py.
CONTAINER_KEYS = frozenset(
    """
    cap_add cap_drop cgroup cgroup_parent command container_name cpu_period cpu_quota cpu_rt_period
    cpu_rt_runtime cpu_shares cpus cpuset deploy device_cgroup_rules devices dns dns_opt dns_search
    domainname entrypoint environment expose external_links extra_hosts group_add healthcheck hostname
    image init ipc labels links logging mac_address mem_limit mem_reservation mem_swappiness
    memswap_limit network_mode networks oom_kill_disable oom_score_adj pid pids_limit platform ports
    privileged read_only restart runtime security_opt shm_size stdin_open stop_grace_period stop_signal
    storage_opt sysctls tmpfs tty ulimits user userns_mode uts volumes volumes_from working_dir
    secrets configs
    """.split()
)

# Used by the planner (images, order, replicas, selection), not part of the container itself.
PLANNER_KEYS = frozenset({"build", "depends_on", "pull_policy", "scale", "profiles"})

# Already applied by the manifest layer: the canonical form merges them into environment/labels.
RESOLVED_KEYS = frozenset({"env_file", "label_file", "extends"})

# Accepted; they only concern other commands or how `up` shows logs, never the container.
NON_CONTAINER_KEYS = frozenset({"attach", "develop"})

# Refused with the reason shown to the user.
REFUSED_KEYS: Mapping[str, str] = {
    "annotations": "needs Docker Engine API 1.43; not supported yet",
    "blkio_config": "is not supported yet",
    "cpu_count": "is Windows-only; not supported",
    "cpu_percent": "is Windows-only; not supported",
    "credential_spec": "is Windows-only; not supported",
    "gpus": "is not supported yet",
    "isolation": "is Windows-only; not supported",
    "models": "is not supported yet",
    "post_start": "is not supported yet",
    "pre_stop": "is not supported yet",
    "provider": "is not supported yet",
    "pull_refresh_after": "is not supported yet",
    "use_api_socket": "is not supported yet",
}

KNOWN_KEYS = CONTAINER_KEYS | PLANNER_KEYS | RESOLVED_KEYS | NON_CONTAINER_KEYS | frozenset(REFUSED_KEYS)

PULL_POLICIES = {"always": "always", "never": "never", "missing": "missing", "if_not_present": "missing", "build": "build"}

# Every key of Compose's `build:`: the builder (devenv/engine/build.py) refuses, in one line naming the
# service and key, what the builder it finds on the machine cannot honour.
_BUILD_KEYS = frozenset({
    "context", "dockerfile", "dockerfile_inline", "args", "target", "labels", "cache_from", "cache_to", "tags", "network",
    "extra_hosts", "shm_size", "no_cache", "pull", "secrets", "ssh", "additional_contexts", "platforms", "ulimits",
    "privileged", "entitlements", "isolation", "sbom", "provenance",
})
_HEALTH_KEYS = frozenset({"test", "interval", "timeout", "retries", "start_period", "disable"})
_SERVICE_NETWORK_KEYS = frozenset({"aliases", "ipv4_address", "ipv6_address", "link_local_ips", "mac_address", "driver_opts", "priority"})
_DEPLOY_KEYS = frozenset({"replicas", "resources", "restart_policy", "mode", "placement"})
_NETWORK_KEYS = frozenset(
    {"name", "external", "driver", "driver_opts", "attachable", "internal", "enable_ipv6", "enable_ipv4", "ipam", "labels"}
)
_IPAM_KEYS = frozenset({"driver", "config", "options"})
_IPAM_POOL_KEYS = frozenset({"subnet", "ip_range", "gateway", "aux_addresses"})
_VOLUME_KEYS = frozenset({"name", "external", "driver", "driver_opts", "labels"})


def is_empty(value: Any) -> bool:
    """None, {}, [] and "" count as not set (the canonical form prints some empty defaults)."""
    return value is None or (hasattr(value, "__len__") and len(value) == 0)


def _extension(key: str) -> bool:
    return isinstance(key, str) and key.startswith("x-")


def check_service(project: Project, service: Service) -> None:
    """Raise `UnsupportedFeature` for the first setting of `service` that devenv would not honour."""
    name = service.name
    for key, value in service.config.items():
        if _extension(key) or is_empty(value):
            continue
        if key in REFUSED_KEYS:
            raise UnsupportedFeature(name, key, REFUSED_KEYS[key])
        if key not in KNOWN_KEYS:
            raise UnsupportedFeature(name, key, "is not a Compose service setting devenv knows")
    _check_build(service)
    _check_pull_policy(service)
    _check_deploy(service)
    _check_healthcheck(service)
    _check_volumes(project, service)
    _check_networks(project, service)
    _check_devices(service)
    _check_security_opt(service)
    if service.get("container_name") and service.scale > 1:
        raise ManifestError(
            f"service {name}: 'container_name' {service.get('container_name')!r} cannot be used with {service.scale} replicas"
        )


def _unknown(name: str, prefix: str, mapping: Mapping[str, Any] | None, allowed: frozenset[str]) -> None:
    for key, value in (mapping or {}).items():
        if not _extension(key) and key not in allowed and not is_empty(value):
            raise UnsupportedFeature(name, f"{prefix}.{key}")


def _check_build(service: Service) -> None:
    build = service.build
    if build is None:
        return
    if isinstance(build, str):
        return
    _unknown(service.name, "build", build, _BUILD_KEYS)


def _check_pull_policy(service: Service) -> None:
    policy = service.get("pull_policy")
    if policy and policy not in PULL_POLICIES:
        raise UnsupportedFeature(service.name, "pull_policy", f"{policy!r} is not supported yet (use always, missing, never or build)")
    if policy == "build" and service.build is None:
        raise ManifestError(f"service {service.name}: pull_policy 'build' needs a 'build' section")


def _check_deploy(service: Service) -> None:
    deploy = service.get("deploy") or {}
    name = service.name
    _unknown(name, "deploy", deploy, _DEPLOY_KEYS)
    if deploy.get("mode") not in (None, "replicated"):
        raise UnsupportedFeature(name, "deploy.mode", f"{deploy['mode']!r} is not supported (only 'replicated')")
    _unknown(name, "deploy.placement", deploy.get("placement"), frozenset())
    resources = deploy.get("resources") or {}
    _unknown(name, "deploy.resources", resources, frozenset({"limits", "reservations"}))
    _unknown(name, "deploy.resources.limits", resources.get("limits"), frozenset({"cpus", "memory", "pids"}))
    _unknown(name, "deploy.resources.reservations", resources.get("reservations"), frozenset({"memory"}))
    _unknown(name, "deploy.restart_policy", deploy.get("restart_policy"), frozenset({"condition", "max_attempts"}))


def _check_healthcheck(service: Service) -> None:
    health = service.get("healthcheck")
    if health:
        if not is_empty(health.get("start_interval")):
            raise UnsupportedFeature(service.name, "healthcheck.start_interval", "needs Docker Engine API 1.44; not supported yet")
        _unknown(service.name, "healthcheck", health, _HEALTH_KEYS)


def _check_volumes(project: Project, service: Service) -> None:
    name = service.name
    for mount in service.get("volumes") or ():
        kind = mount.get("type")
        if kind not in ("bind", "volume", "tmpfs"):
            raise UnsupportedFeature(name, "volumes", f"of type {kind!r} are not supported yet")
        bind = mount.get("bind") or {}
        if not is_empty(bind.get("recursive")):
            raise UnsupportedFeature(name, "volumes.bind.recursive")
        _unknown(name, "volumes.bind", bind, frozenset({"propagation", "create_host_path", "selinux"}))
        volume = mount.get("volume") or {}
        if not is_empty(volume.get("subpath")):
            raise UnsupportedFeature(name, "volumes.volume.subpath", "needs Docker Engine API 1.45; not supported yet")
        _unknown(name, "volumes.volume", volume, frozenset({"nocopy", "labels"}))
        _unknown(name, "volumes.tmpfs", mount.get("tmpfs"), frozenset({"size", "mode"}))
        if kind == "bind" and bind and bind.get("selinux") and bind_needs_mount_api(mount):
            raise UnsupportedFeature(name, "volumes.bind.selinux", "cannot be combined with create_host_path: false or propagation")
        source = mount.get("source")
        if kind == "volume" and source and source not in project.volumes:
            raise ManifestError(f"service {name}: volume {source!r} is not declared in the top-level 'volumes'")


def bind_needs_mount_api(mount: Mapping[str, Any]) -> bool:
    """Compose's rule: a bind uses the `Binds` strings unless it opts out of creating the host path or sets propagation."""
    bind = mount.get("bind")
    if bind is None:
        return False
    return not bind.get("create_host_path", False) or bool(bind.get("propagation"))


def volume_needs_mount_api(mount: Mapping[str, Any]) -> bool:
    """Compose's rule: a named volume uses `Binds` unless it has volume labels or nocopy."""
    volume = mount.get("volume") or {}
    return bool(volume.get("labels")) or bool(volume.get("nocopy"))


def _check_networks(project: Project, service: Service) -> None:
    name = service.name
    networks = service.get("networks") or {}
    for key, cfg in networks.items():
        if key not in project.networks:
            raise ManifestError(f"service {name}: network {key!r} is not declared in the top-level 'networks'")
        cfg = cfg or {}
        if not is_empty(cfg.get("interface_name")):
            raise UnsupportedFeature(name, f"networks.{key}.interface_name", "needs Docker Engine API 1.49; not supported yet")
        if cfg.get("gw_priority"):
            raise UnsupportedFeature(name, f"networks.{key}.gw_priority", "needs Docker Engine API 1.48; not supported yet")
        _unknown(name, f"networks.{key}", cfg, _SERVICE_NETWORK_KEYS | {"gw_priority"})
    with_mac = [k for k, cfg in networks.items() if cfg and cfg.get("mac_address")]
    if len(with_mac) > 1 or (with_mac and with_mac[0] != primary_network(service)):
        raise UnsupportedFeature(name, f"networks.{with_mac[-1]}.mac_address", "is only supported on the primary network (Engine API 1.41)")
    mac = service.get("mac_address")
    if mac and with_mac and networks[with_mac[0]]["mac_address"] != mac:
        raise ManifestError(f"service {name}: 'mac_address' differs from networks.{with_mac[0]}.mac_address")
    mode = service.get("network_mode")
    if mode and networks:
        raise ManifestError(f"service {name}: 'network_mode' and 'networks' cannot be combined")


def primary_network(service: Service) -> str | None:
    """The network a container is created on: highest `priority`, then the name (Compose's order)."""
    ordered = networks_by_priority(service)
    return ordered[0] if ordered else None


def networks_by_priority(service: Service) -> tuple[str, ...]:
    """The service's network keys by descending priority, ties by name."""
    networks = service.get("networks") or {}
    return tuple(sorted(networks, key=lambda k: (-int((networks[k] or {}).get("priority") or 0), k)))


def _check_devices(service: Service) -> None:
    for device in service.get("devices") or ():
        source, target = device.get("source", ""), device.get("target", "")
        if source == target and "=" in source and "/" in source.split("=", 1)[0]:
            raise UnsupportedFeature(service.name, "devices", f"CDI device {source!r} is not supported yet")


def _check_security_opt(service: Service) -> None:
    for opt in service.get("security_opt") or ():
        sep = "=" if "=" in opt else ":"
        key, _, value = opt.partition(sep)
        if key == "seccomp" and value not in ("unconfined", "builtin"):
            raise UnsupportedFeature(service.name, "security_opt", f"seccomp profile file {value!r} is not supported yet")


def check_network(project: Project, key: str) -> None:
    """Raise for a top-level network setting devenv would not honour."""
    cfg = project.networks.get(key) or {}
    for field, value in cfg.items():
        if not _extension(field) and field not in _NETWORK_KEYS and not is_empty(value):
            raise UnsupportedFeature(key, field, kind="network")
    if cfg.get("enable_ipv4") is False:
        raise UnsupportedFeature(key, "enable_ipv4", "false needs Docker Engine API 1.47; not supported yet", kind="network")
    ipam = cfg.get("ipam") or {}
    for field, value in ipam.items():
        if field not in _IPAM_KEYS and not is_empty(value):
            raise UnsupportedFeature(key, f"ipam.{field}", kind="network")
    for pool in ipam.get("config") or ():
        for field, value in pool.items():
            if field not in _IPAM_POOL_KEYS and not is_empty(value):
                raise UnsupportedFeature(key, f"ipam.config.{field}", kind="network")


def check_volume(project: Project, key: str) -> None:
    """Raise for a top-level volume setting devenv would not honour."""
    for field, value in (project.volumes.get(key) or {}).items():
        if not _extension(field) and field not in _VOLUME_KEYS and not is_empty(value):
            raise UnsupportedFeature(key, field, kind="volume")
