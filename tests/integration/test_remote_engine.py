"""The remote test engine (scripts/remote-engine.sh, fixture `remote_engine`) and devenv on it:
reached over TLS (verified with its own CA, whatever REQUESTS_CA_BUNDLE says) and over ssh
(the system's ssh client, no paramiko), with its own filesystem."""

from __future__ import annotations

import subprocess
from pathlib import Path

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
