"""`devenv deploy` on a single-node swarm: a remote test engine of its own (scripts/remote-engine.sh,
dockerd in a container, over TLS) put in swarm mode. Replicas run, a secret is readable in the
task's container, a second deploy touches only what changed, a failing task is named, and
`deploy --rm` leaves nothing of the stack (its named volume stays, as the user's data)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import remote_engine as remote
from tests.images import BUSYBOX_IMAGE

NAMESPACE = "com.docker.stack.namespace"


@pytest.fixture(scope="module")
def swarm() -> Iterator[remote.RemoteEngine]:
    """A remote engine of this module's own, made a single-node swarm (never the local engine,
    nor the session's remote one, which other tests use as a plain engine). Removed at the end."""
    name = remote.unique_name()
    problem = ""
    try:
        found = remote.start(name)
        client = found.client()
        try:
            client.swarm.init(advertise_addr="eth0")
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001 - whatever failed, the host is removed and the reason shown
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        remote.stop(name)
        pytest.fail(f"the swarm test engine did not start: {problem}", pytrace=False)
    try:
        yield found
    finally:
        remote.stop(name)


@pytest.fixture
def stack(swarm: remote.RemoteEngine) -> Iterator[str]:
    """A unique stack name; whatever of it is left at the end is removed (its volumes too)."""
    name = f"dvtg5{uuid.uuid4().hex[:8]}"
    yield name
    client = swarm.client()
    try:
        label = {"label": f"{NAMESPACE}={name}"}
        for service in client.services.list(filters=label):
            service.remove()
        for container in client.containers.list(all=True, filters=label):
            container.remove(force=True)
        for kind in (client.secrets, client.configs, client.networks):
            for obj in kind.list(filters=label):
                obj.remove()
        for volume in client.volumes.list(filters=label):
            volume.remove(force=True)
    finally:
        client.close()


def devenv(swarm: remote.RemoteEngine, cwd: Path, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "devenv", *args], cwd=cwd, env=swarm.environ("tls"),
                          capture_output=True, text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)


def manifest(name: str, version: str, web_replicas: int = 2) -> str:
    return f"""
name: {name}
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    environment: {{VERSION: "{version}"}}
    stop_grace_period: 1s
    secrets: [token]
    configs: [{{source: conf, target: /etc/app.conf}}]
    volumes: ["data:/data"]
    networks: [back]
    deploy:
      replicas: {web_replicas}
      update_config: {{parallelism: 2}}
      resources: {{limits: {{memory: 64M}}}}
    depends_on: [db]
  db:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 2; touch /tmp/ready; while :; do sleep 0.2; done"]
    stop_grace_period: 1s
    networks: [back]
    healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 1s, start_period: 120s}}
networks:
  back: {{}}
volumes:
  data: {{}}
secrets:
  token: {{file: ./token.txt}}
configs:
  conf: {{file: ./app.conf}}
"""


def results(stderr: str) -> dict[str, str]:
    """`KIND NAME: RESULT` lines -> {NAME: RESULT}."""
    out = {}
    for line in stderr.splitlines():
        head, sep, rest = line.partition(": ")
        if sep and head.split(" ")[0] in ("service", "network", "secret", "config") and " " in head:
            out[head.split(" ", 1)[1]] = rest.split(" ")[0]
    return out


def service_state(client: Any, name: str) -> tuple[int, list[dict[str, Any]]]:
    service = client.services.get(name)
    return int(service.attrs["Version"]["Index"]), [t for t in service.tasks() if t["DesiredState"] == "running"]


def task_container(client: Any, service: str) -> Any:
    (first, *_) = client.containers.list(filters={"label": f"com.docker.swarm.service.name={service}"})
    return first


