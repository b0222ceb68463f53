"""Typed pass: bind the merged document to the field types of Compose's model and render it in
Compose's canonical form (what `docker compose config --format json` prints).

Each field has a type that decodes the forms a file may use (a string or a list, `KEY=value`
entries or a mapping, `512m` or a number of bytes, `1m30s`...) and encodes the one canonical form.
Empty optional values are left out, as Compose's `omitempty` does; service-level `x-` keys are kept
in the model (the engine ignores them) but `to_compose_json` leaves them out, as Compose does.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from devenv.errors import ManifestError
from devenv.manifest.gofmt import sprint
from devenv.manifest.shortsyntax import SyntaxProblem, format_duration, parse_bytes, parse_duration, split_command
from devenv.manifest.treepath import Path, field_error

OMIT: Any = type("Omit", (), {"__repr__": lambda self: "OMIT"})()


def _fail(path: Path, message: str) -> ManifestError:
    return field_error(path, message)


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() and abs(value) < 2**63 else value


class Type:
    """A field type: `decode` turns any accepted form into the canonical value, or OMIT."""

    def decode(self, value: Any, path: Path) -> Any:
        raise NotImplementedError


class Str(Type):
    def __init__(self, omitempty: bool = True) -> None:
        self.omitempty = omitempty

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            value = ""
        elif isinstance(value, bool):
            raise _fail(path, "must be a string, not a boolean")
        elif not isinstance(value, str):
            value = sprint(value)
        return OMIT if self.omitempty and value == "" else value


class Bool(Type):
    def __init__(self, pointer: bool = False) -> None:
        self.pointer = pointer

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, str):
            low = value.lower()
            if low in ("true", "1", "t", "yes", "y", "on"):
                value = True
            elif low in ("false", "0", "f", "no", "n", "off"):
                value = False
            else:
                raise _fail(path, f"{value!r} is not a boolean")
        if not isinstance(value, bool):
            raise _fail(path, f"must be a boolean, not {sprint(value)!r}")
        return value if (self.pointer or value) else OMIT


INT64 = (-(2**63), 2**63 - 1)
_WHOLE = re.compile(r"[-+]?[0-9]+")
MAX_REPLICAS = 10_000
"""The most containers `scale`/`deploy.replicas`/`--scale` may ask for one service. Compose refuses
counts that do not fit its int; devenv also refuses the ones no single engine could run (each
replica is a container, a name and an address), so that planning stays bounded."""


class Int(Type):
    """A whole number in Compose's Go type's range: int64 unless `unsigned` (uint32/uint64: 0 or
    more, as Compose's "-1 overflows uint"), with an optional tighter `maximum`."""

    def __init__(self, pointer: bool = False, minimum: int | None = None, unsigned: str = "",
                 maximum: int | None = None) -> None:
        self.pointer = pointer
        self.minimum = 0 if unsigned else minimum
        self.unsigned = unsigned
        self.maximum = maximum

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, bool):
            raise _fail(path, "must be a number, not a boolean")
        original = value
        if isinstance(value, str):
            text = value.strip(" \t\r\n")
            if not _WHOLE.fullmatch(text) or len(text) > 40:  # ASCII digits, as Go's ParseInt
                raise _fail(path, f"{value[:80]!r} is not a whole number")
            value = int(text, 10)
        elif isinstance(value, float):
            if not value.is_integer():
                raise _fail(path, f"{value!r} is not a whole number")
            value = int(value)
        if self.unsigned and value < 0:
            raise _fail(path, f"cannot parse value as {self.unsigned!r}: {value} overflows uint")
        shown = sprint(original) if isinstance(original, float) else str(value)
        if self.minimum is not None and value < self.minimum:
            raise _fail(path, f"must be {self.minimum} or more, not {value}")
        low, high = (0, 2**64 - 1) if self.unsigned == "uint64" else (0, 2**32 - 1) if self.unsigned else INT64
        if not low <= value <= high:
            raise _fail(path, f"{shown} is out of range (it must fit in {self.unsigned or 'int64'})")
        if self.maximum is not None and value > self.maximum:
            raise _fail(path, f"{shown} is more than devenv's limit of {self.maximum}")
        return value if (self.pointer or value != 0) else OMIT


