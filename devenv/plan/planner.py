"""`plan_up`: from the model and what the engine has, the actions that make them agree.

The rules, in the order the plan applies them:
  networks and volumes the selected services use: created when missing, external ones must exist,
  a drifted one is an error (recreated only when no container uses it);
  images: pulled or built per pull policy and flags (see images.py);
  containers, service by service in dependency order: missing ones created and started; an
  existing one whose configuration digest differs (or `--force-recreate`, or whose namespace
  parent is replaced, or which lost a network or volume) is stopped, removed, created and
  started again, under the same name (no temporary names: an interrupted plan never leaves a
  container renamed); an up-to-date one is started if stopped, left alone if running; the
  highest numbers go first when scaling down; a running `restart: true` dependent of a replaced
  service is restarted;
  orphans (containers of services no longer in the model) removed with `remove_orphans`, else
  a warning.
Edges: infrastructure before the containers using it; a start after its dependencies' starts
(service_started) or after their wait_healthy / wait_completed gates; a container that names
another (links, volumes_from, network_mode/ipc/pid `service:`) created after it; dependents
stopped before their dependencies. Nothing else waits.
"""

from __future__ import annotations

from typing import Any

from devenv.errors import ManifestError, UsageError
from devenv.model import Project
from devenv.plan import composehash, naming, payloads
from devenv.plan.actions import Op, Plan, PlanBuilder
from devenv.plan.confighash import changed_fields
from devenv.plan.containerspec import ContainerSpec, container_spec, find_service, service_networks
from devenv.plan.errors import PlanError
from devenv.plan.graph import ServiceGraph
from devenv.plan.images import ImageStep, plan_images
from devenv.plan.infra import plan_networks, plan_volumes, used_networks, used_volumes
from devenv.plan.observed import ObservedContainer, ObservedState, check_observed
from devenv.plan.options import UpOptions
from devenv.plan.steps import Steps
from devenv.plan.support import check_service


def plan_up(project: Project, observed: ObservedState, options: UpOptions = UpOptions()) -> Plan:
    """The plan that brings the selected services (and their dependencies) up to date."""
    check_observed(project, observed)
    return _Up(project, observed, options).run()


def describe_fields(fields: tuple[str, ...]) -> str:
    """`environment, ports changed`; `configuration changed` when the old digest is unknown."""
    names = ["image id" if f == "image_id" else f for f in fields]
    return f"{', '.join(names)} changed" if names else "configuration changed"


