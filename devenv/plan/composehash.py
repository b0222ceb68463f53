"""Docker Compose v2's own configuration hashes, so that each tool sees the other's objects as
up to date.

Compose (pkg/compose/hash.go) hashes `json.Marshal` of its Go structures: a service without
`build`, `pull_policy`, `scale`, `deploy.replicas`, `depends_on` and `profiles`; a network; a
volume (driver defaulting to `local`). The model already holds every value in the form
`docker compose config --format json` prints, which is that same marshalling; what differs is
only the order of keys (Go writes struct fields in declaration order, map keys sorted) and Go's
string escaping and float formatting. The tables below give the field order of each structure
(compose-go v2.9.1, the version Compose v2.40.3 is built with).

What the hash of a service covers is the service as `up` sees it: environment files merged into
`environment` and dropped, `x-` keys left out (Go's marshalling skips them), and references to
another service's container (`volumes_from: [db]`, `network_mode: service:db`, `ipc`, `pid`)
replaced by that container's ID, as Compose does just before it creates the container.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from collections.abc import Mapping
from typing import Any

from devenv.model import Service, thaw

# Each structure's fields in Go's declaration order. A field is written `[*|!]name[=kind]`:
# `*` a pointer (left out only when unset), `!` no `omitempty` (`null` when unset), otherwise
# Go's `omitempty` leaves out the zero value (false, 0, "", empty list or map). The kind: none
# (as is), `f32` (a Go float32), `bytes` / `dur` (an integer written as a string, zero as "0" /
# "0s"), a structure's name, `map:X` (values X, keys sorted) or `list:X`.
_FIELDS: dict[str, tuple[tuple[str, str, str | None], ...]] = {}
# Fields of a non-pointer struct type: `omitempty` never leaves them out, so an unset one is `{}`.
_ALWAYS: dict[str, frozenset[str]] = {}


def _struct(name: str, spec: str, always: tuple[str, ...] = ()) -> None:
    _ALWAYS[name] = frozenset(always)
    fields = []
    for item in spec.split():
        key, _, kind = item.partition("=")
        mark = key[0] if key[0] in "*!" else ""
        fields.append((key.lstrip("*!"), mark, kind or None))
    _FIELDS[name] = tuple(fields)


_struct(
    "service",
    """profiles annotations *attach *build *develop=develop *blkio_config=blkio cap_add cap_drop cgroup_parent
    cgroup cpu_count cpu_percent=f32 cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpus=f32 cpuset
    cpu_shares !command configs=list:fileref container_name *credential_spec=credential_spec depends_on
    *deploy=deploy device_cgroup_rules devices=list:device dns dns_opt dns_search dockerfile domainname
    !entrypoint *provider=provider environment env_file expose *extends=extends external_links
    extra_hosts group_add gpus=list:device_request hostname *healthcheck=healthcheck image *init ipc
    isolation labels label_file links *logging=logging log_driver log_opt mem_limit=bytes
    mem_reservation=bytes memswap_limit=bytes mem_swappiness=bytes mac_address models=map:service_model
    net network_mode networks=map:service_network oom_kill_disable oom_score_adj pid pids_limit platform
    ports=list:port privileged pull_policy read_only restart runtime *scale secrets=list:fileref
    security_opt shm_size=bytes stdin_open *stop_grace_period stop_signal storage_opt sysctls tmpfs tty
    ulimits=map:ulimit use_api_socket user userns_mode uts volume_driver volumes=list:volume
    volumes_from working_dir post_start=list:hook pre_stop=list:hook""",
)
_struct("develop", "watch=list:trigger")
_struct("trigger", "!path !action target exec=hook include ignore initial_sync", always=("exec",))
_struct("hook", "!command user privileged working_dir environment")
# Go's WeightDevice and ThrottleDevice have no json tags: their keys are the Go field names.
_struct(
    "blkio",
    """weight weight_device=list:weight_device device_read_bps=list:throttle_device
    device_read_iops=list:throttle_device device_write_bps=list:throttle_device device_write_iops=list:throttle_device""",
)
_struct("weight_device", "!Path !Weight")
_struct("throttle_device", "!Path !Rate=bytes")
_struct("credential_spec", "config file registry")
_struct(
    "deploy",
    """mode *replicas labels *update_config=update *rollback_config=update resources=resources
    *restart_policy=restart_policy placement=placement endpoint_mode""",
    always=("resources", "placement"),
)
_struct("update", "*parallelism delay=dur failure_action monitor=dur max_failure_ratio=f32 order")
_struct("resources", "*limits=resource *reservations=resource")
_struct("resource", "cpus=f32 memory=bytes pids devices=list:device_request generic_resources=list:generic_resource")
_struct("device_request", "capabilities driver count device_ids options")
_struct("generic_resource", "*discrete_resource_spec=discrete_resource")
_struct("discrete_resource", "!kind !value")
_struct("restart_policy", "condition *delay *max_attempts *window")
_struct("placement", "constraints preferences=list:preference max_replicas_per_node")
_struct("preference", "spread")
_struct("device", "source target permissions")
_struct("provider", "type options")
_struct("extends", "file service")
_struct("healthcheck", "test *timeout *interval *retries *start_period *start_interval disable")
_struct("logging", "driver options")
_struct("service_model", "endpoint_var model_var")
_struct(
    "service_network",
    "aliases driver_opts gw_priority interface_name ipv4_address ipv6_address link_local_ips mac_address priority",
)
_struct("port", "name mode host_ip target published protocol app_protocol")
_struct("fileref", "source target uid gid *mode")
_struct("ulimit", "single soft hard")
_struct(
    "volume",
    "type source target read_only consistency *bind=bind *volume=volume_options *tmpfs=tmpfs *image=image_options",
)
_struct("bind", "selinux propagation create_host_path recursive")
_struct("volume_options", "labels nocopy subpath")
_struct("tmpfs", "size=bytes mode")
_struct("image_options", "subpath")
_struct(
    "network",
    "name driver driver_opts ipam=ipam external internal attachable labels *enable_ipv4 *enable_ipv6",
    always=("ipam",),
)
_struct("ipam", "driver config=list:ipam_pool")
_struct("ipam_pool", "subnet gateway ip_range aux_addresses")
_struct("volume_config", "name driver driver_opts external labels")


def _is_zero(value: Any, kind: str | None) -> bool:
    """Go's `omitempty` test on the value the field would hold."""
    if value is None or value is False:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, str):
        return value == "" or (kind == "bytes" and value == "0") or (kind == "dur" and value in ("0", "0s"))
    if isinstance(value, (list, tuple, Mapping)):
        return len(value) == 0
    return False


