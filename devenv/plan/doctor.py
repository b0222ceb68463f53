"""`devenv doctor`'s verdicts: each check's status (ok / warn / fail), what it saw and, when it is
not ok, a remedy in one line, from facts the engine layer gathered (devenv/engine/doctor.py).
Pure: no engine, no files. `fail` is kept for what blocks `up` (exit 1); the rest warns."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from devenv.plan.shipping import human_size

if TYPE_CHECKING:
    from devenv.model import Project

OK, WARN, FAIL = "ok", "warn", "fail"
NO_COMPOSE_FILE = "no Compose file here"
GB = 1 << 30
MIN_FREE = 2 * GB  # below this much free in the engine's data root: warn
CLOCK_SKEW = 5.0  # seconds between the engine's clock and ours before warning
FEW_INSTANCES = 8  # an inotify instance limit this low makes watch (and editors) fail
SUGGESTED_WATCHES = 524288  # as devenv/engine/filewatch.py suggests
SUGGESTED_INSTANCES = 1024


@dataclasses.dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    detail: str
    remedy: str | None = None  # one line, for warn and fail

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "remedy": self.remedy}


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", text)[:3]) or (0,)


# ------------------------------------------------------------------ the engine


@dataclasses.dataclass(frozen=True)
class EngineFacts:
    where: str  # the address and how it was chosen (`unix:///var/run/docker.sock (default socket)`)
    error: str | None = None  # why it could not be reached
    server_version: str = ""  # Docker's version (`20.10.24+dfsg1`)
    api_version: str = ""  # the engine's API version (`1.41`)
    needed_api: str = "1.41"


def engine_check(facts: EngineFacts) -> Check:
    if facts.error is not None:
        return Check("engine", FAIL, facts.error,
                     "start the engine (sudo systemctl start docker, or scripts/engine.sh), or point DOCKER_HOST, "
                     "--context or -H at a running one")
    detail = f"{facts.where}: Docker {facts.server_version or '?'}, API {facts.api_version or '?'}"
    if facts.api_version and _version(facts.api_version) < _version(facts.needed_api):
        return Check("engine", FAIL, f"{detail}, older than the API {facts.needed_api} devenv needs",
                     f"upgrade the engine to one speaking API {facts.needed_api} or newer (Docker 20.10+)")
    return Check("engine", OK, f"{detail} (devenv needs {facts.needed_api})")


def buildkit_check(kind: str, described: str = "", error: str | None = None) -> Check:
    """`kind`: the builder devenv/engine/builders.py chose (buildx, buildkit, classic); `described`:
    its Builder.describe()."""
    if error is not None:
        return Check("buildkit", WARN, error, "set DEVENV_BUILDER to auto, buildx, buildkit or classic")
    if kind == "classic":
        return Check("buildkit", WARN,
                     "no BuildKit: builds use the engine's classic builder (no cache mounts, secrets, nor parallel stages)",
                     "install the docker buildx plugin (apt-get install docker-buildx), or a docker CLI before 23.0")
    return Check("buildkit", OK, described or kind)


def storage_check(driver: str) -> Check:
    if driver == "vfs":
        return Check("storage", WARN,
                     "storage driver vfs: every layer is a full copy, so builds, pulls and container starts are slow "
                     "and take disk space many times over",
                     "run dockerd with --storage-driver overlay2 (a filesystem with d_type: ext4, xfs ftype=1)")
    return Check("storage", OK, f"storage driver {driver or '?'}")


# ------------------------------------------------------------------ the host


def ports_check(problems: Sequence[str] | None, published: int = 0, error: str | None = None) -> Check:
    """`problems`: one line per published port that is taken (devenv/engine/ports.taken); None:
    no Compose file here. `error`: why the ports could not be checked."""
    if error is not None:
        return Check("ports", WARN, f"not checked: {error}", "run devenv doctor again once the engine answers")
    if problems is None:
        return Check("ports", OK, NO_COMPOSE_FILE)
    if problems:
        return Check("ports", FAIL, "; ".join(problems),
                     "stop what holds the port, or publish another one in the Compose file (ports: [\"OTHER:TARGET\"])")
    if not published:
        return Check("ports", OK, "the manifest publishes no fixed host port")
    return Check("ports", OK, f"the {published} published port{'s' if published != 1 else ''} "
                              f"{'are' if published != 1 else 'is'} free")


def published_ports(project: Project, publish_host: str) -> list[tuple[str, int, str, str]]:
    """(host IP, port, protocol, service) of each fixed host port the enabled services publish;
    no host IP: `publish_host` (0.0.0.0 is every interface)."""
    out = []
    for service in project.services.values():
        for port in service.get("ports") or ():
            published = str(port.get("published") or "")
            if published.isdigit() and int(published) > 0:
                host_ip = port.get("host_ip") or publish_host or "0.0.0.0"
                out.append((str(host_ip), int(published), str(port.get("protocol") or "tcp"), service.name))
    return out


def disk_check(root: str, free: int | None, images: int = 0, minimum: int = MIN_FREE) -> Check:
    """`free`: bytes free where the engine keeps its data (`root`, DockerRootDir); None when it
    cannot be measured here (a remote engine, or a root this host does not see). `images`: bytes
    the project's images take: as much again is wanted free to rebuild or pull them."""
    if free is None:
        return Check("disk", OK, f"{root or 'the data root'}: not on this host, free space not measured")
    wanted = max(minimum, images)
    detail = f"{human_size(free)} free in {root}" + (f" (the project's images take {human_size(images)})" if images else "")
    if free < wanted:
        return Check("disk", WARN, f"{detail}: less than {human_size(wanted)}",
                     "free space: docker image prune, docker builder prune (unused images and build cache)")
    return Check("disk", OK, detail)


