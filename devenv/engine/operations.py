"""One function per plan operation, each a single Engine API call (builds and pulls stream)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from devenv.engine import transfer
from devenv.engine.api import explanation, is_not_found
from devenv.engine.background import Background
from devenv.engine.events import FALLBACK_RECHECK, STABLE_FOR, EventWatch, completed_verdict, healthy_verdict, running_verdict, wait_for
from devenv.errors import EngineError
from devenv.model import thaw
from devenv.plan import payloads
from devenv.plan.actions import Action, Op

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI
    from devenv.engine.client import Engine

P = TypeVar("P", bound=payloads.Payload)


class Context:
    """What operations share while a plan runs."""

    def __init__(
        self,
        client: Engine,
        watch: EventWatch | None,
        wait_timeout: float,
        cancelled: Callable[[], bool],
        log: Callable[[str], None],
    ) -> None:
        self.client = client
        self.api = client.api
        self.watch = watch
        self.wait_timeout = wait_timeout
        self.cancelled = cancelled
        self.log = log
        # Stops whose container's process has exited but whose engine call (clean-up) is still running:
        # the next operation on that container waits for it (`settle`).
        self.stopping: dict[str, tuple[Action, Background[None]]] = {}
        self._hooks: dict[int, Callable[[bool], None]] = {}
        self._hooks_lock = threading.Lock()
        self._next_hook = 0

    def on_cancel(self, hook: Callable[[bool], None]) -> Callable[[], None]:
        """Run `hook(force)` on Ctrl-C (kill a subprocess, wake a waiter); returns its un-registration."""
        with self._hooks_lock:
            key, self._next_hook = self._next_hook, self._next_hook + 1
            self._hooks[key] = hook
        return lambda: self._hooks.pop(key, None) and None

    def cancel(self, force: bool = False) -> None:
        """Ctrl-C: tell what is in flight to stop now (`force`: at once, no grace)."""
        with self._hooks_lock:
            hooks = list(self._hooks.values())
        for hook in hooks:
            try:
                hook(force)
            except Exception:
                pass

    def settle(self, container: str) -> None:
        """Wait for a stop of `container` still in flight; re-raise its error (gone counts as stopped)."""
        pending = self.stopping.pop(container, None)
        if pending is not None:
            _gone_or(pending[1].result)


def handle(action: Action) -> str:
    """What the engine is told to act on (`Action.handle`): the container's ID, else the target."""
    return action.handle


def _payload(action: Action, kind: type[P]) -> P:
    """The action's payload, of the type its operation takes."""
    payload = action.payload
    assert isinstance(payload, kind), (action.id, type(payload).__name__)
    return payload


def create_network(ctx: Context, action: Action) -> str:
    ctx.api.create_network(thaw(_payload(action, payloads.CreateNetwork).body))
    return "created"


def create_volume(ctx: Context, action: Action) -> str:
    ctx.api.create_volume(thaw(_payload(action, payloads.CreateVolume).body))
    return "created"


def pull_image(ctx: Context, action: Action) -> str:
    payload = _payload(action, payloads.PullImage)
    image = payload.image or action.target
    repository, tag = _split_reference(image)
    last_error = None
    tally = transfer.PullTally()
    for chunk in ctx.api.pull(repository, tag=tag, platform=payload.platform):
        if ctx.cancelled():
            raise KeyboardInterrupt
        if "error" in chunk:
            last_error = chunk.get("error")
        elif tally.feed(chunk):
            transfer.report(f"pull {image}", tally.done, tally.total)
    transfer.report(f"pull {image}", tally.done, tally.total, finished=True)
    if last_error:
        raise EngineError(f"pull {image}: {last_error}")
    return "pulled"


def _split_reference(image: str) -> tuple[str, str | None]:
    if "@" in image:
        name, digest = image.split("@", 1)
        return name, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = image.rsplit(":", 1)
        return name, tag
    return image, "latest"


