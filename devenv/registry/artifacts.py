"""OCI artifacts: files pushed to a registry as the layers of an OCI image manifest, and back.

The manifest (OCI image-spec 1.1 artifact guidance):

    {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
     "artifactType": ARTIFACT_TYPE,
     "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": <sha256 of {}>, "size": 2},
     "layers": [{"mediaType": ..., "digest": ..., "size": ...,
                 "annotations": {"org.opencontainers.image.title": TITLE}}, ...],
     "annotations": {...}}

Debian's docker-registry 2.8 accepts it as is (checked by tests/integration/test_registry_client.py).
A registry that refuses the empty config (400 MANIFEST_INVALID or a 415) gets the fallback: a
config blob `{}` of media type application/vnd.devenv.snapshot.config.v1+json, and the same
artifactType; `pull_artifact` reads both forms.

Pulling verifies every blob's digest and size and writes each file under its title inside
dest_dir (mode 0600), refusing titles that would land elsewhere: absolute, `..`, empty components,
backslashes, a symbolic link on the way, or a file already there. Nothing is left behind when a
pull fails.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.errors import RegistryError
from devenv.registry.client import OCI_MANIFEST, RegistryClient, client_for, parse_reference

EMPTY_CONFIG_TYPE = "application/vnd.oci.empty.v1+json"
EMPTY_CONFIG = b"{}"
FALLBACK_CONFIG_TYPE = "application/vnd.devenv.snapshot.config.v1+json"
TITLE = "org.opencontainers.image.title"

FileProgress = Callable[[str, int, int], None]  # (title, bytes done, bytes in all) of one file


@dataclass(frozen=True)
class ArtifactFile:
    """A file to push: its path on disk, the layer's media type and its title (relative path)."""

    path: str | os.PathLike[str]
    media_type: str
    title: str


@dataclass(frozen=True)
class PulledFile:
    title: str
    path: Path
    digest: str
    size: int


@dataclass(frozen=True)
class PulledArtifact:
    digest: str  # the manifest's
    artifact_type: str | None
    files: tuple[PulledFile, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)


def title_problem(title: str) -> str | None:
    """Why `title` cannot be a file name under the destination folder, or None."""
    if not isinstance(title, str) or not title:
        return "empty title"
    if "\x00" in title or "\\" in title:
        return f"title {title!r} holds a NUL or a backslash"
    if title.startswith("/") or (len(title) > 1 and title[1] == ":"):
        return f"title {title!r} is an absolute path"
    parts = title.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return f"title {title!r} is not a plain relative path (empty, '.' or '..' component)"
    return None


def _as_file(entry: ArtifactFile | tuple[Any, str, str]) -> ArtifactFile:
    if isinstance(entry, ArtifactFile):
        return entry
    path, media_type, title = entry
    return ArtifactFile(path=path, media_type=media_type, title=title)


def push_artifact(
    reference: str,
    files: Sequence[ArtifactFile | tuple[Any, str, str]],
    artifact_type: str,
    annotations: Mapping[str, str] | None = None,
    progress: FileProgress | None = None,
    client: RegistryClient | None = None,
) -> str:
    """Push `files` (path, media type, title) as one OCI artifact tagged `reference`; its digest."""
    parsed = parse_reference(reference)
    if parsed.digest:
        raise RegistryError(f"{reference}: an artifact is pushed to a tag, not a digest")
    entries = [_as_file(f) for f in files]
    seen: set[str] = set()
    for entry in entries:
        problem = title_problem(entry.title)
        if problem:
            raise RegistryError(f"{reference}: {problem}")
        if entry.title in seen:
            raise RegistryError(f"{reference}: two files have the title {entry.title!r}")
        seen.add(entry.title)
        if not Path(entry.path).is_file():
            raise RegistryError(f"{reference}: {entry.path} is not a file")
    client = client or client_for(parsed.registry)
    repo = parsed.repository
    layers = []
    for entry in entries:
        size = Path(entry.path).stat().st_size

        def report(done: int, total: int, title: str = entry.title) -> None:
            if progress is not None:
                progress(title, done, total)

        digest = client.put_blob(repo, entry.path, progress=report if progress else None)
        layers.append({"mediaType": entry.media_type, "digest": digest, "size": size, "annotations": {TITLE: entry.title}})
    if not layers:  # OCI 1.1: an artifact without files carries the empty descriptor as its layer
        layers.append({"mediaType": EMPTY_CONFIG_TYPE, "digest": client.put_blob(repo, EMPTY_CONFIG), "size": len(EMPTY_CONFIG)})
    tag = parsed.tag or "latest"
    try:
        return _put(client, repo, tag, EMPTY_CONFIG_TYPE, layers, artifact_type, annotations)
    except RegistryError as exc:
        if exc.status not in (400, 415) or exc.code not in (None, "MANIFEST_INVALID", "UNSUPPORTED"):
            raise
    return _put(client, repo, tag, FALLBACK_CONFIG_TYPE, layers, artifact_type, annotations)


