"""The effective settings of a project's containers, made comparable between two projects.

`project_settings(engine, project, values)` inspects every container of `project` and returns, per
container key `{service}-{n}`, the settings that decide how the container behaves (see
`effective`), normalised so that the same Compose file brought up under two project names (one by
Docker Compose v2, one by devenv) gives equal results:

- the project name becomes `<project>` in every string (names, labels, aliases, links);
- container IDs (namespaces `container:<id>`, VolumesFrom) become the container's name;
- a container's own short ID (default hostname, network alias) becomes `<id>`;
- an anonymous volume's name becomes `<anonymous {service}-{n}:{path}>` after the first container
  (by key) and path that mount it, so that sharing one (volumes_from) stays visible;
- `values`: the per-side values the case was given (free host ports, a subnet prefix) become
  `${NAME}`: a port only as a whole host port, other values wherever they occur in a string;
- an image built by the project (tagged `<project>-*`) is compared by its configuration (Cmd,
  Env, Labels, ...), not its ID: the two tools build it with different builders;
- lists whose order the engine ignores (Env, aliases, links, capabilities, ulimits, mounts) are
  sorted; a null and an empty list are the same.

`compare(compose, devenv)` returns readable differences, after removing the differences devenv
makes on purpose (`DOCUMENTED_DIFFERENCES`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import docker

PROJECT_LABEL = "com.docker.compose.project"
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"
DEPENDS_ON_LABEL = "com.docker.compose.depends_on"
IMAGE_LABEL = "com.docker.compose.image"
DEVENV_LABEL_PREFIX = "io.devenv."

# The differences devenv makes on purpose, each normalised away by `documented_normalisation`:
DOCUMENTED_DIFFERENCES = (
    "Labels: com.docker.compose.config-hash differs (Compose hashes its Go structure); devenv adds io.devenv.* labels",
    "Labels: com.docker.compose.depends_on lists the dependencies sorted (Compose: Go map order, random)",
    "ExposedPorts: `expose: 3000` is `3000/tcp` and `expose: 4000-4001` two ports for devenv (Compose sends the key raw)",
    "NetworkMode/IpcMode/PidMode/VolumesFrom: devenv names the container, Compose its ID",
    "VolumesFrom: devenv keeps the `:ro`/`:rw` mode of `volumes_from: svc:ro` (Compose drops it), so the mounts"
    " inherited that way are read-only for devenv, read-write for Compose",
    "Links: numbered aliases `{svc}-{n}` use the linked container's number for devenv (Compose: the linking one's)",
    "Links: Compose repeats entries (one set per link naming the same service); devenv lists each once",
)

# HostConfig fields that depend on when/where the container runs, not on its configuration.
_HOST_CONFIG_IGNORED = frozenset({"ContainerIDFile", "ConsoleSize"})
# Config fields handled apart (Image, Labels, Hostname) or that say nothing about the configuration.
_CONFIG_IGNORED = frozenset({"Image", "Labels", "Hostname"})
_UNORDERED = frozenset(
    {"Env", "CapAdd", "CapDrop", "Dns", "DnsSearch", "DnsOptions", "ExtraHosts", "GroupAdd", "SecurityOpt", "Links",
     "VolumesFrom", "Binds", "DeviceCgroupRules", "Aliases"}
)
_HEX_ID = re.compile(r"\b[0-9a-f]{64}\b")


class Side:
    """What normalising one project's containers needs: its name, IDs, values and image lookups."""

    def __init__(self, engine: docker.DockerClient, project: str, values: Mapping[str, str]) -> None:
        self.engine = engine
        self.project = project
        self.values = dict(values)
        self.ids: dict[str, str] = {}  # container ID -> name (without the leading /)
        self.anonymous: dict[str, str] = {}  # anonymous volume name -> `<anonymous key:path>`
        self._images: dict[str, dict[str, Any]] = {}

    def image(self, image_id: str) -> dict[str, Any]:
        if image_id not in self._images:
            self._images[image_id] = self.engine.api.inspect_image(image_id)
        return self._images[image_id]

    def built(self, image_id: str) -> bool:
        """Whether the image was built for this project (tagged `<project>-<service>`)."""
        tags = self.image(image_id).get("RepoTags") or ()
        return any(t.startswith((f"{self.project}-", f"{self.project}_")) for t in tags)

    def volume(self, name: str) -> str:
        if _HEX_ID.fullmatch(name):
            return self.anonymous.get(name, "<anonymous>")
        return self.text(name)

    def text(self, value: str) -> str:
        """A string with the container IDs named, then the project and the case's values replaced."""
        for vid, label in self.anonymous.items():
            if vid in value:
                value = value.replace(vid, label)
        for cid, name in self.ids.items():
            if cid in value:
                value = value.replace(cid, name)
        for cid, name in self.ids.items():
            value = re.sub(rf"\b{cid[:12]}\b", name, value)
        value = value.replace(self.project, "<project>")
        for key, val in sorted(self.values.items(), key=lambda kv: -len(kv[1])):
            if val and not val.isdigit():
                value = value.replace(val, f"${{{key}}}")
        return value

    def hostname(self, value: str) -> str:
        """A hostname that is another container's short ID (it shares that one's namespaces) names it."""
        for cid, name in self.ids.items():
            if value == cid[:12]:
                return f"<id of {self.text(name)}>"
        return value

    def port(self, value: str) -> str:
        """A host port (or range `lo-hi`) the case was given, as `${NAME}`."""
        if "-" in value:
            return "-".join(self.port(part) for part in value.split("-", 1))
        for key, val in self.values.items():
            if val.isdigit() and value == val:
                return f"${{{key}}}"
        return value

    def deep(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.deep(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.deep(v) for v in value]
        return value


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {}


def _sorted(values: Iterable[Any]) -> list[Any]:
    return sorted(values, key=repr)


def _clean(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Drops null/empty values (the engine reports unset lists as null or [] depending on the client)."""
    return {k: v for k, v in mapping.items() if not _empty(v)}


def _ports(bindings: Mapping[str, Any] | None, side: Side) -> dict[str, list[dict[str, str]]]:
    out = {}
    for port, entries in (bindings or {}).items():
        out[port] = _sorted(
            {"HostIp": e.get("HostIp", ""), "HostPort": side.port(e.get("HostPort", "")) if e.get("HostPort") else ""}
            for e in entries or ()
        )
    return out


def _actual_ports(ports: Mapping[str, Any] | None, configured: Mapping[str, Any], side: Side) -> dict[str, list[str]]:
    """The host addresses each port is really bound to; an engine-chosen host port is `*`."""
    out = {}
    for port, entries in (ports or {}).items():
        if not entries:
            continue
        wanted = {e.get("HostPort") for e in (configured or {}).get(port) or ()}
        out[port] = sorted(
            f"{e['HostIp']}:{side.port(e['HostPort']) if e['HostPort'] in wanted else '*'}" for e in entries
        )
    return out


def _mount(mount: Mapping[str, Any], side: Side) -> dict[str, Any]:
    """A mount as the container sees it: named volumes by name, anonymous ones by their first user."""
    out = {k: mount.get(k) for k in ("Type", "Destination", "RW", "Propagation", "Mode")}
    if mount.get("Type") == "volume":
        out["Source"] = side.volume(mount.get("Name") or "")
        out["Driver"] = mount.get("Driver")
    else:
        out["Source"] = side.text(mount.get("Source") or "")
    return out


def _mount_request(mount: Mapping[str, Any], side: Side) -> dict[str, Any]:
    """A `HostConfig.Mounts` entry (the options the Binds strings cannot say: tmpfs size, nocopy...)."""
    out = {k: v for k, v in mount.items() if not _empty(v)}
    if out.get("Type") == "volume":
        out["Source"] = side.volume(out.get("Source") or "")
    return side.deep(out)


def _networks(networks: Mapping[str, Any], side: Side, short_id: str, static_mac_on: str | None) -> dict[str, Any]:
    out = {}
    for name, endpoint in (networks or {}).items():
        endpoint = endpoint or {}
        aliases = [a for a in endpoint.get("Aliases") or () if a != short_id]
        entry = {
            "Aliases": sorted(set(side.text(a) for a in aliases)),
            "Links": sorted(set(side.text(link) for link in endpoint.get("Links") or ())),
            "IPAMConfig": side.deep(_clean(endpoint.get("IPAMConfig") or {})),
            "DriverOpts": side.deep(endpoint.get("DriverOpts") or {}),
        }
        if name == static_mac_on:  # a configured MAC address (Config.MacAddress) is the primary network's
            entry["MacAddress"] = endpoint.get("MacAddress")
        out[side.text(name)] = _clean(entry)
    return out


def _labels(labels: Mapping[str, str] | None, image_labels: Mapping[str, str], side: Side, built: bool) -> dict[str, str]:
    out = {}
    for key, value in (labels or {}).items():
        if key == CONFIG_HASH_LABEL:
            continue
        if key.startswith(DEVENV_LABEL_PREFIX) and image_labels.get(key) != value:
            continue
        if key == DEPENDS_ON_LABEL:
            value = ",".join(sorted(value.split(","))) if value else value
        if key == IMAGE_LABEL and built:
            value = "<built image>"
        out[key] = side.text(value)
    return out


def _image(image_id: str, side: Side) -> Any:
    """An image pulled or loaded by name is its ID; one built for the project is its configuration."""
    if not side.built(image_id):
        return image_id
    info = side.image(image_id)
    config = info.get("Config") or {}
    keep = ("Cmd", "Entrypoint", "Env", "ExposedPorts", "Labels", "User", "WorkingDir", "Volumes", "StopSignal", "Healthcheck")
    out = {k: config.get(k) for k in keep if not _empty(config.get(k))}
    if "Labels" in out:  # com.docker.compose.project names each side's own project
        out["Labels"] = {k: side.text(v) for k, v in out["Labels"].items()}
    if "Env" in out:
        out["Env"] = sorted(out["Env"])
    out["Tags"] = sorted(side.text(t) for t in info.get("RepoTags") or ())
    out["Architecture"] = info.get("Architecture")
    return out


def effective(inspect: Mapping[str, Any], side: Side) -> dict[str, Any]:
    """The settings of one container (a `docker inspect` result) that decide how it behaves."""
    config = dict(inspect.get("Config") or {})
    host = dict(inspect.get("HostConfig") or {})
    image_id = inspect["Image"]
    built = side.built(image_id)
    image_labels = (side.image(image_id).get("Config") or {}).get("Labels") or {}
    short_id = inspect["Id"][:12]

    out: dict[str, Any] = {}
    out["Image"] = _image(image_id, side)
    out["Config.Image"] = side.text(config.get("Image") or "")
    hostname = config.get("Hostname") or ""
    out["Hostname"] = "<id>" if hostname == short_id else side.hostname(hostname)
    out["Labels"] = _labels(config.get("Labels"), image_labels, side, built)
    for key, value in config.items():
        if key in _CONFIG_IGNORED:
            continue
        if key in _UNORDERED and isinstance(value, list):
            value = sorted(value)
        if key == "ExposedPorts" and value:
            value = sorted(value)
        out[f"Config.{key}"] = side.deep(value)

    out["HostConfig.PortBindings"] = _ports(host.pop("PortBindings", None), side)
    binds = host.pop("Binds", None) or []
    out["HostConfig.Binds"] = sorted(side.text(b) for b in binds)
    out["HostConfig.Mounts"] = _sorted(_mount_request(m, side) for m in host.pop("Mounts", None) or ())
    if host.get("Ulimits"):
        host["Ulimits"] = sorted(host["Ulimits"], key=lambda u: u.get("Name", ""))
    for key, value in host.items():
        if key in _HOST_CONFIG_IGNORED:
            continue
        if key in _UNORDERED and isinstance(value, list):
            value = sorted(side.text(v) for v in value)
        out[f"HostConfig.{key}"] = side.deep(value)

    settings = inspect.get("NetworkSettings") or {}
    static_mac_on = host.get("NetworkMode") if config.get("MacAddress") else None
    out["Networks"] = _networks(settings.get("Networks") or {}, side, short_id, static_mac_on)
    out["Ports"] = _actual_ports(settings.get("Ports"), _raw_bindings(inspect), side)
    out["Mounts"] = _sorted(_mount(m, side) for m in inspect.get("Mounts") or ())
    state = inspect.get("State") or {}
    out["State"] = {
        "Status": state.get("Status"),
        "ExitCode": state.get("ExitCode"),
        "Health": (state.get("Health") or {}).get("Status"),
    }
    return {k: v for k, v in out.items() if not _empty(v)}


def _raw_bindings(inspect: Mapping[str, Any]) -> Mapping[str, Any]:
    return (inspect.get("HostConfig") or {}).get("PortBindings") or {}


def container_key(name: str, project: str) -> str:
    """`{service}-{n}` for `/{project}-{service}-{n}`; other names (container_name) stay whole."""
    name = name.lstrip("/")
    prefix = f"{project}-"
    return name[len(prefix):] if name.startswith(prefix) else name


def project_settings(engine: docker.DockerClient, project: str, values: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The effective settings of every container of `project`, by `{service}-{n}`."""
    side = Side(engine, project, values or {})
    api = engine.api
    found = api.containers(all=True, filters={"label": f"{PROJECT_LABEL}={project}"})
    inspected = [api.inspect_container(c["Id"]) for c in found]
    side.ids = {i["Id"]: i["Name"].lstrip("/") for i in inspected}
    mounts = sorted(
        (container_key(i["Name"], project), m.get("Destination", ""), m.get("Name") or "")
        for i in inspected
        for m in i.get("Mounts") or ()
        if m.get("Type") == "volume"
    )
    for key, path, name in mounts:
        if _HEX_ID.fullmatch(name) and name not in side.anonymous:
            side.anonymous[name] = f"<anonymous {key}:{path}>"
    return {container_key(i["Name"], project): effective(i, side) for i in inspected}


# --- the differences devenv makes on purpose -------------------------------------------------------

_NUMBERED_ALIAS = re.compile(r"^(?P<target>[^:]+):(?P<prefix>(<project>-)?)(?P<service>[^:]+)-\d+$")


def _link_aliases(links: Iterable[str]) -> list[str]:
    """`{svc}-{n}` / `<project>-{svc}-{n}` link aliases lose their number (devenv and Compose number them differently)."""
    out = set()
    for link in links:
        match = _NUMBERED_ALIAS.match(link)
        if match and match["target"].startswith((f"<project>-{match['service']}-", f"{match['service']}-")):
            link = f"{match['target']}:{match['prefix']}{match['service']}-#"
        out.add(link)
    return sorted(out)


def _exposed(key: str) -> list[str]:
    """`3000` -> `3000/tcp`; `4000-4001/udp` -> its ports (what the engine's own CLI makes of `--expose`)."""
    number, _, proto = key.partition("/")
    lo, _, hi = number.partition("-")
    if not lo.isdigit() or not (hi or lo).isdigit():
        return [key]
    return [f"{p}/{proto or 'tcp'}" for p in range(int(lo), int(hi or lo) + 1)]


def _own_targets(settings: Mapping[str, Any]) -> set[str]:
    """The container paths a container mounts itself (not through volumes_from)."""
    targets = {b.split(":")[1] for b in settings.get("HostConfig.Binds") or () if ":" in b}
    targets |= {m.get("Target") for m in settings.get("HostConfig.Mounts") or ()}
    targets |= set(settings.get("HostConfig.Tmpfs") or {})
    return targets


def documented_normalisation(settings: Mapping[str, Any], volumes_from_mode: bool = False) -> dict[str, Any]:
    """One container's settings without the differences listed in DOCUMENTED_DIFFERENCES.

    `volumes_from_mode`: a `volumes_from` entry of the container names a mode on either side; the
    read-only flag of the mounts it inherits is then left out.
    """
    out = dict(settings)
    exposed = out.get("Config.ExposedPorts")
    if exposed:
        out["Config.ExposedPorts"] = sorted({p for key in exposed for p in _exposed(key)})
    volumes_from = out.get("HostConfig.VolumesFrom")
    if volumes_from:
        out["HostConfig.VolumesFrom"] = sorted({re.sub(r":(ro|rw)$", "", v) for v in volumes_from})
    if volumes_from_mode and out.get("Mounts"):
        own = _own_targets(settings)
        out["Mounts"] = [
            m if m.get("Destination") in own else {**m, "RW": "<the volumes_from mode>"} for m in out["Mounts"]
        ]
    if out.get("HostConfig.Links"):
        out["HostConfig.Links"] = _link_aliases(out["HostConfig.Links"])
    if out.get("Networks"):
        networks = {}
        for name, endpoint in out["Networks"].items():
            endpoint = dict(endpoint)
            if endpoint.get("Links"):
                endpoint["Links"] = _link_aliases(endpoint["Links"])
            networks[name] = endpoint
        out["Networks"] = networks
    return out


# --- differences -----------------------------------------------------------------------------------


def _diff(path: str, a: Any, b: Any, out: list[str]) -> None:
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        for key in sorted(set(a) | set(b), key=str):
            _diff(f"{path}.{key}" if path else str(key), a.get(key), b.get(key), out)
        return
    if _empty(a) and _empty(b):
        return
    if a != b:
        out.append(f"{path}: compose={a!r} devenv={b!r}")


def compare(
    compose: Mapping[str, Mapping[str, Any]], devenv: Mapping[str, Mapping[str, Any]], *, documented: bool = True
) -> list[str]:
    """Readable differences between two projects' settings (by container key), documented ones removed."""
    out: list[str] = []
    for key in sorted(set(compose) | set(devenv)):
        if key not in devenv:
            out.append(f"{key}: only Compose created it")
            continue
        if key not in compose:
            out.append(f"{key}: only devenv created it")
            continue
        a, b = compose[key], devenv[key]
        if documented:
            mode = any(re.search(r":(ro|rw)$", v) for side in (a, b) for v in side.get("HostConfig.VolumesFrom") or ())
            a, b = documented_normalisation(a, mode), documented_normalisation(b, mode)
        diffs: list[str] = []
        _diff("", a, b, diffs)
        out.extend(f"{key}: {d}" for d in diffs)
    return out


# --- networks and volumes ----------------------------------------------------------------------------


def _resource_labels(labels: Mapping[str, str] | None, side: Side) -> dict[str, str]:
    return {k: side.text(v) for k, v in (labels or {}).items() if k != CONFIG_HASH_LABEL and not k.startswith(DEVENV_LABEL_PREFIX)}


def project_resources(engine: docker.DockerClient, project: str, values: Mapping[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """The project's networks and volumes (by `network <name>` / `volume <name>`, project normalised)."""
    side = Side(engine, project, values or {})
    api = engine.api
    selector = {"label": f"{PROJECT_LABEL}={project}"}
    out: dict[str, dict[str, Any]] = {}
    for found in api.networks(filters=selector):
        net = api.inspect_network(found["Id"])
        ipam = net.get("IPAM") or {}
        pools = side.deep(ipam.get("Config") or [])
        if "${" not in repr(pools):  # not the case's subnet: the engine chose it
            pools = "<engine-assigned>" if pools else []
        out[f"network {side.text(net['Name'])}"] = {
            k: v
            for k, v in {
                "Driver": net.get("Driver"),
                "Scope": net.get("Scope"),
                "EnableIPv6": net.get("EnableIPv6"),
                "Internal": net.get("Internal"),
                "Attachable": net.get("Attachable"),
                "IPAM": {"Driver": ipam.get("Driver"), "Options": side.deep(ipam.get("Options") or {}), "Config": pools},
                "Options": side.deep(net.get("Options") or {}),
                "Labels": _resource_labels(net.get("Labels"), side),
            }.items()
            if not _empty(v)
        }
    for vol in api.volumes(filters=selector).get("Volumes") or ():
        out[f"volume {side.text(vol['Name'])}"] = {
            k: v
            for k, v in {
                "Driver": vol.get("Driver"),
                "Scope": vol.get("Scope"),
                "Options": side.deep(vol.get("Options") or {}),
                "Labels": _resource_labels(vol.get("Labels"), side),
            }.items()
            if not _empty(v)
        }
    return out
