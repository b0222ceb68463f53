"""Environments (--env NAME): the overlay beside the main file, the unknown-environment error, the
validation of x-devenv.environments / allowed_differences (file:line and field), and the laptop
merge (a pure function) that `up --local` applies."""

from __future__ import annotations

import dataclasses

import pytest

from devenv.errors import UsageError
from devenv.manifest import environments
from devenv.manifest.loader import load_project
from devenv.model import thaw

MAIN = """
services:
  web:
    image: busybox
    environment: {LEVEL: main}
x-devenv:
  environments:
    prod:
      host: unix:///var/run/docker.sock
      laptop:
        services:
          web:
            ports: ["127.0.0.1:8080:8080"]
            environment: {LEVEL: laptop}
    dev: {}
"""
OVERLAY = "services:\n  web:\n    environment: {{LEVEL: {value}}}\n"


def env_of(project) -> dict:
    return thaw(project.services["web"].config["environment"])


def load(ws, *files: str, env: str | None = None, local: bool | None = False, **kwargs):
    ws.warnings.clear()
    options = dataclasses.replace(ws.options(*files, **kwargs), env=env, local=local)
    return load_project(options, warn=ws.warnings.append)


def usage_error(ws, *files: str, **kwargs) -> UsageError:
    with pytest.raises(UsageError) as info:
        load(ws, *files, **kwargs)
    return info.value


# ------------------------------------------------------------------ overlays


@pytest.mark.parametrize("overlay", ["devenv.prod.yaml", "devenv.prod.yml", "compose.prod.yaml", "compose.prod.yml"])
def test_overlay_is_merged_last(ws, overlay: str) -> None:
    ws.write("devenv.yaml", MAIN)
    ws.write(overlay, OVERLAY.format(value="overlay"))
    project = load(ws, env="prod")
    assert env_of(project) == {"LEVEL": "overlay"}
    assert project.compose_files[-1] == str(ws.root / overlay)
    assert project.env == "prod"