class Float(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, bool):
            raise _fail(path, "must be a number, not a boolean")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise _fail(path, f"{value!r} is not a number") from None
        return OMIT if number == 0 else _number(number)


class Duration(Type):
    def __init__(self, pointer: bool = True) -> None:
        self.pointer = pointer

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        try:
            ns = parse_duration(value if isinstance(value, str) else sprint(value))
        except SyntaxProblem as exc:
            raise _fail(path, str(exc)) from None
        return format_duration(ns) if (self.pointer or ns) else OMIT


class Bytes(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        try:
            size = parse_bytes(value)
        except SyntaxProblem as exc:
            raise _fail(path, str(exc)) from None
        return str(size) if size else OMIT


class Command(Type):
    """A command: a list, or a string split like a shell would. Absent is null (kept)."""

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return split_command(value)
            except SyntaxProblem as exc:
                raise _fail(path, str(exc)) from None
        if isinstance(value, list):
            return [v if isinstance(v, str) else sprint(v) for v in value]
        raise _fail(path, "must be a string or a list")


class StrList(Type):
    """A string or a list of strings (numbers are written as text when `numbers`)."""

    def __init__(self, numbers: bool = False) -> None:
        self.numbers = numbers

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list):
            raise _fail(path, "must be a string or a list")
        out = []
        for i, item in enumerate(value):
            if isinstance(item, str):
                out.append(item)
            elif self.numbers and isinstance(item, (int, float)) and not isinstance(item, bool):
                out.append(sprint(item))
            else:
                raise _fail(path + (i,), "must be a string")
        return out or OMIT


class List(Type):
    def __init__(self, item: Type) -> None:
        self.item = item

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if not isinstance(value, list):
            raise _fail(path, "must be a list")
        out = []
        for i, v in enumerate(value):
            decoded = self.item.decode(v, path + (i,))
            out.append(None if decoded is OMIT else decoded)
        return out or OMIT


def _split_entries(value: list, path: Path) -> list[tuple[str, str | None]]:
    out = []
    for item in value:
        text = item if isinstance(item, str) else sprint(item)
        key, sep, val = text.partition("=")
        out.append((key, val if sep else None))
    return out


class MappingWithEquals(Type):
    """`environment`-like: a mapping, or `KEY=value` entries; a bare `KEY` (or null) stays null."""

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, dict):
            return {k: (None if v is None else v if isinstance(v, str) else sprint(v)) for k, v in value.items()} or OMIT
        if isinstance(value, list):
            out: dict[str, str | None] = {}
            for key, val in _split_entries(value, path):
                if key and key[-1].isspace():
                    raise _fail(path, f"environment variable {key!r} is declared with a trailing space")
                out[key] = val
            return out or OMIT
        raise _fail(path, "must be a mapping or a list of KEY=value")


class StrMapping(Type):
    """A mapping of strings: a mapping (null values become ""), or `KEY=value` entries."""

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, dict):
            return {k: ("" if v is None else v if isinstance(v, str) else sprint(v)) for k, v in value.items()} or OMIT
        if isinstance(value, list):
            return {k: (v or "") for k, v in _split_entries(value, path)} or OMIT
        raise _fail(path, "must be a mapping or a list of KEY=value")