# Left out of a service's hash by Compose (hash.go), or absent from the service `up` sees.
_NOT_HASHED = frozenset({"build", "pull_policy", "scale", "depends_on", "profiles", "env_file"})


def _float32(value: float) -> str:
    """Go's encoding of a float32: the shortest digits that read back to the same float32."""
    f32 = struct.unpack("f", struct.pack("f", value))[0]
    for digits in range(1, 10):
        candidate = float(f"{f32:.{digits}g}")
        if struct.unpack("f", struct.pack("f", candidate))[0] == f32:
            return _go_float(candidate)
    return _go_float(f32)


def _go_float(value: float) -> str:
    """Go's JSON number for a float whose shortest digits are Python's repr: plain notation
    (`1`, not `1.0`) unless the magnitude is below 1e-6 or at least 1e21 (`1e-07`, `2.5e+21`)."""
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{value} has no JSON form")
    if value == 0:
        return "0"
    if 1e-6 <= abs(value) < 1e21:
        from decimal import Decimal

        plain = format(Decimal(repr(value)), "f")
        return plain.rstrip("0").rstrip(".") if "." in plain else plain
    mantissa, _, exponent = f"{value:.17e}".partition("e")
    for digits in range(0, 18):
        candidate = f"{value:.{digits}e}"
        if float(candidate) == value:
            mantissa, _, exponent = candidate.partition("e")
            break
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    sign = "-" if exponent.startswith("-") else "+"
    return f"{mantissa}e{sign}{int(exponent.lstrip('+-')):02d}"


def _string(text: str) -> str:
    """Go's encoding/json string: HTML-safe (`<`, `>`, `&` escaped) and U+2028/2029 escaped."""
    out = json.dumps(text, ensure_ascii=False)
    if any(c in text for c in "<>&\u2028\u2029"):
        out = (
            out.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        )
    return out


def _encode(value: Any, kind: str | None, out: list[str]) -> None:
    if kind is not None and value is not None:
        if kind in ("bytes", "dur") and isinstance(value, int) and not isinstance(value, bool):
            out.append(_string(str(value)))
            return
        if kind == "f32" and isinstance(value, (int, float)) and not isinstance(value, bool):
            out.append(_float32(float(value)))
            return
        if kind.startswith("map:") and isinstance(value, Mapping):
            _encode_map(value, kind[4:], out)
            return
        if kind.startswith("list:") and isinstance(value, (list, tuple)):
            sub = kind[5:]
            out.append("[")
            for i, item in enumerate(value):
                if i:
                    out.append(",")
                _encode(item, sub, out)
            out.append("]")
            return
        if kind in _FIELDS and isinstance(value, Mapping):
            _encode_struct(value, kind, out)
            return
    _encode_plain(value, out)


