"""Network and volume create bodies, and how a drifted one is recognised."""

from __future__ import annotations

import dataclasses
from types import MappingProxyType

from devenv.model import Project
from devenv.plan.observed import ObservedNetwork, ObservedVolume
from devenv.plan.resources import network_create_body, network_drift, volume_create_body, volume_drift
from tests.unit.plan.compose_reference import CANONICAL_RICH, INSPECT_NETWORKS, INSPECT_VOLUMES

RICH = Project.from_dict(CANONICAL_RICH, working_dir="/src/rich")


def test_network_bodies_make_what_compose_made() -> None:
    for key in RICH.networks:
        body = network_create_body(RICH, key)
        made = next(n for n in INSPECT_NETWORKS if n["Name"] == body["Name"])
        assert body["Driver"] == made["Driver"]
        assert body.get("Options", {}) == made["Options"]
        assert {k: v for k, v in body["Labels"].items() if "config-hash" not in k} == {k: v for k, v in made["Labels"].items() if "config-hash" not in k}
        if "IPAM" in body:
            assert body["IPAM"]["Config"] == made["IPAM"]["Config"]
        assert network_drift(RICH.networks[key], ObservedNetwork.from_inspect(made)) == ()


def test_a_full_network_body() -> None:
    project = Project.from_dict(
        {
            "name": "demo",
            "networks": {
                "n": {
                    "name": "demo_n", "driver": "bridge", "driver_opts": {"com.docker.network.bridge.name": "br-x", "mtu": 1400},
                    "internal": True, "attachable": True, "enable_ipv6": True, "labels": {"team": "a"},
                    "ipam": {"driver": "default", "options": {"o": "1"}, "config": [{"subnet": "fd00::/64", "gateway": "fd00::1", "ip_range": "fd00::/80", "aux_addresses": {"h": "fd00::5"}}]},
                }
            },
            "services": {},
        }
    )
    body = network_create_body(project, "n")
    assert body == {
        "Name": "demo_n",
        "CheckDuplicate": True,
        "Driver": "bridge",
        "Labels": {**{"team": "a", "com.docker.compose.network": "n", "com.docker.compose.project": "demo", "com.docker.compose.version": "2.40.3"}, "com.docker.compose.config-hash": body["Labels"]["com.docker.compose.config-hash"]},
        "Options": {"com.docker.network.bridge.name": "br-x", "mtu": "1400"},
        "Internal": True,
        "Attachable": True,
        "EnableIPv6": True,
        "IPAM": {"Driver": "default", "Config": [{"Subnet": "fd00::/64", "IPRange": "fd00::/80", "Gateway": "fd00::1", "AuxiliaryAddresses": {"h": "fd00::5"}}], "Options": {"o": "1"}},
    }
    assert len(body["Labels"]["com.docker.compose.config-hash"]) == 64


def test_volume_body_makes_what_compose_made() -> None:
    body = volume_create_body(RICH, "dbdata")
    made = INSPECT_VOLUMES[0]
    assert body["Name"] == made["Name"] and body["Driver"] == made["Driver"]
    assert {k: v for k, v in body["Labels"].items() if "config-hash" not in k} == {k: v for k, v in made["Labels"].items() if "config-hash" not in k}
    project = Project.from_dict({"name": "d", "volumes": {"v": {"name": "d_v", "driver_opts": {"type": "tmpfs", "device": "tmpfs"}}}, "services": {}})
    assert volume_create_body(project, "v")["DriverOpts"] == {"type": "tmpfs", "device": "tmpfs"}


OBSERVED = ObservedNetwork(
    id="n1", name="demo_front", driver="bridge", options=MappingProxyType({"com.docker.network.enable_ipv4": "true"}),
    labels=MappingProxyType({"com.docker.compose.project": "demo", "team": "a"}),
    ipam_config=(MappingProxyType({"Subnet": "172.28.0.0/16", "Gateway": "172.28.0.1"}),),
)


def test_engine_defaults_are_not_drift() -> None:
    assert network_drift({"name": "demo_front", "ipam": {}}, OBSERVED) == ()
    assert network_drift({"ipam": {"config": [{"subnet": "172.28.0.0/16"}]}, "labels": {"team": "a"}}, OBSERVED) == ()


def test_network_drift_names_the_fields() -> None:
    changed = {"driver": "macvlan", "driver_opts": {"mtu": "9000"}, "internal": True, "ipam": {"config": [{"subnet": "10.0.0.0/8"}]}, "labels": {"team": "b"}}
    assert network_drift(changed, OBSERVED) == ("driver", "driver_opts", "internal", "ipam", "labels")
    assert network_drift({"ipam": {"driver": "other"}}, OBSERVED) == ("ipam",)
    assert network_drift({"ipam": {"config": [{"subnet": "172.28.0.0/16"}, {"subnet": "fd00::/64"}]}}, OBSERVED) == ("ipam",)


def test_volume_drift() -> None:
    volume = ObservedVolume("demo_data", "local", MappingProxyType({}), MappingProxyType({"com.docker.compose.project": "demo"}))
    assert volume_drift({"name": "demo_data"}, volume) == ()
    assert volume_drift({"driver_opts": {"type": "tmpfs"}}, volume) == ("driver_opts",)
    assert volume_drift({"driver": "nfs", "labels": {"a": "b"}}, volume) == ("driver", "labels")
    with_opts = dataclasses.replace(volume, options=MappingProxyType({"type": "tmpfs"}))
    assert volume_drift({}, with_opts) == ("driver_opts",)  # an option the model no longer sets
