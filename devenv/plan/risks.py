"""Risky declarations in a manifest: what a Compose file from a cloned repository can ask for that
gives its containers the host (the engine socket, bind mounts of system folders, `privileged`,
`cap_add: ALL`/`SYS_ADMIN`, publishing on every interface through `x-devenv`).

Pure: `find_risks(project)` lists them, each naming the service and, where the loader knows it, the
file and line. `digest(risk)` identifies a risk across edits elsewhere in the file, for the
remembered acknowledgements (devenv/acknowledged.py)."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import posixpath
import re
from typing import Any

from devenv.model import Project, Service

# Folders of the host whose bind mount hands the container the host: `/` and these, exactly.
SYSTEM_FOLDERS = frozenset({
    "/etc", "/usr", "/bin", "/sbin", "/boot", "/proc", "/sys", "/dev", "/root", "/var", "/var/run", "/run",
    "/var/lib", "/var/lib/docker", "/home", "/opt", "/srv",
})
_LIB = re.compile(r"^/lib(32|64|x32)?$")
ENGINE_SOCKETS = frozenset({"/var/run/docker.sock", "/run/docker.sock"})
_ENGINE_NAMES = ("docker", "containerd", "podman", "crio", "buildkit")
RISKY_CAPS = frozenset({"ALL", "SYS_ADMIN"})


@dataclasses.dataclass(frozen=True)
class Risk:
    service: str
    kind: str  # engine-socket | system-bind | privileged | capability | publish-all
    detail: str  # the declared value (a path, a capability, an address)
    message: str  # what it gives away, in words
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}: " if self.file and self.line else (f"{self.file}: " if self.file else "")
        return f"{where}service {self.service!r}: {self.message}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(f"{self.kind}\0{self.service}\0{self.detail}".encode()).hexdigest()[:32]


def is_engine_socket(path: str) -> bool:
    if path in ENGINE_SOCKETS:
        return True
    base = posixpath.basename(path)
    return base.endswith(".sock") and any(name in path.lower() for name in _ENGINE_NAMES)


def is_system_folder(path: str) -> bool:
    return path == "/" or path in SYSTEM_FOLDERS or bool(_LIB.match(path))


def _normal(source: str) -> str:
    path = posixpath.normpath(source) if source.startswith("/") else source
    return "/" if path == "//" else path


def _bind_sources(service: Service) -> list[tuple[int, str]]:
    out = []
    for index, volume in enumerate(service.get("volumes") or ()):
        if isinstance(volume, dict) or hasattr(volume, "get"):
            if volume.get("type", "volume") == "bind" and isinstance(volume.get("source"), str):
                out.append((index, _normal(volume["source"])))
        elif isinstance(volume, str) and volume.startswith("/"):
            out.append((index, _normal(volume.split(":", 1)[0])))
    return out


def _is_all_interfaces(value: Any) -> bool:
    try:
        address = ipaddress.ip_address(str(value))
    except ValueError:
        return False
    return not address.is_loopback


def find_risks(project: Project) -> list[Risk]:
    """The risky declarations of the project's enabled services, in file order per service."""
    found: list[Risk] = []

    def add(service: str, path: tuple, kind: str, detail: str, message: str) -> None:
        file, line = None, None
        if project.locate is not None:
            try:
                file, line = project.locate(path)
            except (KeyError, TypeError, ValueError, IndexError):
                pass
        file = file or (project.compose_files[0] if project.compose_files else None)
        found.append(Risk(service, kind, detail, message, file, line))

    publish_host = (project.x_devenv or {}).get("publish_host")
    for name, service in project.services.items():
        base = ("services", name)
        for index, source in _bind_sources(service):
            if is_engine_socket(source):
                add(name, (*base, "volumes", index), "engine-socket", source,
                    f"mounts the engine socket {source}: the container controls the engine, i.e. root on the host")
            elif is_system_folder(source):
                add(name, (*base, "volumes", index), "system-bind", source,
                    f"bind-mounts the host's {source}: the container can read or change the host's system files")
        if service.get("privileged") is True:
            add(name, (*base, "privileged"), "privileged", "true",
                "privileged: true gives the container every capability and device of the host")
        for index, cap in enumerate(service.get("cap_add") or ()):
            upper = str(cap).upper().removeprefix("CAP_")
            if upper in RISKY_CAPS:
                add(name, (*base, "cap_add", index), "capability", upper,
                    f"cap_add: {upper} lets the container administer the host's kernel (close to privileged)")
        if publish_host is not None and _is_all_interfaces(publish_host) and service.get("ports"):
            add(name, ("x-devenv", "publish_host"), "publish-all", str(publish_host),
                f"x-devenv publish_host: {publish_host} publishes its ports beyond this machine's loopback "
                "(anyone on the network can reach them)")
    return found
