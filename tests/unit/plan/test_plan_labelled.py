"""A project built from the engine's labels (`-p NAME` without a Compose file), `ls`'s stacks, and
which containers `kill`/`rm`/`pause`/`port`... pick."""

from __future__ import annotations

from typing import Any

import pytest

from devenv.errors import DevenvError, UsageError
from devenv.plan import naming
from devenv.plan.actions import Op
from devenv.plan.control import RmOptions, kill_targets, of_services, pause_targets, pick, plan_rm, rm_targets
from devenv.plan.labelled import combined_status, is_observed, parse_depends_on, project_from_labels, stacks
from devenv.plan.lifecycle import plan_down, plan_stop
from devenv.plan.observed import ObservedState
from devenv.plan.options import DownOptions, StopOptions


def summary(project: str, service: str, number: int = 1, *, state: str = "running", oneoff: bool = False,
            depends: str = "", image: str = "devenv/busybox:latest", files: str | None = "/src/compose.yaml",
            hash_label: bool = True, cid: str | None = None) -> dict[str, Any]:
    """One item of `GET /containers/json?all=1`, as Compose labels it."""
    labels = {
        naming.PROJECT_LABEL: project, naming.SERVICE_LABEL: service, naming.ONEOFF_LABEL: "True" if oneoff else "False",
        naming.WORKING_DIR_LABEL: "/src", naming.DEPENDS_ON_LABEL: depends,
    }
    if files is not None:
        labels[naming.CONFIG_FILES_LABEL] = files
    if hash_label:
        labels[naming.CONFIG_HASH_LABEL] = "h"
    if not oneoff:
        labels[naming.CONTAINER_NUMBER_LABEL] = str(number)
    name = f"{project}-{service}-run-abc{number}" if oneoff else f"{project}-{service}-{number}"
    status = {"running": "Up 1 second", "exited": "Exited (0) 1 second ago", "paused": "Up 1 second (Paused)"}.get(state, "Created")
    return {"Id": cid or f"{name}-id", "Names": ["/" + name], "Image": image, "State": state, "Status": status, "Labels": labels}


def network(project: str, key: str) -> dict[str, Any]:
    return {"Name": f"{project}_{key}", "Id": f"net-{key}", "Labels": {naming.PROJECT_LABEL: project, naming.NETWORK_LABEL: key}}


def volume(project: str, key: str) -> dict[str, Any]:
    return {"Name": f"{project}_{key}", "Labels": {naming.PROJECT_LABEL: project, naming.VOLUME_LABEL: key}}


def test_depends_on_label_parses_to_the_long_form() -> None:
    assert parse_depends_on("db:service_healthy:false,cache:service_started:true") == {
        "db": {"condition": "service_healthy", "required": True, "restart": False},
        "cache": {"condition": "service_started", "required": True, "restart": True},
    }
    assert parse_depends_on("") == {}
    assert parse_depends_on("db") == {"db": {"condition": "service_started", "required": True, "restart": False}}
    assert parse_depends_on("db:nonsense:x")["db"]["condition"] == "service_started"


def test_project_from_labels_has_the_services_networks_and_volumes_found() -> None:
    containers = [
        summary("p", "web", 2, depends="db:service_healthy:false,gone:service_started:false"),
        summary("p", "web", 1, depends="db:service_healthy:false"),
        summary("p", "db", 1, image="devenv/python:bookworm", state="exited"),
        summary("p", "web", 1, oneoff=True),
        summary("other", "x", 1),
    ]
    project = project_from_labels("p", containers, [network("p", "default"), network("q", "x")], [volume("p", "data")], cwd="/here")
    assert project is not None and is_observed(project)
    assert sorted(project.services) == ["db", "web"]
    web, db = project.services["web"], project.services["db"]
    assert web.image == "devenv/busybox:latest" and db.image == "devenv/python:bookworm"
    assert [d.service for d in web.depends_on] == ["db"] and web.depends_on[0].condition == "service_healthy"
    assert web.scale == 2 and db.scale == 1  # one-offs do not count
    assert project.working_dir == "/src" and project.compose_files == ("/src/compose.yaml",)
    assert dict(project.networks) == {"default": {"name": "p_default"}}
    assert dict(project.volumes) == {"data": {"name": "p_data"}}


def test_nothing_with_the_label_is_no_project() -> None:
    assert project_from_labels("p", [summary("q", "web")], [network("q", "default")]) is None
    only_volume = project_from_labels("p", [], [], [volume("p", "data")], cwd="/here")
    assert only_volume is not None and not only_volume.services and only_volume.working_dir == "/here"


