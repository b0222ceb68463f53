"""`devenv.lock`: what an environment runs, pinned (the data and its file; no engine, no registry).

Stable, sorted, readable JSON meant to be committed: the same project locked twice gives the same
bytes. One entry per service:
- `image`: the reference as declared (or devenv's name for a built image), `digest` its index
  digest in the registry (a manifest list or a single manifest), `platform` / `platform_digest` the
  manifest that runs here, `id` the image ID (its config digest, kept through push and pull);
- `pushed`: for a built image, the reference `devenv push` sent it to (with `digest`);
- `build`: `inputs` (hash of the Dockerfile, the context after .dockerignore, the args) and `bases`,
  every `FROM` of every stage with its digest;
- `volumes`: image-type volumes with their digests;
- `config_hash`: Compose's config hash of the resolved service;
- `declared`: the declared configuration `diff` compares (plan.declared; secrets as digests).
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from devenv.errors import ManifestError

VERSION = 1


@dataclasses.dataclass(frozen=True)
class Base:
    """One `FROM` of one stage of a Dockerfile."""

    stage: str  # the stage's name, or its index ("0", "1", ...) when unnamed
    ref: str  # the reference after ARG expansion, as written (`python:3.11`)
    platform: str | None = None  # `FROM --platform=...`, expanded
    digest: str | None = None  # the index digest in its registry
    id: str | None = None  # the local image ID, when known


@dataclasses.dataclass(frozen=True)
class ImageVolume:
    target: str
    image: str
    digest: str | None = None
    id: str | None = None


@dataclasses.dataclass(frozen=True)
class ServiceLock:
    image: str
    digest: str | None = None
    platform: str | None = None
    platform_digest: str | None = None
    id: str | None = None
    pushed: str | None = None
    build_inputs: str | None = None
    bases: tuple[Base, ...] = ()
    volumes: tuple[ImageVolume, ...] = ()
    config_hash: str | None = None
    declared: Any = None  # plain JSON data (plan.declared.service_facts)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"image": self.image}
        for key in ("digest", "platform", "platform_digest", "id", "pushed", "config_hash"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.build_inputs is not None or self.bases:
            out["build"] = {
                "inputs": self.build_inputs,
                "bases": [_compact(dataclasses.asdict(b)) for b in self.bases],
            }
        if self.volumes:
            out["volumes"] = [_compact(dataclasses.asdict(v)) for v in self.volumes]
        if self.declared is not None:
            out["declared"] = self.declared
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceLock:
        build = data.get("build") or {}
        return cls(
            image=str(data["image"]),
            digest=data.get("digest"),
            platform=data.get("platform"),
            platform_digest=data.get("platform_digest"),
            id=data.get("id"),
            pushed=data.get("pushed"),
            build_inputs=build.get("inputs"),
            bases=tuple(Base(**b) for b in build.get("bases") or ()),
            volumes=tuple(ImageVolume(**v) for v in data.get("volumes") or ()),
            config_hash=data.get("config_hash"),
            declared=data.get("declared"),
        )


def _compact(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


@dataclasses.dataclass(frozen=True)
class LockFile:
    project: str
    environment: str | None
    services: dict[str, ServiceLock]

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "project": self.project,
            "environment": self.environment,
            "services": {name: self.services[name].to_json() for name in sorted(self.services)},
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def loads(text: str, path: str) -> LockFile:
    """Parse a lock file; a damaged one is one line naming the file."""
    try:
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError(f"not a devenv lock file of version {VERSION}")
    except json.JSONDecodeError as exc:
        raise ManifestError(f"invalid lock file: {exc.msg}", path, exc.lineno) from None
    except ValueError as exc:
        raise ManifestError(f"invalid lock file: {exc}", path) from None
    services = {}
    entries = data.get("services", {})
    if not isinstance(entries, dict):
        raise ManifestError("invalid lock file: services: must be a mapping of service names", path)
    for name, entry in entries.items():
        try:
            if not isinstance(entry, dict):
                raise ValueError("must be a mapping")
            services[str(name)] = ServiceLock.from_json(entry)
        except KeyError as exc:
            raise ManifestError(f"invalid lock file: services.{name}: missing field {exc.args[0]!r}", path) from None
        except TypeError as exc:  # a dataclass refused the fields: name them, not the class
            detail = str(exc).split("() ", 1)[-1].replace("keyword argument", "field").replace("positional argument", "field")
            raise ManifestError(f"invalid lock file: services.{name}: {detail}", path) from None
        except (ValueError, AttributeError) as exc:
            raise ManifestError(f"invalid lock file: services.{name}: {exc}", path) from None
    return LockFile(str(data.get("project") or ""), data.get("environment"), services)


def read(path: str) -> LockFile | None:
    """The lock file at `path`, or None when there is none."""
    from devenv.manifest.reading import read_text

    if not os.path.exists(path):
        return None
    return loads(read_text(path, "lock file", utf16=False), path)


def write(path: str, lock: LockFile) -> bool:
    """Write atomically; False when the file already held exactly these bytes (left untouched)."""
    text = lock.dumps()
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return False
    except OSError:
        pass
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(tmp, path)
    return True