def _encode_struct(value: Mapping[str, Any], kind: str, out: list[str]) -> None:
    fields = _FIELDS[kind]
    known = {key for key, _, _ in fields}
    always = _ALWAYS[kind]
    out.append("{")
    first = True
    for key, mark, sub in fields:
        present = key in value and value[key] is not None
        if key in always:
            item: Any = value[key] if present else {}
        elif mark == "!":
            item = value.get(key)
        elif mark == "*":
            if not present:
                continue
            item = value[key]
        elif not present or _is_zero(value[key], sub):
            continue
        else:
            item = value[key]
        if not first:
            out.append(",")
        first = False
        out.append(_string(key))
        out.append(":")
        _encode(item, sub, out)
    # A key the table does not know (a newer Compose field): after the known ones, sorted, so the
    # hash is at least stable.
    for key in sorted(k for k in value if k not in known and not str(k).startswith("x-")):
        if not first:
            out.append(",")
        first = False
        out.append(_string(str(key)))
        out.append(":")
        _encode_plain(value[key], out)
    out.append("}")


def _encode_plain(value: Any, out: list[str]) -> None:
    """JSON of data without a structure table: maps with sorted keys (as Go's maps are)."""
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, float):
        out.append(_go_float(value))
    elif isinstance(value, str):
        out.append(_string(value))
    elif isinstance(value, Mapping):
        _encode_map(value, None, out)
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode_plain(item, out)
        out.append("]")
    else:
        out.append(_string(str(value)))


def _encode_map(value: Mapping[Any, Any], kind: str | None, out: list[str]) -> None:
    """A Go map: keys sorted by their bytes, each value as structure `kind` (None: as is)."""
    out.append("{")
    for i, key in enumerate(sorted(value, key=lambda k: str(k).encode())):
        if i:
            out.append(",")
        out.append(_string(str(key)))
        out.append(":")
        _encode(value[key], kind, out)
    out.append("}")


def go_json(value: Any, kind: str) -> str:
    """`value` (canonical model data) as Go's `json.Marshal` writes the compose-go structure `kind`."""
    out: list[str] = []
    _encode(thaw(value), kind, out)
    return "".join(out)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def hashed_service(config: Mapping[str, Any], references: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The service as Compose hashes it. `references`: service name -> the ID of its first
    container, for `volumes_from` and `service:` namespaces (unresolved ones stay as written)."""
    data = {k: v for k, v in thaw(config).items() if k not in _NOT_HASHED and not str(k).startswith("x-")}
    deploy = data.get("deploy")
    if isinstance(deploy, dict) and "replicas" in deploy:
        data["deploy"] = {k: v for k, v in deploy.items() if k != "replicas"}
    refs = references or {}
    if data.get("volumes_from"):
        resolved = []
        for entry in data["volumes_from"]:
            parts = str(entry).split(":")
            if parts[0] == "container" and len(parts) > 1:
                resolved.append(parts[1])
            else:
                resolved.append(refs.get(parts[0], str(entry)))
        data["volumes_from"] = resolved
    for key in ("network_mode", "ipc", "pid"):
        mode = data.get(key)
        if isinstance(mode, str) and mode.startswith("service:") and mode[len("service:"):] in refs:
            data[key] = "container:" + refs[mode[len("service:"):]]
    return data


def references(config: Mapping[str, Any]) -> tuple[str, ...]:
    """The services whose first container's ID enters this service's hash."""
    names = []
    for entry in config.get("volumes_from") or ():
        parts = str(entry).split(":")
        if parts[0] != "container":
            names.append(parts[0])
    for key in ("network_mode", "ipc", "pid"):
        mode = config.get(key)
        if isinstance(mode, str) and mode.startswith("service:"):
            names.append(mode[len("service:"):])
    return tuple(dict.fromkeys(names))


def service_hash(service: Service | Mapping[str, Any], references: Mapping[str, str] | None = None) -> str:
    """`com.docker.compose.config-hash` of a service's containers, as Compose computes it."""
    config = service.config if isinstance(service, Service) else service
    return _sha256(go_json(hashed_service(config, references), "service"))


def network_hash(config: Mapping[str, Any]) -> str:
    """`com.docker.compose.config-hash` of a network Compose creates."""
    return _sha256(go_json(config, "network"))


def volume_hash(config: Mapping[str, Any]) -> str:
    """`com.docker.compose.config-hash` of a volume Compose creates (driver `local` when unset)."""
    data = thaw(config)
    if not data.get("driver"):
        data["driver"] = "local"
    return _sha256(go_json(data, "volume_config"))
