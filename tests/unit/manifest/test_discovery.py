"""Discovery: which Compose files are read, from which project directory, with which `.env`."""

from __future__ import annotations

import os

import pytest

from devenv.manifest.discover import DEFAULT_FILES, OVERRIDE_FILES
from devenv.manifest.loader import normalize_project_name

SERVICE = "services:\n  web:\n    image: {image}\n"
OVERRIDE = "services:\n  web:\n    environment: [FROM={name}]\n"


def images(project) -> dict[str, str]:
    return {name: s.image for name, s in project.services.items()}


# ------------------------------------------------------------------ default names


def test_default_names_in_order() -> None:
    assert DEFAULT_FILES[2:] == ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
    assert DEFAULT_FILES[:2] == ("devenv.yaml", "devenv.yml")


@pytest.mark.parametrize("name", DEFAULT_FILES)
def test_each_default_name_is_found(ws, name: str) -> None:
    ws.write(name, SERVICE.format(image=name))
    project = ws.load()
    assert images(project) == {"web": name}
    assert project.compose_files == (str(ws.root / name),)
    assert ws.warnings == []


@pytest.mark.parametrize("index", range(len(DEFAULT_FILES) - 1))
def test_earlier_default_name_wins_with_a_warning(ws, index: int) -> None:
    for name in DEFAULT_FILES[index:]:
        ws.write(name, SERVICE.format(image=name))
    project = ws.load()
    assert images(project) == {"web": DEFAULT_FILES[index]}
    (warning,) = ws.warnings
    assert "Found multiple config files" in warning
    assert f"using {ws.root / DEFAULT_FILES[index]}" in warning


@pytest.mark.parametrize("override", OVERRIDE_FILES)
def test_override_file_is_merged_after_the_main_file(ws, override: str) -> None:
    ws.write("compose.yaml", SERVICE.format(image="base"))
    ws.write(override, OVERRIDE.format(name=override))
    project = ws.load()
    assert project.compose_files == (str(ws.root / "compose.yaml"), str(ws.root / override))
    assert project.services["web"].config["environment"] == {"FROM": override}
    assert project.services["web"].image == "base"


def test_override_pairs_with_any_default_name(ws) -> None:
    ws.write("docker-compose.yml", SERVICE.format(image="old-name"))
    ws.write("compose.override.yaml", OVERRIDE.format(name="new-name-override"))
    project = ws.load()
    assert project.services["web"].config["environment"] == {"FROM": "new-name-override"}


def test_first_override_name_wins_with_a_warning(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="base"))
    ws.write("compose.override.yml", OVERRIDE.format(name="yml"))
    ws.write("compose.override.yaml", OVERRIDE.format(name="yaml"))
    project = ws.load()
    assert project.services["web"].config["environment"] == {"FROM": "yml"}
    assert any("Found multiple override files" in w for w in ws.warnings)


def test_override_file_alone_is_not_a_project(ws) -> None:
    ws.write("compose.override.yaml", SERVICE.format(image="x"))
    err = ws.error()
    assert "no Compose file found" in err.message


def test_override_file_is_not_read_when_files_are_given(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="base"))
    ws.write("compose.override.yaml", OVERRIDE.format(name="override"))
    project = ws.load("compose.yaml")
    assert "environment" not in project.services["web"].config


# ------------------------------------------------------------------ searching upward


def test_files_are_searched_upward_from_a_subdirectory(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="top") + '    volumes: ["./data:/data"]\n')
    ws.write("compose.override.yaml", OVERRIDE.format(name="top-override"))
    deep = ws.root / "src" / "pkg"
    deep.mkdir(parents=True)
    project = ws.load(cwd=deep, project_name=None)
    assert images(project) == {"web": "top"}
    assert project.services["web"].config["environment"] == {"FROM": "top-override"}
    assert project.working_dir == str(ws.root)
    # relative paths and the project name follow the directory the file was found in
    assert project.services["web"].config["volumes"][0]["source"] == str(ws.root / "data")
    assert project.name == normalize_project_name(ws.root.name)


def test_the_nearest_directory_with_a_compose_file_wins(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="outer"))
    ws.write("inner/docker-compose.yml", SERVICE.format(image="inner"))
    (ws.root / "inner" / "deeper").mkdir()
    assert images(ws.load(cwd=ws.root / "inner" / "deeper")) == {"web": "inner"}


def test_dot_env_of_the_directory_the_file_was_found_in_is_read(ws) -> None:
    ws.write("compose.yaml", 'services: {web: {image: "nginx:${TAG:-none}"}}')
    ws.write(".env", "TAG=from-project-dir\n")
    (ws.root / "sub").mkdir()
    project = ws.load(cwd=ws.root / "sub")
    assert project.services["web"].image == "nginx:from-project-dir"


def test_dot_env_of_the_working_directory_is_read_first(ws) -> None:
    ws.write("compose.yaml", 'services: {web: {image: "nginx:${TAG:-none}-${OTHER:-none}"}}')
    ws.write(".env", "TAG=from-project-dir\nOTHER=from-project-dir\n")
    ws.write("sub/.env", "TAG=from-working-dir\n")
    project = ws.load(cwd=ws.root / "sub")
    assert project.services["web"].image == "nginx:from-working-dir-from-project-dir"


def test_nothing_found_is_an_error_naming_the_directory(ws) -> None:
    (ws.root / "empty").mkdir()
    err = ws.error(cwd=ws.root / "empty")
    assert "no Compose file found" in err.message
    assert str(ws.root / "empty") in err.message
    assert "-f" in err.message


# ------------------------------------------------------------------ -f


