"""What `--dry-run` shows (`Plan.describe`) and `--format json` prints (`Plan.to_json`): stable."""

from __future__ import annotations

import json

from devenv.plan.actions import Op, Plan, PlanBuilder
from devenv.plan.options import UpOptions
from devenv.plan.planner import plan_up
from tests.unit.plan.plan_factories import empty_state, make_project, svc

PROJECT = make_project(
    {
        "db": svc(image="postgres:16", healthcheck={"test": ["CMD", "pg_isready"]}, volumes=[{"type": "volume", "source": "pgdata", "target": "/var/lib/postgresql/data", "volume": {}}]),
        "api": svc(image=..., build={"context": "/src/demo/api"}, depends_on={"db": {"condition": "service_healthy", "required": True}}, networks={"default": None, "front": None}),
    },
    networks={"front": {}},
    volumes={"pgdata": {}},
)

DRY_RUN = """\
create network demo_default (missing)
create network demo_front (missing)
create volume demo_pgdata (missing)
pull image postgres:16 (missing locally)
build image demo-api (missing locally)
create container demo-db-1 (new)
create container demo-api-1 (new)
start container demo-db-1 (new)
connect demo-api-1 to demo_front (new)
wait until healthy demo-db-1 (api needs db healthy)
start container demo-api-1 (new)"""


def _plan() -> Plan:
    return plan_up(PROJECT, empty_state(PROJECT, images={}), UpOptions())


def test_dry_run_text() -> None:
    assert _plan().describe() == DRY_RUN


def test_rendering_is_deterministic() -> None:
    assert len({_plan().describe() for _ in range(5)}) == 1
    assert len({_plan().to_json() for _ in range(5)}) == 1


def test_json_has_every_action_with_its_edges_and_payload() -> None:
    data = json.loads(_plan().to_json())
    assert data["command"] == "up" and data["project"] == "demo"
    assert [a["id"] for a in data["actions"]][:3] == ["create_network:demo_default", "create_network:demo_front", "create_volume:demo_pgdata"]
    create = next(a for a in data["actions"] if a["id"] == "create_container:demo-api-1")
    assert create["op"] == "create_container" and create["service"] == "api"
    assert create["after"] == ["create_network:demo_default", "build_image:demo-api"]
    assert create["payload"]["image_pending"] is True
    assert create["payload"]["spec"]["body"]["Image"] == "demo-api"
    assert create["payload"]["spec"]["connect"][0]["network"] == "demo_front"
    assert data["notes"] == [] and data["warnings"] == [] and data["recheck"] == []


def test_an_empty_plan_says_so() -> None:
    b = PlanBuilder("up", "demo")
    b.notes.append("web: up to date")
    b.warnings.append("found orphan containers (demo-old-1) for this project; run with --remove-orphans to remove them")
    b.recheck.append("web")
    plan = b.build()
    assert plan.is_empty
    assert plan.describe() == (
        "nothing to do\n"
        "web: up to date\n"
        "warning: found orphan containers (demo-old-1) for this project; run with --remove-orphans to remove them\n"
        "web: checked again once its image is ready"
    )


def test_builder_merges_duplicate_actions_and_orders_by_edges() -> None:
    b = PlanBuilder("up", "demo")
    second = b.add(Op.START_CONTAINER, "demo-a-1", "x", after=["create_network:demo_a"])
    first = b.add(Op.CREATE_NETWORK, "demo_a", "x")
    assert b.add(Op.START_CONTAINER, "demo-a-1", "ignored", after=[None, second]) == second  # merged; self-edge ignored
    plan = b.build()
    assert plan.ids() == (first, second)
    assert plan.get(second).reason == "x"
    assert plan.depends_on(second, first) and not plan.depends_on(first, second)
