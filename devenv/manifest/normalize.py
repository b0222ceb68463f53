"""Normalize pass: absolute paths, environment values taken from the project environment, the
implicit `default` network, the dependencies that links/volumes_from/network_mode imply, and the
engine-level names of networks, volumes, secrets and configs."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from devenv.manifest.treepath import PatternTable

_REMOTE_CONTEXT = ("https://", "http://", "git://", "ssh://", "github.com/", "git@")


def expand_user(path: str, environ: Mapping[str, str]) -> str:
    if path.startswith("~"):
        home = environ.get("HOME") or os.path.expanduser("~")
        return os.path.join(home, path[1:].lstrip("/")) if path[1:] else home
    return path


class _PathResolver:
    def __init__(self, working_dir: str, environ: Mapping[str, str]) -> None:
        self.working_dir = working_dir
        self.environ = environ
        self.table: PatternTable[Callable[[Any], Any]] = PatternTable(
            {
                "services.*.build.context": self.context,
                "services.*.build.additional_contexts.*": self.context,
                "services.*.build.ssh.*": self.maybe_path,
                "services.*.env_file.*.path": self.absolute,
                "services.*.label_file.*": self.absolute,
                "services.*.extends.file": self.absolute,
                "services.*.develop.watch.*.path": self.absolute,
                "services.*.volumes.*": self.volume,
                "configs.*.file": self.maybe_path,
                "secrets.*.file": self.maybe_path,
                "include.path": self.absolute,
                "include.project_directory": self.absolute,
                "include.env_file": self.absolute,
                "volumes.*": self.volume_driver_opts,
            }
        )

    def walk(self, value: Any, node: PatternTable[Callable[[Any], Any]] | None) -> Any:
        if node is None:
            return value
        if node.value is not None:
            return node.value(value)
        if isinstance(value, dict):
            for key, item in value.items():
                child = node.step(key)
                if child is not None:
                    value[key] = self.walk(item, child)
        elif isinstance(value, list) and node.star is not None:
            for i, item in enumerate(value):
                value[i] = self.walk(item, node.star)
        return value

    def absolute(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.absolute(v) for v in value]
        if isinstance(value, str) and value:
            value = expand_user(value, self.environ)
            return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.working_dir, value))
        return value

    def maybe_path(self, value: Any) -> Any:
        """Like `absolute`, but an empty path means the working directory itself."""
        if isinstance(value, str):
            value = expand_user(value, self.environ)
            return value if os.path.isabs(value) else os.path.normpath(os.path.join(self.working_dir, value))
        return value

    def context(self, value: Any) -> Any:
        if not isinstance(value, str) or "://" in value or value.startswith("service:") or value.startswith(_REMOTE_CONTEXT):
            return value
        return self.absolute(value)

    def volume(self, value: Any) -> Any:
        if isinstance(value, dict) and value.get("type") == "bind" and isinstance(value.get("source"), str):
            value["source"] = self.maybe_path(value["source"])
        return value

    def volume_driver_opts(self, value: Any) -> Any:
        if isinstance(value, dict) and value.get("driver") == "local":
            opts = value.get("driver_opts")
            if isinstance(opts, dict) and opts.get("o") == "bind" and isinstance(opts.get("device"), str):
                opts["device"] = self.maybe_path(opts["device"])
        return value


def resolve_relative_paths(document: dict, working_dir: str, environ: Mapping[str, str]) -> dict:
    resolver = _PathResolver(working_dir, environ)
    return resolver.walk(document, resolver.table)


def resolve_environment(document: dict, environ: Mapping[str, str]) -> None:
    """`environment: [VAR]` entries without a value take the project environment's value."""
    for service in (document.get("services") or {}).values():
        if isinstance(service, dict) and isinstance(service.get("environment"), list):
            service["environment"] = [
                f"{e}={environ[e]}" if isinstance(e, str) and "=" not in e and e in environ else e
                for e in service["environment"]
                if isinstance(e, str)
            ]


def _resolve_values(value: Any, environ: Mapping[str, str], keep_empty: bool) -> Any:
    if isinstance(value, dict):
        out = {}
        for key, val in value.items():
            if val is not None:
                out[key] = val
            elif key in environ:
                out[key] = environ[key]
            elif keep_empty:
                out[key] = None
        return out
    if isinstance(value, list):
        out_list = []
        for item in value:
            if isinstance(item, str) and "=" not in item:
                if item in environ:
                    out_list.append(f"{item}={environ[item]}")
                elif keep_empty:
                    out_list.append(item)
            else:
                out_list.append(item)
        return out_list
    return value


_IMPLIED = {"condition": "service_started", "required": True}


def normalize(document: dict, project_name: str, environ: Mapping[str, str]) -> dict:
    _normalize_networks(document)
    for service in (document.get("services") or {}).values():
        if not isinstance(service, dict):
            continue
        if service.get("pull_policy") == "if_not_present":
            service["pull_policy"] = "missing"
        build = service.get("build")
        if isinstance(build, dict):
            if build.get("context") is None:
                build["context"] = "."
            if build.get("dockerfile") is None and build.get("dockerfile_inline") is None:
                build["dockerfile"] = "Dockerfile"
            if "args" in build:
                build["args"] = _resolve_values(build["args"], environ, keep_empty=False)
        if "environment" in service:
            service["environment"] = _resolve_values(service["environment"], environ, keep_empty=True)
        depends = service.get("depends_on")
        depends = dict(depends) if isinstance(depends, dict) else {}
        for link in service.get("links") or ():
            name = str(link).split(":")[0] if len(str(link).split(":")) == 2 else str(link)
            depends.setdefault(name, {**_IMPLIED, "restart": True})
        for namespace in ("network_mode", "ipc", "pid", "uts", "cgroup"):
            ref = service.get(namespace)
            if isinstance(ref, str) and ref.startswith("service:"):
                depends.setdefault(ref[len("service:") :], {**_IMPLIED, "restart": True})
        for volume in service.get("volumes") or ():
            if isinstance(volume, dict) and isinstance(volume.get("target"), str):
                volume["target"] = _clean(volume["target"])
        for source in service.get("volumes_from") or ():
            if isinstance(source, str) and not source.startswith("container:"):
                depends.setdefault(source.split(":")[0], {**_IMPLIED, "restart": False})
        if depends:
            service["depends_on"] = depends
    _set_names(document, project_name)
    return document


def _clean(target: str) -> str:
    import posixpath

    if not target:
        return target
    cleaned = posixpath.normpath(target)
    return "/" + cleaned.lstrip("/") if cleaned.startswith("//") else cleaned


def _normalize_networks(document: dict) -> None:
    networks = document.get("networks")
    networks = networks if isinstance(networks, dict) else {}
    uses_default = False
    for service in (document.get("services") or {}).values():
        if not isinstance(service, dict) or "provider" in service or "network_mode" in service:
            continue
        nets = service.get("networks")
        if not nets:
            service["networks"] = {"default": None}
            uses_default = True
        elif "default" in nets:
            uses_default = True
    if uses_default and "default" not in networks:
        networks["default"] = None
    if networks:
        document["networks"] = networks


def _set_names(document: dict, project_name: str) -> None:
    for kind in ("networks", "volumes", "configs", "secrets"):
        resources = document.get(kind)
        if not isinstance(resources, dict):
            continue
        for key, resource in resources.items():
            resource = resource if isinstance(resource, dict) else {}
            if resource.get("name") is None:
                resource["name"] = key if _is_true(resource.get("external")) else f"{project_name}_{key}"
            resources[key] = resource


def _is_true(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "t", "true")
