"""Shipping local files to a remote engine, the pure part: when, what, where it is mounted, what
changed since the last time, excludes, limits and the report line."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

import pytest

from devenv.errors import UsageError
from devenv.model import freeze
from devenv.plan import container_spec, naming
from devenv.plan import shipping as ship
from devenv.plan.actions import Op
from devenv.plan.lifecycle import plan_down
from devenv.plan.observed import ObservedVolume
from devenv.plan.options import DownOptions
from devenv.plan.shipping import Entry, Excludes, Shipped
from tests.unit.plan.plan_factories import IMAGE_ID, empty_state, make_project, simulate, svc
from tests.unit.plan.test_plan_up import up

SRC, CONF, PW = "/src/demo/src", "/src/demo/app.conf", "/src/demo/pw.txt"


def project():  # type: ignore[no-untyped-def]
    base = make_project({
        "web": svc(
            volumes=[
                {"type": "bind", "source": SRC, "target": "/app", "bind": {"create_host_path": True}},
                {"type": "bind", "source": CONF, "target": "/etc/app.conf", "read_only": True, "bind": {"create_host_path": True}},
                {"type": "bind", "source": "/var/run/docker.sock", "target": "/var/run/docker.sock", "bind": {"create_host_path": True}},
                {"type": "volume", "source": "data", "target": "/data", "volume": {}},
            ],
            configs=[{"source": "cfg", "target": "/etc/cfg.conf"}],
            secrets=[{"source": "pw"}],
        ),
        "worker": svc(volumes=[{"type": "bind", "source": SRC, "target": "/w", "read_only": True, "bind": {"create_host_path": True}}]),
    }, volumes={"data": {}})
    return dataclasses.replace(base, configs=freeze({"cfg": {"file": CONF}}), secrets=freeze({"pw": {"file": PW}}))


KINDS = {SRC: "dir", CONF: "file", PW: "file", "/var/run/docker.sock": None}


def shipped_of(p, digest: str = "d1"):  # type: ignore[no-untyped-def]
    out = {}
    for s in ship.sources(p, ["web", "worker"], kind=KINDS.__getitem__):
        volume = s.volume(p.name)
        out[s.path] = Shipped(s.path, volume, s.is_dir, "" if s.is_dir else ship.mountpoint_of("/var/lib/docker", volume),
                              "" if s.is_dir else digest)
    return out


# -- when


@pytest.mark.parametrize(("address", "env", "expected"), [
    ("unix:///var/run/docker.sock", {}, False),
    ("tcp://build.example:2376", {}, True),
    ("ssh://me@build.example", {}, True),
    ("tcp://build.example:2376", {"DEVENV_SHIP_FILES": "never"}, False),
    ("unix:///var/run/docker.sock", {"DEVENV_SHIP_FILES": "always"}, True),
    ("unix:///var/run/docker.sock", {"DEVENV_SHIP_FILES": "AUTO"}, False),
])
def test_files_are_shipped_to_an_engine_elsewhere_or_when_forced(address: str, env: dict, expected: bool) -> None:
    assert ship.should_ship(address, env) is expected


def test_a_bad_ship_mode_is_one_usage_line() -> None:
    with pytest.raises(UsageError, match="DEVENV_SHIP_FILES='sometimes': expected one of auto, always, never"):
        ship.should_ship("tcp://h:2376", {"DEVENV_SHIP_FILES": "sometimes"})


@pytest.mark.parametrize(("address", "host"), [
    ("tcp://build.example:2376", "build.example"),
    ("ssh://me@build.example:2222", "build.example"),
    ("ssh://build.example", "build.example"),
    ("tcp://[2001:db8::1]:2376", "2001:db8::1"),
    ("unix:///var/run/docker.sock", None),
])
def test_the_remote_host_of_an_address(address: str, host: str | None) -> None:
    assert ship.remote_host(address) == host


# -- what, and where


def test_sources_are_the_bind_sources_and_file_configs_and_secrets_once_each_and_never_a_socket() -> None:
    found = ship.sources(project(), ["web", "worker"], kind=KINDS.__getitem__)
    assert [(s.path, s.is_dir, s.services) for s in found] == [
        (SRC, True, ("web", "worker")), (CONF, False, ("web",)), (PW, False, ("web",)),
    ]


def test_volume_names_and_labels_derive_from_project_and_path() -> None:
    name = ship.volume_name("demo", SRC)
    assert name == ship.volume_name("demo", SRC) and name.startswith("demo_shipped-") and len(name) == len("demo_shipped-") + 12
    assert ship.volume_name("demo", CONF) != name and ship.volume_name("other", SRC) != name
    assert ship.volume_labels("demo", SRC) == {naming.PROJECT_LABEL: "demo", ship.SHIPPED_LABEL: SRC}
    assert ship.is_shipped_volume(ship.manifests_labels("demo")) and not ship.is_shipped_volume({naming.PROJECT_LABEL: "demo"})


def test_a_folder_becomes_a_volume_mount_and_a_file_a_bind_of_the_volume_folder_read_only_kept() -> None:
    p = project()
    shipped = shipped_of(p)
    web = container_spec(p, "web", 1, image_id=IMAGE_ID, shipped=shipped).create_body()["HostConfig"]
    src, conf, pw = (shipped[x].volume for x in (SRC, CONF, PW))
    assert {"Type": "volume", "Source": src, "Target": "/app", "VolumeOptions": {"NoCopy": True}} in web["Mounts"]
    assert web["Binds"] == [
        f"/var/lib/docker/volumes/{conf}/_data/app.conf:/etc/app.conf:ro",
        "/var/run/docker.sock:/var/run/docker.sock:rw",  # the engine's own socket: not shipped
        f"{p.name}_data:/data:rw",
        f"/var/lib/docker/volumes/{pw}/_data/pw.txt:/run/secrets/pw:ro",
        f"/var/lib/docker/volumes/{conf}/_data/app.conf:/etc/cfg.conf:ro",
    ]
    worker = container_spec(p, "worker", 1, image_id=IMAGE_ID, shipped=shipped).create_body()["HostConfig"]
    assert worker["Mounts"] == [{"Type": "volume", "Source": src, "Target": "/w", "ReadOnly": True, "VolumeOptions": {"NoCopy": True}}]


def test_the_config_digest_is_stable_and_changes_with_a_shipped_files_content_only() -> None:
    p = project()
    first = container_spec(p, "web", 1, image_id=IMAGE_ID, shipped=shipped_of(p))
    again = container_spec(p, "web", 1, image_id=IMAGE_ID, shipped=shipped_of(p))
    edited = container_spec(p, "web", 1, image_id=IMAGE_ID, shipped=shipped_of(p, digest="d2"))
    local = container_spec(p, "web", 1, image_id=IMAGE_ID)
    assert first.config_digest == again.config_digest
    assert edited.config_digest != first.config_digest and "shipped" in first.field_hashes
    assert "shipped" not in local.field_hashes
    worker = [container_spec(p, "worker", 1, image_id=IMAGE_ID, shipped=shipped_of(p, digest=d)).config_digest for d in ("d1", "d2")]
    assert worker[0] == worker[1]  # a folder's contents change live: no recreate


def test_up_twice_with_the_same_shipped_copies_does_nothing_and_a_changed_file_recreates() -> None:
    p = project()
    made = tuple(ObservedVolume(s.volume, labels=MappingProxyType(ship.volume_labels(p.name, s.path))) for s in shipped_of(p).values())
    state = dataclasses.replace(empty_state(p), volumes=made)  # the shipping step made them
    state = simulate(up(p, state, shipped=MappingProxyType(shipped_of(p))), state)
    assert not up(p, state, shipped=MappingProxyType(shipped_of(p))).actions
    again = up(p, state, shipped=MappingProxyType(shipped_of(p, digest="d2")))
    assert any(a.op == Op.CREATE_CONTAINER and a.target.endswith("web-1") and "shipped changed" in a.reason for a in again.actions)
    assert not any(a.target.endswith("worker-1") for a in again.actions)


def test_down_removes_the_shipped_volumes_but_not_named_ones_without_v() -> None:
    p = project()
    shipped_labels = MappingProxyType(ship.volume_labels(p.name, SRC))
    state = dataclasses.replace(empty_state(p), volumes=(
        ObservedVolume(ship.volume_name(p.name, SRC), labels=shipped_labels),
        ObservedVolume(ship.manifests_volume(p.name), labels=MappingProxyType(ship.manifests_labels(p.name))),
        ObservedVolume(f"{p.name}_data", labels=MappingProxyType({naming.PROJECT_LABEL: p.name, naming.VOLUME_LABEL: "data"})),
        ObservedVolume("other_shipped-x", labels=MappingProxyType(ship.volume_labels("other", SRC))),
    ))
    removed = {a.target for a in plan_down(p, state).actions if a.op == Op.REMOVE_VOLUME}
    assert removed == {ship.volume_name(p.name, SRC), ship.manifests_volume(p.name)}
    with_v = {a.target for a in plan_down(p, state, DownOptions(volumes=True)).actions if a.op == Op.REMOVE_VOLUME}
    assert with_v == removed | {f"{p.name}_data"}


# -- what changed


def entry(sha: str, kind: str = "file", size: int = 3, mode: int = 0o644) -> Entry:
    return Entry(kind, size, 1, mode, sha)


def test_diff_sends_new_and_changed_deletes_gone_and_counts_unchanged() -> None:
    old = {"a": entry("1"), "b": entry("2"), "d": entry("", "dir", 0, 0o755), "d/x": entry("3"), "d/y": entry("4")}
    new = {"a": entry("1"), "b": entry("9", size=10), "c": entry("5", size=7), "e": entry("", "dir", 0, 0o755)}
    changes = ship.diff(old, new)
    assert changes.send == ("b", "c", "e")
    assert changes.delete == ("d",)  # the folder alone: its files go with it
    assert (changes.unchanged, changes.bytes, ship.sent_files(changes, new)) == (1, 17, 2)


def test_a_mode_change_is_sent_a_touched_file_is_not_and_a_kind_change_is_deleted_then_sent() -> None:
    old = {"a": entry("1"), "b": entry("2"), "c": entry("", "dir", 0, 0o755), "c/x": entry("3")}
    new = {"a": entry("1", mode=0o755), "b": Entry("file", 3, 99, 0o644, "2"), "c": entry("7")}
    changes = ship.diff(old, new)
    assert changes.send == ("a", "c") and changes.delete == ("c",)
    assert ship.diff(new, new).empty


def test_a_manifest_round_trips_and_a_damaged_one_is_none() -> None:
    manifest = {"a": entry("1"), "d": entry("", "dir", 0, 0o755)}
    assert ship.manifest_from_json(ship.manifest_json(manifest, SRC)) == manifest
    for damaged in (None, {}, {"version": 2, "entries": {}}, {"version": 1, "entries": {"a": [1]}}):
        assert ship.manifest_from_json(damaged) is None


# -- excludes, limits, report


@pytest.mark.parametrize(("rules", "path", "excluded"), [
    ("*.log", "app.log", True),
    ("*.log", "sub/app.log", False),  # `*` stays in one folder, as in .dockerignore
    ("**/*.log", "sub/deep/app.log", True),
    ("**/*.log", "app.log", True),
    ("node_modules", "node_modules/x/y.js", True),  # a folder's contents go with it
    ("/build", "build/out", True),
    ("*.log\n!keep.log", "keep.log", False),
    ("# comment\n\n?.txt", "a.txt", True),
    ("[ab].txt", "c.txt", False),
    ("cache/", "cache/x", True),
])
def test_excludes_follow_dockerignore(rules: str, path: str, excluded: bool) -> None:
    assert Excludes.parse(rules).excluded(path) is excluded


def test_the_limit_message_names_the_source_and_how_to_exclude() -> None:
    ship.check_limits("./data", 10, 1000)
    with pytest.raises(ship.ShipError) as caught:
        ship.check_limits("./data", 140_000, 2_300_000_000)
    assert str(caught.value) == (
        "cannot ship ./data to the engine: 2.3 GB in 140,000 files is over the limit (1 GiB or 100,000 files); "
        "exclude what the containers do not need in ./data/.devenvignore (.dockerignore syntax), or put the data in a named volume"
    )
    with pytest.raises(ship.ShipError):
        ship.check_limits("./f", 1, ship.MAX_BYTES + 1)


def test_the_report_line() -> None:
    assert ship.report_line("./src", ["web"], 3, 12_400, 1204, 0) == "shipped ./src to web: 3 files, 12.4 kB (1,204 unchanged)"
    assert ship.report_line("./pw.txt", ["web", "api"], 1, 7, 0, 2) == "shipped ./pw.txt to web, api: 1 file, 7 B (2 removed)"
    assert ship.shown_path("/src/demo/src", "/src/demo") == "./src" and ship.shown_path("/etc/x", "/src/demo") == "/etc/x"


def test_ports_on_a_remote_engines_loopback_are_warned_about() -> None:
    assert ship.loopback_warning("build.example", [8080, 8080]) == (
        "port 8080 is published on 127.0.0.1 of the engine at build.example: reachable from build.example itself only; "
        "set x-devenv publish_host (or DEVENV_PUBLISH_HOST) to 0.0.0.0 to reach it over the network, or tunnel with `ssh -L`")
    assert ship.loopback_warning(None, [8080]) is None and ship.loopback_warning("build.example", []) is None
    assert ship.loopback_warning("127.0.0.1", [8080]) is None  # a remote engine on this machine (tests)
