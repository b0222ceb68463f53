"""`devenv deploy` planned (pure): the swarm objects a manifest wants as a stack, and what to do
about the ones that exist.

The stack is named after the project, as `docker stack deploy` names it: objects are
`<project>_<key>` and carry `com.docker.stack.namespace=<project>` (so `docker stack ps/services`
see them) plus devenv's labels (`io.devenv.stack`, and on services and networks the hash of the
spec, `io.devenv.spec-hash`, that tells an unchanged one from one to update).

Secrets and configs are swarm objects whose content cannot change, so their names are content
addressed: `<project>_<key>_<12 hex>` (a secret's hex is a slow salted digest, as lock files keep
them; a config's a SHA-256). A new content is a new object, the services using it are updated
to it, and the old object goes once nothing uses it.

Compose fields fall in three sets: those translated (`SUPPORTED`), those a swarm cannot honour
but whose absence keeps the service's meaning (`IGNORED`: one warning line per service), and
everything else, refused by name (`REFUSED` says why for the known ones). Nothing is dropped
silently.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping
from typing import Any

from devenv.errors import DevenvError
from devenv.model import Project, Service, thaw
from devenv.plan import units
from devenv.plan.containerspec import _capability, _healthcheck, _ulimits
from devenv.plan.declared import secret_digest

NAMESPACE_LABEL = "com.docker.stack.namespace"
STACK_IMAGE_LABEL = "com.docker.stack.image"
STACK_LABEL = "io.devenv.stack"
SPEC_HASH_LABEL = "io.devenv.spec-hash"
MAX_NAME = 63  # swarm object names (secrets, configs, services) are refused beyond this
MAX_FILE_OBJECT = 500 * 1024  # swarm's limit on a secret's or a config's data

SUPPORTED = frozenset({
    "image", "command", "entrypoint", "environment", "working_dir", "user", "hostname", "labels",
    "tty", "stdin_open", "stop_signal", "stop_grace_period", "init", "read_only", "healthcheck",
    "extra_hosts", "dns", "dns_search", "dns_opt", "volumes", "tmpfs", "secrets", "configs",
    "cap_add", "cap_drop", "sysctls", "ulimits", "group_add", "isolation", "logging", "networks",
    "ports", "deploy", "restart", "scale",
})
# a swarm cannot do these, and the service means the same without them: one warning line each service
IGNORED = {
    "depends_on": "swarm starts services in no order",
    "build": "swarm does not build: the image must be pushed (devenv push)",
    "container_name": "swarm names the tasks' containers",
    "links": "every service is reachable by name on the stack's networks",
    "external_links": "not in swarm",
    "expose": "every port is reachable on the stack's networks",
    "pull_policy": "swarm pulls when it schedules a task",
    "domainname": "not in swarm",
    "profiles": "",
    "attach": "",
    "annotations": "not in swarm",
}
# known fields whose loss would change what the service does: refused, with the reason
REFUSED = {
    "privileged": "swarm services cannot run privileged",
    "network_mode": "swarm services join the stack's networks (no network_mode)",
    "pid": "swarm services have no pid namespace sharing",
    "ipc": "swarm services have no ipc namespace sharing",
    "uts": "not in swarm",
    "userns_mode": "not in swarm",
    "cgroup": "not in swarm",
    "cgroup_parent": "not in swarm",
    "volumes_from": "swarm tasks cannot share another service's volumes; use a named volume",
    "devices": "swarm services cannot map devices",
    "device_cgroup_rules": "not in swarm",
    "gpus": "not in swarm",
    "security_opt": "not in swarm",
    "shm_size": "not in swarm; mount a tmpfs at /dev/shm",
    "runtime": "not in swarm",
    "mac_address": "not in swarm",
    "platform": "use deploy.placement.constraints (node.platform.arch==...)",
    "storage_opt": "not in swarm",
    "blkio_config": "not in swarm",
    "oom_kill_disable": "not in swarm",
    "oom_score_adj": "not in swarm",
    "cpuset": "not in swarm",
    "cpus": "use deploy.resources.limits.cpus",
    "cpu_count": "use deploy.resources.limits.cpus",
    "cpu_percent": "use deploy.resources.limits.cpus",
    "cpu_shares": "use deploy.resources",
    "cpu_quota": "use deploy.resources.limits.cpus",
    "cpu_period": "use deploy.resources.limits.cpus",
    "cpu_rt_runtime": "not in swarm", "cpu_rt_period": "not in swarm",
    "mem_limit": "use deploy.resources.limits.memory",
    "mem_reservation": "use deploy.resources.reservations.memory",
    "memswap_limit": "not in swarm", "mem_swappiness": "not in swarm",
    "pids_limit": "use deploy.resources.limits.pids",
}
DEPLOY_KEYS = frozenset({"mode", "replicas", "resources", "restart_policy", "update_config", "rollback_config",
                         "placement", "labels", "endpoint_mode"})
_RESTART = {"none": "none", "no": "none", "on-failure": "on-failure", "any": "any", "always": "any",
            "unless-stopped": "any"}


class StackError(DevenvError):
    """What exists on the swarm forbids the change (a changed network, a missing external object)."""


@dataclasses.dataclass(frozen=True)
class FileObject:
    """A secret or a config as a swarm object. `data` is never shown."""

    kind: str  # secret | config
    key: str  # its name in the manifest
    name: str  # on the swarm
    external: bool
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    data: bytes = dataclasses.field(default=b"", repr=False)


@dataclasses.dataclass(frozen=True)
class NetworkObject:
    key: str
    name: str
    external: bool
    spec: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # Name, Driver, Attachable, Labels...

    @property
    def hash(self) -> str:
        return str((self.spec.get("Labels") or {}).get(SPEC_HASH_LABEL, ""))


@dataclasses.dataclass(frozen=True)
class ServiceObject:
    """A service's ServiceSpec as the API takes it. Secrets and configs are named
    (`SecretName`/`ConfigName`); the engine fills in their IDs."""

    key: str
    name: str
    spec: Mapping[str, Any]

    @property
    def hash(self) -> str:
        return str(self.spec["Labels"][SPEC_HASH_LABEL])

    @property
    def replicas(self) -> int | None:
        """None in global mode."""
        replicated = self.spec["Mode"].get("Replicated")
        return None if replicated is None else int(replicated["Replicas"])

    @property
    def healthchecked(self) -> bool:
        test = (self.spec["TaskTemplate"]["ContainerSpec"].get("Healthcheck") or {}).get("Test")
        return bool(test) and test != ["NONE"]


@dataclasses.dataclass(frozen=True)
class Stack:
    project: str
    networks: tuple[NetworkObject, ...]
    secrets: tuple[FileObject, ...]
    configs: tuple[FileObject, ...]
    services: tuple[ServiceObject, ...]
    warnings: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Observed:
    """A swarm object that exists: its ID, its version (services), its labels."""

    name: str
    id: str
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    version: int = 0

    @property
    def namespace(self) -> str | None:
        return self.labels.get(NAMESPACE_LABEL)


@dataclasses.dataclass(frozen=True)
class Existing:
    """What the swarm has, by name: the stack's services, and every network, secret and config
    (external ones are looked up among them)."""

    services: Mapping[str, Observed]
    networks: Mapping[str, Observed]
    secrets: Mapping[str, Observed]
    configs: Mapping[str, Observed]


@dataclasses.dataclass(frozen=True)
class Change:
    kind: str  # network | secret | config | service
    name: str
    action: str  # create | update | unchanged | remove
    reason: str = ""

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


# ------------------------------------------------------------------ names and labels


def object_name(project: str, key: str) -> str:
    return f"{project}_{key}"


def file_object_name(project: str, kind: str, key: str, data: bytes) -> str:
    """`<project>_<key>_<12 hex>`: a new name for a new content. A secret's hex comes from a slow
    salted digest (the name is public to whoever lists secrets; the value must not be guessable
    from it), a config's from SHA-256."""
    if kind == "secret":
        digest = secret_digest(data, f"swarm:{project}:{key}").rsplit(":", 1)[1]
    else:
        digest = hashlib.sha256(data).hexdigest()
    return f"{project}_{key}_{digest[:12]}"


