"""Named volumes' contents through the engine's archive API, for `snapshot` and `restore`.

A volume is read and written through a helper container that is created, never started: it mounts
the volume at /devenv-volume (read-only to read) and the archive API streams its tar out (GET) or
in (PUT at `/`, so the volume root's own owner, mode and mtime come back). No image needs `tar`;
the helper is always removed. The containers that write a volume are paused (or stopped) while it
is read or written, and resumed whatever happens (Ctrl-C too).
"""

from __future__ import annotations

import contextlib
import tarfile
import threading
import uuid
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, BinaryIO

from devenv.engine.api import explanation, is_not_found
from devenv.errors import EngineError
from devenv.plan.observed import ObservedContainer
from devenv.plan.snapshots import ROOT

if TYPE_CHECKING:
    from devenv.engine.api import EngineAPI
    from devenv.engine.client import Engine

MOUNT = "/" + ROOT
HELPER_LABEL = "io.devenv.volume-helper"  # on helper containers: the volume they mount
CHUNK = 1 << 20
CREATE_WAIT = 5.0  # seconds a removal waits for the create it follows (interrupted by Ctrl-C)


def inspect_volume(client: Engine, name: str) -> dict[str, Any] | None:
    """The volume's inspect JSON, or None when the engine has no such volume."""
    try:
        return dict(client.api.inspect_volume(name))
    except Exception as exc:
        if is_not_found(exc):
            return None
        raise


def create_volume(client: Engine, body: dict[str, Any]) -> None:
    client.api.create_volume(body)


def first_local_image(client: Engine, candidates: Sequence[str]) -> str | None:
    """The first of the image references that exists on the engine."""
    for reference in candidates:
        try:
            client.api.inspect_image(reference)
        except Exception as exc:
            if is_not_found(exc):
                continue
            raise
        return reference
    return None


def _mount(volume: str, read_only: bool) -> dict[str, Any]:
    return {"Type": "volume", "Source": volume, "Target": MOUNT, "ReadOnly": read_only, "VolumeOptions": {"NoCopy": True}}


def _remove_quietly(api: EngineAPI, container: str) -> None:
    try:
        api.remove_container(container, force=True)
    except Exception as exc:
        if not is_not_found(exc) and explanation(exc) is None:
            raise


@contextlib.contextmanager
def helper(client: Engine, project: str, volume: str, image: str, *, read_only: bool) -> Iterator[str]:
    """A created (never started) container of `image` with `volume` at /devenv-volume; its name.
    Removed on the way out, also on Ctrl-C (and by a forced exit)."""
    body = {
        "Image": image, "Entrypoint": ["/devenv-volume-helper-never-started"], "Cmd": [], "User": "0:0",
        "NetworkDisabled": True, "Labels": {HELPER_LABEL: volume},
        "HostConfig": {"Mounts": [_mount(volume, read_only)], "NetworkMode": "none"},
    }
    container = f"{project}-volume-helper-{uuid.uuid4().hex[:12]}"
    with _created(client.api, container, body):
        yield container


@contextlib.contextmanager
def _created(api: EngineAPI, container: str, body: dict[str, Any]) -> Iterator[None]:
    """The container `body` created under the name `container`, and removed on the way out. The
    create runs in a thread of its own that is waited for before the removal: a Ctrl-C while the
    engine creates it leaves no container behind."""
    from devenv.engine.background import Background
    from devenv.interrupts import on_forced_exit

    creating = Background(api.create_container, container, body)

    def remove() -> None:
        creating.wait(CREATE_WAIT)
        _remove_quietly(api, container)

    forget = on_forced_exit(remove)
    try:
        creating.result()
        yield
    finally:
        forget()
        remove()


def archive_chunks(client: Engine, container: str, path: str = MOUNT) -> Generator[bytes, None, None]:
    """The tar of `path` in the container, chunk by chunk as the engine sends it (never whole)."""
    chunks, _stat = client.api.get_archive(container, path)
    try:
        yield from chunks
    finally:
        close = getattr(chunks, "close", None)  # the engine's connection, when the tar is not read to its end
        if close is not None:
            close()


def put_archive(client: Engine, container: str, reader: BinaryIO, length: int, path: str = "/") -> None:
    """Unpack the tar read from `reader` (`length` bytes) at `path` in the container, owners,
    modes and times as the tar has them (no copyUIDGID: the helper runs as no user of its own)."""
    client.api.put_archive(container, path, reader, length)


