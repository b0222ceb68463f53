"""The drift report's rules (plan/drift.py): normalizing, comparing field by field, images like
with like, what a side cannot know, allowed differences, and that secrets stay masked."""

from __future__ import annotations

import json

import pytest

from devenv.lockfile import Base, LockFile, ServiceLock
from devenv.plan import drift
from devenv.plan.declared import environment, secret_digest
from devenv.plan.drift import ImageFacts, ServiceFacts, Side

PASSWORD = "hunter2-unique-value"


def facts(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "image": "app:1", "command": None, "entrypoint": None, "environment": {"A": "1"},
        "ports": ["127.0.0.1:8080:80/tcp"], "volumes": ["volume:data:/data"], "healthcheck": None,
        "resources": {}, "secrets": {},
    }
    base.update(overrides)
    return base


def side(label: str = "L", unknown: tuple[str, ...] = (), image: ImageFacts | None = None, **services: dict[str, object]) -> Side:
    return Side(label, {name: ServiceFacts(f, image or ImageFacts()) for name, f in services.items()}, unknown=unknown)


def diffs(left: Side, right: Side, allowed: tuple[str, ...] = ()) -> list[tuple[str, str, object, object, bool]]:
    return [(d.service, d.field, d.left, d.right, d.allowed) for d in drift.compare(left, right, allowed).differences]


# ---------------------------------------------------------------- normalizing


@pytest.mark.parametrize(("entry", "expected"), [
    ("80/tcp", ("", "", "80/tcp")),
    ("8080:80/tcp", ("", "8080", "80/tcp")),
    ("127.0.0.1:8080:80/udp", ("127.0.0.1", "8080", "80/udp")),
    ("127.0.0.1:80/tcp", ("127.0.0.1", "", "80/tcp")),
    ("0.0.0.0::80/tcp", ("0.0.0.0", "", "80/tcp")),
    ("::1:8080:80/tcp", ("::1", "8080", "80/tcp")),
    ("8000-8001:80/tcp", ("", "8000-8001", "80/tcp")),
    ("80", ("", "", "80/tcp")),
])
def test_split_port(entry: str, expected: tuple[str, str, str]) -> None:
    assert drift.split_port(entry) == expected


def test_normalize_port_names_the_host() -> None:
    assert drift.normalize_port("8080:80/tcp", "127.0.0.1") == "127.0.0.1:8080:80/tcp"
    assert drift.normalize_port("80/tcp", "127.0.0.1") == "127.0.0.1::80/tcp"
    assert drift.normalize_port("10.0.0.1:8080:80/tcp", "127.0.0.1") == "10.0.0.1:8080:80/tcp"
    assert drift.normalize_port("8080:80/tcp", "") == "0.0.0.0:8080:80/tcp"


def test_normalize_resources_one_name_each() -> None:
    assert drift.normalize_resources({"limits.memory": "268435456", "limits.cpus": 0.25, "limits.pids": 10}) == {
        "cpus": 0.25, "memory": 268435456, "pids": 10}
    assert drift.normalize_resources({"mem_limit": "512m", "cpus": "1.0", "mem_reservation": "104857600"}) == {
        "cpus": 1, "memory": 512 * 1024 * 1024, "memory_reservation": 104857600}
    assert drift.normalize_resources({"reservations.cpus": "0.5", "cpuset": "0-1", "shm_size": "64m"}) == {
        "cpuset": "0-1", "reservations.cpus": "0.5", "shm_size": 64 * 1024 * 1024}


def test_normalize_healthcheck() -> None:
    assert drift.normalize_healthcheck(None) is None
    assert drift.normalize_healthcheck({}) is None
    assert drift.normalize_healthcheck({"disable": True, "test": ["CMD", "x"]}) == {"disable": True}
    assert drift.normalize_healthcheck({"test": "curl x", "interval": "90s", "retries": 0, "timeout": "0s"}) == {
        "interval": "1m30s", "test": ["CMD-SHELL", "curl x"]}
    assert drift.normalize_healthcheck({"test": ["CMD", "true"], "start_period": "1m0s", "retries": 3}) == {
        "retries": 3, "start_period": "1m0s", "test": ["CMD", "true"]}


def test_normalize_declared_facts() -> None:
    out = drift.normalize(facts(ports=["8080:80/tcp"], resources={"mem_limit": "1g"}, healthcheck={"test": "x", "interval": "60s"}), "127.0.0.1")
    assert out["ports"] == ["127.0.0.1:8080:80/tcp"]
    assert out["resources"] == {"memory": 1024**3}
    assert out["healthcheck"] == {"interval": "1m0s", "test": ["CMD-SHELL", "x"]}


# ---------------------------------------------------------------- declared configuration


