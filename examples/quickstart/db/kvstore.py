"""A tiny key-value database over HTTP, persisted as one JSON file.

    GET  /health          200 "ok"
    GET  /kv/KEY          200 value, or 404
    PUT  /kv/KEY          store the request body as the value
    POST /kv/KEY/incr     add 1 to an integer value (missing counts as 0); returns the new value

Every write replaces DATA_FILE atomically, so the data survives restarts and recreation
as long as its directory is a volume.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DATA_FILE = os.environ.get("DATA_FILE", "/data/kv.json")
PORT = int(os.environ.get("PORT", "7000"))


class Store:
    """A dict guarded by a lock, saved to a JSON file after every change."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()
        try:
            with open(path, encoding="utf-8") as f:
                self.data: dict[str, str] = json.load(f)
        except FileNotFoundError:
            self.data = {}

    def get(self, key: str) -> str | None:
        with self.lock:
            return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        with self.lock:
            self.data[key] = value
            self._save()

    def incr(self, key: str) -> int:
        with self.lock:
            value = int(self.data.get(key, "0")) + 1
            self.data[key] = str(value)
            self._save()
            return value

    def _save(self) -> None:
        tmp = f"{self.path}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(self.data, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


STORE = Store(DATA_FILE)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/health":
            self._reply(200, "ok")
            return
        value = STORE.get(self._key())
        if value is None:
            self._reply(404, "not found")
        else:
            self._reply(200, value)

    def do_PUT(self) -> None:
        key = self._key()
        if not key:
            self._reply(404, "not found")
            return
        length = int(self.headers.get("Content-Length", "0"))
        STORE.put(key, self.rfile.read(length).decode("utf-8"))
        self._reply(204, "")

    def do_POST(self) -> None:
        key = self._key()
        if not key or not key.endswith("/incr"):
            self._reply(404, "not found")
            return
        try:
            self._reply(200, str(STORE.incr(key.removesuffix("/incr"))))
        except ValueError:
            self._reply(409, "value is not an integer")

    def _key(self) -> str:
        return self.path.removeprefix("/kv/") if self.path.startswith("/kv/") else ""

    def _reply(self, status: int, body: str) -> None:
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt: str, *args: object) -> None:
        if not self.path.startswith("/health"):
            super().log_message(fmt, *args)


def main() -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1 ignores SIGTERM otherwise
    print(f"kvstore: {len(STORE.data)} keys from {DATA_FILE}, listening on :{PORT}", flush=True)
    ThreadingHTTPServer(("", PORT), Handler).serve_forever()


if __name__ == "__main__":
    main()
