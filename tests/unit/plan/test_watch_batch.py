"""`devenv watch` planned per batch (plan/watch.py plan_batch): touched host paths -> syncs (copies
and deletes), restarts, exec hooks, rebuilds and replans."""

from __future__ import annotations

from collections.abc import Sequence

from devenv.plan.watch import (
    ALWAYS_IGNORED,
    Copy,
    ExecHook,
    HostEntry,
    Matcher,
    Rule,
    SyncStep,
    WatchPlan,
    outermost,
    plan_batch,
)

SRC = "/p/src"
FILE = HostEntry("file", 10, 1700000000.5, 0o644)
BIG = HostEntry("file", 1000, 1700000000.5, 0o755)
DIR = HostEntry("dir", 4096, 1700000000.0, 0o755)
LINK = HostEntry("link", 5, 1700000000.0, 0o777, link="a.py")
HUP = ExecHook(("kill", "-HUP", "1"))
TOUCH = ExecHook(("touch", "/tmp/reloaded"), user="app", environment=(("A", "1"),))


def rule(
    action: str = "sync",
    path: str = SRC,
    target: str | None = "/app",
    *,
    service: str = "web",
    index: int = 0,
    ignore: Sequence[str] = (),
    include: Sequence[str] = (),
    hook: ExecHook | None = None,
) -> Rule:
    return Rule(
        service=service,
        index=index,
        action=action,
        path=path,
        target=target if action in ("sync", "sync+restart", "sync+exec") else None,
        ignore=Matcher.any_of(ALWAYS_IGNORED, Matcher.of(path, ignore)),
        include=Matcher.of(path, include) if include else None,
        initial_sync=False,
        exec=hook,
    )


def test_a_saved_file_is_one_copy() -> None:
    plan = plan_batch([rule()], {f"{SRC}/a.py": FILE})
    assert plan == WatchPlan(
        replan=False, rebuild=(), syncs=(SyncStep("web", (Copy(f"{SRC}/a.py", "/app/a.py", FILE),), ()),),
        restarts=(), execs=(), ignored=0,
    )
    assert plan.syncs[0].files == 1 and plan.syncs[0].size == 10
    assert not plan.empty


def test_nothing_wanted_is_counted_and_empty() -> None:
    plan = plan_batch([rule(ignore=["tmp"])], {f"{SRC}/.git/index": FILE, f"{SRC}/.a.py.swp": FILE, f"{SRC}/tmp/x": None,
                                               "/elsewhere/x": FILE, f"{SRC}/a.py~": FILE})
    assert plan.empty and plan.ignored == 5
    assert plan_batch([rule()], {}).empty


def test_a_new_folder_with_files_copies_folder_entries_and_files_sorted() -> None:
    changes = {f"{SRC}/pkg/b.py": BIG, f"{SRC}/pkg": DIR, f"{SRC}/pkg/sub": DIR, f"{SRC}/pkg/sub/c.py": FILE,
               f"{SRC}/pkg/l": LINK, f"{SRC}/pkg-a.py": FILE}
    step = plan_batch([rule()], changes).syncs[0]
    assert [c.container for c in step.copies] == sorted(c.container for c in step.copies)
    assert [c.container for c in step.copies] == ["/app/pkg", "/app/pkg-a.py", "/app/pkg/b.py", "/app/pkg/l", "/app/pkg/sub", "/app/pkg/sub/c.py"]
    assert step.files == 4  # folders are not counted; the link is
    assert step.size == 1020  # files only, not links or folders


def test_deletes_are_outermost_and_sorted() -> None:
    changes = {f"{SRC}/old": None, f"{SRC}/old/a.py": None, f"{SRC}/old/deep/b.py": None, f"{SRC}/old-x": None,
               f"{SRC}/z.py": None, f"{SRC}/b.py": None}
    step = plan_batch([rule()], changes).syncs[0]
    assert step.deletes == ("/app/b.py", "/app/old", "/app/old-x", "/app/z.py")
    assert step.copies == ()
    assert step.files == 4 and step.size == 0


def test_outermost() -> None:
    assert outermost(["/a/b", "/a", "/a-b", "/a-b/c", "/ab", "/a/b/c", "/a"]) == ("/a", "/a-b", "/ab")
    assert outermost([]) == ()
    assert outermost(["/", "/x"]) == ("/",)


def test_a_rename_is_a_delete_and_a_copy() -> None:
    step = plan_batch([rule()], {f"{SRC}/old.py": None, f"{SRC}/new.py": FILE}).syncs[0]
    assert step.deletes == ("/app/old.py",)
    assert [c.container for c in step.copies] == ["/app/new.py"]
    assert step.files == 2


def test_a_copy_wins_over_a_delete_of_the_same_container_path() -> None:
    rules = [rule(path="/p/a", target="/app/x", index=0), rule(path="/p/b", target="/app/x", index=1)]
    step = plan_batch(rules, {"/p/a/f": None, "/p/b/f": FILE}).syncs[0]
    assert step.deletes == () and [c.host for c in step.copies] == ["/p/b/f"]


