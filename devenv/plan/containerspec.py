"""The exact Engine API body of `POST /containers/create` (API 1.41) for one container of a service.

API 1.41 attaches a container to one network at create: the others are returned as
`NetworkAttachment`s, each the body of one `POST /networks/{name}/connect` made before start.
The mapping follows Compose v2.40.3 (pkg/compose/create.go) field by field; where it deviates
the docstring of the helper says so. Everything here is pure: no Docker, no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from devenv.errors import ManifestError
from devenv.model import Project, Service, freeze, thaw
from devenv.plan import composehash, confighash, fileobjects, naming, shipping, units
from devenv.plan.options import DEFAULT_PUBLISH_HOST
from devenv.plan.support import bind_needs_mount_api, check_service, networks_by_priority, volume_needs_mount_api

ALL_INTERFACES = "0.0.0.0"  # as `publish_host`: bind every interface, as Compose does

_RESTART_CONDITIONS = {
    "none": "no", "no": "no", "any": "always", "always": "always", "on-failure": "on-failure", "unless-stopped": "unless-stopped",
}


@dataclasses.dataclass(frozen=True)
class NetworkAttachment:
    """An extra network to connect the container to after create (`POST /networks/{network}/connect`)."""

    key: str  # the network's key in the project
    network: str  # its engine name
    endpoint: Mapping[str, Any]  # EndpointSettings

    def connect_body(self, container: str) -> dict[str, Any]:
        return {"Container": container, "EndpointConfig": thaw(self.endpoint)}

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "network": self.network, "endpoint": thaw(self.endpoint)}


@dataclasses.dataclass(frozen=True)
class ContainerSpec:
    """One container as devenv wants it: create body, extra networks, and its configuration digests."""

    name: str
    service: str
    number: int | None  # None for a one-off (`run`) container
    image: str  # the reference the body names
    image_id: str | None  # None while the image is still to be pulled or built: see `with_image_id`
    platform: str | None  # the `platform` query parameter of the create call
    body: Mapping[str, Any]  # frozen; `create_body()` gives plain JSON data
    connect: tuple[NetworkAttachment, ...]
    field_hashes: Mapping[str, str]  # full sha256 per hashed field, image_id included (devenv's own)
    config_hash: str  # Compose's `com.docker.compose.config-hash` (composehash.service_hash)
    files: tuple[fileobjects.InjectedFile, ...] = ()  # secrets/configs copied in before the first start
    # The Compose hash names the first container of some other services by ID (volumes_from,
    # `service:` namespaces): (service, container name) pairs still to resolve when the container
    # is created, and the service definition to hash then. Empty when the hash is final.
    hash_refs: tuple[tuple[str, str], ...] = ()
    hash_config: Mapping[str, Any] | None = None

    @property
    def config_digest(self) -> str:
        """The short per-field digests, as stored in the `io.devenv.config-digest` label."""
        return confighash.digest_label(self.field_hashes)

    @property
    def labels(self) -> Mapping[str, str]:
        return self.body["Labels"]

    def create_body(self) -> dict[str, Any]:
        return thaw(self.body)

    def with_image_id(self, image_id: str) -> ContainerSpec:
        """The same spec for a known image ID (after a pull or build): labels follow."""
        hashes = confighash.with_image({k: v for k, v in self.field_hashes.items() if k != "image_id"}, image_id)
        labels = dict(self.body["Labels"])
        labels[naming.CONFIG_DIGEST_LABEL] = confighash.digest_label(hashes)
        labels[naming.IMAGE_LABEL] = image_id
        body = dict(self.body)
        body["Labels"] = labels
        return dataclasses.replace(self, image_id=image_id, body=freeze(body), field_hashes=MappingProxyType(hashes))

    def with_references(self, ids: Mapping[str, str]) -> ContainerSpec:
        """The same spec with the Compose hash computed from the referenced containers' IDs
        (service -> container ID), as Compose computes it when it creates the container."""
        if not self.hash_refs or self.hash_config is None:
            return self
        digest = composehash.service_hash(self.hash_config, ids)
        labels = dict(self.body["Labels"])
        labels[naming.CONFIG_HASH_LABEL] = digest
        body = dict(self.body)
        body["Labels"] = labels
        return dataclasses.replace(self, body=freeze(body), config_hash=digest, hash_refs=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "number": self.number,
            "image": self.image,
            "image_id": self.image_id,
            "platform": self.platform,
            "body": thaw(self.body),
            "connect": [a.to_dict() for a in self.connect],
            "files": [f.to_dict() for f in self.files],
            "config_hash": self.config_hash,
        }


def find_service(project: Project, name: str) -> Service:
    """A service of the project, enabled or disabled by its profiles."""
    service = project.services.get(name) or project.disabled_services.get(name)
    if service is None:
        raise ManifestError(f"no such service: {name}")
    return service


def container_spec(
    project: Project,
    service: Service | str,
    number: int | None,
    *,
    image_id: str | None,
    publish_host: str = DEFAULT_PUBLISH_HOST,
    scales: Mapping[str, int] | None = None,
    slug: str | None = None,
    replace: str | None = None,
    env_files: Iterable[str] = (),
    inherit_volumes: Mapping[str, str] | None = None,
    use_aliases: bool = True,
    version: str = naming.COMPOSE_VERSION,
    references: Mapping[str, str] | None = None,
    shipped: Mapping[str, shipping.Shipped] | None = None,
) -> ContainerSpec:
    """The create body of container `number` of `service`.

    `image_id`: the local image's ID (None while it is to be pulled or built). `publish_host`: the
    host IP of published ports that name none. `scales`: replicas per service when `up --scale`
    overrides the model (links name every container of the linked service). `slug`: makes a one-off
    (`run`) container. `replace`: `{service}-{n}` of the container this one replaces. `env_files`: the
    `--env-file` paths (label). `inherit_volumes`: target -> volume name of a replaced container's
    anonymous volumes, reused so that recreating keeps their data (as Compose does).
    `references`: service -> ID of its first container, for the services this one names
    (volumes_from, `service:` namespaces); those not given are resolved when the container is
    created (`hash_refs`). `shipped`: local path -> its copy on a remote engine (plan/shipping.py),
    mounted instead of the bind.
    """
    if isinstance(service, str):
        service = find_service(project, service)
    check_service(project, service)
    oneoff = slug is not None
    if slug is not None:
        name = service.get("container_name") or naming.oneoff_container_name(project.name, service.name, slug)
    else:
        if number is None or number < 1:
            raise ValueError(f"container number must be >= 1, not {number!r}")
        name = naming.container_name(project.name, service, number)
    scales = dict(scales or {})
    image = naming.image_name(project.name, service)
    cfg = service.config

    config: dict[str, Any] = {}
    _put(config, "Hostname", cfg.get("hostname"))
    _put(config, "Domainname", cfg.get("domainname"))
    _put(config, "User", cfg.get("user"))
    config["AttachStdout"] = True
    config["AttachStderr"] = True
    exposed = _exposed_ports(service)
    if exposed:
        config["ExposedPorts"] = {p: {} for p in exposed}
    if cfg.get("tty"):
        config["Tty"] = True
    if cfg.get("stdin_open"):
        config["OpenStdin"] = True
    env = _env(cfg.get("environment"))
    if env:
        config["Env"] = env
    if cfg.get("command") is not None:
        config["Cmd"] = list(cfg["command"])
    health = _healthcheck(cfg.get("healthcheck"))
    if health is not None:
        config["Healthcheck"] = health
    config["Image"] = image
    _put(config, "WorkingDir", cfg.get("working_dir"))
    if cfg.get("entrypoint") is not None:
        config["Entrypoint"] = list(cfg["entrypoint"])
    if cfg.get("network_mode") == "disabled":
        config["NetworkDisabled"] = True
    mac = cfg.get("mac_address") or _primary_mac(service)
    _put(config, "MacAddress", mac)
    _put(config, "StopSignal", cfg.get("stop_signal"))
    if cfg.get("stop_grace_period") is not None:
        config["StopTimeout"] = units.duration_seconds(cfg["stop_grace_period"])

    links = _links(project, service, scales)
    shipped = dict(shipped or {})
    host = _host_config(project, service, publish_host, links, dict(inherit_volumes or {}), oneoff, shipped)
    config["HostConfig"] = host
    networking, connect = _networking(project, service, name, links, use_aliases)
    if networking is not None:
        config["NetworkingConfig"] = networking

    files = fileobjects.injected_files(project, service)
    hashes = confighash.field_hashes(service, publish_host=publish_host)
    sources = [
        dict(getattr(project, kind).get(str(ref.get("source"))) or {}) for kind in ("secrets", "configs") for ref in cfg.get(kind) or ()
    ]
    if sources:  # a changed file path or content recreates the container (contents only as digests)
        definitions = [{k: v for k, v in d.items() if k != "content"} for d in sources]
        hashes["file_objects"] = confighash.digest_of([*definitions, fileobjects.digests(files)])
    used = [(target, shipped[source]) for source, target in shipping.targets(project, service) if source in shipped]
    if used:  # where the copies are, and a shipped file's content (a bound file is replaced, not edited)
        hashes["shipped"] = confighash.digest_of(shipping.hash_field(used))
    hashes = confighash.with_image(hashes, image_id)
    known = dict(references or {})
    pending = tuple(
        (ref, naming.container_name(project.name, find_service(project, ref), 1))
        for ref in composehash.references(cfg) if ref not in known
    )
    digest = composehash.service_hash(service, known)
    config["Labels"] = naming.container_labels(
        project,
        service,
        None if oneoff else number,
        config_hash=digest,
        config_digest=confighash.digest_label(hashes),
        image_id=image_id,
        oneoff=oneoff,
        slug=slug,
        replace=replace,
        env_files=env_files,
        version=version,
    )
    return ContainerSpec(
        name=name,
        service=service.name,
        number=None if oneoff else number,
        image=image,
        image_id=image_id,
        platform=cfg.get("platform"),
        body=freeze(config),
        connect=tuple(connect),
        field_hashes=MappingProxyType(hashes),
        config_hash=digest,
        files=files,
        hash_refs=pending,
        hash_config=cfg if pending else None,
    )


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        target[key] = value


def _env(environment: Mapping[str, Any] | None) -> list[str]:
    """`KEY=value`; a variable without value (`null`) is passed as `KEY`, as Compose does."""
    out = []
    for key, value in (environment or {}).items():
        out.append(str(key) if value is None else f"{key}={_str(value)}")
    return out


def _str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _exposed_ports(service: Service) -> list[str]:
    """`expose` entries (ranges expanded, `/tcp` added: Compose passes them raw) then port targets."""
    ports: dict[str, None] = {}
    for entry in service.get("expose") or ():
        text = str(entry)
        number, _, proto = text.partition("/")
        lo, _, hi = number.partition("-")
        for port in range(int(lo), int(hi or lo) + 1):
            ports[f"{port}/{proto or 'tcp'}"] = None
    for port in service.get("ports") or ():
        ports[f"{port['target']}/{port.get('protocol') or 'tcp'}"] = None
    return list(ports)


def _port_bindings(service: Service, publish_host: str) -> dict[str, list[dict[str, str]]]:
    """Each published port; no `host_ip` means devenv's `publish_host` (Compose: all interfaces).

    A `publish_host` of 0.0.0.0 (every interface) is sent as Compose sends it, no host IP: the engine
    then binds IPv6 (`::`) too, where an explicit 0.0.0.0 binds IPv4 only.
    """
    if publish_host == ALL_INTERFACES:
        publish_host = ""
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in service.get("ports") or ():
        key = f"{port['target']}/{port.get('protocol') or 'tcp'}"
        host_ip = port.get("host_ip")
        published = port.get("published")
        bindings.setdefault(key, []).append(
            {"HostIp": publish_host if host_ip is None else str(host_ip), "HostPort": "" if published is None else str(published)}
        )
    return bindings


def _healthcheck(health: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Durations in nanoseconds; zero/unset fields are left out (the engine then keeps the image's)."""
    if not health:
        return None
    if health.get("disable"):
        return {"Test": ["NONE"]}
    out: dict[str, Any] = {}
    test = health.get("test")
    if isinstance(test, str):
        test = ["CMD-SHELL", test]
    if test:
        out["Test"] = list(test)
    for key, field in (("interval", "Interval"), ("timeout", "Timeout"), ("start_period", "StartPeriod")):
        if health.get(key) is not None:
            ns = units.duration_ns(health[key])
            if ns:
                out[field] = ns
    if health.get("retries") is not None and int(health["retries"]):
        out["Retries"] = int(health["retries"])
    return out or None


