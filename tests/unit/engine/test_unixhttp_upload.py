"""`UnixConnection.upload`: a request body read from a file as it is sent (a volume's tar for the
archive API's PUT), never held whole, against a small server that reads it back."""

from __future__ import annotations

import io
import socket
import threading
from pathlib import Path

import pytest

from devenv.engine.unixhttp import ProtocolError, UnixConnection


class Reads(io.BytesIO):
    """A body that records the size of each read (none may ask for more than the chunk)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sizes: list[int] = []

    def read(self, size: int | None = -1) -> bytes:  # type: ignore[override]
        self.sizes.append(-1 if size is None else size)
        return super().read(size)


def server(path: str, received: dict[str, bytes]) -> threading.Thread:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()

    def run() -> None:
        conn, _ = listener.accept()
        with conn, listener:
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")))
            while len(body) < length:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                body += chunk
            received["head"], received["body"] = head, body
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_upload_streams_the_body_in_chunks_with_its_length(tmp_path: Path) -> None:
    path = str(tmp_path / "engine.sock")
    received: dict[str, bytes] = {}
    thread = server(path, received)
    data = bytes(range(256)) * 4096  # 1 MiB
    body = Reads(data)
    head, payload = UnixConnection(path, 5).upload("PUT", "/archive?path=%2F", body, len(data), {"Content-Type": "application/x-tar"},
                                                   chunk=65536)
    thread.join(5)
    assert head.status == 200 and payload == b"ok"
    assert received["body"] == data
    assert b"Content-Length: 1048576" in received["head"] and b"Content-Type: application/x-tar" in received["head"]
    assert max(body.sizes) <= 65536


def test_a_body_shorter_than_announced_is_an_error(tmp_path: Path) -> None:
    path = str(tmp_path / "engine.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen()
    try:
        with pytest.raises(ProtocolError, match="ended 10 bytes short of 20"):
            UnixConnection(path, 5).upload("PUT", "/x", io.BytesIO(b"x" * 10), 20)
    finally:
        listener.close()