def test_identical_sides_are_the_same() -> None:
    report = drift.compare(side(web=facts()), side("R", web=facts()))
    assert report.differences == () and report.same


def test_an_environment_value_differs() -> None:
    assert diffs(side(web=facts()), side("R", web=facts(environment={"A": "2"}))) == [("web", "environment.A", "1", "2", False)]


def test_an_environment_key_on_one_side_only() -> None:
    left = side(web=facts(environment={"A": "1", "B": "x"}))
    assert diffs(left, side("R", web=facts())) == [("web", "environment.B", "x", None, False)]
    assert diffs(side(web=facts()), left) == [("web", "environment.B", None, "x", False)]


def test_a_key_without_value_differs_from_a_missing_key() -> None:
    assert diffs(side(web=facts(environment={"A": "1", "B": None})), side("R", web=facts())) == [("web", "environment.B", drift.NO_VALUE, None, False)]


def test_secret_environment_values_never_shown() -> None:
    left = side(web=facts(environment=environment("web", {"DB_PASSWORD": PASSWORD})))
    right = side("R", web=facts(environment=environment("web", {"DB_PASSWORD": PASSWORD + "x"})))
    report = drift.compare(left, right)
    assert diffs(left, right) == [("web", "environment.DB_PASSWORD", drift.SECRET_DIFFERS, drift.SECRET_DIFFERS, False)]
    text = json.dumps(report.to_json()) + "\n".join("".join(r) for r in drift.table_rows(report))
    assert PASSWORD not in text and "pbkdf2" not in text
    same = side("R", web=facts(environment=environment("web", {"DB_PASSWORD": PASSWORD})))
    assert drift.compare(left, same).differences == ()


def test_secret_on_one_side_only() -> None:
    left = side(web=facts(environment=environment("web", {"API_TOKEN": PASSWORD})))
    assert diffs(left, side("R", web=facts(environment={}))) == [("web", "environment.API_TOKEN", drift.SECRET_DIFFERS, None, False)]
    assert diffs(left, side("R", web=facts(environment={"API_TOKEN": None}))) == [
        ("web", "environment.API_TOKEN", drift.SECRET_DIFFERS, drift.NO_VALUE, False)]


def test_file_secrets_compared_by_digest_and_masked() -> None:
    left = side(web=facts(secrets={"tok": secret_digest("a", "secrets:tok")}))
    right = side("R", web=facts(secrets={"tok": secret_digest("b", "secrets:tok")}))
    assert diffs(left, right) == [("web", "secrets.tok", drift.SECRET_DIFFERS, drift.SECRET_DIFFERS, False)]
    assert diffs(left, side("R", web=facts(secrets={"tok": "external"}))) == [
        ("web", "secrets.tok", drift.SECRET_DIFFERS, drift.SECRET_DIFFERS, False)]


def test_ports_and_volumes_show_what_is_on_one_side_only() -> None:
    left = side(web=facts(ports=["127.0.0.1:8080:80/tcp", "127.0.0.1:9000:90/tcp"], volumes=["volume:data:/data"]))
    right = side("R", web=facts(ports=["127.0.0.1:8081:80/tcp", "127.0.0.1:9000:90/tcp"], volumes=["volume:data:/data", "bind:/src:/src,ro"]))
    assert diffs(left, right) == [
        ("web", "ports", ["127.0.0.1:8080:80/tcp"], ["127.0.0.1:8081:80/tcp"], False),
        ("web", "volumes", None, ["bind:/src:/src,ro"], False),
    ]
    assert diffs(left, side("R", web=facts(ports=list(reversed(left.services["web"].declared["ports"])), volumes=["volume:data:/data"]))) == []  # type: ignore[index]


@pytest.mark.parametrize(("field", "left", "right"), [
    ("image", "app:1", "app:2"),
    ("command", ["a"], ["b"]),
    ("command", None, ["b"]),
    ("entrypoint", ["sh", "-c"], None),
    ("healthcheck", {"test": ["CMD", "true"]}, {"test": ["CMD", "false"]}),
])
def test_scalar_fields(field: str, left: object, right: object) -> None:
    assert diffs(side(web=facts(**{field: left})), side("R", web=facts(**{field: right}))) == [("web", field, left, right, False)]


def test_resources_key_by_key() -> None:
    left = side(web=facts(resources={"memory": 1, "cpus": 0.5}))
    right = side("R", web=facts(resources={"memory": 2, "cpus": 0.5, "pids": 10}))
    assert diffs(left, right) == [("web", "resources.memory", 1, 2, False), ("web", "resources.pids", None, 10, False)]


def test_a_field_one_side_does_not_know_is_not_compared() -> None:
    right = facts(environment={"A": "2"})
    del right["secrets"], right["environment"]
    assert diffs(side(web=facts(secrets={"s": "x"})), side("R", web=right)) == []


