"""The remote test engine (scripts/remote-engine.sh, fixture `remote_engine`) and devenv on it:
reached over TLS (verified with its own CA, whatever REQUESTS_CA_BUNDLE says) and over ssh
(the system's ssh client, no paramiko), with its own filesystem."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine_helpers import cleanup_project, free_port
from tests.images import BUSYBOX_IMAGE
from tests.remote_engine import RemoteEngine


def docker_cli(remote: RemoteEngine, how: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], env=remote.environ(how), capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL)


def test_remote_filesystem_is_not_this_machine(remote_engine: RemoteEngine, tmp_path: Path) -> None:
    (tmp_path / "here.txt").write_text("on this machine\n", encoding="utf-8")
    client = remote_engine.client()
    try:
        out = client.containers.run(BUSYBOX_IMAGE, ["ls", "-A", "/data"], volumes={str(tmp_path): {"bind": "/data"}},
                                    remove=True)
    finally:
        client.close()
    assert out == b"", "a bind mount on the remote engine must not see this machine's files"


def test_docker_cli_reaches_it_over_tls_and_ssh(remote_engine: RemoteEngine) -> None:
    for how in ("tls", "ssh"):
        result = docker_cli(remote_engine, how, "image", "inspect", "-f", "{{.Id}}", BUSYBOX_IMAGE)
        assert result.returncode == 0, (how, result.stderr)
        assert result.stdout.startswith("sha256:")


# -- devenv on the remote engine

COMPOSE = f"""
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; echo hello; while :; do sleep 0.1; done"]
"""


def devenv_on(remote: RemoteEngine, how: str, cwd: Path, project: str, *args: str,
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = remote.environ(how)
    full.update(env or {})
    return subprocess.run([sys.executable, "-m", "devenv", "-p", project, *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)


@pytest.fixture
def remote_project(remote_engine: RemoteEngine, tmp_path: Path) -> Iterator[str]:
    name = f"dvt-g3-{uuid.uuid4().hex[:8]}"
    (tmp_path / "compose.yaml").write_text(COMPOSE, encoding="utf-8")
    yield name
    client = remote_engine.client()
    try:
        cleanup_project(client, name)
    finally:
        client.close()


def other_ca(folder: Path) -> Path:
    """A CA certificate (PEM) that has nothing to do with the remote engine's."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=other CA",
                    "-keyout", str(folder / "other-key.pem"), "-out", str(folder / "other-ca.pem")],
                   check=True, capture_output=True)
    return folder / "other-ca.pem"


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.parametrize("how", ["tls", "ssh"])
def test_up_ps_logs_down_and_the_engine_line(remote_engine: RemoteEngine, remote_project: str, tmp_path: Path,
                                             how: str) -> None:
    # TLS verified with the engine's CA although both bundles name another CA
    bundle = str(other_ca(tmp_path / "bundle"))
    bundles = {"REQUESTS_CA_BUNDLE": bundle, "CURL_CA_BUNDLE": bundle}
    ok(devenv_on(remote_engine, how, tmp_path, remote_project, "up", env=bundles))
    ps = ok(devenv_on(remote_engine, how, tmp_path, remote_project, "ps", env=bundles))
    address = remote_engine.env(how)["DOCKER_HOST"]
    expected = f"engine: {address} (TLS, DOCKER_HOST)" if how == "tls" else f"engine: {address} (DOCKER_HOST)"
    assert ps.stderr.splitlines() == [expected]
    assert f"{remote_project}-web-1" in ps.stdout
    quiet = ok(devenv_on(remote_engine, how, tmp_path, remote_project, "ps", "-q"))
    assert quiet.stderr == "" and len(quiet.stdout.split()) == 1
    listed = ok(devenv_on(remote_engine, how, tmp_path, remote_project, "ls"))
    assert listed.stderr.splitlines() == [expected] and remote_project in listed.stdout
    logs = ok(devenv_on(remote_engine, how, tmp_path, remote_project, "logs", "--no-color", "web"))
    assert "hello" in logs.stdout
    ok(devenv_on(remote_engine, how, tmp_path, remote_project, "down"))
    client = remote_engine.client()
    try:
        assert client.containers.list(all=True, filters={"label": f"com.docker.compose.project={remote_project}"}) == []
    finally:
        client.close()


