"""Building a service's image with the engine's builder (the classic builder on engines without
BuildKit's buildx), from the canonical `build:` section."""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any, Mapping

from devenv.errors import EngineError, ManifestError

if TYPE_CHECKING:
    from devenv.engine.operations import Context

# `build:` keys the classic builder cannot honour; refused rather than silently dropped.
UNSUPPORTED = ("secrets", "ssh", "cache_to", "additional_contexts", "entitlements", "privileged", "sbom", "provenance")


def _dockerignore(context: str) -> list[str]:
    path = os.path.join(context, ".dockerignore")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as fh:
        return [line.strip() for line in fh if line.strip() and not line.startswith("#")]


def build(ctx: "Context", image: str, config: Mapping[str, Any], platform: str | None) -> None:
    from docker.utils import build as build_utils

    for key in UNSUPPORTED:
        if config.get(key):
            raise ManifestError(f"image {image}: build.{key} needs BuildKit, which this engine's builder lacks")
    context = config.get("context") or "."
    if "://" in context or context.startswith(("git@", "github.com/")):
        raise ManifestError(f"image {image}: remote build contexts ({context}) are not supported yet")
    if not os.path.isdir(context):
        raise ManifestError(f"image {image}: build context {context} is not a directory")
    kwargs: dict[str, Any] = {
        "tag": image,
        "rm": True,
        "decode": True,
        "buildargs": {k: v for k, v in (config.get("args") or {}).items() if v is not None},
        "target": config.get("target"),
        "labels": dict(config.get("labels") or {}) or None,
        "cache_from": list(config.get("cache_from") or []) or None,
        "network_mode": config.get("network"),
        "pull": bool(config.get("pull")),
        "nocache": bool(config.get("no_cache")),
        "platform": (config.get("platforms") or [platform])[0] if (config.get("platforms") or platform) else None,
        "extra_hosts": _hosts(config.get("extra_hosts")),
        "isolation": config.get("isolation"),
    }
    if config.get("shm_size"):
        kwargs["shm_size"] = int(config["shm_size"])
    inline = config.get("dockerfile_inline")
    if inline:
        name = ".devenv-dockerfile-" + hashlib.sha256(inline.encode()).hexdigest()[:12]
        archive = build_utils.tar(context, exclude=_dockerignore(context), dockerfile=(name, inline), gzip=False)
        kwargs.update(fileobj=archive, custom_context=True, dockerfile=name)
    else:
        kwargs.update(path=context, dockerfile=config.get("dockerfile") or "Dockerfile")
    errors = []
    for chunk in ctx.api.build(**{k: v for k, v in kwargs.items() if v is not None}):
        if ctx.cancelled():
            raise KeyboardInterrupt
        if "error" in chunk:
            errors.append(str(chunk.get("error")).strip())
        elif "stream" in chunk:
            line = str(chunk["stream"]).rstrip()
            if line:
                ctx.log(f"{image}: {line}")
    if errors:
        raise EngineError(f"build of {image} failed: {errors[-1]}")
    for tag in config.get("tags") or ():
        repository, _, tag_name = tag.rpartition(":") if ":" in tag.rsplit("/", 1)[-1] else (tag, "", "latest")
        ctx.api.tag(image, repository, tag_name or "latest")


def _hosts(extra: Any) -> dict[str, str] | None:
    if not extra:
        return None
    out = {}
    for entry in extra:
        host, _, ip = str(entry).partition("=")
        out[host] = ip
    return out