def is_empty(client: Engine, container: str) -> bool:
    """Whether the volume at /devenv-volume holds nothing (reads the tar's first two entries only)."""
    from devenv.snapshotfile import ChunkReader

    chunks = archive_chunks(client, container)
    try:
        with tarfile.open(fileobj=ChunkReader(chunks), mode="r|") as tar:  # type: ignore[call-overload]
            for index, _member in enumerate(tar):
                if index > 0:
                    return False
        return True
    finally:
        chunks.close()


def users(api: EngineAPI, volume: str) -> list[str]:
    """The names of the containers (any state, any project) that mount the volume."""
    found = api.containers(all=True, filters={"volume": volume})
    return sorted(str((c.get("Names") or [""])[0]).lstrip("/") for c in found)


def empty_volume(client: Engine, project: str, volume: str, info: dict[str, Any], image: str) -> None:
    """Remove everything in the volume. A local volume no container uses is removed and created
    again with the same driver, options and labels; else a helper container of `image` is started
    to delete its contents (`find /devenv-volume -mindepth 1 -maxdepth 1 -exec rm -rf {} +`), which needs
    `find` and `rm` in it."""
    api = client.api
    if not users(api, volume) and (info.get("Driver") or "local") == "local":
        api.remove_volume(volume)
        body = {"Name": volume, "Driver": info.get("Driver") or "local", "Labels": info.get("Labels") or {}}
        if info.get("Options"):
            body["DriverOpts"] = info["Options"]
        api.create_volume(body)
        return
    body = {
        "Image": image, "Entrypoint": ["find"], "User": "0:0",
        "Cmd": [MOUNT, "-mindepth", "1", "-maxdepth", "1", "-exec", "rm", "-rf", "{}", "+"],
        "NetworkDisabled": True, "Labels": {HELPER_LABEL: volume},
        "HostConfig": {"Mounts": [_mount(volume, False)], "NetworkMode": "none"},
    }
    container = f"{project}-volume-helper-{uuid.uuid4().hex[:12]}"
    with _created(api, container, body):
        try:
            api.start(container)
        except Exception as exc:
            message = explanation(exc)
            if message is None:
                raise
            raise EngineError(
                f"cannot empty volume {volume}: it is in use by {', '.join(users(api, volume))} and image {image} "
                f"cannot run `find` and `rm` ({message.strip()[:160]}); remove those containers (`devenv rm -s`) and retry"
            ) from None
        code = int((api.wait(container) or {}).get("StatusCode", 0))
        if code != 0:
            raise EngineError(f"cannot empty volume {volume}: `find ... -exec rm -rf` in image {image} exited {code}")


class Quiesced:
    """The containers paused (or stopped) for a copy, resumed once: on the way out and by a forced exit."""

    def __init__(self, api: EngineAPI, stop: bool, timeout: int | None) -> None:
        self.api = api
        self.stop = stop
        self.timeout = timeout
        self.held: list[ObservedContainer] = []
        self.failures: list[str] = []
        self._lock = threading.Lock()

    def hold(self, containers: Iterable[ObservedContainer]) -> list[str]:
        """Pause (stop) the running ones among `containers`; an already paused one is left as it is."""
        names = []
        for c in containers:
            if c.state == "paused" or c in self.held:
                continue
            with self._lock:  # before the call: a Ctrl-C while it is in flight still resumes the container
                self.held.append(c)
            if self.stop:
                self.api.stop(c.id, **({"timeout": self.timeout} if self.timeout is not None else {}))
            else:
                self.api.pause(c.id)
            names.append(c.name)
        return names

    def resume(self) -> None:
        while True:
            with self._lock:
                if not self.held:
                    return
                c = self.held.pop()
            try:
                self.api.start(c.id) if self.stop else self.api.unpause(c.id)
            except Exception as exc:
                message = (explanation(exc) or str(exc)).strip()
                if "is not paused" not in message:  # a pause the engine never made (interrupted, refused)
                    self.failures.append(f"{c.name}: {message}")


@contextlib.contextmanager
def quiesced(client: Engine, stop: bool = False, timeout: int | None = None) -> Iterator[Quiesced]:
    from devenv.interrupts import on_forced_exit

    q = Quiesced(client.api, stop, timeout)
    forget = on_forced_exit(q.resume)
    try:
        yield q
    finally:
        forget()
        q.resume()


def describe(exc: BaseException) -> str | None:
    """The engine's one-line message for an API error, else None."""
    message = explanation(exc)
    return message.strip().splitlines()[0] if message else None


Say = Callable[[str], None]
