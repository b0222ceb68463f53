"""`service_healthy` on a service whose file gives no healthcheck: decided from the image (or the
existing container) before anything is created, with the file and line of the depends_on entry."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from devenv.engine.healthgates import check_health_gates, has_healthcheck
from devenv.errors import ManifestError
from devenv.plan.lifecycle import plan_start, plan_stop
from devenv.plan.options import UpOptions
from devenv.plan.planner import plan_up
from tests.unit.plan.plan_factories import IMAGE, IMAGE_ID, empty_state, make_project, simulate, svc

HEALTHY = {"condition": "service_healthy", "required": True, "restart": False}


class FakeAPI:
    def __init__(self, images: dict[str, Any], containers: dict[str, Any] | None = None) -> None:
        self.images, self.containers = images, containers or {}
        self.inspected: list[str] = []

    def inspect_image(self, ref: str) -> dict[str, Any]:
        self.inspected.append(ref)
        return {"Config": self.images[ref]}

    def inspect_container(self, name: str) -> dict[str, Any]:
        self.inspected.append(name)
        return {"Config": self.containers[name]}


def project(db: dict[str, Any], required: bool = True):
    p = make_project({"db": svc(**db), "web": svc(depends_on={"db": {**HEALTHY, "required": required}})})
    lines = {("services", "web", "depends_on", "db"): 12}
    return dataclasses.replace(p, locate=lambda path: ("/src/demo/compose.yaml", lines.get(tuple(path))))


def test_an_image_without_a_healthcheck_is_refused_naming_the_depends_on_entry() -> None:
    p = project({})
    plan = plan_up(p, empty_state(p), UpOptions(wait=True))
    with pytest.raises(ManifestError) as caught:
        check_health_gates(FakeAPI({IMAGE_ID: {"Cmd": ["sh"]}}), p, plan)
    assert str(caught.value) == (
        "/src/demo/compose.yaml:12: services.web.depends_on.db: service 'web' waits for 'db' to be healthy, "
        f"but 'db' has no healthcheck (none in the file, none in its image {IMAGE})"
    )
    assert caught.value.exit_code == 2


def test_an_image_with_a_healthcheck_passes_and_is_read_once() -> None:
    p = project({"scale": 2})
    api = FakeAPI({IMAGE_ID: {"Healthcheck": {"Test": ["CMD-SHELL", "true"]}}})
    check_health_gates(api, p, plan_up(p, empty_state(p), UpOptions(wait=True)))
    assert api.inspected == [IMAGE_ID]  # once for db's two containers, not for the --wait gates


def test_a_healthcheck_in_the_file_needs_no_look_and_an_optional_dependency_is_not_refused() -> None:
    api = FakeAPI({})
    p = project({"healthcheck": {"test": ["CMD", "true"]}})
    check_health_gates(api, p, plan_up(p, empty_state(p), UpOptions(wait=True)))
    p = project({}, required=False)
    check_health_gates(api, p, plan_up(p, empty_state(p), UpOptions(wait=True)))
    assert api.inspected == []


def test_start_looks_at_the_existing_container() -> None:
    p = project({"healthcheck": {"test": ["CMD", "true"]}})
    state = simulate(plan_up(p, empty_state(p), UpOptions()), empty_state(p))
    state = simulate(plan_stop(p, state), state)
    bare = project({})
    api = FakeAPI({}, {"id-demo-db-1": {"Healthcheck": {"Test": ["NONE"]}}})  # asked by ID
    with pytest.raises(ManifestError, match="none in its container demo-db-1"):
        check_health_gates(api, bare, plan_start(bare, state))


@pytest.mark.parametrize(
    "config, has",
    [
        ({"Healthcheck": {"Test": ["CMD", "true"]}}, True),
        ({"Healthcheck": {"Test": ["NONE"]}}, False),
        ({"Healthcheck": {"Test": []}}, False),
        ({"Healthcheck": None}, False),
        ({}, False),
        (None, False),
    ],
)
def test_has_healthcheck(config, has) -> None:
    assert has_healthcheck(config) is has