def test_down_and_stop_of_a_labelled_project_follow_its_dependency_labels() -> None:
    containers = [summary("p", "web", depends="db:service_started:false"), summary("p", "db")]
    project = project_from_labels("p", containers, [network("p", "default")], [volume("p", "data")])
    assert project is not None
    observed = ObservedState.from_inspect("p", containers, [network("p", "default")], [volume("p", "data")])
    down = plan_down(project, observed, DownOptions(volumes=True))
    by_target = {(a.op, a.target): a for a in down.actions}
    stop_web, stop_db = by_target[(Op.STOP_CONTAINER, "p-web-1")], by_target[(Op.STOP_CONTAINER, "p-db-1")]
    assert stop_web.id in stop_db.after  # the dependent stops first
    assert (Op.REMOVE_NETWORK, "p_default") in by_target and (Op.REMOVE_VOLUME, "p_data") in by_target
    stop = plan_stop(project, observed, StopOptions())
    assert {a.target for a in stop.actions} == {"p-web-1", "p-db-1"}


def test_ls_status_counts_states_sorted_and_config_files_once() -> None:
    assert combined_status(["running", "exited", "running"]) == "exited(1), running(2)"
    assert combined_status([]) == ""
    found = stacks([
        summary("b", "web", state="exited"), summary("b", "db"), summary("b", "db", 2, files="/src/compose.yaml,/src/o.yaml"),
        summary("a", "web"), summary("a", "web", 1, oneoff=True, hash_label=False), {"Id": "x", "Labels": {}, "State": "running"},
    ])
    assert [s.to_dict() for s in found] == [
        {"Name": "a", "Status": "running(1)", "ConfigFiles": "/src/compose.yaml"},
        {"Name": "b", "Status": "exited(1), running(2)", "ConfigFiles": "/src/compose.yaml,/src/o.yaml"},
    ]
    assert stacks([summary("c", "web", files=None)])[0].config_files == "N/A"


@pytest.fixture
def state() -> tuple[Any, ObservedState]:
    containers = [
        summary("p", "web", 1, depends="db:service_started:false"), summary("p", "web", 2, state="exited"),
        summary("p", "db", 1, state="paused"), summary("p", "web", 1, oneoff=True),
        summary("p", "old", 1),  # an orphan: kept out of the model below
    ]
    project = project_from_labels("p", [c for c in containers if "old" not in c["Names"][0]])
    return project, ObservedState.from_inspect("p", containers)


def names(containers: Any) -> list[str]:
    return [c.name for c in containers]


def test_kill_signals_running_ones_with_one_offs_and_orphans_only_when_asked(state: Any) -> None:
    project, observed = state
    assert names(kill_targets(project, observed)) == ["p-db-1", "p-web-1", "p-web-run-abc1"]
    assert "p-old-1" in names(kill_targets(project, observed, remove_orphans=True))
    assert names(kill_targets(project, observed, ("db",))) == ["p-db-1"]
    with pytest.raises(UsageError, match="no such service: nope"):
        kill_targets(project, observed, ("nope",))


def test_pause_takes_running_ones_and_unpause_paused_ones(state: Any) -> None:
    project, observed = state
    assert names(pause_targets(project, observed, (), unpause=False)) == ["p-web-1", "p-web-run-abc1"]
    assert names(pause_targets(project, observed, (), unpause=True)) == ["p-db-1"]


def test_rm_takes_stopped_non_oneoff_ones_and_with_stop_stops_dependents_first(state: Any) -> None:
    project, observed = state
    assert names(rm_targets(project, observed)) == ["p-web-2"]
    assert names(rm_targets(project, observed, RmOptions(stop=True))) == ["p-db-1", "p-web-1", "p-web-2"]
    plan = plan_rm(project, observed, RmOptions(stop=True, volumes=True))
    by_target = {(a.op, a.target): a for a in plan.actions}
    assert by_target[(Op.STOP_CONTAINER, "p-web-1")].id in by_target[(Op.STOP_CONTAINER, "p-db-1")].after
    assert by_target[(Op.REMOVE_CONTAINER, "p-web-2")].payload.volumes is True
    assert (Op.STOP_CONTAINER, "p-web-2") not in by_target  # already stopped
    assert [a.target for a in plan_rm(project, observed).actions] == ["p-web-2"]


def test_pick_takes_the_index_else_the_lowest_number_and_one_offs_last(state: Any) -> None:
    project, observed = state
    assert pick(project, observed, "web").name == "p-web-1"
    assert pick(project, observed, "web", 2, running=False).name == "p-web-2"
    with pytest.raises(DevenvError, match="not running container #2"):
        pick(project, observed, "web", 2)
    assert names(of_services(project, observed, ("web",), oneoff=False)) == ["p-web-1", "p-web-2"]
