"""Data snapshots, the pure part: the manifest a snapshot carries (`devenv-snapshot.json`), which of
the project's volumes a command acts on, and the checks a restore makes before it touches anything.

A snapshot holds, for each volume, the tar the engine's archive API gave for the volume's root
(entries `ROOT`, `ROOT/a/b`...: the root's own owner, mode and mtime come back on restore too) and,
in the manifest, that tar's SHA-256 and size and the SHA-256 of every regular file in it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.errors import DevenvError, UsageError
from devenv.model import Project
from devenv.plan.observed import ObservedContainer

FORMAT = "devenv-snapshot"
VERSION = 1
MANIFEST_NAME = "devenv-snapshot.json"
VOLUMES_DIR = "volumes"
ROOT = "devenv-volume"  # where the helper container mounts the volume: /devenv-volume
ARTIFACT_TYPE = "application/vnd.devenv.snapshot.v1"
MANIFEST_MEDIA_TYPE = "application/vnd.devenv.snapshot.manifest.v1+json"
VOLUME_MEDIA_TYPE = "application/vnd.devenv.snapshot.volume.v1.tar"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # a Compose volume key (and so a safe file name)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SnapshotError(DevenvError):
    """A snapshot that cannot be used: unreadable, of another format, or not matching its sums."""


@dataclasses.dataclass(frozen=True)
class FileSum:
    """A regular file of a volume: its path below the volume's root, SHA-256 and size."""

    path: str
    sha256: str
    size: int


@dataclasses.dataclass(frozen=True)
class VolumeEntry:
    name: str  # the volume's key in the Compose file
    volume: str  # its engine name when the snapshot was taken (for the record)
    file: str  # `volumes/NAME.tar` inside the snapshot
    sha256: str  # of that tar
    size: int  # of that tar, in bytes
    files: tuple[FileSum, ...]  # every regular file, in tar order
    root: str = ROOT

    @property
    def data_bytes(self) -> int:
        return sum(f.size for f in self.files)


@dataclasses.dataclass(frozen=True)
class Manifest:
    project: str
    volumes: tuple[VolumeEntry, ...]
    created: str = ""  # RFC 3339, UTC
    version: int = VERSION

    def entry(self, name: str) -> VolumeEntry | None:
        for entry in self.volumes:
            if entry.name == name:
                return entry
        return None


def volume_file(name: str) -> str:
    return f"{VOLUMES_DIR}/{name}.tar"


def to_json(manifest: Manifest) -> bytes:
    """The manifest as stable JSON (sorted keys, one volume after the other as taken)."""
    data = {
        "format": FORMAT,
        "version": manifest.version,
        "project": manifest.project,
        "created": manifest.created,
        "volumes": [
            {
                "name": v.name, "volume": v.volume, "file": v.file, "root": v.root, "sha256": v.sha256,
                "size": v.size, "files_count": len(v.files),
                "files": [{"path": f.path, "sha256": f.sha256, "size": f.size} for f in v.files],
            }
            for v in manifest.volumes
        ],
    }
    return (json.dumps(data, indent=1, sort_keys=True) + "\n").encode()  # ASCII: names that are not UTF-8 too


