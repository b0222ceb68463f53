"""`devenv lock` and `up --frozen` planned (pure): entries, stale rules, stability, --update scope,
`pushed` kept, the frozen transform and its refusals."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from devenv import lockfile
from devenv.lockfile import Base, LockFile, ServiceLock
from devenv.model import Project
from devenv.plan import frozen, locking
from devenv.plan.composehash import service_hash
from devenv.plan.locking import BuildFacts, StageBase

HERE = "linux/amd64"
DA, DB = "sha256:" + "a" * 64, "sha256:" + "b" * 64
IA, IB = "sha256:" + "1" * 64, "sha256:" + "2" * 64
INPUTS = "sha256:" + "c" * 64
REF = "127.0.0.1:5000/x/db:1"
BASE = "127.0.0.1:5000/x/base:1"


@dataclasses.dataclass(frozen=True)
class Found:
    id: str | None = None
    digest: str | None = None
    platform_digest: str | None = None


def project(**services: dict[str, Any]) -> Project:
    return Project.from_dict({"name": "demo", "services": services}, working_dir="/nowhere")


def default_project(level: str = "info") -> Project:
    return project(
        db={"image": REF, "environment": {"LEVEL": level}},
        app={"build": {"context": "/nowhere/app", "dockerfile": "Dockerfile"}, "command": ["run"]},
    )


def app_facts(inputs: str = INPUTS) -> BuildFacts:
    return BuildFacts(inputs, (StageBase("builder", BASE), StageBase("1", "devenv/busybox:latest")), (0, 2))


def images(db: Found = Found(IA, DA, DA), base: Found = Found(IB, DB, DB)) -> dict:
    return {(REF, HERE): db, (BASE, HERE): base, ("devenv/busybox:latest", HERE): Found(IB)}


def entries(p: Project, found: dict | None = None, inputs: str = INPUTS) -> dict[str, ServiceLock]:
    found = images() if found is None else found
    facts = {"app": app_facts(inputs)}
    return {name: locking.desired_entry(p, s, HERE, found, facts.get(name), built_image=Found(IA)) for name, s in p.services.items()}


def lock_of(p: Project, found: dict | None = None) -> LockFile:
    return locking.merged(None, p, entries(p, found))


def test_desired_entries() -> None:
    p = default_project()
    got = entries(p)
    assert got["db"].image == REF and (got["db"].digest, got["db"].id, got["db"].platform_digest) == (DA, IA, DA)
    assert got["db"].config_hash == service_hash(p.services["db"]) and got["db"].platform == HERE
    assert got["db"].declared["environment"] == {"LEVEL": "info"}
    app = got["app"]
    assert app.image == "demo-app" and app.build_inputs == INPUTS and app.digest is None
    assert app.bases == (Base("builder", BASE, None, DB, IB), Base("1", "devenv/busybox:latest", None, None, IB))
    assert locking.references(p, p.services["app"], HERE, app_facts()) == [(BASE, HERE), ("devenv/busybox:latest", HERE)]


def test_lock_bytes_stable_and_sorted(tmp_path: Any) -> None:
    path = str(tmp_path / "devenv.lock")
    assert lockfile.write(path, lock_of(default_project()))
    first = (tmp_path / "devenv.lock").read_bytes()
    # the same facts gathered in another order give the same bytes, and write says unchanged
    reordered = project(app=dict(default_project().services["app"].config), db=dict(default_project().services["db"].config))
    assert not lockfile.write(path, lock_of(reordered))
    assert (tmp_path / "devenv.lock").read_bytes() == first
    assert lockfile.read(path) == lock_of(default_project())
    assert first.index(b'"app"') < first.index(b'"db"')


def test_up_to_date_lock_has_no_stale_entry() -> None:
    p = default_project()
    assert locking.compare(lock_of(p), entries(p), p) == []


def test_stale_rules() -> None:
    p = default_project()
    lock = lock_of(p)
    changed = default_project(level="debug")
    assert [str(s) for s in locking.compare(lock, entries(changed), changed)] == ["db: config changed"]
    moved = entries(p, images(db=Found(IB, DB, DB)))
    (stale,) = locking.compare(lock, moved, p)
    assert str(stale) == f"db: tag {REF} moved: locked sha256:aaaaaaaaaaaa…, now sha256:bbbbbbbbbbbb…"
    base_moved = entries(p, images(base=Found(IA, DA, DA)))
    (stale,) = locking.compare(lock, base_moved, p)
    assert str(stale) == f"app: base {BASE} (stage builder) moved: locked sha256:bbbbbbbbbbbb…, now sha256:aaaaaaaaaaaa…"
    assert [str(s) for s in locking.compare(lock, entries(p, inputs="sha256:" + "d" * 64), p)] == ["app: build inputs changed"]


def test_not_locked_and_gone() -> None:
    p = default_project()
    lock = lock_of(p)
    bigger = project(**{n: dict(s.config) for n, s in p.services.items()}, cache={"image": "devenv/busybox:latest"})
    found = {**images(), ("devenv/busybox:latest", HERE): Found(IB)}
    assert "cache: not locked" in [str(s) for s in locking.compare(lock, entries(bigger, found), bigger)]
    smaller = project(db=dict(p.services["db"].config))
    assert [str(s) for s in locking.compare(lock, entries(smaller), smaller)] == ["app: locked but no longer in the project"]


def test_unknown_values_are_not_held_against_the_lock() -> None:
    # offline / registry unreachable: no digest learnt; the same local ID is no change
    p = default_project()
    offline = entries(p, images(db=Found(IA), base=Found(IB)))
    assert locking.compare(lock_of(p), offline, p) == []
    other_local = entries(p, images(db=Found(IB)))
    assert [s.reason for s in locking.compare(lock_of(p), other_local, p)] == [
        f"image {REF} changed: locked id sha256:111111111111…, now sha256:222222222222…"]


def test_update_scope_keeps_other_entries() -> None:
    p = default_project()
    old = lock_of(p)
    changed = default_project(level="debug")
    only_app = {"app": entries(changed)["app"]}
    new = locking.merged(old, changed, only_app, only=["app"])
    assert new.services["db"] is old.services["db"]  # untouched: its bytes stay the same
    assert new.services["app"] == only_app["app"]
    assert locking.compare(new, {"db": entries(changed)["db"]}, changed, only=["db"])  # db still stale


def test_pushed_kept_while_the_image_id_is_unchanged() -> None:
    p = default_project()
    old = lock_of(p)
    app = dataclasses.replace(old.services["app"], pushed="127.0.0.1:5000/x/app:1", digest=DA)
    old = dataclasses.replace(old, services={**old.services, "app": app})
    again = locking.merged(old, p, entries(p))
    assert (again.services["app"].pushed, again.services["app"].digest) == ("127.0.0.1:5000/x/app:1", DA)
    rebuilt = {**entries(p), "app": dataclasses.replace(entries(p)["app"], id=IB)}
    assert locking.merged(old, p, rebuilt).services["app"].pushed is None
    unbuilt = {**entries(p), "app": dataclasses.replace(entries(p)["app"], id=None)}
    assert locking.merged(old, p, unbuilt).services["app"] == app  # up --frozen ran the pushed image: nothing built here
    changed = {**entries(p), "app": dataclasses.replace(entries(p)["app"], id=None, build_inputs="sha256:" + "e" * 64)}
    assert locking.merged(old, p, changed).services["app"].pushed is None


def test_quick_stale() -> None:
    p = default_project()
    lock = lock_of(p)
    assert locking.quick_stale(p, lock, ["db", "app"], {REF: {"Id": IA, "RepoDigests": []}}) == []
    assert locking.quick_stale(p, lock, ["db"], {REF: {"Id": IB, "RepoDigests": [f"127.0.0.1:5000/x/db@{DA}"]}}) == []
    (stale,) = locking.quick_stale(p, lock, ["db"], {REF: {"Id": IB, "RepoDigests": []}})
    assert stale.service == "db" and "not the locked one" in stale.reason
    changed = default_project(level="debug")
    assert [str(s) for s in locking.quick_stale(changed, lock, ["db"], {REF: None})] == ["db: config changed"]


# ---- up --frozen -------------------------------------------------------------------------------

DOCKERFILE = f"FROM {BASE} AS builder\nRUN make\nFROM builder\nFROM devenv/busybox:latest\nCOPY --from=builder /a /a\n"


def freeze(p: Project, lock: LockFile, inputs: str = INPUTS) -> frozen.Frozen:
    return frozen.freeze_project(p, lock, sorted(p.services), {"app": app_facts(inputs)}, {"app": DOCKERFILE})


def test_frozen_transform() -> None:
    p = default_project()
    result = freeze(p, lock_of(p))
    assert result.project.services["db"].image == f"127.0.0.1:5000/x/db@{DA}"
    app = result.project.services["app"].build
    assert app["dockerfile_inline"].splitlines()[0] == f"127.0.0.1:5000/x/base@{DB}".join(("FROM ", " AS builder"))
    assert app["dockerfile_inline"].splitlines()[2:4] == ["FROM builder", "FROM devenv/busybox:latest"]
    assert "dockerfile" not in app and app["context"] == "/nowhere/app"
    assert set(result.checks) == {
        frozen.Check("db", f"127.0.0.1:5000/x/db@{DA}", IA, pull=True),
        frozen.Check("app", f"127.0.0.1:5000/x/base@{DB}", IB, pull=True),
        frozen.Check("app", "devenv/busybox:latest", IB, pull=False),
    }
    assert result.builds == (frozen.BuiltCheck("app", "demo-app", IA),)
    assert p.services["db"].image == REF  # the model given is left as it was


def test_frozen_pushed_build_runs_the_pushed_digest() -> None:
    p = default_project()
    lock = lock_of(p)
    app = dataclasses.replace(lock.services["app"], pushed="127.0.0.1:5000/x/app:1", digest=DA)
    result = freeze(p, dataclasses.replace(lock, services={**lock.services, "app": app}))
    service = result.project.services["app"]
    assert service.image == f"127.0.0.1:5000/x/app@{DA}" and service.build is None
    assert frozen.Check("app", service.image, IA, pull=True) in result.checks and result.builds == ()


def test_frozen_refusals() -> None:
    p = default_project()
    lock = lock_of(p)
    with pytest.raises(frozen.FrozenRefused, match=r"^db: the lock pins config [0-9a-f]{12}… but the project now gives "
                                                   r"[0-9a-f]{12}…; run devenv lock --update db$"):
        freeze(default_project(level="debug"), lock)
    with pytest.raises(frozen.FrozenRefused, match=r"^app: the lock pins build inputs sha256:cccccccccccc… but the project now "
                                                   r"gives sha256:dddddddddddd…; run devenv lock --update app$"):
        freeze(p, lock, inputs="sha256:" + "d" * 64)
    partial = dataclasses.replace(lock, services={"app": lock.services["app"]})
    with pytest.raises(frozen.FrozenRefused, match=r"^db: no lock entry \(run devenv lock\)$"):
        freeze(p, partial)


def test_selected_follows_dependencies() -> None:
    p = project(web={"image": "w", "depends_on": {"db": {"condition": "service_started"}}}, db={"image": "d"}, other={"image": "o"})
    assert frozen.selected(p, ("web",)) == ["db", "web"]
    assert frozen.selected(p, ("web",), no_deps=True) == ["web"]
    assert frozen.selected(p, ()) == ["db", "other", "web"]


def test_pinned() -> None:
    assert frozen.pinned("127.0.0.1:5000/x/db:1", DA) == f"127.0.0.1:5000/x/db@{DA}"
    assert frozen.pinned("busybox", DA) == f"busybox@{DA}"
    assert frozen.pinned(f"busybox:1@{DB}", DA) == f"busybox@{DA}"
