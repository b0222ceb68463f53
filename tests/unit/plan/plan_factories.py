"""Small factories of canonical Compose data and an in-memory engine that applies plans.

The canonical dicts are shaped exactly as `docker compose config --format json` (v2.40.3) prints
them; `simulate` applies a plan to an ObservedState the way the engine would, so that a test can
say "up, then up again: nothing to do" without Docker.
"""

from __future__ import annotations

import dataclasses
import hashlib
from types import MappingProxyType
from typing import Any, Mapping

from devenv.model import Project, thaw
from devenv.plan import naming
from devenv.plan.actions import Op, Plan
from devenv.plan.observed import ObservedContainer, ObservedMount, ObservedNetwork, ObservedState, ObservedVolume

IMAGE = "devenv/busybox:latest"
IMAGE_ID = "sha256:" + "b" * 64
NEW_IMAGE_ID = "sha256:" + "c" * 64


def svc(**config: Any) -> dict[str, Any]:
    """A canonical service: image, null command/entrypoint, the default network (unless network_mode)."""
    out: dict[str, Any] = {"command": None, "entrypoint": None, "image": IMAGE}
    if "network_mode" not in config:
        out["networks"] = {"default": None}
    out.update(config)
    return {k: v for k, v in out.items() if v is not ...}


def make_project(
    services: Mapping[str, Mapping[str, Any]],
    *,
    name: str = "demo",
    networks: Mapping[str, Any] | None = None,
    volumes: Mapping[str, Any] | None = None,
    disabled: Mapping[str, Mapping[str, Any]] | None = None,
    working_dir: str = "/src/demo",
) -> Project:
    """A Project from canonical service dicts; networks/volumes get their canonical `name`."""
    data: dict[str, Any] = {"name": name, "services": thaw(dict(services))}
    nets = dict(networks or {})
    if any(not s.get("network_mode") for s in services.values()) and "default" not in nets:
        nets["default"] = {}
    data["networks"] = {k: {"name": f"{name}_{k}", "ipam": {}, **v} for k, v in nets.items()}
    data["volumes"] = {k: {"name": f"{name}_{k}", **v} for k, v in (volumes or {}).items()}
    project = Project.from_dict(data, working_dir=working_dir, compose_files=(f"{working_dir}/compose.yaml",))
    if disabled:
        other = Project.from_dict({"name": name, "services": thaw(dict(disabled))})
        project = dataclasses.replace(project, disabled_services=other.services)
    return project


def empty_state(project: Project, images: Mapping[str, str] | None = None) -> ObservedState:
    """Nothing on the engine but the images (by default the busybox image every factory uses)."""
    return ObservedState(project.name, images=MappingProxyType(dict({IMAGE: IMAGE_ID} if images is None else images)))


def _anon(container: str, target: str) -> str:
    return hashlib.sha256(f"{container}{target}".encode()).hexdigest()


def _mounts(name: str, host: Mapping[str, Any]) -> tuple[ObservedMount, ...]:
    out = []
    for bind in host.get("Binds") or ():
        source, target = bind.split(":")[:2]
        if source.startswith("/"):
            out.append(ObservedMount("bind", "", source, target))
        else:
            out.append(ObservedMount("volume", source, f"/var/lib/docker/volumes/{source}/_data", target))
    for mount in host.get("Mounts") or ():
        if mount["Type"] == "volume":
            volume = mount.get("Source") or _anon(name, mount["Target"])
            out.append(ObservedMount("volume", volume, f"/var/lib/docker/volumes/{volume}/_data", mount["Target"]))
        else:
            out.append(ObservedMount(mount["Type"], "", mount.get("Source", ""), mount["Target"]))
    return tuple(out)


