"""Snapshot files on disk: reading a volume's tar as it streams by (its SHA-256 and every file's),
writing a snapshot (a tar of `devenv-snapshot.json` and `volumes/NAME.tar`, or the same as loose
files for the registry), and reading one back without loading a volume into memory.

A snapshot file is written to a private temporary file (mode 0600) in the target folder and renamed
into place once complete: an interrupted snapshot leaves nothing half-written under the name.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, BinaryIO, Protocol

from devenv.plan.snapshots import (
    MANIFEST_NAME,
    ROOT,
    FileSum,
    Manifest,
    SnapshotError,
    VolumeEntry,
    compare,
    member_path,
    parse,
    to_json,
    volume_file,
)

CHUNK = 1 << 20
BLOCK = 512
MAX_MANIFEST = 256 << 20  # the manifest lists every file; bigger than this is no manifest of ours


class ChunkReader:
    """A file-like reader over an iterator of byte chunks (the engine's streamed answer)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._chunk = b""
        self._at = 0

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        wanted = size
        while wanted != 0:
            if self._at >= len(self._chunk):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._chunk, self._at = chunk, 0
                continue
            end = len(self._chunk) if wanted < 0 else min(len(self._chunk), self._at + wanted)
            parts.append(self._chunk[self._at:end])
            if wanted > 0:
                wanted -= end - self._at
            self._at = end
        return b"".join(parts)


class _Hashing:
    """Reads `source`, hashing (and handing to `sink`) every byte read."""

    def __init__(self, source: IO[bytes] | ChunkReader | Section, sink: Callable[[bytes], object] | None) -> None:
        self.source = source
        self.sink = sink
        self.sha = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(size)
        if data:
            self.sha.update(data)
            self.size += len(data)
            if self.sink is not None:
                self.sink(data)
        return data

    def drain(self) -> None:
        while self.read(CHUNK):
            pass


def scan(source: IO[bytes] | ChunkReader | Section, sink: Callable[[bytes], object] | None = None, root: str = ROOT,
         where: str = "volume") -> tuple[str, int, tuple[FileSum, ...]]:
    """Read a volume's tar to its end: its SHA-256, its size and every regular file's sum, each
    byte also handed to `sink`. An entry outside the root is refused (SnapshotError naming `where`)."""
    reader = _Hashing(source, sink)
    files: list[FileSum] = []
    links: set[str] = set()
    try:
        with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                path = member_path(member.name, root)
                if path is None or (member.islnk() and not member_path(member.linkname, root)):
                    raise SnapshotError(f"{where}: entry {member.name!r} is outside the volume's root")
                if path and any(path.startswith(link + "/") for link in links):
                    raise SnapshotError(f"{where}: entry {member.name!r} goes through a symbolic link of the volume")
                if member.issym():
                    links.add(path)
                if not member.isreg():
                    continue
                data = tar.extractfile(member)
                assert data is not None
                sha = hashlib.sha256()
                while True:
                    chunk = data.read(CHUNK)
                    if not chunk:
                        break
                    sha.update(chunk)
                files.append(FileSum(path, sha.hexdigest(), member.size))
    except (tarfile.TarError, EOFError) as exc:
        raise SnapshotError(f"{where}: not a readable tar ({exc}); the snapshot is corrupted") from None
    reader.drain()  # the end-of-archive blocks and the record's padding
    return reader.sha.hexdigest(), reader.size, tuple(files)


class Section:
    """`size` bytes of `file` from `offset` on, as a reader."""

    def __init__(self, file: BinaryIO, offset: int, size: int) -> None:
        self._file = file
        self._left = size
        file.seek(offset)

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        data = self._file.read(size) if size else b""
        self._left -= len(data)
        return data

    def __len__(self) -> int:  # what is left: requests (the SDK) sends it as Content-Length
        return self._left


# ------------------------------------------------------------ writing


class Sink(Protocol):
    def add_volume(self, name: str, volume: str, chunks: Iterable[bytes]) -> VolumeEntry: ...
    def finish(self, manifest: Manifest) -> None: ...
    def abort(self) -> None: ...


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime, info.type = size, 0o600, int(mtime), tarfile.REGTYPE
    return info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")


def _padding(size: int) -> bytes:
    return b"\0" * (-size % BLOCK)


class TarSink:
    """A snapshot file: a private temporary file beside `target`, renamed to it by `finish`."""

    def __init__(self, target: str) -> None:
        folder = os.path.dirname(os.path.abspath(target))
        if not os.path.isdir(folder):
            raise SnapshotError(f"cannot write {target}: folder {folder} does not exist")
        if os.path.isdir(target):
            raise SnapshotError(f"cannot write {target}: it is a folder; name the snapshot file")
        self.target = target
        try:
            fd, self.temp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".partial", dir=folder)  # 0600
        except OSError as exc:
            raise SnapshotError(f"cannot write {target}: {exc.strerror or exc}") from None
        self.file = os.fdopen(fd, "w+b")
        self.mtime = time.time()

    def add_volume(self, name: str, volume: str, chunks: Iterable[bytes]) -> VolumeEntry:
        file = volume_file(name)
        start = self.file.tell()
        reserved = len(_header(file, 0, self.mtime))
        self.file.write(b"\0" * reserved)  # the header, written once the size is known
        sha, size, files = scan(ChunkReader(chunks), self.file.write, where=f"volume {name}")
        self.file.write(_padding(size))
        end = self.file.tell()
        header = _header(file, size, self.mtime)
        if len(header) != reserved:
            raise SnapshotError(f"volume {name}: its tar header does not fit ({size} bytes)")
        self.file.seek(start)
        self.file.write(header)
        self.file.seek(end)
        return VolumeEntry(name, volume, file, sha, size, files)

    def finish(self, manifest: Manifest) -> None:
        raw = to_json(manifest)
        self.file.write(_header(MANIFEST_NAME, len(raw), self.mtime) + raw + _padding(len(raw)))
        self.file.write(b"\0" * (2 * BLOCK))  # end of archive
        self.file.flush()
        os.fsync(self.file.fileno())
        self.file.close()
        os.replace(self.temp, self.target)

    def abort(self) -> None:
        try:
            self.file.close()
        finally:
            try:
                os.unlink(self.temp)
            except FileNotFoundError:
                pass


