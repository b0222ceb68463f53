"""The plan: actions, each exactly one Engine API call, ordered by explicit dependency edges."""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Iterable, Iterator
from typing import Any

from devenv.plan import payloads as P


class Op(str, enum.Enum):
    """What an action does; the comment is the Engine API call the executor makes."""

    CREATE_NETWORK = "create_network"  # POST /networks/create
    CREATE_VOLUME = "create_volume"  # POST /volumes/create
    PULL_IMAGE = "pull_image"  # POST /images/create
    BUILD_IMAGE = "build_image"  # POST /build
    CREATE_CONTAINER = "create_container"  # POST /containers/create
    CONNECT_NETWORK = "connect_network"  # POST /networks/{id}/connect
    COPY_FILES = "copy_files"  # PUT /containers/{id}/archive (secrets/configs given as content)
    START_CONTAINER = "start_container"  # POST /containers/{id}/start
    UNPAUSE_CONTAINER = "unpause_container"  # POST /containers/{id}/unpause
    WAIT_HEALTHY = "wait_healthy"  # GET /containers/{id}/json, polled: a gate
    WAIT_COMPLETED = "wait_completed"  # POST /containers/{id}/wait: a gate
    WAIT_RUNNING = "wait_running"  # GET /containers/{id}/json, polled: a gate
    STOP_CONTAINER = "stop_container"  # POST /containers/{id}/stop
    REMOVE_CONTAINER = "remove_container"  # DELETE /containers/{id}
    REMOVE_NETWORK = "remove_network"  # DELETE /networks/{id}
    REMOVE_VOLUME = "remove_volume"  # DELETE /volumes/{name}

    @property
    def phrase(self) -> str:
        return _PHRASES[self]


_PHRASES = {
    Op.CREATE_NETWORK: "create network",
    Op.CREATE_VOLUME: "create volume",
    Op.PULL_IMAGE: "pull image",
    Op.BUILD_IMAGE: "build image",
    Op.CREATE_CONTAINER: "create container",
    Op.CONNECT_NETWORK: "connect",
    Op.COPY_FILES: "copy files into",
    Op.START_CONTAINER: "start container",
    Op.UNPAUSE_CONTAINER: "unpause container",
    Op.WAIT_HEALTHY: "wait until healthy",
    Op.WAIT_COMPLETED: "wait until completed",
    Op.WAIT_RUNNING: "wait until running",
    Op.STOP_CONTAINER: "stop container",
    Op.REMOVE_CONTAINER: "remove container",
    Op.REMOVE_NETWORK: "remove network",
    Op.REMOVE_VOLUME: "remove volume",
}

GATES = frozenset({Op.WAIT_HEALTHY, Op.WAIT_COMPLETED, Op.WAIT_RUNNING})

# Each operation's payload type (devenv/plan/payloads.py).
PAYLOAD_TYPES: dict[Op, type[P.Payload]] = {
    Op.CREATE_NETWORK: P.CreateNetwork,
    Op.CREATE_VOLUME: P.CreateVolume,
    Op.PULL_IMAGE: P.PullImage,
    Op.BUILD_IMAGE: P.BuildImage,
    Op.CREATE_CONTAINER: P.CreateContainer,
    Op.CONNECT_NETWORK: P.ConnectNetwork,
    Op.COPY_FILES: P.CopyFiles,
    Op.START_CONTAINER: P.StartContainer,
    Op.UNPAUSE_CONTAINER: P.UnpauseContainer,
    Op.WAIT_HEALTHY: P.WaitHealthy,
    Op.WAIT_COMPLETED: P.WaitCompleted,
    Op.WAIT_RUNNING: P.WaitRunning,
    Op.STOP_CONTAINER: P.StopContainer,
    Op.REMOVE_CONTAINER: P.RemoveContainer,
    Op.REMOVE_NETWORK: P.RemoveNetwork,
    Op.REMOVE_VOLUME: P.RemoveVolume,
}


def action_id(op: Op, target: str) -> str:
    return f"{op.value}:{target}"


@dataclasses.dataclass(frozen=True)
class Action:
    """One Engine API call.

    `target`: the engine object's name (container, network, volume) or image reference.
    `after`: ids of the actions that must have succeeded first; everything else may run in parallel.
    `payload`: what the executor needs, one frozen dataclass per op (PAYLOAD_TYPES; left out: the
      op's payload with no fields set, for the ops that need none).
    `service`: the service concerned, if any.
    A remove_* whose object is already gone (404) has reached its goal: executors may count it done.
    """

    id: str
    op: Op
    target: str
    reason: str = ""
    after: tuple[str, ...] = ()
    payload: P.Payload = None  # type: ignore[assignment]  # None: the op's empty payload
    service: str | None = None

    def __post_init__(self) -> None:
        kind = PAYLOAD_TYPES[self.op]
        if self.payload is None:
            object.__setattr__(self, "payload", kind())
        elif type(self.payload) is not kind:
            raise TypeError(f"{self.op.value} takes a {kind.__name__} payload, not {type(self.payload).__name__}")

    @property
    def handle(self) -> str:
        """What the engine is told to act on: an existing container's ID when the plan knows it (its
        name may have changed since: `docker rename`), else the target's name."""
        return P.container_handle(self.payload, self.target)

    def describe(self) -> str:
        target = self.target
        if isinstance(self.payload, P.ConnectNetwork):
            target = f"{self.target} to {self.payload.network}"
        return f"{self.op.phrase} {target}" + (f" ({self.reason})" if self.reason else "")

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "op": self.op.value,
            "target": self.target,
            "service": self.service,
            "reason": self.reason,
            "after": list(self.after),
            "payload": self.payload.to_dict(),
        }


