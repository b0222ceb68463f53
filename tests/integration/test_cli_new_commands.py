"""The commands devenv added to Compose's set (ls, top, port, images, stats, events, kill, rm,
pause/unpause, wait, create, attach, cp, version) on a real engine, side by side with the
Compose binary where the output's format is the point."""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import docker
import pytest

from tests.engine_helpers import run_compose
from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, devenv, ids, inspect, names, ok, output, start_devenv, states, up, wait_until, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

# Two processes that stay as they are (a shell waiting on one long sleep), so that `top` answers
# the same twice; TERM ends it at once.
STEADY = """["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"]"""


def both_ports() -> tuple[int, int]:
    from tests.integration.test_engine_support import free_ports

    return free_ports(), free_ports(protocol="udp")


@pytest.fixture
def project(tmp_path: Path, project_name: str) -> tuple[Path, int, int]:
    """db, and web publishing a tcp and a udp port, brought up by devenv."""
    tcp, udp = both_ports()
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {STEADY}
          web:
            image: {BUSYBOX}
            command: {STEADY}
            depends_on: [db]
            ports: ["127.0.0.1:{tcp}:80", "{udp}:81/udp"]
    """)
    up(tmp_path, project_name)
    return tmp_path, tcp, udp


def compose(folder: Path, project: str, *args: str) -> subprocess.CompletedProcess[str]:
    result = run_compose(["-p", project, *args], folder)
    assert result.returncode == 0, f"compose {args}: {result.stderr}"
    return result


def test_version_as_compose_prints_its_own() -> None:
    from devenv import __version__

    assert ok(devenv(Path.cwd(), "x", "version")).stdout == f"devenv version {__version__}\n"
    assert ok(devenv(Path.cwd(), "x", "version", "--short")).stdout == f"{__version__}\n"
    assert json.loads(ok(devenv(Path.cwd(), "x", "version", "--format", "json")).stdout) == {"version": __version__}


def test_ls_matches_compose(project: tuple[Path, int, int], project_name: str) -> None:
    folder, _, _ = project
    p = project_name
    only = ["--filter", f"name=^{p}$"]
    mine = json.loads(ok(devenv(folder, p, "ls", "--format", "json", *only)).stdout)
    theirs = json.loads(compose(folder, p, "ls", "--format", "json", *only).stdout)
    assert mine == theirs == [{"Name": p, "Status": "running(2)", "ConfigFiles": str(folder / "compose.yaml")}]
    assert ok(devenv(folder, p, "ls", *only)).stdout == compose(folder, p, "ls", *only).stdout
    assert ok(devenv(folder, p, "ls", "-q", *only)).stdout == f"{p}\n"
    ok(devenv(folder, p, "stop", "web"))
    assert json.loads(ok(devenv(folder, p, "ls", "--format", "json", *only)).stdout)[0]["Status"] == "running(1)"
    ok(devenv(folder, p, "stop"))
    assert json.loads(ok(devenv(folder, p, "ls", "--format", "json", *only)).stdout) == []
    every = json.loads(ok(devenv(folder, p, "ls", "-a", "--format", "json", *only)).stdout)
    assert every == json.loads(compose(folder, p, "ls", "-a", "--format", "json", *only).stdout)
    assert every[0]["Status"] == "exited(2)"


def test_top_port_and_images_match_compose(project: tuple[Path, int, int], project_name: str) -> None:
    folder, tcp, udp = project
    p = project_name

    def steady(text: str) -> list[list[str]]:  # without C (CPU use) and TIME, which move
        rows = [line.split() for line in text.splitlines()]
        header = rows[0]
        keep = [i for i, title in enumerate(header) if title not in ("C", "TIME")]
        return [[row[i] for i in keep if i < len(row)] for row in rows]

    mine, theirs = ok(devenv(folder, p, "top")).stdout, compose(folder, p, "top").stdout
    assert mine.splitlines()[0] == theirs.splitlines()[0]
    assert steady(mine) == steady(theirs)
    assert steady(ok(devenv(folder, p, "top", "db")).stdout) == steady(compose(folder, p, "top", "db").stdout)

    assert ok(devenv(folder, p, "port", "web", "80")).stdout == compose(folder, p, "port", "web", "80").stdout == f"127.0.0.1:{tcp}\n"
    udp_mine = ok(devenv(folder, p, "port", "web", "81", "--protocol", "udp")).stdout
    assert udp_mine == compose(folder, p, "port", "web", "81", "--protocol", "udp").stdout
    assert udp_mine.endswith(f":{udp}\n")
    missing = devenv(folder, p, "port", "web", "99")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "no port 99/tcp" in missing.stderr, output(missing)

    def by_container(text: str) -> list[dict[str, Any]]:
        return sorted(json.loads(text), key=lambda e: e["ContainerName"])

    assert by_container(ok(devenv(folder, p, "images", "--format", "json")).stdout) == by_container(
        compose(folder, p, "images", "--format", "json").stdout
    )
    table_mine = ok(devenv(folder, p, "images")).stdout.splitlines()
    table_theirs = compose(folder, p, "images").stdout.splitlines()
    assert table_mine[0] == table_theirs[0]  # CONTAINER REPOSITORY TAG PLATFORM IMAGE ID SIZE CREATED
    assert [line.split()[:6] for line in table_mine] == [line.split()[:6] for line in table_theirs]
    assert ok(devenv(folder, p, "images", "-q")).stdout == compose(folder, p, "images", "-q").stdout


def test_stats_has_dockers_columns_and_fields(project: tuple[Path, int, int], project_name: str) -> None:
    folder, _, _ = project
    p = project_name
    mine = ok(devenv(folder, p, "stats", "--no-stream")).stdout.splitlines()
    theirs = compose(folder, p, "stats", "--no-stream").stdout.splitlines()
    assert mine[0].split("   ")[:3] == theirs[0].split("   ")[:3]
    assert [h.strip() for h in mine[0].split("  ") if h.strip()] == [h.strip() for h in theirs[0].split("  ") if h.strip()]
    assert sorted(line.split()[1] for line in mine[1:]) == [f"{p}-db-1", f"{p}-web-1"]
    rows = [json.loads(line) for line in ok(devenv(folder, p, "stats", "--no-stream", "--format", "json", "web")).stdout.splitlines()]
    reference = json.loads(compose(folder, p, "stats", "--no-stream", "--format", "json").stdout.splitlines()[0])
    assert len(rows) == 1 and sorted(rows[0]) == sorted(reference)
    assert rows[0]["Name"] == f"{p}-web-1" and rows[0]["CPUPerc"].endswith("%") and rows[0]["PIDs"] == "2"


def _reader(process: subprocess.Popen[str]) -> queue.Queue[str]:
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line.rstrip("\n"))

    threading.Thread(target=pump, daemon=True).start()
    return lines


def _until(lines: queue.Queue[str], wanted: Any, timeout: float = 30.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if line.strip() and wanted(line):
            return line


def test_events_are_the_engines_as_compose_reports_them(project: tuple[Path, int, int], project_name: str) -> None:
    folder, _, _ = project
    p = project_name
    from tests.engine_helpers import compose_binary, compose_env

    mine_json = start_devenv(folder, p, "events", "--json")
    mine_text = start_devenv(folder, p, "events", "web")
    theirs = subprocess.Popen([compose_binary(), "-p", p, "events", "--json"], cwd=folder, env=compose_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        queues = [_reader(mine_json), _reader(mine_text), _reader(theirs)]
        time.sleep(1.0)  # the three subscriptions are made
        ok(devenv(folder, p, "pause", "web"))
        ok(devenv(folder, p, "unpause", "web"))
        is_pause = lambda line: '"action":"pause"' in line  # noqa: E731
        assert json.loads(_until(queues[0], is_pause)) == json.loads(_until(queues[2], is_pause))
        text = _until(queues[1], lambda line: " container pause " in line)
        web_id = ids_of(p)["web"]
        assert text.split(" (")[0].split(" ", 2)[2] == f"container pause {web_id}"
        assert f"name={p}-web-1" in text and "com.docker.compose" not in text
    finally:
        for process in (mine_json, mine_text, theirs):
            process.terminate()
            process.wait(timeout=30)


def ids_of(project: str) -> dict[str, str]:
    client = docker.from_env()
    try:
        return {c["Labels"]["com.docker.compose.service"]: c["Id"] for c in client.api.containers(
            all=True, filters={"label": f"com.docker.compose.project={project}"})}
    finally:
        client.close()


def test_kill_pause_unpause_and_rm(project: tuple[Path, int, int], project_name: str, engine: docker.DockerClient) -> None:
    folder, _, _ = project
    p = project_name
    web, db = f"{p}-web-1", f"{p}-db-1"
    ok(devenv(folder, p, "pause"))
    assert states(engine, p) == {web: "paused", db: "paused"}
    ok(devenv(folder, p, "unpause", "db"))
    assert states(engine, p) == {web: "paused", db: "running"}
    ok(devenv(folder, p, "unpause"))

    ok(devenv(folder, p, "kill", "-s", "TERM", "db"))
    wait_until(lambda: states(engine, p)[db] == "exited", what="db to exit on TERM")
    assert inspect(engine, db)["State"]["ExitCode"] == 0  # its TERM trap ran: the signal was TERM
    bad = devenv(folder, p, "kill", "-s", "NOSUCH")
    assert bad.returncode == 2 and "invalid signal 'NOSUCH'" in bad.stderr, output(bad)

    refused = devenv(folder, p, "rm")  # stdin is not a terminal
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, output(refused)
    assert f"would remove {db}" in refused.stderr and "pass -f" in refused.stderr
    assert names(engine, p) == [db, web]
    removed = ok(devenv(folder, p, "rm", "-f"))
    assert f"Going to remove {db}" in removed.stdout and names(engine, p) == [web]
    nothing = ok(devenv(folder, p, "rm", "-f"))
    assert "No stopped containers" in nothing.stderr
    ok(devenv(folder, p, "rm", "-f", "-s", "web"))
    assert names(engine, p) == []


def test_kill_remove_orphans_takes_the_containers_of_services_gone(project: tuple[Path, int, int], project_name: str,
                                                                   engine: docker.DockerClient) -> None:
    folder, _, _ = project
    p = project_name
    write_compose(folder, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {STEADY}
    """)
    ok(devenv(folder, p, "kill"))
    assert states(engine, p) == {f"{p}-db-1": "exited", f"{p}-web-1": "running"}  # web is an orphan now
    ok(devenv(folder, p, "kill", "--remove-orphans"))
    assert states(engine, p)[f"{p}-web-1"] == "exited"