def _field(data: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise SnapshotError(f"{where}: field {key!r} is missing or not a {kind.__name__}")
    return value


def parse(raw: bytes, source: str) -> Manifest:
    """The manifest of `source` (named in errors); SnapshotError when it is not one devenv wrote."""
    where = f"{source}: {MANIFEST_NAME}"
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"{where}: not JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise SnapshotError(f"{where}: not a devenv snapshot manifest")
    version = data.get("version")
    if version != VERSION:
        raise SnapshotError(f"{where}: format version {version!r} is not supported (this devenv reads version {VERSION})")
    volumes = []
    seen: set[str] = set()
    for index, item in enumerate(_field(data, "volumes", list, where)):
        at = f"{where}: volumes[{index}]"
        if not isinstance(item, dict):
            raise SnapshotError(f"{at}: not an object")
        name = _field(item, "name", str, at)
        if not _NAME.match(name) or name in seen:
            raise SnapshotError(f"{at}: name {name!r} is not a volume name or is given twice")
        seen.add(name)
        at = f"{where}: volume {name}"
        if _field(item, "file", str, at) != volume_file(name):
            raise SnapshotError(f"{at}: file must be {volume_file(name)!r}")
        if _field(item, "root", str, at) != ROOT:
            raise SnapshotError(f"{at}: root must be {ROOT!r}")
        sha = _field(item, "sha256", str, at)
        size = _field(item, "size", int, at)
        if not _SHA256.match(sha) or size < 0:
            raise SnapshotError(f"{at}: sha256 or size is malformed")
        files = []
        for f in _field(item, "files", list, at):
            if not isinstance(f, dict):
                raise SnapshotError(f"{at}: files: an entry is not an object")
            path, fsha, fsize = _field(f, "path", str, at), _field(f, "sha256", str, at), _field(f, "size", int, at)
            if not _SHA256.match(fsha) or fsize < 0:
                raise SnapshotError(f"{at}: file {path}: sha256 or size is malformed")
            files.append(FileSum(path, fsha, fsize))
        if _field(item, "files_count", int, at) != len(files):
            raise SnapshotError(f"{at}: files_count {item['files_count']} but {len(files)} files listed")
        volumes.append(VolumeEntry(name, str(item.get("volume") or ""), volume_file(name), sha, size, tuple(files)))
    return Manifest(
        project=_field(data, "project", str, where), volumes=tuple(volumes), created=str(data.get("created") or ""), version=VERSION,
    )


# ------------------------------------------------------------ selection


def _listing(names: Iterable[str]) -> str:
    names = sorted(names)
    return ", ".join(names) if names else "none"


def snapshot_volumes(project: Project, asked: Iterable[str]) -> tuple[str, ...]:
    """The volume keys `snapshot` reads: those asked (in the order given, once each), else every
    volume the project declares that is not external (an external one only when named)."""
    asked = tuple(dict.fromkeys(asked))
    declared = project.volumes
    unknown = [n for n in asked if n not in declared]
    if unknown:
        raise UsageError(f"no such volume: {', '.join(unknown)} (the project's volumes: {_listing(declared)})")
    if asked:
        return asked
    chosen = tuple(sorted(k for k, cfg in declared.items() if not (cfg or {}).get("external")))
    if not chosen:
        raise UsageError(f"project {project.name} declares no volume to snapshot (external ones only when named: {_listing(declared)})")
    return chosen


def restore_volumes(project: Project, manifest: Manifest, asked: Iterable[str], source: str) -> tuple[str, ...]:
    """The volume keys `restore` writes: those asked, else every volume of the snapshot but the
    project's external ones (written only when named). Each must be in the snapshot and declared
    by the project."""
    asked = tuple(dict.fromkeys(asked))
    held = [v.name for v in manifest.volumes]
    missing = [n for n in asked if n not in held]
    if missing:
        raise UsageError(f"{source} holds no volume {', '.join(missing)} (it holds: {_listing(held)})")
    chosen = asked or tuple(n for n in held if not is_external(project, n))
    if not chosen:
        raise UsageError(f"{source} holds no volume to restore but external ones (name them to write them: {_listing(held)})")
    undeclared = [n for n in chosen if n not in project.volumes]
    if undeclared:
        raise UsageError(
            f"project {project.name} declares no volume {', '.join(undeclared)} (its volumes: {_listing(project.volumes)}); "
            "name the volumes to restore"
        )
    return chosen


def is_external(project: Project, key: str) -> bool:
    return bool((project.volumes.get(key) or {}).get("external"))


# ------------------------------------------------------------ checks


def member_path(name: str, root: str = ROOT) -> str | None:
    """The path below the volume's root of a tar entry (`""` for the root itself); None when the
    entry is not under the root or climbs out of it (absolute, `..`)."""
    clean = name.rstrip("/")
    if clean == root:
        return ""
    if not clean.startswith(root + "/"):
        return None
    rest = clean[len(root) + 1:]
    parts = rest.split("/")
    if not rest or any(p in ("", ".", "..") for p in parts):
        return None
    return rest


def compare(entry: VolumeEntry, sha256: str, size: int, files: tuple[FileSum, ...], source: str) -> None:
    """Raise SnapshotError naming the volume (and the file) when what was read differs from the manifest."""
    where = f"{source}: volume {entry.name}"
    expected = {f.path: f for f in entry.files}
    found = {f.path: f for f in files}
    for path, f in found.items():
        want = expected.get(path)
        if want is None:
            raise SnapshotError(f"{where}: file {path} is not in the manifest; the snapshot is corrupted")
        if (want.sha256, want.size) != (f.sha256, f.size):
            raise SnapshotError(f"{where}: file {path} does not match its SHA-256 in the manifest; the snapshot is corrupted")
    for path in expected:
        if path not in found:
            raise SnapshotError(f"{where}: file {path} of the manifest is missing; the snapshot is corrupted")
    if (sha256, size) != (entry.sha256, entry.size):
        raise SnapshotError(f"{where}: {entry.file} does not match its SHA-256 in the manifest; the snapshot is corrupted")


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


# ------------------------------------------------------------ the engine side's choices


def writers(containers: Iterable[ObservedContainer], volume: str) -> tuple[ObservedContainer, ...]:
    """The running (or paused) containers that mount the engine volume `volume` read-write."""
    return tuple(
        c for c in containers
        if c.state in ("running", "restarting", "paused")
        and any(m.type == "volume" and m.name == volume and m.read_write for m in c.mounts)
    )


def helper_images(project: Project, key: str) -> tuple[str, ...]:
    """The images a helper container for volume `key` may use, best first: those of the services
    that mount it, then the other services' (each once)."""
    from devenv.plan import naming

    def mounts(service: Any) -> bool:
        return any(m.get("type") == "volume" and m.get("source") == key for m in service.get("volumes") or ())

    services = sorted(project.services.values(), key=lambda s: (not mounts(s), s.name))
    return tuple(dict.fromkeys(naming.image_name(project.name, s) for s in services))
