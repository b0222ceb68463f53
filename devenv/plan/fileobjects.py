"""Service `secrets` and `configs` outside Swarm, as Compose v2 gives them to a container:

- a `file:` source is bind-mounted read-only at the target;
- an `environment:` (or, for configs, `content:`) source is written into the container after it is
  created and before it starts (one `copy_files` action), with the mode, uid and gid asked for.

The target defaults to `/run/secrets/<name>` for a secret and `/<name>` for a config; a relative
secret target is taken under `/run/secrets/`. Secret values never appear in a plan's text or JSON.
"""

from __future__ import annotations

import dataclasses
import hashlib
import posixpath
from collections.abc import Iterable, Mapping
from typing import Any

from devenv.model import Project, Service
from devenv.plan.errors import UnsupportedFeature


class Hidden(str):
    """A value that is never shown: its repr and its JSON form are `***`."""

    def __repr__(self) -> str:
        return "'***'"

    def to_dict(self) -> str:
        return "***"


@dataclasses.dataclass(frozen=True)
class InjectedFile:
    path: str  # absolute, inside the container
    content: Hidden
    mode: int  # permission bits
    uid: int
    gid: int
    kind: str  # secret | config
    source: str  # its name in the project

    @property
    def digest(self) -> str:
        """Changes when the content does, without revealing it (salted with the path)."""
        return hashlib.sha256(f"{self.path}\0{self.content}".encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "source": self.source, "mode": oct(self.mode), "uid": self.uid, "gid": self.gid}


def _target(kind: str, reference: Mapping[str, Any]) -> str:
    source = str(reference.get("source"))
    target = reference.get("target")
    if kind == "secrets":
        if not target:
            return f"/run/secrets/{source}"
        return target if posixpath.isabs(target) else f"/run/secrets/{target}"
    return target if target else f"/{source}"


def _mode(reference: Mapping[str, Any], default: int) -> int:
    mode = reference.get("mode")
    if mode is None:
        return default
    return int(str(mode), 8) if isinstance(mode, str) else int(mode)


def _definition(project: Project, service: Service, kind: str, reference: Mapping[str, Any]) -> Mapping[str, Any]:
    name = str(reference.get("source"))
    definition = getattr(project, kind).get(name)
    if definition is None:
        raise UnsupportedFeature(service.name, kind, f"refers to undefined {kind[:-1]} {name!r}")
    if definition.get("external"):
        raise UnsupportedFeature(service.name, kind, f"{name!r} is external: external {kind} are a Swarm feature")
    for key in ("driver", "template_driver"):
        if definition.get(key):
            raise UnsupportedFeature(service.name, kind, f"{name!r} uses {key}, a Swarm feature")
    return definition


def file_sources(project: Project, service: Service) -> list[tuple[str, str]]:
    """(local file, target) of the `file:` secrets and configs of the service."""
    out = []
    for kind in ("secrets", "configs"):
        for reference in service.get(kind) or ():
            definition = _definition(project, service, kind, reference)
            if definition.get("file"):
                out.append((str(definition["file"]), _target(kind, reference)))
    return out


def file_binds(project: Project, service: Service) -> list[str]:
    """`source:target:ro` bind strings for the `file:` secrets and configs of the service."""
    return [f"{source}:{target}:ro" for source, target in file_sources(project, service)]


def injected_files(project: Project, service: Service) -> tuple[InjectedFile, ...]:
    """The secrets and configs given as `environment:` or `content:`, resolved now."""
    out = []
    for kind in ("secrets", "configs"):
        for reference in service.get(kind) or ():
            definition = _definition(project, service, kind, reference)
            if definition.get("file"):
                continue
            if definition.get("environment"):
                variable = definition["environment"]
                if variable not in project.environment:
                    raise UnsupportedFeature(
                        service.name, kind, f"{reference.get('source')!r} reads ${variable}, which is not set"
                    )
                content = project.environment[variable]
            elif "content" in definition:
                content = definition["content"]
            else:
                continue
            out.append(
                InjectedFile(
                    path=_target(kind, reference),
                    content=Hidden(content),
                    mode=_mode(reference, 0o444),
                    uid=int(reference.get("uid") or 0),
                    gid=int(reference.get("gid") or 0),
                    kind=kind[:-1],
                    source=str(reference.get("source")),
                )
            )
    return tuple(out)


def digests(files: Iterable[InjectedFile]) -> str:
    return ",".join(f.digest for f in files)