def simulate(plan: Plan, state: ObservedState, *, built: Mapping[str, str] | None = None) -> ObservedState:
    """Apply `plan` as the engine would, checking that every action's `after` ran before it.

    Pulled and built images get `built[reference]` (default NEW_IMAGE_ID). Containers become healthy
    when started if they have a healthcheck; a stopped container exits with 0.
    """
    containers = {c.name: c for c in state.containers}
    networks = {n.name: n for n in state.networks}
    volumes = {v.name: v for v in state.volumes}
    images = dict(state.images)
    done: set[str] = set()
    for action in plan:
        missing = [a for a in action.after if a not in done]
        assert not missing, f"{action.id} runs before {missing}"
        p = action.payload
        if action.op == Op.CREATE_NETWORK:
            body = p.body
            assert body["Name"] not in networks, f"network {body['Name']} exists"
            networks[body["Name"]] = ObservedNetwork(
                id="net-" + body["Name"],
                name=body["Name"],
                driver=body.get("Driver", "bridge"),
                options=MappingProxyType(dict(body.get("Options") or {})),
                labels=MappingProxyType(dict(body["Labels"])),
                internal=bool(body.get("Internal")),
                attachable=bool(body.get("Attachable")),
                enable_ipv6=bool(body.get("EnableIPv6")),
                ipam_config=tuple(MappingProxyType(c) for c in (body.get("IPAM") or {}).get("Config") or ()),
            )
        elif action.op == Op.CREATE_VOLUME:
            body = p.body
            volumes[body["Name"]] = ObservedVolume(
                body["Name"], body["Driver"], MappingProxyType(dict(body.get("DriverOpts") or {})), MappingProxyType(dict(body["Labels"]))
            )
        elif action.op in (Op.PULL_IMAGE, Op.BUILD_IMAGE):
            images[action.target] = (built or {}).get(action.target, NEW_IMAGE_ID)
        elif action.op == Op.CREATE_CONTAINER:
            spec = p.spec
            if p.image_pending:
                spec = spec.with_image_id(images[spec.image])
            assert spec.image_id, f"{spec.name} created without an image ID"
            assert spec.name not in containers, f"container {spec.name} exists"
            body = spec.create_body()
            host = body["HostConfig"]
            nets = {}
            for net in (body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {}:
                assert net in networks, f"{spec.name}: network {net} missing"
                nets[net] = networks[net].id
            for mount in _mounts(spec.name, host):
                assert mount.type != "volume" or mount.name in volumes or len(mount.name) == 64, f"volume {mount.name} missing"
            containers[spec.name] = ObservedContainer(
                id="id-" + spec.name,
                name=spec.name,
                project=body["Labels"][naming.PROJECT_LABEL],
                service=spec.service,
                number=spec.number or 0,
                oneoff=False,
                state="created",
                labels=MappingProxyType(dict(body["Labels"])),
                image_id=spec.image_id,
                networks=MappingProxyType(nets),
                mounts=_mounts(spec.name, host),
            )
            containers[spec.name] = dataclasses.replace(containers[spec.name], health="starting" if body.get("Healthcheck", {}).get("Test", ["NONE"]) != ["NONE"] else "none")
        elif action.op == Op.CONNECT_NETWORK:
            c = containers[action.target]
            assert p.network in networks, f"network {p.network} missing"
            containers[c.name] = dataclasses.replace(c, networks=MappingProxyType({**c.networks, p.network: networks[p.network].id}))
        elif action.op in (Op.START_CONTAINER, Op.UNPAUSE_CONTAINER):
            c = containers[action.target]
            containers[c.name] = dataclasses.replace(c, state="running", exit_code=None, health="healthy" if c.health != "none" else "none")
        elif action.op == Op.STOP_CONTAINER:
            c = containers[action.target]
            containers[c.name] = dataclasses.replace(c, state="exited", exit_code=0)
        elif action.op == Op.REMOVE_CONTAINER:
            assert not containers[action.target].is_running, f"{action.target} removed while running"
            del containers[action.target]
        elif action.op == Op.REMOVE_NETWORK:
            del networks[action.target]
        elif action.op == Op.REMOVE_VOLUME:
            volumes.pop(action.target, None)
        done.add(action.id)
    return ObservedState(
        state.project, tuple(containers.values()), tuple(networks.values()), tuple(volumes.values()), MappingProxyType(images)
    )


def container(state: ObservedState, name: str) -> ObservedContainer:
    for c in state.containers:
        if c.name == name:
            return c
    raise KeyError(name)


def replace_container(observed: ObservedState, name: str, **changes: Any) -> ObservedState:
    """The same state with one container changed (its state, labels...)."""
    return dataclasses.replace(observed, containers=tuple(dataclasses.replace(c, **changes) if c.name == name else c for c in observed.containers))


def foreign_container(name: str, project: str, service: str, number: int = 1, state: str = "running", **labels: str) -> ObservedContainer:
    """A container as another tool or project left it: only labels."""
    all_labels = {naming.PROJECT_LABEL: project, naming.SERVICE_LABEL: service, naming.CONTAINER_NUMBER_LABEL: str(number), naming.ONEOFF_LABEL: "False", **labels}
    return ObservedContainer(
        id="id-" + name, name=name, project=project, service=service, number=number, oneoff=all_labels[naming.ONEOFF_LABEL] == "True",
        state=state, labels=MappingProxyType(all_labels),
    )