def stack_labels(project: str, extra: Mapping[str, Any] | None = None) -> dict[str, str]:
    labels = {str(k): str(v) for k, v in (extra or {}).items()}
    labels.update({NAMESPACE_LABEL: project, STACK_LABEL: project})
    return labels


def spec_hash(spec: Mapping[str, Any]) -> str:
    """SHA-256 of the spec's canonical JSON, without the hash label itself."""
    labels = {k: v for k, v in (spec.get("Labels") or {}).items() if k != SPEC_HASH_LABEL}
    body = {**spec, "Labels": labels}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _hashed(spec: dict[str, Any]) -> dict[str, Any]:
    spec["Labels"][SPEC_HASH_LABEL] = spec_hash(spec)
    return spec


# ------------------------------------------------------------------ rendering


@dataclasses.dataclass(frozen=True)
class Host:
    """What rendering needs from outside: reading a file source (bounded, this machine), whether a
    bind source exists on the swarm's node (None: unknown, the engine is remote)."""

    read: Callable[[str], bytes]
    bind_exists: Callable[[str], bool] | None = None


def render(project: Project, host: Host) -> Stack:
    """The stack the project wants. ManifestError (file, line, field) for what a swarm cannot do."""
    warnings: list[str] = []
    used_networks: dict[str, None] = {}
    used: dict[str, dict[str, None]] = {"secrets": {}, "configs": {}}
    for service in project.services.values():
        for key in service.get("networks") or {"default": None}:
            used_networks[key] = None
        for kind in ("secrets", "configs"):
            for reference in service.get(kind) or ():
                used[kind][str(reference["source"])] = None
    networks = tuple(_network(project, key) for key in sorted(used_networks))
    secrets = tuple(_file_object(project, "secrets", key, host) for key in sorted(used["secrets"]))
    configs = tuple(_file_object(project, "configs", key, host) for key in sorted(used["configs"]))
    names = {
        ("networks", n.key): n.name for n in networks
    } | {("secrets", s.key): s.name for s in secrets} | {("configs", c.key): c.name for c in configs}
    services = []
    for key in sorted(project.services):
        spec, ignored = _service(project, project.services[key], names, host)
        services.append(ServiceObject(key=key, name=spec["Name"], spec=spec))
        if ignored:
            warnings.append(f"{key}: ignored by swarm: {'; '.join(ignored)}")
    return Stack(project.name, networks, secrets, configs, tuple(services), tuple(warnings))


