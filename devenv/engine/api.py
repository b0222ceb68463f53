"""A small Docker Engine API client for the local socket, on the standard library.

Every command talks to the engine, and the docker SDK (with requests and urllib3) takes about
100 ms to import: more than most of our calls take together. This client speaks the handful of
calls the hot paths use (list, inspect, create, start, stop, remove, connect, events) over the unix
socket, with one keep-alive connection per thread. What it does not speak (build, pull, logs,
archives) goes to the docker SDK, imported on first use. Remote engines (tcp with TLS, ssh) use
the SDK for everything, behind the same methods (`SDKBackedAPI`).

Errors are `APIError` / `NotFound` from here whatever the backend: `is_not_found` and
`explanation` also understand the SDK's own errors.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
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


class EventStream:
    """The engine's event stream, decoded; `close()` from another thread ends the iteration."""

    def __init__(self, connection: UnixConnection, body: Iterator[bytes]) -> None:
        self._connection = connection
        self._body = body

    def __iter__(self) -> Iterator[dict[str, Any]]:
        decoder = json.JSONDecoder()
        buffer = ""
        try:
            for chunk in self._body:
                buffer += chunk.decode("utf-8", "replace")
                while buffer.strip():
                    buffer = buffer.lstrip()
                    try:
                        event, end = decoder.raw_decode(buffer)
                    except ValueError:
                        break
                    buffer = buffer[end:]
                    yield event
        except (OSError, ValueError):  # closed under us (close() from another thread), or the engine went away
            return

    def close(self) -> None:
        self._connection.shutdown()
        self._connection.close()