def test_a_file_rule_maps_to_its_target() -> None:
    step = plan_batch([rule(path="/p/app.conf", target="/etc/app.conf")], {"/p/app.conf": FILE, "/p/app.conf.bak": FILE})
    assert step.syncs[0].copies == (Copy("/p/app.conf", "/etc/app.conf", FILE),)
    assert step.ignored == 1


def test_include_and_ignore() -> None:
    r = rule(include=["*.py", "lib"], ignore=["lib/gen"])
    plan = plan_batch([r], {f"{SRC}/a.py": FILE, f"{SRC}/a.txt": FILE, f"{SRC}/lib/x.txt": FILE, f"{SRC}/lib/gen/y": FILE})
    assert [c.host for c in plan.syncs[0].copies] == [f"{SRC}/a.py", f"{SRC}/lib/x.txt"]
    assert plan.ignored == 2


def test_services_get_one_step_each_sorted() -> None:
    rules = [rule(service="worker", target="/w"), rule(service="api", target="/a"), rule(service="web", path="/p/other")]
    plan = plan_batch(rules, {f"{SRC}/a.py": FILE})
    assert [(s.service, s.copies[0].container) for s in plan.syncs] == [("api", "/a/a.py"), ("worker", "/w/a.py")]


def test_restart_actions() -> None:
    rules = [rule("sync+restart", service="web"), rule("restart", path="/p/conf", service="api"), rule(service="db", path="/p/db")]
    plan = plan_batch(rules, {f"{SRC}/gone.py": None, "/p/conf/x": FILE, "/p/db/x": FILE})
    assert plan.restarts == ("api", "web")  # a delete restarts too
    assert [s.service for s in plan.syncs] == ["db", "web"]  # a restart rule syncs nothing


def test_exec_hooks_run_once_per_batch_in_rule_order() -> None:
    rules = [rule("sync+exec", hook=TOUCH, index=2, path="/p/b", target="/b"), rule("sync+exec", hook=HUP, index=0),
             rule("sync+exec", hook=HUP, index=1, service="api")]
    changes = {f"{SRC}/{i}.py": FILE for i in range(20)} | {"/p/b/x": None}
    plan = plan_batch(rules, changes)
    assert plan.execs == (("api", HUP), ("web", HUP), ("web", TOUCH))
    assert plan.restarts == ()
    assert plan_batch(rules, {"/p/other": FILE}).execs == ()


def test_a_rebuild_suppresses_the_services_sync_restart_and_exec() -> None:
    rules = [
        rule("rebuild", path="/p/package.json", index=0),
        rule("sync+exec", hook=HUP, index=1),
        rule("sync+restart", path="/p/conf", target="/etc/app", index=2),
        rule("sync+restart", service="api", target="/api"),
    ]
    plan = plan_batch(rules, {"/p/package.json": FILE, f"{SRC}/a.py": FILE, "/p/conf/c": FILE})
    assert plan.rebuild == ("web",)
    assert [s.service for s in plan.syncs] == ["api"]
    assert plan.restarts == ("api",) and plan.execs == ()
    # without the rebuild trigger, the same rules sync, restart and exec
    plan = plan_batch(rules, {f"{SRC}/a.py": FILE, "/p/conf/c": FILE})
    assert plan.rebuild == () and [s.service for s in plan.syncs] == ["api", "web"]
    assert plan.restarts == ("api", "web") and plan.execs == (("web", HUP),)


def test_rebuilds_are_sorted_and_deduplicated() -> None:
    rules = [rule("rebuild", path="/p", service="b", index=0), rule("rebuild", path="/p", service="a", index=1),
             rule("rebuild", path="/p/x", service="a", index=2)]
    assert plan_batch(rules, {"/p/x/1": FILE, "/p/x/2": None}).rebuild == ("a", "b")


def test_manifest_files_replan() -> None:
    plan = plan_batch([rule()], {"/p/compose.yaml": FILE, "/p/.env": None}, ["/p/compose.yaml", "/p/.env", "/p/other.env"])
    assert plan.replan and plan.ignored == 0 and plan.syncs == ()
    assert not plan.empty
    # a manifest file a sync rule also wants: both
    plan = plan_batch([rule(path="/p")], {"/p/compose.yaml": FILE}, ["/p/compose.yaml"])
    assert plan.replan and plan.syncs[0].copies[0].container == "/app/compose.yaml"
    assert not plan_batch([rule()], {"/p/x.env": FILE}, ["/p/.env"]).replan


def test_the_rule_folder_itself_and_its_removal() -> None:
    plan = plan_batch([rule()], {SRC: None, f"{SRC}/a.py": None})
    assert plan.syncs[0].deletes == ("/app",)
    plan = plan_batch([rule()], {SRC: DIR})
    assert plan.syncs[0].copies == (Copy(SRC, "/app", DIR),) and plan.syncs[0].files == 0


def test_order_of_changes_does_not_matter() -> None:
    rules = [rule("sync+exec", hook=HUP), rule("sync", service="api", target="/a")]
    changes = {f"{SRC}/{name}": (None if i % 3 == 0 else FILE) for i, name in enumerate(["c", "a", "b/x", "b", "d"])}
    reverse = dict(reversed(list(changes.items())))
    assert plan_batch(rules, changes) == plan_batch(rules, reverse)
