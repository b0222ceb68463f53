"""Published ports are safe by default: loopback unless asked otherwise, and a port someone else
holds makes `up` refuse before it changes anything."""

from __future__ import annotations

import os
import socket
import textwrap
from pathlib import Path

import docker
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, assert_nothing_exists, devenv, free_ports, host_address, http_get, inspect, ok, output, refuses,
    states, up, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]


def web(port: int, *, services: str = "", top: str = "") -> str:
    """A busybox httpd publishing its port 80 on `port` (no host address given), plus more
    `services` entries and `top`-level sections (both YAML at column 0)."""
    text = textwrap.dedent(f"""
        services:
          web:
            image: {BUSYBOX}
            command: ["sh", "-c", "mkdir -p /www && echo served-by-devenv > /www/index.html && exec httpd -f -p 80 -h /www"]
            stop_signal: SIGKILL
            ports: ["{port}:80"]
        """)
    return text + textwrap.indent(textwrap.dedent(services), "  ") + textwrap.dedent(top)


EVERY_INTERFACE = "*"


def bindings(engine: docker.DockerClient, name: str) -> dict[str, list[tuple[str, str]]]:
    """The container's port bindings; a host IP of "" or 0.0.0.0 (every interface) shows as "*"."""
    found = inspect(engine, name)["HostConfig"]["PortBindings"] or {}
    return {
        key: [(b["HostIp"] if b["HostIp"] not in ("", "0.0.0.0") else EVERY_INTERFACE, b["HostPort"]) for b in value]
        for key, value in found.items()
    }


def test_published_port_binds_to_loopback_by_default(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    port = free_ports()
    write_compose(tmp_path, web(port))
    up(tmp_path, project_name)
    assert bindings(engine, f"{project_name}-web-1") == {"80/tcp": [("127.0.0.1", str(port))]}
    assert "served-by-devenv" in http_get("127.0.0.1", port)
    other = host_address()
    if other is not None:  # the same port on the host's other address: nobody listens
        assert refuses(other, port), f"{other}:{port} answers: the port is published beyond loopback"


def test_x_devenv_publish_host_publishes_on_every_interface(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    port = free_ports()
    write_compose(tmp_path, web(port, top="x-devenv: {publish_host: 0.0.0.0}\n"))
    up(tmp_path, project_name, "--yes", env={"XDG_STATE_HOME": str(tmp_path / "state")})  # a risky declaration
    assert bindings(engine, f"{project_name}-web-1") == {"80/tcp": [(EVERY_INTERFACE, str(port))]}
    other = host_address()
    if other is not None:
        assert "served-by-devenv" in http_get(other, port)


def test_devenv_publish_host_variable_and_an_explicit_host_ip(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    port, pinned = free_ports(), free_ports()
    write_compose(tmp_path, web(port).replace(f'ports: ["{port}:80"]', f'ports: ["{port}:80", "127.0.0.1:{pinned}:81"]'))
    up(tmp_path, project_name, env={"DEVENV_PUBLISH_HOST": "0.0.0.0"})
    assert bindings(engine, f"{project_name}-web-1") == {
        "80/tcp": [(EVERY_INTERFACE, str(port))],
        "81/tcp": [("127.0.0.1", str(pinned))],  # a host address written in the file is kept
    }
    result = devenv(tmp_path, project_name, "up", env={"DEVENV_PUBLISH_HOST": "not-an-address"})
    assert result.returncode == 2 and "not-an-address" in result.stderr, output(result)


def test_port_held_by_a_process_refuses_up_and_nothing_of_the_project_exists(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    port = free_ports()
    write_compose(tmp_path, web(port, services=f"""
        db:
          image: {BUSYBOX}
          command: {FOREVER}
          volumes: [data:/data]
        """, top="volumes: {data: {}}\n"))
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = devenv(tmp_path, project_name, "up")
    assert result.returncode == 1, output(result)
    assert f"127.0.0.1:{port}" in result.stderr, output(result)
    assert f"pid {os.getpid()}" in result.stderr, output(result)  # this test process holds it
    assert "Traceback" not in result.stderr, output(result)
    assert_nothing_exists(engine, project_name)


def test_port_held_by_another_projects_container_names_that_container(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    port = free_ports()
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    write_compose(first, web(port))
    write_compose(second, web(port))
    other = f"{project_name}-other"
    up(first, other)
    result = devenv(second, project_name, "up")
    assert result.returncode == 1, output(result)
    assert f"{port}" in result.stderr and f"container {other}-web-1" in result.stderr, output(result)
    assert_nothing_exists(engine, project_name)
    assert states(engine, other) == {f"{other}-web-1": "running"}


def test_port_ranges_and_udp(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    tcp = free_ports(3)
    udp = free_ports(1, "udp")
    write_compose(tmp_path, f"""
        services:
          svc:
            image: {BUSYBOX}
            command: {FOREVER}
            ports: ["{tcp}-{tcp + 2}:7000-7002", "{udp}:5353/udp"]
    """)
    up(tmp_path, project_name)
    assert bindings(engine, f"{project_name}-svc-1") == {
        "7000/tcp": [("127.0.0.1", str(tcp))],
        "7001/tcp": [("127.0.0.1", str(tcp + 1))],
        "7002/tcp": [("127.0.0.1", str(tcp + 2))],
        "5353/udp": [("127.0.0.1", str(udp))],
    }
    ps = ok(devenv(tmp_path, project_name, "ps")).stdout
    # docker's PORTS column, as Compose prints it: bind address, host port, container port.
    assert f"127.0.0.1:{udp}->5353/udp" in ps and f"127.0.0.1:{tcp + 2}->7002/tcp" in ps, ps


def test_udp_port_held_by_a_process_refuses_up(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    udp = free_ports(1, "udp")
    write_compose(tmp_path, f"""
        services:
          svc:
            image: {BUSYBOX}
            command: {FOREVER}
            ports: ["{udp}:5353/udp"]
    """)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", udp))
        result = devenv(tmp_path, project_name, "up")
    assert result.returncode == 1, output(result)
    assert f"127.0.0.1:{udp}/udp" in result.stderr, output(result)
    assert_nothing_exists(engine, project_name)


def test_port_used_by_an_outgoing_connection_names_the_process(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    port = free_ports()
    write_compose(tmp_path, web(port))
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client.bind(("127.0.0.1", port))  # not listening: the local end of a connection
        client.connect(server.getsockname())
        accepted, _ = server.accept()
        with accepted:
            result = devenv(tmp_path, project_name, "up")
    assert result.returncode == 1, output(result)
    assert f"127.0.0.1:{port}" in result.stderr and f"pid {os.getpid()}" in result.stderr, output(result)
    assert "connection" in result.stderr, output(result)
    assert_nothing_exists(engine, project_name)


def _time_wait_on(port: int) -> bool:
    with open("/proc/net/tcp") as fh:
        return any(line.split()[1].endswith(f":{port:04X}") and line.split()[3] == "06" for line in list(fh)[1:])


def test_port_freed_by_down_is_not_refused_while_its_connections_close(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    port = free_ports()
    write_compose(tmp_path, web(port))
    up(tmp_path, project_name)
    for _ in range(3):  # httpd closes first: the proxy's ends of these connections wait in TIME_WAIT on the port
        assert "served-by-devenv" in http_get("127.0.0.1", port)
    ok(devenv(tmp_path, project_name, "down"))
    lingering = _time_wait_on(port)
    result = devenv(tmp_path, project_name, "up")
    assert result.returncode == 0, f"TIME_WAIT on the port: {lingering}\n{output(result)}"
    assert "served-by-devenv" in http_get("127.0.0.1", port)
