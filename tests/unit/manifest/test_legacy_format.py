"""The version-1 layout (services at the top level, no `services:` key): Compose v2 refuses it,
devenv reads it as the modern form with one warning, and upgrades the keys that moved."""

from __future__ import annotations

import pytest

from devenv.manifest.legacy import is_legacy, upgrade
from devenv.model import thaw

GRAPHITE = """
carbon:
  build: carbon
  ports:
    - "2003:2003"
  volumes:
    - /var/lib/graphite/storage/whisper
graphite-web:
  build: graphite-web
  ports:
    - "8080:80"
  volumes_from:
    - carbon
  links:
    - carbon
user-registration:
  build: .
  ports:
    - "8000:8000"
  links:
    - graphite-web:graphite
  environment:
    - GRAPHITE_HOST=graphite
"""


def modern(text: str) -> str:
    return "services:\n" + "".join(f"  {line}\n" if line else "\n" for line in text.strip("\n").split("\n"))


def test_legacy_file_is_accepted_with_one_warning_naming_the_file(ws) -> None:
    path = ws.write("docker-compose.yml", GRAPHITE)
    project = ws.load()
    assert project.legacy is True
    assert sorted(project.services) == ["carbon", "graphite-web", "user-registration"]
    (warning,) = ws.warnings
    assert warning.startswith(f"{path}: legacy (version 1) Compose layout")
    assert "\n" not in warning


def test_legacy_file_reads_exactly_like_the_modern_form(ws) -> None:
    ws.write("legacy/docker-compose.yml", GRAPHITE)
    ws.write("modern/docker-compose.yml", modern(GRAPHITE))
    old = ws.load(cwd=ws.root / "legacy")
    new = ws.load(cwd=ws.root / "modern")
    assert new.legacy is False
    as_text = lambda project: repr(project.to_dict()).replace("/legacy", "/X").replace("/modern", "/X")  # noqa: E731
    assert as_text(old) == as_text(new)


def test_legacy_services_are_normalized(ws) -> None:
    ws.write("docker-compose.yml", GRAPHITE)
    project = ws.load()
    web = thaw(project.services["graphite-web"].config)
    assert web["build"] == {"context": str(ws.root / "graphite-web"), "dockerfile": "Dockerfile"}
    assert web["ports"] == [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]
    # links and volumes_from imply the dependency
    assert web["depends_on"] == {"carbon": {"condition": "service_started", "required": True, "restart": True}}
    registration = thaw(project.services["user-registration"].config)
    assert registration["depends_on"] == {"graphite-web": {"condition": "service_started", "required": True, "restart": True}}
    assert registration["environment"] == {"GRAPHITE_HOST": "graphite"}
    assert project.services["graphite-web"].dependencies() == ("carbon",)
    carbon = thaw(project.services["carbon"].config)
    assert carbon["volumes"] == [{"type": "volume", "target": "/var/lib/graphite/storage/whisper", "volume": {}}]
    assert list(project.networks) == ["default"]


def test_volumes_from_alone_implies_a_dependency_without_restart(ws) -> None:
    ws.write("docker-compose.yml", "data:\n  image: busybox\napp:\n  image: app\n  volumes_from: [data]\n")
    app = thaw(ws.load().services["app"].config)
    assert app["depends_on"] == {"data": {"condition": "service_started", "required": True}}


def test_legacy_dependency_cycle_through_links_is_an_error(ws) -> None:
    ws.write("docker-compose.yml", "a:\n  image: x\n  links: [b]\nb:\n  image: x\n  links: [a]\n")
    err = ws.error()
    assert "dependency cycle" in err.message
    assert err.file == str(ws.root / "docker-compose.yml")


@pytest.mark.parametrize(
    "legacy_keys, field, expected",
    [
        ({"net": "host"}, "network_mode", "host"),
        ({"net": "container:other"}, "network_mode", "container:other"),
        ({"build": ".", "dockerfile": "Dockerfile.prod"}, "build", {"context": "{root}", "dockerfile": "Dockerfile.prod"}),
        ({"build": {"context": "src"}, "dockerfile": "Alt"}, "build", {"context": "{root}/src", "dockerfile": "Alt"}),
        ({"log_driver": "syslog"}, "logging", {"driver": "syslog"}),
        ({"log_driver": "json-file", "log_opt": {"max-size": "10m"}}, "logging", {"driver": "json-file", "options": {"max-size": "10m"}}),
        ({"log_opt": {"max-file": 3}}, "logging", {"options": {"max-file": "3"}}),
    ],
)
def test_version_1_keys_are_upgraded(ws, legacy_keys, field, expected) -> None:
    import json

    body = {"image": "app", **legacy_keys}
    ws.write("docker-compose.yml", json.dumps({"app": body}))
    app = thaw(ws.load().services["app"].config)
    if isinstance(expected, dict):
        expected = {k: v.replace("{root}", str(ws.root)) if isinstance(v, str) else v for k, v in expected.items()}
    assert app[field] == expected
    for old in ("net", "dockerfile", "log_driver", "log_opt"):
        if old in legacy_keys and old != field:
            assert old not in app


def test_legacy_layout_may_have_version_and_extensions(ws) -> None:
    ws.write("docker-compose.yml", 'version: "1"\nx-note: {a: 1}\nweb:\n  image: nginx\n')
    project = ws.load()
    assert project.legacy and list(project.services) == ["web"]
    assert project.extensions == {"x-note": {"a": 1}}


def test_legacy_errors_point_into_the_legacy_file(ws) -> None:
    ws.write("docker-compose.yml", "web:\n  image: nginx\n  ports:\n    - 'not-a-port'\n")
    err = ws.error()
    assert err.file == str(ws.root / "docker-compose.yml")
    assert err.line == 4
    assert err.path == "services.web.ports[0]"


def test_legacy_file_merges_with_a_modern_override(ws) -> None:
    ws.write("docker-compose.yml", "web:\n  image: nginx\n")
    ws.write("docker-compose.override.yml", "services:\n  web:\n    environment: {DEBUG: '1'}\n")
    project = ws.load()
    assert project.legacy is True
    assert project.services["web"].config["environment"] == {"DEBUG": "1"}


@pytest.mark.parametrize(
    "document, legacy",
    [
        ({"web": {"image": "x"}}, True),
        ({"services": {"web": {"image": "x"}}}, False),
        ({"version": "3", "services": {}}, False),
        ({"networks": {"a": {}}}, False),
        ({"web": {"image": "x"}, "other": "scalar"}, False),
        ({"x-only": {"a": 1}}, False),
        ({}, False),
        ({"web": {"image": "x"}, "volumes": {"v": {}}}, True),
    ],
)
def test_what_counts_as_the_legacy_layout(document, legacy) -> None:
    assert is_legacy(document) is legacy


def test_upgrade_moves_the_line_table_under_services() -> None:
    data, lines = upgrade({"web": {"image": "x"}, "version": "1"}, {("web",): 2, ("web", "image"): 3, ("version",): 1})
    assert data == {"services": {"web": {"image": "x"}}}
    assert lines[("services", "web", "image")] == 3
