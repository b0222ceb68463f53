"""Local files for a remote engine: what is shipped, where it lands, how it is mounted (pure).

A remote engine resolves bind mounts on its own filesystem, which lacks the laptop's files. So when
the engine is not on this machine (not a `unix://` socket; `DEVENV_SHIP_FILES=always` forces it,
`never` turns it off), each bind-mounted source and each `file:` config or secret of the services
brought up is copied through the archive API into a volume devenv owns: one per local path, named
`<project>_shipped-<sha256(path)[:12]>`, labelled with the project and `io.devenv.shipped=<path>`.

How the container gets it (API 1.41 has no volume subpath):
- a folder: the volume is mounted at the target (a `volume` mount with `NoCopy`, so the image's
  files never seep into it), read-only when the bind was; edits shipped later show up live, as
  through a bind;
- a single file (bind, config or secret): the volume holds it under its own name, and the container
  binds `<volume Mountpoint>/<name>` at the target (the `local` driver's Mountpoint is a folder on
  the engine's host, where the engine resolves binds). Mounting the volume at the target's parent
  would hide the image's other files there, so it is never done. The archive API replaces a file
  (new inode) and a bound file keeps the old one: a changed file therefore recreates the container
  (its content digest is part of the `shipped` config digest); an unchanged one does not.

Incremental: a manifest per volume (path -> size, mtime, mode, sha256) is kept in the project's
manifest volume (`<project>_shipped-manifests`, never mounted by a service, so containers do not
see it); the next `up` hashes only files whose size or mtime changed, ships what differs and
deletes what is gone. `.devenvignore` in a shipped folder excludes paths (`.dockerignore` syntax).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import posixpath
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from devenv.errors import DevenvError, UsageError
from devenv.model import Project, Service
from devenv.plan import naming

SHIP_ENV = "DEVENV_SHIP_FILES"  # auto (default: only for an engine elsewhere) | always | never
SHIP_MODES = ("auto", "always", "never")
SHIPPED_LABEL = "io.devenv.shipped"  # on a shipped volume: the local path it copies
MANIFESTS_LABEL = "io.devenv.shipped-manifests"  # on the project's manifest volume
IGNORE_FILE = ".devenvignore"
MAX_BYTES = 1 << 30  # a source larger than this is refused (1 GiB)
MAX_FILES = 100_000  # or with more files than this
ROOT = "devenv-volume"  # where the helper container mounts a volume (as snapshots do)


class ShipError(DevenvError):
    """A source that cannot be shipped (too large, unreadable)."""

    exit_code = 1


def ship_mode(env: Mapping[str, str]) -> str:
    value = (env.get(SHIP_ENV) or "auto").strip().lower()
    if value not in SHIP_MODES:
        raise UsageError(f"{SHIP_ENV}={value!r}: expected one of {', '.join(SHIP_MODES)}")
    return value


def is_local_address(address: str) -> bool:
    """Whether the engine shares this machine's files (a unix socket or a Windows named pipe)."""
    return address.startswith(("unix://", "npipe://")) or address.startswith("/")


def should_ship(address: str, env: Mapping[str, str]) -> bool:
    mode = ship_mode(env)
    return mode == "always" or (mode == "auto" and not is_local_address(address))


def remote_host(address: str) -> str | None:
    """The host name of a remote engine's address (`tcp://h:2376`, `ssh://user@h:22`); None for a local one."""
    if is_local_address(address) or "://" not in address:
        return None
    rest = address.split("://", 1)[1].split("/", 1)[0]
    rest = rest.rsplit("@", 1)[-1]
    if rest.startswith("["):  # [::1]:2376
        return rest[1:].split("]", 1)[0] or None
    host = rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest
    return host or None


def loopback_warning(host: str | None, loopback_ports: Iterable[int]) -> str | None:
    """The warning for ports a remote engine publishes on its own loopback only (devenv's default
    publish_host): its URLs name the engine's host, which does not answer there."""
    ports = sorted(set(loopback_ports))
    if host is None or not ports or host in ("127.0.0.1", "localhost", "::1"):
        return None
    return (f"port{'s' if len(ports) > 1 else ''} {', '.join(map(str, ports))} "
            f"{'are' if len(ports) > 1 else 'is'} published on 127.0.0.1 of the engine at {host}: "
            f"reachable from {host} itself only; set x-devenv publish_host (or DEVENV_PUBLISH_HOST) "
            f"to 0.0.0.0 to reach it over the network, or tunnel with `ssh -L`")


def volume_name(project: str, path: str) -> str:
    return f"{project}_shipped-{hashlib.sha256(path.encode()).hexdigest()[:12]}"


def manifests_volume(project: str) -> str:
    return f"{project}_shipped-manifests"


