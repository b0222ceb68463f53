"""graphite-web's render API over carbon's storage (mounted from carbon with volumes_from).

GET /render?target=PATH[&target=...][&format=json|csv]: the datapoints of every metric whose
path matches a target; `*` stands for one path segment, as in Graphite. JSON is Graphite's
shape, [{"target": path, "datapoints": [[value, timestamp], ...]}]; CSV is one
"path,YYYY-MM-DD HH:MM:SS,value" line per datapoint (UTC).
"""

from __future__ import annotations

import http.server
import json
import re
import signal
import sys
import time
import urllib.parse
from pathlib import Path

STORE = Path("/opt/graphite/storage/metrics.txt")
TARGET = re.compile(r"[A-Za-z0-9_*-]+(\.[A-Za-z0-9_*-]+)*")


def pattern(target: str) -> re.Pattern[str]:
    return re.compile(r"\.".join("[^.]*".join(map(re.escape, part.split("*"))) for part in target.split(".")))


def series(targets: list[str]) -> dict[str, list[list[float]]]:
    """{path: [[value, timestamp], ...]} of the stored lines matching any target, in arrival order."""
    wanted = [pattern(t) for t in targets]
    found: dict[str, list[list[float]]] = {}
    try:
        lines = STORE.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        fields = line.split()
        if len(fields) != 3 or not any(p.fullmatch(fields[0]) for p in wanted):
            continue
        try:
            value, stamp = float(fields[1]), int(fields[2])
        except ValueError:
            continue
        found.setdefault(fields[0], []).append([value, stamp])
    return found


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/render":
            return self._reply(404, "text/plain", "graphite-web: try /render?target=PATH\n")
        query = urllib.parse.parse_qs(url.query)
        targets = query.get("target", [])
        if not targets or not all(TARGET.fullmatch(t) for t in targets):
            return self._reply(400, "text/plain", "graphite-web: give ?target=PATH (letters, digits, _ - . and *)\n")
        data = series(targets)
        if query.get("format", ["json"])[0] == "csv":
            rows = [
                f"{path},{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(stamp))},{value:g}\n"
                for path, points in data.items()
                for value, stamp in points
            ]
            return self._reply(200, "text/csv", "".join(rows))
        body = [{"target": path, "datapoints": points} for path, points in data.items()]
        return self._reply(200, "application/json", json.dumps(body))

    def _reply(self, status: int, kind: str, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # PID 1: stop at once on `docker stop`
    print(f"graphite-web: http://:80/render?target=PATH, reading {STORE}", flush=True)
    http.server.ThreadingHTTPServer(("", 80), Handler).serve_forever()
