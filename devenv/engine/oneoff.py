"""An image made on demand (`push` of a service whose image is missing): built or pulled, checked first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from devenv.engine.api import is_not_found
from devenv.errors import EngineError
from devenv.model import Project, Service
from devenv.plan import Op, Plan
from devenv.plan.images import image_action
from devenv.plan.naming import image_name

if TYPE_CHECKING:
    from devenv.engine.client import Engine


def ensure_image(client: Engine, project: Project, service: Service, say: Callable[[str], None]) -> str:
    """The service's image ID, building or pulling it first when it is missing."""
    from devenv.engine.apply import run_images

    reference = image_name(project.name, service)
    try:
        return client.api.inspect_image(reference)["Id"]
    except Exception as exc:
        if not is_not_found(exc):
            raise
    action = image_action(project, service, Op.BUILD_IMAGE if service.build is not None else Op.PULL_IMAGE, "missing locally")
    say(f"  … {action.describe()}")
    outcomes = run_images(client, project, Plan("images", project.name, (action,)))
    if not outcomes or not outcomes[0].ok:
        raise EngineError(f"{action.describe()} failed: {outcomes[0].detail if outcomes else 'not run'}")
    return client.api.inspect_image(reference)["Id"]


def start(client: Engine, container: str) -> None:
    client.api.start(container)


def remove(client: Engine, container: str) -> None:
    """Remove the one-off container and its anonymous volumes (`run --rm`); gone already is fine."""
    try:
        client.api.remove_container(container, v=True, force=True)
    except Exception as exc:
        if not is_not_found(exc):
            raise
