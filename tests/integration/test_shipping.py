"""Local files follow the environment to a remote engine: bind mounts, config files and secret files
reach the container on an engine with its own filesystem (the `remote_engine` fixture), edits are
shipped incrementally, and `down` removes the copies but keeps named volumes. The same with
DEVENV_SHIP_FILES=always on the local engine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine_helpers import cleanup_project
from tests.images import BUSYBOX_IMAGE
from tests.remote_engine import ENGINE_VARS, RemoteEngine

COMPOSE = f"""
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    volumes:
      - ./src:/app
      - ./app.conf:/etc/app.conf:ro
      - data:/data
    configs:
      - source: cfg
        target: /etc/cfg.conf
    secrets:
      - pw
volumes:
  data:
configs:
  cfg:
    file: ./app.conf
secrets:
  pw:
    file: ./pw.txt
"""


def write_project(folder: Path) -> None:
    (folder / "src" / "sub").mkdir(parents=True)
    (folder / "src" / "a.txt").write_text("alpha\n")
    (folder / "src" / "sub" / "b.txt").write_text("beta\n")
    (folder / "src" / "debug.log").write_text("not shipped\n")
    (folder / "src" / ".devenvignore").write_text("*.log\n")
    (folder / "app.conf").write_text("conf=1\n")
    (folder / "pw.txt").write_text("s3cret\n")
    (folder / "pw.txt").chmod(0o600)
    (folder / "src").chmod(0o750)
    (folder / "compose.yaml").write_text(COMPOSE)


class Session:
    """devenv and the docker SDK, both on one engine, for one project in `folder`."""

    def __init__(self, env: dict[str, str], client: Any, folder: Path, project: str) -> None:
        self.env, self.client, self.folder, self.project = env, client, folder, project

    def devenv(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run([sys.executable, "-m", "devenv", "-p", self.project, *args], cwd=self.folder, env=self.env,
                                capture_output=True, text=True, timeout=300, check=False, stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr
        return result

    def shipped_lines(self, *args: str) -> dict[str, str]:
        """`up`: its `shipped SOURCE to ...: ...` lines by source."""
        err = self.devenv("up", *args).stderr
        return {m.group(1): m.group(0) for m in re.finditer(r"^shipped (\S+) to [^:]+: .*$", err, re.M)}

    def container(self) -> Any:
        return self.client.containers.get(f"{self.project}-web-1")

    def cat(self, *paths: str) -> str:
        code, out = self.container().exec_run(["cat", *paths])
        assert code == 0, out
        return out.decode()

    def volumes(self) -> set[str]:
        return {v.name for v in self.client.volumes.list(filters={"label": f"com.docker.compose.project={self.project}"})}


@pytest.fixture
def remote_session(remote_engine: RemoteEngine, tmp_path: Path) -> Iterator[Session]:
    project = f"dvt-g4-{uuid.uuid4().hex[:8]}"
    write_project(tmp_path)
    client = remote_engine.client()
    try:
        yield Session(remote_engine.environ("tls"), client, tmp_path, project)
    finally:
        try:
            cleanup_project(client, project)
        finally:
            client.close()


@pytest.fixture
def local_session(engine: Any, tmp_path: Path) -> Iterator[Session]:
    project = f"dvt-g4-{uuid.uuid4().hex[:8]}"
    write_project(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS}
    env.update({"DOCKER_HOST": "unix:///var/run/docker.sock", "DEVENV_SHIP_FILES": "always"})
    try:
        yield Session(env, engine, tmp_path, project)
    finally:
        cleanup_project(engine, project)


def test_files_reach_the_remote_container_edits_ship_alone_and_down_keeps_named_volumes(remote_session: Session) -> None:
    s = remote_session
    first = s.shipped_lines()
    assert first == {
        "./src": "shipped ./src to web: 3 files, 17 B",  # a.txt, sub/b.txt, .devenvignore (the folder sub too)
        "./app.conf": "shipped ./app.conf to web: 1 file, 7 B",
        "./pw.txt": "shipped ./pw.txt to web: 1 file, 7 B",
    }
    assert s.cat("/app/a.txt", "/app/sub/b.txt", "/etc/app.conf", "/etc/cfg.conf", "/run/secrets/pw") == (
        "alpha\nbeta\nconf=1\nconf=1\ns3cret\n")
    code, out = s.container().exec_run(["ls", "-A", "/app"])
    assert sorted(out.decode().split()) == [".devenvignore", "a.txt", "sub"]  # debug.log excluded
    code, out = s.container().exec_run(["stat", "-c", "%a", "/run/secrets/pw"])
    assert out.decode().strip() == "600"  # the mode kept
    code, out = s.container().exec_run(["stat", "-c", "%a", "/app"])
    assert out.decode().strip() == "750"  # the folder's own mode too
    code, _ = s.container().exec_run(["sh", "-c", "echo x > /etc/app.conf"])
    assert code != 0  # read-only kept
    s.container().exec_run(["sh", "-c", "echo kept > /data/marker"])
    created = s.container().id

    # nothing changed: nothing shipped, nothing recreated
    again = s.shipped_lines()
    assert again["./src"] == "shipped ./src to web: 0 files, 0 B (3 unchanged)"
    assert s.container().id == created

    # a folder's file edited: only it goes, the container sees it without a recreate
    (s.folder / "src" / "a.txt").write_text("alpha, edited\n")
    edited = s.shipped_lines()
    assert edited["./src"] == "shipped ./src to web: 1 file, 14 B (2 unchanged)"
    assert edited["./pw.txt"] == "shipped ./pw.txt to web: 0 files, 0 B (1 unchanged)"
    assert s.container().id == created and s.cat("/app/a.txt") == "alpha, edited\n"

    # a secret file edited: it goes, and the container is recreated to see it (a bound file is replaced)
    (s.folder / "pw.txt").write_text("n3w-s3cret\n")
    assert s.shipped_lines()["./pw.txt"] == "shipped ./pw.txt to web: 1 file, 11 B"
    assert s.container().id != created and s.cat("/run/secrets/pw") == "n3w-s3cret\n"

    # a file removed here is removed there
    (s.folder / "src" / "sub" / "b.txt").unlink()
    assert s.shipped_lines()["./src"] == "shipped ./src to web: 0 files, 0 B (2 unchanged, 1 removed)"
    code, _ = s.container().exec_run(["test", "-e", "/app/sub/b.txt"])
    assert code == 1

    volumes = s.volumes()
    shipped = {v for v in volumes if "_shipped-" in v}
    assert len(shipped) == 4 and f"{s.project}_data" in volumes  # three sources and the manifests
    s.devenv("down", "-t", "1")
    assert s.volumes() == {f"{s.project}_data"}  # the copies went, the named volume stayed


def test_files_reach_the_remote_container_over_ssh(remote_engine: RemoteEngine, remote_session: Session) -> None:
    s = remote_session
    s.env = remote_engine.environ("ssh")
    assert set(s.shipped_lines()) == {"./src", "./app.conf", "./pw.txt"}
    assert s.cat("/app/sub/b.txt", "/run/secrets/pw") == "beta\ns3cret\n"
    s.devenv("down", "-t", "1")
    assert s.volumes() == {f"{s.project}_data"}


def test_the_remote_host_names_the_published_ports(remote_session: Session) -> None:
    s = remote_session
    (s.folder / "compose.yaml").write_text(f"""
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"]
    ports: ["0.0.0.0::80"]
