"""The remote test engine (scripts/remote-engine.sh) from Python: start, stop, the variables
that reach it over TLS or ssh, and a docker SDK client of it.

The engine is dockerd in a container of the local engine, with its own filesystem: a bind
mount that was not shipped is empty there. Its published ports are inside that container, not
on this machine's loopback.

`DEVENV_TEST_ENGINE=tls|ssh` runs the test session against it (tests/conftest.py): every
`devenv` and Compose subprocess and the `engine` fixture then talk to it. Tests that read this
machine's files or loopback ports call `skip_if_remote(reason)`.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import docker

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "remote-engine.sh"
MODE_ENV = "DEVENV_TEST_ENGINE"  # tls | ssh: the whole session runs against the remote engine
MODES = ("tls", "ssh")
START_TIMEOUT = 900.0  # a first start builds the image (apt from the Debian mirror)
# The variables that choose an engine: cleared before a mode's own are set.
ENGINE_VARS = ("DOCKER_HOST", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH", "DOCKER_TLS", "DOCKER_CONTEXT",
               "DEVENV_SSH_CONFIG")


def mode() -> str | None:
    """The remote mode the session runs in (DEVENV_TEST_ENGINE), or None for the local engine."""
    value = os.environ.get(MODE_ENV, "").strip().lower()
    if value in ("", "local", "unix"):
        return None
    if value not in MODES:
        raise ValueError(f"{MODE_ENV}={value!r}: expected tls, ssh or local")
    return value


def skip_if_remote(reason: str) -> None:
    """Skip the calling test when the session runs against the remote engine, saying why."""
    current = mode()
    if current:
        import pytest

        pytest.skip(f"not with {MODE_ENV}={current}: {reason}")


def _script(*args: str, timeout: float = START_TIMEOUT) -> str:
    result = subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                            check=False, stdin=subprocess.DEVNULL, env={k: v for k, v in os.environ.items()
                                                                         if k not in ENGINE_VARS})
    if result.returncode != 0:
        raise RuntimeError(f"scripts/remote-engine.sh {' '.join(args)} failed (exit {result.returncode}): "
                           f"{result.stderr.strip()[-2000:]}")
    return result.stdout


def _parse_env(text: str) -> dict[str, str]:
    """`export K=V` lines of `remote-engine.sh env` (PATH's `$PATH` expanded here)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export "):].partition("=")
            out[key] = value.replace("$PATH", os.environ.get("PATH", ""))
    return out


@dataclasses.dataclass(frozen=True)
class RemoteEngine:
    """A running remote test engine. `tls` and `ssh`: the variables that reach it each way
    (DOCKER_HOST and its companions; for ssh also DEVENV_SSH_CONFIG and a PATH whose `ssh`
    reads that config, for the docker CLI and Compose)."""

    name: str
    tls: dict[str, str]
    ssh: dict[str, str]

    def env(self, how: str = "tls") -> dict[str, str]:
        """The variables for `how` (tls|ssh), to lay over a copy of os.environ (after dropping ENGINE_VARS)."""
        return dict(self.tls if how == "tls" else self.ssh)

    def environ(self, how: str = "tls") -> dict[str, str]:
        """os.environ reaching this engine `how`: the other engine variables dropped."""
        out = {k: v for k, v in os.environ.items() if k not in ENGINE_VARS}
        out.update(self.env(how))
        return out

    @property
    def cert_path(self) -> str:
        return self.tls["DOCKER_CERT_PATH"]

    @property
    def tls_address(self) -> str:
        return self.tls["DOCKER_HOST"]

    @property
    def ssh_address(self) -> str:
        return self.ssh["DOCKER_HOST"]

    def client(self) -> docker.DockerClient:
        """A docker SDK client of this engine over TLS (also in ssh mode: the SDK's ssh needs
        paramiko). Verified against the engine's CA, whatever REQUESTS_CA_BUNDLE says."""
        import docker

        folder = self.cert_path
        tls = docker.tls.TLSConfig(client_cert=(f"{folder}/cert.pem", f"{folder}/key.pem"),
                                   ca_cert=f"{folder}/ca.pem", verify=True)
        client = docker.DockerClient(base_url=self.tls_address, tls=tls, version="1.41", timeout=120)
        client.api.trust_env = False  # requests would verify against REQUESTS_CA_BUNDLE instead
        return client


def start(name: str) -> RemoteEngine:
    """Start (or find running) the remote engine `name`; RuntimeError saying why not."""
    _script("start", name)
    return RemoteEngine(name=name, tls=_parse_env(_script("env", name, "tls", timeout=60)),
                        ssh=_parse_env(_script("env", name, "ssh", timeout=60)))


def stop(name: str) -> None:
    _script("stop", name, timeout=120)


def unique_name() -> str:
    return f"devenv-remote-{uuid.uuid4().hex[:8]}"
