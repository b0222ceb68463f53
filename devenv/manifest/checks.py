"""Checks that the JSON schema cannot express: mutually exclusive attributes, references to
undefined networks/volumes/secrets/services, conflicting replica counts. Each names the field."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from devenv.manifest import xdevenv
from devenv.manifest.reference import reference_problem
from devenv.manifest.treepath import Path, field_error

RESTART_POLICIES = ("no", "always", "on-failure", "unless-stopped")


def check_document(document: Mapping[str, Any]) -> None:
    """On the merged document, before it is typed (compose-go's `validation` package)."""
    xdevenv.check(document)
    for kind in ("volumes", "networks", "secrets", "configs"):
        for name, resource in (document.get(kind) or {}).items():
            if isinstance(resource, dict) and resource.get("external") is True:
                for key in resource:
                    if key not in ("name", "external") and not key.startswith("x-"):
                        raise field_error(
                            (kind, name, key), f"conflicting parameters \"external\" and {key!r} specified"
                        )
    for kind, keys in (("configs", ("file", "environment", "content")), ("secrets", ("file", "environment"))):
        for name, resource in (document.get(kind) or {}).items():
            resource = resource if isinstance(resource, dict) else {}
            present = [k for k in keys if k in resource]
            if len(present) > 1:
                raise field_error((kind, name), f"{'|'.join(keys)} attributes are mutually exclusive")
            if not present and "driver" not in resource and "external" not in resource:
                raise field_error((kind, name), f"one of {'|'.join(keys)} must be set")
    for sname, service in (document.get("services") or {}).items():
        if not isinstance(service, dict):
            continue
        for i, port in enumerate(service.get("ports") or ()):
            if isinstance(port, dict) and "host_ip" in port:
                try:
                    ipaddress.ip_address(str(port["host_ip"]))
                except ValueError:
                    raise field_error(
                        ("services", sname, "ports", i, "host_ip"), f"invalid ip address: {port['host_ip']}"
                    ) from None
        for i, trigger in enumerate(((service.get("develop") or {}).get("watch")) or ()):
            if isinstance(trigger, dict) and trigger.get("path") == "":
                raise field_error(("services", sname, "develop", "watch", i, "path"), "value can't be blank")
        requests = list(enumerate(service.get("gpus") or ()))
        for i, request in requests:
            if isinstance(request, dict) and "count" in request and "device_ids" in request:
                raise field_error(("services", sname, "gpus", i), '"count" and "device_ids" attributes are exclusive')


def check_project(
    services: Mapping[str, Mapping[str, Any]],
    disabled: Mapping[str, Mapping[str, Any]],
    resources: Mapping[str, Mapping[str, Any]],
) -> None:
    """On the typed model of the enabled services (compose-go's consistency check)."""
    container_names: dict[str, str] = {}
    for name, s in services.items():
        at: Path = ("services", name)
        if s.get("container_name"):
            other = container_names.setdefault(str(s["container_name"]), name)
            if other != name:
                raise field_error(
                    at + ("container_name",),
                    f"container name {s['container_name']!r} is already used by service {other!r}",
                )
        build = s.get("build")
        if build is None and not s.get("image") and s.get("provider") is None:
            raise field_error(at, f"service {name!r} has neither an image nor a build context specified")
        if build is not None:
            if build.get("dockerfile_inline") and build.get("dockerfile"):
                raise field_error(at + ("build",), "dockerfile and dockerfile_inline are mutually exclusive")
            for ctx_name, ctx in (build.get("additional_contexts") or {}).items():
                if isinstance(ctx, str) and ctx.startswith("service:"):
                    target = ctx[len("service:") :]
                    if target not in services:
                        raise field_error(
                            at + ("build", "additional_contexts", ctx_name), f"unknown service {target!r}"
                        )
                    if services[target].get("build") is None:
                        raise field_error(
                            at + ("build", "additional_contexts", ctx_name), f"service {target!r} is not buildable"
                        )
            platforms = build.get("platforms") or ()
            if platforms and s.get("platform") and s["platform"] not in platforms:
                raise field_error(
                    at + ("platform",), f"service.build.platforms must include service.platform {s['platform']!r}"
                )
            for i, secret in enumerate(build.get("secrets") or ()):
                if secret.get("source") not in resources["secrets"]:
                    raise field_error(at + ("build", "secrets", i), f"undefined build secret {secret.get('source')!r}")
        if s.get("image"):
            problem = reference_problem(str(s["image"]))
            if problem:
                raise field_error(at + ("image",), f"invalid image {s['image']!r}: {problem}")
        if s.get("restart") is not None:
            problem = restart_problem(str(s["restart"]))
            if problem:
                raise field_error(at + ("restart",), problem)
        if s.get("network_mode") and s.get("networks"):
            raise field_error(at + ("network_mode",), "network_mode and networks are mutually exclusive")
        for network in s.get("networks") or {}:
            if network not in resources["networks"]:
                raise field_error(at + ("networks", network), f"service {name!r} refers to undefined network {network!r}")
        test = (s.get("healthcheck") or {}).get("test")
        if test and test[0] not in ("CMD", "CMD-SHELL", "NONE"):
            raise field_error(at + ("healthcheck", "test"), 'must start with "CMD", "CMD-SHELL" or "NONE"')
        for dep, cfg in (s.get("depends_on") or {}).items():
            if dep not in services:
                if dep in disabled and not (cfg or {}).get("required", True):
                    continue
                hint = " (it is disabled by its profiles)" if dep in disabled else ""
                raise field_error(at + ("depends_on", dep), f"service {name!r} depends on undefined service {dep!r}{hint}")
            if (cfg or {}).get("condition") == "service_healthy" and healthcheck_disabled(services[dep]):
                raise field_error(
                    at + ("depends_on", dep),
                    f"service {name!r} waits for {dep!r} to be healthy, but {dep!r} disables its healthcheck",
                )
        mode = s.get("network_mode") or ""
        if mode.startswith("service:") and mode[len("service:") :] not in services:
            raise field_error(at + ("network_mode",), f"service {mode[len('service:'):]!r} not found for network_mode")
        for i, volume in enumerate(s.get("volumes") or ()):
            if volume.get("type") == "volume" and volume.get("source") and volume["source"] not in resources["volumes"]:
                raise field_error(
                    at + ("volumes", i), f"service {name!r} refers to undefined volume {volume['source']!r}"
                )
        for kind in ("configs", "secrets"):
            for i, ref in enumerate(s.get(kind) or ()):
                if ref.get("source") not in resources[kind]:
                    raise field_error(
                        at + (kind, i), f"service {name!r} refers to undefined {kind[:-1]} {ref.get('source')!r}"
                    )
        for model in s.get("models") or {}:
            if model not in resources["models"]:
                raise field_error(at + ("models", model), f"service {name!r} refers to undefined model {model!r}")
        deploy = s.get("deploy") or {}
        if s.get("scale") is not None and deploy.get("replicas") is not None and s["scale"] != deploy["replicas"]:
            raise field_error(at + ("scale",), "can't set distinct values on 'scale' and 'deploy.replicas'")
        if s.get("scale") is not None and s["scale"] < 0:
            raise field_error(at + ("scale",), "must be greater than or equal to 0")
        if deploy.get("replicas") is not None and deploy["replicas"] < 0:
            raise field_error(at + ("deploy", "replicas"), "must be greater than or equal to 0")
        _check_mounts(at, s)
        if s.get("container_name") and _replicas(s) > 1:
            raise field_error(
                at + ("container_name",), "can't set container_name with more than one replica: container names must be unique"
            )
        for i, trigger in enumerate(((s.get("develop") or {}).get("watch")) or ()):
            if not trigger.get("target") and trigger.get("action") not in ("rebuild", "restart"):
                raise field_error(at + ("develop", "watch", i), "target is required for non-rebuild actions")
        limits = (deploy.get("resources") or {}).get("limits") or {}
        reservations = (deploy.get("resources") or {}).get("reservations") or {}
        for key, sub, limit_key in (
            ("cpus", limits, "cpus"),
            ("mem_limit", limits, "memory"),
            ("mem_reservation", reservations, "memory"),
        ):
            if s.get(key) and sub.get(limit_key) is not None and str(sub[limit_key]) != str(s[key]):
                raise field_error(at + (key,), f"can't set distinct values on {key!r} and 'deploy.resources'")
        if s.get("pids_limit") and limits.get("pids") is not None and limits["pids"] != s["pids_limit"]:
            raise field_error(at + ("pids_limit",), "can't set distinct values on 'pids_limit' and 'deploy.resources.limits.pids'")
    for name, secret in resources["secrets"].items():
        if secret and not secret.get("external") and not secret.get("file") and not secret.get("environment"):
            raise field_error(("secrets", name), "must declare either `file` or `environment`")
    check_cycles(services)


def restart_problem(value: str) -> str | None:
    """Why `value` is not a restart policy the engine accepts, or None. An empty value means "no",
    as in Compose (an unset variable); Compose passes the rest to the engine, which refuses it only
    once the project is half made, or (`on-failure:x`) silently drops the count."""
    if value == "" or value in RESTART_POLICIES:
        return None
    name, colon, count = value.partition(":")
    if colon and name in RESTART_POLICIES:
        if name != "on-failure":
            return f"invalid restart policy {value!r}: only on-failure takes a retry count (on-failure:N)"
        if not count.isdigit():
            return f"invalid restart policy {value!r}: the retry count must be a whole number of 0 or more"
        return None
    import difflib

    close = difflib.get_close_matches(name, RESTART_POLICIES, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "expected no, always, on-failure, on-failure:N or unless-stopped"
    return f"invalid restart policy {value!r} ({hint})"


def healthcheck_disabled(service: Mapping[str, Any]) -> bool:
    """The service turns its healthcheck off (`disable: true` or `test: [NONE]`), the image's too."""
    health = service.get("healthcheck") or {}
    return bool(health.get("disable")) or list(health.get("test") or ())[:1] == ["NONE"]


def _replicas(s: Mapping[str, Any]) -> int:
    if s.get("scale") is not None:
        return int(s["scale"])
    replicas = (s.get("deploy") or {}).get("replicas")
    return 1 if replicas is None else int(replicas)


def _check_mounts(at: Path, s: Mapping[str, Any]) -> None:
    mounts: dict[str, str] = {}
    for i, tmpfs in enumerate(s.get("tmpfs") or ()):
        path = tmpfs.split(":", 1)[0]
        if path in mounts:
            raise field_error(at + ("tmpfs", i), f"target {path} already mounted as {mounts[path]}")
        mounts[path] = f"tmpfs[{i}]"
    for i, volume in enumerate(s.get("volumes") or ()):
        target = volume.get("target")
        if target in mounts:
            raise field_error(at + ("volumes", i), f"target {target} already mounted as {mounts[target]}")
        mounts[target] = f"volumes[{i}]"


def check_cycles(services: Mapping[str, Mapping[str, Any]]) -> None:
    """Refuse dependency cycles (depends_on, including what links and volumes_from imply)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for dep in (services[name].get("depends_on") or {}):
            if dep not in services:
                continue
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise field_error(("services", name, "depends_on", dep), "dependency cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[name] = 2

    for name in sorted(services):
        if name not in state:
            visit(name)
