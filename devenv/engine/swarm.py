"""A stack on a Docker swarm (`devenv deploy`): the swarm calls, through the engine's interface
(`EngineAPI`: services, tasks, nodes, networks, secrets, configs), and the waits.

What to create, update or remove is decided by `devenv.plan.stack` (pure); this module observes
the swarm, makes the calls in the plan's order and follows the tasks until the services converge.
"""

from __future__ import annotations

import base64
import dataclasses
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from devenv.engine.api import APIError, explanation
from devenv.engine.client import Engine
from devenv.errors import DevenvError, EngineError
from devenv.plan.stack import (
    FAILED_STATES,
    NAMESPACE_LABEL,
    Change,
    Convergence,
    Existing,
    FileObject,
    NetworkObject,
    Observed,
    ServiceObject,
    Stack,
    Task,
    convergence,
    engine_time,
    with_ids,
)

STABLE = 1.0  # seconds a service's tasks must stay running to count as converged
POLL = 0.5  # seconds between two looks at the tasks (swarm 20.10 sends no task events)
GONE_TIMEOUT = 60.0  # seconds `--rm` waits for the stack's containers and networks to go


def _error(exc: BaseException) -> str:
    text = explanation(exc) or str(exc)
    return str(text).splitlines()[0][:300] if text else type(exc).__name__


def _engine_failure(exc: BaseException) -> bool:
    """An error of the engine or of the way to it (either backend), not a bug of ours."""
    return isinstance(exc, (APIError, OSError)) or type(exc).__module__.split(".")[0] in ("docker", "requests", "urllib3")


def registry_auth(image: str) -> dict[str, str] | None:
    """The X-Registry-Auth payload docker would send for `image`'s registry; None without credentials."""
    from devenv.engine.digests import registry_of
    from devenv.engine.push import auth_config

    return auth_config(registry_of(image)) or None


