"""`devenv push` and `devenv diff` on the real engine and the local registry (127.0.0.1:5000).

push: the digest it records is the registry's: after removing the local image, pulling
`ref@digest` gives back the very image ID. diff: each planted difference (an environment value, a
port, an image, a base image, an image ID) is found, nothing is found when nothing differs (a lock
against itself, the environment against what `up` started), allowed differences pass, and secret
values never appear in any output.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import BUSYBOX, FOREVER, devenv, free_ports, ok, output, up, write_compose
from tests.images import REGISTRY

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


@pytest.fixture(scope="module")
def registry() -> str:
    """The local registry's address; the tests fail (not skip) without it: scripts/setup.sh starts it."""
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5) as answer:
            status = answer.status
    except OSError as exc:
        pytest.fail(f"no registry answers on {REGISTRY} ({exc}); run scripts/setup.sh", pytrace=False)
    assert status == 200
    return REGISTRY


@pytest.fixture
def pushed_images(engine: docker.DockerClient, project_name: str) -> Iterator[list[str]]:
    """Images the test names (tags or IDs), removed afterwards with every tag under REGISTRY/<project>/."""
    extra: list[str] = []
    yield extra
    for image in engine.api.images():
        names = (image.get("RepoTags") or []) + (image.get("RepoDigests") or [])
        if image["Id"] in extra or any(f"/{project_name}/" in n for n in names):
            try:
                engine.api.remove_image(image["Id"], force=True)
            except docker.errors.NotFound:
                pass