def test_without_env_the_overlay_is_not_read(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    ws.write("devenv.prod.yaml", OVERLAY.format(value="overlay"))
    project = load(ws)
    assert env_of(project) == {"LEVEL": "main"} and project.env is None
    assert project.compose_files == (str(ws.root / "devenv.yaml"),)


def test_overlay_comes_after_override_and_given_files(ws) -> None:
    ws.write("compose.yaml", MAIN)
    ws.write("compose.override.yaml", OVERLAY.format(value="override"))
    ws.write("devenv.prod.yaml", OVERLAY.format(value="overlay"))
    assert env_of(load(ws, env="prod")) == {"LEVEL": "overlay"}
    assert load(ws, env="prod").compose_files[-2:] == (str(ws.root / "compose.override.yaml"), str(ws.root / "devenv.prod.yaml"))
    ws.write("extra.yaml", OVERLAY.format(value="extra"))
    project = load(ws, "compose.yaml", "extra.yaml", env="prod")
    assert env_of(project) == {"LEVEL": "overlay"}
    assert project.compose_files[-1] == str(ws.root / "devenv.prod.yaml")


def test_overlay_is_found_beside_the_main_file(ws) -> None:
    ws.write("app/compose.yaml", MAIN)
    ws.write("app/compose.prod.yaml", OVERLAY.format(value="beside"))
    ws.write("compose.prod.yaml", OVERLAY.format(value="cwd"))
    assert env_of(load(ws, "app/compose.yaml", env="prod")) == {"LEVEL": "beside"}


def test_several_overlays_warn_and_the_first_wins(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    ws.write("compose.prod.yaml", OVERLAY.format(value="compose"))
    ws.write("devenv.prod.yml", OVERLAY.format(value="devenv-yml"))
    assert env_of(load(ws, env="prod")) == {"LEVEL": "devenv-yml"}
    (warning,) = ws.warnings
    assert "multiple files for environment 'prod'" in warning and f"using {ws.root / 'devenv.prod.yml'}" in warning


def test_overlay_merges_by_compose_rules(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: busybox\n    ports: ['80']\n    command: [a, b]\n")
    ws.write("compose.stage.yaml", "services:\n  web:\n    ports: ['81']\n    command: [c]\n")
    web = thaw(load(ws, env="stage").services["web"].config)
    assert [p["target"] for p in web["ports"]] == [80, 81]  # sequences append
    assert web["command"] == ["c"]  # command is replaced whole


def test_an_overlay_alone_declares_the_environment(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: busybox\n")
    ws.write("compose.qa.yaml", "services:\n  web:\n    image: busybox:qa\n")
    assert load(ws, env="qa").services["web"].image == "busybox:qa"


def test_declared_environment_without_overlay(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    assert env_of(load(ws, env="dev")) == {"LEVEL": "main"}


def test_unknown_environment_lists_declared_and_overlays(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    ws.write("compose.stage.yaml", OVERLAY.format(value="stage"))
    err = usage_error(ws, env="nope")
    assert str(err) == "unknown environment 'nope' (environments: dev, prod, stage)"
    assert err.exit_code == 2


def test_unknown_environment_with_none_declared(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: busybox\n")
    assert "add x-devenv.environments.prod or a devenv.prod.yaml overlay" in str(usage_error(ws, env="prod"))


@pytest.mark.parametrize("name", ["Prod", "-x", "a.b", "override", "a b"])
def test_invalid_names_are_refused(ws, name: str) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: busybox\n")
    assert "invalid environment name" in str(usage_error(ws, env=name))


def test_known_names(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    ws.write("devenv.qa.yml", OVERLAY.format(value="qa"))
    ws.write("devenv.override.yaml", OVERLAY.format(value="override"))
    assert environments.known_names(load(ws)) == ["dev", "prod", "qa"]


def test_settings_of_the_selected_environment(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    prod = environments.settings(load(ws, env="prod"))
    assert prod.host == "unix:///var/run/docker.sock" and prod.lock == str(ws.root / "devenv.prod.lock")
    assert not environments.runs_locally(prod)
    assert environments.runs_locally(environments.settings(load(ws, env="dev")))


# ------------------------------------------------------------------ laptop


def test_laptop_is_merged_under_local(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    web = thaw(load(ws, env="prod", local=True).services["web"].config)
    assert web["environment"] == {"LEVEL": "laptop"}
    assert web["ports"] == [{"mode": "ingress", "host_ip": "127.0.0.1", "target": 8080, "published": "8080", "protocol": "tcp"}]


def test_laptop_not_merged_by_default_or_on_a_declared_engine(ws) -> None:
    ws.write("devenv.yaml", MAIN)
    assert env_of(load(ws, env="prod")) == {"LEVEL": "main"}  # local=False: the declared model
    assert env_of(load(ws, env="prod", local=None)) == {"LEVEL": "main"}  # prod has its own engine


def test_laptop_applies_when_the_environment_runs_locally(ws) -> None:
    ws.write("compose.yaml", """
        services:
          web: {image: busybox, environment: {LEVEL: main}}
        x-devenv:
          environments:
            stage:
              laptop: {services: {web: {environment: {LEVEL: laptop}}}}
    """)
    assert env_of(load(ws, env="stage", local=None)) == {"LEVEL": "laptop"}


def test_laptop_bind_mount_is_relative_to_the_project(ws) -> None:
    ws.write("compose.yaml", """
        services:
          web: {image: busybox}
        x-devenv:
          environments:
            prod:
              laptop: {services: {web: {volumes: ["./src:/app"]}}}
    """)
    (volume,) = thaw(load(ws, env="prod", local=True).services["web"].config["volumes"])
    assert volume["type"] == "bind" and volume["source"] == str(ws.root / "src") and volume["target"] == "/app"


def test_merge_laptop_is_pure() -> None:
    model = {"services": {"web": {"image": "busybox", "environment": {"A": "0", "B": "0"},
                                  "ports": [{"target": 80, "protocol": "tcp", "mode": "ingress"}]}}}
    fragment = {"services": {"web": {"ports": ["8080:8080"], "environment": ["A=1"]}}}
    before = repr(model), repr(fragment)
    merged = environments.merge_laptop(model, fragment)
    assert (repr(model), repr(fragment)) == before
    assert [p["target"] for p in merged["services"]["web"]["ports"]] == [80, 8080]
    assert sorted(merged["services"]["web"]["environment"]) == ["A=1", "B=0"]  # merged by key


def test_laptop_that_breaks_the_schema_names_its_line(ws) -> None:
    path = ws.write("compose.yaml", """
        services:
          web: {image: busybox}
        x-devenv:
          environments:
            prod:
              laptop:
                services:
                  web:
                    restart: sometimes-maybe
                    bogus_key: 1
    """)
    with pytest.raises(Exception) as info:
        load(ws, env="prod", local=True)
    text = str(info.value)
    assert text.startswith(f"{path}:10: x-devenv.environments.prod.laptop.services.web")
    assert "bogus_key" in text


# ------------------------------------------------------------------ validation (file:line: field: message)


@pytest.mark.parametrize(
    "settings, line, field, says",
    [
        ("prod: {hots: tcp://x:2376}", 4, "x-devenv.environments.prod.hots", "did you mean 'host'?"),
        ("prod: {host: prod.example.com}", 4, "x-devenv.environments.prod.host", "unix://"),
        ("prod: {host: 42}", 4, "x-devenv.environments.prod.host", "non-empty string"),
        ("prod: {host: 'tcp://x:2376', context: prod}", 4, "x-devenv.environments.prod.context", "mutually exclusive"),
        ("prod: {registry: 'https://reg.example.com'}", 4, "x-devenv.environments.prod.registry", "without a scheme"),
        ("prod: {lock: [a]}", 4, "x-devenv.environments.prod.lock", "non-empty string"),
        ("prod: {laptop: [web]}", 4, "x-devenv.environments.prod.laptop", "Compose fragment"),
        ("prod: {laptop: {servics: {}}}", 4, "x-devenv.environments.prod.laptop.servics", "unknown laptop section"),
        ("prod: {laptop: {services: {web: 1}}}", 4, "x-devenv.environments.prod.laptop.services.web", "must be a mapping"),
        ("Prod: {}", 4, "x-devenv.environments.Prod", "invalid environment name"),
        ("prod: 1", 4, "x-devenv.environments.prod", "must be a mapping"),
    ],
)
def test_environment_settings_errors(ws, settings: str, line: int, field: str, says: str) -> None:
    path = ws.write("compose.yaml", f"services: {{web: {{image: busybox}}}}\nx-devenv:\n  environments:\n    {settings}\n")
    err = ws.error()
    text = str(err)
    assert text.startswith(f"{path}:"), text
    assert err.line == line and err.path == field and says in err.message, text


def test_environments_must_be_a_mapping(ws) -> None:
    ws.write("compose.yaml", "services: {web: {image: busybox}}\nx-devenv:\n  environments: [prod]\n")
    err = ws.error()
    assert err.path == "x-devenv.environments" and err.line == 3


def test_valid_environment_settings_load(ws) -> None:
    ws.write("compose.yaml", """
        services: {web: {image: busybox}}
        x-devenv:
          environments:
            prod: {context: prod-ctx, registry: "registry.example.com:5000/team", lock: locks/prod.lock}
            stage: {host: "ssh://deploy@stage", registry: localhost:5000}
          allowed_differences: [web.ports, "*.environment.LOG_LEVEL", "web?.resources.limits.memory"]
    """)
    project = ws.load()
    prod = environments.settings(project, "prod")
    assert prod.context == "prod-ctx" and prod.registry == "registry.example.com:5000/team"
    assert prod.lock == str(ws.root / "locks" / "prod.lock")


@pytest.mark.parametrize("value, index", [("[web]", 0), ("[web.ports, 'web ports']", 1), ("[web.ports, 3]", 1)])
def test_allowed_differences_errors(ws, value: str, index: int) -> None:
    path = ws.write("compose.yaml", f"services: {{web: {{image: busybox}}}}\nx-devenv:\n  allowed_differences: {value}\n")
    err = ws.error()
    assert str(err).startswith(f"{path}:3: x-devenv.allowed_differences[{index}]: invalid pattern")


def test_allowed_differences_must_be_a_list(ws) -> None:
    ws.write("compose.yaml", "services: {web: {image: busybox}}\nx-devenv:\n  allowed_differences: web.ports\n")
    assert ws.error().path == "x-devenv.allowed_differences"
