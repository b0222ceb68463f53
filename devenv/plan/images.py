"""Images for `up`: pull or build per pull policy and flags; which image IDs the containers get."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.model import Project, Service, thaw
from devenv.plan import naming
from devenv.plan.actions import Op, PlanBuilder
from devenv.plan.errors import PlanError
from devenv.plan.observed import ObservedState
from devenv.plan.support import PULL_POLICIES


@dataclasses.dataclass(frozen=True)
class ImageStep:
    """A service's image: its reference, the local ID, and the action (if any) that pulls or builds it."""

    reference: str
    current_id: str | None  # the local image's ID now (None: missing)
    action: str | None = None  # the pull_image / build_image action id

    @property
    def pending(self) -> bool:
        """The ID the containers get is only known once the action has run."""
        return self.action is not None


def _decide(
    service: Service, reference: str, current: str | None, *, pull: str | None, build: bool, no_build: bool
) -> tuple[Op, str] | None:
    """What to do for one service's image, and why; None when the local image will do."""
    policy = pull or PULL_POLICIES.get(service.get("pull_policy") or "", "missing")
    has_build = service.build is not None
    if has_build and build:
        return Op.BUILD_IMAGE, "--build"
    if has_build and policy == "build" and not no_build:
        return Op.BUILD_IMAGE, "pull_policy: build"
    if policy == "always" and service.image:
        return Op.PULL_IMAGE, "--pull always" if pull else "pull_policy: always"
    if current is not None:
        return None
    if has_build:
        if no_build:
            raise PlanError(f"service {service.name}: image {reference} is missing and --no-build was given")
        return Op.BUILD_IMAGE, "missing locally"
    if policy == "never":
        raise PlanError(f"service {service.name}: image {reference} is missing and the pull policy is 'never'")
    return Op.PULL_IMAGE, "missing locally"


def build_payload(project: Project, service: Service, config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A build_image action's payload: the image, the canonical build mapping (`config` when a
    command overrides it, e.g. `build --no-cache`) with Compose's image labels added, and the
    project-level definitions of the secrets the build names."""
    build_cfg = thaw(service.build) if config is None else dict(config)
    if isinstance(build_cfg, str):
        build_cfg = {"context": build_cfg}
    build_cfg["labels"] = {**(build_cfg.get("labels") or {}), **naming.image_labels(project.name, service.name)}
    secrets = {}
    for ref in build_cfg.get("secrets") or ():
        source = ref if isinstance(ref, str) else ref.get("source")
        if source in project.secrets:
            definition = thaw(project.secrets[source])
            variable = definition.get("environment")
            if variable and variable in project.environment:  # what interpolation saw: the shell and .env
                definition["resolved"] = project.environment[variable]
            secrets[source] = definition
    return {
        "image": naming.image_name(project.name, service), "platform": service.get("platform"),
        "service": service.name, "build": build_cfg, "secrets": secrets,
    }


def plan_images(
    b: PlanBuilder, project: Project, observed: ObservedState, services: Iterable[Service], *, pull: str | None, build: bool, no_build: bool
) -> dict[str, ImageStep]:
    """Service name -> its ImageStep; one action per reference even when services share it."""
    steps: dict[str, ImageStep] = {}
    by_reference: dict[str, str] = {}
    for service in services:
        reference = naming.image_name(project.name, service)
        current = observed.image_id(reference)
        decision = _decide(service, reference, current, pull=pull, build=build, no_build=no_build)
        action = None
        if reference in by_reference:
            action = by_reference[reference] or None
        elif decision is not None:
            op, reason = decision
            payload: dict = {"image": reference, "platform": service.get("platform")}
            if op == Op.BUILD_IMAGE:
                payload = build_payload(project, service)
            action = b.add(op, reference, reason, payload=payload, service=service.name)
        by_reference.setdefault(reference, action or "")
        steps[service.name] = ImageStep(reference, current, action)
    return steps