class Options(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if not isinstance(value, dict):
            raise _fail(path, "must be a mapping")
        return {k: ("" if v is None else v if isinstance(v, str) else sprint(v)) for k, v in value.items()} or OMIT


class MultiOptions(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if not isinstance(value, dict):
            raise _fail(path, "must be a mapping")
        return {k: [x if isinstance(x, str) else sprint(x) for x in (v if isinstance(v, list) else [v])] for k, v in value.items()} or OMIT


class HostsList(Type):
    """`extra_hosts`: `host:ip`, `host=ip` or a mapping; printed sorted as `host=ip`."""

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        hosts: dict[str, list[str]] = {}
        if isinstance(value, dict):
            for host, ips in value.items():
                if ips is None:
                    ips = ""
                items = ips if isinstance(ips, list) else [ips]
                hosts[host] = [x if isinstance(x, str) else sprint(x) for x in items]
        elif isinstance(value, list):
            for item in value:
                text = item if isinstance(item, str) else sprint(item)
                for sep in ("=", ":"):
                    host, found, ip = text.partition(sep)
                    if found:
                        hosts.setdefault(host, []).extend(ip.split(","))
                        break
                else:
                    raise _fail(path, f"invalid extra host {text!r}: missing IP (use host=ip)")
        else:
            raise _fail(path, "must be a list or a mapping")
        out = []
        for host, ips in hosts.items():
            if not host or ":" in host or "=" in host:
                raise _fail(path, f"bad host name {host!r}")
            for ip in ips:
                if len(ip) > 2 and ip[0] == "[" and ip[-1] == "]":
                    ip = ip[1:-1]
                out.append(f"{host}={ip}")
        return sorted(out) or OMIT


class HealthcheckTest(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, str):
            return ["CMD-SHELL", value]
        if isinstance(value, list):
            return [v if isinstance(v, str) else sprint(v) for v in value] or OMIT
        raise _fail(path, "must be a string or a list")


class Ulimit(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, bool):
            raise _fail(path, "must be a number or a mapping")
        if isinstance(value, (int, str)):
            single = Int().decode(value, path)
            return {} if single is OMIT else single  # a limit of 0 is real: Compose prints it as {}
        if isinstance(value, dict):
            out = {}
            for key in ("soft", "hard"):
                decoded = Int().decode(value.get(key), path + (key,))
                if decoded is not OMIT:
                    out[key] = decoded
            return out
        raise _fail(path, "must be a number or a mapping with soft and hard")


class FileMode(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, bool):
            raise _fail(path, "must be a number")
        if isinstance(value, str):
            try:
                value = int(value, 8)
            except ValueError:
                raise _fail(path, f"{value!r} is not an octal file mode") from None
        elif isinstance(value, float):
            value = int(value)
        return f"0{value:o}"


class DeviceCount(Type):
    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, str):
            if value.lower() == "all":
                return -1
            try:
                value = int(value, 10)
            except ValueError:
                raise _fail(path, f"invalid value {value!r}, the only value allowed is 'all' or a number") from None
        return value if value else OMIT


class Any_(Type):
    def decode(self, value: Any, path: Path) -> Any:
        return OMIT if value is None else value


class Struct(Type):
    """A mapping with known fields; unknown `x-` keys are kept apart (not printed in JSON)."""

    def __init__(
        self,
        fields: Mapping[str, Type],
        pointer: bool = True,
        keep_empty: bool = True,
        always: Mapping[str, Any] | None = None,
        rename: Mapping[str, str] | None = None,
    ) -> None:
        self.fields = fields
        self.pointer = pointer
        self.keep_empty = keep_empty
        self.always = always or {}  # fields Compose always prints (Go struct values), with their zero value
        self.rename = rename or {}  # printed names that differ from the file's (untagged Go fields)

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if not isinstance(value, dict):
            raise _fail(path, "must be a mapping")
        out: dict[str, Any] = {}
        for key, item in value.items():
            ftype = self.fields.get(key)
            if ftype is None:
                continue  # x- extensions (validated by the schema) are not part of the printed model
            decoded = ftype.decode(item, path + (key,))
            if decoded is not OMIT:
                out[self.rename.get(key, key)] = decoded
        for key, ftype in self.fields.items():
            if key not in out and isinstance(ftype, Command) and key in _ALWAYS_NULL:
                out[key] = None
        for key, zero in self.always.items():
            if key not in out:
                out[key] = copy.deepcopy(zero)
        if not out and not self.keep_empty:
            return OMIT
        return out


_ALWAYS_NULL = frozenset({"command", "entrypoint"})


class MapOf(Type):
    """A name-keyed mapping of structs; a null entry stays null (`networks: {front: }`)."""

    def __init__(self, item: Type) -> None:
        self.item = item

    def decode(self, value: Any, path: Path) -> Any:
        if value is None:
            return OMIT
        if isinstance(value, list):
            value = {str(k): None for k in value}
        if not isinstance(value, dict):
            raise _fail(path, "must be a mapping")
        out = {}
        for key, item in value.items():
            decoded = self.item.decode(item, path + (key,)) if item is not None else None
            out[key] = None if decoded is OMIT else decoded
        return out or OMIT


# ---------------------------------------------------------------- the Compose model's fields

STR, BOOL, INT, FLOAT = Str(), Bool(), Int(), Float()
PBOOL, PINT = Bool(pointer=True), Int(pointer=True)
PUINT64, UINT64, UINT32 = Int(pointer=True, unsigned="uint64"), Int(unsigned="uint64"), Int(unsigned="uint32")
UINT16 = Int(unsigned="uint16")
COUNT = Int(pointer=True, maximum=MAX_REPLICAS)
STRS = StrList()
LABELS = StrMapping()

SERVICE_HOOK = Struct(
    {"command": Command(), "user": STR, "privileged": BOOL, "working_dir": STR, "environment": MappingWithEquals()}
)
ULIMITS = MapOf(Ulimit())
FILE_REF = Struct({"source": STR, "target": STR, "uid": STR, "gid": STR, "mode": FileMode()})
DEVICE_REQUEST = Struct(
    {"capabilities": STRS, "driver": STR, "count": DeviceCount(), "device_ids": STRS, "options": StrMapping()}
)
THROTTLE = Struct({"path": STR, "rate": Bytes()}, rename={"path": "Path", "rate": "Rate"})
RESOURCE = Struct(
    {
        "cpus": Float(),
        "memory": Bytes(),
        "pids": INT,
        "devices": List(DEVICE_REQUEST),
        "generic_resources": List(Struct({"discrete_resource_spec": Struct({"kind": Str(False), "value": PINT})})),
    }
)
UPDATE_CONFIG = Struct(
    {
        "parallelism": PUINT64,
        "delay": Duration(pointer=False),
        "failure_action": STR,
        "monitor": Duration(pointer=False),
        "max_failure_ratio": FLOAT,
        "order": STR,
    }
)
BUILD = Struct(
    {
        "context": STR,
        "dockerfile": STR,
        "dockerfile_inline": STR,
        "entitlements": STRS,
        "args": MappingWithEquals(),
        "provenance": STR,
        "sbom": STR,
        "ssh": Any_(),
        "labels": LABELS,
        "cache_from": STRS,
        "cache_to": STRS,
        "no_cache": BOOL,
        "additional_contexts": StrMapping(),
        "pull": BOOL,
        "extra_hosts": HostsList(),
        "isolation": STR,
        "network": STR,
        "target": STR,
        "secrets": List(FILE_REF),
        "shm_size": Bytes(),
        "tags": STRS,
        "ulimits": ULIMITS,
        "platforms": STRS,
        "privileged": BOOL,
    }
)

SERVICE_FIELDS: dict[str, Type] = {
    "profiles": STRS,
    "annotations": StrMapping(),
    "attach": PBOOL,
    "build": BUILD,
    "develop": Struct(
        {
            "watch": List(
                Struct(
                    {
                        "path": Str(False),
                        "action": Str(False),
                        "target": STR,
                        "exec": SERVICE_HOOK,
                        "include": STRS,
                        "ignore": STRS,
                        "initial_sync": BOOL,
                    },
                    always={"exec": {"command": None}},
                )
            )
        }
    ),
    "blkio_config": Struct(
        {
            "weight": UINT16,
            "weight_device": List(Struct({"path": STR, "weight": UINT16}, rename={"path": "Path", "weight": "Weight"})),
            "device_read_bps": List(THROTTLE),
            "device_read_iops": List(THROTTLE),
            "device_write_bps": List(THROTTLE),
            "device_write_iops": List(THROTTLE),
        }
    ),
    "cap_add": STRS,
    "cap_drop": STRS,
    "cgroup_parent": STR,
    "cgroup": STR,
    "cpu_count": INT,
    "cpu_percent": FLOAT,
    "cpu_period": INT,
    "cpu_quota": INT,
    "cpu_rt_period": INT,
    "cpu_rt_runtime": INT,
    "cpus": FLOAT,
    "cpuset": STR,
    "cpu_shares": INT,
    "command": Command(),
    "configs": List(FILE_REF),
    "container_name": STR,
    "credential_spec": Struct({"config": STR, "file": STR, "registry": STR}),
    "depends_on": MapOf(Struct({"condition": STR, "restart": BOOL, "required": Bool(pointer=True)})),
    "deploy": Struct(
        {
            "mode": STR,
            "replicas": COUNT,
            "labels": LABELS,
            "update_config": UPDATE_CONFIG,
            "rollback_config": UPDATE_CONFIG,
            "resources": Struct({"limits": RESOURCE, "reservations": RESOURCE}, keep_empty=False),
            "restart_policy": Struct(
                {"condition": STR, "delay": Duration(), "max_attempts": PUINT64, "window": Duration()}
            ),
            "placement": Struct(
                {
                    "constraints": STRS,
                    "preferences": List(Struct({"spread": STR})),
                    "max_replicas_per_node": UINT64,
                },
                keep_empty=False,
            ),
            "endpoint_mode": STR,
        }
    ),
    "device_cgroup_rules": STRS,
    "devices": List(Struct({"source": STR, "target": STR, "permissions": STR})),
    "dns": STRS,
    "dns_opt": STRS,
    "dns_search": STRS,
    "dockerfile": STR,
    "domainname": STR,
    "entrypoint": Command(),
    "provider": Struct({"type": STR, "options": MultiOptions()}),
    "environment": MappingWithEquals(),
    "env_file": Any_(),  # rendered by the loader (a path, or {path, required, format})
    "expose": StrList(numbers=True),
    "extends": Struct({"file": STR, "service": STR}),
    "external_links": STRS,
    "extra_hosts": HostsList(),
    "group_add": StrList(numbers=True),
    "gpus": List(DEVICE_REQUEST),
    "hostname": STR,
    "healthcheck": Struct(
        {
            "test": HealthcheckTest(),
            "timeout": Duration(),
            "interval": Duration(),
            "retries": PUINT64,
            "start_period": Duration(),
            "start_interval": Duration(),
            "disable": BOOL,
        }
    ),
    "image": STR,
    "init": PBOOL,
    "ipc": STR,
    "isolation": STR,
    "labels": LABELS,
    "label_file": STRS,
    "links": STRS,
    "logging": Struct({"driver": STR, "options": Options()}),
    "log_driver": STR,
    "log_opt": Options(),
    "mem_limit": Bytes(),
    "mem_reservation": Bytes(),
    "memswap_limit": Bytes(),
    "mem_swappiness": Bytes(),
    "mac_address": STR,
    "models": MapOf(Struct({"endpoint_var": STR, "model_var": STR})),
    "net": STR,
    "network_mode": STR,
    "networks": MapOf(
        Struct(
            {
                "aliases": STRS,
                "driver_opts": Options(),
                "gw_priority": INT,
                "interface_name": STR,
                "ipv4_address": STR,
                "ipv6_address": STR,
                "link_local_ips": STRS,
                "mac_address": STR,
                "priority": INT,
            }
        )
    ),
    "oom_kill_disable": BOOL,
    "oom_score_adj": INT,
    "pid": STR,
    "pids_limit": INT,
    "platform": STR,
    "ports": List(
        Struct(
            {
                "name": STR,
                "mode": STR,
                "host_ip": STR,
                "target": UINT32,
                "published": STR,
                "protocol": STR,
                "app_protocol": STR,
            }
        )
    ),
    "post_start": List(SERVICE_HOOK),
    "pre_stop": List(SERVICE_HOOK),
    "privileged": BOOL,
    "pull_policy": STR,
    "read_only": BOOL,
    "restart": STR,
    "runtime": STR,
    "scale": COUNT,
    "secrets": List(FILE_REF),
    "security_opt": STRS,
    "shm_size": Bytes(),
    "stdin_open": BOOL,
    "stop_grace_period": Duration(),
    "stop_signal": STR,
    "storage_opt": Options(),
    "sysctls": StrMapping(),
    "tmpfs": STRS,
    "tty": BOOL,
    "ulimits": ULIMITS,
    "use_api_socket": BOOL,
    "user": STR,
    "userns_mode": STR,
    "uts": STR,
    "volume_driver": STR,
    "volumes": List(
        Struct(
            {
                "type": STR,
                "source": STR,
                "target": STR,
                "read_only": BOOL,
                "consistency": STR,
                "bind": Struct({"selinux": STR, "propagation": STR, "create_host_path": BOOL, "recursive": STR}),
                "volume": Struct({"labels": StrMapping(), "nocopy": BOOL, "subpath": STR}),
                "tmpfs": Struct({"size": Bytes(), "mode": UINT32}),
                "image": Struct({"subpath": STR}),
            }
        )
    ),
    "volumes_from": STRS,
    "working_dir": STR,
}
SERVICE = Struct(SERVICE_FIELDS)

EXTERNAL = Bool()
NETWORK = Struct(
    {
        "name": STR,
        "driver": STR,
        "driver_opts": Options(),
        "ipam": Struct(
            {
                "driver": STR,
                "config": List(Struct({"subnet": STR, "gateway": STR, "ip_range": STR, "aux_addresses": StrMapping()})),
            }
        ),
        "external": EXTERNAL,
        "internal": BOOL,
        "attachable": BOOL,
        "labels": LABELS,
        "enable_ipv4": PBOOL,
        "enable_ipv6": PBOOL,
    }
)
VOLUME = Struct({"name": STR, "driver": STR, "driver_opts": Options(), "external": EXTERNAL, "labels": LABELS})
FILE_OBJECT_FIELDS: dict[str, Type] = {
    "name": STR,
    "file": STR,
    "environment": STR,
    "content": STR,
    "external": EXTERNAL,
    "labels": LABELS,
    "driver": STR,
    "driver_opts": Options(),
    "template_driver": STR,
}
FILE_OBJECT = Struct(FILE_OBJECT_FIELDS)
MODEL = Struct({"name": STR, "model": STR, "context_size": INT, "runtime_flags": STRS})


def decode_service(config: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """The canonical form of one service, keeping its `x-` keys (they are the user's)."""
    out = SERVICE.decode(config, path)
    for key, value in config.items():
        if key.startswith("x-"):
            out[key] = value
    return out


def decode_resources(kind: str, data: Mapping[str, Any]) -> dict[str, Any]:
    struct = {"networks": NETWORK, "volumes": VOLUME, "secrets": FILE_OBJECT, "configs": FILE_OBJECT, "models": MODEL}[kind]
    out: dict[str, Any] = {}
    for name, value in data.items():
        decoded = struct.decode(value if value is not None else {}, (kind, name))
        if isinstance(value, dict):
            decoded.update({k: v for k, v in value.items() if k.startswith("x-")})
        out[name] = decoded
    return out