def _network(project: Project, key: str) -> NetworkObject:
    config = project.networks.get(key) or {}
    name = str(config.get("name") or object_name(project.name, key))
    if config.get("external"):
        return NetworkObject(key=key, name=name, external=True)
    driver = config.get("driver") or "overlay"
    if driver != "overlay":
        raise project.field_error(("networks", key, "driver"), f"a swarm stack's networks are overlay networks, not {driver!r}")
    spec: dict[str, Any] = {
        "Name": name,
        "Driver": driver,
        "Attachable": bool(config.get("attachable", True)),  # so `docker run --network` can reach the stack to debug
        "Internal": bool(config.get("internal", False)),
        "Options": {str(k): str(v) for k, v in (config.get("driver_opts") or {}).items()},
        "Labels": stack_labels(project.name, config.get("labels")),
    }
    ipam = config.get("ipam") or {}
    if ipam:
        spec["IPAM"] = {
            "Driver": ipam.get("driver") or "default",
            "Config": [{{"subnet": "Subnet", "gateway": "Gateway", "ip_range": "IPRange"}[k]: v
                        for k, v in pool.items() if k in ("subnet", "gateway", "ip_range")}
                       for pool in ipam.get("config") or ()],
        }
    return NetworkObject(key=key, name=name, external=False, spec=_hashed(spec))


