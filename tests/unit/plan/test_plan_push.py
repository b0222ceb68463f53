"""What `devenv push` sends where (plan/push.py) and the registry credentials (engine/push.auth_config)."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from devenv.engine.push import auth_config
from devenv.errors import RegistryError, UsageError
from devenv.lockfile import LockFile, ServiceLock
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan.push import Pushed, push_targets, record, registry_host, split_tag


def project(tmp_path: Path, text: str):  # type: ignore[no-untyped-def]
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    return load_project(ProjectOptions(cwd=str(tmp_path), environ={}))


@pytest.mark.parametrize(("ref", "expected"), [
    ("web", ("web", "latest")), ("web:1", ("web", "1")), ("127.0.0.1:5000/a/web", ("127.0.0.1:5000/a/web", "latest")),
    ("127.0.0.1:5000/a/web:2", ("127.0.0.1:5000/a/web", "2")),
])
def test_split_tag(ref: str, expected: tuple[str, str]) -> None:
    assert split_tag(ref) == expected


@pytest.mark.parametrize(("ref", "host"), [
    ("web", None), ("team/web", None), ("127.0.0.1:5000/web", "127.0.0.1:5000"), ("localhost/web", "localhost"),
    ("reg.example.com/a/b:1", "reg.example.com"),
])
def test_registry_host(ref: str, host: str | None) -> None:
    assert registry_host(ref) == host


COMPOSE = """
name: shop
services:
  web: {build: ., image: "127.0.0.1:5000/team/web:1.2"}
  api: {build: .}
  worker: {build: ., image: "127.0.0.1:5000/team/web:1.2"}
  db: {image: "devenv/busybox:latest"}
"""


def test_targets_with_a_registry(tmp_path: Path) -> None:
    p = project(tmp_path, COMPOSE)
    targets = push_targets(p, (), "127.0.0.1:5000/envs/prod/")
    assert [(t.service, t.source, t.target, t.registry, t.build, t.services) for t in targets] == [
        ("api", "shop-api", "127.0.0.1:5000/envs/prod/shop-api:latest", "127.0.0.1:5000", True, ("api",)),
        ("web", "127.0.0.1:5000/team/web:1.2", "127.0.0.1:5000/team/web:1.2", "127.0.0.1:5000", True, ("web", "worker")),
    ]
    named = push_targets(p, ("db",), "127.0.0.1:5000")
    assert [(t.target, t.build) for t in named] == [("127.0.0.1:5000/devenv/busybox:latest", False)]


def test_no_registry_is_one_line(tmp_path: Path) -> None:
    p = project(tmp_path, COMPOSE)
    assert [t.service for t in push_targets(p, ("web",), None)] == ["web"]
    with pytest.raises(UsageError) as caught:
        push_targets(p, (), None, "prod")
    assert str(caught.value) == "api: no registry to push to: set x-devenv.environments.prod.registry or name a registry in image:"
    with pytest.raises(UsageError, match="environments.NAME.registry"):
        push_targets(p, ("api",), None)


def test_record_keeps_other_fields_and_creates_entries() -> None:
    old = LockFile("shop", None, {"web": ServiceLock("w", platform="linux/amd64", config_hash="h", declared={"a": 1}, digest="sha256:old")})
    new = record(old, "shop", None, [Pushed("web", "w", "r/w:1", "sha256:new", "sha256:id"), Pushed("api", "shop-api", "r/a:latest", "sha256:a", "sha256:ai")])
    assert new.services["web"] == ServiceLock("w", platform="linux/amd64", config_hash="h", declared={"a": 1}, digest="sha256:new",
                                              pushed="r/w:1", id="sha256:id")
    assert new.services["api"] == ServiceLock("shop-api", pushed="r/a:latest", digest="sha256:a", id="sha256:ai")
    created = record(None, "shop", "prod", [Pushed("api", "shop-api", "r/a:latest", "sha256:a", "sha256:ai")])
    assert created.project == "shop" and created.environment == "prod" and set(created.services) == {"api"}


def test_auth_config_from_the_docker_config() -> None:
    encoded = base64.b64encode(b"alice:pa:ss").decode()
    config = {"auths": {"https://127.0.0.1:5000/v2/": {"auth": encoded}, "other:1": {"identitytoken": "tok"},
                        "third.example": {"username": "bob", "password": "pw"}}}
    assert auth_config("127.0.0.1:5000", config) == {"serveraddress": "127.0.0.1:5000", "username": "alice", "password": "pa:ss"}
    assert auth_config("other:1", config) == {"serveraddress": "other:1", "identitytoken": "tok"}
    assert auth_config("third.example", config) == {"serveraddress": "third.example", "username": "bob", "password": "pw"}
    assert auth_config("nowhere:5000", config) == {}
    assert auth_config("x", {}) == {}


def test_a_damaged_auth_entry_names_the_host_not_the_value() -> None:
    with pytest.raises(RegistryError) as caught:
        auth_config("h:1", {"auths": {"h:1": {"auth": "!!!not-base64"}}})
    assert "h:1" in str(caught.value) and "!!!" not in str(caught.value)


def test_auth_config_asks_the_credential_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `credHelpers` entry wins over `auths`, as docker's: the helper's answer is what the engine gets."""
    helper = tmp_path / "docker-credential-fake"
    helper.write_text('#!/bin/sh\nread host\necho "{\\"Username\\": \\"helped\\", \\"Secret\\": \\"s3\\"}"\n', encoding="utf-8")
    helper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    config = {"credHelpers": {"reg:5000": "fake"}, "auths": {"reg:5000": {"username": "plain", "password": "p"}}}
    assert auth_config("reg:5000", config) == {"serveraddress": "reg:5000", "username": "helped", "password": "s3"}
