"""The drift report's rules (pure): what two sides say about each service in, the differences out.

A side is an environment (its declared model and its lock's digests), a lock file (its `declared`
facts and digests) or what runs on an engine (engine/running.py). Each side gives, per service,
the declared configuration in plan.declared's format (normalized here so that both sides speak
alike: published ports with their host address, resources under one name each) and its image
facts. What a side cannot know (an engine does not know the secrets' contents, nor the bases an
image was built from) is not compared, and the report says so.

Compared like with like: image IDs with image IDs, lock digests with lock digests, and a lock's
digest with the digests an engine knows the running image by (its RepoDigests). Secret values are
digests on every side (plan.declared.secret_digest); a differing one is shown as `(secret,
differs)`, never its digest. `x-devenv.allowed_differences` patterns (`SERVICE.FIELD[.KEY]`,
fnmatch wildcards, a pattern also covering what lies under it) mark differences that are allowed.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from devenv.plan import declared as declared_facts
from devenv.plan import units

SECRET_DIFFERS = "(secret, differs)"
SECRET_SAME = "(secret)"
PRESENT = "present"
NO_VALUE = "(no value)"  # a key declared without a value (`environment: [KEY]`), as against a missing key

# field order in the report (then image.*, build.bases.*)
FIELD_ORDER = ("service", "image", "command", "entrypoint", "environment", "ports", "volumes", "healthcheck", "resources", "secrets")
KEYED = frozenset({"environment", "resources", "secrets"})  # compared key by key
SETS = frozenset({"ports", "volumes"})  # compared as sets of entries
HEALTH_DURATIONS = ("interval", "timeout", "start_period", "start_interval")

# declared resource keys -> the one name both sides use (the engine knows these)
RESOURCE_NAMES = {
    "limits.memory": "memory", "mem_limit": "memory",
    "reservations.memory": "memory_reservation", "mem_reservation": "memory_reservation",
    "memswap_limit": "memswap",
    "limits.cpus": "cpus", "cpus": "cpus",
    "limits.pids": "pids", "pids_limit": "pids",
    "cpu_shares": "cpu_shares", "cpu_quota": "cpu_quota", "cpuset": "cpuset", "shm_size": "shm_size",
}
BYTES = frozenset({"memory", "memory_reservation", "memswap", "shm_size"})


@dataclasses.dataclass(frozen=True)
class ImageFacts:
    """What a side knows of a service's image; None: not known there."""

    id: str | None = None  # image ID (config digest)
    digest: str | None = None  # lock: the index (or pushed manifest) digest
    platform_digest: str | None = None  # lock: the manifest that runs here
    repo_digests: tuple[str, ...] | None = None  # engine: every digest the running image is known by
    bases: tuple[tuple[str, str], ...] | None = None  # lock: (stage, "ref@digest" or "ref (id ...)") of each FROM


@dataclasses.dataclass(frozen=True)
class ServiceFacts:
    declared: Mapping[str, Any] | None  # normalized declared configuration; None: unknown; a field missing: unknown
    image: ImageFacts = ImageFacts()


@dataclasses.dataclass(frozen=True)
class Side:
    label: str  # how the report names it: `env default`, `lock devenv.prod.lock`, `host unix://...`
    services: Mapping[str, ServiceFacts]
    unknown: tuple[str, ...] = ()  # field patterns this side cannot know (`secrets`, `resources.limits.*`)
    notes: tuple[str, ...] = ()  # what was not compared, and why


@dataclasses.dataclass(frozen=True)
class Difference:
    service: str
    field: str  # `environment.LOG_LEVEL`, `ports`, `image.id`, `build.bases.0`, `service`
    left: Any  # what to show (secrets masked); None: absent on that side
    right: Any
    allowed: bool = False

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Report:
    left: str
    right: str
    differences: tuple[Difference, ...]
    notes: tuple[str, ...] = ()

    @property
    def same(self) -> bool:
        """No difference, or only allowed ones."""
        return all(d.allowed for d in self.differences)

    def to_json(self) -> dict[str, Any]:
        return {
            "same": self.same, "left": self.left, "right": self.right,
            "differences": [d.to_json() for d in self.differences], "notes": list(self.notes),
        }


# ---------------------------------------------------------------- normalizing declared facts