def _file_object(project: Project, kind: str, key: str, host: Host) -> FileObject:
    config = getattr(project, kind).get(key)
    singular = kind[:-1]
    if config is None:
        raise project.field_error((kind,), f"undefined {singular} {key!r}")
    if config.get("external"):
        return FileObject(kind=singular, key=key, name=str(config.get("name") or key), external=True)
    for field in ("driver", "template_driver"):
        if config.get(field):
            raise project.field_error((kind, key, field), "not supported by devenv deploy")
    if config.get("file"):
        data = host.read(str(config["file"]))
    elif config.get("environment"):
        variable = str(config["environment"])
        if variable not in project.environment:
            raise project.field_error((kind, key, "environment"), f"reads ${variable}, which is not set")
        data = project.environment[variable].encode()
    elif "content" in config:
        data = str(config["content"]).encode()
    else:
        raise project.field_error((kind, key), "needs file, environment or content")
    if len(data) > MAX_FILE_OBJECT:
        raise project.field_error((kind, key), f"is {len(data)} bytes; a swarm {singular} holds at most {MAX_FILE_OBJECT}")
    name = file_object_name(project.name, singular, key, data)
    if len(name) > MAX_NAME:
        raise project.field_error((kind, key), f"swarm name {name!r} is longer than {MAX_NAME} characters")
    return FileObject(kind=singular, key=key, name=name, external=False,
                      labels=stack_labels(project.name, config.get("labels")), data=data)


def _refuse(project: Project, service: Service, field: tuple[Any, ...], message: str) -> Exception:
    return project.field_error(("services", service.name, *field), message)


def _service(project: Project, service: Service, names: Mapping[tuple[str, str], str],
             host: Host) -> tuple[dict[str, Any], list[str]]:
    cfg = service.config
    ignored = []
    for field in sorted(cfg):
        if field in SUPPORTED or field.startswith("x-"):
            continue
        if field in IGNORED:
            if IGNORED[field] and cfg.get(field) not in (None, {}, (), ""):
                ignored.append(f"{field} ({IGNORED[field]})")
            continue
        if cfg.get(field) is None:
            continue
        raise _refuse(project, service, (field,), REFUSED.get(field, "not supported by devenv deploy"))
    image = cfg.get("image")
    if not image:
        raise _refuse(project, service, ("build",) if cfg.get("build") else (),
                      "a swarm cannot build: give the service an image: name the swarm can pull (devenv push sends it)")
    deploy = cfg.get("deploy") or {}
    for field in deploy:
        if field not in DEPLOY_KEYS and deploy[field] is not None:
            raise _refuse(project, service, ("deploy", field), "not supported by devenv deploy")
    container = _container_spec(project, service, names, host)
    template: dict[str, Any] = {
        "ContainerSpec": container,
        "Resources": _resources(project, service, deploy.get("resources") or {}),
        "RestartPolicy": _restart_policy(project, service),
        "Placement": _placement(deploy.get("placement") or {}),
        "Networks": [
            {"Target": names[("networks", key)], "Aliases": [service.name, *((options or {}).get("aliases") or ())]}
            for key, options in sorted((cfg.get("networks") or {"default": None}).items())
        ],
    }
    if cfg.get("logging"):
        logging = cfg["logging"]
        template["LogDriver"] = {"Name": logging.get("driver") or "json-file",
                                 "Options": {str(k): str(v) for k, v in (logging.get("options") or {}).items()}}
    mode = deploy.get("mode") or "replicated"
    if mode == "global":
        if deploy.get("replicas") is not None:
            raise _refuse(project, service, ("deploy", "replicas"), "replicas mean nothing in global mode")
        swarm_mode: dict[str, Any] = {"Global": {}}
    elif mode == "replicated":
        swarm_mode = {"Replicated": {"Replicas": service.scale}}
    else:
        raise _refuse(project, service, ("deploy", "mode"), f"{mode!r}: swarm modes are replicated and global")
    spec: dict[str, Any] = {
        "Name": object_name(project.name, service.name),
        "Labels": {**stack_labels(project.name, deploy.get("labels")), STACK_IMAGE_LABEL: str(image)},
        "TaskTemplate": template,
        "Mode": swarm_mode,
        "UpdateConfig": _update_config(deploy.get("update_config") or {}),
        "RollbackConfig": _update_config(deploy.get("rollback_config") or {}),
        "EndpointSpec": _endpoint(project, service, deploy.get("endpoint_mode") or "vip"),
    }
    if len(spec["Name"]) > MAX_NAME:
        raise _refuse(project, service, (), f"swarm name {spec['Name']!r} is longer than {MAX_NAME} characters")
    return _hashed(spec), ignored


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value not in (None, [], {}, ""):
        target[key] = value


