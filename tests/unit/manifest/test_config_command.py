"""`devenv config`: the resolved model in Compose's canonical form, or one of its lists."""

from __future__ import annotations

import json
import os

import pytest

from devenv.cli import main
from devenv.manifest.loader import load_project, normalize_project_name
from devenv.manifest.options import ProjectOptions

COMPOSE = """\
name: shop
x-info: {owner: team}
services:
  web:
    build: ./web
    ports: ["8080:80"]
    environment:
      PRICE: "$$5"
      TAG: "${TAG:-dev}"
    depends_on: [db]
    x-note: kept-in-yaml
    volumes: [static:/static]
    networks: [front, back]
  db:
    image: postgres:16
    networks: [back]
    volumes: [pgdata:/var/lib/postgresql/data]
  debug:
    image: busybox
    profiles: [debug]
  admin:
    image: adminer
    profiles: [tools, debug]
volumes:
  pgdata: {}
  static: {}
  unused: {}
networks:
  front: {}
  back: {}
"""


@pytest.fixture
def project_dir(tmp_path, monkeypatch):
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith("COMPOSE_") or key == "TAG":
            monkeypatch.delenv(key)
    return tmp_path


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_the_canonical_model_with_dollars_escaped(project_dir, capsys) -> None:
    code, out, err = run(capsys, "config", "--format", "json")
    assert code == 0, err
    document = json.loads(out)
    assert document["name"] == "shop"
    web = document["services"]["web"]
    assert web["environment"] == {"PRICE": "$$5", "TAG": "dev"}
    assert web["build"] == {"context": str(project_dir / "web"), "dockerfile": "Dockerfile"}
    assert web["ports"] == [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]
    assert "x-note" not in web  # Compose's JSON leaves service extensions out
    assert document["x-info"] == {"owner": "team"}
    assert sorted(document["services"]) == ["db", "web"]
    assert sorted(document["volumes"]) == ["pgdata", "static"]
    assert document["volumes"]["pgdata"] == {"name": "shop_pgdata"}


def test_json_output_loads_back_to_the_same_model(project_dir, capsys, tmp_path_factory) -> None:
    code, out, _ = run(capsys, "config", "--format", "json")
    assert code == 0
    again = tmp_path_factory.mktemp("again")
    (again / "compose.json").write_text(out)
    first = load_project(ProjectOptions(cwd=str(project_dir), environ={}), warn=lambda m: None)
    second = load_project(ProjectOptions(files=(str(again / "compose.json"),), cwd=str(again), environ={}), warn=lambda m: None)
    assert second.to_dict(service_extensions=False) == first.to_dict(service_extensions=False)


def test_yaml_output_keeps_service_extensions_and_loads_back(project_dir, capsys, tmp_path_factory) -> None:
    code, out, _ = run(capsys, "config")
    assert code == 0
    assert "x-note: kept-in-yaml" in out
    again = tmp_path_factory.mktemp("again")
    (again / "compose.yaml").write_text(out)
    first = load_project(ProjectOptions(cwd=str(project_dir), environ={}), warn=lambda m: None)
    second = load_project(ProjectOptions(cwd=str(again), environ={}), warn=lambda m: None)
    assert second.to_dict() == first.to_dict()
    assert second.services["web"].config["environment"]["PRICE"] == "$5"


@pytest.mark.parametrize(
    "flag, extra, expected",
    [
        ("--services", [], ["web", "db"]),
        ("--services", ["--profile", "debug"], ["web", "db", "debug", "admin"]),
        ("--volumes", [], ["pgdata", "static"]),
        ("--networks", [], ["back", "front"]),
        ("--profiles", [], ["debug", "tools"]),
        ("--images", [], ["shop-web", "postgres:16"]),
        ("--images", ["--profile", "tools"], ["shop-web", "postgres:16", "adminer"]),
    ],
)
def test_list_flags_print_one_name_per_line(project_dir, capsys, flag, extra, expected) -> None:
    code, out, err = run(capsys, *extra, "config", flag)
    assert code == 0, err
    assert sorted(out.splitlines()) == sorted(expected)


def test_quiet_only_validates(project_dir, capsys) -> None:
    assert run(capsys, "config", "-q") == (0, "", "")


def test_quiet_still_fails_on_errors(project_dir, capsys) -> None:
    (project_dir / "compose.yaml").write_text("services:\n  web:\n    image: x\n    ports: [bad]\n")
    code, out, err = run(capsys, "config", "-q")
    assert code == 2 and out == ""
    assert err.startswith(f"devenv: {project_dir / 'compose.yaml'}:4: services.web.ports[0]: ")


def test_global_options_reach_the_loader(project_dir, capsys) -> None:
    (project_dir / "other.env").write_text("TAG=from-env-file\n")
    code, out, _ = run(capsys, "-p", "renamed", "--env-file", "other.env", "config", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["name"] == "renamed"
    assert document["services"]["web"]["environment"]["TAG"] == "from-env-file"


def test_file_option_and_project_directory(project_dir, capsys) -> None:
    sub = project_dir / "deploy"
    sub.mkdir()
    (sub / "app.yaml").write_text("services:\n  api:\n    build: ./api\n")
    code, out, _ = run(capsys, "-f", "deploy/app.yaml", "--project-directory", ".", "config", "--format", "json")
    assert code == 0
    document = json.loads(out)
    assert document["name"] == normalize_project_name(project_dir.name)  # the project directory's name
    assert document["services"]["api"]["build"]["context"] == str(project_dir / "api")


def test_unknown_format_is_a_usage_error(project_dir, capsys) -> None:
    code, _, err = run(capsys, "config", "--format", "toml")
    assert code == 2
    assert "toml" in err
