"""Building a service's image from its canonical `build:` section, with BuildKit where there is one.

The builder (devenv/engine/builders.py) is buildx, else a docker CLI's built-in BuildKit client
(DOCKER_BUILDKIT=1), else the engine's classic builder through the Engine API. The docker CLI is
run as a subprocess in a process group of its own, talking to devenv's engine (DOCKER_HOST):
its output is streamed line by line through `ctx.log` with the service's prefix, and Ctrl-C kills
the group (the CLI cancels the build on the engine). python-on-whales finds the buildx plugin and
names the CLI binary; its own `build` functions are not used because they give no handle on the
subprocess (no cancelling), and `legacy_build` neither streams nor passes secrets.
"""

from __future__ import annotations

import collections
import hashlib
import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from devenv.engine import dockerfile, transfer
from devenv.engine.buildcmd import BUILDKIT, BUILDX, CLASSIC, MODERN_ENGINE, Builder, BuildRefused, check_classic, command, refuse
from devenv.errors import EngineError, ManifestError

if TYPE_CHECKING:
    from devenv.engine.api import BuildOptions
    from devenv.engine.operations import Context

KILL_AFTER = 1.0  # seconds between SIGINT to the CLI's group and SIGKILL
TAIL_LINES = 3  # output lines of the failing step quoted in the error

_engine_versions: dict[int, str] = {}
_engine_lock = threading.Lock()


def build(
    ctx: Context,
    image: str,
    config: Mapping[str, Any],
    platform: str | None,
    *,
    service: str | None = None,
    secrets: Mapping[str, Any] | None = None,
) -> None:
    """Build `image` from the canonical build mapping `config`; `secrets` are the project-level
    definitions of the secrets it names."""
    from devenv.engine.builders import detect

    service = service or image
    builder = detect()
    ctx.log(f"{service} | building {image} with {builder.describe()}")
    text = _dockerfile_text(config)
    if builder.kind == CLASSIC:
        check_classic(service, config, platform)
        if text is not None:
            for feature in dockerfile.features(text):
                raise refuse(service, f"{_dockerfile_name(config)} line {feature.line}: {feature.what}", builder)
        _build_classic(ctx, service, image, config, platform)
        return
    if text is not None and not dockerfile.uses_syntax_directive(text):
        version = _engine_version(ctx)
        if _major(version) < MODERN_ENGINE:
            for feature in dockerfile.features(text):
                if feature.needs_newer_frontend():
                    raise BuildRefused(
                        f"{service}: {_dockerfile_name(config)} line {feature.line}: {feature.what} needs Dockerfile syntax "
                        f"{feature.syntax}; the frontend built into this engine ({version}) has {dockerfile.BUILTIN_OLD_FRONTEND} "
                        f"(add a `# syntax=docker/dockerfile:1` line if the engine can pull it, or use Docker 23 or later)"
                    )
    invocation = command(builder, service, image, config, platform, secrets)
    for note in invocation.notes:
        ctx.log(f"{service} | warning: {note}")
    _run_cli(ctx, service, image, builder, invocation.args, invocation.env, invocation.stdin)


def _major(version: str) -> int:
    try:
        return int(version.split(".")[0])
    except ValueError:
        return MODERN_ENGINE


def _engine_version(ctx: Context) -> str:
    with _engine_lock:
        key = id(ctx.api)
        if key not in _engine_versions:
            try:
                _engine_versions[key] = str(ctx.api.version().get("Version") or "")
            except Exception:
                _engine_versions[key] = ""
        return _engine_versions[key]


def _dockerfile_name(config: Mapping[str, Any]) -> str:
    return "dockerfile_inline" if config.get("dockerfile_inline") else str(config.get("dockerfile") or "Dockerfile")


def _dockerfile_text(config: Mapping[str, Any]) -> str | None:
    """The Dockerfile's text when it is local (None for a remote context or a missing file)."""
    if config.get("dockerfile_inline"):
        return str(config["dockerfile_inline"])
    context = str(config.get("context") or ".")
    if "://" in context or context.startswith("git@"):
        return None
    path = os.path.join(context, str(config.get("dockerfile") or "Dockerfile"))
    if not os.path.lexists(path):
        return None
    from devenv.manifest.reading import read_bytes  # bounded: a regular file of sane size, or one line

    return read_bytes(path, "Dockerfile").decode("utf-8", "replace")


# ---- the docker CLI (buildx or DOCKER_BUILDKIT=1) -------------------------------------------------

_STEP = re.compile(r"^#(\d+) (.*)$")
_TIMED = re.compile(r"^\d+(?:\.\d+)? (.*)$")
_DIGEST_LINE = re.compile(r"^#\d+ sha256:[0-9a-f]{64}$")


class StepLog:
    """Follows BuildKit's plain progress output to say which step failed and what it printed last."""

    def __init__(self) -> None:
        self.titles: dict[str, str] = {}
        self.output: dict[str, collections.deque[str]] = {}
        self.failed: tuple[str, str] | None = None
        self.other: collections.deque[str] = collections.deque(maxlen=5)

    def feed(self, line: str) -> None:
        match = _STEP.match(line)
        if not match:
            if line.strip() and not line.startswith(("-----", " > ")):
                self.other.append(line.strip())
            return
        step, text = match.groups()
        if step not in self.titles:
            self.titles[step] = text
        elif text.startswith("ERROR"):
            if self.failed is None:
                self.failed = (step, text[len("ERROR"):].lstrip(": ").strip())
        else:
            timed = _TIMED.match(text)
            if timed and timed.group(1).strip():
                self.output.setdefault(step, collections.deque(maxlen=TAIL_LINES)).append(timed.group(1).strip())

    def error(self, code: int) -> str:
        if self.failed is not None:
            step, message = self.failed
            tail = list(self.output.get(step, ()))
            said = f" (last output: {' / '.join(tail)})" if tail else ""
            return f"step {self.titles.get(step, '#' + step)} failed: {message}{said}"
        if self.other:
            return self.other[-1]
        return f"the docker CLI exited with code {code}"


