"""Profiles: services without `profiles:` are always on; the others only when one of their profiles
is active (`--profile`, `COMPOSE_PROFILES`, or `*` for all)."""

from __future__ import annotations

import pytest

from devenv.model import thaw

COMPOSE = """
services:
  web:
    image: nginx
  debug:
    image: busybox
    profiles: [debug, tools]
    volumes: [dbg:/x]
  metrics:
    image: prom
    profiles: [monitoring]
volumes:
  dbg: {}
"""


@pytest.mark.parametrize(
    "profiles, environ, enabled",
    [
        ((), {}, ["web"]),
        (("debug",), {}, ["debug", "web"]),
        (("tools",), {}, ["debug", "web"]),
        (("monitoring",), {}, ["metrics", "web"]),
        (("debug", "monitoring"), {}, ["debug", "metrics", "web"]),
        (("*",), {}, ["debug", "metrics", "web"]),
        (("unknown",), {}, ["web"]),
        ((), {"COMPOSE_PROFILES": "monitoring"}, ["metrics", "web"]),
        ((), {"COMPOSE_PROFILES": "debug,monitoring"}, ["debug", "metrics", "web"]),
        ((), {"COMPOSE_PROFILES": "*"}, ["debug", "metrics", "web"]),
        (("debug",), {"COMPOSE_PROFILES": "monitoring"}, ["debug", "web"]),  # --profile wins
    ],
)
def test_enabled_services(ws, profiles, environ, enabled) -> None:
    ws.write("compose.yaml", COMPOSE)
    project = ws.load(profiles=profiles, environ=environ)
    assert sorted(project.services) == enabled
    assert sorted(project.disabled_services) == sorted({"web", "debug", "metrics"} - set(enabled))


def test_compose_profiles_may_come_from_dot_env(ws) -> None:
    ws.write("compose.yaml", COMPOSE)
    ws.write(".env", "COMPOSE_PROFILES=debug\n")
    assert sorted(ws.load().services) == ["debug", "web"]


def test_active_profiles_are_recorded(ws) -> None:
    ws.write("compose.yaml", COMPOSE)
    assert ws.load(profiles=("tools", "debug")).profiles == ("debug", "tools")


def test_resources_of_disabled_services_are_left_out(ws) -> None:
    ws.write("compose.yaml", COMPOSE)
    assert dict(ws.load().volumes) == {}
    assert list(ws.load(profiles=("debug",)).volumes) == ["dbg"]


def test_disabled_services_keep_their_canonical_form(ws) -> None:
    ws.write("compose.yaml", COMPOSE)
    debug = ws.load().disabled_services["debug"]
    assert debug.profiles == ("debug", "tools")
    assert thaw(debug.config)["volumes"] == [{"type": "volume", "source": "dbg", "target": "/x", "volume": {}}]


def test_depending_on_a_disabled_service_that_is_not_required_is_fine(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          web:
            image: nginx
            depends_on:
              debug: {condition: service_started, required: false}
          debug:
            image: busybox
            profiles: [debug]
        """,
    )
    project = ws.load()
    assert list(project.services) == ["web"]
    assert [d.service for d in project.services["web"].depends_on] == ["debug"]
    assert project.services["web"].depends_on[0].required is False


def test_depending_on_a_disabled_required_service_is_a_clear_error(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          web:
            image: nginx
            depends_on: [debug]
          debug:
            image: busybox
            profiles: [debug]
        """,
    )
    err = ws.error()
    assert err.path == "services.web.depends_on.debug"
    assert err.line == 4
    assert err.message == "service 'web' depends on undefined service 'debug' (it is disabled by its profiles)"
    # enabling the profile makes it fine
    assert sorted(ws.load(profiles=("debug",)).services) == ["debug", "web"]


def test_a_disabled_service_may_depend_on_anything(ws) -> None:
    ws.write(
        "compose.yaml",
        "services:\n  web: {image: nginx}\n  tool: {image: t, profiles: [x], depends_on: [nowhere]}\n",
    )
    assert list(ws.load().services) == ["web"]


def test_profiles_interpolated(ws) -> None:
    ws.write("compose.yaml", 'services:\n  web: {image: nginx}\n  opt: {image: o, profiles: ["${OPT_PROFILE:-extra}"]}\n')
    assert sorted(ws.load(profiles=("extra",)).services) == ["opt", "web"]


@pytest.mark.parametrize("profiles", [(), ("debug",)])
def test_config_profiles_lists_every_declared_profile(ws, capsys, profiles) -> None:
    from devenv.cli import main

    ws.write("compose.yaml", COMPOSE)
    args = ["-f", str(ws.root / "compose.yaml"), "-p", "proj"]
    for p in profiles:
        args += ["--profile", p]
    assert main(args + ["config", "--profiles"]) == 0
    assert capsys.readouterr().out.splitlines() == ["debug", "monitoring", "tools"]