def split_port(entry: str) -> tuple[str, str, str]:
    """`[[HOST:]PUBLISHED:]TARGET/PROTO` (plan.declared's format) -> (host, published, `TARGET/PROTO`);
    a lone part before TARGET is a host when it looks like an address (has a `.` or a `:`)."""
    spec, slash, proto = entry.rpartition("/")
    if not slash:
        spec, proto = entry, "tcp"
    pieces = spec.split(":")
    target, rest = pieces[-1], pieces[:-1]
    if not rest:
        return "", "", f"{target}/{proto}"
    if len(rest) == 1:
        return (rest[0], "", f"{target}/{proto}") if "." in rest[0] else ("", rest[0], f"{target}/{proto}")
    return ":".join(rest[:-1]), rest[-1], f"{target}/{proto}"


def normalize_port(entry: str, publish_host: str) -> str:
    """`HOST:PUBLISHED:TARGET/PROTO` with the host always named: none declared means the side's
    publish_host; the engine's "" (every interface) is written 0.0.0.0."""
    host, published, target = split_port(str(entry))
    return f"{host or publish_host or '0.0.0.0'}:{published}:{target}"


def _number(value: Any) -> Any:
    try:
        as_float = float(value)
    except (TypeError, ValueError):
        return value
    return int(as_float) if as_float.is_integer() else as_float


def normalize_resources(resources: Mapping[str, Any]) -> dict[str, Any]:
    """One name per resource (`memory` for `limits.memory` and `mem_limit`), sizes in bytes, CPU
    counts as numbers; keys with no counterpart on an engine stay as declared."""
    out: dict[str, Any] = {}
    for key, value in resources.items():
        name = RESOURCE_NAMES.get(key, key)
        try:
            if name in BYTES:
                value = units.byte_size(value)
            elif name in ("cpus", "pids", "cpu_shares", "cpu_quota"):
                value = _number(value)
        except ValueError:
            pass
        out[name] = value
    return dict(sorted(out.items()))


def normalize_healthcheck(health: Any) -> Any:
    """Durations as Compose prints them (`1m30s`), unset and zero fields dropped."""
    if not isinstance(health, Mapping):
        return health or None
    if health.get("disable"):
        return {"disable": True}
    from devenv.manifest.shortsyntax import format_duration

    out: dict[str, Any] = {}
    for key, value in health.items():
        if value in (None, "", 0, [], False):
            continue
        if key in HEALTH_DURATIONS:
            try:
                ns = units.duration_ns(value)
            except ValueError:
                out[key] = value
                continue
            if ns:
                out[key] = format_duration(ns)
            continue
        out[key] = ["CMD-SHELL", value] if key == "test" and isinstance(value, str) else value
    return dict(sorted(out.items())) or None


def normalize(facts: Mapping[str, Any], publish_host: str) -> dict[str, Any]:
    """plan.declared facts (from a model or a lock) in the form both sides compare."""
    out = dict(facts)
    if isinstance(out.get("ports"), list):
        out["ports"] = sorted(normalize_port(p, publish_host) for p in out["ports"])
    if isinstance(out.get("resources"), Mapping):
        out["resources"] = normalize_resources(out["resources"])
    if "healthcheck" in out:
        out["healthcheck"] = normalize_healthcheck(out["healthcheck"])
    return out


# ---------------------------------------------------------------- sides from a model or a lock


def _base(base: Any) -> str:
    """A lockfile.Base as compared: `ref@digest`, else (a local image) `ref (id sha256:...)`."""
    if base.digest:
        return f"{base.ref}@{base.digest}"
    return f"{base.ref} (id {base.id})" if base.id else str(base.ref)


def image_facts(lock: Any) -> ImageFacts:
    """A lockfile.ServiceLock's image facts (None: no lock entry)."""
    if lock is None:
        return ImageFacts()
    bases = tuple((b.stage, _base(b)) for b in lock.bases) if lock.bases else None
    return ImageFacts(id=lock.id, digest=lock.digest, platform_digest=lock.platform_digest, bases=bases)


