"""A unix-socket proxy in front of the Docker engine that can stop answering: it forwards every
connection to the engine's socket until it is stalled (after N requests, or by `stall()`), then
keeps every connection open and forwards nothing more, either way. A stalled engine, for tests.

    python -m tests.integration.stall_proxy PROXY_SOCKET [--after N]   # for trying it by hand
"""

from __future__ import annotations

import os
import socket
import threading

ENGINE_SOCKET = "/var/run/docker.sock"
REQUEST_MARK = b" HTTP/1.1\r\n"  # ends the request line of every request the client sends


class StallProxy:
    def __init__(self, path: str, *, after: int | None = None, on: bytes | None = None, engine: str = ENGINE_SOCKET) -> None:
        """Stalls after `after` requests, or at the first request whose bytes contain `on`."""
        self.path, self.engine, self.after, self.on = path, engine, after, on
        self.requests = 0
        self.stalled = threading.Event()
        self._lock = threading.Lock()
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.path.exists(path):
            os.unlink(path)
        self._server.bind(path)
        self._server.listen(64)
        self._held: list[socket.socket] = []  # stalled connections, kept open
        threading.Thread(target=self._accept, daemon=True).start()

    def stall(self) -> None:
        self.stalled.set()

    def close(self) -> None:
        self.stalled.set()
        self._server.close()
        for sock in self._held:
            sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            self._held.append(client)
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.engine)
            self._held.append(upstream)
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, requests: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    if not self.stalled.is_set():
                        sink.shutdown(socket.SHUT_WR)
                    return
                if requests and self.on is not None and self.on in data:
                    self.stalled.set()
                if requests and self.after is not None:
                    with self._lock:
                        self.requests += data.count(REQUEST_MARK)
                        if self.requests > self.after:
                            self.stalled.set()
                if self.stalled.is_set():
                    continue  # swallowed: the engine "never answers"
                sink.sendall(data)
        except OSError:
            return


if __name__ == "__main__":
    import argparse
    import time

    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--after", type=int)
    args = parser.parse_args()
    proxy = StallProxy(args.path, after=args.after)
    print(f"listening on {args.path}", flush=True)
    while True:
        time.sleep(1)
        print(f"requests={proxy.requests} stalled={proxy.stalled.is_set()}", flush=True)
