"""`devenv watch` planned (pure): Compose's `develop.watch` rules, and what a batch of touched host
paths means for the containers (sync, rebuild, restart, exec hooks, or a replan of the project).

No Docker here and no file walking: the engine side stats the touched paths, walks new folders with
`Rule.prunes`/`Rule.wants`, lists the container's files for an initial sync, and hands the results in.
The only I/O is reading a service's build-context `.dockerignore`.

Matching follows Compose (pkg/watch/dockerignore.go, pkg/compose/watch.go): `.dockerignore` syntax,
each pattern anchored at its base folder (the rule's `path` for `ignore`/`include`, the build context
for `.dockerignore`); a path matches when it or one of its parent folders does, the last rule that
matches deciding and `!` re-including. A rule's ignore is the union of its own patterns, the build
context's `.dockerignore`, `.git` folders and editors' temporary files (Compose's list).
"""

from __future__ import annotations

import dataclasses
import functools
import os
import posixpath
import re
import shlex
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from devenv.errors import UsageError
from devenv.model import Project, Service
from devenv.plan.patterns import glob_regex

ACTIONS = ("sync", "rebuild", "restart", "sync+restart", "sync+exec")
SYNC_ACTIONS = ("sync", "sync+restart", "sync+exec")
NOT_CONFIGURED = "none of the selected services is configured for watch, consider setting a 'develop' section"

# Compose's EphemeralPathMatcher: editors' temporary and lock files (GoLand, Emacs, Vim, Kate, go).
EDITOR_TEMP_PATTERNS = (
    "**/*___jb_old___", "**/*___jb_tmp___", "**/.idea/**",
    "**/.#*", "**/#*#",
    "**/4913", "**/*~", "**/.*.swp", "**/.*.swx", "**/.*.swo", "**/.*.swn",
    "**/.*.kate-swp",
    "**/*-go-tmp-umask",
)
GIT_PATTERNS = ("**/.git",)  # Compose writes `.git/`; devenv ignores every `.git` folder, nested ones too


# -- patterns (.dockerignore syntax)


@functools.lru_cache(maxsize=4096)
def _segment(pattern: str) -> re.Pattern[str]:
    return re.compile(glob_regex(pattern) + r"\Z")


@dataclasses.dataclass(frozen=True)
class _Pattern:
    negate: bool
    prefix: str  # absolute folder, literal
    rel: str  # glob relative to prefix ("" : the prefix itself)

    @property
    def head(self) -> str:
        """The regex of the pattern's literal folder (and a leading `**/`), shared by many patterns."""
        if not self.rel:
            return re.escape(self.prefix)
        head = re.escape(self.prefix.rstrip("/")) + "/"
        return head + "(?:.*/)?" if self.rel.startswith("**/") else head

    @property
    def tail(self) -> str:
        if not self.rel:
            return ""
        return glob_regex(self.rel[3:] if self.rel.startswith("**/") else self.rel)

    def every_child(self) -> re.Pattern[str] | None:
        """For a pattern ending in a segment of stars only (`node_modules/**`, `build/*`): the regex of
        the folders whose every child (so everything under) it matches; None for other patterns."""
        segments = self.rel.split("/") if self.rel else []
        if not segments or segments[-1].strip("*"):
            return None
        parent = _Pattern(self.negate, self.prefix, "/".join(segments[:-1]))
        return re.compile(parent.head + parent.tail + r"\Z", re.DOTALL)

    def may_reach(self, parts: Sequence[str]) -> bool:
        """Whether this pattern could match some path strictly under the folder split into `parts`
        (conservative: False only when one of its segments cannot match the folder's)."""
        segments = [(True, p) for p in _split(self.prefix)] + [(False, s) for s in self.rel.split("/") if s]
        for i, part in enumerate(parts):
            if i >= len(segments):
                return True
            literal, segment = segments[i]
            if literal:
                if segment != part:
                    return False
            elif "**" in segment:
                return True
            elif not _segment(segment).match(part):
                return False
        return True