def project_side(label: str, facts: Mapping[str, Mapping[str, Any]], lock: Any, publish_host: str, lock_label: str) -> Side:
    """An environment: `facts` from plan.declared.project_facts, image facts from its lock
    (a lockfile.LockFile, or None when it has none)."""
    services = {}
    for name, service in facts.items():
        entry = lock.services.get(name) if lock is not None else None
        services[name] = ServiceFacts(normalize(service, publish_host), image_facts(entry))
    notes = () if lock is not None else (f"{label}: no lock file {lock_label}: image digests not compared",)
    return Side(label, services, notes=notes)


def lock_side(label: str, lock: Any, publish_host: str) -> Side:
    """A lock file: its `declared` facts (unknown for an entry without them) and digests."""
    services = {}
    missing = []
    for name, entry in lock.services.items():
        declared = entry.declared if isinstance(entry.declared, Mapping) else None
        if declared is None:
            missing.append(name)
        services[name] = ServiceFacts(None if declared is None else normalize(declared, publish_host), image_facts(entry))
    notes = (f"{label}: no declared configuration for {', '.join(sorted(missing))}: not compared",) if missing else ()
    return Side(label, services, notes=notes)


# ---------------------------------------------------------------- comparing


def _path(service: str, field: str) -> str:
    return f"{service}.{field}"


def matches(patterns: Iterable[str], path: str) -> bool:
    """Whether `SERVICE.FIELD[.KEY]` is covered by a pattern: the pattern matches it (fnmatch) or
    matches `SERVICE.FIELD` (a field's pattern covers its keys)."""
    service, _, rest = path.partition(".")
    prefixes = (path, f"{service}.{rest.partition('.')[0]}")
    return any(fnmatch.fnmatchcase(p, str(pattern)) for pattern in patterns for p in prefixes)


def _unknown(patterns: Iterable[str], field: str) -> bool:
    return any(fnmatch.fnmatchcase(field, p) or fnmatch.fnmatchcase(field.split(".", 1)[0], p) for p in patterns)


def _show(value: Any) -> Any:
    """A value as the report shows it: secrets masked; lists and mappings as they are."""
    if declared_facts.is_secret_digest(value):
        return SECRET_SAME
    return value


def _value(value: Any) -> Any:
    return NO_VALUE if value is None else value


def _keyed(field: str, left: Mapping[str, Any], right: Mapping[str, Any], secret_field: bool) -> list[tuple[str, Any, Any]]:
    out = []
    for key in sorted(set(left) | set(right)):
        in_left, in_right = key in left, key in right
        lv, rv = left.get(key), right.get(key)
        if in_left == in_right and lv == rv:
            continue
        secret = secret_field or declared_facts.is_secret_digest(lv) or declared_facts.is_secret_digest(rv)
        if secret:
            shown_l = SECRET_DIFFERS if lv is not None else NO_VALUE
            shown_r = SECRET_DIFFERS if rv is not None else NO_VALUE
            out.append((f"{field}.{key}", shown_l if in_left else None, shown_r if in_right else None))
        else:
            out.append((f"{field}.{key}", _value(lv) if in_left else None, _value(rv) if in_right else None))
    return out


def _set(field: str, left: Sequence[Any], right: Sequence[Any]) -> list[tuple[str, Any, Any]]:
    only_left = sorted(str(v) for v in set(map(str, left)) - set(map(str, right)))
    only_right = sorted(str(v) for v in set(map(str, right)) - set(map(str, left)))
    if not only_left and not only_right:
        return []
    return [(field, only_left or None, only_right or None)]