def test_context_and_host_flags(remote_engine: RemoteEngine, remote_project: str, tmp_path: Path) -> None:
    config = tmp_path / "docker-config"
    key = hashlib.sha256(b"remote").hexdigest()
    (config / "contexts" / "meta" / key).mkdir(parents=True)
    (config / "contexts" / "meta" / key / "meta.json").write_text(json.dumps({
        "Name": "remote", "Metadata": {}, "Endpoints": {"docker": {"Host": remote_engine.tls_address, "SkipTLSVerify": False}}}))
    shutil.copytree(remote_engine.cert_path, config / "contexts" / "tls" / key / "docker")
    nowhere = {"DOCKER_CONFIG": str(config), "DOCKER_HOST": "unix:///nonexistent/devenv.sock"}
    ps = ok(devenv_on(remote_engine, "tls", tmp_path, remote_project, "--context", "remote", "ps", env=nowhere))
    assert ps.stderr.splitlines() == [f"engine: {remote_engine.tls_address} (TLS, context remote)"]
    # DOCKER_CONTEXT alone loses to DOCKER_HOST; the config's currentContext is used when nothing else is set
    with_var = ok(devenv_on(remote_engine, "tls", tmp_path, remote_project, "ls",
                            env={"DOCKER_CONFIG": str(config), "DOCKER_CONTEXT": "remote"}))
    assert "(TLS, DOCKER_HOST)" in with_var.stderr
    (config / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    env = remote_engine.environ("tls")
    for key_ in ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        env.pop(key_)
    env["DOCKER_CONFIG"] = str(config)
    current = subprocess.run([sys.executable, "-m", "devenv", "ls"], cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60, check=False)
    assert current.returncode == 0 and current.stderr.splitlines() == [f"engine: {remote_engine.tls_address} (TLS, context remote)"]
    unknown = devenv_on(remote_engine, "tls", tmp_path, remote_project, "--context", "nosuch", "ps", env=nowhere)
    assert unknown.returncode != 0
    assert unknown.stderr.splitlines() == ['devenv: context "nosuch" not found (--context; contexts: default, remote)']
    # -H wins over DOCKER_HOST (here: nobody there)
    flagged = ok(devenv_on(remote_engine, "ssh", tmp_path, remote_project, "-H", remote_engine.ssh_address, "ps",
                           env={"DOCKER_HOST": "unix:///nonexistent/devenv.sock"}))
    assert flagged.stderr.splitlines() == [f"engine: {remote_engine.ssh_address} (-H)"]


def test_untrusted_tls_engine_is_one_line(remote_engine: RemoteEngine, remote_project: str, tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    shutil.copytree(remote_engine.cert_path, certs)
    shutil.copy(other_ca(tmp_path / "other"), certs / "ca.pem")
    started = time.monotonic()
    result = devenv_on(remote_engine, "tls", tmp_path, remote_project, "ps", env={"DOCKER_CERT_PATH": str(certs)})
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"devenv: cannot reach the Docker engine at {remote_engine.tls_address}: TLS verification failed")
    assert "certificate verify failed" in lines[0]
    assert elapsed < 30, f"took {elapsed:.1f}s"  # a bound on hanging, not a speed claim


def test_unknown_host_key_is_one_line(remote_engine: RemoteEngine, remote_project: str, tmp_path: Path) -> None:
    (tmp_path / "empty_known_hosts").write_text("")
    config = Path(remote_engine.ssh["DEVENV_SSH_CONFIG"]).read_text()
    config = re.sub(r"UserKnownHostsFile .*", f"UserKnownHostsFile {tmp_path / 'empty_known_hosts'}", config)
    (tmp_path / "ssh_config").write_text(config)
    started = time.monotonic()
    result = devenv_on(remote_engine, "ssh", tmp_path, remote_project, "ps", env={"DEVENV_SSH_CONFIG": str(tmp_path / "ssh_config")})
    elapsed = time.monotonic() - started
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        f"devenv: cannot reach the Docker engine at {remote_engine.ssh_address}: ssh: Host key verification failed."]
    assert elapsed < 30, f"took {elapsed:.1f}s"


def test_unreachable_remote_is_one_line(remote_engine: RemoteEngine, tmp_path: Path) -> None:
    port = free_port()
    for how, address in (("tls", f"tcp://127.0.0.1:{port}"), ("ssh", f"ssh://root@127.0.0.1:{port}")):
        result = devenv_on(remote_engine, how, tmp_path, "dvt-g3-nobody", "ps", env={"DOCKER_HOST": address,
                                                                                     "DOCKER_MACHINE_NAME": "dev"})
        assert result.returncode != 0
        lines = result.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"devenv: cannot reach the Docker engine at {address} (docker-machine dev): "), result.stderr
        assert "refused" in lines[0]
