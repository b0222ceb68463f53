"""`devenv run`'s plan (devenv/plan/run.py): dependencies, the one-off container, --rm, --no-deps,
--build/--pull, ports and aliases."""

from __future__ import annotations

import pytest

from devenv.errors import UsageError
from devenv.plan import payloads as P
from devenv.plan.actions import Op, Plan
from devenv.plan.errors import PlanError
from devenv.plan.observed import ObservedState
from devenv.plan.phases import prune_satisfied_gates
from devenv.plan.run import RunOptions, derive, oneoff_container, plan_run
from tests.unit.plan.plan_factories import IMAGE_ID, empty_state, make_project, simulate, svc
from tests.unit.plan.test_plan_up import dep, running

SLUG = "0123456789ab" + "f" * 52
ONEOFF = "demo-web-run-0123456789ab"


def run(project, state: ObservedState, **options) -> Plan:  # type: ignore[no-untyped-def]
    return plan_run(project, state, RunOptions(options.pop("service", "web"), SLUG, **options))


def create(plan: Plan) -> P.CreateContainer:
    payload = plan.get(f"create_container:{oneoff_container(plan)}").payload
    assert isinstance(payload, P.CreateContainer)
    return payload


WEB_DB = make_project({
    "db": svc(healthcheck={"test": ["CMD", "true"]}),
    "cache": svc(),
    "web": svc(depends_on={"db": dep("service_healthy"), "cache": dep()},
               ports=[{"target": 80, "published": "8080", "protocol": "tcp", "mode": "ingress"}]),
})


def test_a_service_without_dependencies_gets_its_network_and_the_one_off_container_only() -> None:
    project = make_project({"web": svc()})
    plan = run(project, empty_state(project))
    assert plan.command == "run"
    assert [a.id for a in plan.actions] == ["create_network:demo_default", f"create_container:{ONEOFF}"]
    assert plan.get(f"create_container:{ONEOFF}").after == ("create_network:demo_default",)
    spec = create(plan).spec
    assert spec.number is None and spec.image_id == IMAGE_ID and not create(plan).image_pending
    assert spec.body["Labels"]["com.docker.compose.oneoff"] == "True"
    assert oneoff_container(plan) == ONEOFF


def test_attached_it_is_not_started_by_the_plan_detached_it_is() -> None:
    project = make_project({"web": svc()})
    state = running(project)
    attached = run(project, state)
    assert not attached.of(Op.START_CONTAINER)
    body = create(attached).spec.create_body()
    assert (body["OpenStdin"], body["StdinOnce"], body["AttachStdin"], body["Tty"]) == (True, True, True, False)
    assert body["HostConfig"]["RestartPolicy"] == {"Name": "no"}
    detached = run(project, state, detach=True)
    assert [a.id for a in detached.actions] == [f"create_container:{ONEOFF}", f"start_container:{ONEOFF}"]
    assert detached.get(f"start_container:{ONEOFF}").after == (f"create_container:{ONEOFF}",)
    assert create(detached).spec.create_body()["OpenStdin"] is False


def test_rm_removes_a_detached_container_on_exit_and_leaves_an_attached_one_to_the_command() -> None:
    project = make_project({"web": svc()})
    state = running(project)
    assert create(run(project, state, remove=True, detach=True)).spec.create_body()["HostConfig"]["AutoRemove"] is True
    assert "AutoRemove" not in create(run(project, state, remove=True)).spec.create_body()["HostConfig"]
    assert not run(project, state, remove=True).of(Op.REMOVE_CONTAINER)


def test_dependencies_come_up_first_and_their_conditions_are_waited_for() -> None:
    plan = run(WEB_DB, empty_state(WEB_DB))
    assert set(plan.targets(Op.START_CONTAINER)) == {"demo-db-1", "demo-cache-1"}
    gate = plan.get("wait_healthy:demo-db-1")
    assert gate.payload == P.WaitHealthy(None, "db", True, ("web",))
    assert gate.after == ("start_container:demo-db-1",) and gate.reason == "web needs db"
    one_off = plan.get(f"create_container:{ONEOFF}")
    assert set(one_off.after) == set(plan.ids()) - {one_off.id}  # everything else first, as Compose's run
    simulate(plan, empty_state(WEB_DB))  # a valid order


def test_dependencies_already_up_leave_only_the_one_off_once_gates_are_pruned() -> None:
    state = running(WEB_DB, services=("db", "cache"))
    plan = run(WEB_DB, state)
    assert prune_satisfied_gates(plan, state).ids() == (f"create_container:{ONEOFF}",)


def test_no_deps_touches_no_other_service() -> None:
    plan = run(WEB_DB, empty_state(WEB_DB), no_deps=True)
    assert plan.ids() == ("create_network:demo_default", f"create_container:{ONEOFF}")


def test_an_optional_dependency_gate_is_not_required() -> None:
    project = make_project({"db": svc(), "web": svc(depends_on={"db": dep("service_completed_successfully", required=False)})})
    gate = run(project, empty_state(project)).get("wait_completed:demo-db-1")
    assert gate.payload == P.WaitCompleted(None, "db", False, ("web",))


