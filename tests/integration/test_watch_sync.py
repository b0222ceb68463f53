"""devenv/engine/sync.py on the real engine: what `devenv watch` sends into a running container
(one tar through the archive API, deletions through `rm -rf` execs), who owns it, what `listing`
reads back, and exec hooks; through LocalAPI and RemoteAPI (the docker SDK) alike."""

from __future__ import annotations

import hashlib
import io
import os
import stat
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from devenv.engine import sync
from devenv.engine.api import EngineAPI, LocalAPI, RemoteAPI
from devenv.errors import EngineError
from devenv.plan.watch import Copy, ExecHook, HostEntry, SyncStep
from tests.engine_helpers import PROJECT_LABEL
from tests.images import BUSYBOX_IMAGE

pytestmark = pytest.mark.engine

OLD = 1_600_000_000  # a fixed past mtime (2020-09-13), so a kept mtime is not "now"


# ---------------------------------------------------------------- fixtures


def _host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


@pytest.fixture(params=["local", "remote"])
def api(request: pytest.FixtureRequest, engine: docker.DockerClient) -> EngineAPI:
    """Both implementations of the interface: LocalAPI on the socket, RemoteAPI on the SDK's client."""
    if request.param == "remote":
        return RemoteAPI(engine.api)
    host = _host()
    if not host.startswith("unix://"):
        pytest.skip(f"LocalAPI speaks to a unix socket, and this run's engine is {host} (RemoteAPI is tested on it)")
    return LocalAPI(host[len("unix://"):])


Start = Callable[..., str]


@pytest.fixture
def start(engine: docker.DockerClient, project_name: str, base_images: tuple[str, str]) -> Iterator[Start]:
    """start(image=busybox, user=None, running=True, **host_config) -> a container's ID, sleeping;
    removed (with its anonymous volumes) afterwards."""
    made: list[str] = []

    def run(image: str = BUSYBOX_IMAGE, user: str | None = None, running: bool = True, volumes: list[str] | None = None,
            **host_config: Any) -> str:
        answer = engine.api.create_container(
            image, ["sleep", "3600"], name=f"{project_name}-c{len(made)}", user=user or "", volumes=volumes,
            labels={PROJECT_LABEL: project_name}, host_config=engine.api.create_host_config(**host_config))
        made.append(answer["Id"])
        if running:
            engine.api.start(answer["Id"])
        return str(answer["Id"])

    yield run
    for container in made:
        try:
            engine.api.remove_container(container, v=True, force=True)
        except docker.errors.NotFound:
            pass


@pytest.fixture(scope="module")
def images(engine: docker.DockerClient) -> Iterator[dict[str, str]]:
    """Two small images FROM busybox: `named` (USER app, uid 1234 in its passwd and group) and `no-rm`
    (busybox without /bin/rm); removed afterwards."""
    engine.images.get(BUSYBOX_IMAGE)  # fails clearly when the base is missing
    prefix = f"dvt-wcsync-{uuid.uuid4().hex[:8]}"
    files = {
        "named": f"FROM {BUSYBOX_IMAGE}\nRUN echo 'app:x:1234:1234::/home/app:/bin/sh' >> /etc/passwd"
                 f" && echo 'app:x:1234:' >> /etc/group && mkdir -p /home/app && chown 1234:1234 /home/app\nUSER app\n",
        "no-rm": f"FROM {BUSYBOX_IMAGE}\nRUN rm /bin/rm\n",
    }
    built: dict[str, str] = {}
    try:
        for name, dockerfile in files.items():
            tag = f"{prefix}-{name}:latest"
            engine.images.build(fileobj=io.BytesIO(dockerfile.encode()), tag=tag, rm=True, forcerm=True)
            built[name] = tag
        yield built
    finally:
        for tag in built.values():
            try:
                engine.images.remove(tag, force=True)
            except docker.errors.NotFound:
                pass


# ---------------------------------------------------------------- helpers


