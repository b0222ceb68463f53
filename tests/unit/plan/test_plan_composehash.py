"""Compose's config hash: Go's `json.Marshal` of compose-go's structures, reproduced from the model."""

from __future__ import annotations

import hashlib

from devenv.plan import composehash
from devenv.plan.composehash import go_json, hashed_service, network_hash, service_hash, volume_hash


def test_struct_fields_come_in_go_declaration_order_and_map_keys_sorted() -> None:
    service = {"image": "a", "cpus": 0.5, "command": None, "environment": {"B": "2", "A": None}, "entrypoint": None}
    assert go_json(service, "service") == '{"cpus":0.5,"command":null,"entrypoint":null,"environment":{"A":null,"B":"2"},"image":"a"}'


def test_command_and_entrypoint_are_null_when_unset_as_go_writes_them() -> None:
    assert go_json({"image": "a"}, "service") == '{"command":null,"entrypoint":null,"image":"a"}'


def test_strings_are_escaped_as_go_escapes_them() -> None:
    text = go_json({"labels": {"k": "<b>&\u2028\"\n"}}, "service")
    assert '"k":"\\u003cb\\u003e\\u0026\\u2028\\"\\n"' in text


def test_floats_are_go_float32() -> None:
    assert '"cpus":0.33333334' in go_json({"cpus": 0.3333333333}, "service")
    assert '"cpus":2' in go_json({"cpus": 2.0}, "service")
    assert composehash._go_float(1e-7) == "1e-07"
    assert composehash._go_float(2.5e21) == "2.5e+21"


def test_omitempty_leaves_out_zero_values_but_not_set_pointers() -> None:
    text = go_json({"privileged": False, "init": False, "tty": True, "cap_add": [], "labels": {}, "hostname": ""}, "service")
    assert text == '{"command":null,"entrypoint":null,"init":false,"tty":true}'


def test_non_pointer_structs_are_written_even_when_empty() -> None:
    assert '"deploy":{"resources":{},"placement":{}}' in go_json({"deploy": {}}, "service")
    assert go_json({"name": "p_default"}, "network") == '{"name":"p_default","ipam":{}}'


def test_the_hash_leaves_out_what_compose_leaves_out() -> None:
    base = {"image": "a", "command": ["x"]}
    noisy = {
        **base, "build": {"context": "."}, "pull_policy": "always", "scale": 3, "depends_on": {"db": {"condition": "service_started"}},
        "profiles": ["p"], "env_file": [{"path": "/a.env", "required": True}], "x-note": 1,
    }
    assert service_hash(noisy) == service_hash(base)
    assert service_hash({**base, "deploy": {"replicas": 4}}) == service_hash({**base, "deploy": {}})
    assert service_hash({**base, "command": ["y"]}) != service_hash(base)


def test_references_to_other_services_are_their_container_ids() -> None:
    config = {"image": "a", "volumes_from": ["db:ro", "container:legacy:rw"], "network_mode": "service:vpn", "ipc": "host"}
    assert composehash.references(config) == ("db", "vpn")
    resolved = hashed_service(config, {"db": "d" * 64, "vpn": "v" * 64})
    assert resolved["volumes_from"] == ["d" * 64, "legacy"]
    assert resolved["network_mode"] == "container:" + "v" * 64
    assert resolved["ipc"] == "host"


def test_a_known_service_hash_of_compose_v2_40_3() -> None:
    """`docker-compose config --hash web` (v2.40.3) on: image nginx:1.25, environment A: "<b>&",
    ports ["8080:80"], cpus 0.1, depends_on [db], volumes [data:/data] (project h1)."""
    web = {
        "command": None, "cpus": 0.1, "depends_on": {"db": {"condition": "service_started", "required": True}}, "entrypoint": None,
        "environment": {"A": "<b>&"}, "image": "nginx:1.25", "networks": {"default": None},
        "ports": [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}],
        "volumes": [{"type": "volume", "source": "data", "target": "/data", "volume": {}}],
    }
    assert service_hash(web) == "014246fdf98c8582975eb8647714868b4a4b21c3cbd064d46f060a14dddf46ea"


def test_volume_and_network_hashes() -> None:
    assert volume_hash({"name": "h1_data"}) == hashlib.sha256(b'{"name":"h1_data","driver":"local"}').hexdigest()
    assert network_hash({"name": "h1_default", "ipam": {}}) == hashlib.sha256(b'{"name":"h1_default","ipam":{}}').hexdigest()