def test_repeated_files_are_merged_in_order(ws) -> None:
    ws.write("one.yaml", SERVICE.format(image="one"))
    ws.write("two.yaml", SERVICE.format(image="two"))
    ws.write("three.yaml", "services:\n  extra:\n    image: three\n")
    project = ws.load("one.yaml", "two.yaml", "three.yaml")
    assert images(project) == {"web": "two", "extra": "three"}
    assert project.compose_files == tuple(str(ws.root / f) for f in ("one.yaml", "two.yaml", "three.yaml"))


def test_files_are_relative_to_the_working_directory(ws) -> None:
    ws.write("deploy/app.yaml", SERVICE.format(image="app"))
    (ws.root / "elsewhere").mkdir()
    project = ws.load("../deploy/app.yaml", cwd=ws.root / "elsewhere")
    assert project.compose_files == (str(ws.root / "deploy" / "app.yaml"),)


def test_project_directory_is_the_first_files_directory(ws) -> None:
    ws.write("a/one.yaml", SERVICE.format(image="a") + '    volumes: ["./data:/data"]\n')
    ws.write("b/two.yaml", 'services:\n  web:\n    volumes: ["./bdata:/bdata"]\n')
    project = ws.load("a/one.yaml", "b/two.yaml", project_name=None)
    assert project.working_dir == str(ws.root / "a")
    assert project.name == "a"
    sources = [v["source"] for v in project.services["web"].config["volumes"]]
    # every file's relative paths resolve against the project directory, not the file's own
    assert sources == [str(ws.root / "a" / "data"), str(ws.root / "a" / "bdata")]


def test_dot_env_is_read_from_the_first_files_directory(ws) -> None:
    ws.write("a/compose.yaml", 'services: {web: {image: "nginx:${TAG:-none}"}}')
    ws.write("a/.env", "TAG=a\n")
    ws.write(".env", "TAG=cwd\n")
    assert ws.load("a/compose.yaml").services["web"].image == "nginx:a"


def test_files_override_compose_file_variable(ws) -> None:
    ws.write("given.yaml", SERVICE.format(image="given"))
    ws.write("env.yaml", SERVICE.format(image="env"))
    assert images(ws.load("given.yaml", environ={"COMPOSE_FILE": "env.yaml"})) == {"web": "given"}


def test_missing_file_is_an_error(ws) -> None:
    err = ws.error("nope.yaml")
    assert err.message == f"file not found: {ws.root / 'nope.yaml'}"


def test_a_directory_is_not_a_compose_file(ws) -> None:
    (ws.root / "dir.yaml").mkdir()
    err = ws.error("dir.yaml")
    assert "is a directory" in err.message


# ------------------------------------------------------------------ COMPOSE_FILE


def test_compose_file_variable_lists_files_with_the_path_separator(ws) -> None:
    ws.write("a/one.yaml", SERVICE.format(image="one"))
    ws.write("b/two.yaml", "services:\n  other:\n    image: two\n")
    project = ws.load(environ={"COMPOSE_FILE": os.pathsep.join(["a/one.yaml", "b/two.yaml"])}, project_name=None)
    assert images(project) == {"web": "one", "other": "two"}
    assert project.working_dir == str(ws.root / "a")


def test_compose_path_separator_changes_the_separator(ws) -> None:
    ws.write("one.yaml", SERVICE.format(image="one"))
    ws.write("two.yaml", SERVICE.format(image="two"))
    environ = {"COMPOSE_FILE": "one.yaml;two.yaml", "COMPOSE_PATH_SEPARATOR": ";"}
    assert images(ws.load(environ=environ)) == {"web": "two"}


def test_compose_file_may_come_from_dot_env(ws) -> None:
    ws.write(".env", "COMPOSE_FILE=deploy/app.yaml\n")
    ws.write("deploy/app.yaml", SERVICE.format(image="from-dotenv-compose-file"))
    assert images(ws.load()) == {"web": "from-dotenv-compose-file"}


def test_compose_file_wins_over_default_names(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="default"))
    ws.write("custom.yaml", SERVICE.format(image="custom"))
    assert images(ws.load(environ={"COMPOSE_FILE": "custom.yaml"})) == {"web": "custom"}


def test_compose_file_naming_a_missing_file_is_an_error(ws) -> None:
    err = ws.error(environ={"COMPOSE_FILE": "missing.yaml"})
    assert "file not found" in err.message and "missing.yaml" in err.message


# ------------------------------------------------------------------ --project-directory


def test_project_directory_option_anchors_relative_paths_and_dot_env(ws) -> None:
    ws.write("files/compose.yaml", 'services:\n  web:\n    image: "nginx:${TAG:-none}"\n    build: ./app\n')
    ws.write("root/.env", "TAG=root\n")
    ws.write("files/.env", "TAG=files\n")
    project = ws.load("files/compose.yaml", project_directory="root", project_name=None)
    assert project.working_dir == str(ws.root / "root")
    assert project.name == "root"
    assert project.services["web"].image == "nginx:root"
    assert project.services["web"].config["build"]["context"] == str(ws.root / "root" / "app")


def test_project_directory_option_searches_default_names_there(ws) -> None:
    ws.write("proj/compose.yaml", SERVICE.format(image="in-proj"))
    (ws.root / "elsewhere").mkdir()
    project = ws.load(project_directory="../proj", cwd=ws.root / "elsewhere")
    assert images(project) == {"web": "in-proj"}


# ------------------------------------------------------------------ profiles from the environment


def test_compose_profiles_variable_is_split_on_commas(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="x"))
    assert ws.load(environ={"COMPOSE_PROFILES": "a, b,,c"}).profiles == ("a", "b", "c")


def test_profile_option_wins_over_compose_profiles(ws) -> None:
    ws.write("compose.yaml", SERVICE.format(image="x"))
    assert ws.load(profiles=("cli",), environ={"COMPOSE_PROFILES": "env"}).profiles == ("cli",)