def test_unknown_declared_configuration_is_not_compared() -> None:
    left = side(web=facts())
    right = Side("R", {"web": ServiceFacts(None)})
    assert drift.compare(left, right).differences == ()


def test_unknown_patterns_of_a_side() -> None:
    left = side(web=facts(resources={"limits.devices": [1], "memory": 1}))
    right = side("R", unknown=("resources.limits.*",), web=facts(resources={"memory": 2}))
    assert diffs(left, right) == [("web", "resources.memory", 1, 2, False)]


def test_services_on_one_side_only() -> None:
    assert diffs(side(web=facts(), db=facts()), side("R", web=facts())) == [("db", "service", "present", None, False)]
    assert diffs(side(web=facts()), side("R", web=facts(), db=facts())) == [("db", "service", None, "present", False)]


# ---------------------------------------------------------------- images


def test_image_ids_compared_with_ids() -> None:
    assert drift.compare_images(ImageFacts(id="sha256:a"), ImageFacts(id="sha256:b")) == [("image.id", "sha256:a", "sha256:b")]
    assert drift.compare_images(ImageFacts(id="sha256:a"), ImageFacts(id="sha256:a")) == []
    assert drift.compare_images(ImageFacts(id="sha256:a"), ImageFacts()) == []


def test_lock_digests_compared_with_lock_digests() -> None:
    left = ImageFacts(digest="sha256:1", platform_digest="sha256:p1")
    assert drift.compare_images(left, ImageFacts(digest="sha256:2", platform_digest="sha256:p1")) == [("image.digest", "sha256:1", "sha256:2")]
    assert drift.compare_images(left, ImageFacts(digest="sha256:1", platform_digest="sha256:p2")) == [
        ("image.platform_digest", "sha256:p1", "sha256:p2")]
    assert drift.compare_images(left, ImageFacts(digest=None)) == []


def test_lock_digest_against_engine_repo_digests() -> None:
    engine = ImageFacts(id="sha256:i", repo_digests=("reg/app@sha256:1", "other/app@sha256:9"))
    assert drift.compare_images(ImageFacts(digest="sha256:1"), engine) == []
    assert drift.compare_images(ImageFacts(digest="sha256:x", platform_digest="sha256:9"), engine) == []
    assert drift.compare_images(ImageFacts(digest="sha256:2"), engine) == [("image.digest", "sha256:2", "sha256:1, sha256:9")]
    assert drift.compare_images(engine, ImageFacts(digest="sha256:2")) == [("image.digest", "sha256:1, sha256:9", "sha256:2")]
    assert drift.compare_images(ImageFacts(digest="sha256:2"), ImageFacts(repo_digests=())) == [("image.digest", "sha256:2", None)]
    assert drift.compare_images(ImageFacts(), engine) == []  # no lock digest: nothing to compare


def test_two_engines_compare_repo_digests() -> None:
    assert drift.compare_images(ImageFacts(repo_digests=("a@sha256:1",)), ImageFacts(repo_digests=("b@sha256:1",))) == []
    assert drift.compare_images(ImageFacts(repo_digests=("a@sha256:1",)), ImageFacts(repo_digests=())) == [("image.digest", "sha256:1", None)]


def test_bases_compared_stage_by_stage() -> None:
    left = ImageFacts(bases=(("build", "python:3@sha256:1"), ("1", "busybox@sha256:2")))
    assert drift.compare_images(left, ImageFacts(bases=(("build", "python:3@sha256:3"),))) == [
        ("build.bases.1", "busybox@sha256:2", None), ("build.bases.build", "python:3@sha256:1", "python:3@sha256:3")]
    assert drift.compare_images(left, ImageFacts(bases=left.bases)) == []
    assert drift.compare_images(left, ImageFacts()) == []


def test_image_differences_in_the_report() -> None:
    left = side(web=facts(), image=ImageFacts(id="sha256:a"))
    right = side("R", web=facts(), image=ImageFacts(id="sha256:b"))
    assert diffs(left, right) == [("web", "image.id", "sha256:a", "sha256:b", False)]
    assert diffs(left, side("R", unknown=("image.*",), web=facts(), image=ImageFacts(id="sha256:b"))) == []


# ---------------------------------------------------------------- allowed differences


