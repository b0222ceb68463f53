"""Merge pass: how a later Compose file (or an `extends` child) combines with what came before.

The Compose specification's merge rules (13-merge.md): mappings merge key by key, sequences append,
scalars are replaced; some fields have rules of their own (command/entrypoint/healthcheck.test are
replaced whole, environment/labels merge by key, networks and depends_on accept either form, ...).
After a merge, fields that are sets keyed by something (ports, volumes by target, environment by
name, ...) keep one entry per key, the later one winning ("unicity").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from devenv.manifest.gofmt import sprint
from devenv.manifest.shortsyntax import SyntaxProblem, parse_volume
from devenv.manifest.treepath import Path, PatternTable, field_error

Merger = Callable[[Any, Any, Path], Any]


def merge(base: Any, other: Any, path: Path = (), node: PatternTable[Merger] | None | Literal[True] = True) -> Any:
    """Merge `other` (the later definition) into `base`; both are plain YAML data, modified in place.
    `node` is the merge-rule trie at `path` (True: look it up from the root)."""
    if node is True:
        node = _SPECIALS.lookup_node(path)
    if node is not None and node.value is not None:
        return node.value(base, other, path)
    if other is None:
        return base
    if isinstance(base, dict):
        if not isinstance(other, dict):
            raise field_error(path, f"cannot merge: a mapping cannot be replaced by a {_kind(other)}")
        return _merge_mappings(base, other, path, node)
    if isinstance(base, list):
        if not isinstance(other, list):
            raise field_error(path, f"cannot merge: a list cannot be replaced by a {_kind(other)}")
        return base + other
    return other


def _kind(value: Any) -> str:
    return "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "scalar"


def _merge_mappings(base: dict, other: dict, path: Path, node: PatternTable[Merger] | None | Literal[True] = True) -> dict:
    if node is True:
        node = _SPECIALS.lookup_node(path)
    for key, value in other.items():
        if key not in base:
            base[key] = value
        else:
            base[key] = merge(base[key], value, path + (key,), node.step(key) if node is not None else None)
    return base


def _replace(_base: Any, other: Any, _path: Path) -> Any:
    return other


def to_sequence(value: Any) -> list:
    """A mapping or list of `key=value` entries as a list (mappings sorted, as Compose does)."""
    if isinstance(value, dict):
        seq: list[str] = []
        for key, val in value.items():
            if val is None:
                seq.append(key)
            elif isinstance(val, list):
                seq.extend(f"{key}={sprint(v)}" for v in val)
            else:
                seq.append(f"{key}={sprint(val)}")
        return sorted(seq)
    if isinstance(value, list):
        return list(value)
    if isinstance(value, str):
        return [value]
    return []


def to_mapping(value: Any, default: dict | None) -> dict:
    if isinstance(value, dict):
        return value
    if isinstance(value, list):
        return {str(item): (dict(default) if default is not None else None) for item in value}
    return {}


def _merge_to_sequence(base: Any, other: Any, _path: Path) -> list:
    return to_sequence(base) + to_sequence(other)


def _merge_extra_hosts(base: Any, other: Any, _path: Path) -> list:
    left = to_sequence(base)
    return left + [v for v in to_sequence(other) if v not in left]


def _merge_logging(base: Any, other: Any, path: Path) -> Any:
    if not isinstance(base, dict) or not isinstance(other, dict):
        return merge_plain(base, other, path)
    if "driver" in base and "driver" in other and base["driver"] != other["driver"]:
        return other
    return _merge_mappings(base, other, path)


def merge_plain(base: Any, other: Any, path: Path) -> Any:
    if other is None:
        return base
    return other


def _as_build(value: Any) -> dict:
    if isinstance(value, str):
        return {"context": value}
    if isinstance(value, dict):
        return value
    return {}


def _merge_build(base: Any, other: Any, path: Path) -> dict:
    if other is None:
        return _as_build(base)
    return _merge_mappings(_as_build(base), _as_build(other), path)


_DEPENDS_DEFAULT = {"condition": "service_started", "required": True}


def _merge_depends_on(base: Any, other: Any, path: Path) -> dict:
    return _merge_mappings(to_mapping(base, _DEPENDS_DEFAULT), to_mapping(other, _DEPENDS_DEFAULT), path)


def _merge_name_mapping(base: Any, other: Any, path: Path) -> dict:
    return _merge_mappings(to_mapping(base, None), to_mapping(other, None), path)


def _merge_ulimit(base: Any, other: Any, path: Path) -> Any:
    if isinstance(base, dict) and isinstance(other, dict):
        return _merge_mappings(base, other, path)
    return other


def _merge_ipam_config(base: Any, other: Any, path: Path) -> Any:
    if not isinstance(base, list) or not isinstance(other, list):
        return other
    out: list[dict] = []
    for original in base:
        right = to_mapping(original, None)
        for override in other:
            left = to_mapping(override, None)
            if left.get("subnet") != right.get("subnet") and not any(c.get("subnet") == left.get("subnet") for c in out):
                out.append(left)
                continue
            merged = _merge_mappings(dict(right), left, path)
            for i, c in enumerate(out):
                if c.get("subnet") == merged.get("subnet"):
                    out[i] = merged
                    break
            else:
                out.append(merged)
    return out


_SPECIALS: PatternTable[Merger] = PatternTable(
    {
        "networks.*.ipam.config": _merge_ipam_config,
        "networks.*.labels": _merge_to_sequence,
        "volumes.*.labels": _merge_to_sequence,
        "services.*.annotations": _merge_to_sequence,
        "services.*.build": _merge_build,
        "services.*.build.args": _merge_to_sequence,
        "services.*.build.additional_contexts": _merge_to_sequence,
        "services.*.build.extra_hosts": _merge_extra_hosts,
        "services.*.build.labels": _merge_to_sequence,
        "services.*.command": _replace,
        "services.*.depends_on": _merge_depends_on,
        "services.*.deploy.labels": _merge_to_sequence,
        "services.*.dns": _merge_to_sequence,
        "services.*.dns_opt": _merge_to_sequence,
        "services.*.dns_search": _merge_to_sequence,
        "services.*.entrypoint": _replace,
        "services.*.env_file": _merge_to_sequence,
        "services.*.label_file": _merge_to_sequence,
        "services.*.environment": _merge_to_sequence,
        "services.*.extra_hosts": _merge_extra_hosts,
        "services.*.healthcheck.test": _replace,
        "services.*.labels": _merge_to_sequence,
        "services.*.volumes.*.volume.labels": _merge_to_sequence,
        "services.*.logging": _merge_logging,
        "services.*.models": _merge_name_mapping,
        "services.*.networks": _merge_name_mapping,
        "services.*.sysctls": _merge_to_sequence,
        "services.*.tmpfs": _merge_to_sequence,
        "services.*.ulimits.*": _merge_ulimit,
    }
)


# ---------------------------------------------------------------- unicity

Indexer = Callable[[Any, Path], str]


def _key_value_index(value: Any, path: Path) -> str:
    if isinstance(value, str):
        return value.split("=", 1)[0]
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return sprint(value)
    raise field_error(path, f"expected a string, got a {_kind(value)}")


def _volume_index(value: Any, path: Path) -> str:
    if isinstance(value, dict):
        target = value.get("target")
        if not isinstance(target, str):
            raise field_error(path, "service volume is missing a mount target")
        return target
    if isinstance(value, str):
        try:
            return parse_volume(value)["target"]
        except SyntaxProblem as exc:
            raise field_error(path, str(exc)) from None
    return ""


def _device_index(value: Any, path: Path) -> str:
    if isinstance(value, dict):
        target = value.get("target")
        if not isinstance(target, str):
            raise field_error(path, "service device is missing a mount target")
        return target
    if isinstance(value, str):
        parts = value.split(":")
        return parts[0] if len(parts) == 1 else parts[1]
    return ""


def _expose_index(value: Any, path: Path) -> str:
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    raise field_error(path, f"unsupported expose value {value!r}")


def _mount_index(default_dir: str) -> Indexer:
    def index(value: Any, path: Path) -> str:
        if isinstance(value, str):
            return f"{default_dir}/{value}"
        if isinstance(value, dict):
            if "target" in value:
                return str(value["target"])
            return f"{default_dir}/{value.get('source')}"
        raise field_error(path, f"unsupported value {value!r}")

    return index


def _port_index(value: Any, path: Path) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        if "target" not in value:
            raise field_error(path, "port is missing a target port")
        return f"{value.get('host_ip', '0.0.0.0')}:{value.get('published', '')}:{value['target']}/{value.get('protocol', 'tcp')}"
    if isinstance(value, str):
        return value
    return ""


def _env_file_index(value: Any, path: Path) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        if "path" not in value:
            raise field_error(path, "env_file entry is missing its path")
        return str(value["path"])
    return ""


_UNIQUE: PatternTable[Indexer] = PatternTable(
    {
        "networks.*.labels": _key_value_index,
        "networks.*.ipam.options": _key_value_index,
        "services.*.annotations": _key_value_index,
        "services.*.build.args": _key_value_index,
        "services.*.build.additional_contexts": _key_value_index,
        "services.*.build.platform": _key_value_index,
        "services.*.build.tags": _key_value_index,
        "services.*.build.labels": _key_value_index,
        "services.*.cap_add": _key_value_index,
        "services.*.cap_drop": _key_value_index,
        "services.*.configs": _mount_index(""),
        "services.*.deploy.labels": _key_value_index,
        "services.*.dns": _key_value_index,
        "services.*.dns_opt": _key_value_index,
        "services.*.dns_search": _key_value_index,
        "services.*.environment": _key_value_index,
        "services.*.env_file": _env_file_index,
        "services.*.expose": _expose_index,
        "services.*.labels": _key_value_index,
        "services.*.links": _key_value_index,
        "services.*.networks.*.aliases": _key_value_index,
        "services.*.networks.*.link_local_ips": _key_value_index,
        "services.*.ports": _port_index,
        "services.*.profiles": _key_value_index,
        "services.*.secrets": _mount_index("/run/secrets"),
        "services.*.sysctls": _key_value_index,
        "services.*.tmpfs": _key_value_index,
        "services.*.volumes": _volume_index,
        "services.*.devices": _device_index,
    }
)


def enforce_unicity(value: Any, path: Path = (), node: PatternTable[Indexer] | None = _UNIQUE) -> Any:
    """Keep one entry per key in set-like lists (the later one, at the earlier one's place)."""
    if node is None:
        return value
    if isinstance(value, dict):
        for key, item in value.items():
            child = node.step(key)
            if child is not None:
                value[key] = enforce_unicity(item, path + (key,), child)
        return value
    if isinstance(value, list) and node.value is not None:
        indexer = node.value
        out: list[Any] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(value):
            key = indexer(entry, path + (i,))
            if key in seen:
                out[seen[key]] = entry
            else:
                seen[key] = len(out)
                out.append(entry)
        return out
    return value