def _put(
    client: RegistryClient,
    repo: str,
    tag: str,
    config_type: str,
    layers: list[dict[str, Any]],
    artifact_type: str,
    annotations: Mapping[str, str] | None,
) -> str:
    config_digest = client.put_blob(repo, EMPTY_CONFIG)
    manifest: dict[str, Any] = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": artifact_type,
        "config": {"mediaType": config_type, "digest": config_digest, "size": len(EMPTY_CONFIG)},
        "layers": layers,
    }
    if annotations:
        manifest["annotations"] = dict(sorted(annotations.items()))
    raw = json.dumps(manifest, separators=(",", ":")).encode()
    return client.put_manifest(repo, tag, OCI_MANIFEST, raw)


def pull_artifact(
    reference: str,
    dest_dir: str | os.PathLike[str],
    progress: FileProgress | None = None,
    client: RegistryClient | None = None,
) -> PulledArtifact:
    """Download the artifact `reference` names into `dest_dir` (created if missing), each file
    under its title; every blob is verified. On any failure the files written are removed."""
    parsed = parse_reference(reference)
    client = client or client_for(parsed.registry)
    repo = parsed.repository
    manifest = client.manifest(repo, parsed.ref, accept=(OCI_MANIFEST,))
    where = f"{reference} ({manifest.digest})"
    body = manifest.json()
    if manifest.media_type != OCI_MANIFEST:
        raise RegistryError(f"{where}: not an OCI artifact (media type {manifest.media_type})")
    layers = body.get("layers")
    if not isinstance(layers, list):
        raise RegistryError(f"{where}: the manifest has no layers list")
    config: dict[str, Any] = body["config"] if isinstance(body.get("config"), dict) else {}
    artifact_type = body.get("artifactType") or (config.get("mediaType") if config.get("mediaType") != EMPTY_CONFIG_TYPE else None)
    planned: list[tuple[str, str, int]] = []
    titles: set[str] = set()
    for position, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise RegistryError(f"{where}: layer {position} is not an object")
        if layer.get("mediaType") == EMPTY_CONFIG_TYPE and not layer.get("annotations"):
            continue  # the placeholder layer of an artifact without files
        found = (layer.get("annotations") or {}).get(TITLE)
        problem = title_problem(found) if isinstance(found, str) else f"layer {position} has no {TITLE} annotation"
        if problem or not isinstance(found, str):
            raise RegistryError(f"{where}: refusing the artifact: {problem}")
        title = found
        if title in titles:
            raise RegistryError(f"{where}: refusing the artifact: two layers have the title {title!r}")
        titles.add(title)
        digest, size = layer.get("digest"), layer.get("size")
        if not isinstance(digest, str) or not isinstance(size, int) or size < 0:
            raise RegistryError(f"{where}: layer {title!r} lacks a digest or a size")
        planned.append((title, digest, size))

    root = Path(dest_dir)
    try:
        root.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise RegistryError(f"{where}: cannot create {root}: {exc.strerror or exc}") from None
    real_root = root.resolve()
    written: list[Path] = []
    made_dirs: list[Path] = []
    pulled: list[PulledFile] = []
    try:
        for title, digest, size in planned:
            target = _target(real_root, title, made_dirs, where)

            def report(done: int, total: int, title: str = title, size: int = size) -> None:
                if progress is not None:
                    progress(title, done, size or total)

            got = client.get_blob(repo, digest, target, progress=report if progress else None)
            written.append(target)
            if got != size:
                raise RegistryError(f"{where}: {title}: {got} bytes, the manifest says {size}")
            pulled.append(PulledFile(title=title, path=target, digest=digest, size=got))
    except BaseException:
        for path in written:
            try:
                path.unlink()
            except OSError:
                pass
        for folder in reversed(made_dirs):
            try:
                folder.rmdir()
            except OSError:
                pass
        raise
    annotations: dict[str, Any] = body["annotations"] if isinstance(body.get("annotations"), dict) else {}
    return PulledArtifact(
        digest=manifest.digest,
        artifact_type=artifact_type if isinstance(artifact_type, str) else None,
        files=tuple(pulled),
        annotations={str(k): str(v) for k, v in annotations.items()},
    )


def _target(real_root: Path, title: str, made_dirs: list[Path], where: str) -> Path:
    """The path for `title` under real_root, its folders made (0700); refused when a symbolic
    link is on the way or a file is already there."""
    folder = real_root
    *dirs, name = title.split("/")
    for part in dirs:
        folder = folder / part
        if folder.is_symlink():
            raise RegistryError(f"{where}: refusing {title!r}: {folder} is a symbolic link")
        if not folder.exists():
            try:
                folder.mkdir(mode=0o700)
            except OSError as exc:
                raise RegistryError(f"{where}: cannot create {folder}: {exc.strerror or exc}") from None
            made_dirs.append(folder)
        elif not folder.is_dir():
            raise RegistryError(f"{where}: refusing {title!r}: {folder} is not a folder")
    target = folder / name
    if os.path.lexists(target):
        raise RegistryError(f"{where}: refusing {title!r}: {target} already exists")
    if not str(target.resolve()).startswith(str(real_root) + os.sep):
        raise RegistryError(f"{where}: refusing {title!r}: it resolves outside {real_root}")
    return target


__all__ = [
    "EMPTY_CONFIG_TYPE",
    "FALLBACK_CONFIG_TYPE",
    "ArtifactFile",
    "PulledArtifact",
    "PulledFile",
    "pull_artifact",
    "push_artifact",
    "title_problem",
]
