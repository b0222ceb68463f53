"""Risky declarations: `up`, `create` and `run` print them and, without a terminal, go on only with
`--yes`, which is remembered per project; a new risk asks again."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX,
    FOREVER,
    assert_nothing_exists,
    devenv,
    ok,
    output,
    states,
    write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

SAFE = f"""
services:
  box:
    image: {BUSYBOX}
    command: {FOREVER}
    stop_signal: SIGKILL
"""
SYSTEM_BIND = SAFE + '    volumes: ["/etc:/host-etc:ro"]\n'  # (privileged cannot start on every test engine)
WITH_SOCKET = SAFE + '    volumes: ["/etc:/host-etc:ro", "/var/run/docker.sock:/var/run/docker.sock:ro"]\n'


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("devenv: warning:")]


def test_up_refuses_without_terminal_then_yes_is_remembered_until_a_new_risk(
        tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    write_compose(tmp_path, SYSTEM_BIND)

    refused = devenv(tmp_path, project_name, "up", env=env)
    assert refused.returncode == 2, output(refused)
    assert [w for w in warnings(refused.stderr) if "service 'box'" in w and "compose.yaml:6" in w
            and "/etc" in w] == warnings(refused.stderr) != [], output(refused)
    others = [line for line in refused.stderr.splitlines() if line not in warnings(refused.stderr)]
    assert len(others) == 1 and "--yes" in others[0] and "Traceback" not in refused.stderr, output(refused)
    assert_nothing_exists(engine, project_name)

    created = ok(devenv(tmp_path, project_name, "up", "--yes", env=env))
    assert len(warnings(created.stderr)) == 1, output(created)
    assert states(engine, project_name) == {f"{project_name}-box-1": "running"}
    folder = tmp_path / "state" / "devenv" / "acknowledged"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [stat.S_IMODE(f.stat().st_mode) for f in folder.iterdir()] == [0o600]

    again = ok(devenv(tmp_path, project_name, "up", env=env))  # remembered: no question, no warning
    assert warnings(again.stderr) == [], output(again)

    write_compose(tmp_path, WITH_SOCKET)
    asked = devenv(tmp_path, project_name, "up", env=env)
    assert asked.returncode == 2, output(asked)
    (new,) = warnings(asked.stderr)
    assert "engine socket /var/run/docker.sock" in new and "service 'box'" in new, output(asked)
    assert states(engine, project_name) == {f"{project_name}-box-1": "running"}  # not recreated with the socket

    other_state = devenv(tmp_path, project_name, "up", env={"XDG_STATE_HOME": str(tmp_path / "elsewhere")})
    assert other_state.returncode == 2 and len(warnings(other_state.stderr)) == 2, output(other_state)


def test_create_and_run_ask_too(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    write_compose(tmp_path, SYSTEM_BIND)
    for args in (("create",), ("run", "--rm", "box", "true")):
        refused = devenv(tmp_path, project_name, *args, env=env)
        assert refused.returncode == 2 and "--yes" in refused.stderr.splitlines()[-1], output(refused)
    assert_nothing_exists(engine, project_name)
    ok(devenv(tmp_path, project_name, "run", "--rm", "--yes", "box", "true", env=env))
    ok(devenv(tmp_path, project_name, "create", env=env))  # acknowledged by run's --yes
    assert states(engine, project_name) == {f"{project_name}-box-1": "created"}


def test_a_project_without_risks_asks_nothing(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    write_compose(tmp_path, SAFE)
    result = ok(devenv(tmp_path, project_name, "up", env={"XDG_STATE_HOME": str(tmp_path / "state")}))
    # nothing acknowledged (the state folder holds only what the dashboard shows of the last `up`)
    assert warnings(result.stderr) == [] and not os.path.exists(tmp_path / "state" / "devenv" / "acknowledged"), output(result)


def _on_terminal(cwd: Path, project: str, answer: bytes, env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run devenv with stdin and stderr on a pseudo-terminal, answer its question, return (exit, what it wrote)."""
    import pty
    import subprocess
    import sys

    from tests.integration.test_engine_support import devenv_env

    master, slave = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "devenv", "-p", project, *args], cwd=cwd, env=devenv_env(env),
                               stdin=slave, stderr=slave, stdout=subprocess.DEVNULL)
    os.close(slave)
    os.write(master, answer)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    code = process.wait(timeout=120)
    os.close(master)
    return code, b"".join(chunks).decode(errors="replace")


def test_on_a_terminal_it_asks_once(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    env = {"XDG_STATE_HOME": str(tmp_path / "state")}
    write_compose(tmp_path, SYSTEM_BIND)
    code, text = _on_terminal(tmp_path, project_name, b"n\n", env, "create")
    assert code == 2 and "Continue with these risks? [y/N]" in text and "not confirmed" in text, text
    assert_nothing_exists(engine, project_name)
    code, text = _on_terminal(tmp_path, project_name, b"y\n", env, "create")
    assert code == 0 and "[y/N]" in text, text
    assert states(engine, project_name) == {f"{project_name}-box-1": "created"}
    ok(devenv(tmp_path, project_name, "create", env=env))  # remembered