def compare_declared(left: Mapping[str, Any], right: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, left, right) for each declared field both sides know that differs."""
    out: list[tuple[str, Any, Any]] = []
    for field in declared_facts.FIELDS:
        if field not in left or field not in right:
            continue
        lv, rv = left[field], right[field]
        if field in KEYED:
            out += _keyed(field, lv or {}, rv or {}, field == "secrets")
        elif field in SETS:
            out += _set(field, lv or [], rv or [])
        elif lv != rv:
            out.append((field, _show(lv), _show(rv)))
    return out


def _digest_of(reference: str) -> str:
    return reference.rpartition("@")[2] if "@" in reference else reference


def compare_images(left: ImageFacts, right: ImageFacts) -> list[tuple[str, Any, Any]]:
    """Like with like: IDs with IDs, lock digests with lock digests, a lock digest with the
    digests an engine knows the image by."""
    out: list[tuple[str, Any, Any]] = []
    if left.id and right.id and left.id != right.id:
        out.append(("image.id", left.id, right.id))
    for lock_side_, engine_side, flip in ((left, right, False), (right, left, True)):
        if engine_side.repo_digests is not None and lock_side_.repo_digests is None:
            wanted = [d for d in (lock_side_.digest, lock_side_.platform_digest) if d]
            known = sorted({_digest_of(r) for r in engine_side.repo_digests})
            if wanted and not set(wanted) & set(known):
                shown = (wanted[0], ", ".join(known) or None)
                out.append(("image.digest", *(shown[::-1] if flip else shown)))
    if left.repo_digests is None and right.repo_digests is None:
        for key in ("digest", "platform_digest"):
            lv, rv = getattr(left, key), getattr(right, key)
            if lv and rv and lv != rv:
                out.append((f"image.{key}", lv, rv))
    elif left.repo_digests is not None and right.repo_digests is not None:
        lset, rset = {_digest_of(r) for r in left.repo_digests}, {_digest_of(r) for r in right.repo_digests}
        if lset != rset:
            out.append(("image.digest", ", ".join(sorted(lset)) or None, ", ".join(sorted(rset)) or None))
    if left.bases is not None and right.bases is not None:
        lb, rb = dict(left.bases), dict(right.bases)
        for stage in sorted(set(lb) | set(rb)):
            if lb.get(stage) != rb.get(stage):
                out.append((f"build.bases.{stage}", lb.get(stage), rb.get(stage)))
    return out


def _order(difference: Difference) -> tuple[Any, ...]:
    head = difference.field.split(".", 1)[0]
    rank = FIELD_ORDER.index(head) if head in FIELD_ORDER else len(FIELD_ORDER)
    return (difference.service, rank, difference.field)


def compare(left: Side, right: Side, allowed: Iterable[str] = ()) -> Report:
    """Every difference between the two sides, each marked allowed or not."""
    allowed = tuple(allowed)
    unknown = left.unknown + right.unknown
    found: list[Difference] = []

    def add(service: str, field: str, lv: Any, rv: Any) -> None:
        if _unknown(unknown, field):
            return
        found.append(Difference(service, field, lv, rv, matches(allowed, _path(service, field))))

    for service in sorted(set(left.services) | set(right.services)):
        lf, rf = left.services.get(service), right.services.get(service)
        if lf is None or rf is None:
            add(service, "service", PRESENT if lf else None, PRESENT if rf else None)
            continue
        if lf.declared is not None and rf.declared is not None:
            for field, lv, rv in compare_declared(lf.declared, rf.declared):
                add(service, field, lv, rv)
        for field, lv, rv in compare_images(lf.image, rf.image):
            add(service, field, lv, rv)
    return Report(left.label, right.label, tuple(sorted(found, key=_order)), left.notes + right.notes)


# ---------------------------------------------------------------- showing


def shown(value: Any, width: int = 40) -> str:
    """A value for the table: `-` when absent, lists joined, long values shortened in the middle."""
    if value is None:
        text = "-"
    elif isinstance(value, str):
        text = value
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        text = ", ".join(value)
    else:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = text.replace("\n", "\\n").replace("\t", "\\t")  # one table line per difference
    if len(text) > width:
        keep = width - 1
        text = text[: (keep + 1) // 2] + "…" + text[len(text) - keep // 2 :]
    return text


def table_rows(report: Report, width: int = 40) -> list[list[str]]:
    rows = [["SERVICE", "FIELD", "LEFT", "RIGHT", "ALLOWED"]]
    for d in report.differences:
        rows.append([d.service, d.field, shown(d.left, width), shown(d.right, width), "yes" if d.allowed else "no"])
    return rows


def summary(report: Report) -> str:
    allowed = sum(1 for d in report.differences if d.allowed)
    other = len(report.differences) - allowed
    sides = f"{report.left} and {report.right}"
    if not report.differences:
        return f"same: {sides} do not differ"
    if other == 0:
        return f"same: {sides} differ only where allowed ({allowed} allowed difference{'s' * (allowed != 1)})"
    tail = f", {allowed} allowed" if allowed else ""
    return f"different: {sides} differ in {other} place{'s' * (other != 1)}{tail}"