def test_wait_prints_the_exit_code_and_exits_with_it(project: tuple[Path, int, int], project_name: str,
                                                     engine: docker.DockerClient) -> None:
    folder, _, _ = project
    p = project_name
    waiting = start_devenv(folder, p, "wait", "web")
    time.sleep(1.0)
    assert waiting.poll() is None  # it blocks while web runs
    engine.api.kill(f"{p}-web-1", signal="KILL")
    out, err = waiting.communicate(timeout=60)
    assert waiting.returncode == 137, (out, err)
    assert out == f'container "{ids(engine, p)[f"{p}-web-1"]}" exited with status code 137\n'

    downing = start_devenv(folder, p, "wait", "db", "--down-project")
    time.sleep(1.0)
    engine.api.kill(f"{p}-db-1", signal="TERM")
    out, err = downing.communicate(timeout=60)
    assert downing.returncode == 0, (out, err)
    assert names(engine, p) == []
    missing = devenv(folder, p, "wait")
    assert missing.returncode == 2, output(missing)


def test_create_makes_containers_without_starting_them(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          db:
            image: {BUSYBOX}
            command: {FOREVER}
          web:
            image: {BUSYBOX}
            command: {FOREVER}
            depends_on: [db]
    """)
    ok(devenv(tmp_path, p, "create", "--scale", "web=2"))
    assert states(engine, p) == {f"{p}-db-1": "created", f"{p}-web-1": "created", f"{p}-web-2": "created"}
    before = ids(engine, p)
    ok(devenv(tmp_path, p, "create", "--scale", "web=2"))
    assert ids(engine, p) == before  # unchanged: nothing to do
    ok(devenv(tmp_path, p, "create", "--force-recreate", "db"))
    after = ids(engine, p)
    assert after[f"{p}-db-1"] != before[f"{p}-db-1"] and set(states(engine, p).values()) == {"created"}
    ok(devenv(tmp_path, p, "up"))
    assert set(states(engine, p).values()) == {"running"}
    theirs = run_compose(["-p", p, "ps", "-a", "--format", "json"], tmp_path)
    assert theirs.returncode == 0 and theirs.stdout.count(p) >= 2  # Compose sees what `create` made


@pytest.mark.skipif(shutil.which("docker") is None, reason="attach goes through the docker CLI")
def test_attach_follows_the_containers_output_until_it_exits(tmp_path: Path, project_name: str) -> None:
    p = project_name
    write_compose(tmp_path, f"""
        services:
          ticker:
            image: {BUSYBOX}
            command: ["sh", "-c", "trap 'exit 0' TERM; echo ready; for i in 1 2 3 4 5 6; do sleep 0.5; echo tick-$$i; done; exit 7"]
            restart: "no"
    """)
    up(tmp_path, p)
    result = devenv(tmp_path, p, "attach", "--no-stdin", "ticker", timeout=60)
    assert result.returncode == 7, output(result)
    assert "tick-6" in result.stdout
    gone = devenv(tmp_path, p, "attach", "ticker")
    assert gone.returncode == 1 and "is not running" in gone.stderr, output(gone)


def _tree(root: Path) -> dict[str, str]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = str(path.relative_to(root))
        out[rel] = "link:" + os.readlink(path) if path.is_symlink() else ("dir" if path.is_dir() else path.read_text())
    return out


def test_cp_both_ways_lands_files_where_compose_does(project: tuple[Path, int, int], project_name: str, tmp_path: Path) -> None:
    folder, _, _ = project
    p = project_name
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("deep")
    (src / "a.txt").write_text("top")
    os.symlink("a.txt", src / "link")

    def container_tree(path: str) -> str:
        return ok(devenv(folder, p, "exec", "-T", "web", "sh", "-c", f"cd {path} && find . | sort")).stdout

    cases = [  # (SRC, DEST in the container): into a directory, as a new name, the contents (`/.`), a file
        ("src", "/tmp/{who}/"), ("src", "/tmp/{who}/renamed"), ("src/.", "/tmp/{who}/contents"), ("src/a.txt", "/tmp/{who}/file.txt"),
    ]
    for who in ("mine", "theirs"):
        ok(devenv(folder, p, "exec", "-T", "web", "mkdir", "-p", f"/tmp/{who}"))
    for source, dest in cases:
        ok(devenv(tmp_path, p, "-f", str(folder / "compose.yaml"), "cp", source, "web:" + dest.format(who="mine")))
        theirs = run_compose(["-p", p, "-f", str(folder / "compose.yaml"), "cp", source, "web:" + dest.format(who="theirs")], tmp_path)
        assert theirs.returncode == 0, theirs.stderr
    assert container_tree("/tmp/mine") == container_tree("/tmp/theirs")
    assert "./renamed/sub/f.txt" in container_tree("/tmp/mine") and "./contents/a.txt" in container_tree("/tmp/mine")

    for who in ("mine", "theirs"):
        (tmp_path / who).mkdir()
    out_cases = [("/tmp/mine/src", "{who}"), ("/tmp/mine/src", "{who}/copy"), ("/tmp/mine/src/.", "{who}/inner"),
                 ("/tmp/mine/file.txt", "{who}/f2.txt")]
    for source, dest in out_cases:
        ok(devenv(tmp_path, p, "-f", str(folder / "compose.yaml"), "cp", "web:" + source, dest.format(who="mine")))
        theirs = run_compose(["-p", p, "-f", str(folder / "compose.yaml"), "cp", "web:" + source, dest.format(who="theirs")], tmp_path)
        assert theirs.returncode == 0, theirs.stderr
    assert _tree(tmp_path / "mine") == _tree(tmp_path / "theirs")
    assert _tree(tmp_path / "mine")["copy/link"] == "link:a.txt"

    missing = devenv(tmp_path, p, "-f", str(folder / "compose.yaml"), "cp", "web:/nope", "x")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1 and "/nope" in missing.stderr, output(missing)
    both = devenv(tmp_path, p, "-f", str(folder / "compose.yaml"), "cp", "web:/a", "db:/b")
    assert both.returncode == 2 and "between services" in both.stderr


def test_both_engine_backends_speak_the_new_calls(project: tuple[Path, int, int], project_name: str) -> None:
    """LocalAPI (our unix-socket client) and RemoteAPI (the SDK, as for remote engines) answer
    the calls of the new commands alike."""
    import io
    import tarfile

    from devenv.engine.api import LocalAPI, RemoteAPI

    web = f"{project_name}-web-1"
    host = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    if not host.startswith("unix://"):
        pytest.skip(f"LocalAPI talks to a unix socket only, and this run's engine is {host}")
    local = LocalAPI(host[len("unix://"):])
    sdk = RemoteAPI(docker.APIClient(base_url=host, version="1.41"))
    payload = io.BytesIO()
    with tarfile.open(fileobj=payload, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    for name, api in (("local", local), ("sdk", sdk)):
        assert api.archive_stat(web, "/nope") is None, name
        assert api.archive_stat(web, "/tmp")["name"] == "tmp", name  # type: ignore[index]
        api.put_archive(web, "/tmp", payload.getvalue())
        chunks, stat = api.get_archive(web, "/tmp/hello.txt")
        assert stat is not None and stat["size"] == 2, name
        with tarfile.open(fileobj=io.BytesIO(b"".join(chunks))) as tar:
            assert tar.extractfile("hello.txt").read() == b"hi", name  # type: ignore[union-attr]
        assert "PID" in api.top(web)["Titles"], name
        assert api.stats(web)["pids_stats"]["current"] == 2, name
        api.pause(web)
        assert api.inspect_container(web)["State"]["Status"] == "paused", name
        api.unpause(web)
    local.kill(web, signal="SIGTERM")
    assert local.wait(web)["StatusCode"] == 0
    sdk.start(web)
    sdk.kill(web, signal="SIGKILL")
    assert sdk.wait(web)["StatusCode"] == 137
