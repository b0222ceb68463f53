"""Canonical pass: every short syntax in its long form, and the defaults Compose fills in.

Runs on plain data after each file is merged in, like compose-go's `transform` package, so later
files merge into long forms. Parsing of the short syntaxes themselves lives in `shortsyntax`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devenv.errors import ManifestError
from devenv.manifest.gofmt import sprint
from devenv.manifest.shortsyntax import SyntaxProblem, parse_device, parse_port, parse_volume
from devenv.manifest.treepath import Path, PatternTable, field_error

Transformer = Callable[[Any, Path, Any], Any]  # (data, path, its trie node)
Defaulter = Callable[[Any, Path], Any]


def canonical(document: dict) -> dict:
    return _transform(document, (), _TRANSFORMERS)


def _transform(data: Any, path: Path, node: PatternTable[Transformer] | None) -> Any:
    if node is None:
        return data
    if node.value is not None:
        return node.value(data, path, node)
    return _recurse(data, path, node)


def _recurse(data: Any, path: Path, node: PatternTable[Transformer]) -> Any:
    if isinstance(data, dict):
        for key, value in data.items():
            child = node.step(key)
            if child is not None:
                data[key] = _transform(value, path + (key,), child)
    elif isinstance(data, list) and node.star is not None:
        for i, value in enumerate(data):
            data[i] = _transform(value, path + (i,), node.star)
    return data


def _fail(path: Path, message: str) -> ManifestError:
    return field_error(path, message)


def _string_or_list(data: Any, _path: Path, node: Any = None) -> Any:
    return [data] if isinstance(data, str) else data


def _string_slice_to_map(data: Any, _path: Path, node: Any = None) -> Any:
    if isinstance(data, list):
        return {str(item): None for item in data}
    return data


def _key_value(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, list):
        out = {}
        for item in data:
            key, sep, value = str(item).partition("=")
            if not sep:
                raise _fail(path, f"invalid value {item!r}, expected key=value")
            out[key] = value
        return out
    return data


def _string_or_x(data: Any, _path: Path, node: Any = None) -> Any:
    return data if isinstance(data, str) else sprint(data)


def _file_mount(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        return {"source": data}
    if isinstance(data, dict):
        return data
    raise _fail(path, f"unsupported type {type(data).__name__}")


def _depends_on(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, list):
        return {str(name): {"condition": "service_started", "required": True} for name in data}
    if isinstance(data, dict):
        for name, dep in data.items():
            if not isinstance(dep, dict):
                raise _fail(path + (name,), "must be a mapping (condition, required, restart)")
            dep.setdefault("condition", "service_started")
            dep.setdefault("required", True)
        return data
    raise _fail(path, "must be a list or a mapping")


def _env_file(data: Any, path: Path, node: Any = None) -> Any:
    items = [data] if isinstance(data, str) else data
    if not isinstance(items, list):
        raise _fail(path, "must be a string or a list")
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            out.append({"path": item, "required": True})
        elif isinstance(item, dict):
            item.setdefault("required", True)
            out.append(item)
        else:
            out.append(None)
    return out


def _extends(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        return {"service": data}
    return _recurse(data, path, node)


def _gpus(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        return [{"count": "all"}]
    return _recurse(data, path, node)


def _volume_mount(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        try:
            return parse_volume(data)
        except SyntaxProblem as exc:
            raise _fail(path, str(exc)) from None
    if isinstance(data, dict):
        return data
    raise _fail(path, "invalid type for service volume mount")


def _device(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        try:
            return parse_device(data)
        except SyntaxProblem as exc:
            raise _fail(path, str(exc)) from None
    return data


def _ports(data: Any, path: Path, node: Any = None) -> Any:
    if not isinstance(data, list):
        raise _fail(path, "invalid type for ports")
    out: list[Any] = []
    for i, entry in enumerate(data):
        if isinstance(entry, bool):
            raise _fail(path + (i,), "invalid type for port")
        if isinstance(entry, (int, str)):
            try:
                out.extend(parse_port(str(entry)))
            except SyntaxProblem as exc:
                raise _fail(path + (i,), str(exc)) from None
        elif isinstance(entry, dict):
            out.append(entry)
        else:
            raise _fail(path + (i,), "invalid type for port")
    return out


def _build(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        return {"context": data}
    if isinstance(data, dict):
        return _recurse(data, path, node)
    raise _fail(path, "invalid type for build")


def _ssh(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, str):
        data = [data]
    if isinstance(data, list):
        out: dict[str, Any] = {}
        for item in data:
            key, sep, value = str(item).partition("=")
            if not sep and key != "default":
                raise _fail(path, f"invalid ssh key {item!r} (use ID=PATH, or default)")
            out[key] = value if sep else None
        return out
    return data


def _ulimit(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, (dict, int)) and not isinstance(data, bool):
        return data
    raise _fail(path, "must be a number or a mapping with soft and hard")


def _maybe_external(data: Any, path: Path, node: Any = None) -> Any:
    if data is None:
        return None
    if not isinstance(data, dict):
        return data
    _recurse(data, path, node)
    external = data.get("external")
    if isinstance(external, dict):
        data["external"] = True
        if "name" in external:
            if "name" in data and data["name"] != external["name"]:
                raise _fail(path, "name and external.name conflict; only use name")
            data.setdefault("name", external["name"])
    return data


def _include(data: Any, _path: Path, node: Any = None) -> Any:
    return {"path": data} if isinstance(data, str) else data


def _service(data: Any, path: Path, node: Any = None) -> Any:
    return _recurse(data, path, node) if isinstance(data, dict) else data


_TRANSFORMERS: PatternTable[Transformer] = PatternTable(
    {
        "services.*": _service,
        "services.*.build.secrets.*": _file_mount,
        "services.*.build.provenance": _string_or_x,
        "services.*.build.sbom": _string_or_x,
        "services.*.build.additional_contexts": _key_value,
        "services.*.depends_on": _depends_on,
        "services.*.env_file": _env_file,
        "services.*.label_file": _string_or_list,
        "services.*.extends": _extends,
        "services.*.gpus": _gpus,
        "services.*.networks": _string_slice_to_map,
        "services.*.models": _string_slice_to_map,
        "services.*.volumes.*": _volume_mount,
        "services.*.dns": _string_or_list,
        "services.*.devices.*": _device,
        "services.*.secrets.*": _file_mount,
        "services.*.configs.*": _file_mount,
        "services.*.ports": _ports,
        "services.*.build": _build,
        "services.*.build.ssh": _ssh,
        "services.*.ulimits.*": _ulimit,
        "services.*.build.ulimits.*": _ulimit,
        "services.*.develop.watch.*.ignore": _string_or_list,
        "services.*.develop.watch.*.include": _string_or_list,
        "volumes.*": _maybe_external,
        "networks.*": _maybe_external,
        "secrets.*": _maybe_external,
        "configs.*": _maybe_external,
        "include.*": _include,
    }
)


# ---------------------------------------------------------------- defaults (once, after all files)


def _default_build_context(data: Any, _path: Path, node: Any = None) -> Any:
    if isinstance(data, dict):
        data.setdefault("context", ".")
    return data


def _default_secret_target(data: Any, path: Path, node: Any = None) -> Any:
    if isinstance(data, dict):
        data.setdefault("target", f"/run/secrets/{data.get('source')}")
        return data
    raise _fail(path, "must be a string or a mapping")


def _default_port(data: Any, _path: Path, node: Any = None) -> Any:
    if isinstance(data, dict):
        data.setdefault("protocol", "tcp")
        data.setdefault("mode", "ingress")
    return data


def _default_device_request(data: Any, _path: Path, node: Any = None) -> Any:
    if isinstance(data, dict) and "count" not in data and "device_ids" not in data:
        data["count"] = "all"
    return data


_DEFAULTS: PatternTable[Defaulter] = PatternTable(
    {
        "services.*.build": _default_build_context,
        "services.*.secrets.*": _default_secret_target,
        "services.*.ports.*": _default_port,
        "services.*.deploy.resources.reservations.devices.*": _default_device_request,
        "services.*.gpus.*": _default_device_request,
    }
)


def set_defaults(document: dict) -> dict:
    return _defaults(document, (), _DEFAULTS)


def _defaults(data: Any, path: Path, node: PatternTable[Defaulter] | None) -> Any:
    if node is None:
        return data
    if node.value is not None:
        return node.value(data, path)
    if isinstance(data, dict):
        for key, value in data.items():
            child = node.step(key)
            if child is not None:
                data[key] = _defaults(value, path + (key,), child)
    elif isinstance(data, list) and node.star is not None:
        for i, value in enumerate(data):
            data[i] = _defaults(value, path + (i,), node.star)
    return data
