"""devenv's create bodies against the containers Docker Compose v2.40.3 really created.

For six services covering every supported field, each field devenv sends must be what the engine
reported for Compose's container, up to the deviations listed (each deliberate, each checked):

- published ports without `host_ip`: Compose binds all interfaces (HostIp ""), devenv binds
  `publish_host` (127.0.0.1 by default); with publish_host="" devenv sends exactly what Compose does;
- `expose: ["3000"]`: Compose sends the key "3000" raw, devenv normalizes it to "3000/tcp";
- container references (volumes_from, network_mode/ipc `service:`): Compose resolves them to
  container IDs at create, devenv names the container (the engine accepts both);
- Env, Ulimits: Compose's order is Go map order (random), devenv keeps the model's / sorts by name;
- HostConfig.Links: both send them; the engine moves them into each endpoint for user networks;
- com.docker.compose.config-hash: a hash of Compose's Go structure, not reproducible: devenv's
  differs, and it adds io.devenv.config-digest.
"""

from __future__ import annotations

import copy

import pytest

from devenv.model import Project
from devenv.plan import naming
from devenv.plan.containerspec import container_spec
from tests.unit.plan.compose_reference import CANONICAL_M2, CANONICAL_RICH, COMPOSE_CREATED, COMPOSE_IMAGE_ID

RICH = Project.from_dict(CANONICAL_RICH, working_dir="/src/rich", compose_files=("/src/rich/up.yaml",))
M2 = Project.from_dict(CANONICAL_M2, working_dir="/src/m2", compose_files=("/src/m2/compose.yaml",))
CASES = [("rich", RICH, "db"), ("rich", RICH, "web"), ("rich", RICH, "side"), ("m2", M2, "a"), ("m2", M2, "b"), ("m2", M2, "c")]
BUSYBOX_CMD = ["sh"]


def _body(project: Project, service: str, publish_host: str = "") -> dict:
    return container_spec(project, service, 1, image_id=COMPOSE_IMAGE_ID, publish_host=publish_host).create_body()


def _as_engine_reports(body: dict) -> dict:
    """What the engine shows for a body it was sent (the transformations are the engine's, not devenv's)."""
    body = copy.deepcopy(body)
    if body.get("Cmd") == [] and body.get("Entrypoint") == []:
        body["Cmd"] = BUSYBOX_CMD  # empty Cmd and Entrypoint: the engine keeps the image's CMD
    return body


@pytest.mark.parametrize("key,project,service", CASES, ids=[f"{k}/{s}" for k, _, s in CASES])
def test_config_fields_are_what_compose_created(key: str, project: Project, service: str) -> None:
    expected = copy.deepcopy(COMPOSE_CREATED[f"{key}/{service}"]["Config"])
    body = _as_engine_reports(_body(project, service))
    if "ExposedPorts" in expected:  # deviation: devenv adds the default /tcp Compose leaves out
        expected["ExposedPorts"] = {(p if "/" in p else p + "/tcp"): v for p, v in expected["ExposedPorts"].items()}
    if "Env" in expected:  # deviation: order
        expected["Env"], body["Env"] = sorted(expected["Env"]), sorted(body["Env"])
    sent = {k: v for k, v in body.items() if k not in ("Labels", "HostConfig", "NetworkingConfig", "AttachStdout", "AttachStderr")}
    assert sent == expected


@pytest.mark.parametrize("key,project,service", CASES, ids=[f"{k}/{s}" for k, _, s in CASES])
def test_host_config_fields_are_what_compose_created(key: str, project: Project, service: str) -> None:
    expected = copy.deepcopy(COMPOSE_CREATED[f"{key}/{service}"]["HostConfig"])
    host = _body(project, service)["HostConfig"]
    expected.pop("Links", None)  # the engine moved them into the endpoints: compared below
    host.pop("Links", None)
    if "Ulimits" in expected:  # deviation: order
        expected["Ulimits"] = sorted(expected["Ulimits"], key=lambda u: u["Name"])
    for mount in expected.get("Mounts") or ():
        if mount.get("VolumeOptions") == {}:  # Compose sends an empty VolumeOptions, devenv none
            del mount["VolumeOptions"]
    assert host == expected


@pytest.mark.parametrize("key,project,service", CASES, ids=[f"{k}/{s}" for k, _, s in CASES])
def test_labels_are_compose_labels(key: str, project: Project, service: str) -> None:
    labels = dict(_body(project, service)["Labels"])
    assert labels.pop(naming.CONFIG_HASH_LABEL)
    assert labels.pop(naming.CONFIG_DIGEST_LABEL)
    assert labels == COMPOSE_CREATED[f"{key}/{service}"]["Labels"]


@pytest.mark.parametrize("key,project,service", CASES, ids=[f"{k}/{s}" for k, _, s in CASES])
def test_endpoints_are_what_compose_created(key: str, project: Project, service: str) -> None:
    spec = container_spec(project, service, 1, image_id=COMPOSE_IMAGE_ID)
    body = spec.create_body()
    endpoints = dict((body.get("NetworkingConfig") or {}).get("EndpointsConfig") or {})
    endpoints.update({a.network: a.connect_body(spec.name)["EndpointConfig"] for a in spec.connect})
    created = {k: v for k, v in COMPOSE_CREATED[f"{key}/{service}"]["Networks"].items() if k != "none"}
    assert sorted(endpoints) == sorted(created)
    for network, endpoint in endpoints.items():
        seen = created[network]
        # the engine appends the short container ID and the hostname to the aliases it was sent
        assert seen["Aliases"][: len(endpoint["Aliases"])] == endpoint["Aliases"]
        assert (seen["Links"] or None) == (endpoint.get("Links") or None)
        assert (seen["IPAMConfig"] or None) == (endpoint.get("IPAMConfig") or None)


def test_the_primary_network_is_the_one_compose_chose() -> None:
    # web: networks back and front, no priority -> by name; c: n2 has the higher priority
    assert _body(RICH, "web")["HostConfig"]["NetworkMode"] == "plancmp-custom-back"
    assert _body(M2, "c")["HostConfig"]["NetworkMode"] == "plancmp2_n2"


def test_publish_host_is_the_only_port_difference() -> None:
    compose = COMPOSE_CREATED["rich/web"]["HostConfig"]["PortBindings"]
    devenv = _body(RICH, "web", publish_host="127.0.0.1")["HostConfig"]["PortBindings"]
    assert devenv == {
        port: [{**b, "HostIp": b["HostIp"] or "127.0.0.1"} for b in bindings] for port, bindings in compose.items()
    }