def test_deploy_update_and_remove_a_stack(swarm: remote.RemoteEngine, stack: str, tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("s3cr3t-1\n", encoding="utf-8")
    (tmp_path / "app.conf").write_text("level=1\n", encoding="utf-8")
    (tmp_path / "compose.yaml").write_text(manifest(stack, "1"), encoding="utf-8")
    client = swarm.client()
    try:
        first = devenv(swarm, tmp_path, "deploy")
        assert first.returncode == 0, first.stderr
        assert "web: ignored by swarm: depends_on" in first.stderr
        assert set(results(first.stderr).values()) == {"created"}
        assert "s3cr3t" not in first.stderr + first.stdout
        web, db = f"{stack}_web", f"{stack}_db"
        web_version, web_tasks = service_state(client, web)
        db_version, db_tasks = service_state(client, db)
        assert [t["Status"]["State"] for t in web_tasks] == ["running", "running"]
        assert [t["Status"]["State"] for t in db_tasks] == ["running"]
        # deploy returned once db's healthcheck passed (a swarm task is `running` only once healthy)
        assert task_container(client, db).attrs["State"]["Health"]["Status"] == "healthy"
        # the secret and the config are readable in the task's container
        container = task_container(client, web)
        assert container.exec_run(["cat", "/run/secrets/token"]).output == b"s3cr3t-1\n"
        assert container.exec_run(["cat", "/etc/app.conf"]).output == b"level=1\n"
        # docker's own stack commands see it
        listed = subprocess.run(["docker", "stack", "services", "--format", "{{.Name}} {{.Replicas}}", stack],
                                env=swarm.environ("tls"), capture_output=True, text=True, timeout=60, check=False)
        assert sorted(listed.stdout.split("\n")[:2]) == [f"{db} 1/1", f"{web} 2/2"], listed.stderr

        # a second deploy of the same manifest calls no update
        again = devenv(swarm, tmp_path, "deploy")
        assert again.returncode == 0, again.stderr
        assert set(results(again.stderr).values()) == {"unchanged"}, again.stderr
        assert service_state(client, web)[0] == web_version and service_state(client, db)[0] == db_version

        # web changes (its environment, and its secret's content): web is updated, db untouched
        (tmp_path / "compose.yaml").write_text(manifest(stack, "2"), encoding="utf-8")
        (tmp_path / "token.txt").write_text("s3cr3t-2\n", encoding="utf-8")
        changed = devenv(swarm, tmp_path, "deploy", "--format", "json")
        assert changed.returncode == 0, changed.stderr
        import json

        report = json.loads(changed.stdout)
        by_name = {(c["kind"], c["name"]): c["result"] for c in report["changes"]}
        assert by_name[("service", web)] == "updated" and by_name[("service", db)] == "unchanged"
        assert sorted(result for (kind, _), result in by_name.items() if kind == "secret") == ["created", "removed"]
        assert all(s["converged"] for s in report["services"])
        assert service_state(client, db)[0] == db_version
        assert service_state(client, web)[0] != web_version
        container = task_container(client, web)
        assert "VERSION=2" in container.exec_run(["env"]).output.decode()
        assert container.exec_run(["cat", "/run/secrets/token"]).output == b"s3cr3t-2\n"

        # --rm: nothing of the stack is left but its named volume (the user's data)
        removed = devenv(swarm, tmp_path, "deploy", "--rm")
        assert removed.returncode == 0, removed.stderr
        label = {"label": f"{NAMESPACE}={stack}"}
        assert client.services.list(filters=label) == []
        assert client.containers.list(all=True, filters=label) == []
        assert client.networks.list(filters=label) == []
        assert client.secrets.list(filters=label) == [] and client.configs.list(filters=label) == []
        assert [v.name for v in client.volumes.list(filters=label)] == [f"{stack}_data"]
        nothing = devenv(swarm, tmp_path, "deploy", "--rm")
        assert nothing.returncode == 0 and f"no stack {stack}" in nothing.stderr
    finally:
        client.close()


def test_a_failing_service_is_named_with_its_task_and_exits_1(swarm: remote.RemoteEngine, stack: str, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(f"""
name: {stack}
services:
  crash:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "exit 3"]
    deploy: {{restart_policy: {{condition: on-failure, delay: 1s, max_attempts: 1}}}}
""", encoding="utf-8")
    result = devenv(swarm, tmp_path, "deploy", "--wait-timeout", "30")
    assert result.returncode == 1, result.stderr
    failures = [line for line in result.stderr.splitlines() if line.startswith(f"{stack}_crash: task {stack}_crash.1 (")]
    assert failures and "on node devenv-remote-" in failures[0] and "non-zero exit (3)" in failures[0], result.stderr
    assert f"devenv: service {stack}_crash: not converged within 30 s (0 of 1 tasks running)" in result.stderr


def test_refusals_change_nothing_on_the_swarm(swarm: remote.RemoteEngine, stack: str, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "compose.yaml").write_text(f"""
name: {stack}
services:
  ok: {{image: {BUSYBOX_IMAGE}}}
  web: {{image: {BUSYBOX_IMAGE}, volumes: ["./src:/src"]}}
""", encoding="utf-8")
    result = devenv(swarm, tmp_path, "deploy")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("devenv: ")
    assert "compose.yaml:5: services.web.volumes[0]: bind mount of " in result.stderr
    client = swarm.client()
    try:
        label = {"label": f"{NAMESPACE}={stack}"}
        assert client.services.list(filters=label) == [] and client.networks.list(filters=label) == []
    finally:
        client.close()


def test_deploy_and_remove_over_ssh(swarm: remote.RemoteEngine, stack: str, tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(f"""
name: {stack}
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    deploy: {{replicas: 2}}
""", encoding="utf-8")
    env = swarm.environ("ssh")
    run = [sys.executable, "-m", "devenv", "deploy"]
    deployed = subprocess.run(run, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert deployed.returncode == 0, deployed.stderr
    assert f"engine: {swarm.ssh_address}" in deployed.stderr
    assert [f"{stack}_web", "created", "2/2", "yes"] in [line.split() for line in deployed.stdout.splitlines()]
    removed = subprocess.run([*run, "--rm"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240, check=False)
    assert removed.returncode == 0, removed.stderr
    client = swarm.client()
    try:
        assert client.services.list(filters={"label": f"{NAMESPACE}={stack}"}) == []
    finally:
        client.close()


@pytest.fixture
def swarm_socket(swarm: remote.RemoteEngine) -> Iterator[str]:
    """A unix socket on this machine whose connections are relayed to the swarm engine over its
    TLS port, so `devenv` takes the engine as local and speaks through LocalAPI (the test engine
    runs in a container: its own socket is not on this machine). Its address; closed at the end."""
    import select
    import shutil
    import socket
    import ssl
    import tempfile
    import threading
    from urllib.parse import urlsplit

    folder = tempfile.mkdtemp(prefix="dvg7")  # short: a unix socket's path is at most 107 bytes
    path = f"{folder}/engine.sock"
    target = urlsplit(swarm.tls_address.replace("tcp://", "https://"))
    tls = ssl.create_default_context(cafile=f"{swarm.cert_path}/ca.pem")
    tls.load_cert_chain(f"{swarm.cert_path}/cert.pem", f"{swarm.cert_path}/key.pem")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)

    def relay(client: socket.socket) -> None:
        """One thread per connection (an SSL socket must not be read and written by two threads at once)."""
        try:
            upstream = tls.wrap_socket(socket.create_connection((target.hostname, target.port), timeout=10),
                                       server_hostname=target.hostname)
        except OSError:
            client.close()
            return
        try:
            while True:
                ready = [upstream] if upstream.pending() else select.select([client, upstream], [], [], 600)[0]
                if not ready:
                    return
                for source in ready:
                    if source is upstream:
                        upstream.setblocking(False)
                        try:
                            data = upstream.recv(65536)
                        except ssl.SSLWantReadError:  # a TLS record with no data in it (a session ticket)
                            continue
                        finally:
                            upstream.setblocking(True)
                        sink = client
                    else:
                        data, sink = client.recv(65536), upstream
                    if not data:
                        return
                    sink.sendall(data)
        except OSError:
            return
        finally:
            client.close()
            upstream.close()

    def accept() -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed: the fixture ends
                return
            threading.Thread(target=relay, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"unix://{path}"
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)


def test_deploy_update_and_remove_through_the_local_socket_client(swarm: remote.RemoteEngine, swarm_socket: str,
                                                                  stack: str, tmp_path: Path) -> None:
    """The swarm calls of LocalAPI (devenv's own socket client) on a real swarm: services, tasks,
    nodes, networks, secrets and configs created, updated, observed and removed."""
    def compose(replicas: int) -> str:
        return f"""
name: {stack}
services:
  web:
    image: {BUSYBOX_IMAGE}
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.2; done"]
    stop_grace_period: 1s
    secrets: [token]
    configs: [conf]
    deploy: {{replicas: {replicas}}}
secrets:
  token: {{file: ./token.txt}}
configs:
  conf: {{file: ./app.conf}}
"""

    env = {**{k: v for k, v in os.environ.items() if k not in remote.ENGINE_VARS}, "DOCKER_HOST": swarm_socket}
    run = [sys.executable, "-m", "devenv", "deploy"]

    def deploy(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240,
                              check=False, stdin=subprocess.DEVNULL)

    (tmp_path / "token.txt").write_text("t0k3n", encoding="utf-8")
    (tmp_path / "app.conf").write_text("level=1", encoding="utf-8")
    (tmp_path / "compose.yaml").write_text(compose(1), encoding="utf-8")
    first = deploy()
    assert first.returncode == 0, first.stderr
    assert set(results(first.stderr).values()) == {"created"} and len(results(first.stderr)) == 4, first.stderr
    client = swarm.client()
    try:
        web = f"{stack}_web"
        version, tasks = service_state(client, web)
        assert [t["Status"]["State"] for t in tasks] == ["running"]
        assert task_container(client, web).exec_run(["cat", "/run/secrets/token"]).output == b"t0k3n"
        (tmp_path / "compose.yaml").write_text(compose(2), encoding="utf-8")
        changed = deploy()
        assert changed.returncode == 0, changed.stderr
        assert results(changed.stderr)[web] == "updated", changed.stderr
        after, tasks = service_state(client, web)
        assert after != version and [t["Status"]["State"] for t in tasks] == ["running", "running"]
        removed = deploy("--rm")
        assert removed.returncode == 0, removed.stderr
        label = {"label": f"{NAMESPACE}={stack}"}
        assert client.services.list(filters=label) == [] and client.secrets.list(filters=label) == []
        assert client.configs.list(filters=label) == [] and client.networks.list(filters=label) == []
    finally:
        client.close()
