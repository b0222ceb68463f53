"""HTTP/1.1 over a unix socket, as much of it as the Docker engine's API needs.

`http.client` would do, but it imports the `email` package (about 15 ms, paid by every command);
the engine's side of HTTP is small: a status line, headers, and a body sized by Content-Length,
sent in chunks, or ended by closing the connection.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

MAX_LINE = 65536


class Disconnected(ConnectionError):
    """The engine closed the connection before answering (a kept-alive connection it dropped)."""


class ProtocolError(ConnectionError):
    """The engine's answer is not HTTP as expected."""


class Head(NamedTuple):
    status: int
    headers: dict[str, str]  # names in lower case

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


class UnixConnection:
    """One connection to a unix socket; requests on it are sequential (keep-alive)."""

    def __init__(self, path: str, timeout: float) -> None:
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file: BinaryIO | None = None

    def _open(self) -> tuple[socket.socket, BinaryIO]:
        if self._sock is None or self._file is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect(self.path)
            except BaseException:
                sock.close()
                raise
            self._sock, self._file = sock, sock.makefile("rb")
        self._sock.settimeout(self.timeout)
        return self._sock, self._file

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> tuple[Head, bytes]:
        """Send one request and read the whole answer."""
        head, rfile = self._send(method, url, body, headers)
        try:
            payload = b"".join(_body(head, rfile, method))
        except BaseException:
            self.close()
            raise
        if head.header("connection").lower() == "close" or _length(head) is None and not _chunked(head):
            self.close()
        return head, payload

    def upload(self, method: str, url: str, body: BinaryIO, length: int, headers: dict[str, str] | None = None,
               chunk: int = 1 << 20) -> tuple[Head, bytes]:
        """Send one request whose body of `length` bytes is read from `body` as it goes (never held
        whole), and read the whole answer; the connection is then closed."""
        sock, rfile = self._open()
        lines = [f"{method} {url} HTTP/1.1", "Host: docker", *(f"{k}: {v}" for k, v in (headers or {}).items()),
                 f"Content-Length: {length}", "Connection: close"]
        try:
            sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            left = length
            while left:
                data = body.read(min(chunk, left))
                if not data:
                    raise ProtocolError(f"the body ended {left} bytes short of {length}")
                sock.sendall(data)
                left -= len(data)
            status_line = rfile.readline(MAX_LINE)
            if not status_line:
                raise Disconnected("the engine closed the connection")
            head = Head(_status(status_line), _headers(rfile))
            return head, b"".join(_body(head, rfile, method))
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise Disconnected(str(exc)) from None
        finally:
            self.close()

    def stream(self, method: str, url: str, headers: dict[str, str] | None = None) -> tuple[Head, Iterator[bytes]]:
        """Send one request and yield the answer's body as it arrives (the connection is then spent)."""
        head, rfile = self._send(method, url, None, headers)
        return head, _body(head, rfile, method)

    def idle(self) -> None:
        """No timeout from now on (a stream that may stay quiet: events)."""
        self.timeout = None  # type: ignore[assignment]
        if self._sock is not None:
            self._sock.settimeout(None)

    def shutdown(self) -> None:
        """End a blocked read from another thread."""
        sock = self._sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        file, sock = self._file, self._sock
        self._file = self._sock = None
        for thing in (file, sock):
            if thing is not None:
                try:
                    thing.close()
                except OSError:
                    pass

    def _send(self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None) -> tuple[Head, BinaryIO]:
        sock, rfile = self._open()
        lines = [f"{method} {url} HTTP/1.1", "Host: docker"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if body is not None or method in ("POST", "PUT"):
            lines.append(f"Content-Length: {len(body or b'')}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        try:
            sock.sendall(data)
            status_line = rfile.readline(MAX_LINE)
        except (BrokenPipeError, ConnectionResetError) as exc:
            self.close()
            raise Disconnected(str(exc)) from None
        if not status_line:
            self.close()
            raise Disconnected("the engine closed the connection")
        try:
            return Head(_status(status_line), _headers(rfile)), rfile
        except BaseException:
            self.close()
            raise


def _status(line: bytes) -> int:
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        raise ProtocolError(f"not an HTTP status line: {line[:80]!r}")
    return int(parts[1])


def _headers(rfile: BinaryIO) -> dict[str, str]:
    headers: dict[str, str] = {}
    while True:
        line = rfile.readline(MAX_LINE)
        if not line:
            raise Disconnected("the engine closed the connection in the headers")
        if line in (b"\r\n", b"\n"):
            return headers
        name, sep, value = line.decode("latin-1").partition(":")
        if not sep:
            raise ProtocolError(f"bad header line: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()


def _length(head: Head) -> int | None:
    value = head.header("content-length")
    return int(value) if value.isdigit() else None


def _chunked(head: Head) -> bool:
    return "chunked" in head.header("transfer-encoding").lower()


def _body(head: Head, rfile: BinaryIO, method: str) -> Iterator[bytes]:
    if method == "HEAD" or head.status in (204, 304) or 100 <= head.status < 200:
        return
    if _chunked(head):
        while True:
            size_line = rfile.readline(MAX_LINE)
            if not size_line:
                raise Disconnected("the engine closed the connection in a chunked body")
            size = int(size_line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):  # trailers
                    pass
                return
            chunk = _exactly(rfile, size)
            rfile.readline(MAX_LINE)  # the CRLF after the chunk
            yield chunk
    length = _length(head)
    if length is not None:
        if length:
            yield _exactly(rfile, length)
        return
    while True:  # no length: the body ends with the connection
        chunk = rfile.read1(65536) if hasattr(rfile, "read1") else rfile.read(65536)
        if not chunk:
            return
        yield chunk


def _exactly(rfile: BinaryIO, size: int) -> bytes:
    data = rfile.read(size)
    if len(data) != size:
        raise Disconnected(f"the engine closed the connection after {len(data)} of {size} bytes")
    return data