def entry(path: Path) -> HostEntry:
    """What the orchestrator would stat on the host."""
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return HostEntry("link", 0, info.st_mtime, stat.S_IMODE(info.st_mode), os.readlink(path))
    kind = "dir" if stat.S_ISDIR(info.st_mode) else "file"
    return HostEntry(kind, info.st_size if kind == "file" else 0, info.st_mtime, stat.S_IMODE(info.st_mode))


def step_of(root: Path, target: str, paths: list[Path] | None = None, deletes: tuple[str, ...] = ()) -> SyncStep:
    """A SyncStep of `paths` (default: everything under root) mapped under `target`."""
    if paths is None:
        paths = sorted(root.rglob("*"))
    copies = [Copy(str(p), target + "/" + p.relative_to(root).as_posix(), entry(p)) for p in paths]
    return SyncStep("web", tuple(sorted(copies, key=lambda c: c.container)), deletes)


def run(api: EngineAPI, container: str, *cmd: str) -> str:
    result = sync._exec(api, container, list(cmd))
    assert result.exit_code == 0, result.output
    return result.output


def stats(api: EngineAPI, container: str, *paths: str) -> dict[str, tuple[int, int, str, int, str]]:
    """path -> (uid, gid, octal mode, mtime, kind) as the container sees it."""
    out = run(api, container, "stat", "-c", "%n|%u|%g|%a|%Y|%F", *paths)
    found = {}
    for line in out.splitlines():
        name, uid, gid, mode, mtime, kind = line.split("|")
        found[name] = (int(uid), int(gid), mode, int(mtime), kind)
    return found


def make_tree(root: Path) -> None:
    (root / "src" / "deeper").mkdir(parents=True)
    (root / "empty").mkdir()
    (root / "a.txt").write_text("hello\n")
    (root / "src" / "deeper" / "b.txt").write_text("nested\n")
    script = root / "run.sh"
    script.write_text("#!/bin/sh\necho ran as $(id -u)\n")
    script.chmod(0o755)
    (root / "link").symlink_to("a.txt")
    for path in root.rglob("*"):
        os.utime(path, (OLD, OLD), follow_symlinks=False)


# ---------------------------------------------------------------- send


