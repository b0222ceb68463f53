"""Registry credentials, as the docker CLI finds them, and the 401 challenge grammar.

Credentials come from `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`):
`credHelpers[host]`, else `credsStore`, run as `docker-credential-NAME get` (the server on stdin,
never through a shell), else `auths[host]` (base64 `auth` or `username`/`password`, and
`identitytoken`). Secrets live only in `Credentials` (hidden from its repr) and in request
headers: no message, log line or exception carries them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devenv.errors import RegistryError

DOCKER_HUB_SERVER = "https://index.docker.io/v1/"  # the key docker stores Docker Hub's credentials under
_HUB_HOSTS = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})
HELPER_TIMEOUT = 60.0  # a helper may ask the user to unlock a keychain


@dataclass(frozen=True)
class Credentials:
    """A user name and a password, or an identity (refresh) token. Secrets are not in repr()."""

    username: str = ""
    password: str = field(default="", repr=False)
    identity_token: str = field(default="", repr=False)

    def basic(self) -> str | None:
        """The `Authorization: Basic` value, or None without a user name and password."""
        if not self.username or not self.password:
            return None
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode("ascii")


@dataclass(frozen=True)
class Challenge:
    """One `WWW-Authenticate` challenge: scheme (lower case) and its parameters."""

    scheme: str
    params: Mapping[str, str]


def config_path(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    folder = env.get("DOCKER_CONFIG")
    if folder:
        return Path(folder) / "config.json"
    return Path(env.get("HOME") or Path.home()) / ".docker" / "config.json"


def load_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The docker CLI's config.json as a dict ({} when there is none)."""
    path = config_path(env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise RegistryError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict):
        raise RegistryError(f"{path}: not a JSON object")
    return data


def server_key(host: str) -> str:
    """The key docker files a registry's credentials under (Docker Hub's is its v1 URL)."""
    return DOCKER_HUB_SERVER if host in _HUB_HOSTS else host


def _hostname_of_key(key: str) -> str:
    """`https://host:5000/v1/` -> `host:5000`, as docker's ConvertToHostname."""
    stripped = re.sub(r"^[a-z]+://", "", key.strip())
    return stripped.split("/", 1)[0]


def credentials(host: str, env: Mapping[str, str] | None = None, config: Mapping[str, Any] | None = None) -> Credentials | None:
    """The credentials docker would use for the registry `host` (host[:port]), or None."""
    config = load_config(env) if config is None else config
    key = server_key(host)
    wanted = {key, host} if host not in _HUB_HOSTS else _HUB_HOSTS | {key}
    helpers = config.get("credHelpers") or {}
    if isinstance(helpers, dict):
        for name, helper in helpers.items():
            if (name in wanted or _hostname_of_key(name) in wanted) and isinstance(helper, str) and helper:
                return run_helper(helper, key, env)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = run_helper(store, key, env)
        if found is not None:
            return found
    auths = config.get("auths") or {}
    if isinstance(auths, dict):
        for name, entry in auths.items():
            if (name in wanted or _hostname_of_key(name) in wanted) and isinstance(entry, dict):
                found = _from_auth_entry(entry, name)
                if found is not None:
                    return found
    return None


def _from_auth_entry(entry: Mapping[str, Any], name: str) -> Credentials | None:
    username = str(entry.get("username") or "")
    password = str(entry.get("password") or "")
    token = str(entry.get("identitytoken") or "")
    encoded = entry.get("auth")
    if isinstance(encoded, str) and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=False).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise RegistryError(f"docker config: the auth entry of {name} is not base64 of user:password") from None
        user, sep, secret = decoded.partition(":")
        if not sep:
            raise RegistryError(f"docker config: the auth entry of {name} is not base64 of user:password")
        username, password = user, secret
    if not (username or token):
        return None
    return Credentials(username=username, password=password, identity_token=token)


def run_helper(helper: str, server: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """Ask `docker-credential-HELPER get` for the server's credentials; None when it has none."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", helper):
        raise RegistryError(f"docker config: invalid credential helper name {helper!r}")
    program = f"docker-credential-{helper}"
    try:
        done = subprocess.run(
            [program, "get"],
            input=server.encode(),
            capture_output=True,
            timeout=HELPER_TIMEOUT,
            env=dict(env) if env is not None else None,
            check=False,
        )
    except FileNotFoundError:
        raise RegistryError(f"credential helper {program} is not installed (named in the docker config)") from None
    except subprocess.TimeoutExpired:
        raise RegistryError(f"credential helper {program} did not answer in {HELPER_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise RegistryError(f"credential helper {program} cannot run: {exc.strerror or exc}") from None
    out = done.stdout.decode("utf-8", "replace").strip()
    if done.returncode != 0:
        text = (out or done.stderr.decode("utf-8", "replace")).strip()
        if "credentials not found" in text.lower():
            return None
        first = text.splitlines()[0][:200] if text else ""
        if "{" in first or "secret" in first.lower():  # what a helper printed might hold a secret: leave it out
            first = ""
        raise RegistryError(f"credential helper {program} failed for {server} (exit {done.returncode}){': ' + first if first else ''}")
    try:
        answer = json.loads(out)
    except json.JSONDecodeError:
        raise RegistryError(f"credential helper {program} answered something that is not JSON for {server}") from None
    if not isinstance(answer, dict):
        raise RegistryError(f"credential helper {program} answered something that is not a JSON object for {server}")
    username = str(answer.get("Username") or "")
    secret = str(answer.get("Secret") or "")
    if not secret:
        return None
    if username == "<token>":  # docker's marker for an identity token
        return Credentials(identity_token=secret)
    return Credentials(username=username, password=secret)


_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_PARAM = re.compile(rf"\s*({_TOKEN})\s*=\s*(?:\"((?:[^\"\\]|\\.)*)\"|({_TOKEN}))\s*")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse a `WWW-Authenticate` value: `Bearer realm="...",service="...",scope="..."`, `Basic realm=...`."""
    challenges: list[Challenge] = []
    pos = 0
    text = header or ""
    while pos < len(text):
        match = re.compile(rf"[\s,]*({_TOKEN})").match(text, pos)
        if not match:
            break
        scheme = match.group(1).lower()
        pos = match.end()
        params: dict[str, str] = {}
        while True:
            param = _PARAM.match(text, pos)
            if not param:
                break
            name = param.group(1).lower()
            value = param.group(2) if param.group(2) is not None else param.group(3)
            params[name] = re.sub(r"\\(.)", r"\1", value)
            pos = param.end()
            if pos < len(text) and text[pos] == ",":
                # the next item is a parameter of this challenge unless it is `scheme` followed by space/end
                ahead = re.compile(rf",\s*({_TOKEN})\s*(=)?").match(text, pos)
                if ahead and ahead.group(2):
                    pos += 1
                    continue
            break
        challenges.append(Challenge(scheme=scheme, params=params))
    return challenges
