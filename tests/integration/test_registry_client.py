"""The registry client against the real local registry (Debian's docker-registry, REGISTRY in
scripts/images.env): digests agree with what the engine reports after a push, an OCI index
resolves per platform, blobs and OCI artifacts round-trip byte-identical.

Every test uses its own repository (h2test-<random>/...); the manifests it pushed are deleted
afterwards (the registry allows deletes) and its local tags removed."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from devenv.errors import RegistryError
from devenv.registry import RegistryClient, resolve_digest
from devenv.registry.artifacts import EMPTY_CONFIG_TYPE, pull_artifact, push_artifact
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
    assert RegistryClient(REGISTRY).head_digest(reference.partition("/")[2].rpartition(":")[0], "1") == repo_digest
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


def test_artifact_round_trip_is_byte_identical(pushed: Pushed, tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "vol").mkdir(parents=True)
    big = os.urandom(3 * 1024 * 1024 + 17)  # more than one read chunk
    (source / "data.tar").write_bytes(big)
    (source / "vol" / "manifest.json").write_bytes(b'{"volumes": []}\n')
    (source / "empty").write_bytes(b"")
    files = [
        (source / "data.tar", "application/vnd.devenv.volume.tar", "data.tar"),
        (source / "vol" / "manifest.json", "application/json", "meta/manifest.json"),
        (source / "empty", "application/octet-stream", "empty"),
    ]
    reference = f"{REGISTRY}/{pushed.repo}/snap:1"
    pushed_progress: list[tuple[str, int, int]] = []
    digest = push_artifact(
        reference, files, "application/vnd.devenv.snapshot.v1", {"org.example.note": "seed"},
        progress=lambda *a: pushed_progress.append(a),
    )
    pushed.remember(f"{pushed.repo}/snap", digest)
    assert ("data.tar", len(big), len(big)) in pushed_progress

    manifest = pushed.client.manifest(f"{pushed.repo}/snap", "1")
    assert manifest.digest == digest
    body = manifest.json()
    assert body["artifactType"] == "application/vnd.devenv.snapshot.v1"
    assert body["config"] == {"mediaType": EMPTY_CONFIG_TYPE, "digest": sha256_of(b"{}"), "size": 2}
    titles = [layer["annotations"]["org.opencontainers.image.title"] for layer in body["layers"]]
    assert titles == ["data.tar", "meta/manifest.json", "empty"]

    dest = tmp_path / "dest"
    pulled_progress: list[tuple[str, int, int]] = []
    pulled = pull_artifact(reference, dest, progress=lambda *a: pulled_progress.append(a))
    assert pulled.digest == digest
    assert pulled.artifact_type == "application/vnd.devenv.snapshot.v1"
    assert pulled.annotations == {"org.example.note": "seed"}
    assert [(f.title, f.size) for f in pulled.files] == [("data.tar", len(big)), ("meta/manifest.json", 16), ("empty", 0)]
    assert (dest / "data.tar").read_bytes() == big
    assert (dest / "meta" / "manifest.json").read_bytes() == b'{"volumes": []}\n'
    assert (dest / "empty").read_bytes() == b""
    assert stat.S_IMODE((dest / "data.tar").stat().st_mode) == 0o600
    assert pulled_progress[0] == ("data.tar", 0, len(big))
    assert ("data.tar", len(big), len(big)) in pulled_progress
    assert pulled_progress[-1] == ("empty", 0, 0)
    # pulling again into the same folder refuses to overwrite and leaves the files as they are
    with pytest.raises(RegistryError, match="already exists"):
        pull_artifact(reference, dest)
    assert (dest / "data.tar").read_bytes() == big


def _push_raw_artifact(pushed: Pushed, repo: str, layers: list[dict], tag: str) -> str:
    config = pushed.client.put_blob(repo, b"{}")
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.devenv.test",
        "config": {"mediaType": EMPTY_CONFIG_TYPE, "digest": config, "size": 2},
        "layers": layers,
    }
    digest = pushed.client.put_manifest(repo, tag, manifest["mediaType"], json.dumps(manifest).encode())
    pushed.remember(repo, digest)
    return digest


@pytest.mark.parametrize("title", ["../escape", "/abs/path", "a/../../b", "a//b", "."])
def test_pull_refuses_titles_escaping_the_folder(pushed: Pushed, tmp_path: Path, title: str) -> None:
    repo = f"{pushed.repo}/evil"
    blob = pushed.client.put_blob(repo, b"owned\n")
    layer = {"mediaType": "text/plain", "digest": blob, "size": 6, "annotations": {"org.opencontainers.image.title": title}}
    _push_raw_artifact(pushed, repo, [layer], "1")
    dest = tmp_path / "inner" / "dest"
    with pytest.raises(RegistryError, match="refusing the artifact"):
        pull_artifact(f"{REGISTRY}/{repo}:1", dest)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_pull_refuses_a_symbolic_link_on_the_way(pushed: Pushed, tmp_path: Path) -> None:
    repo = f"{pushed.repo}/link"
    blob = pushed.client.put_blob(repo, b"owned\n")
    layer = {"mediaType": "text/plain", "digest": blob, "size": 6, "annotations": {"org.opencontainers.image.title": "sub/file"}}
    _push_raw_artifact(pushed, repo, [layer], "1")
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    with pytest.raises(RegistryError, match="symbolic link"):
        pull_artifact(f"{REGISTRY}/{repo}:1", dest)
    assert list(outside.iterdir()) == []


def test_pull_refuses_a_layer_whose_size_lies_and_leaves_nothing(pushed: Pushed, tmp_path: Path) -> None:
    repo = f"{pushed.repo}/size"
    good = pushed.client.put_blob(repo, b"good\n")
    liar = pushed.client.put_blob(repo, b"0123456789")
    layers = [
        {"mediaType": "text/plain", "digest": good, "size": 5, "annotations": {"org.opencontainers.image.title": "good"}},
        {"mediaType": "text/plain", "digest": liar, "size": 3, "annotations": {"org.opencontainers.image.title": "liar"}},
    ]
    _push_raw_artifact(pushed, repo, layers, "1")
    dest = tmp_path / "dest"
    with pytest.raises(RegistryError):
        pull_artifact(f"{REGISTRY}/{repo}:1", dest)
    assert list(dest.iterdir()) == []


def test_blob_round_trip_from_a_file(pushed: Pushed, tmp_path: Path) -> None:
    repo = f"{pushed.repo}/blobs"
    source = tmp_path / "blob"
    source.write_bytes(os.urandom(2 * 1024 * 1024 + 5))
    digest = pushed.client.put_blob(repo, source)
    assert digest == sha256_of(source.read_bytes())
    assert pushed.client.blob_exists(repo, digest)
    assert not pushed.client.blob_exists(repo, sha256_of(b"never pushed"))
    assert pushed.client.put_blob(repo, source) == digest  # already there: no upload
    out = tmp_path / "out"
    assert pushed.client.get_blob(repo, digest, out) == source.stat().st_size
    assert out.read_bytes() == source.read_bytes()


def test_config_blob_hashes_to_the_image_id(pushed: Pushed, pushed_busybox: tuple[str, str, str], tmp_path: Path) -> None:
    _, _, image_id = pushed_busybox
    out = tmp_path / "config"
    pushed.client.get_blob(f"{pushed.repo}/bb", image_id, out)
    assert sha256_of(out.read_bytes()) == image_id
    assert json.loads(out.read_bytes())["rootfs"]["type"] == "layers"


def test_an_artifact_without_files(pushed: Pushed, tmp_path: Path) -> None:
    reference = f"{REGISTRY}/{pushed.repo}/nothing:1"
    digest = push_artifact(reference, [], "application/vnd.devenv.snapshot.v1", {"k": "v"})
    pushed.remember(f"{pushed.repo}/nothing", digest)
    layers = pushed.client.manifest(f"{pushed.repo}/nothing", "1").json()["layers"]
    assert layers == [{"mediaType": EMPTY_CONFIG_TYPE, "digest": sha256_of(b"{}"), "size": 2}]
    pulled = pull_artifact(reference, tmp_path / "dest")
    assert (pulled.files, pulled.annotations) == ((), {"k": "v"})
    assert list((tmp_path / "dest").iterdir()) == []