@dataclasses.dataclass(frozen=True)
class InotifyFacts:
    watches: tuple[str, int | None]  # the sysctl that limits watches and its value (the lowest of fs.* and user.*)
    instances: tuple[str, int | None]
    folders: int | None  # folders `devenv watch` would watch; None: no develop.watch rules (or no Compose file)
    why_none: str = "no develop.watch rules"


def inotify_check(facts: InotifyFacts) -> Check:
    (wsysctl, watches), (isysctl, instances) = facts.watches, facts.instances
    limits = f"{wsysctl}={'?' if watches is None else watches}, {isysctl}={'?' if instances is None else instances}"
    if instances is not None and instances < FEW_INSTANCES:
        return Check("inotify", WARN, f"{limits}: so few instances that watching files fails (devenv watch, editors)",
                     f"sudo sysctl {isysctl}={SUGGESTED_INSTANCES}")
    if facts.folders is None:
        return Check("inotify", OK, f"{limits} ({facts.why_none})")
    needed = f"develop.watch would watch {facts.folders} folder{'s' if facts.folders != 1 else ''}"
    if watches is not None and facts.folders >= watches:
        return Check("inotify", WARN, f"{needed}, more than {wsysctl}={watches} allows: watch falls back to polling",
                     f"sudo sysctl {wsysctl}={max(SUGGESTED_WATCHES, facts.folders * 2)}")
    return Check("inotify", OK, f"{needed}; {limits}")


# ------------------------------------------------------------------ the environment


def registry_check(env: str | None, registry: str | None, error: str | None = None) -> Check:
    """The --env environment's registry (x-devenv.environments.NAME.registry); `error`: why it
    did not answer."""
    if env is None:
        return Check("registry", OK, "no environment (--env): no registry to reach")
    if not registry:
        return Check("registry", OK, f"environment {env} names no registry")
    if error is not None:
        return Check("registry", WARN, f"environment {env}: {error}",
                     f"start the registry or fix x-devenv.environments.{env}.registry (push and lock need it)")
    return Check("registry", OK, f"environment {env}: registry {registry} answers")


def context_check(env: str | None, engine: str | None, error: str | None = None) -> Check:
    """The --env environment's engine (`host` or `context`) resolved; `error`: why not (blocks
    `up --env`)."""
    if env is None:
        return Check("context", OK, "no environment (--env): the engine docker's settings choose")
    if error is not None:
        return Check("context", FAIL, f"environment {env}: {error}",
                     f"create the context (docker context create NAME --docker host=...) or fix "
                     f"x-devenv.environments.{env}.context")
    if not engine:
        return Check("context", OK, f"environment {env} runs on the local engine")
    return Check("context", OK, f"environment {env}: engine {engine}")


def parse_engine_time(text: str) -> datetime | None:
    """The engine's SystemTime (RFC 3339 with nanoseconds: `2026-12-02T16:47:33.123456789Z`,
    or an offset) as an aware datetime; None when unreadable."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", (text or "").strip())
    if not match:
        return None
    stamp, fraction, zone = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    try:
        return datetime.fromisoformat(f"{stamp}.{micro}{'+00:00' if zone == 'Z' else zone}")
    except ValueError:
        return None


def clock_check(engine_time: str, local: datetime, limit: float = CLOCK_SKEW) -> Check:
    """The engine's SystemTime against ours (`local`, aware: when the engine answered)."""
    theirs = parse_engine_time(engine_time)
    if theirs is None:
        return Check("clock", WARN, f"the engine's time {engine_time!r} is unreadable",
                     "check the engine (docker info shows its SystemTime)")
    skew = round((theirs - local.astimezone(UTC)).total_seconds(), 1) + 0.0  # no "-0.0"
    if abs(skew) > limit:
        side = "ahead of" if skew > 0 else "behind"
        return Check("clock", WARN,
                     f"the engine's clock is {abs(skew):.0f} s {side} this host's: TLS, tokens, logs --since and "
                     "build caches go wrong", "sync the clocks (timedatectl set-ntp true, on this host and the engine's)")
    return Check("clock", OK, f"the engine's clock is within {limit:g} s of this host's ({skew:+.1f} s)")


def compose_check(files: Sequence[str], error: str | None = None) -> Check:
    if error is not None:
        return Check("compose", FAIL, error, "fix the file (devenv config shows the model, or the error)")
    if not files:
        return Check("compose", OK, NO_COMPOSE_FILE)
    return Check("compose", OK, ", ".join(files))


# ------------------------------------------------------------------ the report


def blocks_up(checks: Iterable[Check]) -> bool:
    return any(c.status == FAIL for c in checks)


def to_json(checks: Sequence[Check]) -> dict[str, Any]:
    return {"ok": not blocks_up(checks), "checks": [c.to_json() for c in checks]}


def lines(checks: Sequence[Check]) -> list[tuple[str, str, str]]:
    """(status, name, text) per check: the detail, then `; fix: REMEDY` when not ok."""
    return [(c.status, c.name, c.detail + (f"; fix: {c.remedy}" if c.remedy and c.status != OK else "")) for c in checks]