class LocalAPI:
    """The engine behind a unix socket, spoken to directly."""

    def __init__(self, socket_path: str, timeout: float = 30.0, connect_timeout: float = 5.0, long_timeout: float = 600.0) -> None:
        self.socket_path = socket_path
        self.base_url = f"unix://{socket_path}"
        self.timeout = timeout  # the quick calls (list, inspect, create, start, remove...): each read
        self.long_timeout = long_timeout  # what goes to the docker SDK: builds, pulls, logs
        self.connect_timeout = connect_timeout
        self.version = API_VERSION
        self._local = threading.local()
        self._sdk: Any = None
        self._sdk_lock = threading.Lock()

    # ------------------------------------------------------------ transport

    def _connection(self) -> UnixConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = UnixConnection(self.socket_path, self.timeout)
        return conn

    def _request(
        self, method: str, path: str, params: dict[str, Any] | None = None, body: Any = None, *, timeout: float | None = None
    ) -> tuple[int, bytes]:
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        url = f"/v{self.version}{path}" + (f"?{query}" if query else "")
        headers = {"User-Agent": USER_AGENT}
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
        answer: bool = True, timeout: float | None = None,
    ) -> Any:
        status, payload = self._request(method, path, params, body, timeout=timeout)
        if status >= 400:
            try:
                message = json.loads(payload).get("message") or payload.decode()
            except (ValueError, AttributeError):
                message = payload.decode("utf-8", "replace").strip()
            error = NotFound if status == 404 else APIError
            raise error(status, message, method, path)
        if not answer or not payload:
            return None
        return json.loads(payload)

    # ------------------------------------------------------------ the calls devenv makes

    def engine_version(self) -> str:
        """The engine's own version (`20.10.24`), not the API version `self.version` names."""
        return str(self._call("GET", "/version").get("Version") or "")

    def ping(self) -> bool:
        conn = UnixConnection(self.socket_path, self.connect_timeout)
        try:
            head, _ = conn.request("GET", "/_ping", None, {"User-Agent": USER_AGENT})
        finally:
            conn.close()
        server = head.header("api-version") or API_VERSION
        if tuple(map(int, server.split("."))) < tuple(map(int, API_VERSION.split("."))):
            self.version = server
        return head.status == 200

    def containers(self, all: bool = False, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/containers/json", {"all": "1" if all else None, "filters": _filters(filters)})

    def networks(self, filters: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        return self._call("GET", "/networks", {"filters": _filters(filters)})

    def volumes(self, filters: dict[str, Any] | None = None) -> dict[str, Any]:
        return self._call("GET", "/volumes", {"filters": _filters(filters)})

    def images(self, all: bool = False) -> list[dict[str, Any]]:
        return self._call("GET", "/images/json", {"all": "1" if all else None})

    def inspect_container(self, container: str) -> dict[str, Any]:
        return self._call("GET", f"/containers/{quote(container, safe='')}/json")

    def inspect_image(self, image: str) -> dict[str, Any]:
        return self._call("GET", f"/images/{quote(image, safe='/:@')}/json")

    def inspect_network(self, network: str) -> dict[str, Any]:
        return self._call("GET", f"/networks/{quote(network, safe='')}")

    def inspect_volume(self, volume: str) -> dict[str, Any]:
        return self._call("GET", f"/volumes/{quote(volume, safe='')}")

    def start(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/start", answer=False)

    def stop(self, container: str, timeout: int = 10) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/stop", {"t": timeout}, answer=False, timeout=self.timeout + timeout)

    def unpause(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/unpause", answer=False)

    def remove_container(self, container: str, v: bool = False, force: bool = False) -> None:
        params = {"v": "1" if v else None, "force": "1" if force else None}
        self._call("DELETE", f"/containers/{quote(container, safe='')}", params, answer=False)

    def remove_network(self, network: str) -> None:
        self._call("DELETE", f"/networks/{quote(network, safe='')}", answer=False)

    def remove_volume(self, volume: str) -> None:
        self._call("DELETE", f"/volumes/{quote(volume, safe='')}", answer=False)

    def post_json(self, path: str, body: Any, params: dict[str, Any] | None = None, *, answer: bool = True) -> Any:
        return self._call("POST", path, params, body, answer=answer)

    def events(
        self, filters: dict[str, Any] | None = None, decode: bool = True, since: Any = None, until: Any = None
    ) -> EventStream:
        """The event stream from now, or from `since` ("seconds.nanoseconds", the engine's clock) on."""
        conn = UnixConnection(self.socket_path, self.timeout)  # the answer's head is quick; then it idles
        params = {"filters": _filters(filters) if filters else None, "since": since, "until": until}
        query = urlencode({k: v for k, v in params.items() if v is not None})
        slow = SLOW.begin("GET /events")
        try:
            head, body = conn.stream("GET", f"/v{self.version}/events" + (f"?{query}" if query else ""), {"User-Agent": USER_AGENT})
            conn.idle()
            if head.status >= 400:
                message = b"".join(body).decode("utf-8", "replace")
                raise APIError(head.status, message, "GET", "/events")
        except BaseException as exc:
            conn.close()
            if _timed_out(exc):
                raise EngineError(f"the Docker engine did not answer GET /events within {self.timeout:g} s") from None
            raise
        finally:
            SLOW.end(slow)
        return EventStream(conn, body)

    def kill(self, container: str, signal: str | int | None = None) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/kill", {"signal": signal}, answer=False)

    def pause(self, container: str) -> None:
        self._call("POST", f"/containers/{quote(container, safe='')}/pause", answer=False)

    def top(self, container: str, ps_args: str | None = None) -> dict[str, Any]:
        return self._call("GET", f"/containers/{quote(container, safe='')}/top", {"ps_args": ps_args})

    def stats(self, container: str, decode: bool | None = None, stream: bool = True, one_shot: bool | None = None) -> Any:
        """One sample (`stream=False`: the engine waits for a second one, so CPU % can be computed)."""
        if stream:
            return self.__getattr__("stats")(container, decode=decode, stream=stream, one_shot=one_shot)
        return self._call("GET", f"/containers/{quote(container, safe='')}/stats", {"stream": "false"})

    def wait(self, container: str, timeout: float | None = None, condition: str | None = None) -> dict[str, Any]:
        """Block until the container stops (`condition`: not-running, next-exit, removed): {"StatusCode", "Error"}."""
        conn = UnixConnection(self.socket_path, timeout)  # type: ignore[arg-type]  # None: as long as it takes
        try:
            params = urlencode({"condition": condition} if condition else {})
            url = f"/v{self.version}/containers/{quote(container, safe='')}/wait" + (f"?{params}" if params else "")
            head, payload = conn.request("POST", url, None, {"User-Agent": USER_AGENT})
        finally:
            conn.close()
        if head.status >= 400:
            raise (NotFound if head.status == 404 else APIError)(head.status, _message(payload), "POST", "/wait")
        return json.loads(payload)

    def archive_stat(self, container: str, path: str) -> dict[str, Any] | None:
        """What is at `path` in the container (name, size, mode, linkTarget...); None if nothing."""
        status, head, payload = self._exchange("HEAD", f"/containers/{quote(container, safe='')}/archive", {"path": path})
        if status == 404:
            return None
        if status >= 400:
            raise APIError(status, _message(payload) or f"cannot stat {path}", "HEAD", "/archive")
        return _path_stat(head.header("x-docker-container-path-stat"))

    def get_archive(
        self, container: str, path: str, chunk_size: int | None = None, encode_stream: bool = False
    ) -> tuple[Iterator[bytes], dict[str, Any] | None]:
        """A tar of `path` in the container, and its stat (as the SDK's `get_archive`)."""
        status, head, payload = self._exchange("GET", f"/containers/{quote(container, safe='')}/archive", {"path": path})
        if status >= 400:
            raise (NotFound if status == 404 else APIError)(status, _message(payload), "GET", "/archive")
        return iter((payload,)), _path_stat(head.header("x-docker-container-path-stat"))

    def put_archive(self, container: str, path: str, data: bytes, copy_uid_gid: bool = False) -> bool:
        """Extract a tar into the directory `path` of the container (ownership kept with `copy_uid_gid`)."""
        params = {"path": path, "copyUIDGID": "true" if copy_uid_gid else None}
        status, _head, payload = self._exchange(
            "PUT", f"/containers/{quote(container, safe='')}/archive", params, data, "application/x-tar"
        )
        if status >= 400:
            raise (NotFound if status == 404 else APIError)(status, _message(payload), "PUT", "/archive")
        return True

    def _exchange(
        self, method: str, path: str, params: dict[str, Any] | None = None, data: bytes | None = None, content_type: str | None = None
    ) -> tuple[int, Any, bytes]:
        """One request with a raw body on a connection of its own; the status, head and body."""
        query = urlencode({k: v for k, v in (params or {}).items() if v is not None})
        headers = {"User-Agent": USER_AGENT}
        if content_type:
            headers["Content-Type"] = content_type
        conn = UnixConnection(self.socket_path, self.timeout)
        slow = SLOW.begin(f"{method} {path}")
        try:
            head, payload = conn.request(method, f"/v{self.version}{path}" + (f"?{query}" if query else ""), data, headers)
        except BaseException as exc:
            if _timed_out(exc):
                raise EngineError(f"the Docker engine did not answer {method} {path} within {self.timeout:g} s") from None
            raise
        finally:
            SLOW.end(slow)
            conn.close()
        return head.status, head, payload

    # ------------------------------------------------------------ everything else: the docker SDK

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        with self._sdk_lock:
            if self._sdk is None:
                import docker

                self._sdk = docker.APIClient(base_url=self.base_url, version=self.version, timeout=int(self.long_timeout))
        return getattr(self._sdk, name)


class SDKBackedAPI:
    """A remote engine (tcp, TLS verified; ssh) through the docker SDK, with LocalAPI's methods.

    The SDK has `top`, `kill`, `pause`, `unpause`, `stats`, `wait` and `get_archive` under the same
    names and signatures (reached through `__getattr__`); what it lacks or spells otherwise is here."""

    def __init__(self, sdk_api: Any) -> None:
        self._sdk = sdk_api

    def engine_version(self) -> str:
        return str(self._sdk.version().get("Version") or "")

    def archive_stat(self, container: str, path: str) -> dict[str, Any] | None:
        response = self._sdk.head(self._sdk._url("/containers/{0}/archive", container), params={"path": path})
        if response.status_code == 404:
            return None
        self._sdk._raise_for_status(response)
        return _path_stat(response.headers.get("X-Docker-Container-Path-Stat", ""))

    def put_archive(self, container: str, path: str, data: bytes, copy_uid_gid: bool = False) -> bool:
        params = {"path": path, **({"copyUIDGID": "true"} if copy_uid_gid else {})}
        response = self._sdk._put(self._sdk._url("/containers/{0}/archive", container), params=params, data=data)
        self._sdk._raise_for_status(response)
        return response.status_code == 200

    def post_json(self, path: str, body: Any, params: dict[str, Any] | None = None, *, answer: bool = True) -> Any:
        response = self._sdk._post_json(self._sdk._url(path), data=body, params=params)
        return self._sdk._result(response, json=answer) if answer else self._sdk._raise_for_status(response)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sdk, name)
