"""`devenv snapshot` and `devenv restore` on a real engine: the volumes come back byte for byte
(owners, modes and times too), a corrupted snapshot changes nothing, a volume with data is only
replaced when asked, and the containers that write a volume are paused during the copy and
running afterwards (also when the copy is interrupted)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import stat
import tarfile
import time
import uuid
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.images import REGISTRY
from tests.integration.test_engine_support import BUSYBOX, devenv, inspect, ok, output, start_devenv, up, wait_until, write_compose

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

STEADY = """["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"""
# Files with their own owners and modes, a link and an empty folder; the root itself 0750 and owned by 999.
SEED = (
    "mkdir -p /data/sub/empty && printf hello > /data/sub/a && head -c 300000 /dev/urandom > /data/blob"
    " && chown 123:456 /data/sub/a && chmod 640 /data/sub/a && ln -s sub/a /data/link"
    " && chown 999:999 /data && chmod 750 /data && printf x > /data/.hidden"
)


def files_of(engine: docker.DockerClient, volume: str) -> dict[str, tuple[Any, ...]]:
    """path -> (type, sha256 of the content, uid, gid, mode, mtime, link) of everything in the
    volume, read through the archive API of a helper container the test makes."""
    api = engine.api
    container = api.create_container(BUSYBOX, command=["true"], host_config=api.create_host_config(
        mounts=[docker.types.Mount("/v", volume, read_only=True)]))
    try:
        stream, _ = api.get_archive(container, "/v")
        data = b"".join(stream)
    finally:
        api.remove_container(container, force=True)
    out = {}
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for m in tar:
            content = tar.extractfile(m).read() if m.isreg() else b""  # type: ignore[union-attr]
            out[m.name] = (m.type, hashlib.sha256(content).hexdigest(), m.uid, m.gid, stat.S_IMODE(m.mode), m.mtime, m.linkname)
    return out


def helpers(engine: docker.DockerClient, project: str) -> list[str]:
    """The helper containers devenv left of this project (there must be none)."""
    found = engine.api.containers(all=True, filters={"label": "io.devenv.volume-helper", "name": f"{project}-volume-helper-"})
    return [c["Names"][0] for c in found]


def volume_labels(engine: docker.DockerClient, name: str) -> dict[str, str]:
    return engine.api.inspect_volume(name).get("Labels") or {}


@pytest.fixture
def seeded(tmp_path: Path, project_name: str) -> Path:
    """`db` keeps the volume `data` (seeded once, then left alone); `cache` is empty."""
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: ["sh", "-c", "[ -e /data/blob ] || ({SEED}); trap 'exit 0' TERM; sleep 3600 & wait"]
            volumes: [data:/data, cache:/cache]
        volumes:
          data:
          cache:
    """)
    up(tmp_path, project_name)
    return tmp_path


def fail_line(result: Any) -> str:
    """The one line devenv printed on failure (no traceback)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("devenv: ")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, output(result)
    return lines[0]


def test_snapshot_wipe_restore_gives_identical_files_owners_and_modes(
    seeded: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    before = files_of(engine, f"{p}_data")
    snap = seeded / "snap.tar"
    result = ok(devenv(seeded, p, "snapshot", "-o", str(snap)))
    assert stat.S_IMODE(os.stat(snap).st_mode) == 0o600
    assert sorted(os.listdir(seeded)) == ["compose.yaml", "snap.tar"]
    assert f"read volume data ({p}_data): 3 files" in result.stderr and f"paused: {p}-db-1" in result.stderr
    with tarfile.open(snap) as tar:
        assert sorted(tar.getnames()) == ["devenv-snapshot.json", "volumes/cache.tar", "volumes/data.tar"]
        manifest = json.loads(tar.extractfile("devenv-snapshot.json").read())  # type: ignore[union-attr]
    data = next(v for v in manifest["volumes"] if v["name"] == "data")
    assert sorted(f["path"] for f in data["files"]) == [".hidden", "blob", "sub/a"]  # regular files only
    assert data["files_count"] == 3

    ok(devenv(seeded, p, "down", "-v"))
    with pytest.raises(docker.errors.NotFound):
        engine.api.inspect_volume(f"{p}_data")

    ok(devenv(seeded, p, "restore", str(snap)))
    assert files_of(engine, f"{p}_data") == before
    assert before["v"][2:5] == (999, 999, 0o750) and before["v/sub/a"][2:5] == (123, 456, 0o640)
    assert volume_labels(engine, f"{p}_data") == {
        **volume_labels(engine, f"{p}_data"), "com.docker.compose.project": p, "com.docker.compose.volume": "data",
    }
    # The project's own `up` takes the restored volumes as its own (no drift, no warning) and keeps the data.
    result = ok(devenv(seeded, p, "up"))
    assert "not created" not in result.stderr
    assert files_of(engine, f"{p}_data") == before
    leftovers = helpers(engine, p)
    assert leftovers == []


def test_push_then_restore_ref_round_trips_through_the_registry(seeded: Path, project_name: str, engine: docker.DockerClient) -> None:
    import urllib.request

    p = project_name
    before = files_of(engine, f"{p}_data")
    reference = f"{REGISTRY}/{p}/snapshot:1"  # a repository of its own: the registry keeps what is pushed
    result = ok(devenv(seeded, p, "snapshot", "--push", reference))
    digest = result.stdout.strip()
    assert digest.startswith("sha256:") and f"pushed {reference}" in result.stderr
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{p}/snapshot/manifests/1",
                                     headers={"Accept": "application/vnd.oci.image.manifest.v1+json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        manifest = json.loads(answer.read())
    assert manifest["artifactType"] == "application/vnd.devenv.snapshot.v1"
    assert [layer["annotations"]["org.opencontainers.image.title"] for layer in manifest["layers"]] == [
        "volumes/cache.tar", "volumes/data.tar", "devenv-snapshot.json",
    ]
    assert os.listdir(seeded) == ["compose.yaml"]  # nothing written beside the project

    ok(devenv(seeded, p, "down", "-v"))
    result = ok(devenv(seeded, p, "restore", reference, "data"))
    assert f"pulled {reference}" in result.stderr and digest in result.stderr
    assert files_of(engine, f"{p}_data") == before
    with pytest.raises(docker.errors.NotFound):  # only the volume named
        engine.api.inspect_volume(f"{p}_cache")
    import tempfile

    temporary = set(os.listdir(tempfile.gettempdir()))
    result = devenv(seeded, p, "restore", f"{REGISTRY}/{p}/absent:1")
    assert result.returncode == 1 and f"repository {p}/absent: manifest 1: 404" in fail_line(result)
    assert not [n for n in set(os.listdir(tempfile.gettempdir())) - temporary if n.startswith("devenv-restore-")]


def corrupt_volume_byte(snap: Path, needle: bytes) -> None:
    raw = bytearray(snap.read_bytes())
    at = raw.index(needle)
    raw[at + 1] ^= 0xFF
    snap.write_bytes(bytes(raw))


def test_a_corrupted_snapshot_is_refused_and_changes_nothing(seeded: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    snap = seeded / "snap.tar"
    ok(devenv(seeded, p, "snapshot", "-o", str(snap), "data"))
    ok(devenv(seeded, p, "exec", "db", "sh", "-c", "printf changed > /data/sub/a"))
    changed = files_of(engine, f"{p}_data")

    flipped = seeded / "flipped.tar"
    flipped.write_bytes(snap.read_bytes())
    corrupt_volume_byte(flipped, b"hello")
    result = devenv(seeded, p, "restore", str(flipped), "--force")
    assert result.returncode == 1
    assert fail_line(result) == f"devenv: {flipped}: volume data: file sub/a does not match its SHA-256 in the manifest; the snapshot is corrupted"
    assert files_of(engine, f"{p}_data") == changed

    edited = seeded / "edited.tar"
    with tarfile.open(snap) as tar:
        manifest = json.loads(tar.extractfile("devenv-snapshot.json").read())  # type: ignore[union-attr]
    raw = snap.read_bytes().replace(manifest["volumes"][0]["sha256"].encode(), b"0" * 64)
    edited.write_bytes(raw)
    result = devenv(seeded, p, "restore", str(edited), "--force")
    assert result.returncode == 1
    assert "volume data: volumes/data.tar does not match its SHA-256 in the manifest" in fail_line(result)
    assert files_of(engine, f"{p}_data") == changed
    assert helpers(engine, p) == []


def test_a_volume_with_data_is_refused_unless_forced_then_replaced(seeded: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    snap = seeded / "snap.tar"
    ok(devenv(seeded, p, "snapshot", "-o", str(snap)))
    original = files_of(engine, f"{p}_data")
    ok(devenv(seeded, p, "exec", "db", "sh", "-c", "printf new > /data/extra && rm /data/blob"))
    changed = files_of(engine, f"{p}_data")

    result = devenv(seeded, p, "restore", str(snap))
    assert result.returncode == 1
    assert fail_line(result) == (f"devenv: volume data ({p}_data) is not empty; restore --force empties it first (its data is lost)")
    assert files_of(engine, f"{p}_data") == changed

    # The writer runs: with --force the volume is emptied (the container still uses it) and written.
    result = ok(devenv(seeded, p, "restore", str(snap), "--force", "--format", "json"))
    summary = json.loads(result.stdout)
    assert [v["name"] for v in summary["volumes"]] == ["cache", "data"]
    assert next(v for v in summary["volumes"] if v["name"] == "data")["held"] == [f"{p}-db-1"]
    assert files_of(engine, f"{p}_data") == original  # `extra` gone, `blob` back
    assert inspect(engine, f"{p}-db-1")["State"]["Status"] == "running"

    # With nobody using it, the volume is removed and created again, with its labels.
    labels = volume_labels(engine, f"{p}_data")
    ok(devenv(seeded, p, "down"))
    ok(devenv(seeded, p, "restore", str(snap), "data", "--force"))
    assert files_of(engine, f"{p}_data") == original and volume_labels(engine, f"{p}_data") == labels


def _events(engine: docker.DockerClient, container: str, since: float) -> list[str]:
    found = engine.api.events(since=since, until=time.time() + 0.1, decode=True,
                              filters={"type": "container", "container": container})
    return [e["Action"] for e in found if e.get("Action") in ("pause", "unpause", "stop", "start", "die", "kill")]


@pytest.fixture
def writing(tmp_path: Path, project_name: str) -> Path:
    """`app` writes into `data` all the time; `peek` only reads it."""
    write_compose(tmp_path, f"""
        services:
          app:
            image: {BUSYBOX}
            command: ["sh", "-c", "trap 'exit 0' TERM; while :; do date > /data/clock; sleep 0.05; done"]
            volumes: [data:/data]
          peek:
            image: {BUSYBOX}
            command: {STEADY}
            volumes: [data:/data:ro]
        volumes:
          data:
    """)
    up(tmp_path, project_name)
    return tmp_path


def test_a_running_writer_is_paused_during_the_copy_and_running_afterwards(
    writing: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    since = time.time()
    result = ok(devenv(writing, p, "snapshot", "-o", str(writing / "s.tar"), "--format", "json"))
    summary = json.loads(result.stdout)
    assert summary["volumes"][0]["held"] == [f"{p}-app-1"]  # not the read-only `peek`
    assert _events(engine, f"{p}-app-1", since) == ["pause", "unpause"]
    # The copy (the helper's archive read) happens between the pause and the unpause.
    found = engine.api.events(since=since, until=time.time() + 0.1, decode=True, filters={"type": "container"})
    order = [(e["Action"], "helper" if "-volume-helper-" in name else name) for e in found
             if (name := e["Actor"]["Attributes"].get("name", "")).startswith(f"{p}-")
             and e["Action"] in ("pause", "unpause", "create", "archive-path", "destroy")]
    app = f"{p}-app-1"
    assert order == [("pause", app), ("create", "helper"), ("archive-path", "helper"), ("destroy", "helper"), ("unpause", app)]
    assert _events(engine, f"{p}-peek-1", since) == []
    assert inspect(engine, f"{p}-app-1")["State"]["Status"] == "running"

    since = time.time()
    result = ok(devenv(writing, p, "snapshot", "-o", str(writing / "s.tar"), "--stop"))
    assert f"stopped and restarted: {p}-app-1" in result.stderr
    actions = _events(engine, f"{p}-app-1", since)
    assert actions[-1] == "start" and "die" in actions
    assert inspect(engine, f"{p}-app-1")["State"]["Status"] == "running"


def test_ctrl_c_during_the_copy_unpauses_the_writer_and_leaves_no_file(
    writing: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    # Enough data that the copy takes a while (zeros: quick to make, as slow to copy as any bytes).
    ok(devenv(writing, p, "exec", "app", "sh", "-c", "head -c 600000000 /dev/zero > /data/big"))
    process = start_devenv(writing, p, "snapshot", "-o", str(writing / "s.tar"))
    try:
        wait_until(lambda: inspect(engine, f"{p}-app-1")["State"]["Paused"], timeout=60, interval=0.01, what="the writer paused")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    state = inspect(engine, f"{p}-app-1")["State"]
    assert state["Status"] == "running" and not state["Paused"]
    assert sorted(os.listdir(writing)) == ["compose.yaml"]
    assert helpers(engine, p) == []


def test_bad_requests_are_one_line(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    missing_image = f"dvt-absent-{uuid.uuid4().hex[:8]}:1"
    write_compose(tmp_path, f"""
        services:
          db:
            image: {missing_image}
            volumes: [data:/data, gone:/gone, outside:/outside]
        volumes:
          data:
          gone:
          outside:
            external: true
            name: {p}-outside
    """)
    result = devenv(tmp_path, p, "snapshot", "-o", "s.tar", "nope")
    assert result.returncode == 2
    assert fail_line(result) == "devenv: no such volume: nope (the project's volumes: data, gone, outside)"
    result = devenv(tmp_path, p, "snapshot", "-o", "s.tar", "gone")
    assert result.returncode == 1 and "does not exist on the engine" in fail_line(result)
    engine.api.create_volume(f"{p}_data", labels={"com.docker.compose.project": p})
    result = devenv(tmp_path, p, "snapshot", "-o", "s.tar", "data")
    assert result.returncode == 1
    assert fail_line(result) == (
        f"devenv: cannot read volume data: a local image is needed for the helper container, e.g. {missing_image} "
        "(`devenv pull` or `devenv build` first)"
    )
    result = devenv(tmp_path, p, "snapshot", "data")
    assert result.returncode == 2 and "give -o FILE, --push REF, or both" in fail_line(result)
    result = devenv(tmp_path, p, "restore", "nothing-here.tar")
    assert result.returncode == 1 and "no such snapshot file: nothing-here.tar" in fail_line(result)
    assert not (tmp_path / "s.tar").exists()