def _primary_mac(service: Service) -> str | None:
    ordered = networks_by_priority(service)
    if not ordered:
        return None
    return ((service.get("networks") or {}).get(ordered[0]) or {}).get("mac_address")


def _restart_policy(service: Service, oneoff: bool) -> dict[str, Any] | None:
    """`restart`, overridden by `deploy.restart_policy` (as Compose); none for a one-off container."""
    if oneoff:
        return None
    policy = None
    restart = service.get("restart")
    if restart:
        name, _, count = str(restart).partition(":")
        policy = {"Name": _RESTART_CONDITIONS.get(name, name), "MaximumRetryCount": int(count or 0)}
    deploy_policy = (service.get("deploy") or {}).get("restart_policy")
    if deploy_policy:
        # No condition: Compose sends an empty policy name (no restart), though the spec's default is
        # `any`; `always` would anyway refuse the max_attempts that usually comes with it.
        condition = deploy_policy.get("condition")
        name = _RESTART_CONDITIONS.get(condition, condition) if condition else ""
        policy = {"Name": name, "MaximumRetryCount": int(deploy_policy.get("max_attempts") or 0)}
    return policy


def _namespace(project: Project, mode: str | None) -> str | None:
    """`service:x` becomes `container:<x's first container>`; other modes pass through."""
    if not mode:
        return None
    if mode.startswith("service:"):
        target = find_service(project, mode.split(":", 1)[1])
        return "container:" + naming.container_name(project.name, target, 1)
    return mode