class DirSink:
    """The snapshot as loose files in a private folder (for the registry): `devenv-snapshot.json`
    and `volumes/NAME.tar`."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        os.makedirs(os.path.join(folder, "volumes"), mode=0o700, exist_ok=True)

    def path(self, file: str) -> str:
        return os.path.join(self.folder, *file.split("/"))

    def add_volume(self, name: str, volume: str, chunks: Iterable[bytes]) -> VolumeEntry:
        file = volume_file(name)
        fd = os.open(self.path(file), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            sha, size, files = scan(ChunkReader(chunks), out.write, where=f"volume {name}")
        return VolumeEntry(name, volume, file, sha, size, files)

    def finish(self, manifest: Manifest) -> None:
        fd = os.open(self.path(MANIFEST_NAME), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(to_json(manifest))

    def abort(self) -> None:
        pass  # the caller removes the folder


def pack(folder: str, manifest: Manifest, target: str) -> None:
    """A snapshot file from a DirSink's folder (same bytes for each volume tar)."""
    sink = TarSink(target)
    try:
        for entry in manifest.volumes:
            path = os.path.join(folder, *entry.file.split("/"))
            with open(path, "rb") as data:
                size = os.fstat(data.fileno()).st_size
                sink.file.write(_header(entry.file, size, sink.mtime))
                while chunk := data.read(CHUNK):
                    sink.file.write(chunk)
                sink.file.write(_padding(size))
        sink.finish(manifest)
    except BaseException:
        sink.abort()
        raise


