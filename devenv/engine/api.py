"""The engine API devenv speaks: `EngineAPI`, a Protocol with exactly the calls devenv makes, and
its two implementations.

- `LocalAPI`: the engine behind a unix socket, spoken to directly on the standard library. Every
  command talks to the engine, and the docker SDK (with requests and urllib3) takes 100 ms or more
  to import, more than most commands' calls take together. `devenv ps` of a running 5-service
  project, 25 runs of each alternating on the same socket (a busy 2-CPU machine, load 8): LocalAPI
  241 ms fastest / 450 ms median, RemoteAPI 492 ms / 787 ms. The few calls whose protocol
  the SDK knows better (builds, pulls, pushes with the docker config's credentials, logs with
  their multiplexed frames) call the SDK's public methods by name, the SDK imported on first use.
- `RemoteAPI`: a remote engine (tcp with TLS verified, ssh) through the docker SDK's public
  `APIClient` methods; the endpoints it has no method for (raw JSON create bodies, archive stat,
  archive upload with copyUIDGID) go through `APIClient`'s public `requests.Session` methods.

Neither passes unknown attributes through: what devenv may call is the Protocol's method set.
Errors: `APIError` / `NotFound` from here (LocalAPI, RemoteAPI's session calls) or the SDK's own
(its methods); `is_not_found` and `explanation` understand both.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Protocol, TypedDict
from urllib.parse import quote, urlencode

from devenv.engine.unixhttp import Disconnected, UnixConnection
from devenv.errors import EngineError

API_VERSION = "1.41"  # what the plan layer's request bodies are written for
USER_AGENT = "devenv"


class APIError(Exception):
    def __init__(self, status: int, explanation: str, method: str = "", path: str = "") -> None:
        self.status_code = status
        self.explanation = explanation
        super().__init__(f"{status} {method} {path}: {explanation}".strip())


class NotFound(APIError):
    pass


def is_not_found(exc: BaseException) -> bool:
    return isinstance(exc, NotFound) or getattr(getattr(exc, "response", None), "status_code", None) == 404


def explanation(exc: BaseException) -> str | None:
    """The engine's message for an API error of either backend, or None for other exceptions."""
    if isinstance(exc, APIError):
        return exc.explanation
    if type(exc).__module__.startswith("docker") and hasattr(exc, "explanation"):
        return str(exc.explanation or exc)
    return None


def _filters(filters: dict[str, Any] | None) -> str | None:
    if not filters:
        return None
    return json.dumps({k: v if isinstance(v, list) else [v] for k, v in filters.items()})


def _message(payload: bytes) -> str:
    try:
        return str(json.loads(payload).get("message") or payload.decode())
    except (ValueError, AttributeError):
        return payload.decode("utf-8", "replace").strip()


def _path_stat(header: str) -> dict[str, Any] | None:
    """The engine's `X-Docker-Container-Path-Stat` header: base64 of a JSON object."""
    if not header:
        return None
    import base64

    try:
        return json.loads(base64.b64decode(header))
    except ValueError:
        return None


SLOW_AFTER = 5.0  # seconds after which a quick call is said to be waited for


class SlowCalls:
    """The engine calls in flight; one line on stderr for each that has waited SLOW_AFTER seconds
    more than it should ("waiting for the Docker engine: POST /containers/create (5 s)…"), from a
    single daemon thread started on the first call."""

    def __init__(self, say: Any = None) -> None:
        self._calls: dict[int, tuple[str, float, float]] = {}  # key -> (what, started, say at)
        self._lock = threading.Lock()
        self._next = 0
        self._thread_started = False
        self._say = say or _say

    def begin(self, what: str, expected: float = 0.0) -> int:
        now = time.monotonic()
        with self._lock:
            key, self._next = self._next, self._next + 1
            self._calls[key] = (what, now, now + expected + SLOW_AFTER)
            if not self._thread_started:
                self._thread_started = True
                threading.Thread(target=self._watch, name="devenv-slow-calls", daemon=True).start()
        return key

    def end(self, key: int) -> None:
        with self._lock:
            self._calls.pop(key, None)

    def _watch(self) -> None:
        while True:
            time.sleep(0.25)
            now = time.monotonic()
            with self._lock:
                due = [(k, c) for k, c in self._calls.items() if c[2] <= now]
                for key, (what, started, _at) in due:
                    self._calls[key] = (what, started, float("inf"))  # said once
            for _key, (what, started, _at) in due:
                self._say(f"devenv: waiting for the Docker engine: {what} ({now - started:.0f} s)…")


def _say(line: str) -> None:
    import sys

    try:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


SLOW = SlowCalls()


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or isinstance(exc, OSError) and "timed out" in str(exc)