def volume_labels(project: str, path: str) -> dict[str, str]:
    return {naming.PROJECT_LABEL: project, SHIPPED_LABEL: path}


def manifests_labels(project: str) -> dict[str, str]:
    return {naming.PROJECT_LABEL: project, MANIFESTS_LABEL: "1"}


def is_shipped_volume(labels: Mapping[str, str] | None) -> bool:
    """A volume `down` removes: a copy devenv shipped, or the manifests of those copies."""
    labels = labels or {}
    return SHIPPED_LABEL in labels or MANIFESTS_LABEL in labels


# -- what the services being brought up read from this machine


@dataclasses.dataclass(frozen=True)
class Source:
    """One local path to ship, and the services that mount it."""

    path: str  # absolute
    is_dir: bool
    services: tuple[str, ...]

    def volume(self, project: str) -> str:
        return volume_name(project, self.path)


def targets(project: Project, service: Service) -> list[tuple[str, str]]:
    """(local path, target in the container) of each bind mount and `file:` config or secret."""
    from devenv.plan.fileobjects import file_sources

    binds = [(str(m["source"]), str(m["target"])) for m in service.get("volumes") or () if m.get("type") == "bind" and m.get("source")]
    return binds + file_sources(project, service)


def local_paths(project: Project, service: Service) -> list[str]:
    """The service's bind-mount sources and `file:` configs and secrets, in declaration order."""
    return list(dict.fromkeys(source for source, _target in targets(project, service)))


def path_kind(path: str) -> str | None:
    """`dir` (also for a missing path: a bind creates a missing host folder), `file`, or None for
    a socket, device or pipe: that names a thing of the engine's host (`/var/run/docker.sock`), so
    it stays a bind."""
    if os.path.isdir(path) or not os.path.exists(path):
        return "dir"
    return "file" if os.path.isfile(path) else None


def sources(project: Project, services: Iterable[str], kind: Callable[[str], str | None] = path_kind) -> tuple[Source, ...]:
    """Every local path the services read that is shipped, once, with the services reading it."""
    found: dict[str, list[str]] = {}
    kinds: dict[str, str | None] = {}
    for name in services:
        service = project.services.get(name) or project.disabled_services.get(name)
        if service is None:
            continue
        for path in local_paths(project, service):
            if path not in kinds:
                kinds[path] = kind(path)
            if kinds[path] is not None:
                found.setdefault(path, []).append(name)
    return tuple(Source(p, kinds[p] == "dir", tuple(s)) for p, s in found.items())


# -- how the container mounts a shipped path


@dataclasses.dataclass(frozen=True)
class Shipped:
    """Where a local path is on the engine. `mountpoint`: the volume's folder on the engine's host
    (binds of a single file); `digest`: the file's content digest (empty for a folder)."""

    path: str
    volume: str
    is_dir: bool
    mountpoint: str = ""
    digest: str = ""

    @property
    def file_name(self) -> str:
        return posixpath.basename(self.path.replace(os.sep, "/")) or "file"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "volume": self.volume, "is_dir": self.is_dir, "mountpoint": self.mountpoint, "digest": self.digest}


def mountpoint_of(root_dir: str, volume: str) -> str:
    """The `local` driver's folder of a volume under the engine's DockerRootDir."""
    return f"{root_dir.rstrip('/')}/volumes/{volume}/_data"


def file_bind(shipped: Shipped, target: str, read_only: bool) -> str:
    return f"{shipped.mountpoint}/{shipped.file_name}:{target}:{'ro' if read_only else 'rw'}"


def folder_mount(shipped: Shipped, target: str, read_only: bool) -> dict[str, Any]:
    mount: dict[str, Any] = {"Type": "volume", "Source": shipped.volume, "Target": target, "VolumeOptions": {"NoCopy": True}}
    if read_only:
        mount["ReadOnly"] = True
    return mount


def hash_field(used: Iterable[tuple[str, Shipped]]) -> list[list[str]]:
    """The `shipped` config digest's input: target, volume and (files only) content digest."""
    return sorted([target, s.volume, s.digest] for target, s in used)


# -- manifests and what changed


@dataclasses.dataclass(frozen=True)
class Entry:
    """A file, folder or symbolic link of a shipped tree (`sha256`: a file's content; a link's target)."""

    kind: str  # file | dir | link
    size: int
    mtime_ns: int
    mode: int
    sha256: str = ""

    def same_stat(self, other: Entry | None) -> bool:
        return other is not None and (other.kind, other.size, other.mtime_ns) == (self.kind, self.size, self.mtime_ns)

    def same_content(self, other: Entry | None) -> bool:
        return other is not None and (other.kind, other.sha256, other.mode) == (self.kind, self.sha256, self.mode)

    def to_json(self) -> list[Any]:
        return [self.kind, self.size, self.mtime_ns, self.mode, self.sha256]

    @classmethod
    def from_json(cls, data: Any) -> Entry:
        kind, size, mtime, mode, sha = data
        return cls(str(kind), int(size), int(mtime), int(mode), str(sha))


