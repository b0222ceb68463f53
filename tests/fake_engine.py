"""An in-memory engine behind devenv's `EngineAPI`, for unit tests of what drives the engine
(executor, event waits, apply, operations) without Docker.

It keeps containers, networks, volumes and images in dicts, answers with the JSON shapes devenv
reads (list entries, inspects, events), records every call in `calls`, and publishes container
events to every open `events()` stream (with the engine's filters and `since` replay). What
happens after a start is the test's to drive: `exit()`, `set_health()`, `end_streams()`; a hook
can run on any call (`on(...)`) to fail it, hold it, or change state. It claims nothing about what
Docker does: that stays in tests/integration against the real engine.
"""

from __future__ import annotations

import dataclasses
import io
import itertools
import queue
import tarfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from devenv.engine.api import APIError, BuildOptions, EngineAPI, Filters, NotFound, PathStat, WaitResult, When
from devenv.engine.client import Engine

_ids = itertools.count(1)


def _new_id() -> str:
    return f"{next(_ids):064x}"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime())


@dataclasses.dataclass(frozen=True)
class Call:
    """One call of the interface: its method and arguments (by name)."""

    method: str
    args: dict[str, Any]

    @property
    def target(self) -> Any:
        return next(iter(self.args.values()), None)


class FakeStream:
    """One subscription: the events published while it is open, until `end()` or `close()`."""

    def __init__(self, engine: FakeEngineAPI, filters: Filters | None, backlog: list[dict[str, Any]]) -> None:
        self.engine = engine
        self.filters = filters or {}
        self.items: queue.SimpleQueue[dict[str, Any] | None] = queue.SimpleQueue()
        self.closed = False
        for event in backlog:
            self.offer(event)

    def offer(self, event: dict[str, Any]) -> None:
        if not self.closed and _event_matches(event, self.filters):
            self.items.put(event)

    def end(self) -> None:
        """The engine ends the stream (restarted, a proxy cut it): iteration stops."""
        self.closed = True
        self.items.put(None)

    def close(self) -> None:
        self.end()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while (item := self.items.get()) is not None:
            yield item


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def _labels_match(labels: dict[str, str], wanted: list[str]) -> bool:
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def _event_matches(event: dict[str, Any], filters: Filters) -> bool:
    attributes = event["Actor"]["Attributes"]
    for key, value in filters.items():
        wanted = _as_list(value)
        if key == "type" and event["Type"] not in wanted:
            return False
        if key == "event" and event["Action"].split(":", 1)[0] not in wanted:
            return False
        if key == "label" and not _labels_match(attributes, wanted):
            return False
        if key == "container" and not {event["id"], attributes.get("name")} & set(wanted):
            return False
    return True