def read_lock(folder: Path, name: str = "devenv.lock") -> dict:
    return json.loads((folder / name).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- push


def test_push_records_the_digest_a_pull_gives_back(
    tmp_path: Path, project_name: str, registry: str, engine: docker.DockerClient, pushed_images: list[str]
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo {uuid.uuid4().hex} > /unique\n", encoding="utf-8")
    reference = f"{registry}/{project_name}/web:t1"
    write_compose(tmp_path, f"""
        services:
          web:
            build: ./app
            image: {reference}
            command: {FOREVER}
          db:
            image: {BUSYBOX}
            command: {FOREVER}
    """)
    result = ok(devenv(tmp_path, project_name, "push"))
    lock = read_lock(tmp_path)["services"]
    assert set(lock) == {"web"}, output(result)  # db builds nothing and was not named
    entry = lock["web"]
    assert entry["pushed"] == reference and entry["image"] == reference
    assert entry["digest"].startswith("sha256:") and entry["id"].startswith("sha256:")
    assert result.stdout.split()[:2] == ["web", f"{reference}@{entry['digest']}"], output(result)

    engine.api.remove_image(entry["id"], force=True)
    engine.api.pull(f"{registry}/{project_name}/web", tag=entry["digest"])
    pulled = engine.api.inspect_image(f"{registry}/{project_name}/web@{entry['digest']}")
    pushed_images.append(pulled["Id"])
    assert pulled["Id"] == entry["id"]

    # pushed again: the other fields of the entry are kept, the file only changes where it must
    data = read_lock(tmp_path)
    data["services"]["web"]["config_hash"] = "kept"
    (tmp_path / "devenv.lock").write_text(json.dumps(data), encoding="utf-8")
    again = ok(devenv(tmp_path, project_name, "push", "web", "--format", "json"))
    rows = json.loads(again.stdout)
    assert [(r["service"], r["digest"], r["id"]) for r in rows] == [("web", entry["digest"], entry["id"])]
    assert read_lock(tmp_path)["services"]["web"] == {**entry, "config_hash": "kept"}


def test_push_to_the_environment_registry_records_in_its_lock(
    tmp_path: Path, project_name: str, registry: str, pushed_images: list[str]
) -> None:
    """`--env stage push`: REGISTRY/<repository>:<tag> with the registry of x-devenv.environments.stage,
    recorded in devenv.stage.lock (the global --env comes with the environments work)."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo {uuid.uuid4().hex} > /unique\n", encoding="utf-8")
    write_compose(tmp_path, f"""
        x-devenv:
          environments:
            stage: {{registry: "{registry}/{project_name}"}}
        services:
          web:
            build: ./app
    """)
    result = ok(devenv(tmp_path, project_name, "--env", "stage", "push"))
    entry = read_lock(tmp_path, "devenv.stage.lock")["services"]["web"]
    assert entry["image"] == f"{project_name}-web"
    assert entry["pushed"] == f"{registry}/{project_name}/{project_name}-web:latest", output(result)
    assert entry["digest"].startswith("sha256:") and entry["id"].startswith("sha256:")
    assert not (tmp_path / "devenv.lock").exists()


def test_push_without_a_registry_is_one_line(tmp_path: Path, project_name: str) -> None:
    write_compose(tmp_path, f"""
        services:
          web:
            image: {BUSYBOX}
    """)
    result = devenv(tmp_path, project_name, "push", "web")
    assert result.returncode == 2, output(result)
    assert result.stderr == (
        "devenv: web: no registry to push to: set x-devenv.environments.NAME.registry or name a registry in image:\n")
    assert not (tmp_path / "devenv.lock").exists()


def test_a_push_that_fails_is_one_line_and_records_nothing(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, pushed_images: list[str]
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text(f"FROM {BUSYBOX}\n", encoding="utf-8")
    nobody = f"127.0.0.1:{free_ports()}"  # no registry listens there
    write_compose(tmp_path, f"""
        services:
          web:
            build: ./app
            image: {nobody}/{project_name}/web:t1
    """)
    result = devenv(tmp_path, project_name, "push")
    assert result.returncode == 1, output(result)
    errors = [line for line in result.stderr.splitlines() if line.startswith("devenv: ")]
    assert len(errors) == 1 and errors[0].startswith(f"devenv: web: push {nobody}/{project_name}/web:t1: "), output(result)
    assert not (tmp_path / "devenv.lock").exists()


# ---------------------------------------------------------------- diff


PASSWORD = f"pw-{uuid.uuid4().hex}"
FILE_SECRET = f"file-secret-{uuid.uuid4().hex}"


def compose_text(port: int, *, a: str = "1", log_level: str = "info", password: str = PASSWORD, image: str = BUSYBOX,
                 allowed: str = "") -> str:
    return f"""
        {allowed}
        services:
          web:
            image: {image}
            command: {FOREVER}
            environment:
              A: "{a}"
              LOG_LEVEL: {log_level}
              DB_PASSWORD: {password}
            ports: ["127.0.0.1:{port}:80", "81"]
            secrets: [tok]
            volumes: ["data:/data", "./side:/src:ro", "/scratch"]
            healthcheck: {{test: ["CMD", "true"], interval: 1s, timeout: 90s, retries: 2}}
            mem_limit: 64m
            cpus: 0.5
            pids_limit: 50
          side:
            build: ./side
            command: {FOREVER}
            environment: {{FROM_IMAGE: "1"}}  # the image's own value, declared too
            deploy: {{resources: {{limits: {{memory: 32M}}, reservations: {{memory: 16M}}}}}}
        secrets:
          tok:
            file: ./tok.txt
        volumes:
          data:
    """


@pytest.fixture
def running(tmp_path: Path, project_name: str, pushed_images: list[str]) -> tuple[Path, int]:
    """web and a built side, brought up by devenv; the secret file and the Dockerfile beside them."""
    port = free_ports()
    (tmp_path / "tok.txt").write_text(FILE_SECRET, encoding="utf-8")
    (tmp_path / "side").mkdir()
    (tmp_path / "side" / "Dockerfile").write_text(f"FROM {BUSYBOX}\nENV FROM_IMAGE=1\nVOLUME /from-image\n", encoding="utf-8")
    write_compose(tmp_path, compose_text(port))
    up(tmp_path, project_name)
    return tmp_path, port


def engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def diff(folder: Path, project: str, *args: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """`devenv diff ARGS` as a table and as JSON; both must agree on the exit code and keep secrets."""
    table = devenv(folder, project, "diff", *args)
    as_json = devenv(folder, project, "diff", *args, "--format", "json")
    for result in (table, as_json):
        everything = result.stdout + result.stderr
        assert PASSWORD not in everything and FILE_SECRET not in everything, output(result)
        assert "pbkdf2" not in everything, output(result)
    assert table.returncode == as_json.returncode, output(table) + output(as_json)
    return table, json.loads(as_json.stdout)


def rows(report: dict) -> set[tuple[str, str, bool]]:
    return {(d["service"], d["field"], d["allowed"]) for d in report["differences"]}


def write_lock(folder: Path, project: str, name: str = "devenv.lock", **changes: object) -> Path:
    """A lock of the project as `devenv lock` writes one (declared facts, image IDs, the built
    service's base), built here with the lock file model."""
    from devenv import lockfile
    from devenv.manifest import load_project
    from devenv.manifest.options import ProjectOptions
    from devenv.plan.declared import project_facts
    from devenv.plan.naming import image_name

    project = load_project(ProjectOptions(project_name=project, cwd=str(folder)))
    client = docker.from_env()
    try:
        services = {}
        for service_name, facts in project_facts(project).items():
            service = project.services[service_name]
            image = client.api.inspect_image(image_name(project.name, service))
            bases = (lockfile.Base("0", BUSYBOX, digest="sha256:" + "1" * 64),) if service.build is not None else ()
            entry = lockfile.ServiceLock(image_name(project.name, service), id=image["Id"], bases=bases, declared=facts)
            services[service_name] = dataclasses.replace(entry, **changes.get(service_name, {}))  # type: ignore[arg-type]
    finally:
        client.close()
    path = folder / name
    lockfile.write(str(path), lockfile.LockFile(project.name, None, services))
    return path


def test_diff_against_the_engine_after_up_is_the_same(running: tuple[Path, int], project_name: str) -> None:
    folder, _ = running
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 0, output(table)
    assert report["same"] is True and report["differences"] == []
    assert table.stdout.splitlines()[-1].startswith("same: "), output(table)
    # with a lock: the running image IDs are compared too
    write_lock(folder, project_name)
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 0 and report["differences"] == [], output(table)


def test_diff_against_the_engine_finds_each_planted_difference(running: tuple[Path, int], project_name: str) -> None:
    folder, port = running
    write_compose(folder, compose_text(port + 1, a="2", password=PASSWORD + "-changed", image=f"{BUSYBOX.split(':')[0]}:other"))
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 1, output(table)
    assert report["same"] is False
    assert rows(report) == {
        ("web", "environment.A", False), ("web", "environment.DB_PASSWORD", False), ("web", "ports", False), ("web", "image", False),
    }, output(table)
    by_field = {d["field"]: d for d in report["differences"]}
    assert (by_field["environment.A"]["left"], by_field["environment.A"]["right"]) == ("2", "1")
    assert by_field["environment.DB_PASSWORD"]["left"] == by_field["environment.DB_PASSWORD"]["right"] == "(secret, differs)"
    assert by_field["ports"]["left"] == [f"127.0.0.1:{port + 1}:80/tcp"] and by_field["ports"]["right"] == [f"127.0.0.1:{port}:80/tcp"]
    assert "(secret, differs)" in table.stdout and table.stdout.splitlines()[-1].startswith("different: "), output(table)


def test_diff_against_the_engine_finds_an_image_the_lock_does_not_pin(running: tuple[Path, int], project_name: str) -> None:
    folder, _ = running
    write_lock(folder, project_name, web={"id": "sha256:" + "4" * 64, "digest": "sha256:" + "5" * 64})
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 1, output(table)
    assert rows(report) == {("web", "image.id", False), ("web", "image.digest", False)}, output(table)
    by_field = {d["field"]: d for d in report["differences"]}
    assert by_field["image.id"]["left"] == "sha256:" + "4" * 64 and by_field["image.id"]["right"].startswith("sha256:")


def test_diff_against_the_engine_reads_back_every_declared_field(running: tuple[Path, int], project_name: str) -> None:
    folder, port = running
    text = compose_text(port)
    for old, new in (("retries: 2", "retries: 3"), ("mem_limit: 64m", "mem_limit: 96m"), ('"./side:/src:ro"', '"./side:/src"'),
                     ("memory: 32M", "memory: 48M"), ("build: ./side\n            command:", "build: ./side\n            entrypoint: [sh, -c]\n            command:")):
        assert old in text
        text = text.replace(old, new)
    write_compose(folder, text)
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 1, output(table)
    assert rows(report) == {
        ("web", "healthcheck", False), ("web", "resources.memory", False), ("web", "volumes", False),
        ("side", "entrypoint", False), ("side", "resources.memory", False),
    }, output(table)
    by_field = {(d["service"], d["field"]): d for d in report["differences"]}
    assert by_field["web", "resources.memory"]["left"] == 96 * 1024**2 and by_field["web", "resources.memory"]["right"] == 64 * 1024**2
    assert by_field["web", "volumes"]["left"] == [f"bind:{folder / 'side'}:/src"]


def test_allowed_differences_exit_0_and_are_marked(running: tuple[Path, int], project_name: str) -> None:
    folder, port = running
    allowed = """x-devenv:
          allowed_differences: ["*.environment.LOG_LEVEL", "web.ports"]"""
    write_compose(folder, compose_text(port + 1, log_level="debug", allowed=allowed))
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 0, output(table)
    assert report["same"] is True
    assert rows(report) == {("web", "environment.LOG_LEVEL", True), ("web", "ports", True)}
    assert [line.split()[-1] for line in table.stdout.splitlines()[1:3]] == ["yes", "yes"], output(table)
    write_compose(folder, compose_text(port + 1, log_level="debug", a="3", allowed=allowed))
    table, report = diff(folder, project_name, "--against-host", engine_address())
    assert table.returncode == 1 and ("web", "environment.A", False) in rows(report), output(table)


def test_diff_lock_against_itself_then_planted_lock_differences(running: tuple[Path, int], project_name: str) -> None:
    folder, _ = running
    write_lock(folder, project_name)
    table, report = diff(folder, project_name, "--against-lock", "devenv.lock")
    assert table.returncode == 0 and report["differences"] == [], output(table)

    write_lock(folder, project_name, "other.lock", side={"bases": ()})
    data = json.loads((folder / "other.lock").read_text(encoding="utf-8"))
    data["services"]["side"]["build"] = {"inputs": None, "bases": [{"stage": "0", "ref": BUSYBOX, "digest": "sha256:" + "2" * 64}]}
    data["services"]["web"]["id"] = "sha256:" + "3" * 64
    (folder / "other.lock").write_text(json.dumps(data), encoding="utf-8")
    table, report = diff(folder, project_name, "--against-lock", "other.lock")
    assert table.returncode == 1, output(table)
    assert rows(report) == {("side", "build.bases.0", False), ("web", "image.id", False)}, output(table)


def test_a_file_secret_differs_without_being_shown(running: tuple[Path, int], project_name: str) -> None:
    folder, _ = running
    write_lock(folder, project_name, "before.lock")
    (folder / "tok.txt").write_text(FILE_SECRET + "-rotated", encoding="utf-8")
    table, report = diff(folder, project_name, "--against-lock", "before.lock")
    assert table.returncode == 1, output(table)
    assert rows(report) == {("web", "secrets./run/secrets/tok", False)}  # plan.declared keys secrets by their target
    assert report["differences"][0]["left"] == report["differences"][0]["right"] == "(secret, differs)"
    assert (FILE_SECRET + "-rotated") not in table.stdout + table.stderr


def test_diff_against_another_environment(tmp_path: Path, project_name: str) -> None:
    """`--against prod`: the project loaded again with the devenv.prod.yaml overlay (the loader's
    --env support comes with the environments work)."""
    port = free_ports()
    (tmp_path / "tok.txt").write_text(FILE_SECRET, encoding="utf-8")
    write_compose(tmp_path, f"""
        x-devenv:
          environments:
            prod: {{lock: devenv.prod.lock}}
        services:
          web:
            image: {BUSYBOX}
            environment: {{A: "1", DB_PASSWORD: {PASSWORD}}}
            ports: ["127.0.0.1:{port}:80"]
    """)
    write_compose(tmp_path, f"""
        services:
          web:
            environment: {{A: "2", DB_PASSWORD: {PASSWORD}-prod}}
    """, name="devenv.prod.yaml")
    table, report = diff(tmp_path, project_name, "--against", "prod")
    assert table.returncode == 1, output(table)
    assert report["right"] == "env prod"
    assert "env prod: no lock file devenv.prod.lock: image digests not compared" in report["notes"]
    assert rows(report) == {("web", "environment.A", False), ("web", "environment.DB_PASSWORD", False)}, output(table)


@pytest.mark.parametrize("args", [(), ("--against", "prod", "--against-lock", "x.lock")])
def test_diff_needs_exactly_one_other_side(tmp_path: Path, project_name: str, args: tuple[str, ...]) -> None:
    write_compose(tmp_path, f"""
        services:
          web: {{image: {BUSYBOX}}}
    """)
    result = devenv(tmp_path, project_name, "diff", *args)
    assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, output(result)
    assert "exactly one of --against ENV, --against-lock FILE, --against-host" in result.stderr


def test_diff_against_a_missing_lock_is_one_line(tmp_path: Path, project_name: str) -> None:
    write_compose(tmp_path, f"""
        services:
          web: {{image: {BUSYBOX}}}
    """)
    result = devenv(tmp_path, project_name, "diff", "--against-lock", "nope.lock")
    assert result.returncode == 2 and result.stderr == "devenv: --against-lock nope.lock: no such lock file\n", output(result)