def test_send_files_folders_links_with_mode_and_mtime(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start()
    make_tree(tmp_path)
    sent = sync.send(api, container, step_of(tmp_path, "/app"), sync.Owner(0, 0))
    assert sent == sync.Sent(files=4, size=len("hello\n") + len("nested\n") + (tmp_path / "run.sh").stat().st_size)

    assert run(api, container, "cat", "/app/a.txt", "/app/src/deeper/b.txt") == "hello\nnested"
    assert run(api, container, "readlink", "/app/link") == "a.txt"
    assert run(api, container, "/app/run.sh") == "ran as 0"  # the 0755 script is still executable
    seen = stats(api, container, "/app/a.txt", "/app/run.sh", "/app/empty", "/app/src/deeper")
    assert seen["/app/a.txt"][2:4] == ("644", OLD)
    assert seen["/app/run.sh"][2:4] == ("755", OLD)
    assert seen["/app/empty"][2:] == ("755", OLD, "directory")  # a new empty folder, its mtime kept too
    assert seen["/app/src/deeper"][4] == "directory"

    (tmp_path / "a.txt").write_text("changed, and longer\n")  # a change goes as it is now
    assert sync.send(api, container, step_of(tmp_path, "/app", [tmp_path / "a.txt"]), sync.Owner(0, 0)).files == 1
    assert run(api, container, "cat", "/app/a.txt") == "changed, and longer"


def test_send_deletes_files_and_folders_then_copies(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start()
    make_tree(tmp_path)
    sync.send(api, container, step_of(tmp_path, "/app"), sync.Owner(0, 0))
    (tmp_path / "a.txt").unlink()
    (tmp_path / "renamed.txt").write_text("hello\n")  # a rename: the old name deleted, the new one copied
    step = step_of(tmp_path, "/app", [tmp_path / "renamed.txt"], deletes=("/app/a.txt", "/app/src"))
    assert sync.send(api, container, step, sync.Owner(0, 0)) == sync.Sent(files=3, size=6)
    left = sync.listing(api, container, "/app")
    assert "/app/a.txt" not in left and not any(p.startswith("/app/src") for p in left)
    assert left["/app/renamed.txt"].sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert "/app/run.sh" in left


def test_a_path_that_changed_kind_is_replaced_without_a_delete(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start()
    (tmp_path / "was_file").mkdir()
    (tmp_path / "was_file" / "inside.txt").write_text("now a folder")
    (tmp_path / "was_dir").write_text("now a file")
    run(api, container, "sh", "-c", "mkdir -p /app/was_dir/sub && echo old > /app/was_dir/sub/x && echo old > /app/was_file")
    sync.send(api, container, step_of(tmp_path, "/app"), sync.Owner(0, 0))
    found = sync.listing(api, container, "/app")
    assert {p: e.kind for p, e in found.items()} == {"/app/was_dir": "file", "/app/was_file": "dir",
                                                     "/app/was_file/inside.txt": "file"}


def test_a_file_gone_before_the_send_is_left_out(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start()
    (tmp_path / "kept.txt").write_text("kept")
    (tmp_path / "gone.txt").write_text("gone")
    step = step_of(tmp_path, "/app")
    (tmp_path / "gone.txt").unlink()
    assert sync.send(api, container, step, sync.Owner(0, 0)) == sync.Sent(files=1, size=4)
    assert set(sync.listing(api, container, "/app")) == {"/app/kept.txt"}


def test_the_engine_makes_implied_parents_root_s_so_send_sends_them_as_the_owner_s(
    api: EngineAPI, start: Start, tmp_path: Path
) -> None:
    container = start(user="1000:1000")
    # The engine's own behaviour: a tar whose entry's parents are missing gets them made root:root 0755.
    data = io.BytesIO()
    import tarfile

    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo("implied/parent/f.txt")
        info.uid = info.gid = 1000
        tar.addfile(info, io.BytesIO(b""))
    api.put_archive(container, "/tmp", data.getvalue())
    engine_made = stats(api, container, "/tmp/implied", "/tmp/implied/parent", "/tmp/implied/parent/f.txt")
    assert engine_made["/tmp/implied"][:3] == (0, 0, "755")
    assert engine_made["/tmp/implied/parent/f.txt"][:2] == (1000, 1000)  # the header's uid/gid are kept (no copyUIDGID)

    # send: the missing parents of the target are folder entries of the owner
    owner = sync.owner_of(api, container)
    assert owner == sync.Owner(1000, 1000)
    (tmp_path / "f.txt").write_text("x")
    sync.send(api, container, step_of(tmp_path, "/srv/app/code"), owner)
    made = stats(api, container, "/srv", "/srv/app", "/srv/app/code", "/srv/app/code/f.txt")
    assert {p: s[:3] for p, s in made.items()} == {
        "/srv": (1000, 1000, "755"), "/srv/app": (1000, 1000, "755"), "/srv/app/code": (1000, 1000, "755"),
        "/srv/app/code/f.txt": (1000, 1000, "644"),
    }
    # ... and only the missing ones: an existing parent keeps its owner
    assert stats(api, container, "/tmp")["/tmp"][:2] == (0, 0)


def test_a_read_only_root_with_the_target_on_a_volume(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start(volumes=["/app"], read_only=True)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "f.txt").write_text("on the volume")
    sync.send(api, container, step_of(tmp_path, "/app"), sync.Owner(0, 0))  # the tar goes to /app, not "/"
    assert run(api, container, "cat", "/app/sub/f.txt") == "on the volume"


def test_a_big_batch_is_streamed_from_a_spooled_file(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start()
    big = tmp_path / "big.bin"
    with open(big, "wb") as handle:
        handle.write(b"devenv" * 1000)
        handle.truncate(sync.SPOOL + (1 << 20))  # past the in-memory limit (sparse on the host)
    small = tmp_path / "small.txt"
    small.write_text("small")
    sent = sync.send(api, container, step_of(tmp_path, "/data"), sync.Owner(0, 0))
    assert sent == sync.Sent(files=2, size=big.stat().st_size + 5)
    digest = hashlib.sha256(big.read_bytes()).hexdigest()
    found = sync.listing(api, container, "/data")
    assert found["/data/big.bin"].sha256 == digest and found["/data/big.bin"].size == big.stat().st_size


# ---------------------------------------------------------------- owners


def test_owner_of_numeric_and_named_users(api: EngineAPI, start: Start) -> None:
    assert sync.owner_of(api, start()) == sync.Owner(0, 0)
    assert sync.owner_of(api, start(user="1000:1000")) == sync.Owner(1000, 1000)
    assert sync.owner_of(api, start(user="1000")) == sync.Owner(1000, 0)  # not in passwd: group 0, as the runtime
    assert sync.owner_of(api, start(user="nobody")) == sync.Owner(65534, 65534)  # busybox's passwd
    assert sync.owner_of(api, start(user="daemon:www-data")) == sync.Owner(1, 33)
    with pytest.raises(EngineError, match="user 'ghost'.* not in its /etc/passwd"):
        sync.owner_of(api, start(user="ghost", running=False))  # the runtime refuses to start it
    with pytest.raises(EngineError, match="group 'ghosts'.* not in its /etc/group"):
        sync.owner_of(api, start(user="0:ghosts", running=False))


def test_the_engine_s_copy_uid_gid_is_no_way_to_the_container_s_user(api: EngineAPI, start: Start, engine: docker.DockerClient) -> None:
    """Why owner_of reads the container's own passwd: 20.10's copyUIDGID resolves Config.User on the host."""
    version = str(engine.version().get("Version", ""))
    if not version.startswith("20."):
        pytest.skip(f"copyUIDGID's lookup is 20.10's behaviour; this engine is {version}")
    container = start(user="1000:1000")
    data = io.BytesIO()
    import tarfile

    with tarfile.open(fileobj=data, mode="w") as tar:
        tar.addfile(tarfile.TarInfo("f.txt"), io.BytesIO(b""))
    with pytest.raises(Exception, match="getent unable to find entry"):
        api.put_archive(container, "/tmp", data.getvalue(), copy_uid_gid=True)


def test_files_owned_by_the_image_s_named_user(api: EngineAPI, start: Start, images: dict[str, str], tmp_path: Path) -> None:
    container = start(images["named"])
    owner = sync.owner_of(api, container)
    assert owner == sync.Owner(1234, 1234)  # USER app: resolved in the image's own /etc/passwd
    (tmp_path / "f.txt").write_text("mine")
    sync.send(api, container, step_of(tmp_path, "/home/app/code"), owner)
    seen = stats(api, container, "/home/app/code", "/home/app/code/f.txt")
    assert [s[:2] for s in seen.values()] == [(1234, 1234), (1234, 1234)]
    assert run(api, container, "sh", "-c", "echo more >> /home/app/code/f.txt && cat /home/app/code/f.txt") == "minemore"


def test_an_image_without_rm_gets_the_copies_and_one_line_about_deletions(
    api: EngineAPI, start: Start, images: dict[str, str], tmp_path: Path
) -> None:
    container = start(images["no-rm"])
    (tmp_path / "new.txt").write_text("new")
    step = step_of(tmp_path, "/app", deletes=("/app/old.txt",))
    with pytest.raises(EngineError) as failed:
        sync.send(api, container, step, sync.Owner(0, 0))
    message = str(failed.value)
    assert "\n" not in message and "needs `rm` in its image" in message and "1 deletion(s) not applied" in message
    assert set(sync.listing(api, container, "/app")) == {"/app/new.txt"}  # the copies went all the same


# ---------------------------------------------------------------- listing


def test_listing_reads_back_what_send_wrote(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start(user="1000:1000")
    make_tree(tmp_path)
    sync.send(api, container, step_of(tmp_path, "/app"), sync.Owner(1000, 1000))
    found = sync.listing(api, container, "/app")
    assert sorted(found) == ["/app/a.txt", "/app/empty", "/app/link", "/app/run.sh", "/app/src", "/app/src/deeper",
                             "/app/src/deeper/b.txt"]
    a = found["/app/a.txt"]
    assert (a.kind, a.size, a.mtime, a.mode, a.uid, a.gid) == ("file", 6, OLD, 0o644, 1000, 1000)
    assert a.sha256 == hashlib.sha256(b"hello\n").hexdigest()
    assert (found["/app/link"].kind, found["/app/link"].link) == ("link", "a.txt")
    assert (found["/app/empty"].kind, found["/app/empty"].mode) == ("dir", 0o755)
    assert found["/app/run.sh"].mode == 0o755
    # a file target is listed as itself
    assert set(sync.listing(api, container, "/app/a.txt")) == {"/app/a.txt"}


def test_listing_by_names_never_reads_a_big_sibling(api: EngineAPI, start: Start, tmp_path: Path) -> None:
    container = start()
    run(api, container, "sh", "-c", "mkdir -p /app/node_modules /app/src && echo code > /app/src/main.js "
        "&& dd if=/dev/zero of=/app/node_modules/big bs=1M count=16 2>/dev/null")
    counted = CountingAPI(api)
    found = sync.listing(counted, container, "/app", names=["src", "missing"])
    assert sorted(found) == ["/app/src", "/app/src/main.js"]
    assert counted.read < 64 * 1024  # node_modules' 16 MB never crossed the API
    assert sorted(counted.paths) == ["/app/missing", "/app/src"]

    whole = CountingAPI(api)
    assert "/app/node_modules/big" in sync.listing(whole, container, "/app")
    assert whole.read > 16 << 20


def test_listing_reads_through_a_target_that_links_to_a_folder(api: EngineAPI, start: Start) -> None:
    container = start()
    run(api, container, "sh", "-c", "mkdir -p /srv/real/sub && echo hi > /srv/real/sub/f && ln -s /srv/real /app "
        "&& ln -s /srv/real/sub/f /file-link")
    assert sorted(sync.listing(api, container, "/app")) == ["/app/sub", "/app/sub/f"]
    assert {p: e.kind for p, e in sync.listing(api, container, "/file-link").items()} == {"/file-link": "link"}


def test_listing_of_a_missing_target_is_empty(api: EngineAPI, start: Start) -> None:
    container = start()
    assert sync.listing(api, container, "/no/such/folder") == {}
    assert sync.listing(api, container, "/no/such/folder", names=["a", "b"]) == {}


class CountingAPI:
    """An EngineAPI that counts the bytes get_archive brings (everything else passed through)."""

    def __init__(self, api: EngineAPI) -> None:
        self._api = api
        self.read = 0
        self.paths: list[str] = []

    def get_archive(self, container: str, path: str) -> Any:
        self.paths.append(path)
        chunks, found = self._api.get_archive(container, path)

        def counted() -> Iterator[bytes]:
            for chunk in chunks:
                self.read += len(chunk)
                yield chunk

        return counted(), found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


# ---------------------------------------------------------------- exec hooks


def test_run_hook_exit_codes_output_user_workdir_env(api: EngineAPI, start: Start) -> None:
    container = start()
    hook = ExecHook(("sh", "-c", 'echo "$GREETING from $(pwd) as $(id -u)"; echo oops >&2; exit 3'), user="1000",
                    working_dir="/tmp", environment=(("GREETING", "hi"),))
    result = sync.run_hook(api, container, hook)
    assert result.exit_code == 3
    assert sorted(result.output.splitlines()) == ["hi from /tmp as 1000", "oops"]  # stdout and stderr (their order is the kernel's)
    assert sync.run_hook(api, container, ExecHook(("true",))) == sync.ExecResult(0, "")
    many = sync.run_hook(api, container, ExecHook(("sh", "-c", "seq 1 100")))
    assert many.output.splitlines() == [str(n) for n in range(100 - sync.OUTPUT_LINES + 1, 101)]  # the last lines
    missing = sync.run_hook(api, container, ExecHook(("no-such-tool",)))
    assert missing.exit_code in (126, 127) and "no-such-tool" in missing.output


def test_run_hook_in_a_stopped_container_is_one_line(api: EngineAPI, start: Start) -> None:
    container = start(running=False)
    with pytest.raises(EngineError) as failed:
        sync.run_hook(api, container, ExecHook(("true",)))
    assert "\n" not in str(failed.value) and "is not running" in str(failed.value)
