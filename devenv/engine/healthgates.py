"""`depends_on: {db: {condition: service_healthy}}` needs db to have a healthcheck. When the file
gives db none, the image may: devenv reads it (image or container inspect, `Config.Healthcheck`)
before the plan creates or starts anything, and refuses the plan with the file and line of the
`depends_on` entry. Compose finds out only once it waits, with the project half made."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from devenv.model import Project
from devenv.plan import Plan
from devenv.plan.payloads import CreateContainer, WaitHealthy

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI


def has_healthcheck(config: Mapping[str, Any] | None) -> bool:
    """A `Config.Healthcheck` (of an image or a container) that runs a probe."""
    test = list(((config or {}).get("Healthcheck") or {}).get("Test") or ())
    return bool(test) and test[0] != "NONE"


def check_health_gates(api: EngineAPI, project: Project, plan: Plan) -> None:
    """Raise a ManifestError for the first required `service_healthy` dependency on a service that
    will have no healthcheck: none in the file, none in the image (or in its existing container)."""
    creates = {a.target: a.payload.spec for a in plan.actions if isinstance(a.payload, CreateContainer)}
    seen: dict[str, tuple[bool, str]] = {}  # image or container -> (has a healthcheck, where devenv looked)
    for action in plan.actions:
        if not isinstance(action.payload, WaitHealthy) or not action.payload.required:
            continue
        service = action.payload.service or action.service
        dependents = [d for d in action.payload.dependents if d != "--wait"]
        if not dependents or _file_defines_test(project, service):
            continue
        spec = creates.get(action.target)
        key = (spec.image_id or spec.image) if spec is not None else action.target
        if key not in seen:
            seen[key] = _healthcheck_of(api, action.target, spec, action.handle)
        found, where = seen[key]
        if not found:
            dependent = dependents[0]
            raise project.field_error(
                ("services", dependent, "depends_on", service),
                f"service {dependent!r} waits for {service!r} to be healthy, but {service!r} has no healthcheck "
                f"(none in the file, none in {where})",
            )


def _file_defines_test(project: Project, service: str) -> bool:
    svc = project.services.get(service) or project.disabled_services.get(service)
    health = (svc.get("healthcheck") if svc else None) or {}
    return bool(health.get("test")) and not health.get("disable")


def _healthcheck_of(api: EngineAPI, container: str, spec: Any, handle: str) -> tuple[bool, str]:
    from devenv.engine.api import is_not_found

    try:
        if spec is not None:  # created by this plan: from its image
            config = api.inspect_image(spec.image_id or spec.image).get("Config")
            return has_healthcheck(config), f"its image {spec.image}"
        info = api.inspect_container(handle)  # started by this plan: as it was created
        return has_healthcheck(info.get("Config")), f"its container {container}"
    except Exception as exc:
        if not is_not_found(exc):
            raise
        return True, ""  # nothing to look at: the wait itself says what is wrong
