"""The quickstart web app: counts page views in `db` and reports each one to `metrics`.

GET /         bump the `hits` counter in db, send `quickstart.web.hits <value> <ts>`
              (carbon plaintext protocol) to metrics, show both outcomes
GET /health   200 "ok" while the app serves
"""

from __future__ import annotations

import html
import os
import signal
import socket
import sys
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DB_URL = os.environ.get("DB_URL", "http://db:7000")
METRICS_ADDR = os.environ.get("METRICS_ADDR", "metrics:2003")
PORT = int(os.environ.get("PORT", "8080"))
TIMEOUT = 3.0

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>devenv quickstart</title></head>
<body>
<h1>devenv quickstart</h1>
<p>Hits: <b id="hits">{hits}</b> (stored in db at {db})</p>
<p>Metrics: <b id="metrics">{metrics}</b> ({detail})</p>
</body></html>
"""


def bump_counter() -> int:
    """Increment `hits` in db and return the new value."""
    request = urllib.request.Request(f"{DB_URL}/kv/hits/incr", method="POST")
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        return int(response.read())


def send_metric(name: str, value: int) -> str | None:
    """Send one carbon plaintext line to METRICS_ADDR; return None, or why it failed."""
    host, port = METRICS_ADDR.rsplit(":", 1)
    line = f"{name} {value} {int(time.time())}\n"
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT) as sock:
            sock.sendall(line.encode("ascii"))
    except OSError as exc:
        return str(exc) or type(exc).__name__
    return None


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, "text/plain", "ok")
        elif self.path == "/":
            self._index()
        else:
            self._reply(404, "text/plain", "not found")

    def _index(self) -> None:
        try:
            hits = bump_counter()
        except (OSError, ValueError) as exc:
            self._reply(503, "text/plain", f"db unavailable at {DB_URL}: {exc}")
            return
        error = send_metric("quickstart.web.hits", hits)
        page = PAGE.format(
            hits=hits,
            db=html.escape(DB_URL),
            metrics="flowing" if error is None else "NOT flowing",
            detail=html.escape(f"sent to {METRICS_ADDR}" if error is None else f"{METRICS_ADDR}: {error}"),
        )
        self._reply(200, "text/html; charset=utf-8", page)

    def _reply(self, status: int, content_type: str, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args: object) -> None:
        if self.path != "/health":
            super().log_message(fmt, *args)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1 ignores SIGTERM otherwise
    print(f"web: listening on :{PORT}, db {DB_URL}, metrics {METRICS_ADDR}", flush=True)
    ThreadingHTTPServer(("", PORT), Handler).serve_forever()


if __name__ == "__main__":
    main()