def _links(project: Project, service: Service, scales: Mapping[str, int]) -> list[str]:
    """`container:alias` for every container of each linked service, like Compose v1/v2.

    Compose v2 names the second and third aliases after the *linking* container's number (a slip of
    its port from v1); devenv uses the linked container's own, as v1 did.
    """
    links: list[str] = []
    for raw in service.get("links") or ():
        target_name, _, alias = str(raw).partition(":")
        target = find_service(project, target_name)
        count = scales.get(target_name, target.scale)
        for n in range(1, count + 1):
            cname = naming.container_name(project.name, target, n)
            for a in (alias or target_name, f"{target_name}-{n}", f"{project.name}-{target_name}-{n}"):
                entry = f"{cname}:{a}"
                if entry not in links:
                    links.append(entry)
    for raw in service.get("external_links") or ():
        target_name, _, alias = str(raw).partition(":")
        links.append(f"{target_name}:{alias or target_name}")
    return links


def _volumes_from(project: Project, service: Service) -> list[str]:
    """Service sources become their first container's name; the `:ro`/`:rw` mode is kept (Compose drops it)."""
    out = []
    for entry in service.get("volumes_from") or ():
        entry = str(entry)
        if entry.startswith("container:"):
            out.append(entry[len("container:"):])
            continue
        source, sep, mode = entry.partition(":")
        out.append(naming.container_name(project.name, find_service(project, source), 1) + (f":{mode}" if sep else ""))
    return out


