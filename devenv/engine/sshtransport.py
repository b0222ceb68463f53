"""ssh:// engines through the system's ssh client, as the docker CLI reaches them: each HTTP
connection is `ssh ... -- HOST docker system dial-stdio`, whose stdin and stdout are one end of
a socket pair. No paramiko: the user's ssh (config, agent, known_hosts) decides. The ssh client
runs in a session of its own: it never prompts on the terminal (an unknown host key fails at
once) and Ctrl-C goes to devenv, which still needs the engine to clean up.

DEVENV_SSH_CONFIG=FILE runs `ssh -F FILE` (a config other than ~/.ssh/config, e.g. the test
engine's, whose known_hosts pins the engine's host key)."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import tempfile
import threading
import urllib.parse
from typing import IO, Any

import requests.adapters
import urllib3
import urllib3.connection
import urllib3.connectionpool

from devenv.errors import EngineError

SSH_CONFIG_ENV = "DEVENV_SSH_CONFIG"
CONNECT_TIMEOUT = 5  # ssh's ConnectTimeout, seconds
BASE_URL = "http+docker://devenv-ssh"


@dataclasses.dataclass(frozen=True)
class SSHTarget:
    """ssh://[user@]host[:port] as the ssh command line wants it."""

    host: str
    user: str | None = None
    port: int | None = None

    def command(self, config: str | None = None) -> list[str]:
        args = ["ssh"]
        if config:
            args += ["-F", config]
        args += ["-o", f"ConnectTimeout={CONNECT_TIMEOUT}", "-T"]
        if self.user:
            args += ["-l", self.user]
        if self.port:
            args += ["-p", str(self.port)]
        return [*args, "--", self.host, "docker system dial-stdio"]


def parse(address: str) -> SSHTarget:
    """The target of an ssh:// address; EngineError on one ssh cannot use."""
    parts = urllib.parse.urlsplit(address)
    try:
        port = parts.port
    except ValueError:
        raise EngineError(f"bad engine address {address}: the port is not a number") from None
    if parts.scheme != "ssh" or not parts.hostname or parts.path not in ("", "/") or parts.password:
        raise EngineError(f"bad engine address {address}: expected ssh://[user@]host[:port]")
    return SSHTarget(host=parts.hostname, user=parts.username or None, port=port)


class _Errors:
    """The last lines ssh printed on stderr (why a connection failed)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = ""

    def record(self, stream: IO[bytes]) -> None:
        stream.seek(0)
        text = stream.read().decode("utf-8", "replace").strip()
        if text:
            with self.lock:
                self.last = text.splitlines()[-1][:300]


class SSHConnection(urllib3.connection.HTTPConnection):
    def __init__(self, command: list[str], errors: _Errors, timeout: float | None) -> None:
        super().__init__("localhost", timeout=timeout)
        self._command = command
        self._errors = errors
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None

    def connect(self) -> None:
        mine, theirs = socket.socketpair()
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  # closed in close(), once ssh has exited
        try:
            self._proc = subprocess.Popen(self._command, stdin=theirs.fileno(), stdout=theirs.fileno(), stderr=self._stderr,
                                          start_new_session=True, close_fds=True)
        except OSError as exc:
            mine.close()
            raise EngineError(f"cannot run ssh ({exc.strerror}): ssh:// engines need the ssh client") from None
        finally:
            theirs.close()
        mine.settimeout(self.timeout if isinstance(self.timeout, (int, float)) else None)
        self.sock = mine

    def close(self) -> None:
        super().close()
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                proc.wait(timeout=2)  # EOF on its stdin: dial-stdio ends, ssh exits
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._stderr is not None:
            self._errors.record(self._stderr)
            self._stderr.close()
            self._stderr = None


class SSHConnectionPool(urllib3.connectionpool.HTTPConnectionPool):
    def __init__(self, command: list[str], errors: _Errors, timeout: float, maxsize: int) -> None:
        super().__init__("localhost", timeout=timeout, maxsize=maxsize)
        self._command = command
        self._errors = errors

    def _new_conn(self) -> Any:
        timeout = self.timeout.connect_timeout if isinstance(self.timeout, urllib3.util.Timeout) else self.timeout
        return SSHConnection(self._command, self._errors, timeout if isinstance(timeout, (int, float)) else None)


class SSHAdapter(requests.adapters.HTTPAdapter):
    """requests' adapter for BASE_URL: each connection an ssh process."""

    def __init__(self, target: SSHTarget, timeout: float, config: str | None = None, maxsize: int = 10) -> None:
        super().__init__()
        self.target = target
        self.errors = _Errors()
        self._pool = SSHConnectionPool(target.command(config), self.errors, timeout, maxsize)

    def get_connection(self, url: Any, proxies: Any = None) -> Any:
        return self._pool

    def get_connection_with_tls_context(self, request: Any, verify: Any, proxies: Any = None, cert: Any = None) -> Any:
        return self._pool

    def request_url(self, request: Any, proxies: Any) -> str:
        return str(request.path_url)  # no proxies for a connection that is a process

    def last_error(self) -> str:
        return self.errors.last

    def close(self) -> None:
        self._pool.close()
        super().close()


def api_client(address: str, version: str, timeout: int) -> Any:
    """The docker SDK's low-level client, its requests going through ssh (not the SDK's ssh
    support, which needs paramiko)."""
    import docker

    target = parse(address)
    client = docker.APIClient(base_url="tcp://127.0.0.1:9", version=version, timeout=timeout)  # replaced below
    client.mount("http+docker://", SSHAdapter(target, timeout, os.environ.get(SSH_CONFIG_ENV) or None))
    client.base_url = BASE_URL
    return client


def failure(client: Any) -> str:
    """ssh's own words on why it could not reach the engine ('' when it said nothing)."""
    adapter = getattr(client, "adapters", {}).get("http+docker://")
    return adapter.last_error() if isinstance(adapter, SSHAdapter) else ""
