"""The build inputs hash of a built service (what `devenv lock` records and `up --frozen` checks).

SHA-256 over, in a fixed order: the Dockerfile (or `dockerfile_inline`), the build context as the
builder receives it (after `.dockerignore`, with the same matcher `devenv build` uses): for each
path, sorted by name, its relative path, kind, exec bit, symlink target and content; the build
args, the target, and the additional contexts (local folders hashed like the context, other kinds
as written). Files are read in chunks, so a large file costs time but not memory.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from typing import Any

from devenv.errors import ManifestError

CHUNK = 1 << 20
PREFIX = "sha256:"
_REMOTE = ("docker-image://", "service:", "target:", "oci-layout://", "git@", "github.com/")


def is_local_context(value: str) -> bool:
    return "://" not in value and not value.startswith(_REMOTE)


def dockerfile_text(config: Mapping[str, Any]) -> bytes | None:
    """The Dockerfile's bytes (inline or the file), None for a remote context."""
    if config.get("dockerfile_inline"):
        return str(config["dockerfile_inline"]).encode("utf-8")
    context = str(config.get("context") or ".")
    if not is_local_context(context):
        return None
    name = str(config.get("dockerfile") or "Dockerfile")
    path = name if os.path.isabs(name) else os.path.join(context, name)
    from devenv.manifest.reading import read_bytes

    try:
        return read_bytes(path, "Dockerfile")
    except OSError as exc:
        raise ManifestError(f"cannot read the Dockerfile: {exc.strerror or exc}", path) from None


def _record(digest: Any, *fields: Any) -> None:
    digest.update(json.dumps(fields, ensure_ascii=False).encode("utf-8", "surrogatepass") + b"\n")


def _file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            chunk = handle.read(CHUNK)
            if not chunk:
                break
            digest.update(chunk)
    return digest.hexdigest()


def context_paths(context: str, dockerfile: str | None = None) -> list[str]:
    """The context's paths (relative, files and folders) the builder receives, sorted."""
    from docker.utils.build import exclude_paths

    from devenv.engine.build import _dockerignore

    return sorted(exclude_paths(os.path.abspath(context), _dockerignore(context), dockerfile=dockerfile))


def hash_folder(digest: Any, label: str, folder: str, dockerfile: str | None = None) -> None:
    """Feed a local folder into `digest`: each path with its kind, exec bit, link target and content."""
    if not os.path.isdir(folder):
        raise ManifestError(f"build context {folder} is not a folder")
    for rel in context_paths(folder, dockerfile):
        path = os.path.join(folder, rel)
        try:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                _record(digest, label, "link", rel, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                _record(digest, label, "dir", rel)
            elif stat.S_ISREG(info.st_mode):
                _record(digest, label, "file", rel, bool(info.st_mode & 0o111), _file_digest(path))
            else:
                _record(digest, label, "other", rel)
        except OSError as exc:  # unreadable: the build would fail on it too
            raise ManifestError(f"build context: cannot read {rel}: {exc.strerror or exc}", folder) from None


def build_inputs(config: Mapping[str, Any]) -> str:
    """`sha256:...` of a canonical `build:` mapping's inputs."""
    digest = hashlib.sha256()
    context = str(config.get("context") or ".")
    text = dockerfile_text(config)
    _record(digest, "dockerfile", None if text is None else hashlib.sha256(text).hexdigest())
    dockerfile = None if config.get("dockerfile_inline") else str(config.get("dockerfile") or "Dockerfile")
    if is_local_context(context):
        hash_folder(digest, "context", context, dockerfile)
    else:
        _record(digest, "context", context)
    args = config.get("args") or {}
    _record(digest, "args", sorted((str(k), None if v is None else str(v)) for k, v in args.items()))
    _record(digest, "target", config.get("target"))
    extra = config.get("additional_contexts") or {}
    for name in sorted(extra):
        value = str(extra[name])
        if is_local_context(value) and os.path.isdir(value):
            hash_folder(digest, f"context:{name}", value)
        else:
            _record(digest, f"context:{name}", value)
    return PREFIX + digest.hexdigest()
