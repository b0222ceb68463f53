"""The registry client against the real local registry (Debian's docker-registry, REGISTRY in
scripts/images.env): digests agree with what the engine reports after a push, an OCI index
resolves per platform, blobs and OCI artifacts round-trip byte-identical.

Every test uses its own repository (h2test-<random>/...); the manifests it pushed are deleted
afterwards (the registry allows deletes) and its local tags removed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from devenv.errors import RegistryError
from devenv.registry import RegistryClient, resolve_digest
from devenv.registry.client import sha256_of
from tests.images import BUSYBOX_IMAGE, REGISTRY

if TYPE_CHECKING:
    import docker

pytestmark = [pytest.mark.engine]


class Pushed:
    """Manifests pushed by a test, deleted from the registry when it ends."""

    def __init__(self) -> None:
        self.client = RegistryClient(REGISTRY)
        self.repo = f"h2test-{uuid.uuid4().hex[:10]}"
        self.manifests: list[tuple[str, str]] = []

    def remember(self, repo: str, digest: str) -> None:
        self.manifests.append((repo, digest))

    def cleanup(self) -> None:
        for repo, digest in reversed(self.manifests):
            try:
                self.client.delete_manifest(repo, digest)
            except Exception:  # cleanup is best effort: the repository name is unique anyway
                pass


@pytest.fixture
def pushed() -> Iterator[Pushed]:
    state = Pushed()
    yield state
    state.cleanup()


@pytest.fixture
def pushed_busybox(engine: docker.DockerClient, base_images: tuple[str, str], pushed: Pushed) -> Iterator[tuple[str, str, str]]:
    """BUSYBOX_IMAGE pushed as REGISTRY/h2test-<random>/bb:1: (reference, repo digest, image ID)."""
    repository = f"{REGISTRY}/{pushed.repo}/bb"
    image = engine.images.get(BUSYBOX_IMAGE)
    image.tag(repository, "1")
    try:
        for line in engine.api.push(repository, tag="1", stream=True, decode=True):
            assert "error" not in line, line
        image = engine.images.get(f"{repository}:1")
        (repo_digest,) = [d for d in image.attrs["RepoDigests"] if d.startswith(repository + "@")]
        digest = repo_digest.partition("@")[2]
        pushed.remember(f"{pushed.repo}/bb", digest)
        yield f"{repository}:1", digest, image.id
    finally:
        engine.images.remove(f"{repository}:1", noprune=True)


def test_resolve_digest_matches_the_engine(pushed_busybox: tuple[str, str, str]) -> None:
    reference, repo_digest, image_id = pushed_busybox
    resolved = resolve_digest(reference)
    assert resolved.digest == repo_digest
    assert resolved.platform_digest == repo_digest  # a single manifest
    assert resolved.config_digest == image_id
    assert resolved.media_type == "application/vnd.docker.distribution.manifest.v2+json"
    assert resolved.platforms == ("linux/amd64",) or resolved.platforms[0].startswith("linux/")
    by_digest = resolve_digest(reference.rpartition(":")[0] + "@" + repo_digest)
    assert (by_digest.digest, by_digest.config_digest) == (repo_digest, image_id)


def _push_image_manifest(client: RegistryClient, repo: str, arch: str, variant: str | None, pushed: Pushed) -> tuple[str, str, int]:
    config = {"architecture": arch, "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}, "config": {}}
    if variant:
        config["variant"] = variant
    raw_config = json.dumps(config).encode()
    config_digest = client.put_blob(repo, raw_config)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": len(raw_config)},
        "layers": [],
    }
    raw = json.dumps(manifest).encode()
    digest = client.put_manifest(repo, sha256_of(raw), manifest["mediaType"], raw)
    pushed.remember(repo, digest)
    return digest, config_digest, len(raw)


def test_oci_index_resolves_the_platform_asked_for(pushed: Pushed) -> None:
    client = pushed.client
    repo = f"{pushed.repo}/multi"
    amd, amd_config, amd_size = _push_image_manifest(client, repo, "amd64", None, pushed)
    arm, arm_config, arm_size = _push_image_manifest(client, repo, "arm64", "v8", pushed)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": amd, "size": amd_size,
             "platform": {"os": "linux", "architecture": "amd64"}},
            {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": arm, "size": arm_size,
             "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        ],
    }
    raw = json.dumps(index).encode()
    index_digest = client.put_manifest(repo, "2", index["mediaType"], raw)
    pushed.remember(repo, index_digest)

    on_arm = resolve_digest(f"{REGISTRY}/{repo}:2", platform="linux/arm64")
    assert (on_arm.digest, on_arm.platform_digest, on_arm.config_digest) == (index_digest, arm, arm_config)
    assert on_arm.media_type == "application/vnd.oci.image.index.v1+json"
    assert on_arm.platforms == ("linux/amd64", "linux/arm64/v8")
    on_amd = resolve_digest(f"{REGISTRY}/{repo}:2", platform="linux/amd64", client=client)
    assert (on_amd.digest, on_amd.platform_digest, on_amd.config_digest) == (index_digest, amd, amd_config)

    with pytest.raises(RegistryError, match=r"no manifest for platform linux/s390x \(offered: linux/amd64, linux/arm64/v8\)"):
        resolve_digest(f"{REGISTRY}/{repo}:2", platform="linux/s390x")


def test_unknown_tag_is_one_line_naming_registry_and_repository(pushed: Pushed) -> None:
    with pytest.raises(RegistryError) as caught:
        resolve_digest(f"{REGISTRY}/{pushed.repo}/none:missing")
    assert str(caught.value) == (
        f"registry {REGISTRY}, repository {pushed.repo}/none: manifest missing: 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)"
    )