def _json_lines(chunks: Iterator[bytes]) -> Iterator[JSON]:
    """JSON objects one after the other in a byte stream (progress of pulls, pushes, builds; events)."""
    decoder = json.JSONDecoder()
    buffer = ""
    for chunk in chunks:
        buffer += chunk.decode("utf-8", "replace")
        while buffer.strip():
            buffer = buffer.lstrip()
            try:
                item, end = decoder.raw_decode(buffer)
            except ValueError:
                break
            buffer = buffer[end:]
            yield item


class EventStream:
    """The engine's event stream, decoded; `close()` from another thread ends the iteration."""

    def __init__(self, connection: UnixConnection, body: Iterator[bytes]) -> None:
        self._connection = connection
        self._body = body

    def __iter__(self) -> Iterator[dict[str, Any]]:
        try:
            yield from _json_lines(self._body)
        except (OSError, ValueError):  # closed under us (close() from another thread), or the engine went away
            return

    def close(self) -> None:
        self._connection.shutdown()
        self._connection.close()


# ---------------------------------------------------------------- the interface

JSON = dict[str, Any]  # Docker's JSON, passed through as the engine sends it (list, inspect, create answers)
Filters = dict[str, Any]  # {"label": ["a=b"], "type": "container"}: a value or a list of values per key
When = Any  # a time for `since` / `until`: the engine's "seconds.nanoseconds", Unix seconds, or a datetime


class WaitResult(TypedDict, total=False):
    StatusCode: int
    Error: dict[str, Any] | None


PathStat = dict[str, Any]  # what the archive endpoint says of a path: name, size, mode, mtime, linkTarget


class BuildOptions(TypedDict, total=False):
    """A build with the engine's classic builder (the SDK's `APIClient.build` arguments devenv uses)."""

    tag: str
    path: str  # the context directory, or `fileobj` with `custom_context`: a tar of it
    fileobj: IO[bytes]
    custom_context: bool
    dockerfile: str
    buildargs: dict[str, str]
    target: str
    labels: dict[str, str]
    cache_from: list[str]
    network_mode: str
    pull: bool
    nocache: bool
    platform: str
    extra_hosts: dict[str, str]
    isolation: str
    shmsize: int
    rm: bool


class Events(Protocol):
    """The engine's event stream, decoded; `close()` (from another thread too) ends the iteration."""

    def __iter__(self) -> Iterator[JSON]: ...

    def close(self) -> None: ...


class EngineAPI(Protocol):
    """Every engine call devenv makes. Names are the docker SDK's low-level ones where it has them;
    object names or IDs are accepted wherever a `container`, `network`, `volume` or `image` is."""

    # the engine
    def ping(self) -> bool: ...
    def version(self) -> JSON: ...  # GET /version: Version, ApiVersion, Os, Arch...
    def info(self) -> JSON: ...  # GET /info: DockerRootDir, Swarm, Driver...

    # lists (summaries) and inspects
    def containers(self, all: bool = False, filters: Filters | None = None) -> list[JSON]: ...
    def networks(self, filters: Filters | None = None) -> list[JSON]: ...
    def volumes(self, filters: Filters | None = None) -> list[JSON]: ...
    def images(self, all: bool = False) -> list[JSON]: ...
    def inspect_container(self, container: str) -> JSON: ...
    def inspect_image(self, image: str) -> JSON: ...
    def inspect_network(self, network: str) -> JSON: ...
    def inspect_volume(self, volume: str) -> JSON: ...

    # creation (bodies as the plan layer writes them, for API_VERSION)
    def create_container(self, name: str, body: JSON, platform: str | None = None) -> JSON: ...
    def create_network(self, body: JSON) -> JSON: ...
    def create_volume(self, body: JSON) -> JSON: ...
    def connect_network(self, network: str, body: JSON) -> None: ...

    # containers' lifecycle
    def start(self, container: str) -> None: ...
    def stop(self, container: str, timeout: int = 10) -> None: ...
    def kill(self, container: str, signal: str | int | None = None) -> None: ...
    def pause(self, container: str) -> None: ...
    def unpause(self, container: str) -> None: ...
    def wait(self, container: str, timeout: float | None = None, condition: str | None = None) -> WaitResult: ...

    # removal
    def remove_container(self, container: str, v: bool = False, force: bool = False) -> None: ...
    def remove_network(self, network: str) -> None: ...
    def remove_volume(self, volume: str) -> None: ...
    def remove_image(self, image: str) -> None: ...

    # observation
    def top(self, container: str) -> JSON: ...
    def stats(self, container: str) -> JSON: ...  # one sample (the engine waits for a second one: CPU %)
    def logs(self, container: str, *, follow: bool = False, tail: int | str = "all", timestamps: bool = False,
             since: When = None, until: When = None) -> Iterator[bytes]: ...
    def events(self, filters: Filters | None = None, since: When = None, until: When = None) -> Events: ...

    # images
    def pull(self, repository: str, tag: str | None = None, platform: str | None = None) -> Iterator[JSON]: ...
    def push(self, repository: str, tag: str, auth_config: dict[str, str] | None = None) -> Iterator[JSON]: ...
    def tag(self, image: str, repository: str, tag: str) -> None: ...
    def build(self, options: BuildOptions) -> Iterator[JSON]: ...

    # files in containers (tar archives)
    def archive_stat(self, container: str, path: str) -> PathStat | None: ...
    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], PathStat | None]: ...
    def put_archive(self, container: str, path: str, data: bytes | BinaryIO, length: int | None = None,
                    copy_uid_gid: bool = False) -> None: ...

    # commands in running containers (watch's deletions and exec hooks); stdin is never attached
    def exec_create(self, container: str, cmd: Sequence[str], *, user: str | None = None, privileged: bool = False,
                    workdir: str | None = None, env: Sequence[str] = ()) -> str: ...  # the exec's ID
    def exec_start(self, exec_id: str) -> bytes: ...  # runs it to the end: stdout and stderr as they came
    def exec_inspect(self, exec_id: str) -> JSON: ...  # ExitCode, Running...

    # swarm (`devenv deploy`, on a manager): specs and bodies as the API takes them; `auth` is the
    # X-Registry-Auth payload for the service's image (None: the nodes pull with their own)
    def services(self, filters: Filters | None = None) -> list[JSON]: ...
    def inspect_service(self, service: str) -> JSON: ...
    def create_service(self, spec: JSON, auth: dict[str, str] | None = None) -> JSON: ...
    def update_service(self, service: str, version: int, spec: JSON, auth: dict[str, str] | None = None) -> JSON: ...
    def remove_service(self, service: str) -> None: ...
    def tasks(self, filters: Filters | None = None) -> list[JSON]: ...
    def nodes(self, filters: Filters | None = None) -> list[JSON]: ...
    def secrets(self, filters: Filters | None = None) -> list[JSON]: ...
    def create_secret(self, body: JSON) -> JSON: ...  # {"Name", "Data": base64, "Labels"}
    def remove_secret(self, secret: str) -> None: ...
    def configs(self, filters: Filters | None = None) -> list[JSON]: ...
    def create_config(self, body: JSON) -> JSON: ...  # {"Name", "Data": base64, "Labels"}
    def remove_config(self, config: str) -> None: ...


