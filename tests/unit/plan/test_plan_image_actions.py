"""One function makes every pull/build action (`up`, `run`, `build`, `pull`, `push`), one check validates builds."""

from __future__ import annotations

import pytest

from devenv.errors import ManifestError
from devenv.plan import payloads as P
from devenv.plan.actions import Op
from devenv.plan.images import check_builds, image_action
from devenv.plan.run import RunOptions, plan_run
from tests.unit.plan.plan_factories import empty_state, make_project, svc
from tests.unit.plan.test_plan_up import up

LABELS = {"com.docker.compose.project": "demo", "com.docker.compose.service": "app", "com.docker.compose.version": "2.40.3"}
TWO = ["linux/amd64", "linux/arm64"]


def project(**build: object):  # type: ignore[no-untyped-def]
    return make_project({"app": svc(image=..., build={"context": "/src/app", "dockerfile": "Dockerfile", "args": {"X": "1"}, **build})})


def test_a_build_action_carries_the_canonical_build_with_compose_labels() -> None:
    p = project()
    action = image_action(p, p.services["app"], Op.BUILD_IMAGE, "devenv build")
    assert (action.id, action.op, action.target, action.reason, action.service) == (
        "build_image:demo-app", Op.BUILD_IMAGE, "demo-app", "devenv build", "app")
    assert action.payload == P.BuildImage(
        "demo-app", "app", {"context": "/src/app", "dockerfile": "Dockerfile", "args": {"X": "1"}, "labels": LABELS}, None, {}
    )


def test_devenv_builds_overrides_go_into_the_build_section() -> None:
    p = project()
    overrides = {"no_cache": True, "pull": True, "args": {"Y": "2", "X": "3"}}
    payload = image_action(p, p.services["app"], Op.BUILD_IMAGE, "devenv build", **overrides).payload  # type: ignore[arg-type]
    assert isinstance(payload, P.BuildImage)
    assert payload.build["no_cache"] is True and payload.build["pull"] is True
    assert dict(payload.build["args"]) == {"X": "3", "Y": "2"}
    assert p.services["app"].build["args"]["X"] == "1"  # the model is untouched


def test_a_pull_action_names_the_image_and_platform() -> None:
    p = make_project({"db": svc(image="postgres:16", platform="linux/amd64")})
    action = image_action(p, p.services["db"], Op.PULL_IMAGE, "devenv pull")
    assert (action.id, action.target) == ("pull_image:postgres:16", "postgres:16")
    assert action.payload == P.PullImage("postgres:16", "linux/amd64")


def test_up_run_and_build_make_the_same_build_action() -> None:
    p = project()
    by_up = up(p, empty_state(p, images={}), build=True).get("build_image:demo-app")
    by_run = plan_run(p, empty_state(p, images={}), RunOptions("app", "f" * 64, build=True)).get("build_image:demo-app")
    by_build = image_action(p, p.services["app"], Op.BUILD_IMAGE, "devenv build")
    assert by_up.payload == by_run.payload == by_build.payload
    assert (by_up.reason, by_run.reason) == ("--build", "--build")


@pytest.mark.parametrize("builder", [("BuildKit through the docker CLI (docker 20.10.24)", False), ("the engine's classic builder", False)])
def test_several_platforms_are_refused_by_name_without_buildx(builder: tuple[str, bool]) -> None:
    name, several = builder
    p = project(platforms=TWO)
    for action in (
        up(p, empty_state(p, images={})).get("build_image:demo-app"),  # up
        image_action(p, p.services["app"], Op.BUILD_IMAGE, "devenv build"),  # build
        plan_run(p, empty_state(p, images={}), RunOptions("app", "f" * 64)).get("build_image:demo-app"),  # run
    ):
        with pytest.raises(ManifestError) as caught:
            check_builds(p, [action], several_platforms=several, builder=name)
        message = str(caught.value)
        assert "\n" not in message
        assert message.startswith("/src/demo/compose.yaml: services.app.build.platforms: 2 platforms (linux/amd64, linux/arm64)")
        assert "needs buildx" in message and name in message


def test_several_platforms_build_with_buildx_and_one_with_any_builder() -> None:
    p = project(platforms=TWO)
    check_builds(p, [image_action(p, p.services["app"], Op.BUILD_IMAGE, "x")], several_platforms=True, builder="buildx")
    one = project(platforms=["linux/amd64"])
    check_builds(one, [image_action(one, one.services["app"], Op.BUILD_IMAGE, "x")], several_platforms=False, builder="docker")
    check_builds(one, [image_action(one, one.services["app"], Op.PULL_IMAGE, "x")], several_platforms=False, builder="docker")
    plain = project()
    check_builds(plain, [image_action(plain, plain.services["app"], Op.BUILD_IMAGE, "x")], several_platforms=False, builder="docker")


def test_services_with_the_same_build_share_one_build_that_tags_both() -> None:
    build = {"context": "/src/app", "dockerfile": "Dockerfile"}
    p = make_project({"web": svc(image=..., build=build), "worker": svc(image=..., build=build),
                      "other": svc(image=..., build={**build, "target": "other"})})
    plan = up(p, empty_state(p, images={}), build=True)
    builds = [a for a in plan.actions if a.op is Op.BUILD_IMAGE]
    assert [a.target for a in builds] == ["demo-other", "demo-web"]
    web = plan.get("build_image:demo-web")
    assert list(web.payload.build["tags"]) == ["demo-worker"] and "also demo-worker" in web.reason  # type: ignore[union-attr]
    create_worker = next(a for a in plan.actions if a.op is Op.CREATE_CONTAINER and a.service == "worker")
    assert plan.depends_on(create_worker.id, "build_image:demo-web")  # worker's container waits for the one build