def _bind_string(source: str, mount: Mapping[str, Any]) -> str:
    options = ["ro" if mount.get("read_only") else "rw"]
    bind = mount.get("bind") or {}
    if bind.get("selinux"):
        options.append(bind["selinux"])
    if bind.get("propagation"):
        options.append(bind["propagation"])
    if (mount.get("volume") or {}).get("nocopy"):
        options.append("nocopy")
    return f"{source}:{mount['target']}:{','.join(options)}"


def _mounts(
    project: Project, service: Service, inherit: dict[str, str], shipped: Mapping[str, shipping.Shipped]
) -> tuple[list[str], list[dict[str, Any]]]:
    """Compose's split: plain binds and named volumes as `Binds` strings (a bind then creates a missing
    host path), anything needing options the strings lack (tmpfs, anonymous volumes, nocopy,
    propagation, create_host_path: false) as `Mounts`."""
    binds: list[str] = []
    mounts: list[dict[str, Any]] = []
    declared = set()
    for mount in service.get("volumes") or ():
        kind, target = mount["type"], mount["target"]
        declared.add(target)
        read_only = bool(mount.get("read_only"))
        entry: dict[str, Any] = {"Type": kind}
        if kind == "bind":
            source = str(mount["source"])
            if source in shipped:  # a copy on the remote engine
                copy = shipped[source]
                if copy.is_dir:
                    mounts.append(shipping.folder_mount(copy, target, read_only))
                else:
                    binds.append(shipping.file_bind(copy, target, read_only))
                continue
            if not bind_needs_mount_api(mount):
                binds.append(_bind_string(source, mount))
                continue
            entry["Source"] = source
            propagation = (mount.get("bind") or {}).get("propagation")
            if propagation:
                entry["BindOptions"] = {"Propagation": propagation}
        elif kind == "volume":
            source = mount.get("source")
            if source:
                engine_name = naming.volume_name(project.name, source, project.volumes.get(source))
                if not volume_needs_mount_api(mount):
                    binds.append(_bind_string(engine_name, mount))
                    continue
                entry["Source"] = engine_name
            elif target in inherit:
                entry["Source"] = inherit[target]
            options = mount.get("volume") or {}
            volume_options: dict[str, Any] = {}
            if options.get("nocopy"):
                volume_options["NoCopy"] = True
            if options.get("labels"):
                volume_options["Labels"] = {k: str(v) for k, v in options["labels"].items()}
            if volume_options:
                entry["VolumeOptions"] = volume_options
        else:  # tmpfs
            tmpfs = mount.get("tmpfs") or {}
            tmpfs_options: dict[str, Any] = {}
            if tmpfs.get("size") is not None:
                tmpfs_options["SizeBytes"] = units.byte_size(tmpfs["size"])
            if tmpfs.get("mode") is not None:
                tmpfs_options["Mode"] = int(tmpfs["mode"])
            if tmpfs_options:
                entry["TmpfsOptions"] = tmpfs_options
        entry["Target"] = target
        if read_only:
            entry["ReadOnly"] = True
        if mount.get("consistency"):
            entry["Consistency"] = mount["consistency"]
        mounts.append(entry)
    for target in sorted(set(inherit) - declared):  # the image's own VOLUMEs of the replaced container
        mounts.append({"Type": "volume", "Source": inherit[target], "Target": target})
    return binds, mounts


