"""`devenv doctor`'s verdicts (plan/doctor.py): each check's status, detail and one-line remedy
from observed facts; `fail` only for what blocks `up`; the JSON and table shapes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan import doctor as d

GB = 1 << 30


def test_engine_unreachable_fails_with_a_remedy() -> None:
    check = d.engine_check(d.EngineFacts("", error="cannot reach the Docker engine at unix:///x: connection refused"))
    assert (check.name, check.status) == ("engine", d.FAIL)
    assert "connection refused" in check.detail
    assert check.remedy and "\n" not in check.remedy and "DOCKER_HOST" in check.remedy


def test_engine_versions_and_api() -> None:
    ok = d.engine_check(d.EngineFacts("unix:///s (the default socket)", server_version="20.10.24", api_version="1.41"))
    assert ok.status == d.OK and "Docker 20.10.24, API 1.41" in ok.detail and ok.remedy is None
    newer = d.engine_check(d.EngineFacts("x", server_version="24.0.7", api_version="1.43"))
    assert newer.status == d.OK
    old = d.engine_check(d.EngineFacts("x", server_version="19.03.1", api_version="1.40"))
    assert old.status == d.FAIL and "older than the API 1.41" in old.detail and "upgrade" in (old.remedy or "")
    # numeric, not string, comparison: 1.9 < 1.41
    assert d.engine_check(d.EngineFacts("x", api_version="1.9")).status == d.FAIL


def test_buildkit() -> None:
    assert d.buildkit_check("buildx", "BuildKit through buildx (docker 24)").status == d.OK
    assert d.buildkit_check("buildkit", "BuildKit through the docker CLI").status == d.OK
    classic = d.buildkit_check("classic")
    assert classic.status == d.WARN and "classic builder" in classic.detail and "buildx" in (classic.remedy or "")
    bad = d.buildkit_check("", error="DEVENV_BUILDER='x': use one of auto, buildx, buildkit, classic")
    assert bad.status == d.WARN and "DEVENV_BUILDER" in (bad.remedy or "")


def test_storage_driver_vfs_warns_why() -> None:
    assert d.storage_check("overlay2") == d.Check("storage", d.OK, "storage driver overlay2")
    vfs = d.storage_check("vfs")
    assert vfs.status == d.WARN and "full copy" in vfs.detail and "overlay2" in (vfs.remedy or "")


def test_ports() -> None:
    assert d.ports_check(None) == d.Check("ports", d.OK, d.NO_COMPOSE_FILE)
    assert d.ports_check([], 0).detail == "the manifest publishes no fixed host port"
    assert d.ports_check([], 1).detail == "the 1 published port is free"
    assert d.ports_check([], 3).detail == "the 3 published ports are free"
    taken = d.ports_check(["port 127.0.0.1:8080/tcp for web is taken by process nc (pid 7)"], 2)
    assert taken.status == d.FAIL and "8080" in taken.detail and taken.remedy


def test_published_ports_from_the_model(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n"
        "  web:\n    image: x\n    ports: ['8080:80', '127.0.0.1:9000-9001:90-91/udp', '80']\n"
        "  db:\n    image: y\n    ports: [{target: 5432, published: '6543', host_ip: '::1'}]\n"
        "  off:\n    image: z\n    profiles: [never]\n    ports: ['7000:7000']\n",
        encoding="utf-8",
    )
    project = load_project(ProjectOptions(cwd=str(tmp_path), environ={}))
    assert sorted(d.published_ports(project, "127.0.0.1")) == [
        ("127.0.0.1", 8080, "tcp", "web"),
        ("127.0.0.1", 9000, "udp", "web"),
        ("127.0.0.1", 9001, "udp", "web"),
        ("::1", 6543, "tcp", "db"),
    ]
    assert ("0.0.0.0", 8080, "tcp", "web") in d.published_ports(project, "0.0.0.0")


def test_disk() -> None:
    remote = d.disk_check("/var/lib/docker", None)
    assert remote.status == d.OK and "not measured" in remote.detail
    plenty = d.disk_check("/var/lib/docker", 50 * GB, 3 * GB)
    assert plenty.status == d.OK and "free in /var/lib/docker" in plenty.detail and "images take" in plenty.detail
    low = d.disk_check("/var/lib/docker", GB)
    assert low.status == d.WARN and "less than" in low.detail and "prune" in (low.remedy or "")
    # more than 2 GB free, but less than the project's images take
    assert d.disk_check("/r", 5 * GB, 8 * GB).status == d.WARN


def facts(watches: int | None = 8192, instances: int | None = 128, folders: int | None = None,
          sysctl: str = "fs.inotify.max_user_watches") -> d.InotifyFacts:
    return d.InotifyFacts((sysctl, watches), ("fs.inotify.max_user_instances", instances), folders)


def test_inotify() -> None:
    none = d.inotify_check(facts())
    assert none.status == d.OK and "no develop.watch rules" in none.detail
    fits = d.inotify_check(facts(folders=12))
    assert fits.status == d.OK and "12 folders" in fits.detail
    low = d.inotify_check(facts(watches=3, folders=5, sysctl="user.max_inotify_watches"))
    assert low.status == d.WARN and "user.max_inotify_watches=3" in low.detail
    assert low.remedy == f"sudo sysctl user.max_inotify_watches={d.SUGGESTED_WATCHES}"
    huge = d.inotify_check(facts(watches=100, folders=400_000))
    assert huge.remedy == "sudo sysctl fs.inotify.max_user_watches=800000"
    few = d.inotify_check(facts(instances=2))
    assert few.status == d.WARN and "fs.inotify.max_user_instances" in (few.remedy or "")
    unknown = d.inotify_check(facts(watches=None, folders=10))
    assert unknown.status == d.OK and "max_user_watches=?" in unknown.detail


def test_registry_and_context() -> None:
    assert d.registry_check(None, None).status == d.OK
    assert "names no registry" in d.registry_check("prod", None).detail
    assert d.registry_check("prod", "127.0.0.1:5000").detail == "environment prod: registry 127.0.0.1:5000 answers"
    down = d.registry_check("prod", "127.0.0.1:9", "registry 127.0.0.1:9: ping: cannot connect")
    assert down.status == d.WARN and "x-devenv.environments.prod.registry" in (down.remedy or "")
    assert d.context_check(None, None).status == d.OK
    assert "local engine" in d.context_check("dev", None).detail
    assert d.context_check("prod", "ssh://ci@host").detail == "environment prod: engine ssh://ci@host"
    bad = d.context_check("prod", "gone", "docker context 'gone' not found (contexts: default)")
    assert bad.status == d.FAIL and "x-devenv.environments.prod.context" in (bad.remedy or "")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02T16:47:33.123456789Z", datetime(2026, 12, 2, 16, 47, 33, 123456, UTC)),
        ("2026-12-02T16:47:33Z", datetime(2026, 12, 2, 16, 47, 33, tzinfo=UTC)),
        ("2026-12-02T17:47:33.5+01:00", datetime(2026, 12, 2, 16, 47, 33, 500000, UTC)),
        ("", None),
        ("yesterday", None),
    ],
)
def test_parse_engine_time(text: str, expected: datetime | None) -> None:
    assert d.parse_engine_time(text) == expected


def test_clock() -> None:
    now = datetime(2026, 12, 2, 16, 0, 0, tzinfo=UTC)
    assert d.clock_check("2026-12-02T16:00:01.2Z", now).status == d.OK
    ahead = d.clock_check("2026-12-02T16:00:30Z", now)
    assert ahead.status == d.WARN and "30 s ahead of" in ahead.detail and "ntp" in (ahead.remedy or "")
    behind = d.clock_check("2026-12-02T15:59:00Z", now + timedelta(seconds=0))
    assert "60 s behind" in behind.detail
    assert d.clock_check("?", now).status == d.WARN


def test_report_ok_only_without_failures() -> None:
    warn = d.Check("clock", d.WARN, "off", "sync")
    assert d.to_json([d.Check("engine", d.OK, "fine"), warn]) == {
        "ok": True,
        "checks": [
            {"name": "engine", "status": "ok", "detail": "fine", "remedy": None},
            {"name": "clock", "status": "warn", "detail": "off", "remedy": "sync"},
        ],
    }
    failing = [warn, d.Check("ports", d.FAIL, "taken", "free it")]
    assert d.blocks_up(failing) and d.to_json(failing)["ok"] is False
    assert d.lines(failing) == [("warn", "clock", "off; fix: sync"), ("fail", "ports", "taken; fix: free it")]


def test_compose() -> None:
    assert d.compose_check(()).detail == d.NO_COMPOSE_FILE
    assert d.compose_check((), "compose.yaml:3: services.web: bad").status == d.FAIL


def test_ports_not_checked() -> None:
    check = d.ports_check(None, error="the engine stopped answering (timed out)")
    assert check.status == d.WARN and check.detail.startswith("not checked: ")
