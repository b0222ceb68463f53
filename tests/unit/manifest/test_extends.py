"""`extends`: a service starts from another one (same file or another file), merged by the merge rules."""

from __future__ import annotations

from devenv.model import thaw


def config(project, name: str) -> dict:
    return thaw(project.services[name].config)


def test_extends_a_service_of_the_same_file(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          base:
            image: python:3.12
            environment: {MODE: base, SHARED: "1"}
            ports: ["8000"]
          web:
            extends: base
            environment: {MODE: web}
            command: ["serve"]
        """,
    )
    web = config(ws.load(), "web")
    assert web["image"] == "python:3.12"
    assert web["environment"] == {"MODE": "web", "SHARED": "1"}
    assert web["command"] == ["serve"]
    assert [p["target"] for p in web["ports"]] == [8000]
    assert "extends" not in web


def test_extends_long_form_with_service(ws) -> None:
    ws.write(
        "compose.yaml",
        "services:\n  base: {image: redis, restart: always}\n  cache: {extends: {service: base}, restart: 'no'}\n",
    )
    cache = config(ws.load(), "cache")
    assert (cache["image"], cache["restart"]) == ("redis", "no")


def test_the_base_service_stays_a_service(ws) -> None:
    ws.write("compose.yaml", "services:\n  base: {image: redis}\n  child: {extends: base}\n")
    assert sorted(ws.load().services) == ["base", "child"]


def test_chained_extends(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          grand:
            image: alpine
            labels: {level: grand, grand: "1"}
          parent:
            extends: grand
            labels: {level: parent, parent: "1"}
          child:
            extends: parent
            labels: {level: child}
        """,
    )
    child = config(ws.load(), "child")
    assert child["image"] == "alpine"
    assert child["labels"] == {"level": "child", "grand": "1", "parent": "1"}


def test_extends_order_does_not_matter(ws) -> None:
    ws.write(
        "compose.yaml",
        "services:\n  child: {extends: parent, user: child}\n  parent: {extends: grand}\n  grand: {image: alpine, user: grand}\n",
    )
    project = ws.load()
    assert config(project, "child")["user"] == "child"
    assert config(project, "parent")["user"] == "grand"


def test_extends_from_another_file_resolves_its_paths_against_that_file(ws) -> None:
    ws.write(
        "common/services.yaml",
        """
        services:
          app:
            image: app
            build: ./app
            volumes: ["./data:/data"]
            env_file: app.env
        """,
    )
    ws.write("common/app.env", "FROM_COMMON_ENV=1\n")
    ws.write(
        "compose.yaml",
        """
        services:
          web:
            extends:
              file: common/services.yaml
              service: app
            volumes: ["./local:/local"]
        """,
    )
    web = config(ws.load(), "web")
    common = ws.root / "common"
    assert web["build"]["context"] == str(common / "app")
    assert [v["source"] for v in web["volumes"]] == [str(common / "data"), str(ws.root / "local")]
    assert web["environment"] == {"FROM_COMMON_ENV": "1"}


def test_extends_from_another_file_does_not_import_its_other_services(ws) -> None:
    ws.write("lib.yaml", "services:\n  a: {image: a}\n  b: {image: b}\n")
    ws.write("compose.yaml", "services:\n  web: {extends: {file: lib.yaml, service: a}}\n")
    project = ws.load()
    assert list(project.services) == ["web"]
    assert project.services["web"].image == "a"


def test_extends_chain_across_files(ws) -> None:
    ws.write("a/base.yaml", "services:\n  root: {image: root-image, working_dir: /root-dir}\n")
    ws.write("b/mid.yaml", "services:\n  mid: {extends: {file: ../a/base.yaml, service: root}, user: mid}\n")
    ws.write("compose.yaml", "services:\n  web: {extends: {file: b/mid.yaml, service: mid}}\n")
    web = config(ws.load(), "web")
    assert (web["image"], web["working_dir"], web["user"]) == ("root-image", "/root-dir", "mid")


def test_extends_file_is_interpolated_with_the_project_environment(ws) -> None:
    ws.write("lib.yaml", 'services:\n  a: {image: "img:${TAG}"}\n')
    ws.write("compose.yaml", "services:\n  web: {extends: {file: lib.yaml, service: a}}\n")
    assert ws.load(environ={"TAG": "7"}).services["web"].image == "img:7"


def test_extends_merges_with_the_merge_rules(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          base:
            image: x
            command: ["a", "b"]
            cap_add: [NET_ADMIN]
            ports: ["8080:80"]
            volumes: ["/data"]
          child:
            extends: base
            command: ["c"]
            cap_add: [SYS_TIME]
            ports: ["8080:80", "9090:90"]
            volumes: ["named:/data"]
        volumes:
          named: {}
        """,
    )
    child = config(ws.load(), "child")
    assert child["command"] == ["c"]
    assert child["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert [(p.get("published"), p["target"]) for p in child["ports"]] == [("8080", 80), ("9090", 90)]
    assert child["volumes"] == [{"type": "volume", "source": "named", "target": "/data", "volume": {}}]


def test_reset_in_the_child_removes_what_the_base_said(ws) -> None:
    ws.write(
        "compose.yaml",
        "services:\n  base: {image: x, ports: ['80']}\n  child:\n    extends: base\n    ports: !reset []\n",
    )
    assert "ports" not in config(ws.load(), "child")


def test_extends_a_missing_service_is_an_error(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: x\n    extends:\n      service: nothere\n")
    err = ws.error()
    assert err.file == str(ws.root / "compose.yaml")
    assert err.path == "services.web.extends.service"
    assert err.line == 5
    assert "service 'nothere' not found" in err.message


def test_extends_a_missing_service_of_another_file_is_an_error(ws) -> None:
    ws.write("lib.yaml", "services:\n  a: {image: a}\n")
    ws.write("compose.yaml", "services:\n  web:\n    extends: {file: lib.yaml, service: nothere}\n")
    err = ws.error()
    assert err.path == "services.web.extends"
    assert "service 'nothere' not found in" in err.message and "lib.yaml" in err.message


def test_extends_a_missing_file_is_an_error(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    extends: {file: nothere.yaml, service: a}\n")
    err = ws.error()
    assert "file not found" in err.message and "nothere.yaml" in err.message


def test_circular_extends_is_an_error_naming_the_chain(ws) -> None:
    ws.write(
        "compose.yaml",
        "services:\n  a:\n    image: x\n    extends: b\n  b:\n    image: x\n    extends: c\n  c:\n    image: x\n    extends: a\n",
    )
    err = ws.error()
    assert "circular extends" in err.message
    for name in ("a", "b", "c"):
        assert name in err.message
    assert err.path is not None and err.path.startswith("services.")
    assert err.line is not None


def test_self_extends_is_circular(ws) -> None:
    ws.write("compose.yaml", "services:\n  a:\n    image: x\n    extends: a\n")
    err = ws.error()
    assert "circular extends: a -> a" in err.message
    assert (err.path, err.line) == ("services.a.extends", 4)


def test_circular_extends_across_files(ws) -> None:
    ws.write("one.yaml", "services:\n  a: {image: x, extends: {file: two.yaml, service: b}}\n")
    ws.write("two.yaml", "services:\n  b: {image: x, extends: {file: one.yaml, service: a}}\n")
    err = ws.error("one.yaml")
    assert "circular extends" in err.message


def test_extends_needs_a_service(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: x\n    extends: {file: other.yaml}\n")
    err = ws.error()
    assert err.path is not None and err.path.startswith("services.web.extends")