# ------------------------------------------------------------ reading


class Snapshot:
    """A snapshot to restore from: its manifest and a reader for each volume's tar."""

    def __init__(self, source: str, manifest: Manifest) -> None:
        self.source = source
        self.manifest = manifest

    def open_volume(self, entry: VolumeEntry) -> tuple[IO[bytes] | Section, int]:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def verify(self, names: Iterable[str], progress: Callable[[VolumeEntry, float], None] | None = None) -> None:
        """Read each named volume's tar through: its SHA-256, size and every file's sum must be the
        manifest's, else SnapshotError naming the volume and the file."""
        for name in names:
            entry = self.manifest.entry(name)
            assert entry is not None
            started = time.monotonic()
            reader, _size = self.open_volume(entry)
            try:
                sha, size, files = scan(reader, where=f"{self.source}: volume {name}")
            finally:
                if hasattr(reader, "close"):
                    reader.close()
            compare(entry, sha, size, files, self.source)
            if progress is not None:
                progress(entry, time.monotonic() - started)


class SnapshotFile(Snapshot):
    """A snapshot file (a tar); the volumes are read in place."""

    def __init__(self, path: str) -> None:
        try:
            self.file: BinaryIO = open(path, "rb")  # noqa: SIM115  (closed by close())
        except OSError as exc:
            raise SnapshotError(f"cannot read snapshot {path}: {exc.strerror or exc}") from None
        try:
            self.members = self._index(path)
            info = self.members.get(MANIFEST_NAME)
            if info is None:
                raise SnapshotError(f"{path}: no {MANIFEST_NAME} in it: not a devenv snapshot")
            if info.size > MAX_MANIFEST:
                raise SnapshotError(f"{path}: {MANIFEST_NAME} is larger than {MAX_MANIFEST >> 20} MiB")
            manifest = parse(Section(self.file, info.offset_data, info.size).read(), path)
            for entry in manifest.volumes:
                if entry.file not in self.members or not self.members[entry.file].isreg():
                    raise SnapshotError(f"{path}: volume {entry.name}: {entry.file} is missing; the snapshot is corrupted")
        except BaseException:
            self.file.close()
            raise
        super().__init__(path, manifest)

    def _index(self, path: str) -> dict[str, tarfile.TarInfo]:
        try:
            with tarfile.open(fileobj=self.file, mode="r:") as tar:
                return {m.name: m for m in tar}
        except (tarfile.TarError, EOFError) as exc:
            raise SnapshotError(f"{path}: not a snapshot file (not a readable tar: {exc})") from None

    def open_volume(self, entry: VolumeEntry) -> tuple[Section, int]:
        info = self.members[entry.file]
        return Section(self.file, info.offset_data, info.size), info.size

    def close(self) -> None:
        self.file.close()


class SnapshotDir(Snapshot):
    """A snapshot as loose files (pulled from a registry): `files` maps each title to its path."""

    def __init__(self, source: str, files: dict[str, str]) -> None:
        self.files = files
        path = files.get(MANIFEST_NAME)
        if path is None:
            raise SnapshotError(f"{source}: no {MANIFEST_NAME} in it: not a devenv snapshot")
        if os.path.getsize(path) > MAX_MANIFEST:
            raise SnapshotError(f"{source}: {MANIFEST_NAME} is larger than {MAX_MANIFEST >> 20} MiB")
        with open(path, "rb") as raw:
            manifest = parse(raw.read(), source)
        for entry in manifest.volumes:
            if entry.file not in files:
                raise SnapshotError(f"{source}: volume {entry.name}: {entry.file} is missing; the snapshot is corrupted")
        super().__init__(source, manifest)

    def open_volume(self, entry: VolumeEntry) -> tuple[IO[bytes], int]:
        path = self.files[entry.file]
        return open(path, "rb"), os.path.getsize(path)  # noqa: SIM115  (the caller closes it)