def _unix(value: When) -> Any:
    """A datetime as Unix seconds (what the engine's query strings take); other values as they are."""
    import datetime as dt

    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return int(value.timestamp())
    return value


def _auth_headers(auth: dict[str, str] | None) -> dict[str, str]:
    """The X-Registry-Auth header for `auth` (base64url JSON, as the docker CLI sends it); none without."""
    if not auth:
        return {}
    import base64

    return {"X-Registry-Auth": base64.urlsafe_b64encode(json.dumps(auth).encode()).decode()}


def _exec_body(cmd: Sequence[str], user: str | None, privileged: bool, workdir: str | None, env: Sequence[str]) -> JSON:
    """POST /containers/{id}/exec's body: output attached, no stdin, no tty."""
    body: JSON = {"Cmd": list(cmd), "AttachStdin": False, "AttachStdout": True, "AttachStderr": True, "Tty": False,
                  "Privileged": privileged}
    if user:
        body["User"] = user
    if workdir:
        body["WorkingDir"] = workdir
    if env:
        body["Env"] = list(env)
    return body


def _demux(raw: bytes) -> bytes:
    """The payloads of the engine's multiplexed stream (8-byte frame headers: stream, 0, 0, 0, size
    big-endian), joined in the order they came; a stream that is not framed is returned as it is."""
    out = bytearray()
    at = 0
    while at + 8 <= len(raw):
        kind, size = raw[at], int.from_bytes(raw[at + 4:at + 8], "big")
        if kind > 2 or raw[at + 1:at + 4] != b"\0\0\0":
            return raw if not out else bytes(out) + raw[at:]
        out += raw[at + 8:at + 8 + size]
        at += 8 + size
    return bytes(out) if at == len(raw) else bytes(out) + raw[at:]


def _failure(status: int, payload: bytes, method: str, path: str) -> APIError:
    return (NotFound if status == 404 else APIError)(status, _message(payload), method, path)


# ---------------------------------------------------------------- the local socket