Manifest = Mapping[str, Entry]  # relative POSIX path -> entry


def manifest_json(manifest: Manifest, source: str) -> dict[str, Any]:
    return {"version": 1, "source": source, "entries": {k: v.to_json() for k, v in sorted(manifest.items())}}


def manifest_from_json(data: Any) -> dict[str, Entry] | None:
    """The manifest, or None when it is damaged or of another version (everything is shipped again)."""
    try:
        if data.get("version") != 1:
            return None
        return {str(k): Entry.from_json(v) for k, v in data["entries"].items()}
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


@dataclasses.dataclass(frozen=True)
class Changes:
    send: tuple[str, ...]  # new or changed, parents before children
    delete: tuple[str, ...]  # gone locally (a folder's contents go with it)
    unchanged: int  # files and links left as they are
    bytes: int  # of the files sent

    @property
    def files(self) -> int:
        return len(self.send)

    @property
    def empty(self) -> bool:
        return not self.send and not self.delete


def diff(old: Manifest, new: Manifest) -> Changes:
    """What to send and delete so that a volume shipped as `old` holds `new`."""
    send = tuple(p for p in sorted(new) if not new[p].same_content(old.get(p)))
    gone = sorted(p for p in old if p not in new or (old[p].kind != new[p].kind and old[p].kind == "dir"))
    delete: list[str] = []
    for path in gone:  # a folder removed removes what was in it: name it alone
        if not any(path.startswith(d + "/") for d in delete):
            delete.append(path)
    unchanged = sum(1 for p, e in new.items() if e.kind != "dir" and p not in send)
    size = sum(new[p].size for p in send if new[p].kind == "file")
    return Changes(send, tuple(delete), unchanged, size)


def sent_files(changes: Changes, new: Manifest) -> int:
    """The files and links sent (folders counted out: they come with their contents)."""
    return sum(1 for p in changes.send if new[p].kind != "dir")


# -- excludes (.dockerignore syntax)


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    from devenv.plan.patterns import glob_regex

    return re.compile(glob_regex(pattern) + r"\Z")


@dataclasses.dataclass(frozen=True)
class Excludes:
    """`.dockerignore` rules: one pattern a line, `#` comments, `!` re-includes, the last rule that
    matches a path (or one of its parent folders) decides."""

    rules: tuple[tuple[bool, re.Pattern[str]], ...] = ()

    @classmethod
    def parse(cls, text: str) -> Excludes:
        rules = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = posixpath.normpath(line[1:].strip() if negate else line).lstrip("/")
            if line in ("", "."):
                continue
            rules.append((negate, _pattern_regex(line)))
        return cls(tuple(rules))

    def excluded(self, path: str) -> bool:
        parts = path.split("/")
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        result = False
        for negate, regex in self.rules:
            if any(regex.match(p) for p in prefixes):
                result = not negate
        return result


# -- limits and the report


def check_limits(label: str, files: int, size: int, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> None:
    if files > max_files or size > max_bytes:
        raise ShipError(
            f"cannot ship {label} to the engine: {human_size(size)} in {files:,} files is over the limit "
            f"({human_size(max_bytes)} or {max_files:,} files); exclude what the containers do not need in "
            f"{posixpath.join(label, IGNORE_FILE)} (.dockerignore syntax), or put the data in a named volume"
        )


def human_size(size: float) -> str:
    """`12.4 kB`, `3.0 MB` (decimal units, as docker prints sizes); `1 GiB`-style for exact powers of two."""
    if size >= 1 << 30 and size % (1 << 30) == 0:
        return f"{int(size) >> 30} GiB"
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"


def shown_path(path: str, working_dir: str) -> str:
    """`./src` for a path under the project folder, else the path."""
    rel = os.path.relpath(path, working_dir) if os.path.isabs(path) else path
    if rel == ".":
        return "."
    return path if rel.startswith("..") else "./" + rel.replace(os.sep, "/")


def report_line(label: str, services: Iterable[str], files: int, size: int, unchanged: int, deleted: int) -> str:
    """`shipped ./src to web: 3 files, 12.4 kB (1,204 unchanged)`."""
    noun = "file" if files == 1 else "files"
    extra = [f"{unchanged:,} unchanged"] if unchanged else []
    if deleted:
        extra.append(f"{deleted:,} removed")
    tail = f" ({', '.join(extra)})" if extra else ""
    return f"shipped {label} to {', '.join(services)}: {files:,} {noun}, {human_size(size)}{tail}"