def _container_spec(project: Project, service: Service, names: Mapping[tuple[str, str], str], host: Host) -> dict[str, Any]:
    cfg = service.config
    spec: dict[str, Any] = {"Image": str(cfg["image"]), "Labels": stack_labels(project.name, cfg.get("labels"))}
    _put(spec, "Command", list(cfg["entrypoint"]) if cfg.get("entrypoint") is not None else None)
    _put(spec, "Args", list(cfg["command"]) if cfg.get("command") is not None else None)
    env = cfg.get("environment") or {}
    _put(spec, "Env", [f"{k}={v}" for k, v in sorted(env.items()) if v is not None])
    _put(spec, "Dir", cfg.get("working_dir"))
    _put(spec, "User", cfg.get("user"))
    _put(spec, "Hostname", cfg.get("hostname"))
    if cfg.get("tty"):
        spec["TTY"] = True
    if cfg.get("stdin_open"):
        spec["OpenStdin"] = True
    if cfg.get("init") is not None:
        spec["Init"] = bool(cfg["init"])
    if cfg.get("read_only"):
        spec["ReadOnly"] = True
    _put(spec, "StopSignal", cfg.get("stop_signal"))
    if cfg.get("stop_grace_period") is not None:
        spec["StopGracePeriod"] = units.duration_ns(cfg["stop_grace_period"])
    _put(spec, "Healthcheck", _healthcheck(cfg.get("healthcheck")))
    _put(spec, "Hosts", [f"{entry.split('=', 1)[1]} {entry.split('=', 1)[0]}" for entry in cfg.get("extra_hosts") or ()])
    dns: dict[str, Any] = {}
    _put(dns, "Nameservers", list(cfg.get("dns") or ()))
    _put(dns, "Search", list(cfg.get("dns_search") or ()))
    _put(dns, "Options", list(cfg.get("dns_opt") or ()))
    _put(spec, "DNSConfig", dns)
    _put(spec, "CapabilityAdd", [_capability(c) for c in cfg.get("cap_add") or ()])
    _put(spec, "CapabilityDrop", [_capability(c) for c in cfg.get("cap_drop") or ()])
    _put(spec, "Sysctls", {str(k): str(v) for k, v in (cfg.get("sysctls") or {}).items()})
    _put(spec, "Ulimits", _ulimits(cfg.get("ulimits")))
    _put(spec, "Groups", [str(g) for g in cfg.get("group_add") or ()])
    _put(spec, "Isolation", cfg.get("isolation"))
    _put(spec, "Mounts", _mounts(project, service, host))
    for kind, id_key, name_key in (("secrets", "SecretID", "SecretName"), ("configs", "ConfigID", "ConfigName")):
        refs = []
        for reference in cfg.get(kind) or ():
            source = str(reference["source"])
            target = str(reference.get("target") or "")
            if kind == "secrets":
                target = target[len("/run/secrets/"):] if target.startswith("/run/secrets/") else target or source
            else:
                target = target or f"/{source}"
            mode = reference.get("mode")
            refs.append({
                "File": {"Name": target, "UID": str(reference.get("uid") or "0"), "GID": str(reference.get("gid") or "0"),
                         "Mode": 0o444 if mode is None else int(str(mode), 8) if isinstance(mode, str) else int(mode)},
                id_key: "", name_key: names[(kind, source)],
            })
        _put(spec, kind.capitalize(), sorted(refs, key=lambda r: (r[name_key], r["File"]["Name"])))
    return spec


