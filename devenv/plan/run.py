"""The plan of `devenv run`: a one-off container of a service, as Compose's `run` makes it.

Its dependencies up first (unless --no-deps) and their conditions met (healthy, completed
successfully), the networks and volumes it uses, its image (built with --build, pulled with
--pull always, made when missing), then the one-off container itself: created, connected to its
other networks, its secrets and configs copied in, and started when detached (attached, the
command starts it with `docker start --attach`).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Mapping
from typing import Any

from devenv.errors import UsageError
from devenv.model import Project, Service, freeze, thaw
from devenv.plan import payloads
from devenv.plan.actions import Op, Plan, PlanBuilder, action_id
from devenv.plan.containerspec import ContainerSpec, container_spec, find_service
from devenv.plan.images import plan_images
from devenv.plan.infra import plan_networks, plan_volumes, used_networks, used_volumes
from devenv.plan.naming import container_name
from devenv.plan.observed import ObservedState
from devenv.plan.options import DEFAULT_PUBLISH_HOST, UpOptions
from devenv.plan.planner import plan_up

ONE_OFF = "one-off"  # the reason of the one-off container's own actions

_GATES: dict[str, tuple[Op, type[payloads.Gate]]] = {
    "service_healthy": (Op.WAIT_HEALTHY, payloads.WaitHealthy),
    "service_completed_successfully": (Op.WAIT_COMPLETED, payloads.WaitCompleted),
}


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """`devenv run SERVICE [COMMAND]`'s options, as the command line gave them."""

    service: str
    slug: str  # makes the container's name unique: {project}-{service}-run-{slug[:12]}
    command: tuple[str, ...] = ()
    entrypoint: str | None = None
    env: tuple[str, ...] = ()  # KEY=VALUE, resolved
    workdir: str | None = None
    user: str | None = None
    volumes: tuple[str, ...] = ()  # -v specs
    publish: tuple[str, ...] = ()  # -p specs
    service_ports: bool = False
    use_aliases: bool = False
    labels: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    tty: bool = False
    interactive: bool = True
    detach: bool = False
    remove: bool = False  # --rm
    name: str | None = None
    no_deps: bool = False
    build: bool = False
    pull: str | None = None  # always | missing | never
    remove_orphans: bool = False
    publish_host: str = DEFAULT_PUBLISH_HOST
    env_files: tuple[str, ...] = ()
    shipped: Mapping[str, Any] = dataclasses.field(default_factory=dict)  # local path -> its copy on a remote engine


def derive(project: Project, target: Service, options: RunOptions) -> tuple[Project, Service]:
    """The project and service a one-off container is made from, as Compose's `run` derives them:
    the service's canonical config with the command line's overrides (its own ports only with
    --service-ports; --publish, --volume, --label, --cap-add/--cap-drop added)."""
    from devenv.manifest.shortsyntax import SyntaxProblem, parse_port, parse_volume

    if options.service_ports and options.publish:
        raise UsageError("--service-ports and --publish are incompatible")
    cfg = thaw(target.config)
    if options.command:
        cfg["command"] = list(options.command)
    if options.entrypoint is not None:
        cfg["entrypoint"] = shlex.split(options.entrypoint) if options.entrypoint else [""]
        if not options.command:
            cfg.pop("command", None)
    if options.env:
        environment = dict(cfg.get("environment") or {})
        for item in options.env:
            key, _, value = item.partition("=")
            environment[key] = value
        cfg["environment"] = environment
    if options.workdir:
        cfg["working_dir"] = options.workdir
    if options.user:
        cfg["user"] = options.user
    cfg["tty"], cfg["stdin_open"] = options.tty, options.interactive
    if not options.service_ports:
        ports = []
        for spec in options.publish:
            try:
                ports += parse_port(spec)
            except SyntaxProblem as exc:
                raise UsageError(f"invalid --publish {spec!r}: {exc}") from None
        cfg["ports"] = ports
    volumes_declared = dict(project.volumes)
    if options.volumes:
        mounts = list(cfg.get("volumes") or ())
        for spec in options.volumes:
            try:
                mount = parse_volume(spec)
            except SyntaxProblem as exc:
                raise UsageError(f"invalid --volume {spec!r}: {exc}") from None
            source = mount.get("source")
            if mount["type"] == "bind" and source:
                source = os.path.expanduser(source)
                mount["source"] = os.path.normpath(os.path.join(project.working_dir, source))
            elif mount["type"] == "volume" and source and source not in volumes_declared:
                # a volume the project does not declare: used by its own name (the engine makes it)
                volumes_declared[source] = freeze({"name": source, "external": True})
            mounts = [m for m in mounts if m.get("target") != mount["target"]] + [mount]
        cfg["volumes"] = mounts
    if options.labels:
        cfg["labels"] = {**(cfg.get("labels") or {}), **options.labels}
    if options.cap_add:
        cfg["cap_add"] = list(dict.fromkeys([*(cfg.get("cap_add") or ()), *options.cap_add]))
        cfg["cap_drop"] = [c for c in cfg.get("cap_drop") or () if c not in options.cap_add]
    if options.cap_drop:
        cfg["cap_drop"] = list(dict.fromkeys([*(cfg.get("cap_drop") or ()), *options.cap_drop]))
        cfg["cap_add"] = [c for c in cfg.get("cap_add") or () if c not in options.cap_drop]
    for key in ("cap_add", "cap_drop"):
        if key in cfg and not cfg[key]:
            del cfg[key]
    return dataclasses.replace(project, volumes=freeze(volumes_declared)), Service(target.name, freeze(cfg))


