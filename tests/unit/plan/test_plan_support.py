"""Every setting of the Compose specification is either honoured or refused by name, never dropped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devenv.errors import ManifestError
from devenv.plan import support
from devenv.plan.containerspec import container_spec
from devenv.plan.errors import UnsupportedFeature
from devenv.plan.support import check_network, check_service, check_volume
from tests.unit.plan.plan_factories import IMAGE_ID, make_project, svc

SCHEMA = Path(__file__).resolve().parents[3] / "devenv" / "manifest" / "compose-spec.json"  # the vendored copy


def _schema_service_keys() -> set[str]:
    return set(json.loads(SCHEMA.read_text())["definitions"]["service"]["properties"])


def test_every_service_key_of_the_schema_is_supported_or_refused() -> None:
    keys = _schema_service_keys()
    assert keys - support.KNOWN_KEYS == set(), "new keys in the Compose schema: classify them in devenv/plan/support.py"


def test_the_classification_names_only_schema_keys() -> None:
    assert support.KNOWN_KEYS - _schema_service_keys() == set()


def test_the_key_sets_do_not_overlap() -> None:
    sets = [support.CONTAINER_KEYS, support.PLANNER_KEYS, support.RESOLVED_KEYS, support.NON_CONTAINER_KEYS, frozenset(support.REFUSED_KEYS)]
    assert sum(len(s) for s in sets) == len(support.KNOWN_KEYS)


def _refused(message_part: str, **config) -> None:
    project = make_project({"web": svc(**config)}, volumes={"data": {}})
    with pytest.raises(UnsupportedFeature) as caught:
        container_spec(project, "web", 1, image_id=IMAGE_ID)
    assert str(caught.value).startswith("service web: ")
    assert message_part in str(caught.value)


def test_refusal_message_names_service_and_field() -> None:
    project = make_project({"web": svc(post_start=[{"command": ["true"]}])})
    with pytest.raises(UnsupportedFeature, match=r"^service web: 'post_start' is not supported yet$"):
        check_service(project, project.services["web"])


@pytest.mark.parametrize("key", sorted(support.REFUSED_KEYS))
def test_each_refused_key_is_refused(key: str) -> None:
    _refused(f"'{key}'", **{key: {"x": 1}})


@pytest.mark.parametrize("key", sorted(support.REFUSED_KEYS))
def test_an_empty_refused_key_is_harmless(key: str) -> None:
    project = make_project({"web": svc(**{key: []})})
    check_service(project, project.services["web"])


def test_an_unknown_key_is_refused() -> None:
    _refused("'frobnicate' is not a Compose service setting", frobnicate=True)


def test_extensions_are_ignored() -> None:
    project = make_project({"web": svc(**{"x-devenv": {"anything": 1}})})
    check_service(project, project.services["web"])


@pytest.mark.parametrize(
    "config,field",
    [
        ({"deploy": {"placement": {"constraints": ["node.role==manager"]}}}, "deploy.placement.constraints"),
        ({"deploy": {"mode": "global"}}, "deploy.mode"),
        ({"deploy": {"update_config": {"parallelism": 2}}}, "deploy.update_config"),
        ({"deploy": {"labels": {"a": "b"}}}, "deploy.labels"),
        ({"deploy": {"resources": {"reservations": {"cpus": 0.5}}}}, "deploy.resources.reservations.cpus"),
        ({"deploy": {"resources": {"reservations": {"devices": [{"capabilities": ["gpu"]}]}}}}, "deploy.resources.reservations.devices"),
        ({"deploy": {"restart_policy": {"condition": "on-failure", "delay": "5s"}}}, "deploy.restart_policy.delay"),
        ({"healthcheck": {"test": ["CMD", "true"], "start_interval": "1s", "start_period": "5s"}}, "healthcheck.start_interval"),
        ({"volumes": [{"type": "npipe", "source": "x", "target": "/x"}]}, "volumes"),
        ({"volumes": [{"type": "image", "source": "busybox", "target": "/x"}]}, "volumes"),
        ({"volumes": [{"type": "volume", "source": "data", "target": "/x", "volume": {"subpath": "a"}}]}, "volumes.volume.subpath"),
        ({"volumes": [{"type": "bind", "source": "/x", "target": "/x", "bind": {"recursive": "readonly", "create_host_path": True}}]}, "volumes.bind.recursive"),
        ({"volumes": [{"type": "bind", "source": "/x", "target": "/x", "bind": {"selinux": "z"}}]}, "volumes.bind.selinux"),
        ({"networks": {"default": {"interface_name": "eth7"}}}, "networks.default.interface_name"),
        ({"networks": {"default": {"gw_priority": 1}}}, "networks.default.gw_priority"),
        ({"devices": [{"source": "nvidia.com/gpu=all", "target": "nvidia.com/gpu=all", "permissions": "rwm"}]}, "devices"),
        ({"security_opt": ["seccomp=./profile.json"]}, "security_opt"),
        ({"pull_policy": "daily"}, "pull_policy"),
    ],
)
def test_unsupported_sub_settings_are_refused(config, field) -> None:
    _refused(f"'{field}'", **config)


def test_supported_sub_settings_pass() -> None:
    project = make_project(
        {
            "web": svc(
                deploy={"replicas": 2, "mode": "replicated", "placement": {}, "resources": {"limits": {"cpus": 0.5, "memory": "1024", "pids": 5}, "reservations": {"memory": "512"}}, "restart_policy": {"condition": "any", "max_attempts": 3}},
                build={"context": "/src", "dockerfile": "Dockerfile", "args": {"A": "1"}, "target": "t", "labels": {"l": "v"}, "cache_from": ["x"], "tags": ["t:1"], "network": "host", "no_cache": True, "pull": True,
                       # BuildKit's keys pass the planner: the builder found on the machine refuses what it cannot do
                       "ssh": {"default": None}, "secrets": [{"source": "s"}], "platforms": ["linux/arm64"], "cache_to": ["type=inline"]},
                healthcheck={"test": ["CMD", "true"], "interval": "1s", "timeout": "1s", "retries": 3, "start_period": "1s"},
                security_opt=["seccomp=unconfined", "no-new-privileges:true", "seccomp:builtin"],
                pull_policy="if_not_present",
            )
        }
    )
    check_service(project, project.services["web"])


def test_mac_address_only_on_the_primary_network() -> None:
    project = make_project({"web": svc(networks={"a": {"mac_address": "02:00:00:00:00:01"}, "b": {"mac_address": "02:00:00:00:00:02"}})}, networks={"a": {}, "b": {}})
    with pytest.raises(UnsupportedFeature, match="mac_address"):
        check_service(project, project.services["web"])


def test_inconsistent_or_undeclared_references_are_manifest_errors() -> None:
    bad_volume = make_project({"web": svc(volumes=[{"type": "volume", "source": "nope", "target": "/x", "volume": {}}])})
    with pytest.raises(ManifestError, match="volume 'nope' is not declared"):
        check_service(bad_volume, bad_volume.services["web"])
    bad_network = make_project({"web": svc(networks={"nope": None})})
    with pytest.raises(ManifestError, match="network 'nope' is not declared"):
        check_service(bad_network, bad_network.services["web"])
    both = make_project({"web": svc(network_mode="host", networks={"default": None})}, networks={"default": {}})
    with pytest.raises(ManifestError, match="cannot be combined"):
        check_service(both, both.services["web"])
    replicas = make_project({"web": svc(container_name="w", scale=2)})
    with pytest.raises(ManifestError, match="container_name"):
        check_service(replicas, replicas.services["web"])
    build_policy = make_project({"web": svc(pull_policy="build")})
    with pytest.raises(ManifestError, match="needs a 'build' section"):
        check_service(build_policy, build_policy.services["web"])


def test_top_level_networks_and_volumes() -> None:
    project = make_project(
        {"web": svc()},
        networks={"ok": {"driver": "bridge", "ipam": {"config": [{"subnet": "10.0.0.0/24", "aux_addresses": {"a": "10.0.0.5"}}]}}, "v4": {"enable_ipv4": False}, "odd": {"ipam": {"config": [{"subnet": "10.0.1.0/24", "weird": 1}]}}},
        volumes={"ok": {"driver": "local", "driver_opts": {"type": "tmpfs"}}, "odd": {"frob": 1}},
    )
    check_network(project, "ok")
    check_volume(project, "ok")
    with pytest.raises(UnsupportedFeature, match=r"^network v4: 'enable_ipv4'"):
        check_network(project, "v4")
    with pytest.raises(UnsupportedFeature, match=r"^network odd: 'ipam.config.weird'"):
        check_network(project, "odd")
    with pytest.raises(UnsupportedFeature, match=r"^volume odd: 'frob'"):
        check_volume(project, "odd")