@dataclasses.dataclass(frozen=True)
class Plan:
    """A DAG of actions in a deterministic topological order, plus what needs no action.

    `notes`: facts that need nothing ("web: up to date"). `warnings`: things the user should know
    (orphans left alone...). `recheck`: services whose image this plan pulls or builds while their
    containers are otherwise up to date: plan again once the images are there (the new image ID may
    differ and then recreates them).
    """

    command: str
    project: str
    actions: tuple[Action, ...] = ()
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    recheck: tuple[str, ...] = ()

    def __iter__(self) -> Iterator[Action]:
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    @property
    def is_empty(self) -> bool:
        return not self.actions

    def get(self, id: str) -> Action:
        for action in self.actions:
            if action.id == id:
                return action
        raise KeyError(id)

    def ids(self) -> tuple[str, ...]:
        return tuple(a.id for a in self.actions)

    def of(self, op: Op) -> tuple[Action, ...]:
        return tuple(a for a in self.actions if a.op == op)

    def targets(self, op: Op) -> tuple[str, ...]:
        return tuple(a.target for a in self.actions if a.op == op)

    def depends_on(self, id: str, other: str) -> bool:
        """True when action `id` runs after `other`, directly or through other actions."""
        index = {a.id: a for a in self.actions}
        seen, todo = set(), list(index[id].after)
        while todo:
            current = todo.pop()
            if current == other:
                return True
            if current not in seen:
                seen.add(current)
                todo.extend(index[current].after)
        return False

    def describe(self) -> str:
        """Deterministic human text: one line per action, then notes and warnings."""
        lines = [a.describe() for a in self.actions]
        if not lines:
            lines.append("nothing to do")
        lines += list(self.notes)
        lines += [f"warning: {w}" for w in self.warnings]
        lines += [f"{s}: checked again once its image is ready" for s in self.recheck]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "command": self.command,
            "project": self.project,
            "actions": [a.to_dict() for a in self.actions],
            "notes": list(self.notes),
            "warnings": list(self.warnings),
            "recheck": list(self.recheck),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)


class PlanBuilder:
    """Collects actions (one per id), then orders them: Kahn's algorithm, ties by insertion order."""

    def __init__(self, command: str, project: str):
        self.command = command
        self.project = project
        self._actions: dict[str, Action] = {}
        self._extra_after: dict[str, list[str]] = {}
        self.notes: list[str] = []
        self.warnings: list[str] = []
        self.recheck: list[str] = []

    def __contains__(self, id: str) -> bool:
        return id in self._actions

    def add(
        self,
        op: Op,
        target: str,
        reason: str = "",
        *,
        after: Iterable[str | None] = (),
        payload: P.Payload | None = None,
        service: str | None = None,
        id: str | None = None,
    ) -> str:
        """Add an action (or, if its id exists, merge the `after` edges) and return its id."""
        id = id or action_id(op, target)
        if id in self._actions:
            self.after(id, *after)
            return id
        self._actions[id] = Action(id, op, target, reason, (), payload if payload is not None else PAYLOAD_TYPES[op](), service)
        self.after(id, *after)
        return id

    def after(self, id: str, *others: str | None) -> None:
        """Make `id` run after each of `others` (None and self-edges are ignored)."""
        edges = self._extra_after.setdefault(id, [])
        for other in others:
            if other and other != id and other not in edges:
                edges.append(other)

    def get(self, id: str) -> Action:
        return self._actions[id]

    def update(self, id: str, **changes: Any) -> None:
        """Change an action's reason or payload (gates learn all their dependents at the end)."""
        self._actions[id] = dataclasses.replace(self._actions[id], **changes)

    def ids(self) -> tuple[str, ...]:
        return tuple(self._actions)

    def build(self) -> Plan:
        order = list(self._actions)
        position = {id: i for i, id in enumerate(order)}
        deps = {id: [d for d in self._extra_after.get(id, []) if d in self._actions] for id in order}
        deps = {id: sorted(set(d), key=position.__getitem__) for id, d in deps.items()}
        waiting = {id: set(d) for id, d in deps.items()}
        done: list[str] = []
        while waiting:
            ready = [id for id in order if id in waiting and not waiting[id]]
            if not ready:
                raise RuntimeError("plan has a cycle among: " + ", ".join(sorted(waiting)))
            for id in ready:
                done.append(id)
                del waiting[id]
            for pending in waiting.values():
                pending.difference_update(ready)
        actions = tuple(dataclasses.replace(self._actions[id], after=tuple(deps[id])) for id in done)
        return Plan(
            self.command,
            self.project,
            actions,
            tuple(dict.fromkeys(self.notes)),
            tuple(dict.fromkeys(self.warnings)),
            tuple(dict.fromkeys(self.recheck)),
        )