class Swarm:
    """The swarm behind a connected engine (a manager node). `auth`: the registry credentials
    for a service's image (default: docker's config, as `docker stack deploy --with-registry-auth`)."""

    def __init__(self, engine: Engine, auth: Callable[[str], dict[str, str] | None] = registry_auth) -> None:
        self.address = engine.address
        self.api = engine.api
        self._auth = auth

    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except DevenvError:
            raise
        except Exception as exc:
            if not _engine_failure(exc):
                raise
            raise EngineError(f"{what}: {_error(exc)}") from None

    def check_manager(self) -> None:
        """EngineError unless the engine is an active swarm's manager."""
        info = self._call("docker info", self.api.info)
        swarm = info.get("Swarm") or {}
        if swarm.get("LocalNodeState") != "active":
            raise EngineError(f"the engine at {self.address} is not in a swarm (docker swarm init makes it one)")
        if not swarm.get("ControlAvailable"):
            raise EngineError(f"the engine at {self.address} is a swarm worker; deploy to a manager")

    # ------------------------------------------------------------ observing

    def existing(self, project: str) -> Existing:
        label = {"label": f"{NAMESPACE_LABEL}={project}"}

        def observed(items: Iterable[Mapping[str, Any]], versioned: bool = False) -> dict[str, Observed]:
            out = {}
            for item in items:
                spec = item.get("Spec") or item
                name = str(spec.get("Name") or item.get("Name") or "")
                version = int((item.get("Version") or {}).get("Index") or 0) if versioned else 0
                out[name] = Observed(name=name, id=str(item.get("ID") or item.get("Id") or ""),
                                     labels=dict(spec.get("Labels") or {}), version=version)
            return out

        return Existing(
            services=observed(self._call("list services", self.api.services, filters=label), versioned=True),
            networks=observed(n for n in self._call("list networks", self.api.networks) if n.get("Scope") == "swarm"),
            secrets=observed(self._call("list secrets", self.api.secrets)),
            configs=observed(self._call("list configs", self.api.configs)),
        )

    def nodes(self) -> dict[str, str]:
        """Node ID -> hostname."""
        return {str(n.get("ID")): str((n.get("Description") or {}).get("Hostname") or n.get("ID"))
                for n in self._call("list nodes", self.api.nodes)}

    def tasks(self, service: str, nodes: Mapping[str, str]) -> list[Task]:
        out = []
        for raw in self._call(f"list the tasks of {service}", self.api.tasks, filters={"service": service}):
            status = raw.get("Status") or {}
            node = str(raw.get("NodeID") or "")
            slot = raw.get("Slot")
            out.append(Task(
                id=str(raw.get("ID") or ""), service=service, slot=int(slot) if slot else None,
                node=nodes.get(node, node), desired=str(raw.get("DesiredState") or ""),
                state=str(status.get("State") or ""), error=str(status.get("Err") or ""),
                since=engine_time(status.get("Timestamp")),
            ))
        return out

    def clock_offset(self) -> float:
        """The engine's clock minus ours (seconds), to read its task timestamps."""
        now = engine_time(self._call("docker info", self.api.info).get("SystemTime"))
        return 0.0 if now is None else now - time.time()

    def update_status(self, service: str) -> tuple[str | None, str]:
        status = self._call(f"inspect service {service}", self.api.inspect_service, service).get("UpdateStatus") or {}
        return status.get("State"), str(status.get("Message") or "")

    # ------------------------------------------------------------ changing

    def create_network(self, network: NetworkObject) -> None:
        body = {**network.spec, "Scope": "swarm", "CheckDuplicate": True}
        self._call(f"create network {network.name}", self.api.create_network, body)

    def create_file_object(self, obj: FileObject) -> str:
        """Its ID."""
        create = self.api.create_secret if obj.kind == "secret" else self.api.create_config
        body = {"Name": obj.name, "Data": base64.b64encode(obj.data).decode("ascii"), "Labels": dict(obj.labels)}
        return str(self._call(f"create {obj.kind} {obj.name}", create, body)["ID"])

    def _image_auth(self, spec: Mapping[str, Any]) -> dict[str, str] | None:
        image = ((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image")
        return self._auth(str(image)) if image else None

    def create_service(self, spec: Mapping[str, Any]) -> None:
        self._call(f"create service {spec['Name']}", self.api.create_service, dict(spec), self._image_auth(spec))

    def update_service(self, found: Observed, spec: Mapping[str, Any]) -> None:
        self._call(f"update service {spec['Name']}", self.api.update_service, found.id, found.version, dict(spec),
                   self._image_auth(spec))

    def remove(self, kind: str, observed: Observed) -> None:
        method = {"service": self.api.remove_service, "secret": self.api.remove_secret,
                  "config": self.api.remove_config, "network": self.api.remove_network}[kind]
        self._call(f"remove {kind} {observed.name}", method, observed.id)

    def containers_of(self, project: str) -> list[str]:
        """The names of the stack's task containers still on this node."""
        found = self._call("list containers", self.api.containers, all=True,
                           filters={"label": f"{NAMESPACE_LABEL}={project}"})
        return [str((c.get("Names") or ["?"])[0]).lstrip("/") for c in found]


# ---------------------------------------------------------------- the steps of `deploy`


def apply(swarm: Swarm, stack: Stack, changes: Iterable[Change], existing: Existing,
          report: Callable[[Change], None]) -> None:
    """Make the changes in order; each reported once made (unchanged ones at once)."""
    networks = {n.name: n for n in stack.networks}
    files = {(o.kind, o.name): o for o in (*stack.secrets, *stack.configs)}
    services = {s.name: s for s in stack.services}
    ids: dict[str, dict[str, str]] = {"secret": {}, "config": {}}
    observed_of = {"service": existing.services, "network": existing.networks, "secret": existing.secrets,
                   "config": existing.configs}
    for kind in ("secret", "config"):
        ids[kind] = {name: o.id for name, o in observed_of[kind].items()}
    for change in changes:
        if change.action == "unchanged":
            report(change)
            continue
        if change.action == "remove":
            swarm.remove(change.kind, observed_of[change.kind][change.name])
        elif change.kind == "network":
            swarm.create_network(networks[change.name])
        elif change.kind in ("secret", "config"):
            ids[change.kind][change.name] = swarm.create_file_object(files[(change.kind, change.name)])
        else:
            spec = with_ids(services[change.name].spec, ids["secret"], ids["config"])
            if change.action == "create":
                swarm.create_service(spec)
            else:
                swarm.update_service(existing.services[change.name], spec)
        report(change)


def failed_before(swarm: Swarm, services: Iterable[ServiceObject]) -> set[str]:
    """The IDs of the tasks that had already failed: not this deploy's to report."""
    nodes = swarm.nodes()
    return {t.id for s in services for t in swarm.tasks(s.name, nodes) if t.state in FAILED_STATES}


def wait_converged(swarm: Swarm, services: Iterable[ServiceObject], timeout: float, seen: set[str],
                   say: Callable[[str], None], clock: Callable[[], float] = time.monotonic,
                   sleep: Callable[[float], None] = time.sleep) -> dict[str, Convergence]:
    """Follow the services' tasks until each has converged or `timeout` seconds have passed; one
    line (`say`) per task that fails. A service counts as converged once the same tasks have
    stayed running for STABLE seconds (a task that crashes at once is `running` for a moment):
    watched here, or told by the tasks' own timestamps (an unchanged service is not waited for).
    The last convergence of each service."""
    pending = {s.name: s for s in services}
    state: dict[str, Convergence] = {}
    steady: dict[str, tuple[frozenset[str], float]] = {}  # service -> (its running tasks, since when)
    deadline = clock() + timeout
    nodes = swarm.nodes()
    offset = swarm.clock_offset()
    while pending:
        for name, service in list(pending.items()):
            tasks = swarm.tasks(name, nodes)
            for task in tasks:
                if task.id not in seen and task.state in FAILED_STATES:
                    seen.add(task.id)
                    if task.node not in nodes.values():
                        nodes = swarm.nodes()
                    say(task.failure_line())
            update_state, message = swarm.update_status(name)
            now = convergence(service, tasks, update_state, message)
            running = frozenset(t.id for t in tasks if t.desired == "running" and t.state == "running")
            if not now.done or steady.get(name, (None, 0.0))[0] != running:
                steady[name] = (running, clock())
            engine_now = time.time() + offset
            settled = all(t.since is not None and engine_now - t.since >= STABLE
                          for t in tasks if t.desired == "running" and t.state == "running")
            held = now.done and (settled or clock() - steady[name][1] >= STABLE)
            state[name] = now if held or not now.done else dataclasses.replace(now, done=False)
            if held or now.failed:
                del pending[name]
        if not pending or clock() >= deadline:
            break
        sleep(POLL)
    return state


def wait_gone(swarm: Swarm, project: str, timeout: float = GONE_TIMEOUT,
              clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> list[str]:
    """Wait until this node runs none of the stack's containers; what is left when `timeout` ends."""
    deadline = clock() + timeout
    while True:
        left = swarm.containers_of(project)
        if not left or clock() >= deadline:
            return left
        sleep(POLL)


def remove_stack(swarm: Swarm, project: str, changes: Iterable[Change], report: Callable[[Change], None],
                 timeout: float = GONE_TIMEOUT) -> list[str]:
    """`deploy --rm`: the services, then (once their containers are gone from this node, so the
    networks have no endpoint left) the secrets, configs and networks. Never volumes. What is
    left over when `timeout` ends, named."""
    changes = list(changes)
    existing = swarm.existing(project)
    observed_of = {"service": existing.services, "network": existing.networks, "secret": existing.secrets,
                   "config": existing.configs}
    for change in (c for c in changes if c.kind == "service"):
        swarm.remove("service", observed_of["service"][change.name])
        report(change)
    left = wait_gone(swarm, project, timeout)
    for change in (c for c in changes if c.kind != "service"):
        swarm.remove(change.kind, observed_of[change.kind][change.name])
        report(change)
    deadline = time.monotonic() + timeout
    while True:  # a swarm removes a network's last endpoints, then the network, a moment later
        after = swarm.existing(project)
        still = [f"network {n}" for n, o in after.networks.items() if o.namespace == project]
        if not still or time.monotonic() >= deadline:
            return [f"container {c}" for c in left] + still
        time.sleep(POLL)
