"""The configuration digest: what recreates a container and what does not."""

from __future__ import annotations

import pytest

from devenv.model import Project
from devenv.plan import confighash
from devenv.plan.containerspec import container_spec
from tests.unit.plan.plan_factories import IMAGE_ID, NEW_IMAGE_ID, make_project, svc


def _hash(image_id: str = IMAGE_ID, publish_host: str = "127.0.0.1", **config) -> str:
    project = make_project({"web": svc(**config)})
    return confighash.config_hash(project.services["web"], image_id, publish_host=publish_host)


BASE = _hash()


@pytest.mark.parametrize(
    "config",
    [
        {"build": {"context": "/src"}},
        {"pull_policy": "always"},
        {"scale": 3},
        {"deploy": {"replicas": 4}},
        {"profiles": ["debug"]},
        {"depends_on": {"db": {"condition": "service_healthy", "required": True}}},
        {"develop": {"watch": [{"path": "./src", "action": "sync"}]}},
        {"attach": False},
        {"x-devenv": {"note": 1}},
        {"labels": {}},
        {"deploy": {"placement": {}, "resources": {}}},
        {"env_file": [{"path": "/src/.env", "required": True}]},
    ],
    ids=lambda c: next(iter(c)),
)
def test_settings_that_do_not_shape_the_container_do_not_change_the_hash(config) -> None:
    assert _hash(**config) == BASE


@pytest.mark.parametrize(
    "config",
    [
        {"environment": {"A": "1"}},
        {"command": ["sleep", "1"]},
        {"entrypoint": []},
        {"ports": [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]},
        {"volumes": [{"type": "bind", "source": "/x", "target": "/x"}]},
        {"deploy": {"resources": {"limits": {"memory": "1024"}}}},
        {"labels": {"a": "b"}},
        {"image": "other:1"},
        {"networks": {"front": None}},
        {"healthcheck": {"disable": True}},
    ],
    ids=lambda c: next(iter(c)),
)
def test_settings_that_shape_the_container_change_the_hash(config) -> None:
    assert _hash(**config) != BASE


def test_the_image_id_is_part_of_the_hash() -> None:
    assert _hash(image_id=NEW_IMAGE_ID) != BASE


def test_publish_host_counts_only_for_a_service_that_publishes_ports() -> None:
    assert _hash(publish_host="0.0.0.0") == BASE
    ports = {"ports": [{"mode": "ingress", "target": 80, "protocol": "tcp"}]}
    assert _hash(publish_host="0.0.0.0", **ports) != _hash(**ports)


def test_null_and_absent_hash_alike_but_an_empty_list_does_not() -> None:
    absent = Project.from_dict({"name": "demo", "services": {"web": {"image": "x"}}}).services["web"]
    null = Project.from_dict({"name": "demo", "services": {"web": {"image": "x", "command": None}}}).services["web"]
    empty = Project.from_dict({"name": "demo", "services": {"web": {"image": "x", "command": []}}}).services["web"]
    assert confighash.config_hash(absent, IMAGE_ID) == confighash.config_hash(null, IMAGE_ID)
    assert confighash.config_hash(absent, IMAGE_ID) != confighash.config_hash(empty, IMAGE_ID)


def test_key_order_does_not_matter() -> None:
    assert _hash(environment={"A": "1", "B": "2"}) == _hash(environment={"B": "2", "A": "1"})


def test_digest_label_round_trip_and_changed_fields() -> None:
    project = make_project({"web": svc(environment={"A": "1"}), "web2": svc(environment={"A": "2"}, ports=[{"target": 80, "protocol": "tcp"}])})
    old = container_spec(project, "web", 1, image_id=IMAGE_ID)
    new = container_spec(project, "web2", 1, image_id=IMAGE_ID)
    label = old.config_digest
    assert label == ",".join(sorted(label.split(",")))
    assert all(len(part.split("=")[1]) == confighash.SHORT for part in label.split(","))
    parsed = confighash.parse_digest_label(label)
    assert confighash.changed_fields(parsed, new.field_hashes) == ("environment", "ports", "publish_host")
    assert confighash.changed_fields(parsed, old.field_hashes) == ()


def test_a_missing_or_garbled_digest_label_parses_to_nothing() -> None:
    assert confighash.parse_digest_label(None) == {}
    assert confighash.parse_digest_label("garbage") == {}
    assert confighash.parse_digest_label("a=1,,b") == {"a": "1"}


def test_spec_hash_is_the_label_and_follows_the_image() -> None:
    project = make_project({"web": svc()})
    pending = container_spec(project, "web", 1, image_id=None)
    known = container_spec(project, "web", 1, image_id=IMAGE_ID)
    assert pending.labels["com.docker.compose.config-hash"] == pending.config_hash
    assert "com.docker.compose.image" not in pending.labels
    resolved = pending.with_image_id(IMAGE_ID)
    assert resolved.config_hash == known.config_hash
    assert resolved.create_body() == known.create_body()
