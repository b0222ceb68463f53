"""Names and labels are Compose v2's, so `docker compose ps/down` recognise devenv's objects."""

from __future__ import annotations

from devenv.plan import naming
from devenv.plan.containerspec import container_spec
from tests.unit.plan.compose_reference import INSPECT_NETWORKS, INSPECT_VOLUMES
from tests.unit.plan.plan_factories import IMAGE_ID, make_project, svc


def test_container_names() -> None:
    project = make_project({"web": svc(), "db": svc(container_name="database")})
    assert naming.container_name("demo", "web", 1) == "demo-web-1"
    assert naming.container_name("demo", project.services["web"], 3) == "demo-web-3"
    assert naming.container_name("demo", project.services["db"], 1) == "database"
    assert naming.short_container_name("web", 2) == "web-2"


def test_one_off_container_name_uses_twelve_hex_of_the_slug() -> None:
    assert naming.oneoff_container_name("demo", "web", "0123456789abcdef" * 4) == "demo-web-run-0123456789ab"


def test_network_and_volume_names_come_from_the_canonical_name() -> None:
    assert naming.network_name("demo", "default", {"name": "demo_default"}) == "demo_default"
    assert naming.network_name("demo", "back", {"name": "custom-back"}) == "custom-back"
    assert naming.network_name("demo", "front") == "demo_front"
    assert naming.volume_name("demo", "data", {"name": "demo_data"}) == "demo_data"
    assert naming.volume_name("demo", "ext", {"name": "shared", "external": True}) == "shared"
    assert naming.volume_name("demo", "data") == "demo_data"


def test_image_name_of_a_build_only_service() -> None:
    project = make_project({"app": svc(image=..., build={"context": "/src"}), "db": svc(image="postgres:16")})
    assert naming.image_name("demo", project.services["app"]) == "demo-app"
    assert naming.image_name("demo", project.services["db"]) == "postgres:16"


def test_container_labels_are_the_compose_set() -> None:
    project = make_project(
        {"db": svc(), "web": svc(labels={"x.y": "z"}, depends_on={"db": {"condition": "service_healthy", "restart": True, "required": True}})}
    )
    labels = naming.container_labels(project, project.services["web"], 2, config_hash="h" * 64, config_digest="a=1", image_id=IMAGE_ID)
    assert labels == {
        "x.y": "z",
        "com.docker.compose.project": "demo",
        "com.docker.compose.service": "web",
        "com.docker.compose.version": "2.40.3",
        "com.docker.compose.project.working_dir": "/src/demo",
        "com.docker.compose.project.config_files": "/src/demo/compose.yaml",
        "com.docker.compose.oneoff": "False",
        "com.docker.compose.config-hash": "h" * 64,
        "com.docker.compose.depends_on": "db:service_healthy:true",
        "com.docker.compose.container-number": "2",
        "com.docker.compose.image": IMAGE_ID,
        "io.devenv.config-digest": "a=1",
    }


def test_optional_labels() -> None:
    project = make_project({"web": svc()})
    web = project.services["web"]
    run = naming.container_labels(project, web, None, config_hash="h", oneoff=True, slug="s" * 64, env_files=("/src/.env", "/src/b.env"))
    assert run[naming.ONEOFF_LABEL] == "True"
    assert naming.CONTAINER_NUMBER_LABEL not in run
    assert run[naming.SLUG_LABEL] == "s" * 64
    assert run[naming.ENVIRONMENT_FILE_LABEL] == "/src/.env,/src/b.env"
    again = naming.container_labels(project, web, 1, config_hash="h", replace="web-1")
    assert again[naming.REPLACE_LABEL] == "web-1"
    assert naming.IMAGE_LABEL not in again and naming.ENVIRONMENT_FILE_LABEL not in again


def test_compose_labels_win_over_the_service_labels() -> None:
    project = make_project({"web": svc(labels={"com.docker.compose.project": "evil", "keep": "me"})})
    labels = naming.container_labels(project, project.services["web"], 1, config_hash="h")
    assert labels["com.docker.compose.project"] == "demo" and labels["keep"] == "me"


def test_depends_on_label_is_sorted() -> None:
    project = make_project(
        {
            "a": svc(),
            "b": svc(),
            "web": svc(depends_on={"b": {"condition": "service_started", "required": True}, "a": {"condition": "service_completed_successfully", "required": True, "restart": True}}),
        }
    )
    assert naming.depends_on_label(project.services["web"]) == "a:service_completed_successfully:true,b:service_started:false"


def test_network_and_volume_labels_match_what_compose_put_on_them() -> None:
    front = next(n for n in INSPECT_NETWORKS if n["Name"] == "plancmp_front")
    labels = naming.network_labels("plancmp", "front", {"name": "plancmp_front"}, config_hash="h")
    assert {k for k in labels} == set(front["Labels"])
    assert {k: v for k, v in labels.items() if k != naming.CONFIG_HASH_LABEL} == {
        k: v for k, v in front["Labels"].items() if k != naming.CONFIG_HASH_LABEL
    }
    volume = INSPECT_VOLUMES[0]
    vlabels = naming.volume_labels("plancmp", "dbdata", {"name": "plancmp_dbdata"}, config_hash="h")
    assert {k: v for k, v in vlabels.items() if k != naming.CONFIG_HASH_LABEL} == {
        k: v for k, v in volume["Labels"].items() if k != naming.CONFIG_HASH_LABEL
    }


def test_user_labels_of_networks_are_kept() -> None:
    assert naming.network_labels("p", "n", {"labels": {"team": "a"}})["team"] == "a"


def test_project_filter() -> None:
    assert naming.project_filter("demo") == {"label": ["com.docker.compose.project=demo"]}


def test_spec_name_and_labels_for_a_one_off_container() -> None:
    project = make_project({"web": svc(restart="always")})
    spec = container_spec(project, "web", None, image_id=IMAGE_ID, slug="f" * 64)
    assert spec.name == "demo-web-run-ffffffffffff"
    assert spec.number is None
    assert spec.labels[naming.ONEOFF_LABEL] == "True"
    assert "RestartPolicy" not in spec.body["HostConfig"]  # as Compose: a run container never restarts
