"""Images: the one place pull and build actions are made (`up`, `run`, `build`, `pull`, `push`)
and builds are checked; per pull policy and flags, which image IDs the containers get."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.model import Project, Service, thaw
from devenv.plan import naming
from devenv.plan.actions import Action, Op, PlanBuilder, action_id
from devenv.plan.errors import PlanError
from devenv.plan.observed import ObservedState
from devenv.plan.payloads import BuildImage, PullImage
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


def build_payload(project: Project, service: Service, config: Mapping[str, Any] | None = None) -> BuildImage:
    """A build_image action's payload: the image, the canonical build mapping (`config` when a
    command overrides it, e.g. `build --no-cache`) with Compose's image labels added, and the
    project-level definitions of the secrets the build names."""
    build_cfg = thaw(service.build) if config is None else thaw(config)
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
    return BuildImage(naming.image_name(project.name, service), service.name, build_cfg, service.get("platform"), secrets)


def pull_payload(project: Project, service: Service) -> PullImage:
    return PullImage(naming.image_name(project.name, service), service.get("platform"))


def image_action(
    project: Project, service: Service, op: Op, reason: str, *, no_cache: bool = False, pull: bool = False,
    args: Mapping[str, str] | None = None, also_tag: tuple[str, ...] = (),
) -> Action:
    """The one pull_image or build_image action for a service's image (`up`, `run`, `build`, `pull`):
    `no_cache`, `pull` and `args` are `devenv build`'s overrides of the build section; `also_tag`:
    the references of other services with the same build section, tagged by this one build."""
    if op is Op.PULL_IMAGE:
        payload: PullImage | BuildImage = pull_payload(project, service)
    else:
        assert op is Op.BUILD_IMAGE and service.build is not None, (op, service.name)
        config = thaw(service.build)
        if isinstance(config, str):
            config = {"context": config}
        if no_cache:
            config["no_cache"] = True
        if pull:
            config["pull"] = True
        if args:
            config["args"] = {**(config.get("args") or {}), **args}
        if also_tag:
            config["tags"] = [*(config.get("tags") or ()), *(t for t in also_tag if t not in (config.get("tags") or ()))]
            reason = f"{reason}; also {', '.join(also_tag)} (the same build)"
        payload = build_payload(project, service, config)
    target = payload.image
    return Action(action_id(op, target), op, target, reason, payload=payload, service=service.name)


def check_builds(project: Project, actions: Iterable[Action], *, several_platforms: bool, builder: str) -> None:
    """Refuse, before anything is built, a build the builder cannot make: one line naming the
    service and the field. `several_platforms`: the builder can build for more than one platform
    at once (buildx); `builder`: how to name it. One platform (the engine's, as a rule) builds
    with any builder; the image is loaded into the engine's store, where containers run it."""
    for action in actions:
        if not isinstance(action.payload, BuildImage):
            continue
        payload = action.payload
        listed = tuple(str(p) for p in payload.build.get("platforms") or ())
        if len(listed) > 1 and not several_platforms:
            raise project.field_error(
                ("services", payload.service, "build", "platforms"),
                f"{len(listed)} platforms ({', '.join(listed)}): building more than one at once needs buildx, "
                f"and {builder} builds one (list only the engine's)",
            )


def plan_images(
    b: PlanBuilder, project: Project, observed: ObservedState, services: Iterable[Service], *, pull: str | None, build: bool, no_build: bool
) -> dict[str, ImageStep]:
    """Service name -> its ImageStep; one action per reference even when services share it, and one
    build for services whose `build` sections are the same (the others' references are tags of it)."""
    services = list(services)
    decided = []
    shared: dict[str, list[str]] = {}  # the first service of a build -> the references its build also tags
    first_of: dict[str, str] = {}  # a service whose identical build an earlier one makes -> that one
    builds: dict[str, str] = {}  # build identity -> the first service building it
    seen: set[str] = set()
    for service in services:
        reference = naming.image_name(project.name, service)
        current = observed.image_id(reference)
        decision = _decide(service, reference, current, pull=pull, build=build, no_build=no_build)
        decided.append((service, reference, current, decision))
        if decision is None or decision[0] is not Op.BUILD_IMAGE or reference in seen:
            seen.add(reference)
            continue
        seen.add(reference)
        key = _build_identity(service)
        if key in builds:
            first_of[service.name] = builds[key]
            shared.setdefault(builds[key], []).append(reference)
        else:
            builds[key] = service.name
    steps: dict[str, ImageStep] = {}
    by_reference: dict[str, str] = {}
    by_service: dict[str, str] = {}
    for service, reference, current, decision in decided:
        action = None
        if reference in by_reference:
            action = by_reference[reference] or None
        elif service.name in first_of:
            action = by_service[first_of[service.name]]
        elif decision is not None:
            made = image_action(project, service, *decision, also_tag=tuple(shared.get(service.name, ())))
            action = b.add(made.op, made.target, made.reason, payload=made.payload, service=made.service)
        by_reference.setdefault(reference, action or "")
        if action:
            by_service[service.name] = action
        steps[service.name] = ImageStep(reference, current, action)
    return steps


def _build_identity(service: Service) -> str:
    """What makes two services' builds one: the same build section for the same platform."""
    import json

    return json.dumps([thaw(service.build), service.get("platform")], sort_keys=True, default=str)