def build_image(ctx: Context, action: Action) -> str:
    from devenv.engine.build import build

    payload = _payload(action, payloads.BuildImage)
    build(ctx, payload.image, thaw(payload.build), payload.platform, service=payload.service or action.service,
          secrets=thaw(payload.secrets))
    return "built"


def create_container(ctx: Context, action: Action) -> str:
    payload = _payload(action, payloads.CreateContainer)
    spec = payload.spec
    if payload.image_pending or spec.image_id is None:
        spec = spec.with_image_id(ctx.api.inspect_image(spec.image)["Id"])
    if spec.hash_refs:  # Compose's hash names the referenced containers by ID, known only now
        spec = spec.with_references({service: ctx.api.inspect_container(name)["Id"] for service, name in spec.hash_refs})
    ctx.api.create_container(spec.name, spec.create_body(), platform=spec.platform or None)
    return "created"


def connect_network(ctx: Context, action: Action) -> str:
    payload = _payload(action, payloads.ConnectNetwork)
    network = payload.network
    ctx.api.connect_network(network, thaw(payload.body))
    return f"connected to {network}"


def start_container(ctx: Context, action: Action) -> str:
    ctx.api.start(handle(action))
    return "started"


def unpause_container(ctx: Context, action: Action) -> str:
    ctx.api.unpause(handle(action))
    return "unpaused"


def stop_container(ctx: Context, action: Action) -> str:
    """Stopped once the container's process has exited (its `die` event), not when the engine has
    also torn down its network and mounts: what comes after it in the plan (a dependency's own stop)
    can start then, and what acts on this container waits for the whole call (`Context.settle`).
    Ctrl-C does not cut this wait short: a stop that ends within the executor's grace period is
    reported (and the next command finds the container stopped); a longer one goes on on the
    engine's side while devenv leaves."""
    timeout = _payload(action, payloads.StopContainer).timeout
    container = handle(action)
    seconds = 10 if timeout is None else int(timeout)
    watch = ctx.watch
    if watch is None:
        ctx.api.stop(container, timeout=seconds)
        return "stopped"
    died = watch.count(container, "die")

    def stop() -> None:
        try:
            ctx.api.stop(container, timeout=seconds)
        finally:
            watch.poke(container)

    call: Background[None] = Background(stop)
    while True:
        seq = watch.seq(container)
        if call.done() or watch.closed:
            call.result()
            return "stopped"
        if watch.count(container, "die") > died:
            ctx.stopping[container] = (action, call)
            return "stopped"
        watch.wait_after(container, seq, FALLBACK_RECHECK)


def _gone_or(remove: Callable[[], None]) -> str:
    """Run a removal; an object that is already gone counts as removed."""
    try:
        remove()
    except Exception as exc:
        if not is_not_found(exc):
            raise
        return "already gone"
    return "removed"


def remove_container(ctx: Context, action: Action) -> str:
    volumes = _payload(action, payloads.RemoveContainer).volumes
    return _gone_or(lambda: ctx.api.remove_container(handle(action), v=volumes, force=True))


ENDPOINT_RELEASE_WAIT = 5.0  # seconds the engine may take to release the endpoints of removed containers


def remove_network(ctx: Context, action: Action) -> str:
    """Remove a network. Docker 20.10 can still count the endpoint of a container it has just removed
    ("has active endpoints") for a moment: retry while no container is attached; name the ones that are."""
    deadline = time.monotonic() + ENDPOINT_RELEASE_WAIT
    while True:
        try:
            return _gone_or(lambda: ctx.api.remove_network(action.target))
        except Exception as exc:
            if "active endpoints" not in (explanation(exc) or ""):
                raise
        try:
            attached = ctx.api.inspect_network(action.target).get("Containers") or {}
        except Exception as exc:
            if not is_not_found(exc):
                raise
            return "already gone"
        if attached:
            names = ", ".join(sorted(c.get("Name") or cid[:12] for cid, c in attached.items()))
            raise EngineError(f"network {action.target} is still used by {names}, which this project does not own")
        if time.monotonic() >= deadline or ctx.cancelled():
            raise EngineError(
                f"network {action.target} has no container attached, but the engine still counts an endpoint "
                f"after {ENDPOINT_RELEASE_WAIT:.0f}s (a stale endpoint of Docker 20.10; restarting dockerd clears it)"
            )
        time.sleep(0.1)


