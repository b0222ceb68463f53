"""The risky declarations of a manifest (devenv/plan/risks.py), each naming its service, file and line."""

from __future__ import annotations

from typing import Any

import pytest

from devenv.plan.risks import find_risks, is_engine_socket, is_system_folder
from tests.unit.manifest.conftest import Workspace


@pytest.fixture
def manifest(tmp_path: Any) -> Workspace:
    return Workspace(tmp_path)


def risks(manifest: Any, text: str) -> list[Any]:
    manifest.write("compose.yaml", text)
    return find_risks(manifest.load())


@pytest.mark.parametrize("path", ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock",
                                  "/run/podman/podman.sock", "/srv/rootless/docker.sock"])
def test_engine_sockets(path: str) -> None:
    assert is_engine_socket(path)


@pytest.mark.parametrize("path", ["/tmp/app.sock", "/var/run/mysqld/mysqld.sock", "/srv/docker-data"])
def test_not_engine_sockets(path: str) -> None:
    assert not is_engine_socket(path)


@pytest.mark.parametrize("path", ["/", "/etc", "/usr", "/lib", "/lib64", "/proc", "/sys", "/dev", "/root", "/var/run", "/run", "/boot"])
def test_system_folders(path: str) -> None:
    assert is_system_folder(path)


@pytest.mark.parametrize("path", ["/etc/localtime", "/srv/project/src", "/library", "/usr/share/zoneinfo", "/srv/app"])
def test_not_system_folders(path: str) -> None:
    assert not is_system_folder(path)


def test_each_risk_names_service_file_and_line(manifest: Any) -> None:
    found = risks(manifest, """
        services:
          safe:
            image: busybox
            volumes: ["./src:/src", "/etc/localtime:/etc/localtime:ro", "data:/data"]
            cap_add: [NET_ADMIN]
            privileged: false
          ci:
            image: docker
            volumes:
              - /var/run/docker.sock:/var/run/docker.sock
              - type: bind
                source: /
                target: /host
          root:
            image: busybox
            privileged: true
            cap_add: [NET_ADMIN, CAP_SYS_ADMIN]
            volumes: ["/etc/:/host-etc:ro"]
        volumes:
          data: {}
        """)
    got = [(r.service, r.kind, r.detail, r.line) for r in found]
    assert got == [
        ("ci", "engine-socket", "/var/run/docker.sock", 10),
        ("ci", "system-bind", "/", 11),
        ("root", "system-bind", "/etc", 18),
        ("root", "privileged", "true", 16),
        ("root", "capability", "SYS_ADMIN", 17),
    ]
    assert all(r.file and r.file.endswith("compose.yaml") for r in found)
    assert str(found[0]).endswith("service 'ci': mounts the engine socket /var/run/docker.sock: the container "
                                  "controls the engine, i.e. root on the host")
    assert ":10: " in str(found[0])


def test_publishing_beyond_loopback_names_each_publishing_service(manifest: Any) -> None:
    found = risks(manifest, """
        services:
          web: {image: busybox, ports: ["8080:80"]}
          worker: {image: busybox}
        x-devenv:
          publish_host: 0.0.0.0
        """)
    assert [(r.service, r.kind, r.detail, r.line) for r in found] == [("web", "publish-all", "0.0.0.0", 5)]
    assert "publishes its ports beyond this machine's loopback" in str(found[0])


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "127.0.0.2"])
def test_loopback_publishing_is_no_risk(manifest: Any, host: str) -> None:
    assert risks(manifest, f"""
        services:
          web: {{image: busybox, ports: ["8080:80"]}}
        x-devenv:
          publish_host: "{host}"
        """) == []


def test_digest_is_stable_across_edits_elsewhere_and_differs_per_risk(manifest: Any) -> None:
    first = risks(manifest, "services:\n  a: {image: busybox, privileged: true}\n")
    moved = risks(manifest, "# a comment\nservices:\n  b: {image: busybox}\n  a: {image: busybox, privileged: true}\n")
    assert [r.digest for r in first] == [r.digest for r in moved] and first[0].line != moved[0].line
    other = risks(manifest, "services:\n  b: {image: busybox, privileged: true}\n")
    assert other[0].digest != first[0].digest


def test_disabled_services_are_not_checked(manifest: Any) -> None:
    assert risks(manifest, """
        services:
          web: {image: busybox}
          debug: {image: busybox, privileged: true, profiles: [debug]}
        """) == []
