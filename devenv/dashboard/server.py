"""The dashboard's HTTP server (stdlib ThreadingHTTPServer on 127.0.0.1).

Every request must carry the token printed at start: in the URL the first time (then a cookie,
HttpOnly and SameSite=Strict, for the page, the JSON state and the event streams), and in the
X-Devenv-Token header for the POSTs that change something (a cross-site form cannot set it).
The Host header must name 127.0.0.1 or localhost (no DNS rebinding).

GET  /                    the page (static/index.html)
GET  /api/state           the state (view.build) as JSON
GET  /api/events          server-sent events: `state` now and after each engine event of the project
GET  /api/logs?service=S  server-sent events: `line` for each line of S's containers (`since`: Unix
                          seconds, else the last 200 lines), `end` once they all stopped
POST /api/restart?service=S, /api/stop?service=S   through plan_restart/plan_stop and apply
"""

from __future__ import annotations

import http.server
import json
import queue
import secrets
import threading
import time
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from devenv.dashboard import lastup, view
from devenv.errors import DevenvError

if TYPE_CHECKING:
    from devenv.engine.client import Engine
    from devenv.model import Project

KEEPALIVE = 15.0  # seconds between SSE comments on a quiet stream (finds closed pages)
LOG_TAIL = 200
TOKEN_HEADER = "X-Devenv-Token"


class Dashboard:
    """The project, the engine and the shared event feed; what the handlers call."""

    def __init__(self, client: Engine, project: Project, say: Callable[[str], None] = lambda _m: None) -> None:
        self.client = client
        self.project = project
        self.say = say
        self.token = secrets.token_urlsafe(24)
        self.stopping = threading.Event()
        self.changed = threading.Condition()
        self.version = 0  # bumped on each engine event of the project
        self.clock = view.ReadyClock()
        self.acting = threading.Lock()  # one restart/stop at a time
        self._events: Any = None
        self._feed = threading.Thread(target=self._follow_events, name="dashboard-events", daemon=True)

    # ---------------------------------------------------------------- the engine's events
    def start(self) -> None:
        self._feed.start()

    def _follow_events(self) -> None:
        from devenv.engine.queries import project_events

        while not self.stopping.is_set():
            try:
                self._events = project_events(self.client, self.project.name)
                self._bump()  # (re)subscribed: what happened meanwhile is in the next state
                for event in self._events:
                    self.clock.record(event)
                    self._bump()
            except Exception:
                pass
            self.stopping.wait(1.0)  # the stream ended (engine restarted?): subscribe again

    def _bump(self) -> None:
        with self.changed:
            self.version += 1
            self.changed.notify_all()

    def close(self) -> None:
        self.stopping.set()
        events = self._events
        if events is not None:
            try:
                events.close()
            except Exception:
                pass
        self._bump()

    # ---------------------------------------------------------------- what the page shows
    def state(self) -> dict[str, Any]:
        from devenv.engine.queries import container_inspect
        from devenv.engine.status import list_rows

        rows = [r.to_dict() for r in list_rows(self.client, self.project.name)]
        inspects = {}
        for r in rows:
            found = container_inspect(self.client, r["name"])
            if found is not None:
                inspects[r["name"]] = found
        return view.build(self.project.name, self.project.services, rows, inspects, lastup.read(self.project.name),
                          dict(self.clock.ready))

    def containers_of(self, service: str) -> list[str]:
        from devenv.engine.status import list_rows

        return [r.name for r in list_rows(self.client, self.project.name, all=False) if r.service == service and not r.oneoff]

    def act(self, verb: str, service: str) -> dict[str, Any]:
        """Restart or stop one service through the plan/apply path, as `devenv restart/stop` do."""
        from devenv.engine.apply import apply
        from devenv.plan import RestartOptions, StopOptions, plan_restart, plan_stop

        project = self.project
        if verb == "restart":
            restart_options = RestartOptions(services=(service,))
            make: Callable[[Any], Any] = lambda observed: plan_restart(project, observed, restart_options)  # noqa: E731
        else:
            stop_options = StopOptions(services=(service,))
            make = lambda observed: plan_stop(project, observed, stop_options)  # noqa: E731
        with self.acting:
            applied = apply(self.client, project, make, listener=lambda *_a: None, say=self.say,
                            wait_timeout=300.0, images=False)
        return {
            "ok": not applied.failures, "service": service, "verb": verb, "seconds": round(applied.seconds, 3),
            "actions": [{"op": o.action.op.value, "target": o.action.target, "status": o.status, "detail": o.detail}
                        for o in applied.outcomes],
        }


def page(token: str) -> bytes:
    text = resources.files("devenv.dashboard").joinpath("static/index.html").read_text(encoding="utf-8")
    return text.replace("__DEVENV_TOKEN__", token).encode("utf-8")


def log_line(container: str, raw: str) -> dict[str, Any]:
    """One `timestamps=True` log line as the page gets it: the engine's time, in Unix seconds too."""
    stamp, _sep, text = raw.partition(" ")
    when = view.parse_time(stamp)
    if when is None:
        return {"container": container, "ts": "", "t": None, "text": raw}
    return {"container": container, "ts": stamp, "t": when, "text": text}


