"""`include`: import another Compose application (its services and resources), loaded from its own
directory with its own `.env`."""

from __future__ import annotations

from devenv.model import thaw


def config(project, name: str) -> dict:
    return thaw(project.services[name].config)


def test_include_string_form_imports_services_and_resources(ws) -> None:
    ws.write(
        "db/compose.yaml",
        """
        services:
          db:
            image: postgres
            volumes: [dbdata:/var/lib/postgresql/data]
        volumes:
          dbdata: {}
        """,
    )
    ws.write(
        "compose.yaml",
        """
        include:
          - db/compose.yaml
        services:
          web:
            image: nginx
            depends_on: [db]
        """,
    )
    project = ws.load()
    assert sorted(project.services) == ["db", "web"]
    assert project.volumes["dbdata"]["name"] == "proj_dbdata"
    assert project.compose_files == (str(ws.root / "compose.yaml"),)


def test_included_relative_paths_resolve_against_the_included_files_directory(ws) -> None:
    ws.write(
        "sub/compose.yaml",
        """
        services:
          api:
            build: ./api
            volumes: ["./data:/data"]
            env_file: api.env
        """,
    )
    ws.write("sub/api.env", "API=1\n")
    ws.write("compose.yaml", "include: [sub/compose.yaml]\nservices: {web: {image: nginx}}\n")
    api = config(ws.load(), "api")
    assert api["build"]["context"] == str(ws.root / "sub" / "api")
    assert api["volumes"][0]["source"] == str(ws.root / "sub" / "data")
    assert api["environment"] == {"API": "1"}


def test_included_file_uses_the_env_file_of_its_own_directory(ws) -> None:
    ws.write("sub/.env", "TAG=from-sub\n")
    ws.write("sub/compose.yaml", 'services:\n  api: {image: "api:${TAG}"}\n')
    ws.write(".env", "TAG=from-main\n")
    ws.write("compose.yaml", 'include: [sub/compose.yaml]\nservices:\n  web: {image: "web:${TAG}"}\n')
    project = ws.load()
    assert project.services["web"].image == "web:from-main"
    # the including project's environment wins over the included .env
    assert project.services["api"].image == "api:from-main"


def test_included_env_fills_what_the_project_does_not_set(ws) -> None:
    ws.write("sub/.env", "SUB_ONLY=sub\n")
    ws.write("sub/compose.yaml", 'services:\n  api: {image: "api:${SUB_ONLY}"}\n')
    ws.write("compose.yaml", "include: [sub/compose.yaml]\n")
    assert ws.load().services["api"].image == "api:sub"


def test_include_long_form_with_project_directory_and_env_file(ws) -> None:
    ws.write("lib/app.yaml", 'services:\n  api:\n    image: "api:${VERSION}"\n    build: ./src\n')
    ws.write("settings/versions.env", "VERSION=2.1\n")
    (ws.root / "elsewhere").mkdir()
    ws.write(
        "compose.yaml",
        """
        include:
          - path: lib/app.yaml
            project_directory: elsewhere
            env_file: settings/versions.env
        """,
    )
    api = config(ws.load(), "api")
    assert api["image"] == "api:2.1"
    assert api["build"]["context"] == str(ws.root / "elsewhere" / "src")


def test_include_long_form_with_several_paths_merges_them(ws) -> None:
    ws.write("lib/base.yaml", "services:\n  api: {image: api, environment: {A: base}}\n")
    ws.write("lib/override.yaml", "services:\n  api: {environment: {A: override}}\n")
    ws.write("compose.yaml", "include:\n  - path: [lib/base.yaml, lib/override.yaml]\n")
    assert config(ws.load(), "api")["environment"] == {"A": "override"}


def test_nested_includes(ws) -> None:
    ws.write("a/compose.yaml", "include: [../b/compose.yaml]\nservices:\n  a: {image: a}\n")
    ws.write("b/compose.yaml", "services:\n  b: {image: b, volumes: ['./bdata:/d']}\n")
    ws.write("compose.yaml", "include: [a/compose.yaml]\n")
    project = ws.load()
    assert sorted(project.services) == ["a", "b"]
    assert config(project, "b")["volumes"][0]["source"] == str(ws.root / "b" / "bdata")


def test_a_service_conflicting_with_an_included_one_is_an_error(ws) -> None:
    ws.write("sub/compose.yaml", "services:\n  db: {image: postgres}\n")
    ws.write("compose.yaml", "include: [sub/compose.yaml]\nservices:\n  db:\n    image: mysql\n")
    err = ws.error()
    assert err.path == "services.db"
    assert "conflicts with a resource imported from" in err.message
    assert str(ws.root / "sub" / "compose.yaml") in err.message
    assert err.file == str(ws.root / "compose.yaml") and err.line == 3


def test_a_volume_conflicting_with_an_included_one_is_an_error(ws) -> None:
    ws.write("sub/compose.yaml", "services:\n  db: {image: postgres}\nvolumes:\n  data: {driver: local}\n")
    ws.write("compose.yaml", "include: [sub/compose.yaml]\nvolumes:\n  data: {driver: other}\n")
    err = ws.error()
    assert err.path == "volumes.data"
    assert "conflicts" in err.message


def test_two_includes_defining_the_same_service_conflict(ws) -> None:
    ws.write("a.yaml", "services:\n  db: {image: postgres}\n")
    ws.write("b.yaml", "services:\n  db: {image: mysql}\n")
    ws.write("compose.yaml", "include: [a.yaml, b.yaml]\n")
    err = ws.error()
    assert err.path == "services.db"
    assert "conflicts with a resource imported from" in err.message and "b.yaml" in err.message
    # it is the including file's second include entry that conflicts
    assert (err.file, err.line) == (str(ws.root / "compose.yaml"), 1)


def test_include_cycle_is_an_error(ws) -> None:
    ws.write("a.yaml", "include: [b.yaml]\nservices:\n  a: {image: a}\n")
    ws.write("b.yaml", "include: [a.yaml]\nservices:\n  b: {image: b}\n")
    ws.write("compose.yaml", "include: [a.yaml]\n")
    err = ws.error()
    assert "include cycle detected" in err.message
    assert err.path == "include[0]"
    assert err.line == 1
    assert err.file is not None


def test_including_itself_is_a_cycle(ws) -> None:
    ws.write("compose.yaml", "include: [compose.yaml]\nservices:\n  a: {image: a}\n")
    err = ws.error()
    assert "include cycle detected" in err.message


def test_include_of_a_missing_file_is_an_error(ws) -> None:
    ws.write("compose.yaml", "include: [missing.yaml]\nservices:\n  a: {image: a}\n")
    err = ws.error()
    assert "missing.yaml" in err.message and "not found" in err.message


def test_included_files_are_validated(ws) -> None:
    ws.write("sub.yaml", "services:\n  api:\n    image: api\n    restart_policy: always\n")
    ws.write("compose.yaml", "include: [sub.yaml]\n")
    err = ws.error()
    assert "restart_policy" in str(err)
    assert err.file == str(ws.root / "sub.yaml")
    assert err.line == 4
