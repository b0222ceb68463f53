"""engine.digests with a fake engine and registry: which references go to the registry, the local
fallback with one warning per registry, offline."""

from __future__ import annotations

import dataclasses
from typing import Any

from devenv.engine import digests
from devenv.engine.api import NotFound

DL, DR = "sha256:" + "1" * 64, "sha256:" + "2" * 64


class FakeAPI:
    def __init__(self, images: dict[str, dict[str, Any]]) -> None:
        self.images = images

    def inspect_image(self, reference: str) -> dict[str, Any]:
        if reference not in self.images:
            raise NotFound(404, f"No such image: {reference}")
        return self.images[reference]


@dataclasses.dataclass
class Answer:
    digest: str
    platform_digest: str
    config_digest: str


class Registry:
    def __init__(self, fail: Exception | None = None) -> None:
        self.asked: list[str] = []
        self.fail = fail

    def __call__(self, reference: str, platform: str | None) -> Answer:
        self.asked.append(reference)
        if self.fail:
            raise self.fail
        return Answer(DR, DR, "sha256:config")


API = FakeAPI({
    "devenv/busybox:latest": {"Id": "sha256:local", "RepoDigests": []},
    "127.0.0.1:5000/x/db:1": {"Id": "sha256:pulled", "RepoDigests": [f"127.0.0.1:5000/x/db@{DL}", f"other/db@{DR}"]},
})


def test_local_only_image_needs_no_registry() -> None:
    registry = Registry()
    found = digests.resolve_one(API, "devenv/busybox:latest", "linux/amd64", offline=False, registry=registry)
    assert (found.id, found.digest, found.source) == ("sha256:local", None, "local") and registry.asked == []


def test_registry_answer_wins_and_gives_the_id() -> None:
    registry = Registry()
    found = digests.resolve_one(API, "127.0.0.1:5000/x/db:1", "linux/amd64", offline=False, registry=registry)
    assert (found.digest, found.platform_digest, found.id, found.local_id) == (DR, DR, "sha256:config", "sha256:pulled")
    missing = digests.resolve_one(API, "127.0.0.1:5000/x/new:1", None, offline=False, registry=registry)
    assert missing.digest == DR and registry.asked == ["127.0.0.1:5000/x/db:1", "127.0.0.1:5000/x/new:1"]


def test_offline_uses_the_repo_digest_of_the_same_repository() -> None:
    registry = Registry()
    found = digests.resolve_one(API, "127.0.0.1:5000/x/db:1", None, offline=True, registry=registry)
    assert (found.digest, found.id, found.platform_digest) == (DL, "sha256:pulled", None) and registry.asked == []


def test_unreachable_registry_falls_back_with_one_warning() -> None:
    lines: list[str] = []
    registry = Registry(OSError("connection refused"))
    wanted = [("127.0.0.1:5000/x/db:1", "linux/amd64"), ("127.0.0.1:5000/x/db:1", "linux/arm64"), ("127.0.0.1:5000/x/gone:1", None)]
    found = digests.resolve_all(API, wanted, offline=False, warn=lines.append, registry=registry)
    assert found[wanted[0]].digest == DL and found[wanted[2]].digest is None
    assert len(lines) == 1 and "registry 127.0.0.1:5000" in lines[0] and "connection refused" in lines[0]


def test_digest_reference_is_its_own_digest() -> None:
    registry = Registry()
    found = digests.resolve_one(API, f"127.0.0.1:5000/x/db@{DL}", None, offline=False, registry=registry)
    assert found.digest == DL and registry.asked == []


def test_familiar_names() -> None:
    assert digests.familiar("busybox:1") == "busybox"
    assert digests.familiar("docker.io/library/busybox") == "busybox"
    assert digests.familiar("127.0.0.1:5000/x/db:1") == "127.0.0.1:5000/x/db"