def _mounts(project: Project, service: Service, host: Host) -> list[dict[str, Any]]:
    mounts = []
    for index, volume in enumerate(service.get("volumes") or ()):
        kind = volume.get("type")
        mount: dict[str, Any] = {"Type": kind, "Target": str(volume["target"])}
        if volume.get("read_only"):
            mount["ReadOnly"] = True
        if kind == "volume":
            source = volume.get("source")
            if source:
                config = project.volumes.get(source) or {}
                mount["Source"] = str(config.get("name") or object_name(project.name, source))
                options: dict[str, Any] = {"Labels": stack_labels(project.name, config.get("labels"))}
                if (volume.get("volume") or {}).get("nocopy"):
                    options["NoCopy"] = True
                if config.get("driver") and not config.get("external"):
                    options["DriverConfig"] = {"Name": config["driver"],
                                               "Options": {str(k): str(v) for k, v in (config.get("driver_opts") or {}).items()}}
                mount["VolumeOptions"] = options
        elif kind == "bind":
            source = str(volume["source"])
            if host.bind_exists is None:
                raise _refuse(project, service, ("volumes", index),
                              f"bind mount of {source}: the swarm's nodes do not have this machine's files "
                              "(use a named volume, or a config or secret for a file)")
            if not host.bind_exists(source):
                raise _refuse(project, service, ("volumes", index), f"bind mount source {source} does not exist on the swarm's node")
            mount["Source"] = source
            propagation = (volume.get("bind") or {}).get("propagation")
            if propagation:
                mount["BindOptions"] = {"Propagation": propagation}
        elif kind == "tmpfs":
            size = (volume.get("tmpfs") or {}).get("size")
            if size is not None:
                mount["TmpfsOptions"] = {"SizeBytes": units.byte_size(size)}
        else:
            raise _refuse(project, service, ("volumes", index), f"{kind} mounts are not supported by devenv deploy")
        mounts.append(mount)
    for path in service.get("tmpfs") or ():
        where, _, tmpfs_options = str(path).partition(":")
        if tmpfs_options:
            raise _refuse(project, service, ("tmpfs",), f"{path}: tmpfs options are not supported by swarm; use a tmpfs volume with size")
        mounts.append({"Type": "tmpfs", "Target": where})
    return mounts


def _nano_cpus(value: Any) -> int:
    return int(round(float(value) * 1e9))