""")
    import json

    out = json.loads(s.devenv("up", "--format", "json").stdout)
    urls = [p["url"] for c in out["containers"] for p in c["ports"] if p["url"]]
    host = s.env["DOCKER_HOST"].split("://", 1)[1].rsplit(":", 1)[0]
    assert urls and all(u.startswith(f"http://{host}:") for u in urls)


def test_shipping_forced_on_the_local_engine(local_session: Session) -> None:
    s = local_session
    lines = s.shipped_lines()
    assert set(lines) == {"./src", "./app.conf", "./pw.txt"}
    assert s.cat("/app/a.txt", "/etc/cfg.conf", "/run/secrets/pw") == "alpha\nconf=1\ns3cret\n"
    binds = s.container().attrs["HostConfig"]["Binds"] or []
    assert not any(str(s.folder) in b for b in binds)  # copies, not this machine's folder
    (s.folder / "src" / "new.txt").write_text("new\n")
    assert s.shipped_lines()["./src"] == "shipped ./src to web: 1 file, 4 B (3 unchanged)"
    assert s.cat("/app/new.txt") == "new\n"

    # the manifests lost (pruned, or a first ship interrupted): the copy is emptied and shipped again whole
    s.client.volumes.get(f"{s.project}_shipped-manifests").remove()
    (s.folder / "src" / "a.txt").unlink()
    assert s.shipped_lines()["./src"] == "shipped ./src to web: 3 files, 15 B"
    code, out = s.container().exec_run(["ls", "-A", "/app"])
    assert sorted(out.decode().split()) == [".devenvignore", "new.txt", "sub"]

    s.devenv("down", "-t", "1")
    assert s.volumes() == {f"{s.project}_data"}


def test_a_deletion_the_image_cannot_run_is_a_warning_and_is_tried_again(local_session: Session) -> None:
    """An image without `rm` (here: an empty one) still receives files (the archive API needs no
    tool in the image); a file removed here then stays there, said in a warning each `up` until
    it can be deleted, and `down` removes the copy."""
    import io
    import tarfile

    s = local_session
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w") as tar:
        info = tarfile.TarInfo("tmp")
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
    image = f"{s.project}/empty:1"
    s.client.api.import_image_from_data(empty.getvalue(), repository=f"{s.project}/empty", tag="1")
    (s.folder / "compose.yaml").write_text(f"""
services:
  files:
    image: {image}
    command: ["/nothing"]
    volumes: ["./src:/app"]
""")
    first = s.devenv("create").stderr
    assert "shipped ./src to files: 3 files, 17 B" in first
    (s.folder / "src" / "a.txt").unlink()
    for _ in range(2):
        err = s.devenv("create").stderr
        assert re.search(rf"warning: could not delete files removed here from {s.project}_shipped-\w+ on the engine "
                         rf"\(image {re.escape(image)} cannot run `rm`: .*\); `devenv down` removes those copies", err), err
    s.devenv("down")
    assert not {v for v in s.volumes() if "_shipped-" in v}


def test_a_one_off_run_gets_the_shipped_files_too(local_session: Session) -> None:
    """`run` ships as `up` does: the service's own binds, configs and secrets, and a `-v` bind of
    the command line, reach the one-off container as copies (never this machine's folder)."""
    s = local_session
    (s.folder / "extra").mkdir()
    (s.folder / "extra" / "x.txt").write_text("extra\n")
    result = s.devenv("run", "--rm", "-T", "-v", "./extra:/extra", "web", "cat", "/app/a.txt", "/etc/cfg.conf", "/run/secrets/pw",
                      "/extra/x.txt")
    assert result.stdout == "alpha\nconf=1\ns3cret\nextra\n", result.stderr
    assert "shipped ./extra to web" in result.stderr
    assert f"{s.project}_shipped-" in " ".join(s.volumes())
    s.devenv("down", "-t", "1")
    assert s.volumes() == {f"{s.project}_data"}
