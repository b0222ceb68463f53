"""The project name: `-p` > `COMPOSE_PROJECT_NAME` > top-level `name:` > the project directory's name."""

from __future__ import annotations

import pytest

from devenv.manifest.loader import normalize_project_name

BODY = "services:\n  web:\n    image: nginx\n"


@pytest.mark.parametrize(
    "flag, environ, dotenv, declared, expected",
    [
        ("flag", {"COMPOSE_PROJECT_NAME": "env"}, "COMPOSE_PROJECT_NAME=dotenv\n", "declared", "flag"),
        (None, {"COMPOSE_PROJECT_NAME": "env"}, "COMPOSE_PROJECT_NAME=dotenv\n", "declared", "env"),
        (None, {}, "COMPOSE_PROJECT_NAME=dotenv\n", "declared", "dotenv"),
        (None, {}, "", "declared", "declared"),
        (None, {}, "", None, "projdir"),
    ],
)
def test_precedence(ws, flag, environ, dotenv, declared, expected) -> None:
    ws.write("ProjDir/compose.yaml", (f"name: {declared}\n" if declared else "") + BODY)
    if dotenv:
        ws.write("ProjDir/.env", dotenv)
    project = ws.load(cwd=ws.root / "ProjDir", project_name=flag, environ=environ)
    assert project.name == expected


@pytest.mark.parametrize(
    "declared, environ, expected",
    [
        ("My_Project", {}, "my_project"),
        ('"My Project.v2"', {}, "myprojectv2"),
        ('"__leading"', {}, "leading"),
        ('"app-${ENV:-dev}"', {}, "app-dev"),
        ('"app-${ENV:-dev}"', {"ENV": "Prod"}, "app-prod"),
        ('"${NAME}"', {"NAME": "from-var"}, "from-var"),
        ('"2048"', {}, "2048"),
    ],
)
def test_declared_name_is_interpolated_and_normalized(ws, declared, environ, expected) -> None:
    ws.write("compose.yaml", f"name: {declared}\n" + BODY)
    assert ws.load(project_name=None, environ=environ).name == expected


def test_declared_name_can_use_dot_env(ws) -> None:
    ws.write(".env", "STAGE=qa\n")
    ws.write("compose.yaml", 'name: "shop-${STAGE}"\n' + BODY)
    assert ws.load(project_name=None).name == "shop-qa"


def test_last_files_declared_name_wins(ws) -> None:
    ws.write("one.yaml", "name: first\n" + BODY)
    ws.write("two.yaml", "name: second\n")
    ws.write("three.yaml", "services: {}\n")
    assert ws.load("one.yaml", "two.yaml", "three.yaml", project_name=None).name == "second"


def test_declared_name_must_be_a_string(ws) -> None:
    ws.write("compose.yaml", "name: 2048\n" + BODY)
    err = ws.error(project_name=None)
    assert (err.line, err.path) == (1, "name")
    assert "must be a string" in err.message


def test_empty_declared_name_falls_back_to_the_directory(ws) -> None:
    ws.write("App/compose.yaml", 'name: ""\n' + BODY)
    assert ws.load(cwd=ws.root / "App", project_name=None).name == "app"


@pytest.mark.parametrize("declared", ['"!!!"', '"${UNSET_NAME}"', '"-_-"'])
def test_declared_name_that_normalizes_to_nothing_is_an_error(ws, declared) -> None:
    ws.write("compose.yaml", f"services:\n  web:\n    image: nginx\nname: {declared}\n")
    err = ws.error(project_name=None)
    assert "project name must not be empty" in err.message
    assert err.file == str(ws.root / "compose.yaml")
    assert (err.line, err.path) == (4, "name")


@pytest.mark.parametrize(
    "directory, expected",
    [
        ("myapp", "myapp"),
        ("My App", "myapp"),
        ("My Dir.V2", "mydirv2"),
        ("web_front-end", "web_front-end"),
        ("_private", "private"),
        ("--dash", "dash"),
        ("Ünïcödé app", "ncdapp"),
    ],
)
def test_directory_basename_is_normalized(ws, directory, expected) -> None:
    ws.write(f"{directory}/compose.yaml", BODY)
    assert ws.load(cwd=ws.root / directory, project_name=None).name == expected


def test_directory_name_that_normalizes_to_nothing_asks_for_a_name(ws) -> None:
    ws.write("___/compose.yaml", BODY)
    err = ws.error(cwd=ws.root / "___", project_name=None)
    assert "-p NAME" in err.message


@pytest.mark.parametrize("name", ["Bad", "_bad", "-bad", "a.b", "has space", "UPPER", "é"])
def test_invalid_flag_name_is_rejected_not_normalized(ws, name) -> None:
    ws.write("compose.yaml", BODY)
    err = ws.error(project_name=name)
    assert err.message.startswith(f"invalid project name {name!r}")
    assert "lowercase letters, digits, '-' and '_'" in err.message
    assert "starting with a letter or digit" in err.message


@pytest.mark.parametrize("name", ["Bad", "a.b"])
def test_invalid_compose_project_name_is_rejected(ws, name) -> None:
    ws.write("compose.yaml", BODY)
    err = ws.error(project_name=None, environ={"COMPOSE_PROJECT_NAME": name})
    assert err.message.startswith(f"invalid project name {name!r}")


@pytest.mark.parametrize("name", ["a", "9lives", "web_1", "my-app", "0"])
def test_valid_flag_names_are_kept_as_given(ws, name) -> None:
    ws.write("compose.yaml", BODY)
    assert ws.load(project_name=name).name == name


def test_resource_names_are_prefixed_with_the_project_name(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        name: shop
        services:
          web:
            image: nginx
            volumes: [data:/data]
        volumes:
          data: {}
        """,
    )
    project = ws.load(project_name=None)
    assert project.networks["default"]["name"] == "shop_default"
    assert project.volumes["data"]["name"] == "shop_data"


@pytest.mark.parametrize(
    "raw, expected",
    [("Hello World", "helloworld"), ("a.b_c-d", "ab_c-d"), ("__x__", "x__"), ("-", ""), ("ÀB9", "b9")],
)
def test_normalize_project_name(raw: str, expected: str) -> None:
    assert normalize_project_name(raw) == expected


def test_error_interpolating_the_declared_name_points_at_the_file_that_declares_it(ws) -> None:
    ws.write("one.yaml", BODY)
    ws.write("two.yaml", 'x-filler: 1\nname: "${STAGE:?set STAGE}"\n')
    err = ws.error("one.yaml", "two.yaml", project_name=None)
    assert (err.file, err.line, err.path) == (str(ws.root / "two.yaml"), 2, "name")
    assert err.message == "required variable STAGE is missing a value: set STAGE"


def test_declared_name_is_interpolated_even_when_a_name_is_given(ws) -> None:
    # `name:` is a value of the file like any other: Compose interpolates (and checks) it anyway
    ws.write("compose.yaml", 'name: "${STAGE:?set STAGE}"\n' + BODY)
    err = ws.error(project_name="given")
    assert (err.line, err.path) == (1, "name")
    assert ws.load(project_name="given", environ={"STAGE": "qa"}).name == "given"
