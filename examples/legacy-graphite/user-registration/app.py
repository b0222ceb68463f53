"""A user-registration service that reports every registration to carbon (linked as `carbon`)."""

import http.server
import json
import signal
import socket
import sys
import time

USERS: list[str] = []


def report(metric: str, value: int) -> None:
    try:
        with socket.create_connection(("carbon", 2003), timeout=2) as conn:
            conn.sendall(f"{metric} {value} {int(time.time())}\n".encode())
    except OSError:
        pass  # metrics are best effort


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._reply(200, {"users": USERS})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        name = self.rfile.read(length).decode() or f"user{len(USERS) + 1}"
        USERS.append(name)
        report("user_registration.registrations", len(USERS))
        self._reply(201, {"registered": name})

    def _reply(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1: stop at once on `docker stop`
    http.server.ThreadingHTTPServer(("", 8080), Handler).serve_forever()