def _cli_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """The CLI talks to devenv's engine: DOCKER_HOST set to it (a context's TLS as DOCKER_CERT_PATH),
    no docker context to override it."""
    from devenv.engine.client import cli_environment

    env = cli_environment()
    env.update(extra)
    return env


def _cli_call(cli: str) -> list[str]:
    from python_on_whales.client_config import ClientConfig

    return [str(part) for part in ClientConfig(client_call=[cli]).docker_cmd]


def _signal_group(proc: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _canceller(proc: subprocess.Popen[bytes]) -> Callable[[bool], None]:
    """Ctrl-C: SIGINT to the CLI's group (it cancels the build on the engine), SIGKILL a moment later
    if it is still there; at once when forced."""

    def cancel(force: bool) -> None:
        if proc.poll() is not None:
            return
        if force:
            _signal_group(proc, signal.SIGKILL)
            return
        _signal_group(proc, signal.SIGINT)

        def kill_if_still_there() -> None:
            if proc.poll() is None:
                _signal_group(proc, signal.SIGKILL)

        timer = threading.Timer(KILL_AFTER, kill_if_still_there)
        timer.daemon = True
        timer.start()

    return cancel


def _run_cli(
    ctx: Context, service: str, image: str, builder: Builder, args: list[str], extra_env: Mapping[str, str], stdin: str | None
) -> None:
    assert builder.kind in (BUILDX, BUILDKIT) and builder.cli
    if ctx.cancelled():
        raise KeyboardInterrupt
    try:
        proc = subprocess.Popen(
            [*_cli_call(builder.cli), *args], stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_cli_environment(extra_env), start_new_session=True,
        )
    except OSError as exc:
        raise EngineError(f"build of {image}: cannot run {builder.cli}: {exc}") from None
    forget = ctx.on_cancel(_canceller(proc))
    steps = StepLog()
    counted = transfer.BuildSteps()
    try:
        if stdin is not None:
            threading.Thread(target=_feed, args=(proc, stdin), daemon=True).start()
        assert proc.stdout is not None
        for raw in proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if not line.strip() or _DIGEST_LINE.match(line):
                continue
            steps.feed(line)
            if counted.feed(line):
                transfer.report(f"build {image}", counted.done, counted.total, unit="steps")
            ctx.log(f"{service} | {line}")
        code = proc.wait()
    finally:
        forget()
        if proc.poll() is None:
            _signal_group(proc, signal.SIGKILL)
            proc.wait()
    if ctx.cancelled():
        raise KeyboardInterrupt
    transfer.report(f"build {image}", counted.total if code == 0 else counted.done, counted.total, finished=True, unit="steps")
    if code != 0:
        raise EngineError(steps.error(code))


def _feed(proc: subprocess.Popen[bytes], text: str) -> None:
    assert proc.stdin is not None
    try:
        proc.stdin.write(text.encode())
        proc.stdin.close()
    except (BrokenPipeError, OSError):
        pass


# ---- the classic builder (Engine API) -------------------------------------------------------------


def _dockerignore(context: str) -> list[str]:
    path = os.path.join(context, ".dockerignore")
    if not os.path.lexists(path):
        return []
    from devenv.manifest.reading import read_bytes

    text = read_bytes(path, ".dockerignore").decode("utf-8", "replace")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _build_classic(ctx: Context, service: str, image: str, config: Mapping[str, Any], platform: str | None) -> None:
    from docker.utils import build as build_utils

    context = config.get("context") or "."
    if "://" in context or context.startswith(("git@", "github.com/")):
        raise ManifestError(f"{service}: remote build contexts ({context}) need BuildKit, which this engine's builder lacks")
    if not os.path.isdir(context):
        raise ManifestError(f"{service}: build context {context} is not a directory")
    kwargs: dict[str, Any] = {
        "tag": image,
        "rm": True,
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
        kwargs["shmsize"] = int(config["shm_size"])
    inline = config.get("dockerfile_inline")
    if inline:
        name = ".devenv-dockerfile-" + hashlib.sha256(inline.encode()).hexdigest()[:12]
        archive = build_utils.tar(context, exclude=_dockerignore(context), dockerfile=(name, inline), gzip=False)
        kwargs.update(fileobj=archive, custom_context=True, dockerfile=name)
    else:
        kwargs.update(path=context, dockerfile=config.get("dockerfile") or "Dockerfile")
    errors = []
    counted = transfer.BuildSteps()
    options = cast("BuildOptions", {k: v for k, v in kwargs.items() if v is not None})
    for chunk in ctx.api.build(options):
        if ctx.cancelled():
            raise KeyboardInterrupt
        if "error" in chunk:
            errors.append(str(chunk.get("error")).strip())
        elif "stream" in chunk:
            for line in str(chunk["stream"]).splitlines():
                if line.strip():
                    if counted.feed(line):
                        transfer.report(f"build {image}", counted.done, counted.total, unit="steps")
                    ctx.log(f"{service} | {line.rstrip()}")
    transfer.report(f"build {image}", counted.done if errors else counted.total, counted.total, finished=True, unit="steps")
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