def _resources(project: Project, service: Service, resources: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for part, field in (("limits", "Limits"), ("reservations", "Reservations")):
        given = resources.get(part) or {}
        body: dict[str, Any] = {}
        for key, value in given.items():
            if value is None:
                continue
            if key == "cpus":
                body["NanoCPUs"] = _nano_cpus(value)
            elif key == "memory":
                body["MemoryBytes"] = units.byte_size(value)
            elif key == "pids" and part == "limits":
                body["Pids"] = int(value)
            else:
                raise _refuse(project, service, ("deploy", "resources", part, key), "not supported by devenv deploy")
        _put(out, field, body)
    return out


def _restart_policy(project: Project, service: Service) -> dict[str, Any]:
    """deploy.restart_policy; else the service's `restart:` (no, always, on-failure[:N],
    unless-stopped) in swarm's terms; else swarm's default, `any`."""
    policy = (service.get("deploy") or {}).get("restart_policy")
    if policy is None:
        restart = service.get("restart")
        if not restart:
            return {"Condition": "any"}
        name, _, count = str(restart).partition(":")
        out: dict[str, Any] = {"Condition": _RESTART[name]}
        if count:
            out["MaxAttempts"] = int(count)
        return out
    condition = policy.get("condition") or "any"
    if condition not in _RESTART:
        raise _refuse(project, service, ("deploy", "restart_policy", "condition"), f"{condition!r}: none, on-failure or any")
    out = {"Condition": _RESTART[condition]}
    if policy.get("delay") is not None:
        out["Delay"] = units.duration_ns(policy["delay"])
    if policy.get("max_attempts") is not None:
        out["MaxAttempts"] = int(policy["max_attempts"])
    if policy.get("window") is not None:
        out["Window"] = units.duration_ns(policy["window"])
    return out


def _placement(placement: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    _put(out, "Constraints", [str(c) for c in placement.get("constraints") or ()])
    _put(out, "Preferences", [{"Spread": {"SpreadDescriptor": str(p["spread"])}} for p in placement.get("preferences") or ()])
    if placement.get("max_replicas_per_node") is not None:
        out["MaxReplicas"] = int(placement["max_replicas_per_node"])
    return out


def _update_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Swarm's defaults (as `docker stack deploy` sends them) with what the manifest says."""
    out: dict[str, Any] = {"Parallelism": 1, "FailureAction": "pause", "Monitor": 5 * 10**9,
                           "MaxFailureRatio": 0, "Order": "stop-first"}
    if config.get("parallelism") is not None:
        out["Parallelism"] = int(config["parallelism"])
    for key, field in (("delay", "Delay"), ("monitor", "Monitor")):
        if config.get(key) is not None:
            out[field] = units.duration_ns(config[key])
    if config.get("failure_action"):
        out["FailureAction"] = str(config["failure_action"])
    if config.get("max_failure_ratio") is not None:
        out["MaxFailureRatio"] = float(config["max_failure_ratio"])
    if config.get("order"):
        out["Order"] = str(config["order"])
    return out


def _endpoint(project: Project, service: Service, mode: str) -> dict[str, Any]:
    ports = []
    for index, port in enumerate(service.get("ports") or ()):
        if port.get("host_ip"):
            raise _refuse(project, service, ("ports", index),
                          f"host address {port['host_ip']}: a swarm publishes on every node's every interface")
        published = port.get("published")
        body: dict[str, Any] = {"Protocol": port.get("protocol") or "tcp", "TargetPort": int(port["target"]),
                                "PublishMode": port.get("mode") or "ingress"}
        if published not in (None, ""):
            if not str(published).isdigit():
                raise _refuse(project, service, ("ports", index), f"published range {published}: swarm publishes one port per target")
            body["PublishedPort"] = int(published)
        ports.append(body)
    if mode not in ("vip", "dnsrr"):
        raise _refuse(project, service, ("deploy", "endpoint_mode"), f"{mode!r}: vip or dnsrr")
    out: dict[str, Any] = {"Mode": mode}
    _put(out, "Ports", ports)
    return out


# ------------------------------------------------------------------ what to change


def plan(stack: Stack, existing: Existing) -> tuple[Change, ...]:
    """The changes, in the order to make them: networks, secrets and configs to create; services
    to create or update (an unchanged spec hash: no call); then what the stack no longer has:
    its services, then its secrets, configs and networks. StackError before anything changes when
    an external object is missing or a network devenv made changed (a swarm cannot update one; a
    network without devenv's hash, made by `docker stack deploy`, is taken as it is)."""
    changes: list[Change] = []
    for network in stack.networks:
        found = existing.networks.get(network.name)
        if network.external:
            if found is None:
                raise StackError(f"external network {network.name} (networks.{network.key}) does not exist on the swarm")
        elif found is None:
            changes.append(Change("network", network.name, "create"))
        elif found.labels.get(SPEC_HASH_LABEL, network.hash) != network.hash:  # docker stack deploy's: no hash, kept
            raise StackError(f"network {network.name} exists with another configuration and a swarm cannot update a "
                             f"network: remove the stack first (devenv deploy --rm)")
        else:
            changes.append(Change("network", network.name, "unchanged"))
    for kind, objects, observed in (("secret", stack.secrets, existing.secrets), ("config", stack.configs, existing.configs)):
        for obj in objects:
            if obj.name in observed:
                changes.append(Change(kind, obj.name, "unchanged"))
            elif obj.external:
                raise StackError(f"external {kind} {obj.name} ({kind}s.{obj.key}) does not exist on the swarm")
            else:
                changes.append(Change(kind, obj.name, "create"))
    for service in stack.services:
        found = existing.services.get(service.name)
        if found is None:
            changes.append(Change("service", service.name, "create"))
        elif found.labels.get(SPEC_HASH_LABEL) == service.hash:
            changes.append(Change("service", service.name, "unchanged"))
        else:
            changes.append(Change("service", service.name, "update", "spec changed"))
    wanted = {s.name for s in stack.services}
    for name in sorted(existing.services):
        if name not in wanted and existing.services[name].namespace == stack.project:
            changes.append(Change("service", name, "remove", "no longer in the manifest"))
    keep = {"secret": {s.name for s in stack.secrets}, "config": {c.name for c in stack.configs},
            "network": {n.name for n in stack.networks}}
    for kind, observed in (("secret", existing.secrets), ("config", existing.configs), ("network", existing.networks)):
        for name in sorted(observed):
            if observed[name].namespace == stack.project and name not in keep[kind]:
                changes.append(Change(kind, name, "remove", "no longer used"))
    return tuple(changes)


def removal(project: str, existing: Existing) -> tuple[Change, ...]:
    """`deploy --rm`: every object of the stack, services first (never volumes)."""
    changes = []
    for kind, observed in (("service", existing.services), ("secret", existing.secrets),
                           ("config", existing.configs), ("network", existing.networks)):
        changes += [Change(kind, name, "remove") for name in sorted(observed) if observed[name].namespace == project]
    return tuple(changes)


def with_ids(spec: Mapping[str, Any], secret_ids: Mapping[str, str], config_ids: Mapping[str, str]) -> dict[str, Any]:
    """The spec with its secrets' and configs' IDs filled in (the API wants them)."""
    out = thaw(spec)
    container = out["TaskTemplate"]["ContainerSpec"]
    for ref in container.get("Secrets") or ():
        ref["SecretID"] = secret_ids[ref["SecretName"]]
    for ref in container.get("Configs") or ():
        ref["ConfigID"] = config_ids[ref["ConfigName"]]
    return out



# ------------------------------------------------------------------ convergence

FAILED_STATES = frozenset({"failed", "rejected", "orphaned"})
UPDATE_FAILED = frozenset({"paused", "rollback_started", "rollback_paused", "rollback_completed"})


@dataclasses.dataclass(frozen=True)
class Task:
    """A swarm task, as `deploy` follows it."""

    id: str
    service: str  # the service's swarm name
    slot: int | None  # None in global mode
    node: str  # the node's hostname (its ID when unknown)
    desired: str  # running | shutdown | ...
    state: str  # new, pending, assigned, preparing, starting, running, complete, failed, rejected...
    error: str = ""
    since: float | None = None  # when it entered its state (the engine's clock, seconds since the epoch)

    @property
    def name(self) -> str:
        """As `docker service ps` names it: `<service>.<slot>`, or `<service>.<node>` in global mode."""
        return f"{self.service}.{self.slot if self.slot is not None else self.node}"

    def failure_line(self) -> str:
        what = self.error or self.state
        return f"{self.service}: task {self.name} ({self.id[:12]}) on node {self.node or '-'}: {self.state}: {what}"


@dataclasses.dataclass(frozen=True)
class Convergence:
    done: bool
    running: int
    wanted: int | None  # None: global mode (one per eligible node)
    failed: str = ""  # why the service will not converge (its update paused or rolled back)


def convergence(service: ServiceObject, tasks: list[Task] | tuple[Task, ...], update_state: str | None,
                update_message: str = "") -> Convergence:
    """Whether `service` has converged: as many tasks running as wanted (a healthchecked task is
    `running` only once healthy), none still on its way, and its last update completed."""
    live = [t for t in tasks if t.desired == "running"]
    running = sum(1 for t in live if t.state == "running")
    wanted = service.replicas
    if update_state in UPDATE_FAILED:
        return Convergence(False, running, wanted, f"update {update_state.replace('_', ' ')}: {update_message}".rstrip(": "))
    settled = update_state in (None, "", "completed")
    enough = running == wanted if wanted is not None else running >= 1
    return Convergence(settled and enough and running == len(live), running, wanted)


def engine_time(value: str | None) -> float | None:
    """An engine timestamp (`2026-12-02T13:21:07.140615135Z`, RFC 3339 with nanoseconds) in
    seconds since the epoch; None when absent or unreadable."""
    import datetime as dt
    import re

    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value or "")
    if not match:
        return None
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    whole = dt.datetime.fromisoformat(match.group(1) + zone).timestamp()
    return whole + float(f"0.{match.group(2) or 0}")