def _capability(name: Any) -> str:
    """`net_admin` -> `CAP_NET_ADMIN` (what Compose sends); `ALL` stays."""
    text = str(name).upper()
    return text if text == "ALL" or text.startswith("CAP_") else "CAP_" + text


def _ulimits(ulimits: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Sorted by name; `{}` is how the canonical form prints a single limit of 0."""
    out = []
    limits = ulimits or {}
    for name in sorted(limits):
        value = limits[name]
        if isinstance(value, Mapping):
            single = value.get("single", 0)
            soft, hard = value.get("soft", single), value.get("hard", single)
        else:
            soft = hard = value
        out.append({"Name": name, "Soft": int(soft), "Hard": int(hard)})
    return out


def _resources(service: Service, host: dict[str, Any]) -> None:
    cfg = service.config
    deploy = cfg.get("deploy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    reservations = (deploy.get("resources") or {}).get("reservations") or {}
    memory = limits.get("memory", cfg.get("mem_limit"))
    if memory is not None and units.byte_size(memory):
        host["Memory"] = units.byte_size(memory)
    reservation = reservations.get("memory", cfg.get("mem_reservation"))
    if reservation is not None and units.byte_size(reservation):
        host["MemoryReservation"] = units.byte_size(reservation)
    if cfg.get("memswap_limit") is not None:
        host["MemorySwap"] = units.byte_size(cfg["memswap_limit"])
    if cfg.get("mem_swappiness") is not None:
        host["MemorySwappiness"] = units.integer(cfg["mem_swappiness"])
    cpus = limits.get("cpus", cfg.get("cpus"))
    if cpus is not None and units.nano_cpus(cpus):
        host["NanoCpus"] = units.nano_cpus(cpus)
    for key, field in (
        ("cpu_shares", "CpuShares"),
        ("cpu_period", "CpuPeriod"),
        ("cpu_quota", "CpuQuota"),
        ("cpu_rt_period", "CpuRealtimePeriod"),
        ("cpu_rt_runtime", "CpuRealtimeRuntime"),
    ):
        if cfg.get(key) is not None:
            host[field] = units.integer(cfg[key])
    _put(host, "CpusetCpus", cfg.get("cpuset"))
    pids = limits.get("pids", cfg.get("pids_limit"))
    if pids is not None and units.integer(pids):
        host["PidsLimit"] = units.integer(pids)
    devices = [
        {"PathOnHost": d["source"], "PathInContainer": d.get("target") or d["source"], "CgroupPermissions": d.get("permissions") or "rwm"}
        for d in cfg.get("devices") or ()
    ]
    if devices:
        host["Devices"] = devices
    if cfg.get("device_cgroup_rules"):
        host["DeviceCgroupRules"] = list(cfg["device_cgroup_rules"])
    ulimits = _ulimits(cfg.get("ulimits"))
    if ulimits:
        host["Ulimits"] = ulimits
    if cfg.get("oom_kill_disable") is not None:
        host["OomKillDisable"] = bool(cfg["oom_kill_disable"])


def _host_config(
    project: Project, service: Service, publish_host: str, links: list[str], inherit: dict[str, str], oneoff: bool,
    shipped: Mapping[str, shipping.Shipped],
) -> dict[str, Any]:
    cfg = service.config
    host: dict[str, Any] = {}
    binds, mounts = _mounts(project, service, inherit, shipped)
    for source, target in fileobjects.file_sources(project, service):  # read-only, as Compose binds them
        copy = shipped.get(source)
        if copy is None:
            binds.append(f"{source}:{target}:ro")
        elif copy.is_dir:
            mounts.append(shipping.folder_mount(copy, target, True))
        else:
            binds.append(shipping.file_bind(copy, target, True))
    if binds:
        host["Binds"] = binds
    if mounts:
        host["Mounts"] = mounts
    tmpfs = {}
    for entry in cfg.get("tmpfs") or ():
        path, _, options = str(entry).partition(":")
        tmpfs[path] = options
    if tmpfs:
        host["Tmpfs"] = tmpfs
    bindings = _port_bindings(service, publish_host)
    if bindings:
        host["PortBindings"] = bindings
    restart = _restart_policy(service, oneoff)
    if restart:
        host["RestartPolicy"] = restart
    for key, field in (("cap_add", "CapAdd"), ("cap_drop", "CapDrop")):
        if cfg.get(key):
            host[field] = [_capability(c) for c in cfg[key]]
    for key, field in (
        ("dns", "Dns"),
        ("dns_search", "DnsSearch"),
        ("dns_opt", "DnsOptions"),
        ("group_add", "GroupAdd"),
    ):
        if cfg.get(key):
            host[field] = [str(v) for v in cfg[key]]
    for key, field in (("privileged", "Privileged"), ("init", "Init"), ("read_only", "ReadonlyRootfs")):
        if cfg.get(key) is not None:
            host[field] = bool(cfg[key])
    if cfg.get("extra_hosts"):
        host["ExtraHosts"] = [str(h).replace("=", ":", 1) for h in cfg["extra_hosts"]]
    security = [str(o) for o in cfg.get("security_opt") or ()]
    if "systempaths=unconfined" in security:
        security.remove("systempaths=unconfined")
        host["MaskedPaths"] = []
        host["ReadonlyPaths"] = []
    if security:
        host["SecurityOpt"] = security
    if cfg.get("sysctls"):
        host["Sysctls"] = {str(k): _str(v) for k, v in cfg["sysctls"].items()}
    if cfg.get("shm_size") is not None:
        host["ShmSize"] = units.byte_size(cfg["shm_size"])
    logging = cfg.get("logging")
    if logging:
        host["LogConfig"] = {"Type": logging.get("driver") or "", "Config": {k: _str(v) for k, v in (logging.get("options") or {}).items()}}
    mode = cfg.get("network_mode")
    if mode == "disabled":
        host["NetworkMode"] = "none"
    elif mode:
        host["NetworkMode"] = _namespace(project, mode)
    else:
        ordered = service_networks(project, service)
        host["NetworkMode"] = naming.network_name(project.name, ordered[0], project.networks.get(ordered[0])) if ordered else "none"
    volumes_from = _volumes_from(project, service)
    if volumes_from:
        host["VolumesFrom"] = volumes_from
    if links:
        host["Links"] = links
    _put(host, "IpcMode", _namespace(project, cfg.get("ipc")))
    _put(host, "PidMode", _namespace(project, cfg.get("pid")))
    _put(host, "UTSMode", cfg.get("uts"))
    _put(host, "UsernsMode", cfg.get("userns_mode"))
    _put(host, "CgroupnsMode", cfg.get("cgroup"))
    _put(host, "CgroupParent", cfg.get("cgroup_parent"))
    _put(host, "Runtime", cfg.get("runtime"))
    if cfg.get("storage_opt"):
        host["StorageOpt"] = {str(k): _str(v) for k, v in cfg["storage_opt"].items()}
    if cfg.get("oom_score_adj") is not None:
        host["OomScoreAdj"] = int(cfg["oom_score_adj"])
    _resources(service, host)
    return host


def service_networks(project: Project, service: Service) -> tuple[str, ...]:
    """The service's network keys by priority; a service naming none joins `default` if the project has it."""
    ordered = networks_by_priority(service)
    if not ordered and "default" in project.networks:
        ordered = ("default",)
    return ordered


def _endpoint(service: Service, key: str, name: str, links: list[str], use_aliases: bool) -> dict[str, Any]:
    cfg = (service.get("networks") or {}).get(key) or {}
    aliases = [name]
    if use_aliases:
        aliases += [service.name, *[str(a) for a in cfg.get("aliases") or ()]]
    endpoint: dict[str, Any] = {"Aliases": list(dict.fromkeys(aliases))}
    if links:
        endpoint["Links"] = list(links)
    ipam: dict[str, Any] = {}
    _put(ipam, "IPv4Address", cfg.get("ipv4_address"))
    _put(ipam, "IPv6Address", cfg.get("ipv6_address"))
    if cfg.get("link_local_ips"):
        ipam["LinkLocalIPs"] = list(cfg["link_local_ips"])
    if ipam:
        endpoint["IPAMConfig"] = ipam
    if cfg.get("driver_opts"):
        endpoint["DriverOpts"] = {str(k): _str(v) for k, v in cfg["driver_opts"].items()}
    return endpoint


def _networking(
    project: Project, service: Service, name: str, links: list[str], use_aliases: bool
) -> tuple[dict[str, Any] | None, list[NetworkAttachment]]:
    if service.get("network_mode"):
        return None, []
    ordered = service_networks(project, service)
    if not ordered:
        return None, []
    names = {key: naming.network_name(project.name, key, project.networks.get(key)) for key in ordered}
    first = ordered[0]
    networking = {"EndpointsConfig": {names[first]: _endpoint(service, first, name, links, use_aliases)}}
    attachments = [NetworkAttachment(key, names[key], freeze(_endpoint(service, key, name, links, use_aliases))) for key in ordered[1:]]
    return networking, attachments
