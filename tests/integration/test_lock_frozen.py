"""`devenv lock` and `up --frozen` against the real engine and the local registry (REGISTRY in
scripts/images.env): a tag moved in the registry is reported stale while `up --frozen` still runs
the locked image (pulled by digest); a built service whose FROM base moved is stale, and
`up --frozen` builds it on the locked base.

Each test pushes to repositories of its own (h3lock-<random>/...); its manifests are deleted from
the registry afterwards and its local tags and images removed."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import docker.errors
import pytest

from devenv.registry import RegistryClient
from tests.engine_helpers import cleanup_project
from tests.images import BUSYBOX_IMAGE, REGISTRY
from tests.integration.test_engine_support import devenv, inspect, ok, output, write_compose

pytestmark = [pytest.mark.engine]


class Pushed:
    """Images a test built and pushed: removed locally and from the registry when it ends."""

    def __init__(self, engine: docker.DockerClient, project: str) -> None:
        self.engine = engine
        self.project = project
        self.repo = f"h3lock-{uuid.uuid4().hex[:10]}"
        self.manifests: list[tuple[str, str]] = []
        self.images: list[str] = []

    def build_and_push(self, name: str, marker: str) -> tuple[str, str, str]:
        """An image FROM busybox holding /marker = `marker`, pushed as REGISTRY/<repo>/<name>:1:
        (reference, repo digest, image ID)."""
        repository = f"{REGISTRY}/{self.repo}/{name}"
        dockerfile = f"FROM {BUSYBOX_IMAGE}\nRUN echo {marker} > /marker\n".encode()
        image, _ = self.engine.images.build(fileobj=io.BytesIO(dockerfile), tag=f"{repository}:1", rm=True)
        self.images.append(image.id)
        for line in self.engine.api.push(repository, tag="1", stream=True, decode=True):
            assert "error" not in line, line
        image = self.engine.images.get(image.id)
        (repo_digest,) = [d for d in image.attrs["RepoDigests"] if d.startswith(repository + "@")]
        digest = repo_digest.partition("@")[2]
        self.manifests.append((f"{self.repo}/{name}", digest))
        return f"{repository}:1", digest, image.id

    def cleanup(self) -> None:
        cleanup_project(self.engine, self.project)  # its containers and built images first: they use ours
        client = RegistryClient(REGISTRY)
        for repo, digest in reversed(self.manifests):
            try:
                client.delete_manifest(repo, digest)
            except Exception:  # best effort: the repository name is unique anyway
                pass
        for image in self.images:
            try:
                self.engine.images.remove(image, force=True)
            except docker.errors.APIError:
                pass


@pytest.fixture
def pushed(engine: docker.DockerClient, base_images: tuple[str, str], project_name: str) -> Iterator[Pushed]:
    state = Pushed(engine, project_name)
    yield state
    state.cleanup()


def lock_json(folder: Path) -> dict:
    return json.loads((folder / "devenv.lock").read_text())


def test_moved_tag_is_stale_and_frozen_up_runs_the_locked_image(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, pushed: Pushed
) -> None:
    reference, digest_a, id_a = pushed.build_and_push("db", "A")
    write_compose(tmp_path, f"""
        services:
          db:
            image: {reference}
            command: ["sleep", "300"]
    """)
    ok(devenv(tmp_path, project_name, "lock"))
    entry = lock_json(tmp_path)["services"]["db"]
    assert (entry["digest"], entry["id"], entry["platform_digest"]) == (digest_a, id_a, digest_a)
    first = (tmp_path / "devenv.lock").read_bytes()
    result = ok(devenv(tmp_path, project_name, "lock"))
    assert "up to date" in result.stdout and (tmp_path / "devenv.lock").read_bytes() == first

    _, digest_b, id_b = pushed.build_and_push("db", "B")  # the same tag, other content
    assert digest_b != digest_a
    check = devenv(tmp_path, project_name, "lock", "--check")
    assert check.returncode == 1, output(check)
    assert f"db: tag {reference} moved" in check.stdout, output(check)

    engine.images.remove(id_a, force=True)  # the locked image must come back from the registry, by digest
    ok(devenv(tmp_path, project_name, "up", "--frozen"))
    container = inspect(engine, f"{project_name}-db-1")
    assert container["Image"] == id_a != id_b
    assert container["Config"]["Image"].endswith("@" + digest_a)
    assert (tmp_path / "devenv.lock").read_bytes() == first  # up --frozen never writes the lock

    warned = devenv(tmp_path, project_name, "up")  # without --frozen: one warning line, then the usual up
    assert warned.returncode == 0, output(warned)
    assert "devenv.lock is stale: db:" in warned.stderr, output(warned)


def test_frozen_up_refuses_a_changed_config_and_a_missing_entry(tmp_path: Path, project_name: str, pushed: Pushed) -> None:
    reference, _, _ = pushed.build_and_push("web", "A")
    compose = f"""
        services:
          web:
            image: {reference}
            command: ["sleep", "300"]
            environment:
              LEVEL: "{{level}}"
    """
    write_compose(tmp_path, compose.format(level="info"))
    ok(devenv(tmp_path, project_name, "lock"))
    write_compose(tmp_path, compose.format(level="debug"))
    refused = devenv(tmp_path, project_name, "up", "--frozen")
    assert refused.returncode == 1, output(refused)
    line = refused.stderr.strip()
    assert line.startswith("devenv: web: the lock pins config ") and "run devenv lock --update web" in line, output(refused)
    assert "\n" not in line
    assert not devenv(tmp_path, project_name, "ps", "-q").stdout.strip()  # nothing was created

    (tmp_path / "devenv.lock").unlink()
    missing = devenv(tmp_path, project_name, "up", "--frozen")
    assert missing.returncode == 1 and "no lock file" in missing.stderr, output(missing)


def test_built_service_with_a_moved_base_is_stale_and_frozen_builds_on_the_locked_base(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, pushed: Pushed
) -> None:
    base, digest_a, _ = pushed.build_and_push("base", "A")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(
        f"ARG BASE={base.rpartition(':')[0]}\nFROM ${{BASE}}:1 AS runtime\nCOPY hello /hello\n")
    (tmp_path / "app" / "hello").write_text("hi\n")
    write_compose(tmp_path, """
        services:
          app:
            build: ./app
            command: ["sleep", "300"]
    """)
    ok(devenv(tmp_path, project_name, "lock"))
    entry = lock_json(tmp_path)["services"]["app"]
    assert entry["build"]["bases"] == [{"stage": "runtime", "ref": base, "digest": digest_a, "id": entry["build"]["bases"][0]["id"]}]
    assert entry["build"]["inputs"].startswith("sha256:")
    ok(devenv(tmp_path, project_name, "lock", "--check"))

    pushed.build_and_push("base", "B")
    check = devenv(tmp_path, project_name, "lock", "--check")
    assert check.returncode == 1, output(check)
    assert f"app: base {base} (stage runtime) moved: locked sha256:" in check.stdout, output(check)

    ok(devenv(tmp_path, project_name, "up", "--frozen"))
    marker = engine.containers.get(f"{project_name}-app-1").exec_run(["cat", "/marker"]).output.decode().strip()
    assert marker == "A"  # built FROM the locked digest, not what the tag names now

    (tmp_path / "app" / "hello").write_text("changed\n")
    refused = devenv(tmp_path, project_name, "up", "--frozen")
    assert refused.returncode == 1 and "app: the lock pins build inputs sha256:" in refused.stderr, output(refused)
    stale = devenv(tmp_path, project_name, "lock", "--check", "--offline")
    assert stale.returncode == 1 and "app: build inputs changed" in stale.stdout, output(stale)


def test_update_refreshes_only_the_named_entry(tmp_path: Path, project_name: str, base_images: tuple[str, str]) -> None:
    compose = f"""
        services:
          a:
            image: {BUSYBOX_IMAGE}
            environment: {{{{LEVEL: "{{a}}"}}}}
          b:
            image: {BUSYBOX_IMAGE}
            environment: {{{{LEVEL: "{{b}}"}}}}
    """
    write_compose(tmp_path, compose.format(a="1", b="1"))
    ok(devenv(tmp_path, project_name, "lock", "--offline"))
    before = lock_json(tmp_path)
    write_compose(tmp_path, compose.format(a="2", b="2"))
    check = devenv(tmp_path, project_name, "lock", "--check", "--format", "json")
    assert check.returncode == 1, output(check)
    assert json.loads(check.stdout)["stale"] == [{"service": "a", "reason": "config changed"},
                                                 {"service": "b", "reason": "config changed"}]
    ok(devenv(tmp_path, project_name, "lock", "--update", "a"))
    after = lock_json(tmp_path)
    assert after["services"]["b"] == before["services"]["b"]
    assert after["services"]["a"]["declared"]["environment"] == {"LEVEL": "2"}
    still = devenv(tmp_path, project_name, "lock", "--check")
    assert still.returncode == 1 and still.stdout.strip() == "devenv.lock: b: config changed", output(still)


def test_frozen_refuses_a_digest_that_cannot_be_pulled(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, pushed: Pushed
) -> None:
    reference, digest, image_id = pushed.build_and_push("gone", "A")
    write_compose(tmp_path, f"""
        services:
          gone:
            image: {reference}
            command: ["sleep", "300"]
    """)
    ok(devenv(tmp_path, project_name, "lock"))
    RegistryClient(REGISTRY).delete_manifest(f"{pushed.repo}/gone", digest)
    engine.images.remove(image_id, force=True)
    refused = devenv(tmp_path, project_name, "up", "--frozen")
    assert refused.returncode == 1, output(refused)
    line = refused.stderr.strip()
    assert line.startswith(f"devenv: gone: cannot pull {reference.rpartition(':')[0]}@{digest}: ") and "\n" not in line, output(refused)
    assert not devenv(tmp_path, project_name, "ps", "-aq").stdout.strip()


def test_frozen_runs_a_pushed_build_by_digest_without_building(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, pushed: Pushed
) -> None:
    reference, digest, image_id = pushed.build_and_push("app", "pushed")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX_IMAGE}\nRUN echo local > /marker\n")
    write_compose(tmp_path, """
        services:
          app:
            build: ./app
            command: ["sleep", "300"]
    """)
    ok(devenv(tmp_path, project_name, "lock"))
    data = lock_json(tmp_path)  # what `devenv push` records
    data["services"]["app"].update(pushed=reference, digest=digest, id=image_id)
    (tmp_path / "devenv.lock").write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    engine.images.remove(image_id, force=True)
    result = ok(devenv(tmp_path, project_name, "up", "--frozen"))
    assert "build" not in result.stdout + result.stderr.replace("--build", ""), output(result)
    container = inspect(engine, f"{project_name}-app-1")
    assert container["Image"] == image_id
    assert engine.containers.get(container["Id"]).exec_run(["cat", "/marker"]).output.decode().strip() == "pushed"
    ok(devenv(tmp_path, project_name, "lock"))  # no local build, same inputs: what push recorded is kept
    again = lock_json(tmp_path)["services"]["app"]
    assert (again["pushed"], again["digest"], again["id"]) == (reference, digest, image_id)
    ok(devenv(tmp_path, project_name, "lock", "--check"))