@pytest.mark.parametrize(("patterns", "path", "allowed"), [
    (("web.ports",), "web.ports", True),
    (("web.ports",), "db.ports", False),
    (("*.ports",), "db.ports", True),
    (("*.environment.LOG_LEVEL",), "web.environment.LOG_LEVEL", True),
    (("*.environment.LOG_LEVEL",), "web.environment.LOG", False),
    (("web.environment",), "web.environment.ANY", True),
    (("web.environment.LOG_*",), "web.environment.LOG_LEVEL", True),
    (("web.image",), "web.image.id", True),
    (("web.env",), "web.environment.A", False),
    ((), "web.ports", False),
    (("WEB.ports",), "web.ports", False),
])
def test_allowed_patterns(patterns: tuple[str, ...], path: str, allowed: bool) -> None:
    assert drift.matches(patterns, path) is allowed


def test_allowed_differences_are_marked_and_the_sides_are_the_same() -> None:
    left = side(web=facts(environment={"A": "1", "LOG_LEVEL": "debug"}, ports=["127.0.0.1:9229:9229/tcp"]))
    right = side("R", web=facts(environment={"A": "1", "LOG_LEVEL": "info"}, ports=[]))
    report = drift.compare(left, right, ("*.environment.LOG_LEVEL", "web.ports"))
    assert [(d.field, d.allowed) for d in report.differences] == [("environment.LOG_LEVEL", True), ("ports", True)]
    assert report.same
    assert drift.summary(report).startswith("same:")
    report = drift.compare(left, right, ("web.ports",))
    assert not report.same
    assert drift.summary(report) == "different: L and R differ in 1 place, 1 allowed"


# ---------------------------------------------------------------- sides from a model or a lock


def test_project_side_takes_digests_from_the_lock() -> None:
    lock = LockFile("p", None, {"web": ServiceLock("app:1", digest="sha256:d", id="sha256:i", bases=(Base("0", "busybox", digest="sha256:b"),))})
    s = drift.project_side("env default", {"web": facts(ports=["8080:80/tcp"])}, lock, "127.0.0.1", "devenv.lock")
    assert s.services["web"].image == ImageFacts(id="sha256:i", digest="sha256:d", bases=(("0", "busybox@sha256:b"),))
    assert s.services["web"].declared["ports"] == ["127.0.0.1:8080:80/tcp"]  # type: ignore[index]
    assert s.notes == ()
    without = drift.project_side("env prod", {"web": facts()}, None, "127.0.0.1", "devenv.prod.lock")
    assert without.services["web"].image == ImageFacts()
    assert without.notes == ("env prod: no lock file devenv.prod.lock: image digests not compared",)


def test_bases_without_a_digest_compare_by_image_id() -> None:
    lock = LockFile("p", None, {"side": ServiceLock("s", bases=(Base("0", "busybox", id="sha256:i"), Base("b", "x")))})
    assert drift.lock_side("l", lock, "").services["side"].image.bases == (("0", "busybox (id sha256:i)"), ("b", "x"))


def test_lock_side() -> None:
    lock = LockFile("p", None, {"web": ServiceLock("app:1", id="sha256:i", declared=facts(ports=["80/tcp"])), "db": ServiceLock("db:1")})
    s = drift.lock_side("lock x", lock, "127.0.0.1")
    assert s.services["web"].declared["ports"] == ["127.0.0.1::80/tcp"]  # type: ignore[index]
    assert s.services["db"].declared is None
    assert s.notes == ("lock x: no declared configuration for db: not compared",)


# ---------------------------------------------------------------- showing


def test_shown_values() -> None:
    assert drift.shown(None) == "-"
    assert drift.shown(["a", "b"]) == "a, b"
    assert drift.shown({"b": 1, "a": [2]}) == '{"a":[2],"b":1}'
    assert drift.shown("a\nb\tc") == "a\\nb\\tc"
    long = drift.shown("x" * 30 + "y" * 30, width=21)
    assert len(long) == 21 and long.startswith("x" * 10) and long.endswith("y" * 10) and "…" in long


def test_table_and_summary() -> None:
    report = drift.compare(side(web=facts()), side("R", web=facts(environment={"A": "2"})))
    assert drift.table_rows(report) == [["SERVICE", "FIELD", "LEFT", "RIGHT", "ALLOWED"], ["web", "environment.A", "1", "2", "no"]]
    assert drift.summary(report) == "different: L and R differ in 1 place"
    assert drift.summary(drift.compare(side(), side("R"))) == "same: L and R do not differ"
    data = report.to_json()
    assert data["same"] is False and data["differences"] == [
        {"service": "web", "field": "environment.A", "left": "1", "right": "2", "allowed": False}]


def test_report_order_follows_the_fields() -> None:
    left = side(web=facts(environment={"A": "1"}, image="a"), db=facts())
    right = side("R", web=facts(environment={"A": "2"}, image="b", command=["x"]))
    assert [(d.service, d.field) for d in drift.compare(left, right).differences] == [
        ("db", "service"), ("web", "image"), ("web", "command"), ("web", "environment.A")]
