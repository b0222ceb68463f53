"""The engine floor for `bench_up.py`: the stack of `up_stack.py` driven straight through the Docker SDK.

No Compose model, no labels to compare, no plan: the same containers (names, image, command,
environment, healthcheck, stop timeout, volume, network aliases) created and started with as much
parallelism as the dependencies allow. What it does per scenario:

- `up` (cold): the network and the volumes are created in parallel; every container is created as soon
  as the network (and its volume) exist; each is started the moment its dependencies are satisfied
  (started, or healthy for `service_healthy` edges). Readiness is learnt from the engine's event stream
  (`start`, `health_status`, `die`), opened before anything is created; nothing polls. Returns once every
  container is healthy (the promise of `docker compose up -d --wait`).
- `noop`: one list call, then one inspect per container (in parallel) to confirm all are running and healthy.
- `recreate`: the one changed container is stopped, removed, created with its new environment, started,
  and waited for until healthy.
- `ps`: one list call.
- `down`: every container is stopped and removed once its dependents are gone (all in parallel otherwise),
  then the network and the volumes are removed.

Containers carry one label, `bench.floor.project`, only so the stream and the list call can filter on it.

    python -m benchmarks.floor up|noop|ps|recreate|down N PROJECT   # one operation, timed, for trying it out
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from benchmarks.up_stack import (BASE_VALUE, CHANGED_VALUE, COMMAND, HEALTH_INTERVAL_S, HEALTH_RETRIES,
                                 HEALTH_TEST, HEALTH_TIMEOUT_S, IMAGE, STOP_GRACE_S, VOLUME_TARGET, ServiceDef,
                                 Stack, make_stack)

if TYPE_CHECKING:
    import docker

FLOOR_LABEL = "bench.floor.project"
NETWORK_KEY = "default"
WAIT_TIMEOUT = 120.0
NS = 1_000_000_000


class FloorError(RuntimeError):
    pass


def connect() -> "docker.DockerClient":
    """A client with a connection pool large enough for every thread (the SDK's default is 10)."""
    import docker

    return docker.DockerClient(base_url=os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock",
                               version="auto", timeout=300, max_pool_size=64)


# --- names, as Compose gives them ------------------------------------------------------------------


def container_name(project: str, service: str) -> str:
    return f"{project}-{service}-1"


def network_name(project: str) -> str:
    return f"{project}_{NETWORK_KEY}"


def volume_name(project: str, key: str) -> str:
    return f"{project}_{key}"


# --- readiness from the event stream ---------------------------------------------------------------


class Readiness:
    """One event-stream reader for the project: per container name, an Event for `started` and `healthy`."""

    def __init__(self, client: "docker.DockerClient", project: str, names: list[str]) -> None:
        self.started = {n: threading.Event() for n in names}
        self.healthy = {n: threading.Event() for n in names}
        self.died: dict[str, str] = {}
        self._failed = threading.Event()
        self._stream = client.api.events(
            filters={"type": "container", "label": f"{FLOOR_LABEL}={project}",
                     "event": ["start", "health_status", "die"]},
            decode=True,
        )
        self._thread = threading.Thread(target=self._pump, name="floor-events", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            for event in self._stream:
                name = ((event.get("Actor") or {}).get("Attributes") or {}).get("name", "")
                action = event.get("Action") or event.get("status") or ""
                if name not in self.started:
                    continue
                if action == "start":
                    self.started[name].set()
                elif action == "health_status: healthy":
                    self.healthy[name].set()
                elif action in ("die", "health_status: unhealthy"):
                    self.died[name] = action
                    self._failed.set()
                    self.started[name].set()  # wake waiters; they check `died`
                    self.healthy[name].set()
        except Exception:  # closed
            pass

    def wait(self, name: str, healthy: bool, deadline: float) -> None:
        event = (self.healthy if healthy else self.started)[name]
        if not event.wait(max(0.0, deadline - time.monotonic())):
            raise FloorError(f"{name}: not {'healthy' if healthy else 'started'} in time")
        if name in self.died:
            raise FloorError(f"{name}: {self.died[name]}")

    def reset(self, name: str) -> None:
        self.started[name].clear()
        self.healthy[name].clear()
        self.died.pop(name, None)

    def close(self) -> None:
        try:
            self._stream.close()
        except Exception:
            pass


# --- the calls -------------------------------------------------------------------------------------


def _create(client: "docker.DockerClient", project: str, svc: ServiceDef, value: str) -> str:
    api = client.api
    name = container_name(project, svc.name)
    binds = {volume_name(project, svc.volume): {"bind": VOLUME_TARGET, "mode": "rw"}} if svc.volume else None
    host_config = api.create_host_config(binds=binds, network_mode=network_name(project))
    networking = api.create_networking_config(
        {network_name(project): api.create_endpoint_config(aliases=[name, svc.name])})
    return api.create_container(
        IMAGE, command=list(COMMAND), name=name, environment=svc.environment(value),
        labels={FLOOR_LABEL: project}, host_config=host_config, networking_config=networking,
        healthcheck={"test": list(HEALTH_TEST), "interval": int(HEALTH_INTERVAL_S * NS),
                     "timeout": int(HEALTH_TIMEOUT_S * NS), "retries": HEALTH_RETRIES},
        stop_timeout=STOP_GRACE_S, volumes=[VOLUME_TARGET] if svc.volume else None, use_config_proxy=False,
    )["Id"]


def up(client: "docker.DockerClient", stack: Stack, project: str) -> dict[str, str]:
    """Cold up; returns container name -> ID once all are healthy."""
    names = [container_name(project, s.name) for s in stack.services]
    watch = Readiness(client, project, names)
    deadline = time.monotonic() + WAIT_TIMEOUT
    ids: dict[str, str] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(stack.services) + len(stack.volumes) + 1) as pool:
            network = pool.submit(client.api.create_network, network_name(project), driver="bridge",
                                  labels={FLOOR_LABEL: project})
            volumes = {v: pool.submit(client.api.create_volume, volume_name(project, v), labels={FLOOR_LABEL: project})
                       for v in stack.volumes}

            def bring_up(svc: ServiceDef) -> None:
                network.result()
                if svc.volume:
                    volumes[svc.volume].result()
                cid = _create(client, project, svc, BASE_VALUE)
                ids[container_name(project, svc.name)] = cid
                for dep, condition in svc.depends_on:
                    watch.wait(container_name(project, dep), condition == "service_healthy", deadline)
                client.api.start(cid)

            for future in [pool.submit(bring_up, s) for s in stack.services]:
                future.result()
        for name in names:
            watch.wait(name, True, deadline)
    finally:
        watch.close()
    return ids


def noop(client: "docker.DockerClient", stack: Stack, project: str) -> None:
    """What a no-op `up --wait` must at least do: list, and confirm every container is running and healthy."""
    listed = client.api.containers(all=True, filters={"label": f"{FLOOR_LABEL}={project}"})
    if len(listed) != len(stack.services):
        raise FloorError(f"expected {len(stack.services)} containers, found {len(listed)}")
    with ThreadPoolExecutor(max_workers=len(listed)) as pool:
        infos = list(pool.map(lambda c: client.api.inspect_container(c["Id"]), listed))
    bad = [i["Name"] for i in infos if not i["State"].get("Running")
           or (i["State"].get("Health") or {}).get("Status") != "healthy"]
    if bad:
        raise FloorError(f"not running and healthy: {bad}")


def ps(client: "docker.DockerClient", project: str) -> list[dict[str, Any]]:
    return client.api.containers(filters={"label": f"{FLOOR_LABEL}={project}"})


def recreate(client: "docker.DockerClient", stack: Stack, project: str, service: str | None = None,
             value: str = CHANGED_VALUE) -> str:
    """Replace the one changed container and wait until the new one is healthy; returns its ID."""
    svc = stack.by_name(service or stack.changed)
    name = container_name(project, svc.name)
    watch = Readiness(client, project, [name])
    try:
        client.api.stop(name, timeout=STOP_GRACE_S)
        client.api.remove_container(name)
        watch.reset(name)
        cid = _create(client, project, svc, value)
        client.api.start(cid)
        watch.wait(name, True, time.monotonic() + WAIT_TIMEOUT)
    finally:
        watch.close()
    return cid


def down(client: "docker.DockerClient", stack: Stack, project: str) -> None:
    """Stop and remove every container after its dependents, in parallel; then the network and volumes."""
    import docker

    existing = {c["Names"][0].lstrip("/") for c in
                client.api.containers(all=True, filters={"label": f"{FLOOR_LABEL}={project}"})}
    gone = {s.name: threading.Event() for s in stack.services}

    def take_down(svc: ServiceDef) -> None:
        try:
            for dependent in stack.dependents(svc.name):
                gone[dependent].wait(WAIT_TIMEOUT)
            name = container_name(project, svc.name)
            if name in existing:
                client.api.stop(name, timeout=STOP_GRACE_S)
                client.api.remove_container(name)
        finally:
            gone[svc.name].set()

    with ThreadPoolExecutor(max_workers=len(stack.services)) as pool:
        for future in [pool.submit(take_down, s) for s in stack.services]:
            future.result()

    def remove(call: Any, name: str) -> None:
        try:
            call(name)
        except docker.errors.NotFound:
            pass

    with ThreadPoolExecutor(max_workers=len(stack.volumes) + 1) as pool:
        futures = [pool.submit(remove, client.api.remove_network, network_name(project))]
        futures += [pool.submit(remove, client.api.remove_volume, volume_name(project, v)) for v in stack.volumes]
        for future in futures:
            future.result()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("operation", choices=("up", "noop", "ps", "recreate", "down"))
    parser.add_argument("count", type=int)
    parser.add_argument("project")
    args = parser.parse_args(argv)
    stack = make_stack(args.count)
    start = time.perf_counter()
    client = connect()
    if args.operation == "up":
        up(client, stack, args.project)
    elif args.operation == "noop":
        noop(client, stack, args.project)
    elif args.operation == "ps":
        ps(client, args.project)
    elif args.operation == "recreate":
        recreate(client, stack, args.project)
    else:
        down(client, stack, args.project)
    print(f"{args.operation}: {(time.perf_counter() - start) * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
