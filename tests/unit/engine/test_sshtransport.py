"""ssh:// through the system's ssh client (devenv/engine/sshtransport.py), with a fake `ssh` on
PATH: what it is run with, an HTTP exchange through its stdin/stdout, and ssh's own error as the
one line devenv prints."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from devenv.engine import client
from devenv.errors import EngineError

# Answers one HTTP request per connection (the engine's /_ping), after writing its argv to $FAKE_SSH_LOG.
ANSWERING = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_SSH_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")
head = b""
while not head.endswith(b"\\r\\n\\r\\n"):
    byte = sys.stdin.buffer.read(1)
    if not byte:
        sys.exit(0)
    head += byte
body = b"OK"
sys.stdout.buffer.write(b"HTTP/1.1 200 OK\\r\\nApi-Version: 1.41\\r\\nContent-Type: text/plain\\r\\n"
                        b"Content-Length: 2\\r\\n\\r\\n" + body)
sys.stdout.buffer.flush()
sys.stdin.buffer.read()  # until devenv closes the connection
"""

REFUSING = """#!/bin/sh
echo "Host key verification failed." >&2
exit 255
"""


def fake_ssh(folder: Path, text: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder.mkdir()
    path = folder / "ssh"
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{folder}{os.pathsep}{os.environ.get('PATH', '')}")
    return folder


def test_requests_go_through_ssh_with_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ssh(tmp_path / "bin", ANSWERING, monkeypatch)
    log = tmp_path / "argv.log"
    monkeypatch.setenv("FAKE_SSH_LOG", str(log))
    monkeypatch.setenv("DEVENV_SSH_CONFIG", str(tmp_path / "ssh_config"))
    engine = client.connect("ssh://deploy@box.example:2222")
    assert engine.address == "ssh://deploy@box.example:2222"
    argv = [json.loads(line) for line in log.read_text().splitlines()]
    assert argv[0] == ["-F", str(tmp_path / "ssh_config"), "-o", "ConnectTimeout=5", "-T", "-l", "deploy", "-p", "2222",
                       "--", "box.example", "docker system dial-stdio"]


def test_ssh_error_is_the_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_ssh(tmp_path / "bin", REFUSING, monkeypatch)
    monkeypatch.delenv("DOCKER_MACHINE_NAME", raising=False)
    with pytest.raises(EngineError) as raised:
        client.connect("ssh://box.example")
    assert str(raised.value) == "cannot reach the Docker engine at ssh://box.example: ssh: Host key verification failed."


def test_no_ssh_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(EngineError, match="ssh:// engines need the ssh client"):
        client.connect("ssh://box.example")