class LocalAPI:
    """The engine behind a unix socket, spoken to directly (see the module's docstring)."""

    def __init__(self, socket_path: str, timeout: float = 30.0, connect_timeout: float = 5.0, long_timeout: float = 600.0) -> None:
        self.socket_path = socket_path
        self.base_url = f"unix://{socket_path}"
        self.timeout = timeout  # the quick calls (list, inspect, create, start, remove...): each read
        self.long_timeout = long_timeout  # builds, pulls, pushes, archives: between two reads
        self.connect_timeout = connect_timeout
        self.api_version = API_VERSION
        self._local = threading.local()
        self._sdk: Any = None
        self._sdk_lock = threading.Lock()

    # ------------------------------------------------------------ transport

    def _connection(self) -> UnixConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = UnixConnection(self.socket_path, self.timeout)
        return conn

    def _url(self, path: str, params: dict[str, Any] | None = None) -> str:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        return f"/v{self.api_version}{path}" + (f"?{query}" if query else "")

    def _request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *, timeout: float | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, bytes]:
        url = self._url(path, params)
        headers = {"User-Agent": USER_AGENT, **(headers or {})}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        limit = timeout or self.timeout
        slow = SLOW.begin(f"{method} {path}", limit - self.timeout)
        try:
            for attempt in (1, 2):  # a kept-alive connection the engine closed meanwhile: reconnect once
                conn = self._connection()
                conn.timeout = limit
                try:
                    head, payload = conn.request(method, url, data, headers)
                    return head.status, payload
                except Disconnected:
                    conn.close()
                    if attempt == 2:
                        raise
                except BaseException as exc:  # a timeout, Ctrl-C: the connection is in an unknown state
                    conn.close()
                    if _timed_out(exc):
                        raise EngineError(f"the Docker engine did not answer {method} {path} within {limit:g} s") from None
                    raise
        finally:
            SLOW.end(slow)
        raise AssertionError("unreachable")

    def _call(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *,
        answer: bool = True, timeout: float | None = None, headers: dict[str, str] | None = None,
    ) -> Any:
        status, payload = self._request(method, path, params, body, timeout=timeout, headers=headers)
        if status >= 400:
            raise _failure(status, payload, method, path)
        if not answer or not payload:
            return None
        return json.loads(payload)

    def _stream(self, method: str, path: str, params: dict[str, Any] | None = None,
                timeout: float | None = None) -> tuple[UnixConnection, Any, Iterator[bytes]]:
        """A request on a connection of its own whose answer is read as it comes: (connection, head, body)."""
        conn = UnixConnection(self.socket_path, timeout or self.timeout)
        slow = SLOW.begin(f"{method} {path}")
        try:
            head, body = conn.stream(method, self._url(path, params), {"User-Agent": USER_AGENT})
            if head.status >= 400:
                raise _failure(head.status, b"".join(body), method, path)
        except BaseException as exc:
            conn.close()
            if _timed_out(exc):
                raise EngineError(f"the Docker engine did not answer {method} {path} within {conn.timeout:g} s") from None
            raise
        finally:
            SLOW.end(slow)
        return conn, head, body

    def _exchange(
        self, method: str, path: str, params: dict[str, Any] | None = None, data: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, Any, bytes]:
        """One request with a raw body on a connection of its own; the status, head and body."""
        headers = {"User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        conn = UnixConnection(self.socket_path, self.timeout)
        slow = SLOW.begin(f"{method} {path}")
        try:
            head, payload = conn.request(method, self._url(path, params), data, headers)
        except BaseException as exc:
            if _timed_out(exc):
                raise EngineError(f"the Docker engine did not answer {method} {path} within {self.timeout:g} s") from None
            raise
        finally:
            SLOW.end(slow)
            conn.close()
        return head.status, head, payload

    def _sdk_client(self) -> Any:
        """The docker SDK's client of the same socket, for the calls it makes through its public methods."""
        with self._sdk_lock:
            if self._sdk is None:
                import docker

                self._sdk = docker.APIClient(base_url=self.base_url, version=self.api_version, timeout=int(self.long_timeout))
        return self._sdk

    # ------------------------------------------------------------ the engine

    def ping(self) -> bool:
        conn = UnixConnection(self.socket_path, self.connect_timeout)
        try:
            head, _ = conn.request("GET", "/_ping", None, {"User-Agent": USER_AGENT})
        finally:
            conn.close()
        server = head.header("api-version") or API_VERSION
        if tuple(map(int, server.split("."))) < tuple(map(int, API_VERSION.split("."))):
            self.api_version = server
        return head.status == 200

    def version(self) -> JSON:
        return dict(self._call("GET", "/version") or {})

    def info(self) -> JSON:
        return dict(self._call("GET", "/info") or {})

    # ------------------------------------------------------------ lists and inspects

    def containers(self, all: bool = False, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/containers/json", {"all": "1" if all else None, "filters": _filters(filters)}) or [])

    def networks(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/networks", {"filters": _filters(filters)}) or [])

    def volumes(self, filters: Filters | None = None) -> list[JSON]:
        return list((self._call("GET", "/volumes", {"filters": _filters(filters)}) or {}).get("Volumes") or [])

    def images(self, all: bool = False) -> list[JSON]:
        return list(self._call("GET", "/images/json", {"all": "1" if all else None}) or [])

    def inspect_container(self, container: str) -> JSON:
        return dict(self._call("GET", f"/containers/{quote(container, safe='')}/json"))

    def inspect_image(self, image: str) -> JSON:
        return dict(self._call("GET", f"/images/{quote(image, safe='/:@')}/json"))

    def inspect_network(self, network: str) -> JSON:
        return dict(self._call("GET", f"/networks/{quote(network, safe='')}"))

    def inspect_volume(self, volume: str) -> JSON:
        return dict(self._call("GET", f"/volumes/{quote(volume, safe='')}"))

    # ------------------------------------------------------------ creation

    def create_container(self, name: str, body: JSON, platform: str | None = None) -> JSON:
        return dict(self._call("POST", "/containers/create", {"name": name, "platform": platform}, body) or {})

    def create_network(self, body: JSON) -> JSON:
        return dict(self._call("POST", "/networks/create", None, body) or {})

    def create_volume(self, body: JSON) -> JSON:
        return dict(self._call("POST", "/volumes/create", None, body) or {})

    def connect_network(self, network: str, body: JSON) -> None:
        self._call("POST", f"/networks/{quote(network, safe='')}/connect", None, body, answer=False)

    # ------------------------------------------------------------ lifecycle

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/start", answer=False)

    def stop(self, container: str, timeout: int = 10) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/stop", {"t": timeout}, answer=False, timeout=self.timeout + timeout)

    def kill(self, container: str, signal: str | int | None = None) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/kill", {"signal": signal}, answer=False)

    def pause(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/pause", answer=False)

    def unpause(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/unpause", answer=False)

    def wait(self, container: str, timeout: float | None = None, condition: str | None = None) -> WaitResult:
        """Block until the container stops (`condition`: not-running, next-exit, removed): {"StatusCode", "Error"}."""
        conn = UnixConnection(self.socket_path, timeout)  # type: ignore[arg-type]  # None: as long as it takes
        try:
            head, payload = conn.request("POST", self._url(f"/containers/{quote(container, safe='')}/wait", {"condition": condition}),
                                         None, {"User-Agent": USER_AGENT})
        finally:
            conn.close()
        if head.status >= 400:
            raise _failure(head.status, payload, "POST", "/wait")
        answer: WaitResult = json.loads(payload)
        return answer

    # ------------------------------------------------------------ removal

    def remove_container(self, container: str, v: bool = False, force: bool = False) -> None:
        params = {"v": "1" if v else None, "force": "1" if force else None}
        self._call("DELETE", f"/containers/{quote(container, safe='')}", params, answer=False)

    def remove_network(self, network: str) -> None:
        self._call("DELETE", f"/networks/{quote(network, safe='')}", answer=False)

    def remove_volume(self, volume: str) -> None:
        self._call("DELETE", f"/volumes/{quote(volume, safe='')}", answer=False)

    def remove_image(self, image: str) -> None:
        self._call("DELETE", f"/images/{quote(image, safe='/:@')}", answer=False, timeout=self.long_timeout)

    # ------------------------------------------------------------ observation

    def top(self, container: str) -> JSON:
        return dict(self._call("GET", f"/containers/{quote(container, safe='')}/top"))

    def stats(self, container: str) -> JSON:
        return dict(self._call("GET", f"/containers/{quote(container, safe='')}/stats", {"stream": "false"}))

    def logs(self, container: str, *, follow: bool = False, tail: int | str = "all", timestamps: bool = False,
             since: When = None, until: When = None) -> Iterator[bytes]:
        """Stdout and stderr as they come (the SDK separates the engine's multiplexed frames)."""
        return iter(self._sdk_client().logs(container, stdout=True, stderr=True, stream=True, follow=follow, tail=tail,
                                            timestamps=timestamps, since=since, until=until))

    def events(self, filters: Filters | None = None, since: When = None, until: When = None) -> EventStream:
        """The event stream from now, or from `since` ("seconds.nanoseconds", the engine's clock) on."""
        params = {"filters": _filters(filters), "since": _unix(since), "until": _unix(until)}
        conn, _head, body = self._stream("GET", "/events", params)  # the answer's head is quick; then it idles
        conn.idle()
        return EventStream(conn, body)

    # ------------------------------------------------------------ images (the SDK: credentials, progress)

    def pull(self, repository: str, tag: str | None = None, platform: str | None = None) -> Iterator[JSON]:
        return iter(self._sdk_client().pull(repository, tag=tag, stream=True, decode=True, platform=platform))

    def push(self, repository: str, tag: str, auth_config: dict[str, str] | None = None) -> Iterator[JSON]:
        return iter(self._sdk_client().push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config))

    def tag(self, image: str, repository: str, tag: str) -> None:
        self._call("POST", f"/images/{quote(image, safe='/:@')}/tag", {"repo": repository, "tag": tag}, answer=False)

    def build(self, options: BuildOptions) -> Iterator[JSON]:
        return iter(self._sdk_client().build(decode=True, **options))

    # ------------------------------------------------------------ archives

    def archive_stat(self, container: str, path: str) -> PathStat | None:
        """What is at `path` in the container (name, size, mode, linkTarget...); None if nothing."""
        status, head, payload = self._exchange("HEAD", f"/containers/{quote(container, safe='')}/archive", {"path": path})
        if status == 404:
            return None
        if status >= 400:
            raise APIError(status, _message(payload) or f"cannot stat {path}", "HEAD", "/archive")
        return _path_stat(head.header("x-docker-container-path-stat"))

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], PathStat | None]:
        """A tar of `path` in the container, chunk by chunk as the engine sends it (never whole), and its stat."""
        conn, head, body = self._stream("GET", f"/containers/{quote(container, safe='')}/archive", {"path": path},
                                        self.long_timeout)

        def chunks() -> Iterator[bytes]:
            try:
                yield from body
            finally:
                conn.close()

        return chunks(), _path_stat(head.header("x-docker-container-path-stat"))

    def put_archive(self, container: str, path: str, data: bytes | BinaryIO, length: int | None = None,
                    copy_uid_gid: bool = False) -> None:
        """Extract a tar into the directory `path` of the container (ownership kept with `copy_uid_gid`).
        `data` is the tar, or a file it is read from as it goes (`length` bytes)."""
        where = f"/containers/{quote(container, safe='')}/archive"
        params = {"path": path, "copyUIDGID": "true" if copy_uid_gid else None}
        if isinstance(data, bytes):
            status, _head, payload = self._exchange("PUT", where, params, data, "application/x-tar")
        else:
            assert length is not None, "a streamed archive needs its length"
            conn = UnixConnection(self.socket_path, self.long_timeout)
            head, payload = conn.upload("PUT", self._url(where, params), data, length,
                                        {"User-Agent": USER_AGENT, "Content-Type": "application/x-tar"})
            status = head.status
        if status >= 400:
            raise _failure(status, payload, "PUT", "/archive")

    # ------------------------------------------------------------ exec

    def exec_create(self, container: str, cmd: Sequence[str], *, user: str | None = None, privileged: bool = False,
                    workdir: str | None = None, env: Sequence[str] = ()) -> str:
        answer = self._call("POST", f"/containers/{quote(container, safe='')}/exec", None,
                            _exec_body(cmd, user, privileged, workdir, env))
        return str(answer["Id"])

    def exec_start(self, exec_id: str) -> bytes:
        """Run the exec to its end on a connection of its own: the engine hijacks it, answers 200 and
        sends the multiplexed output until the command ends, then closes it."""
        path = f"/exec/{quote(exec_id, safe='')}/start"
        conn = UnixConnection(self.socket_path, self.long_timeout)
        try:
            head, payload = conn.request("POST", self._url(path), json.dumps({"Detach": False, "Tty": False}).encode(),
                                         {"User-Agent": USER_AGENT, "Content-Type": "application/json"})
        except BaseException as exc:
            if _timed_out(exc):
                raise EngineError(f"the Docker engine did not answer POST {path} within {self.long_timeout:g} s") from None
            raise
        finally:
            conn.close()
        if head.status >= 400:
            raise _failure(head.status, payload, "POST", path)
        return _demux(payload)

    def exec_inspect(self, exec_id: str) -> JSON:
        return dict(self._call("GET", f"/exec/{quote(exec_id, safe='')}/json"))

    # ------------------------------------------------------------ swarm

    def services(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/services", {"filters": _filters(filters)}) or [])

    def inspect_service(self, service: str) -> JSON:
        return dict(self._call("GET", f"/services/{quote(service, safe='')}"))

    def create_service(self, spec: JSON, auth: dict[str, str] | None = None) -> JSON:
        return dict(self._call("POST", "/services/create", None, spec, headers=_auth_headers(auth)) or {})

    def update_service(self, service: str, version: int, spec: JSON, auth: dict[str, str] | None = None) -> JSON:
        return dict(self._call("POST", f"/services/{quote(service, safe='')}/update", {"version": version}, spec,
                               headers=_auth_headers(auth)) or {})

    def remove_service(self, service: str) -> None:
        self._call("DELETE", f"/services/{quote(service, safe='')}", answer=False)

    def tasks(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/tasks", {"filters": _filters(filters)}) or [])

    def nodes(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/nodes", {"filters": _filters(filters)}) or [])

    def secrets(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/secrets", {"filters": _filters(filters)}) or [])

    def create_secret(self, body: JSON) -> JSON:
        return dict(self._call("POST", "/secrets/create", None, body) or {})

    def remove_secret(self, secret: str) -> None:
        self._call("DELETE", f"/secrets/{quote(secret, safe='')}", answer=False)

    def configs(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._call("GET", "/configs", {"filters": _filters(filters)}) or [])

    def create_config(self, body: JSON) -> JSON:
        return dict(self._call("POST", "/configs/create", None, body) or {})

    def remove_config(self, config: str) -> None:
        self._call("DELETE", f"/configs/{quote(config, safe='')}", answer=False)


# ---------------------------------------------------------------- remote engines: the docker SDK


class RemoteAPI:
    """A remote engine (tcp with TLS verified; ssh) through a `docker.APIClient` (its public methods
    only; the session's own `get`/`post`/`put`/`head` where it has no method for an endpoint)."""

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk

    def _url(self, path: str) -> str:
        return f"{self._sdk.base_url}/v{self._sdk.api_version}{path}"

    def _raw(self, method: str, path: str, *, params: dict[str, Any] | None = None, body: Any = None,
             data: Any = None, headers: dict[str, str] | None = None) -> Any:
        """One request on the SDK's session (TLS, ssh and timeouts as the client has them); errors raised."""
        request = getattr(self._sdk, method.lower())  # requests.Session.get / post / put / head: public
        kwargs: dict[str, Any] = {"params": {k: v for k, v in (params or {}).items() if v is not None}, "timeout": self._sdk.timeout}
        if body is not None:
            kwargs["data"] = json.dumps(body)
            headers = {**(headers or {}), "Content-Type": "application/json"}
        elif data is not None:
            kwargs["data"] = data
        if headers:
            kwargs["headers"] = headers
        response = request(self._url(path), **kwargs)
        if response.status_code >= 400 and method != "HEAD":
            raise _failure(response.status_code, response.content, method, path)
        return response

    # the engine
    def ping(self) -> bool:
        return bool(self._sdk.ping())

    def version(self) -> JSON:
        return dict(self._sdk.version())

    def info(self) -> JSON:
        return dict(self._sdk.info())

    # lists and inspects
    def containers(self, all: bool = False, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.containers(all=all, filters=filters))

    def networks(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.networks(filters=filters))

    def volumes(self, filters: Filters | None = None) -> list[JSON]:
        return list((self._sdk.volumes(filters=filters) or {}).get("Volumes") or [])

    def images(self, all: bool = False) -> list[JSON]:
        return list(self._sdk.images(all=all))

    def inspect_container(self, container: str) -> JSON:
        return dict(self._sdk.inspect_container(container))

    def inspect_image(self, image: str) -> JSON:
        return dict(self._sdk.inspect_image(image))

    def inspect_network(self, network: str) -> JSON:
        return dict(self._sdk.inspect_network(network))

    def inspect_volume(self, volume: str) -> JSON:
        return dict(self._sdk.inspect_volume(volume))

    # creation: the plan layer's bodies as they are (the SDK's methods would rebuild them from arguments)
    def create_container(self, name: str, body: JSON, platform: str | None = None) -> JSON:
        return dict(self._sdk.create_container_from_config(body, name=name, platform=platform))

    def create_network(self, body: JSON) -> JSON:
        return dict(self._raw("POST", "/networks/create", body=body).json())

    def create_volume(self, body: JSON) -> JSON:
        return dict(self._raw("POST", "/volumes/create", body=body).json())

    def connect_network(self, network: str, body: JSON) -> None:
        self._raw("POST", f"/networks/{quote(network, safe='')}/connect", body=body)

    # lifecycle
    def start(self, container: str) -> None:
        self._sdk.start(container)

    def stop(self, container: str, timeout: int = 10) -> None:
        self._sdk.stop(container, timeout=timeout)

    def kill(self, container: str, signal: str | int | None = None) -> None:
        self._sdk.kill(container, signal=signal)

    def pause(self, container: str) -> None:
        self._sdk.pause(container)

    def unpause(self, container: str) -> None:
        self._sdk.unpause(container)

    def wait(self, container: str, timeout: float | None = None, condition: str | None = None) -> WaitResult:
        answer: WaitResult = self._sdk.wait(container, timeout=timeout, condition=condition)
        return answer

    # removal
    def remove_container(self, container: str, v: bool = False, force: bool = False) -> None:
        self._sdk.remove_container(container, v=v, force=force)

    def remove_network(self, network: str) -> None:
        self._sdk.remove_network(network)

    def remove_volume(self, volume: str) -> None:
        self._sdk.remove_volume(volume)

    def remove_image(self, image: str) -> None:
        self._sdk.remove_image(image)

    # observation
    def top(self, container: str) -> JSON:
        return dict(self._sdk.top(container))

    def stats(self, container: str) -> JSON:
        return dict(self._sdk.stats(container, stream=False))

    def logs(self, container: str, *, follow: bool = False, tail: int | str = "all", timestamps: bool = False,
             since: When = None, until: When = None) -> Iterator[bytes]:
        return iter(self._sdk.logs(container, stdout=True, stderr=True, stream=True, follow=follow, tail=tail,
                                   timestamps=timestamps, since=since, until=until))

    def events(self, filters: Filters | None = None, since: When = None, until: When = None) -> Events:
        stream: Events = self._sdk.events(filters=filters, decode=True, since=since, until=until)
        return stream

    # images
    def pull(self, repository: str, tag: str | None = None, platform: str | None = None) -> Iterator[JSON]:
        return iter(self._sdk.pull(repository, tag=tag, stream=True, decode=True, platform=platform))

    def push(self, repository: str, tag: str, auth_config: dict[str, str] | None = None) -> Iterator[JSON]:
        return iter(self._sdk.push(repository, tag=tag, stream=True, decode=True, auth_config=auth_config))

    def tag(self, image: str, repository: str, tag: str) -> None:
        self._sdk.tag(image, repository, tag)

    def build(self, options: BuildOptions) -> Iterator[JSON]:
        return iter(self._sdk.build(decode=True, **options))

    # archives
    def archive_stat(self, container: str, path: str) -> PathStat | None:
        response = self._raw("HEAD", f"/containers/{quote(container, safe='')}/archive", params={"path": path})
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise APIError(response.status_code, f"cannot stat {path}", "HEAD", "/archive")
        return _path_stat(response.headers.get("X-Docker-Container-Path-Stat", ""))

    def get_archive(self, container: str, path: str) -> tuple[Iterator[bytes], PathStat | None]:
        chunks, stat = self._sdk.get_archive(container, path, chunk_size=1 << 20)
        return iter(chunks), stat

    def put_archive(self, container: str, path: str, data: bytes | BinaryIO, length: int | None = None,
                    copy_uid_gid: bool = False) -> None:
        headers = {"Content-Type": "application/x-tar", **({"Content-Length": str(length)} if length is not None else {})}
        self._raw("PUT", f"/containers/{quote(container, safe='')}/archive", data=data, headers=headers,
                  params={"path": path, "copyUIDGID": "true" if copy_uid_gid else None})

    # exec
    def exec_create(self, container: str, cmd: Sequence[str], *, user: str | None = None, privileged: bool = False,
                    workdir: str | None = None, env: Sequence[str] = ()) -> str:
        answer = self._sdk.exec_create(container, list(cmd), stdout=True, stderr=True, stdin=False, tty=False,
                                       privileged=privileged, user=user or "", environment=list(env) or None, workdir=workdir)
        return str(answer["Id"])

    def exec_start(self, exec_id: str) -> bytes:
        return bytes(self._sdk.exec_start(exec_id, detach=False, tty=False, stream=False, demux=False) or b"")

    def exec_inspect(self, exec_id: str) -> JSON:
        return dict(self._sdk.exec_inspect(exec_id))

    # swarm: the SDK's methods, but for the bodies the plan layer writes (its create_service /
    # update_service rebuild them from arguments and read their own credentials; create_secret /
    # create_config encode the data themselves)
    def services(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.services(filters=filters))

    def inspect_service(self, service: str) -> JSON:
        return dict(self._sdk.inspect_service(service))

    def create_service(self, spec: JSON, auth: dict[str, str] | None = None) -> JSON:
        return dict(self._raw("POST", "/services/create", body=spec, headers=_auth_headers(auth)).json())

    def update_service(self, service: str, version: int, spec: JSON, auth: dict[str, str] | None = None) -> JSON:
        response = self._raw("POST", f"/services/{quote(service, safe='')}/update", params={"version": version},
                             body=spec, headers=_auth_headers(auth))
        return dict(response.json() or {}) if response.content else {}

    def remove_service(self, service: str) -> None:
        self._sdk.remove_service(service)

    def tasks(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.tasks(filters=filters))

    def nodes(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.nodes(filters=filters))

    def secrets(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.secrets(filters=filters))

    def create_secret(self, body: JSON) -> JSON:
        return dict(self._raw("POST", "/secrets/create", body=body).json())

    def remove_secret(self, secret: str) -> None:
        self._sdk.remove_secret(secret)

    def configs(self, filters: Filters | None = None) -> list[JSON]:
        return list(self._sdk.configs(filters=filters))

    def create_config(self, body: JSON) -> JSON:
        return dict(self._raw("POST", "/configs/create", body=body).json())

    def remove_config(self, config: str) -> None:
        self._sdk.remove_config(config)


if TYPE_CHECKING:  # both implementations have every call of the interface, with its signature (mypy checks)
    _LOCAL: EngineAPI = LocalAPI("")
    _REMOTE: EngineAPI = RemoteAPI(None)
