"""Reading what the engine holds for a project: containers, networks and volumes by label (and by
the names the model gives), and the IDs of the images the model names."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from devenv.engine.api import is_not_found
from devenv.engine.background import Background
from devenv.model import Project
from devenv.plan import ObservedState
from devenv.plan.naming import image_name, project_filter

if TYPE_CHECKING:
    from devenv.engine.client import Engine


def image_references(project: Project) -> set[str]:
    refs = set()
    for service in list(project.services.values()) + list(project.disabled_services.values()):
        refs.add(image_name(project.name, service))
    return refs


def image_ids(client: Engine, references: Iterable[str]) -> dict[str, str]:
    """Image ID per reference that exists locally: one list call, matched on tags and digests."""
    wanted = set(references)
    if not wanted:
        return {}
    found: dict[str, str] = {}
    for image in client.api.images(all=False):
        for tag in (image.get("RepoTags") or []) + (image.get("RepoDigests") or []):
            found[tag] = image["Id"]
            if tag.startswith("docker.io/library/"):
                found[tag[len("docker.io/library/") :]] = image["Id"]
    out = {}
    for ref in wanted:
        for candidate in _spellings(ref):
            if candidate in found:
                out[ref] = found[candidate]
                break
    return out


def _spellings(reference: str) -> list[str]:
    last = reference.rsplit("/", 1)[-1]
    names = [reference]
    if "@" not in reference and ":" not in last:
        names.append(reference + ":latest")
    for prefix in ("docker.io/library/", "docker.io/", "index.docker.io/library/"):
        if reference.startswith(prefix):
            names += [n[len(prefix) :] for n in list(names)]
    return names


def _named(client: Engine, kind: str, names: Iterable[str]) -> list[dict[str, Any]]:
    """Inspect the objects with exactly these names (external or `name:`-d), skipping missing ones."""
    out = []
    for name in names:
        try:
            out.append(client.api.inspect_network(name) if kind == "networks" else client.api.inspect_volume(name))
        except Exception as exc:
            if not is_not_found(exc):
                raise
    return out


def observe(client: Engine, project: Project, images: bool = True) -> ObservedState:
    """Everything the planner needs, in a few parallel calls (the local images only if `images`:
    `down`, `stop`... do not look at them, and listing them is work for a busy engine)."""
    filters = project_filter(project.name)
    net_names = {n.get("name") for n in project.networks.values() if n and n.get("name")}
    vol_names = {v.get("name") for v in project.volumes.values() if v and v.get("name")}
    containers = Background(client.api.containers, all=True, filters=filters)
    networks = Background(client.api.networks, filters=filters)
    volumes = Background(client.api.volumes, filters=filters)
    found_images = Background(image_ids, client, image_references(project) if images else ())
    labelled_networks = networks.result()
    labelled_volumes = volumes.result()
    extra_nets = Background(_named, client, "networks", net_names - {n["Name"] for n in labelled_networks})
    extra_vols = Background(_named, client, "volumes", vol_names - {v["Name"] for v in labelled_volumes})
    return ObservedState.from_inspect(
        project.name,
        containers=containers.result(),
        networks=labelled_networks + extra_nets.result(),
        volumes=labelled_volumes + extra_vols.result(),
        images=found_images.result(),
    )
