"""Fixtures shared by every test.

Unit tests load this file too, so it stays light: the docker SDK is imported only inside
the engine fixtures. Any test that uses `engine` (directly or through `project_name`,
`base_images`) is marked `engine`, so `-m "not engine"` runs the unit tests alone.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests import remote_engine as remote
from tests.engine_helpers import cleanup_project, compose_binary
from tests.images import BUSYBOX_IMAGE, PYTHON_IMAGE

if TYPE_CHECKING:
    import docker


_CACHE_PREFIX = "devenv-test-cache-"


def pytest_configure(config: pytest.Config) -> None:
    """The parse cache of every load (and of every `devenv` the tests start) goes to a scratch
    folder of this run, never the user's ~/.cache."""
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix=_CACHE_PREFIX)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _session_remote:  # DEVENV_TEST_ENGINE: the engine this session started
        remote.stop(_session_remote[0].name)
    folder = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.basename(folder).startswith(_CACHE_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    uses_engine = False
    for item in items:
        if "engine" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.engine)
            uses_engine = True
    if uses_engine and remote.mode():
        _start_session_remote()


_session_remote: list[remote.RemoteEngine] = []  # the DEVENV_TEST_ENGINE engine, once started


def _start_session_remote() -> None:
    """DEVENV_TEST_ENGINE=tls|ssh: start a remote engine for this session and point os.environ
    (so every devenv and Compose subprocess) at it; stopped at the end of the session."""
    how = remote.mode()
    assert how is not None
    try:
        found = remote.start(remote.unique_name())
    except (RuntimeError, OSError) as exc:
        pytest.exit(f"{remote.MODE_ENV}={how}: {exc}", returncode=1)
    _session_remote.append(found)
    for key in remote.ENGINE_VARS:
        os.environ.pop(key, None)
    os.environ.update(found.env(how))


@pytest.fixture(scope="session")
def remote_engine() -> Iterator[remote.RemoteEngine]:
    """A remote engine (dockerd with its own filesystem, TLS and ssh; tests/remote_engine.py):
    the session's under DEVENV_TEST_ENGINE, else one started now and removed at the end."""
    if _session_remote:
        yield _session_remote[0]
        return
    name = remote.unique_name()
    problem = ""
    try:
        found = remote.start(name)
    except (RuntimeError, OSError) as exc:
        problem = str(exc)
    if problem:
        remote.stop(name)
        pytest.fail(f"the remote test engine did not start: {problem}", pytrace=False)
    try:
        yield found
    finally:
        remote.stop(name)


@pytest.fixture(scope="session")
def engine() -> Iterator[docker.DockerClient]:
    """A client of the Docker engine the environment points at; fails if none answers."""
    import docker

    problem = ""  # fail outside `except`: the report is then one line, not a traceback chain
    try:
        client = _session_remote[0].client() if _session_remote else docker.from_env()
        client.ping()
    except (docker.errors.DockerException, OSError) as exc:
        problem = str(exc)
    if problem:
        pytest.fail(f"no Docker engine answers ({problem}); run scripts/setup.sh", pytrace=False)
    yield client
    client.close()


@pytest.fixture
def project_name(engine: docker.DockerClient) -> Iterator[str]:
    """A unique Compose project name; everything carrying it is removed afterwards."""
    name = f"dvt-{uuid.uuid4().hex[:8]}"
    yield name
    cleanup_project(engine, name)


@pytest.fixture(scope="session")
def compose_bin() -> str:
    """Path of the reference Docker Compose v2 binary."""
    try:
        return compose_binary()
    except RuntimeError as exc:
        problem = str(exc)
    pytest.fail(problem, pytrace=False)


@pytest.fixture(scope="session")
def base_images(engine: docker.DockerClient) -> tuple[str, str]:
    """The offline base images (busybox, python); fails if either is missing."""
    import docker

    missing = []
    for image in (BUSYBOX_IMAGE, PYTHON_IMAGE):
        try:
            engine.images.get(image)
        except docker.errors.ImageNotFound:
            missing.append(image)
    if missing:
        pytest.fail(f"base images missing: {', '.join(missing)}; run scripts/images.sh", pytrace=False)
    return BUSYBOX_IMAGE, PYTHON_IMAGE