def _split(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def _under(path: str, folder: str) -> bool:
    """`path` is `folder` or inside it (both absolute, normalized)."""
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def _parse(base: str, raw: str) -> _Pattern | None:
    text = raw.strip()
    if not text:
        return None
    negate = text.startswith("!")
    if negate:
        text = text[1:].strip()
        if not text:
            return None
    base = posixpath.normpath(base) if base else "/"
    if text.startswith("/"):
        absolute = posixpath.normpath(text)
        # an absolute path inside the base names it; otherwise `/x` is anchored at the base (as in a .dockerignore)
        text = posixpath.relpath(absolute, base) if _under(absolute, base) else absolute.lstrip("/")
    rel = posixpath.normpath(text) if text else "."
    prefix = base
    while rel == ".." or rel.startswith("../"):
        prefix = posixpath.dirname(prefix)
        rel = rel[3:] if rel != ".." else "."
    return _Pattern(negate, prefix, "" if rel == "." else rel)


def _compile(rules: Iterable[_Pattern]) -> re.Pattern[str] | None:
    """One regex for patterns: a path matches when one of them matches it or one of its parents
    (alternatives with a common head are factored: a regex per path beats one per pattern)."""
    heads: dict[str, list[str]] = {}
    for rule in rules:
        heads.setdefault(rule.head, []).append(rule.tail)
    if not heads:
        return None
    alternatives = [head + (f"(?:{'|'.join(tails)})" if any(tails) else "") for head, tails in heads.items()]
    return re.compile(f"(?:{'|'.join(alternatives)})(?:/.*)?\\Z", re.DOTALL)


@dataclasses.dataclass(frozen=True)
class Matcher:
    """`.dockerignore` rules anchored at `base` (an absolute folder): a path matches when it or a
    parent folder does, the last matching rule deciding (`!` re-includes). `parts`: other matchers
    OR-ed with these rules (a watch rule's ignore is several, each with its own base)."""

    base: str = "/"
    patterns: tuple[str, ...] = ()
    parts: tuple[Matcher, ...] = ()
    _rules: tuple[_Pattern, ...] = dataclasses.field(default=(), init=False, repr=False, compare=False)
    # consecutive rules of one polarity in one regex: (negate, regex), in rule order
    _groups: tuple[tuple[bool, re.Pattern[str]], ...] = dataclasses.field(default=(), init=False, repr=False, compare=False)
    _each: tuple[re.Pattern[str], ...] = dataclasses.field(default=(), init=False, repr=False, compare=False)
    _children: tuple[re.Pattern[str] | None, ...] = dataclasses.field(default=(), init=False, repr=False, compare=False)
    # the parts without `!` rules in one regex, and the other parts
    _simple: re.Pattern[str] | None = dataclasses.field(default=None, init=False, repr=False, compare=False)
    _others: tuple[Matcher, ...] = dataclasses.field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = tuple(r for r in (_parse(self.base, p) for p in self.patterns) if r is not None)
        groups: list[tuple[bool, re.Pattern[str]]] = []
        start = 0
        for i in range(1, len(rules) + 1):
            if i == len(rules) or rules[i].negate != rules[start].negate:
                groups.append((rules[start].negate, _compile(rules[start:i])))  # type: ignore[arg-type]
                start = i
        object.__setattr__(self, "_rules", rules)
        object.__setattr__(self, "_groups", tuple(groups))
        object.__setattr__(self, "_each", tuple(_compile([r]) for r in rules))
        object.__setattr__(self, "_children", tuple(r.every_child() for r in rules))
        simple = [p for p in self.parts if not p.parts and not any(r.negate for r in p._rules)]
        object.__setattr__(self, "_simple", _compile(r for p in simple for r in p._rules))
        object.__setattr__(self, "_others", tuple(p for p in self.parts if all(p is not q for q in simple)))

    @classmethod
    def of(cls, base: str, patterns: Iterable[str]) -> Matcher:
        return cls(posixpath.normpath(base), tuple(patterns))

    @classmethod
    def any_of(cls, *matchers: Matcher) -> Matcher:
        """A path matches when one of the matchers matches it."""
        parts: list[Matcher] = []
        for m in matchers:
            if m._rules:
                parts.append(dataclasses.replace(m, parts=()) if m.parts else m)
            parts.extend(m.parts)
        return cls("/", (), tuple(parts))

    @property
    def empty(self) -> bool:
        return not self._rules and all(p.empty for p in self.parts)

    def _last(self, path: str) -> int:
        """The index of the last own rule that matches `path` (or a parent of it); -1 for none."""
        for i in range(len(self._rules) - 1, -1, -1):
            if self._each[i].match(path):
                return i
        return -1

    def _own(self, path: str) -> bool:
        for negate, regex in reversed(self._groups):
            if regex.match(path):
                return not negate
        return False

    def matches(self, path: str) -> bool:
        """Whether the absolute `path` (or one of its parent folders) matches."""
        if self._own(path) or (self._simple is not None and self._simple.match(path)):
            return True
        return any(p.matches(path) for p in self._others)

    def covers(self, folder: str) -> bool:
        """Everything under the absolute `folder` matches, and no `!` rule can re-include any of it
        (conservative: False when unsure). The folder itself need not match (`node_modules/**`)."""
        if any(p.covers(folder) for p in self.parts):
            return True
        last = -1
        for i in range(len(self._rules) - 1, -1, -1):  # the last rule that matches all under the folder
            children = self._children[i]
            if self._each[i].match(folder) or (children is not None and children.match(folder)):
                last = i
                break
        if last < 0 or self._rules[last].negate:
            return False
        parts = _split(folder)
        return not any(r.negate and r.may_reach(parts) for r in self._rules[last + 1 :])

    def misses(self, folder: str) -> bool:
        """Nothing under the absolute `folder` (nor it) can match."""
        if not all(p.misses(folder) for p in self.parts):
            return False
        last = self._last(folder)
        if last >= 0 and not self._rules[last].negate:
            return False
        parts = _split(folder)
        return not any(not r.negate and r.may_reach(parts) for r in self._rules[last + 1 :])


ALWAYS_IGNORED = Matcher.of("/", GIT_PATTERNS + EDITOR_TEMP_PATTERNS)


def read_ignore_file(text: str) -> list[str]:
    """The patterns of a `.dockerignore` (moby's ignorefile.ReadAll): `#` comment lines, blank lines
    skipped, each pattern cleaned, a leading `/` meaning the context's root."""
    patterns = []
    for i, line in enumerate(text.splitlines()):
        if i == 0:
            line = line.removeprefix("\ufeff")
        if line.startswith("#"):
            continue
        line = line.strip()
        if not line:
            continue
        negate = line.startswith("!")
        if negate:
            line = line[1:].strip()
        if line:
            line = posixpath.normpath(line)
            if len(line) > 1 and line.startswith("/"):
                line = line[1:]
        patterns.append(("!" if negate else "") + line)
    return patterns


def dockerignore(service: Service) -> Matcher:
    """The build context's ignore file (`<Dockerfile>.dockerignore` first, as Compose), anchored at
    the context; an empty matcher without a local build context."""
    build = service.build or {}
    context = build.get("context")
    if not isinstance(context, str) or not os.path.isabs(context) or "://" in context or not os.path.isdir(context):
        return Matcher()
    candidates = []
    dockerfile = build.get("dockerfile")
    if isinstance(dockerfile, str) and dockerfile and not build.get("dockerfile_inline"):
        candidates.append(os.path.join(context, dockerfile) + ".dockerignore")
    candidates.append(os.path.join(context, ".dockerignore"))
    for candidate in candidates:
        try:
            with open(candidate, encoding="utf-8", errors="replace") as f:
                text = f.read()
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:
            raise UsageError(f"{candidate}: cannot read: {exc.strerror or exc}") from None
        return Matcher.of(context, read_ignore_file(text))
    return Matcher()


# -- rules


@dataclasses.dataclass(frozen=True)
class ExecHook:
    """develop.watch[].exec (Compose's service hook)."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: tuple[tuple[str, str], ...] = ()  # sorted (KEY, VALUE)


@dataclasses.dataclass(frozen=True)
class Rule:
    service: str
    index: int  # position in develop.watch (messages: services.web.develop.watch[2])
    action: str  # one of ACTIONS
    path: str  # absolute host path (folder or file)
    target: str | None  # absolute container path; None for rebuild and restart
    ignore: Matcher
    include: Matcher | None  # None: everything under path
    initial_sync: bool
    exec: ExecHook | None  # sync+exec only

    @property
    def syncs(self) -> bool:
        return self.action in SYNC_ACTIONS

    def wants(self, path: str) -> bool:
        """`path` (absolute) is under this rule's path, included and not ignored."""
        if not _under(path, self.path):
            return False
        if self.include is not None and not self.include.matches(path):
            return False
        return not self.ignore.matches(path)

    def container_path(self, path: str) -> str:
        """Where the host `path` (under this rule's path) lands in the container."""
        if self.target is None:
            raise ValueError(f"watch rule {self.service}[{self.index}] ({self.action}) has no target")
        if path == self.path:
            return self.target
        if not path.startswith(self.path.rstrip("/") + "/"):
            raise ValueError(f"{path} is not under {self.path}")
        return posixpath.join(self.target, path[len(self.path.rstrip("/")) + 1 :])

    def prunes(self, folder: str) -> bool:
        """This rule never needs the absolute `folder` walked or watched: outside its path, all
        ignored, or out of reach of its include."""
        if not _under(folder, self.path):
            return not _under(self.path, folder)  # an ancestor of the path is needed to reach it
        if self.ignore.covers(folder):
            return True
        return self.include is not None and self.include.misses(folder)


def _field(project: Project, service: str, index: int, field: str | None, message: str) -> Exception:
    path: tuple = ("services", service, "develop", "watch", index)
    return project.field_error(path + ((field,) if field else ()), message)


def _hook(project: Project, service: str, index: int, data: Mapping[str, Any] | None) -> ExecHook | None:
    if not data or not data.get("command"):
        return None
    command = data["command"]
    argv = tuple(shlex.split(command)) if isinstance(command, str) else tuple(str(c) for c in command)
    env: Mapping[str, Any] = data.get("environment") or {}
    if not isinstance(env, Mapping):  # a list of KEY=VALUE (the loader normally gives a mapping)
        env = {str(e).partition("=")[0]: (str(e).partition("=")[2] if "=" in str(e) else None) for e in env}
    # a KEY without a value takes the one interpolation saw; unset, it is left out (Compose drops it)
    pairs = []
    for key, value in env.items():
        if value is None:
            value = project.environment.get(key)
        if value is not None:
            pairs.append((str(key), str(value)))
    workdir = data.get("working_dir")
    if workdir is not None and not posixpath.isabs(str(workdir)):
        raise _field(project, service, index, "exec", f"working_dir {workdir!r} must be an absolute container path")
    return ExecHook(argv, data.get("user") or None, bool(data.get("privileged")), workdir or None, tuple(sorted(pairs)))


def _rule(project: Project, service: Service, index: int, trigger: Mapping[str, Any], ignores: Matcher) -> Rule:
    name = service.name
    action = trigger.get("action")
    if action not in ACTIONS:
        raise _field(project, name, index, "action", f"must be one of {', '.join(ACTIONS)}, not {action!r}")
    path = trigger.get("path")
    if not isinstance(path, str) or not path:
        raise _field(project, name, index, "path", "value can't be blank")
    path = posixpath.normpath(path if os.path.isabs(path) else os.path.join(project.working_dir, path))
    target = None
    if action in SYNC_ACTIONS:
        raw = trigger.get("target")
        if not raw:
            raise _field(project, name, index, None, "target is required for non-rebuild actions")
        if not posixpath.isabs(str(raw)):
            raise _field(project, name, index, "target", f"{raw!r} must be an absolute container path")
        target = posixpath.normpath(str(raw))
    if action == "rebuild" and service.build is None:
        raise _field(project, name, index, "action", f"can't watch service \"{name}\" with action rebuild without a build context")
    hook = None
    if action == "sync+exec":
        hook = _hook(project, name, index, trigger.get("exec"))
        if hook is None:
            raise _field(project, name, index, "exec", f"can't watch with action \"sync+exec\" on service {name} without a command")
    include = trigger.get("include") or ()
    initial = bool(trigger.get("initial_sync")) and action in SYNC_ACTIONS
    return Rule(
        service=name,
        index=index,
        action=action,
        path=path,
        target=target,
        ignore=Matcher.any_of(ignores, Matcher.of(path, trigger.get("ignore") or ())),
        include=Matcher.of(path, include) if include else None,
        initial_sync=initial,
        exec=hook,
    )


def rules_of(project: Project, services: Sequence[str] = ()) -> tuple[Rule, ...]:
    """The watch rules of the selected services (all enabled services when none), in order."""
    names = list(dict.fromkeys(services)) or list(project.services)
    rules: list[Rule] = []
    for name in names:
        service = project.services.get(name) or project.disabled_services.get(name)
        if service is None:
            raise UsageError(f"no such service: {name}")
        triggers = (service.get("develop") or {}).get("watch") or ()
        if not triggers:
            continue
        ignores = Matcher.any_of(dockerignore(service), ALWAYS_IGNORED)
        rules.extend(_rule(project, service, i, t, ignores) for i, t in enumerate(triggers))
    if not rules:
        raise UsageError(NOT_CONFIGURED)
    return tuple(rules)


def bind_mounted(service: Service, rule: Rule) -> str | None:
    """The bind mount source that already covers a sync rule's path (Compose warns and does not
    watch such a path); None when there is none."""
    if not rule.syncs:
        return None
    for mount in service.get("volumes") or ():
        source = mount.get("source")
        if mount.get("type") == "bind" and isinstance(source, str) and _under(rule.path, posixpath.normpath(source)):
            return source
    return None


# -- a batch of changes


@dataclasses.dataclass(frozen=True)
class HostEntry:
    """What the host has at a path now."""

    kind: str  # file | dir | link
    size: int
    mtime: float  # seconds
    mode: int  # permission bits (stat.S_IMODE)
    link: str | None = None  # symlink target


@dataclasses.dataclass(frozen=True)
class Copy:
    host: str
    container: str
    entry: HostEntry


@dataclasses.dataclass(frozen=True)
class SyncStep:
    service: str
    copies: tuple[Copy, ...]  # files, links and folders (a folder: itself only), sorted by container path
    deletes: tuple[str, ...]  # container paths (rm -rf), none under another one, sorted

    @property
    def files(self) -> int:
        return sum(1 for c in self.copies if c.entry.kind != "dir") + len(self.deletes)

    @property
    def size(self) -> int:
        return sum(c.entry.size for c in self.copies if c.entry.kind == "file")


@dataclasses.dataclass(frozen=True)
class WatchPlan:
    replan: bool  # a Compose file or env file changed: reload, apply like `up`
    rebuild: tuple[str, ...]  # services to build and recreate (no deps), sorted
    syncs: tuple[SyncStep, ...]  # one per service with copies or deletes, sorted by service
    restarts: tuple[str, ...]  # services restarted after their sync
    execs: tuple[tuple[str, ExecHook], ...]  # run after their service's sync, each rule's hook once
    ignored: int  # touched paths no rule wanted

    @property
    def empty(self) -> bool:
        return not (self.replan or self.rebuild or self.syncs or self.restarts or self.execs)


def outermost(paths: Iterable[str]) -> tuple[str, ...]:
    """The paths, sorted, without those under another one."""
    unique = set(paths)
    kept = []
    for path in sorted(unique):
        parent = posixpath.dirname(path)
        while parent not in unique and parent != posixpath.dirname(parent):
            parent = posixpath.dirname(parent)
        if parent not in unique or parent == path:
            kept.append(path)
    return tuple(kept)


def _step(service: str, copies: Mapping[str, Copy], deletes: Iterable[str]) -> SyncStep:
    gone = outermost(d for d in deletes if d not in copies)
    return SyncStep(service, tuple(copies[c] for c in sorted(copies)), gone)


def plan_batch(
    rules: Sequence[Rule], changes: Mapping[str, HostEntry | None], manifest_files: Collection[str] = ()
) -> WatchPlan:
    """What a batch of touched host paths asks for. `changes`: every touched absolute path -> what is
    there now (None: gone); files under a new folder are in it too (the caller walks)."""
    manifests = {posixpath.normpath(f) for f in manifest_files}
    replan = False
    rebuild: set[str] = set()
    restarts: set[str] = set()
    copies: dict[str, dict[str, Copy]] = {}
    deletes: dict[str, set[str]] = {}
    hooks: dict[tuple[str, int], ExecHook] = {}
    ignored = 0
    for path in sorted(changes):
        entry = changes[path]
        wanted = path in manifests
        replan = replan or wanted
        for rule in rules:
            if not rule.wants(path):
                continue
            wanted = True
            if rule.action == "rebuild":
                rebuild.add(rule.service)
                continue
            if rule.action in ("restart", "sync+restart"):
                restarts.add(rule.service)
            if rule.action == "sync+exec" and rule.exec is not None:
                hooks[(rule.service, rule.index)] = rule.exec
            if rule.action in SYNC_ACTIONS:
                container = rule.container_path(path)
                if entry is None:
                    deletes.setdefault(rule.service, set()).add(container)
                else:
                    copies.setdefault(rule.service, {})[container] = Copy(path, container, entry)
        if not wanted:
            ignored += 1
    services = sorted((set(copies) | set(deletes)) - rebuild)
    syncs = tuple(s for s in (_step(name, copies.get(name, {}), deletes.get(name, ())) for name in services) if s.copies or s.deletes)
    return WatchPlan(
        replan=replan,
        rebuild=tuple(sorted(rebuild)),
        syncs=syncs,
        restarts=tuple(sorted(restarts - rebuild)),
        execs=tuple((service, hooks[(service, i)]) for service, i in sorted(hooks) if service not in rebuild),
        ignored=ignored,
    )


# -- the initial sync


@dataclasses.dataclass(frozen=True)
class ContainerEntry:
    """What the container has at a path (read from a get_archive tar)."""

    kind: str  # file | dir | link
    size: int
    mtime: int  # whole seconds (tar headers)
    mode: int
    uid: int
    gid: int
    sha256: str | None = None  # files only
    link: str | None = None


@dataclasses.dataclass(frozen=True)
class InitialSync:
    step: SyncStep
    unchanged: int  # files already equal in the container
    only_in_container: int  # files under target the host does not have: kept, only counted


def _differs(host: HostEntry, theirs: ContainerEntry | None, sha256: Callable[[], str]) -> bool:
    if theirs is None or theirs.kind != host.kind:
        return True
    if host.kind == "link":
        return theirs.link != host.link
    if host.kind != "file":
        return False
    if theirs.size != host.size:
        return True
    if int(host.mtime) == theirs.mtime:
        return False
    return theirs.sha256 is None or sha256() != theirs.sha256


def plan_initial_sync(
    rule: Rule, host: Mapping[str, HostEntry], container: Mapping[str, ContainerEntry], host_sha256: Callable[[str], str]
) -> InitialSync:
    """What to send so that the container has the rule's files: `host` (absolute host path -> entry,
    what the rule wants under its path), `container` (absolute container path -> entry under the
    target). Only what differs is sent; nothing is deleted."""
    copies: dict[str, Copy] = {}
    unchanged = 0
    seen: set[str] = set()
    for path in sorted(host):
        entry = host[path]
        target = rule.container_path(path)
        seen.add(target)
        if _differs(entry, container.get(target), functools.partial(host_sha256, path)):
            copies[target] = Copy(path, target, entry)
        elif entry.kind != "dir":
            unchanged += 1
    extra = sum(1 for p, e in container.items() if e.kind != "dir" and p not in seen)
    return InitialSync(_step(rule.service, copies, ()), unchanged, extra)


def sync_line(service: str, files: int, size: int, seconds: float) -> str:
    """`web: synced 3 files (12.4 kB) in 48 ms`."""
    from devenv.plan.shipping import human_size

    noun = "file" if files == 1 else "files"
    took = f"{round(seconds * 1000)} ms" if seconds < 10 else f"{seconds:.1f} s"
    return f"{service}: synced {files:,} {noun} ({human_size(size)}) in {took}"
