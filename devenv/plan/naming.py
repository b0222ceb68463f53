"""Names and labels exactly as Docker Compose v2 gives them, so `docker compose ps` sees devenv's objects.

Checked against Compose v2.40.3 (pkg/api/labels.go, create.go, run.go) and against what it really puts
on a container, network and volume of a 20.10 engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from devenv.model import Project, Service

SEPARATOR = "-"

PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
CONFIG_HASH_LABEL = "com.docker.compose.config-hash"
CONTAINER_NUMBER_LABEL = "com.docker.compose.container-number"
ONEOFF_LABEL = "com.docker.compose.oneoff"
SLUG_LABEL = "com.docker.compose.slug"
IMAGE_LABEL = "com.docker.compose.image"  # the image ID the container was created from
DEPENDS_ON_LABEL = "com.docker.compose.depends_on"
VERSION_LABEL = "com.docker.compose.version"
WORKING_DIR_LABEL = "com.docker.compose.project.working_dir"
CONFIG_FILES_LABEL = "com.docker.compose.project.config_files"
ENVIRONMENT_FILE_LABEL = "com.docker.compose.project.environment_file"  # only when --env-file was given
REPLACE_LABEL = "com.docker.compose.replace"  # `{service}-{n}` of the container this one replaces
NETWORK_LABEL = "com.docker.compose.network"
VOLUME_LABEL = "com.docker.compose.volume"

# devenv's own: short per-field digests, so a plan can say which fields changed.
CONFIG_DIGEST_LABEL = "io.devenv.config-digest"

# The Compose version devenv mimics; Compose writes its own version in VERSION_LABEL.
COMPOSE_VERSION = "2.40.3"


def container_name(project: str, service: Service | str, number: int) -> str:
    """`{project}-{service}-{n}`, or the service's `container_name` when it sets one."""
    if isinstance(service, Service):
        if service.get("container_name"):
            return str(service.get("container_name"))
        service = service.name
    return SEPARATOR.join((project, service, str(number)))


def short_container_name(service: Service | str, number: int) -> str:
    """`{service}-{n}`: the name without the project, as in the replace label and link aliases."""
    name = service.name if isinstance(service, Service) else service
    return f"{name}{SEPARATOR}{number}"


def oneoff_container_name(project: str, service: str, slug: str) -> str:
    """`{project}-{service}-run-{12 hex}` for a `run` container; `slug` is its 64-hex identity."""
    return SEPARATOR.join((project, service, "run", slug[:12]))


def network_name(project: str, key: str, config: Mapping[str, Any] | None = None) -> str:
    """The engine name of network `key`; the canonical form already resolves it into `name`."""
    if config and config.get("name"):
        return str(config["name"])
    return f"{project}_{key}"


def volume_name(project: str, key: str, config: Mapping[str, Any] | None = None) -> str:
    """The engine name of volume `key`; the canonical form already resolves it into `name`."""
    return network_name(project, key, config)


def image_name(project: str, service: Service) -> str:
    """The service's image reference; `{project}-{service}` for a build-only service."""
    return service.image or f"{project}{SEPARATOR}{service.name}"


def depends_on_label(service: Service) -> str:
    """`dep:condition:restart` for each depends_on entry, comma-separated (sorted: Compose's order is random)."""
    parts = [f"{d.service}:{d.condition}:{str(bool(d.restart)).lower()}" for d in service.depends_on]
    return ",".join(sorted(parts))


def container_labels(
    project: Project,
    service: Service,
    number: int | None,
    *,
    config_hash: str,
    config_digest: str = "",
    image_id: str | None = None,
    oneoff: bool = False,
    slug: str | None = None,
    replace: str | None = None,
    env_files: Iterable[str] = (),
    version: str = COMPOSE_VERSION,
) -> dict[str, str]:
    """The service's own labels, then every label Compose v2 sets on a container (Compose's win)."""
    labels = {str(k): "" if v is None else str(v) for k, v in (service.get("labels") or {}).items()}
    labels.update(
        {
            PROJECT_LABEL: project.name,
            SERVICE_LABEL: service.name,
            VERSION_LABEL: version,
            WORKING_DIR_LABEL: project.working_dir,
            CONFIG_FILES_LABEL: ",".join(project.compose_files),
            ONEOFF_LABEL: "True" if oneoff else "False",
            CONFIG_HASH_LABEL: config_hash,
            DEPENDS_ON_LABEL: depends_on_label(service),
        }
    )
    env_files = tuple(env_files)
    if env_files:
        labels[ENVIRONMENT_FILE_LABEL] = ",".join(env_files)
    if number is not None and not oneoff:
        labels[CONTAINER_NUMBER_LABEL] = str(number)
    if image_id:
        labels[IMAGE_LABEL] = image_id
    if slug:
        labels[SLUG_LABEL] = slug
    if replace:
        labels[REPLACE_LABEL] = replace
    if config_digest:
        labels[CONFIG_DIGEST_LABEL] = config_digest
    return labels


def network_labels(
    project: str, key: str, config: Mapping[str, Any], *, config_hash: str = "", version: str = COMPOSE_VERSION
) -> dict[str, str]:
    """The network's own labels plus Compose's project/network/version (and config-hash) labels."""
    return _resource_labels(project, NETWORK_LABEL, key, config, config_hash, version)


def volume_labels(
    project: str, key: str, config: Mapping[str, Any], *, config_hash: str = "", version: str = COMPOSE_VERSION
) -> dict[str, str]:
    """The volume's own labels plus Compose's project/volume/version (and config-hash) labels."""
    return _resource_labels(project, VOLUME_LABEL, key, config, config_hash, version)


def _resource_labels(project: str, kind_label: str, key: str, config: Mapping[str, Any], config_hash: str, version: str) -> dict[str, str]:
    labels = {str(k): "" if v is None else str(v) for k, v in (config.get("labels") or {}).items()}
    labels.update({kind_label: key, PROJECT_LABEL: project, VERSION_LABEL: version})
    if config_hash:
        labels[CONFIG_HASH_LABEL] = config_hash
    return labels


def project_filter(project: str) -> dict[str, list[str]]:
    """The Engine API `filters` that select one project's objects (containers, networks, volumes)."""
    return {"label": [f"{PROJECT_LABEL}={project}"]}


def image_labels(project: str, service: str, version: str = COMPOSE_VERSION) -> dict[str, str]:
    """The labels Compose puts on the images it builds (added to the build's own labels)."""
    return {PROJECT_LABEL: project, SERVICE_LABEL: service, VERSION_LABEL: version}
