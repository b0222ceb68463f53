"""The differences `up --local` prints between an environment's declared model and its laptop
model (devenv/plan/laptop.py): per field, per key for mappings, secrets never shown."""

from __future__ import annotations

from devenv.model import Project
from devenv.plan.laptop import Difference, differences


def project(**services: dict) -> Project:
    return Project.from_dict({"name": "p", "services": services}, working_dir="/p")


def lines(a: Project, b: Project) -> list[str]:
    return [str(d) for d in differences(a, b)]


def test_ports_environment_and_volumes() -> None:
    prod = project(web={"image": "app@sha256:1", "environment": {"LOG_LEVEL": "info", "MODE": "prod"}})
    laptop = project(web={
        "image": "app@sha256:1", "environment": {"LOG_LEVEL": "debug", "MODE": "prod"},
        "ports": [{"target": 8080, "published": "8080", "host_ip": "127.0.0.1", "protocol": "tcp"}],
        "volumes": [{"type": "bind", "source": "/src", "target": "/app"}],
    })
    assert lines(prod, laptop) == [
        'web.environment.LOG_LEVEL: "info" -> "debug"',
        'web.ports: [] -> ["127.0.0.1:8080:8080/tcp"]',
        'web.volumes: [] -> ["bind:/src:/app"]',
    ]


def test_no_difference() -> None:
    same = project(web={"image": "app", "command": ["serve"]})
    assert differences(same, same) == []


def test_secret_values_are_never_shown() -> None:
    prod = project(web={"image": "app", "environment": {"DB_PASSWORD": "prod-hunter2"}})
    laptop = project(web={"image": "app", "environment": {"DB_PASSWORD": "laptop-hunter2"}})
    (difference,) = differences(prod, laptop)
    assert difference.secret and str(difference) == "web.environment.DB_PASSWORD: (secret) -> (secret)"
    assert "hunter2" not in repr(difference.before) + repr(difference.after)


def test_a_service_only_on_the_laptop() -> None:
    prod = project(web={"image": "app"})
    laptop = project(web={"image": "app"}, debugger={"image": "debugger"})
    assert differences(prod, laptop) == [Difference("debugger", "(none)", "(service)", service=True)]
    assert lines(prod, laptop) == ["debugger: (none) -> (service)"]


def test_a_key_removed_and_a_whole_field() -> None:
    prod = project(web={"image": "app", "environment": {"A": "1"}, "command": ["serve"]})
    laptop = project(web={"image": "app", "environment": {}, "command": ["serve", "--reload"]})
    assert lines(prod, laptop) == ['web.command: ["serve"] -> ["serve", "--reload"]', 'web.environment.A: "1" -> null']
