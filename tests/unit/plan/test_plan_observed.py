"""Reading the Engine API's JSON (inspect and list shapes) into plain frozen data."""

from __future__ import annotations

import dataclasses

import pytest

from devenv.plan.observed import ObservedContainer, ObservedNetwork, ObservedState, ObservedVolume
from tests.unit.plan.compose_reference import COMPOSE_IMAGE_ID, INSPECT_DB, INSPECT_NETWORKS, INSPECT_VOLUMES

SUMMARY = {
    "Id": "abc123",
    "Names": ["/demo-web-2"],
    "Image": "devenv/busybox:latest",
    "ImageID": "sha256:" + "b" * 64,
    "Labels": {
        "com.docker.compose.project": "demo",
        "com.docker.compose.service": "web",
        "com.docker.compose.container-number": "2",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.config-hash": "h" * 64,
        "io.devenv.config-digest": "environment=12345678,image=abcdef01",
    },
    "State": "running",
    "Status": "Up 2 minutes (healthy)",
    "NetworkSettings": {"Networks": {"demo_default": {"NetworkID": "n1"}}},
    "Mounts": [{"Type": "volume", "Name": "demo_data", "Source": "/var/lib/docker/volumes/demo_data/_data", "Destination": "/data", "RW": True}],
}


def test_container_from_inspect_of_a_compose_container() -> None:
    c = ObservedContainer.from_inspect(INSPECT_DB)
    assert (c.name, c.project, c.service, c.number, c.oneoff) == ("plancmp-db-1", "plancmp", "db", 1, False)
    assert (c.state, c.health, c.exit_code) == ("running", "healthy", None)
    assert c.image_id == COMPOSE_IMAGE_ID
    assert c.config_hash == INSPECT_DB["Config"]["Labels"]["com.docker.compose.config-hash"]
    assert c.config_digest == {}  # created by Compose, not devenv
    assert c.networks == {"plancmp_default": INSPECT_DB["NetworkSettings"]["Networks"]["plancmp_default"]["NetworkID"]}
    assert [(m.type, m.name, m.destination) for m in c.mounts] == [("volume", "plancmp_dbdata", "/data")]
    assert c.is_running


def test_container_from_summary() -> None:
    c = ObservedContainer.from_summary(SUMMARY)
    assert (c.id, c.name, c.service, c.number, c.state, c.health) == ("abc123", "demo-web-2", "web", 2, "running", "healthy")
    assert c.config_digest == {"environment": "12345678", "image": "abcdef01"}
    assert c.networks == {"demo_default": "n1"}
    assert c.mounts[0].name == "demo_data"


@pytest.mark.parametrize(
    "state,status,health,exit_code",
    [
        ("running", "Up 3 seconds (health: starting)", "starting", None),
        ("running", "Up 3 minutes (unhealthy)", "unhealthy", None),
        ("running", "Up 3 minutes", "none", None),
        ("exited", "Exited (0) 5 seconds ago", "none", 0),
        ("exited", "Exited (137) 2 hours ago", "none", 137),
        ("created", "Created", "none", None),
        ("restarting", "Restarting (1) 2 seconds ago", "none", None),
        ("paused", "Up 2 minutes (Paused)", "none", None),
        ("dead", "Dead", "none", None),
    ],
)
def test_summary_status_parsing(state, status, health, exit_code) -> None:
    c = ObservedContainer.from_summary({**SUMMARY, "State": state, "Status": status})
    assert (c.state, c.health, c.exit_code) == (state, health, exit_code)


def test_inspect_state_of_an_exited_container() -> None:
    data = {**INSPECT_DB, "State": {"Status": "exited", "Running": False, "ExitCode": 3}}
    c = ObservedContainer.from_inspect(data)
    assert (c.state, c.health, c.exit_code, c.is_running) == ("exited", "none", 3, False)


def test_missing_or_bad_labels() -> None:
    c = ObservedContainer.from_summary({"Id": "x", "Names": ["/stray"], "Labels": {"com.docker.compose.container-number": "one"}, "State": "running"})
    assert (c.project, c.service, c.number) == ("", "", 0)


def test_one_off_and_anonymous_volumes() -> None:
    data = {
        **SUMMARY,
        "Labels": {**SUMMARY["Labels"], "com.docker.compose.oneoff": "True"},
        "Mounts": SUMMARY["Mounts"] + [{"Type": "volume", "Name": "f" * 64, "Destination": "/anon"}, {"Type": "bind", "Source": "/x", "Destination": "/x"}],
    }
    c = ObservedContainer.from_summary(data)
    assert c.oneoff
    assert c.anonymous_volumes({"demo_data"}) == {"/anon": "f" * 64}


def test_network_and_volume_from_inspect() -> None:
    front = ObservedNetwork.from_inspect(next(n for n in INSPECT_NETWORKS if n["Name"] == "plancmp_front"))
    assert (front.name, front.driver, front.project, front.key) == ("plancmp_front", "bridge", "plancmp", "front")
    assert front.ipam_driver == "default" and front.ipam_config[0]["Subnet"] == "172.29.0.0/16"
    volume = ObservedVolume.from_inspect(INSPECT_VOLUMES[0])
    assert (volume.name, volume.driver, volume.project, volume.key, dict(volume.options)) == ("plancmp_dbdata", "local", "plancmp", "dbdata", {})
    attached = ObservedNetwork.from_inspect({"Id": "n", "Name": "x", "Containers": {"c2": {}, "c1": {}}})
    assert attached.containers == ("c1", "c2")


def test_state_from_inspect_accepts_both_container_shapes_and_filters_the_project() -> None:
    stranger = {**SUMMARY, "Id": "zzz", "Names": ["/other-web-1"], "Labels": {**SUMMARY["Labels"], "com.docker.compose.project": "other"}}
    state = ObservedState.from_inspect("plancmp", [INSPECT_DB, stranger], INSPECT_NETWORKS, INSPECT_VOLUMES, {"busybox:latest": "sha256:1"})
    assert [c.name for c in state.containers] == ["plancmp-db-1", "other-web-1"]
    assert [c.name for c in state.project_containers()] == ["plancmp-db-1"]
    assert state.network("plancmp_front").key == "front"
    assert state.network(state.network("plancmp_front").id).name == "plancmp_front"  # an external network named by ID
    assert state.network("nope") is None
    assert state.volume("plancmp_dbdata") is not None and state.volume("nope") is None


def test_image_lookup_by_reference() -> None:
    state = ObservedState("demo", images={"busybox:latest": "sha256:1", "redis": "sha256:2", "reg:5000/app:1": "sha256:3"})
    assert state.image_id("busybox") == "sha256:1"
    assert state.image_id("busybox:latest") == "sha256:1"
    assert state.image_id("redis:latest") == "sha256:2"
    assert state.image_id("reg:5000/app:1") == "sha256:3"
    assert state.image_id("reg:5000/app") is None
    assert state.image_id("busybox:1.36") is None


def test_observed_data_is_frozen() -> None:
    c = ObservedContainer.from_summary(SUMMARY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.state = "exited"  # type: ignore[misc]
    with pytest.raises(TypeError):
        c.labels["x"] = "y"  # type: ignore[index]