def test_its_image_is_built_with_build_pulled_with_pull_always_made_when_missing() -> None:
    built = make_project({"web": svc(image=..., build={"context": "/src"})})
    missing = run(built, empty_state(built, images={}))
    assert missing.get("build_image:demo-web").reason == "missing locally"
    assert create(missing).image_pending and create(missing).spec.image_id is None
    assert f"create_container:{ONEOFF}" in missing.ids() and missing.depends_on(f"create_container:{ONEOFF}", "build_image:demo-web")
    there = empty_state(built, images={"demo-web": IMAGE_ID})
    assert not run(built, there).of(Op.BUILD_IMAGE)
    assert run(built, there, build=True).get("build_image:demo-web").reason == "--build"
    pulled = make_project({"web": svc()})
    assert run(pulled, empty_state(pulled), pull="always").get("pull_image:devenv/busybox:latest").reason == "--pull always"
    assert not run(pulled, empty_state(pulled), pull="missing").of(Op.PULL_IMAGE)
    assert run(pulled, empty_state(pulled, images={})).get("pull_image:devenv/busybox:latest").reason == "missing locally"
    with pytest.raises(PlanError, match="missing and the pull policy is 'never'"):
        run(pulled, empty_state(pulled, images={}), pull="never")


def test_ports_only_with_service_ports_or_publish() -> None:
    state = running(WEB_DB)
    assert "PortBindings" not in create(run(WEB_DB, state, no_deps=True)).spec.create_body()["HostConfig"]
    own = create(run(WEB_DB, state, no_deps=True, service_ports=True)).spec.create_body()["HostConfig"]["PortBindings"]
    assert own == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}]}
    given = create(run(WEB_DB, state, no_deps=True, publish=("9090:90",), publish_host="10.0.0.1")).spec.create_body()
    assert given["HostConfig"]["PortBindings"] == {"90/tcp": [{"HostIp": "10.0.0.1", "HostPort": "9090"}]}
    with pytest.raises(UsageError, match="--service-ports and --publish are incompatible"):
        run(WEB_DB, state, service_ports=True, publish=("1:1",))
    with pytest.raises(UsageError, match="invalid --publish 'x:y:z:w'"):
        run(WEB_DB, state, publish=("x:y:z:w",))


def test_aliases_only_with_use_aliases() -> None:
    project = make_project({"web": svc(networks={"default": None, "front": {"aliases": ["www"]}})}, networks={"front": {}})
    state = running(project)

    def aliases(plan: Plan) -> list[str]:
        connect = plan.get(f"connect_network:{ONEOFF}@demo_front")
        assert isinstance(connect.payload, P.ConnectNetwork)
        return list(connect.payload.body["EndpointConfig"].get("Aliases") or ())

    assert "www" not in aliases(run(project, state))
    assert "www" in aliases(run(project, state, use_aliases=True))


def test_the_command_line_overrides_the_service() -> None:
    project = make_project({"web": svc(command=["serve"], environment={"A": "1"}, cap_add=["NET_ADMIN"])})
    body = create(run(project, running(project), command=("echo", "hi"), env=("A=2", "B=3"), workdir="/w", user="1000",
                      labels={"x": "y"}, cap_drop=("NET_ADMIN",), tty=True, name="mine")).spec.create_body()
    assert body["Cmd"] == ["echo", "hi"] and body["WorkingDir"] == "/w" and body["User"] == "1000" and body["Tty"] is True
    assert {"A=2", "B=3"} <= set(body["Env"]) and body["Labels"]["x"] == "y"
    assert "CAP_NET_ADMIN" in body["HostConfig"]["CapDrop"] and not body["HostConfig"].get("CapAdd")
    assert oneoff_container(run(project, running(project), name="mine")) == "mine"
    entry = create(run(project, running(project), entrypoint="sh -c")).spec.create_body()
    assert entry["Entrypoint"] == ["sh", "-c"] and entry.get("Cmd") is None


def test_a_volume_given_by_name_is_used_as_is_and_binds_resolve_against_the_project() -> None:
    project = make_project({"web": svc()})
    derived, service = derive(project, project.services["web"], RunOptions("web", SLUG, volumes=("cachevol:/c", "./src:/src")))
    assert derived.volumes["cachevol"]["external"] is True and "cachevol" not in project.volumes
    sources = {m["target"]: m["source"] for m in service.get("volumes")}
    assert sources == {"/c": "cachevol", "/src": "/src/demo/src"}
    plan = run(project, running(project), volumes=("cachevol:/c",))
    assert not plan.of(Op.CREATE_VOLUME)  # the engine makes it, as `docker run -v name:/c` does


def test_the_services_declared_volumes_are_made() -> None:
    project = make_project({"web": svc(volumes=[{"type": "volume", "source": "data", "target": "/d"}])}, volumes={"data": {}})
    plan = run(project, empty_state(project))
    assert plan.depends_on(f"create_container:{ONEOFF}", "create_volume:demo_data")


def test_the_one_off_is_found_in_the_plan() -> None:
    with pytest.raises(LookupError):
        oneoff_container(Plan("run", "demo"))
    project = make_project({"web": svc()})
    assert oneoff_container(run(project, running(project))) == ONEOFF
