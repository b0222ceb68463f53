"""The one bounded reader for every file a manifest or the user names.

Compose files (`-f`, `-f -`, COMPOSE_FILE, `include`, `extends.file`) and env files (`.env`,
`--env-file`, `env_file`, `label_file`) come from a repository someone cloned. Before anything is
read, what is not a regular file is refused: the path is opened with O_NONBLOCK (a fifo never
blocks the open) and checked with fstat, so `/dev/zero`, `/dev/urandom`, a fifo, a socket or a
directory give one line instead of filling memory or hanging. A regular file over MAX_BYTES
(4 MiB, far above any real Compose or env file) is refused too; standard input is read with the
same cap.

Text: UTF-8, with an optional UTF-8 byte order mark. Compose files may also be UTF-16 (LE or BE)
with a BOM, what Windows PowerShell's `>` writes, as Compose accepts them; UTF-32 is refused as
Compose refuses it. Invalid bytes give one line with the byte offset and line.
"""

from __future__ import annotations

import codecs
import os
import stat
import sys
from typing import BinaryIO

from devenv.errors import ManifestError

MAX_BYTES = 4 * 1024 * 1024
_CHUNK = 64 * 1024


def read_bytes(path: str, what: str = "Compose file", limit: int = MAX_BYTES) -> bytes:
    """The bytes of `path` ("-": standard input), at most `limit`; ManifestError for anything else.

    Messages name the file and say what is wrong; callers add the field that named the file.
    """
    if path == "-":
        stream = getattr(sys.stdin, "buffer", None)
        if stream is None:
            raise ManifestError("cannot read standard input")
        return _read_capped(stream, "standard input", what, limit)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ManifestError(f"file not found: {path}" if what == "Compose file" else f"{what} {path} not found") from None
    except IsADirectoryError:
        raise ManifestError(f"{what} {path} is a directory, not a file") from None
    except OSError as exc:
        try:  # a socket cannot be opened (ENXIO): say what it is
            mode = os.stat(path).st_mode
        except OSError:
            mode = stat.S_IFREG
        if not stat.S_ISREG(mode):
            raise ManifestError(f"{what} {path} is {_kind(mode)}, not a regular file") from None
        raise ManifestError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ManifestError(f"{what} {path} is {_kind(st.st_mode)}, not a regular file")
        if st.st_size > limit:
            raise ManifestError(f"{what} {path} is too large ({st.st_size} bytes; the limit is {limit})")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb") as fh:
            fd = -1
            return _read_capped(fh, path, what, limit)
    except OSError as exc:
        raise ManifestError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        if fd >= 0:
            os.close(fd)


def _read_capped(stream: BinaryIO, name: str, what: str, limit: int) -> bytes:
    """Reads in chunks so that a file growing after fstat, or endless stdin, stops at the limit."""
    chunks: list[bytes] = []
    total = 0
    while True:
        chunk = stream.read(min(_CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise ManifestError(f"{what} {name} is too large (more than {limit} bytes)")


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a fifo"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a special file"


def decode(data: bytes, name: str, utf16: bool = True) -> str:
    """Text of a file: UTF-8 (BOM optional); with `utf16`, UTF-16 with a BOM as well, as Compose."""
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        raise ManifestError("UTF-32 text is not supported (save the file as UTF-8)", name)
    encoding, skip = "utf-8", 0
    if data.startswith(codecs.BOM_UTF8):
        skip = len(codecs.BOM_UTF8)
    elif utf16 and data.startswith(codecs.BOM_UTF16_LE):
        encoding, skip = "utf-16-le", 2
    elif utf16 and data.startswith(codecs.BOM_UTF16_BE):
        encoding, skip = "utf-16-be", 2
    try:
        return data[skip:].decode(encoding)
    except UnicodeDecodeError as exc:
        offset = exc.start + skip
        line = data.count(b"\n", 0, offset) + 1 if encoding == "utf-8" else None
        label = "UTF-8" if encoding == "utf-8" else "UTF-16"
        raise ManifestError(f"not {label} text: {exc.reason} at byte {offset}", name, line) from None


def read_text(path: str, what: str = "Compose file", utf16: bool = True, limit: int = MAX_BYTES) -> str:
    """read_bytes then decode: the text of a Compose file (or, with utf16=False, an env file)."""
    return decode(read_bytes(path, what, limit), "standard input" if path == "-" else path, utf16)
