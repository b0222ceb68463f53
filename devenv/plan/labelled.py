"""A project seen only through the engine's labels, for `devenv -p NAME CMD` where there is no
Compose file (as Compose does): its services are those its containers name, each with the image it
runs and the dependencies its `depends_on` label records, so that `down`, `stop`, `restart`... keep
their dependency order; its networks and volumes are those carrying its project label.

Also the projects on the engine as `ls` shows them. Pure functions of the Engine API's list JSON.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from devenv.model import Project, Service, freeze
from devenv.plan import naming
from devenv.plan.shipping import is_shipped_volume

OBSERVED_EXTENSION = "x-devenv-observed"  # marks a project built from labels, not from a file
CONDITIONS = ("service_started", "service_healthy", "service_completed_successfully")


def parse_depends_on(label: str) -> dict[str, dict[str, Any]]:
    """`db:service_healthy:false,cache:service_started:true` -> depends_on in its long form.

    A malformed entry keeps what it names (`db` alone: started, no restart)."""
    out: dict[str, dict[str, Any]] = {}
    for item in (label or "").split(","):
        parts = item.strip().split(":")
        if not parts[0]:
            continue
        condition = parts[1] if len(parts) > 1 and parts[1] in CONDITIONS else "service_started"
        restart = len(parts) > 2 and parts[2].lower() == "true"
        out[parts[0]] = {"condition": condition, "required": True, "restart": restart}
    return out


def _labels(item: Mapping[str, Any]) -> Mapping[str, str]:
    labels = item.get("Labels")
    if labels is None and isinstance(item.get("Config"), Mapping):  # inspect JSON
        labels = item["Config"].get("Labels")
    return labels or {}


def _image(item: Mapping[str, Any]) -> str:
    if isinstance(item.get("Config"), Mapping):
        return str(item["Config"].get("Image") or "")
    return str(item.get("Image") or "")


def _number(labels: Mapping[str, str]) -> int:
    value = labels.get(naming.CONTAINER_NUMBER_LABEL, "")
    return int(value) if value.isdigit() else 0


def project_from_labels(
    name: str,
    containers: Iterable[Mapping[str, Any]],
    networks: Iterable[Mapping[str, Any]] = (),
    volumes: Iterable[Mapping[str, Any]] = (),
    *,
    cwd: str = ".",
) -> Project | None:
    """The project `name` as its labelled containers, networks and volumes describe it; None when
    nothing on the engine carries its label. Objects of other projects are ignored."""
    mine = [c for c in containers if _labels(c).get(naming.PROJECT_LABEL) == name]
    nets = [n for n in networks if _labels(n).get(naming.PROJECT_LABEL) == name]
    vols = [v for v in volumes if _labels(v).get(naming.PROJECT_LABEL) == name and not is_shipped_volume(_labels(v))]
    if not (mine or nets or vols):
        return None
    # The service's config from its lowest-numbered regular container (one-offs only if nothing else).
    ordered = sorted(
        mine, key=lambda c: (_labels(c).get(naming.ONEOFF_LABEL) == "True", _number(_labels(c)), str(c.get("Id", "")))
    )
    services: dict[str, dict[str, Any]] = {}
    counts: dict[str, int] = {}
    working_dir, config_files = "", ""
    for c in ordered:
        labels = _labels(c)
        service = labels.get(naming.SERVICE_LABEL, "")
        if not service:
            continue
        working_dir = working_dir or labels.get(naming.WORKING_DIR_LABEL, "")
        config_files = config_files or labels.get(naming.CONFIG_FILES_LABEL, "")
        if labels.get(naming.ONEOFF_LABEL) != "True":
            counts[service] = counts.get(service, 0) + 1
        if service in services:
            continue
        config: dict[str, Any] = {"image": _image(c)}
        depends = parse_depends_on(labels.get(naming.DEPENDS_ON_LABEL, ""))
        if depends:
            config["depends_on"] = depends
        services[service] = config
    for service, config in services.items():
        # Only dependencies that are there: the graph must hold (a missing one has nothing to order).
        depends = {k: v for k, v in (config.get("depends_on") or {}).items() if k in services and k != service}
        if depends:
            config["depends_on"] = depends
        else:
            config.pop("depends_on", None)
        config["scale"] = counts.get(service, 0)
    return Project(
        name=name,
        working_dir=working_dir or cwd,
        services=MappingProxyType({s: Service(name=s, config=freeze(cfg)) for s, cfg in sorted(services.items())}),
        networks=freeze(_resources(nets, naming.NETWORK_LABEL)),
        volumes=freeze(_resources(vols, naming.VOLUME_LABEL)),
        extensions=freeze({OBSERVED_EXTENSION: True}),
        compose_files=tuple(f for f in config_files.split(",") if f),
    )


def _resources(items: Iterable[Mapping[str, Any]], key_label: str) -> dict[str, dict[str, Any]]:
    """key -> {"name": engine name}: the name is what `down` needs to find and remove it."""
    out: dict[str, dict[str, Any]] = {}
    for item in sorted(items, key=lambda i: str(i.get("Name", ""))):
        engine_name = str(item.get("Name", ""))
        key = _labels(item).get(key_label) or engine_name
        while key in out:  # two objects claiming one key: keep both under distinct keys
            key += "_"
        out[key] = {"name": engine_name}
    return out


def is_observed(project: Project) -> bool:
    """Whether the project was built from the engine's labels (no Compose file was read)."""
    return bool(project.extensions.get(OBSERVED_EXTENSION))


# ------------------------------------------------------------------ `ls`


@dataclasses.dataclass(frozen=True)
class Stack:
    """One project as `ls` shows it (Compose's JSON field names in `to_dict`)."""

    name: str
    status: str  # `exited(1), running(2)`
    config_files: str

    def to_dict(self) -> dict[str, str]:
        return {"Name": self.name, "Status": self.status, "ConfigFiles": self.config_files}


def combined_status(states: Iterable[str]) -> str:
    """Compose's status of a project: each container state with its count, states sorted."""
    counts: dict[str, int] = {}
    for state in states:
        counts[state] = counts.get(state, 0) + 1
    return ", ".join(f"{state}({counts[state]})" for state in sorted(counts))


def stacks(containers: Iterable[Mapping[str, Any]]) -> list[Stack]:
    """The projects of these containers (list JSON), sorted by name, as Compose's `ls` groups them:
    only containers with a project and a config-hash label count (one-offs have no hash)."""
    groups: dict[str, list[Mapping[str, Any]]] = {}
    for c in containers:
        labels = _labels(c)
        project = labels.get(naming.PROJECT_LABEL)
        if project is None or naming.CONFIG_HASH_LABEL not in labels:
            continue
        groups.setdefault(project, []).append(c)
    out = []
    for project in sorted(groups):
        files: list[str] = []
        for c in groups[project]:
            value = _labels(c).get(naming.CONFIG_FILES_LABEL)
            if value is None:
                files = ["N/A"]
                break
            for f in value.split(","):
                if f not in files:
                    files.append(f)
        out.append(Stack(project, combined_status(str(c.get("State") or "") for c in groups[project]), ",".join(files)))
    return out