class Handler(http.server.BaseHTTPRequestHandler):
    server: Server
    server_version = "devenv-dashboard"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the terminal shows the URL only
        pass

    # ---------------------------------------------------------------- checks
    @property
    def dash(self) -> Dashboard:
        return self.server.dashboard

    def _cookie_name(self) -> str:
        return f"devenv_dashboard_{self.server.server_address[1]}"

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]
        return self.headers.get("Host", "") in (f"127.0.0.1:{port}", f"localhost:{port}")

    def _cookie_token(self) -> str:
        for part in self.headers.get("Cookie", "").split(";"):
            name, _sep, value = part.strip().partition("=")
            if name == self._cookie_name():
                return value
        return ""

    def _same(self, given: str) -> bool:
        return bool(given) and secrets.compare_digest(given.encode(), self.dash.token.encode())

    def _send(self, code: int, body: bytes, kind: str = "text/plain; charset=utf-8", extra: dict[str, str] | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, data: Any, code: int = 200) -> None:
        self._send(code, json.dumps(data).encode(), "application/json")

    def _refuse(self) -> None:
        self._send(403, b"forbidden: open the URL `devenv dashboard` printed\n")

    # ---------------------------------------------------------------- GET
    def do_GET(self) -> None:  # noqa: N802
        if not self._host_ok():
            return self._refuse()
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        if url.path == "/" and self._same((query.get("token") or [""])[0]):
            cookie = f"{self._cookie_name()}={self.dash.token}; Path=/; HttpOnly; SameSite=Strict"
            return self._send(303, b"", extra={"Location": "/", "Set-Cookie": cookie})
        if not (self._same(self._cookie_token()) or self._same(self.headers.get(TOKEN_HEADER, ""))):
            return self._refuse()
        if url.path == "/":
            csp = "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; frame-ancestors 'none'"
            return self._send(200, page(self.dash.token), "text/html; charset=utf-8", {"Content-Security-Policy": csp})
        if url.path == "/api/state":
            return self._json(self.dash.state())
        if url.path == "/api/events":
            return self._events()
        if url.path == "/api/logs":
            service = (query.get("service") or [""])[0]
            if service not in self.dash.project.services:
                return self._json({"error": f"no such service: {service}"}, 404)
            since = (query.get("since") or [""])[0]
            try:
                return self._logs(service, float(since) if since else None)
            except ValueError:
                return self._json({"error": f"bad since: {since}"}, 400)
        return self._send(404, b"not found\n")

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()

    def _emit(self, event: str, data: Any) -> None:
        self.wfile.write(f"event: {event}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _keepalive(self) -> None:
        self.wfile.write(b": keepalive\n\n")
        self.wfile.flush()

    def _events(self) -> None:
        dash = self.dash
        self._start_stream()
        seen = -1
        try:
            while not dash.stopping.is_set():
                with dash.changed:
                    if dash.version == seen:
                        dash.changed.wait(KEEPALIVE)
                    current = dash.version
                if current == seen:
                    self._keepalive()
                    continue
                seen = current
                self._emit("state", dash.state())
        except (OSError, ValueError):
            return  # the page went away

    def _logs(self, service: str, since: float | None) -> None:
        from devenv.engine.queries import container_logs

        lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        streams: list[Any] = []
        done = threading.Event()
        names = self.dash.containers_of(service)

        def read(name: str) -> None:
            pending = b""
            try:
                stream: Any = container_logs(self.dash.client, name, follow=True, timestamps=True,
                                        tail="all" if since is not None else LOG_TAIL, since=since)
                streams.append(stream)
                if done.is_set():
                    stream.close()
                for chunk in stream:
                    pending += chunk
                    *complete, pending = pending.split(b"\n")
                    for raw in complete:
                        lines.put(log_line(name, raw.decode("utf-8", "replace").rstrip("\r")))
                if pending:
                    lines.put(log_line(name, pending.decode("utf-8", "replace")))
            except Exception:
                pass
            finally:
                lines.put(None)

        self._start_stream()
        for name in names:
            threading.Thread(target=read, args=(name,), daemon=True).start()
        running = len(names)
        try:
            while running and not self.dash.stopping.is_set():
                try:
                    item = lines.get(timeout=KEEPALIVE)
                except queue.Empty:
                    self._keepalive()
                    continue
                if item is None:
                    running -= 1
                elif since is None or (item["t"] or time.time()) > since:
                    self._emit("line", item)
            self._emit("end", {"service": service})
        except (OSError, ValueError):
            pass
        finally:
            done.set()
            for stream in streams:
                try:
                    stream.close()
                except Exception:
                    pass

    # ---------------------------------------------------------------- POST
    def do_POST(self) -> None:  # noqa: N802
        if not self._host_ok() or not self._same(self.headers.get(TOKEN_HEADER, "")):
            return self._refuse()
        url = urlsplit(self.path)
        verb = {"/api/restart": "restart", "/api/stop": "stop"}.get(url.path)
        if verb is None:
            return self._send(404, b"not found\n")
        service = (parse_qs(url.query).get("service") or [""])[0]
        if service not in self.dash.project.services:
            return self._json({"error": f"no such service: {service}"}, 404)
        try:
            return self._json(self.dash.act(verb, service))
        except DevenvError as exc:  # the page shows the one line; the server goes on
            return self._json({"ok": False, "error": str(exc)}, 500)
        except Exception as exc:
            return self._json({"ok": False, "error": f"{type(exc).__name__}: {exc}"}, 500)


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, dashboard: Dashboard, port: int = 0) -> None:
        self.dashboard = dashboard
        super().__init__(("127.0.0.1", port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/?token={self.dashboard.token}"
