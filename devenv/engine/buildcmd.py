"""The docker CLI command line for a Compose `build:` section (pure).

Input is the canonical `build` mapping of the model (absolute context, `ssh` as a mapping, `shm_size`
in bytes, `secrets` as long-form references) plus the project-level definitions of the secrets it
names. Whatever the chosen builder cannot honour is refused with one line naming the service and
the key; nothing is dropped silently.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

from devenv.errors import ManifestError

BUILDX, BUILDKIT, CLASSIC = "buildx", "buildkit", "classic"
MODERN_ENGINE = 23  # dockerd from 23.0 on has a Dockerfile frontend with heredocs, RUN --network, COPY --link


class BuildRefused(ManifestError):
    """A `build:` section or Dockerfile this builder cannot honour."""

    exit_code = 1


@dataclasses.dataclass(frozen=True)
class Builder:
    kind: str  # buildx | buildkit (a docker CLI's built-in BuildKit client) | classic (Engine API)
    cli: str | None = None  # the docker CLI that drives it
    version: str = ""  # that CLI's version

    def describe(self) -> str:
        if self.kind == BUILDX:
            return f"BuildKit through buildx ({self.cli} {self.version})"
        if self.kind == BUILDKIT:
            return f"BuildKit through the docker CLI ({self.cli} {self.version}, DOCKER_BUILDKIT=1)"
        return "the engine's classic builder"


@dataclasses.dataclass(frozen=True)
class Invocation:
    args: list[str]  # the docker CLI's arguments after the binary
    env: dict[str, str]  # added to the CLI's environment
    stdin: str | None = None  # an inline Dockerfile
    notes: tuple[str, ...] = ()  # what is worth telling (ignored secret uid/gid/mode, as Compose warns)


def refuse(service: str, what: str, builder: Builder) -> BuildRefused:
    if builder.kind == CLASSIC:
        reason = "needs BuildKit, which this engine's builder lacks (install buildx or Debian's docker.io CLI)"
    else:
        reason = f"needs buildx; {builder.describe()} cannot honour it"
    return BuildRefused(f"{service}: {what} {reason}")


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "no")
    return bool(value)


def _ulimit(name: str, value: Any) -> str:
    if isinstance(value, Mapping):
        return f"{name}={value.get('soft')}:{value.get('hard')}"
    return f"{name}={value}"


def _host(entry: Any) -> str:
    host, sep, ip = str(entry).partition("=")
    if not sep:
        host, _, ip = str(entry).partition(":")
    return f"{host}:{ip}"


def _secret_flags(
    service: str, refs: Any, definitions: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[list[str], dict[str, str], list[str]]:
    flags: list[str] = []
    env: dict[str, str] = {}
    notes: list[str] = []
    for ref in refs or ():
        ref = {"source": ref} if isinstance(ref, str) else dict(ref)
        source = ref["source"]
        ident = ref.get("target") or source
        definition = definitions.get(source)
        if definition is None:
            raise BuildRefused(f"{service}: build.secrets: secret {source!r} is not defined in the project's secrets")
        if definition.get("file"):
            flags += ["--secret", f"id={ident},src={definition['file']}"]
        elif definition.get("environment"):
            variable = str(definition["environment"])
            value = definition["resolved"] if "resolved" in definition else environ.get(variable)  # resolved: from .env too
            if value is None:
                raise BuildRefused(f"{service}: build.secrets: secret {source!r} reads ${variable}, which is not set")
            # The CLI reads it from a variable of its own environment, never from its arguments.
            carrier = f"DEVENV_BUILD_SECRET_{len(env)}"
            env[carrier] = str(value)
            flags += ["--secret", f"id={ident},env={carrier}"]
        else:
            raise BuildRefused(f"{service}: build.secrets: secret {source!r} must come from a file or the environment for a build")
        if any(ref.get(k) not in (None, "") for k in ("uid", "gid", "mode")):
            notes.append(f"secret {source}: uid, gid and mode are not supported by BuildKit, they are ignored")
    return flags, env, notes


def command(
    builder: Builder,
    service: str,
    image: str,
    config: Mapping[str, Any],
    platform: str | None = None,
    secrets: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Invocation:
    """`docker [buildx] build ...` for a BuildKit builder (buildx or the CLI's built-in client)."""
    assert builder.kind in (BUILDX, BUILDKIT), builder
    environ = os.environ if environ is None else environ
    buildx = builder.kind == BUILDX

    def only_buildx(key: str) -> None:
        if not buildx and config.get(key) not in (None, "", [], {}, False):
            raise refuse(service, f"build.{key}", builder)

    for key in ("cache_to", "additional_contexts", "entitlements", "privileged", "ulimits", "shm_size"):
        only_buildx(key)  # the built-in BuildKit of Docker 20.10 has no flag for these, or ignores them
    for key in ("provenance", "sbom"):
        if not buildx and config.get(key) is not None and _truthy(config.get(key)):
            raise refuse(service, f"build.{key}", builder)
    isolation = config.get("isolation")
    if isolation not in (None, "", "default"):
        raise BuildRefused(f"{service}: build.isolation {isolation!r} is a Windows engine's setting; BuildKit builds on Linux ignore it")

    args = ["buildx", "build", "--load"] if buildx else ["build"]
    args += ["--progress", "plain", "--tag", image]
    for tag in config.get("tags") or ():
        args += ["--tag", str(tag)]
    context = str(config.get("context") or ".")
    stdin = None
    if config.get("dockerfile_inline"):
        stdin = str(config["dockerfile_inline"])
        args += ["--file", "-"]
    elif config.get("dockerfile"):
        dockerfile = str(config["dockerfile"])
        local = "://" not in context and not context.startswith("git@")
        args += ["--file", os.path.join(context, dockerfile) if local else dockerfile]
    for name, value in (config.get("args") or {}).items():
        if value is not None:
            args += ["--build-arg", f"{name}={value}"]
    if config.get("target"):
        args += ["--target", str(config["target"])]
    for name, value in (config.get("labels") or {}).items():
        args += ["--label", f"{name}={value}"]
    for source in config.get("cache_from") or ():
        args += ["--cache-from", str(source)]
    for dest in config.get("cache_to") or ():
        args += ["--cache-to", str(dest)]
    for name, where in (config.get("additional_contexts") or {}).items():
        args += ["--build-context", f"{name}={where}"]
    if config.get("network"):
        args += ["--network", str(config["network"])]
    for entry in config.get("extra_hosts") or ():
        args += ["--add-host", _host(entry)]
    if config.get("shm_size"):
        args += ["--shm-size", str(config["shm_size"])]
    for name, value in (config.get("ulimits") or {}).items():
        args += ["--ulimit", _ulimit(name, value)]
    if _truthy(config.get("no_cache")):
        args.append("--no-cache")
    if _truthy(config.get("pull")):
        args.append("--pull")
    platforms = list(config.get("platforms") or ([platform] if platform else []))  # several: checked by plan.images
    if platforms:
        args += ["--platform", ",".join(platforms)]
    allow = [str(e) for e in config.get("entitlements") or ()]
    if _truthy(config.get("privileged")):
        allow.append("security.insecure")
    for entitlement in allow:
        args += ["--allow", entitlement]
    for key in ("provenance", "sbom"):
        if config.get(key) is not None:
            value = str(config[key])
            args.append(f"--{key}={value.lower()}" if value.lower() in ("true", "false") else f"--{key}={value}")
    ssh = config.get("ssh") or {}
    if isinstance(ssh, (list, tuple)):
        ssh = dict((str(s).partition("=")[0], str(s).partition("=")[2] or None) for s in ssh)
    for ident, path in ssh.items():
        args += ["--ssh", ident if not path else f"{ident}={path}"]
    secret_flags, env, notes = _secret_flags(service, config.get("secrets"), secrets or {}, environ)
    args += secret_flags
    if not buildx:
        env["DOCKER_BUILDKIT"] = "1"
    args.append(context)
    return Invocation(args, env, stdin, tuple(notes))


# Keys the classic builder (as devenv drives it, through the docker SDK) cannot honour: refused.
CLASSIC_UNSUPPORTED = ("secrets", "ssh", "cache_to", "additional_contexts", "entitlements", "privileged", "sbom", "provenance", "ulimits")


def check_classic(service: str, config: Mapping[str, Any], platform: str | None = None) -> None:
    builder = Builder(CLASSIC)
    for key in CLASSIC_UNSUPPORTED:
        value = config.get(key)
        if key in ("sbom", "provenance"):
            if value is not None and _truthy(value):
                raise refuse(service, f"build.{key}", builder)
        elif value not in (None, "", [], {}, False):
            raise refuse(service, f"build.{key}", builder)