def oneoff_spec(project: Project, service: Service, image_id: str | None, options: RunOptions) -> ContainerSpec:
    """The one-off container: the derived service's spec with what `run` sets on top (a terminal,
    stdin, no restart policy, AutoRemove for --rm --detach, the --name)."""
    spec = container_spec(project, service, None, image_id=image_id, publish_host=options.publish_host, slug=options.slug,
                          env_files=options.env_files, use_aliases=options.use_aliases, shipped=options.shipped)
    body = spec.create_body()
    interactive = options.interactive and not options.detach
    body.update(Tty=options.tty, OpenStdin=interactive, StdinOnce=interactive, AttachStdin=interactive,
                AttachStdout=True, AttachStderr=True)
    host = body.setdefault("HostConfig", {})
    if options.remove and options.detach:
        host["AutoRemove"] = True
    host["RestartPolicy"] = {"Name": "no"}
    return dataclasses.replace(spec, name=options.name or spec.name, body=freeze(body))


def plan_run(project: Project, observed: ObservedState, options: RunOptions) -> Plan:
    """Everything `devenv run` does on the engine before the command's process is attached."""
    original = find_service(project, options.service)
    derived, target = derive(project, original, options)
    dependencies = () if options.no_deps else tuple(d for d in original.dependencies() if d in project.services)
    b = PlanBuilder("run", project.name)
    if dependencies:
        up = plan_up(project, observed, UpOptions(services=dependencies, wait=False, publish_host=options.publish_host,
                                                  remove_orphans=options.remove_orphans, env_files=options.env_files,
                                                  shipped=options.shipped))
        for action in up.actions:
            b.add(action.op, action.target, action.reason, after=action.after, payload=action.payload,
                  service=action.service, id=action.id)
        b.notes += up.notes
        b.warnings += up.warnings
        # up.recheck is left out: planning again would make a second one-off container
    networks = plan_networks(b, project, observed, used_networks(project, [target]))
    volume_keys = tuple(k for k in used_volumes([target]) if k in project.volumes)  # the declared ones it mounts
    plan_volumes(b, project, observed, volume_keys)
    _dependency_gates(b, project, original, dependencies)
    image = plan_images(b, project, observed, [original], pull=options.pull, build=options.build, no_build=False)[original.name]
    spec = oneoff_spec(derived, target, None if image.pending else image.current_id, options)
    needs = list(b.ids())  # as Compose: the dependencies done, the networks, volumes and image there
    reason = ONE_OFF
    create = b.add(Op.CREATE_CONTAINER, spec.name, reason, after=needs, payload=payloads.CreateContainer(spec, image.pending),
                   service=target.name)
    ready = [create]
    for attachment in spec.connect:
        ready.append(b.add(Op.CONNECT_NETWORK, spec.name, reason, id=f"{Op.CONNECT_NETWORK.value}:{spec.name}@{attachment.network}",
                           after=[create, networks.get(attachment.key)],
                           payload=payloads.ConnectNetwork(attachment.network, attachment.connect_body(spec.name)), service=target.name))
    if spec.files:
        ready.append(b.add(Op.COPY_FILES, spec.name, reason, after=[create], payload=payloads.CopyFiles(spec.files), service=target.name))
    if options.detach:
        b.add(Op.START_CONTAINER, spec.name, reason, after=ready, service=target.name)
    return b.build()


def _dependency_gates(b: PlanBuilder, project: Project, target: Service, dependencies: tuple[str, ...]) -> None:
    """The waits for the target's `service_healthy` / `service_completed_successfully` dependencies
    (a gate `up` already plans for another dependency is shared)."""
    for dep in target.depends_on:
        if dep.condition not in _GATES or dep.service not in dependencies:
            continue
        op, kind = _GATES[dep.condition]
        service = project.services[dep.service]
        for number in range(1, service.scale + 1):
            name = container_name(project.name, service, number)
            id = action_id(op, name)
            if id in b:
                continue
            start = action_id(Op.START_CONTAINER, name)
            b.add(op, name, f"{target.name} needs {dep.service}", after=[start] if start in b else [],
                  payload=kind(service=dep.service, required=dep.required, dependents=(target.name,)), service=dep.service, id=id)


def oneoff_container(plan: Plan) -> str:
    """The name of the one-off container a `run` plan creates."""
    for action in plan.of(Op.CREATE_CONTAINER):
        assert isinstance(action.payload, payloads.CreateContainer)
        if action.payload.spec.number is None:
            return action.target
    raise LookupError("the plan creates no one-off container")