class _Up:
    def __init__(self, project: Project, observed: ObservedState, options: UpOptions):
        self.project, self.observed, self.options = project, observed, options
        targets = tuple(options.services)
        self.graph = ServiceGraph.build(project, enable=[n for n in targets if n in project.disabled_services])
        self.selected = self.graph.select(targets, with_dependencies=not options.no_deps)
        self.services = {name: find_service(project, name) for name in self.graph.services}
        for name in options.scale:
            if name not in self.services:
                raise UsageError(f"--scale: no such service: {name}")
        self.scales = {name: int(options.scale.get(name, s.scale)) for name, s in self.services.items()}
        self.b = PlanBuilder("up", project.name)
        self.b.warnings.extend(self.graph.warnings)
        self.steps = Steps(self.b, project, self.graph, timeout=options.timeout, scope=self.selected)
        self.mine = observed.project_containers()
        self.forced: set[str] = set()
        if options.force_recreate:
            self.forced |= set(targets or self.selected)
        if options.always_recreate_deps:
            self.forced |= set(self.selected) - set(targets)
        self.named_volumes = {naming.volume_name(project.name, k, v) for k, v in project.volumes.items()}

    def run(self) -> Plan:
        chosen = [self.services[name] for name in self.selected]
        for service in chosen:
            check_service(self.project, service)
            if service.get("container_name") and self.scales[service.name] > 1:
                raise ManifestError(f"service {service.name}: 'container_name' cannot be used with {self.scales[service.name]} replicas")
        self.networks = plan_networks(self.b, self.project, self.observed, used_networks(self.project, chosen))
        self.volumes = plan_volumes(self.b, self.project, self.observed, used_volumes(chosen))
        self.images = plan_images(
            self.b, self.project, self.observed, chosen, pull=self.options.pull, build=self.options.build, no_build=self.options.no_build
        )
        for name in self.graph.services:
            if name not in self.images:  # outside the selection: its image is left as it is
                reference = naming.image_name(self.project.name, self.services[name])
                self.images[name] = ImageStep(reference, self.observed.image_id(reference))
        for name in self.graph.order():
            if name in self.selected:
                before = len(self.b.ids())
                self._converge(name)
                if len(self.b.ids()) == before and name not in self.b.recheck:
                    self.b.notes.append(f"{name}: up to date")
            else:
                self._restart_dependent(name)
        self._orphans()
        if self.options.wait and not self.options.no_start:
            self._wait_all()
        self.steps.finish()
        return self.b.build()

    # -- containers

    def _spec(self, name: str, number: int, image_id: str | None, **extra: Any) -> ContainerSpec:
        return container_spec(
            self.project,
            self.services[name],
            number,
            image_id=image_id,
            publish_host=self.options.publish_host,
            scales=self.scales,
            env_files=self.options.env_files,
            shipped=self.options.shipped,
            **extra,
        )

    def _references(self, name: str) -> dict[str, str]:
        """Service -> ID of its first existing container, for the services `name` names by
        container (volumes_from, `service:` namespaces): what Compose's hash of `name` includes."""
        ids = {}
        for ref in composehash.references(self.services[name].config):
            # by labels, not by name: a renamed container is still the service's number 1
            found = next((c for c in self._containers(ref) if c.number == 1), None)
            if found is not None and found.id:
                ids[ref] = found.id
        return ids

    def _containers(self, name: str) -> list[ObservedContainer]:
        return sorted((c for c in self.mine if c.service == name and not c.oneoff), key=lambda c: (c.number, c.name))

    def _converge(self, name: str) -> None:
        want = self.scales[name]
        progress = self.steps.of(name)
        keep: dict[int, ObservedContainer] = {}
        extra: list[ObservedContainer] = []
        for c in self._containers(name):
            if c.number >= 1 and c.number not in keep and len(keep) < want:
                keep[c.number] = c
            else:
                extra.append(c)
        new: list[int] = []
        number = 1
        while len(keep) + len(new) < want:
            if number not in keep:
                new.append(number)
            number += 1
        service = self.services[name]
        # a kept container keeps the name it has (Compose leaves a renamed, up-to-date one alone);
        # actions on it name it by ID, and recreated or new ones get the expected name
        progress.names = {
            n: keep[n].name if n in keep and keep[n].name else naming.container_name(self.project.name, service, n)
            for n in sorted([*keep, *new])
        }
        progress.ids = {n: c.id for n, c in keep.items() if c.id}
        for c in sorted(extra, key=lambda c: (-c.number, c.name)):  # highest numbers first
            reason = f"scale {name} to {want}"
            self.steps.remove(c, reason, after=[self.steps.stop(c, reason)])
        for n, c in sorted(keep.items()):
            why = self._recreate_reason(name, n, c)
            if why:
                self._recreate(name, n, c, why)
            else:
                self._keep(name, n, c)
        for n in new:
            self._create(name, n, "new" if not keep and not extra else f"scale {name} to {want}")

    def _recreate_reason(self, name: str, number: int, c: ObservedContainer) -> str | None:
        if self.options.no_recreate:
            return None
        if name in self.forced:
            return "forced (--force-recreate)"
        image_id = self.images[name].current_id
        wanted = self._spec(name, number, image_id, references=self._references(name))
        # Compose's own test (its config hash and the image ID label), so that a container either
        # tool made is kept by the other when nothing changed; then devenv's per-field digests,
        # only on containers devenv made, for what Compose does not hash (publish_host, file
        # contents) and to name what changed.
        digest = c.config_digest
        fields = changed_fields(digest, wanted.field_hashes) if digest else ()
        if c.config_hash != wanted.config_hash:
            return describe_fields(tuple(f for f in fields if f != "image_id"))
        created_from = c.labels.get(naming.IMAGE_LABEL) or c.image_id
        if image_id and created_from and created_from != image_id:
            return describe_fields(("image_id",))
        if fields:
            return describe_fields(fields)
        for dep in self.graph.dependencies(name):
            if (dep.shares_namespace or "volumes_from" in dep.kinds) and 1 in self.steps.of(dep.on).created:
                how = "shares its namespace" if dep.shares_namespace else "mounts its volumes"
                return f"{dep.on} is recreated and {name} {how}"
        service = self.services[name]
        if not service.get("network_mode"):
            for key in service_networks(self.project, service):
                net = naming.network_name(self.project.name, key, self.project.networks.get(key))
                found = self.observed.network(net)
                attached = c.networks.get(net)
                if attached is None or self.networks.get(key) or (found and found.id and attached and attached != found.id):
                    return f"not connected to network {net}"
        mounted = {m.name for m in c.mounts}
        for mount in service.get("volumes") or ():
            key = mount.get("source")
            if mount.get("type") != "volume" or not key:
                continue
            volume = naming.volume_name(self.project.name, key, self.project.volumes.get(key))
            if self.volumes.get(key) or (c.mounts and volume not in mounted):
                return f"volume {volume} is not mounted"
        if c.state == "dead":
            return "container is dead"
        return None

    def _recreate(self, name: str, number: int, c: ObservedContainer, reason: str, *, start: bool = True) -> None:
        why = f"recreate {name}: {reason}"
        removed = self.steps.remove(c, why, after=[self.steps.stop(c, why)])
        inherit = {} if self.options.renew_anon_volumes else c.anonymous_volumes(self.named_volumes)
        progress = self.steps.of(name)
        progress.recreated = True
        progress.names[number] = naming.container_name(self.project.name, self.services[name], number)
        progress.ids.pop(number, None)
        self._create(
            name, number, why, after=[removed], start=start, replace=naming.short_container_name(name, c.number), inherit_volumes=inherit
        )

    def _create(
        self, name: str, number: int, reason: str, *, after: tuple[str, ...] | list[str] = (), start: bool = True, **extra: Any
    ) -> None:
        service = self.services[name]
        image = self.images[name]
        spec = self._spec(name, number, None if image.pending else image.current_id, **extra)
        needs = [*after, image.action]
        if not service.get("network_mode"):
            keys = service_networks(self.project, service)
            if keys:
                needs.append(self.networks.get(keys[0]))
        needs += [self.volumes.get(m.get("source")) for m in service.get("volumes") or () if m.get("type") == "volume"]
        for dep in self.graph.dependencies(name):
            if dep.references and dep.on in self.steps.progress:
                needs += list(self.steps.of(dep.on).created.values())
        create = self.b.add(
            Op.CREATE_CONTAINER,
            spec.name,
            reason,
            after=[n for n in needs if n],
            payload=payloads.CreateContainer(spec, image.pending),
            service=name,
        )
        ready = [create]
        for attachment in spec.connect:
            ready.append(
                self.b.add(
                    Op.CONNECT_NETWORK,
                    spec.name,
                    reason,
                    id=f"{Op.CONNECT_NETWORK.value}:{spec.name}@{attachment.network}",
                    after=[create, self.networks.get(attachment.key)],
                    payload=payloads.ConnectNetwork(attachment.network, attachment.connect_body(spec.name)),
                    service=name,
                )
            )
        if spec.files:
            ready.append(
                self.b.add(Op.COPY_FILES, spec.name, reason, after=[create], payload=payloads.CopyFiles(spec.files), service=name)
            )
        progress = self.steps.of(name)
        progress.created[number] = create
        progress.ready[number] = ready
        if start and not self.options.no_start:
            self.steps.start(name, number, spec.name, reason, after=ready)

    def _restarted_by(self, name: str) -> list[str]:
        return [d.on for d in self.graph.dependencies(name) if d.restart and d.on in self.steps.progress and self.steps.of(d.on).recreated]

    def _keep(self, name: str, number: int, c: ObservedContainer) -> None:
        """An up-to-date container: start it if stopped, restart it if a `restart: true` dependency is replaced."""
        if self.images[name].pending:
            self.b.recheck.append(name)
        if self.options.no_start:
            return
        restart = self._restarted_by(name)
        if restart and c.is_running:
            why = f"restart {name}: {', '.join(restart)} recreated"
            self.steps.start(name, number, c.name, why, after=[self.steps.stop(c, why)], container=c.id)
        elif c.state == "paused":
            self.b.add(Op.UNPAUSE_CONTAINER, c.name, "paused", service=name, payload=payloads.UnpauseContainer(c.id or None))
        elif c.state in ("created", "exited"):
            if c.state == "created":
                why = "never started"
            else:
                why = f"exited ({c.exit_code})" if c.exit_code is not None else "exited"
            self.steps.start(name, number, c.name, why, container=c.id)
        elif c.state == "removing":
            self.b.warnings.append(f"container {c.name} is being removed; run `devenv up` again once it is gone")

    def _restart_dependent(self, name: str) -> None:
        """A service outside the selection whose dependency this plan replaces: recreated if it shares
        the replaced container's namespace (it would not start again), else restarted if `restart: true`."""
        containers = [c for c in self._containers(name) if c.number >= 1]
        self.steps.of(name).names = {c.number: c.name for c in containers}
        self.steps.of(name).ids = {c.number: c.id for c in containers if c.id}
        parents = [d.on for d in self.graph.dependencies(name) if d.shares_namespace and 1 in self.steps.of(d.on).created]
        if parents:
            for c in containers:
                self._recreate(name, c.number, c, f"{parents[0]} is recreated and {name} shares its namespace", start=c.is_running)
            return
        restart = self._restarted_by(name)
        if not restart or self.options.no_start:
            return
        why = f"restart {name}: {', '.join(restart)} recreated"
        for c in containers:
            if c.is_running:
                self.steps.start(name, c.number, c.name, why, after=[self.steps.stop(c, why)], container=c.id)

    # -- the rest

    def _orphans(self) -> None:
        known = set(self.project.services) | set(self.project.disabled_services)
        orphans = sorted(
            (c for c in self.mine if (c.oneoff and c.state in ("exited", "dead")) or (not c.oneoff and c.service not in known)),
            key=lambda c: c.name,
        )
        if not orphans:
            return
        creating = {self.b.get(id).target for id in self.b.ids() if self.b.get(id).op == Op.CREATE_CONTAINER}
        if not self.options.remove_orphans:
            for c in orphans:
                if c.name in creating:
                    raise PlanError(f"container name {c.name} is taken by an orphan container; run with --remove-orphans to remove it")
            names = ", ".join(c.name for c in orphans)
            self.b.warnings.append(f"found orphan containers ({names}) for this project; run with --remove-orphans to remove them")
            return
        for c in orphans:
            why = "orphan: one-off container exited" if c.oneoff else f"orphan: service {c.service} is not in the project"
            removed = self.steps.remove(c, why, after=[self.steps.stop(c, why)])
            if c.name in creating:  # a service now creates a container under the orphan's name
                self.b.after(f"{Op.CREATE_CONTAINER.value}:{c.name}", removed)

    def _wait_all(self) -> None:
        for name in self.selected:
            health = self.services[name].get("healthcheck") or {}
            disabled = health.get("disable") or list(health.get("test") or ())[:1] == ["NONE"]
            op = Op.WAIT_HEALTHY if health and not disabled else Op.WAIT_RUNNING
            for number in sorted(self.steps.of(name).names):
                self.steps.gate(op, name, number, "--wait")