class FakeEngineAPI:
    """An `EngineAPI` held in memory. Containers start and stay running until the test says otherwise."""

    def __init__(self, images: dict[str, str] | None = None) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.containers_: dict[str, dict[str, Any]] = {}  # name -> inspect JSON
        self.networks_: dict[str, dict[str, Any]] = {}  # name -> inspect JSON
        self.volumes_: dict[str, dict[str, Any]] = {}  # name -> inspect JSON
        self.images_: dict[str, dict[str, Any]] = {}  # reference -> inspect JSON
        self.registry: dict[str, str] = {}  # what `pull` can fetch: reference -> image ID
        self.files: dict[str, dict[str, bytes]] = {}  # container name -> path -> content (archives)
        self.logs_: dict[str, list[str]] = {}
        self.calls: list[Call] = []
        self.history: list[dict[str, Any]] = []
        self.streams: list[FakeStream] = []
        self.hooks: dict[str, list[Callable[[Call], None]]] = {}
        self.healthchecked: set[str] = set()  # IDs of the containers with a healthcheck (service's or image's)
        self._nano = time.time_ns()
        self.swarm: dict[str, Any] = {"LocalNodeState": "inactive"}  # info()'s Swarm; `make_manager()`
        self.services_: dict[str, dict[str, Any]] = {}  # swarm: name -> inspect JSON (ID, Version, Spec)
        self.tasks_: list[dict[str, Any]] = []  # what `tasks()` lists; the test's to write (`add_task`)
        self.nodes_: list[dict[str, Any]] = [{"ID": "node-id-1", "Description": {"Hostname": "fake-node"}}]
        self.secrets_: dict[str, dict[str, Any]] = {}  # name -> {ID, Spec: {Name, Labels}, Data (base64)}
        self.configs_: dict[str, dict[str, Any]] = {}
        self.execs: dict[str, dict[str, Any]] = {}  # exec ID -> inspect JSON (+ Container, Cmd, User, Env...)
        # what an exec does: (container name, argv) -> (exit code, output); None: `rm -rf -- PATH...`
        # removes those paths from `files`, anything else exits 0 without output
        self.exec_handler: Callable[[str, list[str]], tuple[int, bytes]] | None = None
        for reference, image_id in (images or {}).items():
            self.add_image(reference, image_id)

    # ---------------------------------------------------------------- driving it from a test

    def on(self, method: str, hook: Callable[[Call], None]) -> None:
        """Run `hook(call)` at each call of `method`, before it acts (raise from it to fail the call)."""
        self.hooks.setdefault(method, []).append(hook)

    def fail(self, method: str, target: str, status: int = 500, message: str = "injected failure") -> None:
        """Fail the calls of `method` on `target` with the engine's error."""

        def hook(call: Call) -> None:
            if call.target == target:
                raise (NotFound if status == 404 else APIError)(status, message, method.upper(), target)

        self.on(method, hook)

    def add_image(self, reference: str, image_id: str | None = None, healthcheck: list[str] | None = None) -> str:
        image_id = image_id or "sha256:" + _new_id()
        config: dict[str, Any] = {"Healthcheck": {"Test": healthcheck}} if healthcheck else {}
        with self.lock:
            self.images_[reference] = {"Id": image_id, "RepoTags": [reference], "RepoDigests": [], "Config": config,
                                       "Size": 1000, "Os": "linux", "Architecture": "amd64", "Created": _now()}
        return image_id

    def exit(self, name: str, code: int = 0) -> None:
        """The container's process ends with `code`."""
        with self.lock:
            info = self._container(name)
            state = info["State"]
            state.update(Status="exited", Running=False, ExitCode=code, FinishedAt=_now())
            if state.get("Health"):
                state["Health"]["Status"] = "unhealthy"
            self._emit(info, "die", exitCode=str(code))

    def set_health(self, name: str, status: str) -> None:
        """The healthcheck of a running container reports `status` (healthy, unhealthy)."""
        with self.lock:
            info = self._container(name)
            info["State"].setdefault("Health", {"Status": "starting", "Log": []})["Status"] = status
            self._emit(info, f"health_status: {status}")

    def end_streams(self) -> None:
        """Every open event stream ends, as when the engine restarts."""
        with self.lock:
            streams, self.streams = self.streams, []
        for stream in streams:
            stream.end()

    def make_manager(self) -> None:
        """The engine is an active swarm's manager (`info()` says so)."""
        self.swarm = {"LocalNodeState": "active", "ControlAvailable": True, "NodeID": self.nodes_[0]["ID"]}

    def add_task(self, service: str, state: str, desired: str = "running", error: str = "", slot: int = 1) -> str:
        """A task of the service (name or ID) in `state`; its ID."""
        with self.lock:
            found = self._service(service)
            task_id = _new_id()[-25:]
            self.tasks_.append({"ID": task_id, "ServiceID": found["ID"], "Slot": slot, "NodeID": self.nodes_[0]["ID"],
                                "DesiredState": desired, "Status": {"State": state, "Err": error, "Timestamp": _now()}})
            return task_id

    def called(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def methods(self) -> list[str]:
        with self.lock:
            return [c.method for c in self.calls]

    # ---------------------------------------------------------------- plumbing

    def _record(self, method: str, **args: Any) -> Call:
        call = Call(method, args)
        with self.lock:
            self.calls.append(call)
            hooks = list(self.hooks.get(method, ()))
        for hook in hooks:
            hook(call)
        return call

    def _emit(self, info: dict[str, Any], action: str, **attributes: str) -> None:
        with self.lock:
            self._nano = max(self._nano + 1, time.time_ns())
            event = {
                "Type": "container", "Action": action, "status": action, "id": info["Id"], "from": info["Config"].get("Image", ""),
                "Actor": {"ID": info["Id"], "Attributes": {**(info["Config"].get("Labels") or {}), "name": info["Name"].lstrip("/"),
                                                           **attributes}},
                "time": self._nano // 1_000_000_000, "timeNano": self._nano,
            }
            self.history.append(event)
            for stream in list(self.streams):
                stream.offer(event)
            self.changed.notify_all()

    def _container(self, ref: str) -> dict[str, Any]:
        with self.lock:
            if ref in self.containers_:
                return self.containers_[ref]
            for info in self.containers_.values():
                if info["Id"] == ref or info["Id"].startswith(ref) and len(ref) >= 12:
                    return info
        raise NotFound(404, f"No such container: {ref}", "GET", ref)

    def _image(self, ref: str) -> dict[str, Any]:
        with self.lock:
            if ref in self.images_:
                return self.images_[ref]
            for info in self.images_.values():
                if info["Id"] == ref:
                    return info
        raise NotFound(404, f"No such image: {ref}", "GET", ref)

    def _summary(self, info: dict[str, Any]) -> dict[str, Any]:
        state = info["State"]
        status = {"running": "Up 1 second", "created": "Created", "paused": "Up 1 second (Paused)"}.get(
            state["Status"], f"Exited ({state.get('ExitCode', 0)}) 1 second ago")
        health = (state.get("Health") or {}).get("Status")
        if health and state["Status"] == "running":
            status += " (health: starting)" if health == "starting" else f" ({health})"
        return {
            "Id": info["Id"], "Names": [info["Name"]], "Image": info["Config"].get("Image", ""), "ImageID": info["Image"],
            "Command": "", "Created": 0, "Labels": dict(info["Config"].get("Labels") or {}), "State": state["Status"],
            "Status": status, "Ports": [], "Mounts": info["Mounts"],
            "NetworkSettings": {"Networks": info["NetworkSettings"]["Networks"]},
        }

    # ---------------------------------------------------------------- the engine

    def ping(self) -> bool:
        self._record("ping")
        return True

    def version(self) -> dict[str, Any]:
        self._record("version")
        return {"Version": "20.10.24", "ApiVersion": "1.41", "Os": "linux", "Arch": "amd64"}

    def info(self) -> dict[str, Any]:
        self._record("info")
        return {"DockerRootDir": "/var/lib/docker", "Driver": "overlay2", "Swarm": dict(self.swarm), "SystemTime": _now()}

    # ---------------------------------------------------------------- lists and inspects

    def containers(self, all: bool = False, filters: Filters | None = None) -> list[dict[str, Any]]:
        self._record("containers", all=all, filters=filters)
        out = []
        with self.lock:
            for info in self.containers_.values():
                if not all and info["State"]["Status"] != "running":
                    continue
                if not self._container_matches(info, filters or {}):
                    continue
                out.append(self._summary(info))
        return out

    def _container_matches(self, info: dict[str, Any], filters: Filters) -> bool:
        for key, value in filters.items():
            wanted = _as_list(value)
            if key == "label" and not _labels_match(info["Config"].get("Labels") or {}, wanted):
                return False
            if key == "id" and not any(info["Id"].startswith(w) for w in wanted):
                return False
            if key == "name" and not any(w in info["Name"] for w in wanted):
                return False
            if key == "status" and info["State"]["Status"] not in wanted:
                return False
            if key in ("publish", "volume"):
                return False  # nothing published or mounted that a test would look for this way
        return True

    def networks(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        self._record("networks", filters=filters)
        wanted = _as_list((filters or {}).get("label", []))
        with self.lock:
            return [dict(n) for n in self.networks_.values() if _labels_match(n.get("Labels") or {}, wanted)]

    def volumes(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        self._record("volumes", filters=filters)
        wanted = _as_list((filters or {}).get("label", []))
        with self.lock:
            return [dict(v) for v in self.volumes_.values() if _labels_match(v.get("Labels") or {}, wanted)]

    def images(self, all: bool = False) -> list[dict[str, Any]]:
        self._record("images", all=all)
        with self.lock:
            by_id: dict[str, dict[str, Any]] = {}
            for reference, info in self.images_.items():
                entry = by_id.setdefault(info["Id"], {"Id": info["Id"], "RepoTags": [], "RepoDigests": []})
                entry["RepoTags"].append(reference)
            return list(by_id.values())

    def inspect_container(self, container: str) -> dict[str, Any]:
        self._record("inspect_container", container=container)
        import copy

        with self.lock:
            return copy.deepcopy(self._container(container))

    def inspect_image(self, image: str) -> dict[str, Any]:
        self._record("inspect_image", image=image)
        return dict(self._image(image))

    def inspect_network(self, network: str) -> dict[str, Any]:
        self._record("inspect_network", network=network)
        with self.lock:
            if network not in self.networks_:
                raise NotFound(404, f"network {network} not found", "GET", network)
            return dict(self.networks_[network])

    def inspect_volume(self, volume: str) -> dict[str, Any]:
        self._record("inspect_volume", volume=volume)
        with self.lock:
            if volume not in self.volumes_:
                raise NotFound(404, f"get {volume}: no such volume", "GET", volume)
            return dict(self.volumes_[volume])

    # ---------------------------------------------------------------- creation

    def create_container(self, name: str, body: dict[str, Any], platform: str | None = None) -> dict[str, Any]:
        self._record("create_container", name=name, body=body, platform=platform)
        with self.lock:
            if name in self.containers_:
                raise APIError(409, f'Conflict. The container name "/{name}" is already in use', "POST", "/containers/create")
            image = self._image(body.get("Image", ""))
            host = body.get("HostConfig") or {}
            networks = ((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
            info = {
                "Id": _new_id(), "Name": f"/{name}", "Image": image["Id"], "Created": _now(), "RestartCount": 0,
                "Config": {**{k: v for k, v in body.items() if k not in ("HostConfig", "NetworkingConfig")}},
                "HostConfig": host,
                "State": {"Status": "created", "Running": False, "Restarting": False, "ExitCode": 0,
                          "StartedAt": "0001-01-01T00:00:00Z", "FinishedAt": "0001-01-01T00:00:00Z"},
                "Mounts": [], "NetworkSettings": {"Networks": {n: {"NetworkID": self.networks_.get(n, {}).get("Id", "")}
                                                               for n in networks}},
            }
            if body.get("Healthcheck") or (image.get("Config") or {}).get("Healthcheck"):
                self.healthchecked.add(info["Id"])
            self.containers_[name] = info
            self._emit(info, "create")
            return {"Id": info["Id"], "Warnings": []}

    def create_network(self, body: dict[str, Any]) -> dict[str, Any]:
        self._record("create_network", body=body)
        with self.lock:
            name = body["Name"]
            if name in self.networks_:
                raise APIError(409, f"network with name {name} already exists", "POST", "/networks/create")
            self.networks_[name] = {**body, "Id": _new_id(), "Containers": {}, "Labels": body.get("Labels") or {}}
            return {"Id": self.networks_[name]["Id"], "Warning": ""}

    def create_volume(self, body: dict[str, Any]) -> dict[str, Any]:
        self._record("create_volume", body=body)
        with self.lock:
            name = body["Name"]
            self.volumes_.setdefault(name, {"Name": name, "Driver": body.get("Driver") or "local",
                                            "Labels": body.get("Labels") or {}, "Options": body.get("DriverOpts") or {}})
            return dict(self.volumes_[name])

    def connect_network(self, network: str, body: dict[str, Any]) -> None:
        self._record("connect_network", network=network, body=body)
        with self.lock:
            if network not in self.networks_:
                raise NotFound(404, f"network {network} not found", "POST", network)
            info = self._container(body["Container"])
            self.networks_[network]["Containers"][info["Id"]] = {"Name": info["Name"].lstrip("/")}
            info["NetworkSettings"]["Networks"][network] = {"NetworkID": self.networks_[network]["Id"]}

    # ---------------------------------------------------------------- lifecycle

    def start(self, container: str) -> None:
        self._record("start", container=container)
        with self.lock:
            info = self._container(container)
            if info["State"]["Status"] == "running":
                return
            info["State"].update(Status="running", Running=True, ExitCode=0, StartedAt=_now())
            if info["Id"] in self.healthchecked:
                info["State"]["Health"] = {"Status": "starting", "Log": []}
            self._emit(info, "start")

    def stop(self, container: str, timeout: int = 10) -> None:
        self._record("stop", container=container, timeout=timeout)
        with self.lock:
            info = self._container(container)
            if info["State"]["Status"] != "running":
                return
            self._emit(info, "kill", signal="15")
            info["State"].update(Status="exited", Running=False, ExitCode=0, FinishedAt=_now())
            self._emit(info, "die", exitCode="0")
            self._emit(info, "stop")

    def kill(self, container: str, signal: str | int | None = None) -> None:
        self._record("kill", container=container, signal=signal)
        with self.lock:
            info = self._container(container)
            if info["State"]["Status"] != "running":
                raise APIError(409, f"Container {info['Id']} is not running", "POST", "/kill")
            self._emit(info, "kill", signal=str(signal or "SIGKILL"))
            info["State"].update(Status="exited", Running=False, ExitCode=137)
            self._emit(info, "die", exitCode="137")

    def pause(self, container: str) -> None:
        self._record("pause", container=container)
        with self.lock:
            info = self._container(container)
            info["State"]["Status"] = "paused"
            self._emit(info, "pause")

    def unpause(self, container: str) -> None:
        self._record("unpause", container=container)
        with self.lock:
            info = self._container(container)
            if info["State"]["Status"] != "paused":
                raise APIError(409, f"Container {info['Id']} is not paused", "POST", "/unpause")
            info["State"]["Status"] = "running"
            self._emit(info, "unpause")

    def wait(self, container: str, timeout: float | None = None, condition: str | None = None) -> WaitResult:
        self._record("wait", container=container, timeout=timeout, condition=condition)
        with self.changed:
            info = self._container(container)
            if not self.changed.wait_for(lambda: info["State"]["Status"] not in ("running", "paused"), timeout=timeout):
                raise APIError(500, "timed out waiting", "POST", "/wait")
            return {"StatusCode": int(info["State"]["ExitCode"]), "Error": None}

    # ---------------------------------------------------------------- removal

    def remove_container(self, container: str, v: bool = False, force: bool = False) -> None:
        self._record("remove_container", container=container, v=v, force=force)
        with self.lock:
            info = self._container(container)
            if info["State"]["Status"] == "running" and not force:
                raise APIError(409, "You cannot remove a running container", "DELETE", container)
            if info["State"]["Status"] == "running":
                info["State"].update(Status="exited", Running=False, ExitCode=137)
                self._emit(info, "die", exitCode="137")
            del self.containers_[info["Name"].lstrip("/")]
            for network in self.networks_.values():
                network["Containers"].pop(info["Id"], None)
            self._emit(info, "destroy")

    def remove_network(self, network: str) -> None:
        self._record("remove_network", network=network)
        with self.lock:
            network = next((name for name, n in self.networks_.items() if n["Id"] == network), network)  # by ID too
            if network not in self.networks_:
                raise NotFound(404, f"network {network} not found", "DELETE", network)
            if self.networks_[network]["Containers"]:
                raise APIError(403, f"error while removing network: network {network} has active endpoints", "DELETE", network)
            del self.networks_[network]

    def remove_volume(self, volume: str) -> None:
        self._record("remove_volume", volume=volume)
        with self.lock:
            if volume not in self.volumes_:
                raise NotFound(404, f"get {volume}: no such volume", "DELETE", volume)
            del self.volumes_[volume]

    def remove_image(self, image: str) -> None:
        self._record("remove_image", image=image)
        with self.lock:
            self._image(image)
            del self.images_[image]

    # ---------------------------------------------------------------- observation

    def top(self, container: str) -> dict[str, Any]:
        self._record("top", container=container)
        self._container(container)
        return {"Titles": ["PID", "CMD"], "Processes": [["1", "sleep"]]}

    def stats(self, container: str) -> dict[str, Any]:
        self._record("stats", container=container)
        self._container(container)
        return {"pids_stats": {"current": 1}}

    def logs(self, container: str, *, follow: bool = False, tail: int | str = "all", timestamps: bool = False,
             since: When = None, until: When = None) -> Iterator[bytes]:
        self._record("logs", container=container, follow=follow, tail=tail, since=since, until=until)
        lines = self.logs_.get(self._container(container)["Name"].lstrip("/"), [])
        if tail != "all":
            lines = lines[-int(tail):] if int(tail) else []
        return iter([(line + "\n").encode() for line in lines])

    def events(self, filters: Filters | None = None, since: When = None, until: When = None) -> FakeStream:
        self._record("events", filters=filters, since=since, until=until)
        with self.lock:
            backlog = []
            if since is not None:
                seconds, _, nanos = str(since).partition(".")
                start = int(seconds) * 1_000_000_000 + int((nanos or "0").ljust(9, "0")[:9])
                backlog = [e for e in self.history if e["timeNano"] >= start]
            stream = FakeStream(self, filters, backlog)
            self.streams.append(stream)
        return stream

    # ---------------------------------------------------------------- images

    def pull(self, repository: str, tag: str | None = None, platform: str | None = None) -> Iterator[dict[str, Any]]:
        self._record("pull", repository=repository, tag=tag, platform=platform)
        reference = f"{repository}{'@' if tag and tag.startswith('sha256:') else ':'}{tag}" if tag else repository
        if reference not in self.registry:
            return iter([{"status": "Pulling"}, {"error": f"manifest for {reference} not found"}])
        self.add_image(reference, self.registry[reference])
        return iter([{"status": f"Pulling from {repository}"}, {"status": f"Downloaded newer image for {reference}"}])

    def push(self, repository: str, tag: str, auth_config: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        self._record("push", repository=repository, tag=tag, auth_config=auth_config)
        image = self._image(f"{repository}:{tag}")
        return iter([{"status": "Pushed"}, {"aux": {"Tag": tag, "Digest": "sha256:" + image["Id"][-64:], "Size": 500}}])

    def tag(self, image: str, repository: str, tag: str) -> None:
        self._record("tag", image=image, repository=repository, tag=tag)
        with self.lock:
            self.images_[f"{repository}:{tag}"] = dict(self._image(image), RepoTags=[f"{repository}:{tag}"])

    def build(self, options: BuildOptions) -> Iterator[dict[str, Any]]:
        self._record("build", options=dict(options))
        self.add_image(options["tag"])
        return iter([{"stream": "Step 1/1 : FROM scratch\n"}, {"stream": f"Successfully tagged {options['tag']}\n"}])

    # ---------------------------------------------------------------- archives

    def archive_stat(self, container: str, path: str) -> PathStat | None:
        self._record("archive_stat", container=container, path=path)
        files = self.files.get(self._container(container)["Name"].lstrip("/"), {})
        if path in files:
            return {"name": path.rsplit("/", 1)[-1], "size": len(files[path]), "mode": 0o644, "linkTarget": ""}
        if any(p.startswith(path.rstrip("/") + "/") for p in files) or path == "/":
            return {"name": path.rsplit("/", 1)[-1], "size": 0, "mode": (1 << 31) | 0o755, "linkTarget": ""}
        return None

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], PathStat | None]:
        self._record("get_archive", container=container, path=path)
        files = self.files.get(self._container(container)["Name"].lstrip("/"), {})
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for name, data in sorted(files.items()):
                if name == path or name.startswith(path.rstrip("/") + "/"):  # named from the path's base, as the engine's
                    info = tarfile.TarInfo((path.rstrip("/").rsplit("/", 1)[-1] + name[len(path.rstrip("/")):]).lstrip("/"))
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return iter([buffer.getvalue()]), self.archive_stat(container, path)

    def put_archive(self, container: str, path: str, data: bytes | BinaryIO, length: int | None = None,
                    copy_uid_gid: bool = False) -> None:
        raw = data if isinstance(data, bytes) else data.read(-1 if length is None else length)
        self._record("put_archive", container=container, path=path, data=raw, copy_uid_gid=copy_uid_gid)
        name = self._container(container)["Name"].lstrip("/")
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            for member in tar.getmembers():
                if member.isfile():
                    extracted = tar.extractfile(member)
                    assert extracted is not None
                    self.files.setdefault(name, {})["/" + "/".join(p for p in (path.strip("/"), member.name) if p)] = extracted.read()

    # ---------------------------------------------------------------- exec

    def exec_create(self, container: str, cmd: Sequence[str], *, user: str | None = None, privileged: bool = False,
                    workdir: str | None = None, env: Sequence[str] = ()) -> str:
        self._record("exec_create", container=container, cmd=list(cmd), user=user, privileged=privileged, workdir=workdir,
                     env=list(env))
        with self.lock:
            info = self._container(container)
            if info["State"]["Status"] != "running":
                raise APIError(409, f"Container {info['Id']} is not running", "POST", container)
            exec_id = _new_id()
            self.execs[exec_id] = {"ID": exec_id, "ContainerID": info["Id"], "Container": info["Name"].lstrip("/"),
                                   "Cmd": list(cmd), "User": user or "", "Privileged": privileged, "WorkingDir": workdir or "",
                                   "Env": list(env), "Running": False, "ExitCode": None, "Pid": 0}
        return exec_id

    def exec_start(self, exec_id: str) -> bytes:
        self._record("exec_start", exec_id=exec_id)
        with self.lock:
            if exec_id not in self.execs:
                raise NotFound(404, f"No such exec instance: {exec_id}", "POST", exec_id)
            found = self.execs[exec_id]
        name, cmd = found["Container"], found["Cmd"]
        if self.exec_handler is not None:
            code, output = self.exec_handler(name, list(cmd))
        else:
            code, output = 0, b""
            if cmd[:3] == ["rm", "-rf", "--"]:
                with self.lock:
                    files = self.files.get(name, {})
                    for gone in cmd[3:]:
                        for path in [p for p in files if p == gone or p.startswith(gone.rstrip("/") + "/")]:
                            del files[path]
        with self.lock:
            found["ExitCode"] = code
        return output

    def exec_inspect(self, exec_id: str) -> dict[str, Any]:
        self._record("exec_inspect", exec_id=exec_id)
        with self.lock:
            if exec_id not in self.execs:
                raise NotFound(404, f"No such exec instance: {exec_id}", "GET", exec_id)
            return {k: v for k, v in self.execs[exec_id].items() if k not in ("Cmd", "User", "Env", "WorkingDir", "Container")}

    # ---------------------------------------------------------------- swarm (minimal: objects kept, calls recorded)

    def _service(self, ref: str) -> dict[str, Any]:
        with self.lock:
            for name, info in self.services_.items():
                if ref in (name, info["ID"]):
                    return info
        raise NotFound(404, f"service {ref} not found", "GET", ref)

    @staticmethod
    def _swarm_matches(spec: dict[str, Any], item_id: str, filters: Filters | None) -> bool:
        for key, value in (filters or {}).items():
            wanted = _as_list(value)
            if key == "label" and not _labels_match(spec.get("Labels") or {}, wanted):
                return False
            if key == "name" and not any(w in spec.get("Name", "") for w in wanted):
                return False
            if key == "id" and not any(item_id.startswith(w) for w in wanted):
                return False
        return True

    def services(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        self._record("services", filters=filters)
        with self.lock:
            return [dict(s) for s in self.services_.values() if self._swarm_matches(s["Spec"], s["ID"], filters)]

    def inspect_service(self, service: str) -> dict[str, Any]:
        self._record("inspect_service", service=service)
        return dict(self._service(service))

    def create_service(self, spec: dict[str, Any], auth: dict[str, str] | None = None) -> dict[str, Any]:
        self._record("create_service", spec=spec, auth=auth)
        with self.lock:
            if spec["Name"] in self.services_:
                raise APIError(409, f"name conflicts with an existing object: service {spec['Name']}", "POST", "/services/create")
            service_id = _new_id()[-25:]
            self.services_[spec["Name"]] = {"ID": service_id, "Version": {"Index": 1}, "Spec": spec, "UpdateStatus": {}}
            return {"ID": service_id}

    def update_service(self, service: str, version: int, spec: dict[str, Any],
                       auth: dict[str, str] | None = None) -> dict[str, Any]:
        self._record("update_service", service=service, version=version, spec=spec, auth=auth)
        with self.lock:
            info = self._service(service)
            if info["Version"]["Index"] != version:
                raise APIError(500, "update out of sequence", "POST", "/services/update")
            info.update(Spec=spec, Version={"Index": version + 1}, UpdateStatus={"State": "completed"})
            return {"Warnings": None}

    def remove_service(self, service: str) -> None:
        self._record("remove_service", service=service)
        with self.lock:
            info = self._service(service)
            del self.services_[info["Spec"]["Name"]]
            self.tasks_ = [t for t in self.tasks_ if t["ServiceID"] != info["ID"]]

    def tasks(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        self._record("tasks", filters=filters)
        with self.lock:
            ids = {self._service(s)["ID"] for s in _as_list((filters or {})["service"])} if "service" in (filters or {}) else None
            return [dict(t) for t in self.tasks_ if ids is None or t["ServiceID"] in ids]

    def nodes(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        self._record("nodes", filters=filters)
        return [dict(n) for n in self.nodes_]

    def _objects(self, kind: str) -> dict[str, dict[str, Any]]:
        return self.secrets_ if kind == "secret" else self.configs_

    def _list_objects(self, kind: str, filters: Filters | None) -> list[dict[str, Any]]:
        self._record(f"{kind}s", filters=filters)
        with self.lock:
            return [{"ID": o["ID"], "Spec": dict(o["Spec"])} for o in self._objects(kind).values()
                    if self._swarm_matches(o["Spec"], o["ID"], filters)]

    def _create_object(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        self._record(f"create_{kind}", body=body)
        with self.lock:
            objects = self._objects(kind)
            if body["Name"] in objects:
                raise APIError(409, f"{kind} {body['Name']} already exists", "POST", f"/{kind}s/create")
            object_id = _new_id()[-25:]
            objects[body["Name"]] = {"ID": object_id, "Spec": {"Name": body["Name"], "Labels": body.get("Labels") or {}},
                                     "Data": body["Data"]}
            return {"ID": object_id}

    def _remove_object(self, kind: str, ref: str) -> None:
        self._record(f"remove_{kind}", **{kind: ref})
        with self.lock:
            objects = self._objects(kind)
            for name, obj in list(objects.items()):
                if ref in (name, obj["ID"]):
                    del objects[name]
                    return
        raise NotFound(404, f"{kind} {ref} not found", "DELETE", ref)

    def secrets(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        return self._list_objects("secret", filters)

    def create_secret(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._create_object("secret", body)

    def remove_secret(self, secret: str) -> None:
        self._remove_object("secret", secret)

    def configs(self, filters: Filters | None = None) -> list[dict[str, Any]]:
        return self._list_objects("config", filters)

    def create_config(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._create_object("config", body)

    def remove_config(self, config: str) -> None:
        self._remove_object("config", config)


def fake_client(api: FakeEngineAPI | None = None) -> Engine:
    """devenv's connected-engine object around a fake (what `connect()` returns for a real one)."""
    return Engine(api or FakeEngineAPI(), "unix:///fake/docker.sock")


def _implements(api: FakeEngineAPI) -> EngineAPI:
    return api  # mypy checks that the fake has every method of the Protocol, with the same signatures
