"""Interpolation: `$VAR`, `${VAR}` and the six operators, `$$`, typed casts at the fields Compose
types, and where the variables come from (process environment, `.env`, `--env-file`, the project name)."""

from __future__ import annotations

import pytest

from devenv.manifest.interpolate import MissingRequired, TemplateError, substitute

ENV = {"SET": "value", "EMPTY": ""}


def sub(text: str, env: dict | None = None) -> tuple[str, list[str]]:
    env = ENV if env is None else env
    unset: list[str] = []
    return substitute(text, env.get, unset.append), unset


# ------------------------------------------------------------------ the operator table


@pytest.mark.parametrize(
    "template, expected",
    [
        # plain references
        ("${SET}", "value"),
        ("${EMPTY}", ""),
        ("${UNSET}", ""),
        ("$SET", "value"),
        ("$UNSET", ""),
        # :- default when unset OR empty
        ("${SET:-d}", "value"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET:-d}", "d"),
        # - default only when unset
        ("${SET-d}", "value"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        # :+ alternative when set AND non-empty
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        # + alternative when set (even empty)
        ("${SET+alt}", "alt"),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        # :? and ? pass the value through when they do not fail
        ("${SET:?msg}", "value"),
        ("${SET?msg}", "value"),
        ("${EMPTY?msg}", ""),
    ],
)
def test_operator_table(template: str, expected: str) -> None:
    assert sub(template)[0] == expected


@pytest.mark.parametrize(
    "template, name, reason",
    [
        ("${UNSET:?please set it}", "UNSET", "please set it"),
        ("${EMPTY:?must not be empty}", "EMPTY", "must not be empty"),
        ("${UNSET?gone}", "UNSET", "gone"),
        ("${UNSET:?}", "UNSET", ""),
    ],
)
def test_required_operators_fail_with_the_variable_and_the_message(template: str, name: str, reason: str) -> None:
    with pytest.raises(MissingRequired) as info:
        sub(template)
    assert (info.value.name, info.value.reason) == (name, reason)


@pytest.mark.parametrize(
    "template, expected",
    [
        ("${UNSET:-${UNSET2:-c}}", "c"),
        ("${UNSET:-${SET:-c}}", "value"),
        ("${UNSET:-${UNSET2:-${SET}}}x", "valuex"),
        ("${SET:+${SET}-${SET}}", "value-value"),
        ("${UNSET:-a b}", "a b"),
        ("${UNSET:-}", ""),
        ("${UNSET:-$SET}", "value"),
        ("${UNSET:-$$}", "$"),
    ],
)
def test_defaults_nest_and_are_themselves_interpolated(template: str, expected: str) -> None:
    assert sub(template)[0] == expected


@pytest.mark.parametrize(
    "template, expected",
    [
        ("$$", "$"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("a$$b$$", "a$b$"),
        ("$$$SET", "$value"),
        ("$", "$"),  # a lone dollar at the end stays
        ("a$ b", "a$ b"),  # a dollar not followed by a name stays
        ("$1", "$1"),
        ("no dollar", "no dollar"),
    ],
)
def test_double_dollar_is_a_literal_dollar(template: str, expected: str) -> None:
    assert sub(template)[0] == expected


def test_unbraced_name_stops_at_the_first_character_that_cannot_be_in_a_name() -> None:
    assert sub("$SET.txt/$SET-$SET_x")[0] == "value.txt/value-"


@pytest.mark.parametrize("template", ["${}", "${1ABC}", "${SET", "${SET!}", "${SET:x}", "${-d}"])
def test_malformed_references_are_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        sub(template)


def test_unset_variables_are_reported_to_the_caller() -> None:
    value, unset = sub("${A}-$B-${SET}-${C:-x}")
    assert value == "--value-x"
    assert unset == ["A", "B"]


# ------------------------------------------------------------------ through the loader


def test_unset_plain_variable_warns_once_and_becomes_empty(ws) -> None:
    service = ws.service(
        """
        services:
          web:
            image: "nginx${TAG}"
            environment:
              A: "${TAG}"
              B: "x${TAG}y"
        """
    )
    assert service["image"] == "nginx"
    assert service["environment"] == {"A": "", "B": "xy"}
    unset = [w for w in ws.warnings if "TAG" in w]
    assert unset == ['The "TAG" variable is not set. Defaulting to a blank string.']


def test_variables_with_a_default_do_not_warn(ws) -> None:
    ws.service('services: {web: {image: "nginx:${TAG:-latest}"}}')
    assert ws.warnings == []


def test_required_variable_error_names_file_line_field_variable_and_message(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          web:
            image: nginx
            environment:
              TOKEN: "${TOKEN:?set TOKEN to your API token}"
        """,
    )
    err = ws.error()
    assert err.file == str(ws.root / "compose.yaml")
    assert err.line == 5
    assert err.path == "services.web.environment.TOKEN"
    assert "TOKEN" in err.message and "set TOKEN to your API token" in err.message
    assert str(err) == (
        f"{ws.root / 'compose.yaml'}:5: services.web.environment.TOKEN: "
        "required variable TOKEN is missing a value: set TOKEN to your API token"
    )


def test_required_variable_that_is_set_passes(ws) -> None:
    service = ws.service('services: {web: {image: "${IMAGE:?no image}"}}', environ={"IMAGE": "redis"})
    assert service["image"] == "redis"


def test_invalid_interpolation_format_is_an_error_at_the_field(ws) -> None:
    ws.write("compose.yaml", 'services:\n  web:\n    image: "${NOT CLOSED"\n')
    err = ws.error()
    assert (err.line, err.path) == (3, "services.web.image")
    assert "invalid interpolation format" in err.message and "$$" in err.message


def test_keys_are_never_interpolated(ws) -> None:
    service = ws.service(
        """
        services:
          web:
            image: nginx
            environment:
              "${KEY}": "${VALUE}"
            labels:
              "$KEY": x
        """,
        environ={"KEY": "k", "VALUE": "v"},
    )
    assert service["environment"] == {"${KEY}": "v"}
    assert service["labels"] == {"$KEY": "x"}


def test_every_string_value_is_interpolated_at_any_depth(ws) -> None:
    service = ws.service(
        """
        services:
          web:
            image: nginx
            command: ["echo", "${WORD}"]
            deploy:
              labels: {deep: "${WORD}"}
            x-custom:
              nested: ["${WORD}"]
        """,
        environ={"WORD": "hi"},
    )
    assert service["command"] == ["echo", "hi"]
    assert service["deploy"]["labels"] == {"deep": "hi"}
    assert service["x-custom"] == {"nested": ["hi"]}


def test_top_level_extensions_are_interpolated_too(ws) -> None:
    ws.write("compose.yaml", 'x-info: {who: "${WHO}"}\nservices: {web: {image: nginx}}\n')
    assert ws.load(environ={"WHO": "me"}).extensions["x-info"]["who"] == "me"


# ------------------------------------------------------------------ typed casts


@pytest.mark.parametrize(
    "field, template, environ, expected",
    [
        ("privileged", "${P:-true}", {}, True),
        ("privileged", "${P}", {"P": "TRUE"}, True),
        ("read_only", "${RO:-yes}", {}, True),
        ("tty", "${T:-on}", {}, True),
        ("stdin_open", "${S:-y}", {}, True),
        ("init", "${I:-false}", {}, False),
        ("init", "${I}", {"I": "off"}, False),
        ("cpu_shares", "${C:-512}", {}, 512),
        ("cpus", "${C:-1.5}", {}, 1.5),
        ("pids_limit", "${PL:-100}", {}, 100),
        ("scale", "${N:-2}", {}, 2),
        ("oom_score_adj", "${O:--500}", {}, -500),
    ],
)
def test_interpolated_values_are_cast_at_typed_fields(ws, field, template, environ, expected) -> None:
    service = ws.service(f'services: {{web: {{image: nginx, {field}: "{template}"}}}}', environ=environ)
    assert service[field] == expected
    assert type(service[field]) is type(expected)


def test_interpolated_false_boolean_is_left_out_like_compose_does(ws) -> None:
    service = ws.service('services: {web: {image: nginx, privileged: "${P:-false}"}}')
    assert "privileged" not in service


def test_port_target_is_cast_to_an_integer(ws) -> None:
    service = ws.service(
        """
        services:
          web:
            image: nginx
            ports:
              - target: "${PORT:-80}"
                published: "${PUB:-8080}"
        """
    )
    assert service["ports"] == [{"target": 80, "published": "8080", "protocol": "tcp", "mode": "ingress"}]


def test_nested_typed_fields_are_cast(ws) -> None:
    service = ws.service(
        """
        services:
          web:
            image: nginx
            healthcheck:
              test: ["CMD", "true"]
              retries: "${R:-3}"
            deploy:
              replicas: "${REPLICAS:-2}"
            ulimits:
              nofile: {soft: "${SOFT:-1024}", hard: "${HARD:-2048}"}
            depends_on:
              db: {condition: service_started, required: "${REQ:-false}"}
          db:
            image: postgres
        """,
        name="web",
    )
    assert service["healthcheck"]["retries"] == 3
    assert service["deploy"]["replicas"] == 2
    assert service["ulimits"] == {"nofile": {"soft": 1024, "hard": 2048}}
    assert service["depends_on"]["db"]["required"] is False


def test_strings_at_untyped_fields_are_not_cast(ws) -> None:
    service = ws.service('services: {web: {image: nginx, environment: {A: "${A:-true}", B: "${B:-1}"}}}')
    assert service["environment"] == {"A": "true", "B": "1"}


@pytest.mark.parametrize(
    "field, template, kind",
    [
        ("privileged", "${P:-maybe}", "boolean"),
        ("cpu_shares", "${C:-lots}", "number"),
        ("cpus", "${C:-one}", "number"),
    ],
)
def test_invalid_cast_is_an_error_at_the_field(ws, field, template, kind) -> None:
    ws.write("compose.yaml", f'services:\n  web:\n    image: nginx\n    {field}: "{template}"\n')
    err = ws.error()
    assert (err.line, err.path) == (4, f"services.web.{field}")
    assert f"is not a valid {kind}" in err.message


def test_invalid_port_target_cast_is_an_error(ws) -> None:
    ws.write("compose.yaml", 'services:\n  web:\n    image: nginx\n    ports:\n      - target: "${P:-http}"\n')
    err = ws.error()
    assert err.path == "services.web.ports[0].target"
    assert err.line == 5


# ------------------------------------------------------------------ where values come from


def test_dot_env_supplies_variables(ws) -> None:
    ws.write(".env", "TAG=1.25\n")
    assert ws.service('services: {web: {image: "nginx:${TAG}"}}')["image"] == "nginx:1.25"
    assert ws.warnings == []


def test_process_environment_wins_over_dot_env(ws) -> None:
    ws.write(".env", "TAG=from-dotenv\nOTHER=from-dotenv\n")
    service = ws.service(
        'services: {web: {image: "nginx:${TAG}", environment: {O: "${OTHER}"}}}', environ={"TAG": "from-process"}
    )
    assert service["image"] == "nginx:from-process"
    assert service["environment"] == {"O": "from-dotenv"}


def test_process_environment_wins_even_when_empty(ws) -> None:
    ws.write(".env", "TAG=from-dotenv\n")
    assert ws.service('services: {web: {image: "nginx${TAG-none}"}}', environ={"TAG": ""})["image"] == "nginx"


def test_env_file_option_replaces_dot_env(ws) -> None:
    ws.write(".env", "TAG=from-dotenv\nONLY_IN_DOTENV=1\n")
    ws.write("custom.env", "TAG=from-custom\n")
    service = ws.service(
        'services: {web: {image: "nginx:${TAG}", environment: {D: "${ONLY_IN_DOTENV:-absent}"}}}',
        env_files=("custom.env",),
    )
    assert service["image"] == "nginx:from-custom"
    assert service["environment"] == {"D": "absent"}


def test_later_env_file_option_wins_over_earlier(ws) -> None:
    ws.write("a.env", "TAG=a\nA=only-a\n")
    ws.write("b.env", "TAG=b\n")
    service = ws.service(
        'services: {web: {image: "nginx:${TAG}", environment: {A: "${A}"}}}', env_files=("a.env", "b.env")
    )
    assert service["image"] == "nginx:b"
    assert service["environment"] == {"A": "only-a"}


def test_dot_env_values_can_reference_the_process_environment(ws) -> None:
    ws.write(".env", "TAG=${BASE}-slim\n")
    assert ws.service('services: {web: {image: "nginx:${TAG}"}}', environ={"BASE": "1.25"})["image"] == "nginx:1.25-slim"


def test_compose_disable_env_file_skips_dot_env(ws) -> None:
    ws.write(".env", "TAG=from-dotenv\n")
    service = ws.service(
        'services: {web: {image: "nginx:${TAG:-none}"}}', environ={"COMPOSE_DISABLE_ENV_FILE": "true"}
    )
    assert service["image"] == "nginx:none"


@pytest.mark.parametrize(
    "project_name, environ, dotenv, declared, expected",
    [
        ("fromflag", {}, "", "", "fromflag"),
        (None, {"COMPOSE_PROJECT_NAME": "fromenv"}, "", "", "fromenv"),
        (None, {}, "COMPOSE_PROJECT_NAME=fromdotenv\n", "", "fromdotenv"),
        (None, {}, "", "name: Declared_Name\n", "declared_name"),
    ],
)
def test_compose_project_name_is_available_to_interpolation(ws, project_name, environ, dotenv, declared, expected) -> None:
    if dotenv:
        ws.write(".env", dotenv)
    service = ws.service(
        declared + 'services: {web: {image: nginx, container_name: "${COMPOSE_PROJECT_NAME}-web"}}',
        project_name=project_name,
        environ=environ,
    )
    assert service["container_name"] == f"{expected}-web"


def test_project_name_from_the_directory_is_available_to_interpolation(ws) -> None:
    (ws.root / "My.App").mkdir()
    ws.write("My.App/compose.yaml", 'services: {web: {image: nginx, container_name: "${COMPOSE_PROJECT_NAME}"}}')
    project = ws.load(cwd=ws.root / "My.App", project_name=None)
    assert project.name == "myapp"
    assert project.services["web"].config["container_name"] == "myapp"


def test_environment_seen_by_interpolation_is_recorded_on_the_project(ws) -> None:
    ws.write(".env", "FROM_DOTENV=1\n")
    ws.write("compose.yaml", "services: {web: {image: nginx}}")
    project = ws.load(environ={"FROM_PROCESS": "2"})
    assert project.environment["FROM_DOTENV"] == "1"
    assert project.environment["FROM_PROCESS"] == "2"
    assert project.environment["COMPOSE_PROJECT_NAME"] == "proj"
    assert project.env_files == (str(ws.root / ".env"),)