def remove_volume(ctx: Context, action: Action) -> str:
    return _gone_or(lambda: ctx.api.remove_volume(action.target))


def _gate(verdict: Callable[[dict[str, Any]], bool | str], done: str) -> Callable[[Context, Action], str]:
    def wait(ctx: Context, action: Action) -> str:
        assert ctx.watch is not None, "waits need the event watch"
        deadline = time.monotonic() + ctx.wait_timeout
        check, stable_for = verdict, 0.0
        if verdict is running_verdict and "--wait" in _payload(action, payloads.Gate).dependents:
            # `up` returns once ready: healthy when the image has a healthcheck, else up for a moment
            check, stable_for = ready_verdict, STABLE_FOR
        read = lambda: ctx.api.inspect_container(handle(action))  # noqa: E731
        wait_for(ctx.watch, handle(action), read, check, deadline, ctx.cancelled, stable_for)
        return done

    return wait


def ready_verdict(info: dict[str, Any]) -> bool | str:
    """Running, and healthy if the container has a healthcheck (from the service or the image)."""
    if ((info.get("State") or {}).get("Health")) is not None:
        return healthy_verdict(info)
    return running_verdict(info)


OPERATIONS: dict[Op, Callable[[Context, Action], str]] = {
    Op.CREATE_NETWORK: create_network,
    Op.CREATE_VOLUME: create_volume,
    Op.PULL_IMAGE: pull_image,
    Op.BUILD_IMAGE: build_image,
    Op.CREATE_CONTAINER: create_container,
    Op.CONNECT_NETWORK: connect_network,
    Op.START_CONTAINER: start_container,
    Op.UNPAUSE_CONTAINER: unpause_container,
    Op.WAIT_HEALTHY: _gate(healthy_verdict, "healthy"),
    Op.WAIT_COMPLETED: _gate(completed_verdict, "completed"),
    Op.WAIT_RUNNING: _gate(running_verdict, "running"),
    Op.STOP_CONTAINER: stop_container,
    Op.REMOVE_CONTAINER: remove_container,
    Op.REMOVE_NETWORK: remove_network,
    Op.REMOVE_VOLUME: remove_volume,
}


def logs_tail(ctx: Context, container: str, lines: int = 10) -> str:
    try:
        data = b"".join(ctx.api.logs(container, tail=lines))
    except Exception:
        return ""
    return data.decode("utf-8", "replace").rstrip()



def put_files(api: EngineAPI, container: str, files: Any) -> None:
    """Secrets and configs given as content: one tar archive, extracted at / in the container."""
    import io
    import tarfile

    now = int(time.time())
    buffer = io.BytesIO()
    directories: set[str] = set()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for item in files:
            parts = item.path.strip("/").split("/")
            for depth in range(1, len(parts)):  # parent directories, so the archive extracts anywhere
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    info = tarfile.TarInfo(directory)
                    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
                    archive.addfile(info)
            data = str(item.content).encode()
            info = tarfile.TarInfo("/".join(parts))
            info.size, info.mode, info.uid, info.gid, info.mtime = len(data), item.mode, item.uid, item.gid, now
            archive.addfile(info, io.BytesIO(data))
    api.put_archive(container, "/", buffer.getvalue())


def copy_files(ctx: Context, action: Action) -> str:
    files = _payload(action, payloads.CopyFiles).files
    put_files(ctx.api, action.target, files)
    return f"{len(files)} file(s) copied"


OPERATIONS[Op.COPY_FILES] = copy_files
