"""`devenv deploy` planned (plan/stack.py): the ServiceSpec of each Compose field, the refusals and
warnings, the names of secrets and configs, and the diff against what a swarm has."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devenv.errors import ManifestError
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.plan.stack import (
    NAMESPACE_LABEL,
    SPEC_HASH_LABEL,
    STACK_LABEL,
    Existing,
    Host,
    Observed,
    Stack,
    StackError,
    Task,
    convergence,
    file_object_name,
    plan,
    removal,
    render,
    with_ids,
)


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Any:
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    return load_project(ProjectOptions(cwd=str(tmp_path), environ=environ or {}))


def host(files: dict[str, bytes] | None = None, local: bool = False) -> Host:
    files = files or {}
    return Host(read=lambda path: files[Path(path).name], bind_exists=(lambda path: path.endswith("/here")) if local else None)


def stack_of(tmp_path: Path, text: str, **kwargs: Any) -> Stack:
    environ = kwargs.pop("environ", None)
    return render(load(tmp_path, text, environ), host(**kwargs))


def service(stack: Stack, key: str) -> dict[str, Any]:
    return dict(next(s for s in stack.services if s.key == key).spec)


BASIC = """
name: shop
services:
  web:
    image: app:1
    command: ["serve", "--port", "80"]
    entrypoint: ["/init"]
    environment: {B: "2", A: "1"}
    working_dir: /srv
    user: "1000"
    hostname: web0
    labels: {team: a}
    stop_grace_period: 3s
    stop_signal: SIGINT
    init: true
    read_only: true
    healthcheck: {test: ["CMD", "true"], interval: 2s, retries: 3}
    extra_hosts: ["db.local:10.0.0.2"]
    dns: [1.1.1.1]
    cap_add: [net_admin]
    ulimits: {nofile: {soft: 10, hard: 20}}
    logging: {driver: json-file, options: {max-size: 1m}}
    ports: ["8080:80", {target: 81, published: 8081, mode: host, protocol: udp}]
    volumes: ["data:/data:ro", {type: tmpfs, target: /cache, tmpfs: {size: 1m}}]
    tmpfs: [/run/x]
    networks: {back: {aliases: [api]}}
    deploy:
      replicas: 3
      labels: {tier: front}
      resources: {limits: {cpus: "0.5", memory: 64M, pids: 100}, reservations: {cpus: "0.25", memory: 32M}}
      restart_policy: {condition: on-failure, delay: 2s, max_attempts: 4, window: 10s}
      update_config: {parallelism: 2, delay: 1s, order: start-first, failure_action: rollback}
      rollback_config: {parallelism: 0}
      placement: {constraints: ["node.role==manager"], preferences: [{spread: node.id}], max_replicas_per_node: 2}
      endpoint_mode: vip
networks:
  back: {}
volumes:
  data: {}
"""


def test_every_supported_field_lands_in_the_service_spec(tmp_path: Path) -> None:
    spec = service(stack_of(tmp_path, BASIC), "web")
    assert spec["Name"] == "shop_web"
    assert spec["Labels"][NAMESPACE_LABEL] == "shop" and spec["Labels"][STACK_LABEL] == "shop"
    assert spec["Labels"]["tier"] == "front" and spec["Labels"]["com.docker.stack.image"] == "app:1"
    c = spec["TaskTemplate"]["ContainerSpec"]
    assert c["Image"] == "app:1" and c["Command"] == ["/init"] and c["Args"] == ["serve", "--port", "80"]
    assert c["Env"] == ["A=1", "B=2"]
    assert (c["Dir"], c["User"], c["Hostname"]) == ("/srv", "1000", "web0")
    assert c["Labels"] == {"team": "a", NAMESPACE_LABEL: "shop", STACK_LABEL: "shop"}
    assert c["StopGracePeriod"] == 3 * 10**9 and c["StopSignal"] == "SIGINT" and c["Init"] is True and c["ReadOnly"] is True
    assert c["Healthcheck"] == {"Test": ["CMD", "true"], "Interval": 2 * 10**9, "Retries": 3}
    assert c["Hosts"] == ["10.0.0.2 db.local"] and c["DNSConfig"] == {"Nameservers": ["1.1.1.1"]}
    assert c["CapabilityAdd"] == ["CAP_NET_ADMIN"] and c["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}]
    assert c["Mounts"] == [
        {"Type": "volume", "Target": "/data", "ReadOnly": True, "Source": "shop_data",
         "VolumeOptions": {"Labels": {NAMESPACE_LABEL: "shop", STACK_LABEL: "shop"}}},
        {"Type": "tmpfs", "Target": "/cache", "TmpfsOptions": {"SizeBytes": 1024 * 1024}},
        {"Type": "tmpfs", "Target": "/run/x"},
    ]
    t = spec["TaskTemplate"]
    assert t["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 64 * 2**20, "Pids": 100},
                              "Reservations": {"NanoCPUs": 250_000_000, "MemoryBytes": 32 * 2**20}}
    assert t["RestartPolicy"] == {"Condition": "on-failure", "Delay": 2 * 10**9, "MaxAttempts": 4, "Window": 10 * 10**9}
    assert t["Placement"] == {"Constraints": ["node.role==manager"], "Preferences": [{"Spread": {"SpreadDescriptor": "node.id"}}],
                              "MaxReplicas": 2}
    assert t["Networks"] == [{"Target": "shop_back", "Aliases": ["web", "api"]}]
    assert t["LogDriver"] == {"Name": "json-file", "Options": {"max-size": "1m"}}
    assert spec["Mode"] == {"Replicated": {"Replicas": 3}}
    assert spec["UpdateConfig"] == {"Parallelism": 2, "Delay": 10**9, "FailureAction": "rollback", "Monitor": 5 * 10**9,
                                    "MaxFailureRatio": 0, "Order": "start-first"}
    assert spec["RollbackConfig"]["Parallelism"] == 0
    assert spec["EndpointSpec"] == {"Mode": "vip", "Ports": [
        {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
        {"Protocol": "udp", "TargetPort": 81, "PublishedPort": 8081, "PublishMode": "host"},
    ]}


def test_defaults_global_mode_and_restart_mapped(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, """
name: shop
services:
  a: {image: x}
  b: {image: x, restart: "on-failure:3", deploy: {mode: global, endpoint_mode: dnsrr}}
  c: {image: x, restart: "no", scale: 2}
""")
    a, b, c = service(stack, "a"), service(stack, "b"), service(stack, "c")
    assert a["Mode"] == {"Replicated": {"Replicas": 1}} and a["TaskTemplate"]["RestartPolicy"] == {"Condition": "any"}
    assert a["TaskTemplate"]["Networks"] == [{"Target": "shop_default", "Aliases": ["a"]}]
    assert a["EndpointSpec"] == {"Mode": "vip"}
    assert b["Mode"] == {"Global": {}} and b["EndpointSpec"] == {"Mode": "dnsrr"}
    assert b["TaskTemplate"]["RestartPolicy"] == {"Condition": "on-failure", "MaxAttempts": 3}
    assert c["Mode"] == {"Replicated": {"Replicas": 2}} and c["TaskTemplate"]["RestartPolicy"] == {"Condition": "none"}
    (network,) = stack.networks
    assert network.name == "shop_default" and network.spec["Driver"] == "overlay" and network.spec["Attachable"] is True
    assert network.spec["Labels"][NAMESPACE_LABEL] == "shop" and network.hash


def test_secrets_and_configs_are_content_addressed_objects(tmp_path: Path) -> None:
    text = """
name: shop
services:
  web:
    image: x
    secrets: [token, {source: pw, target: db_password, uid: "1", mode: 0400}]
    configs: [{source: conf, target: /etc/app.conf}]
secrets:
  token: {file: ./token.txt}
  pw: {environment: PW}
configs:
  conf: {content: "a=1"}
"""
    stack = stack_of(tmp_path, text, files={"token.txt": b"t0k3n"}, environ={"PW": "hunter2"})
    names = {o.key: o.name for o in (*stack.secrets, *stack.configs)}
    assert names["token"] == file_object_name("shop", "secret", "token", b"t0k3n")
    assert names["token"].startswith("shop_token_") and len(names["token"]) == len("shop_token_") + 12
    assert names["conf"].startswith("shop_conf_")
    pw = next(s for s in stack.secrets if s.key == "pw")
    assert pw.data == b"hunter2" and "hunter2" not in repr(pw) and pw.labels[NAMESPACE_LABEL] == "shop"
    c = service(stack, "web")["TaskTemplate"]["ContainerSpec"]
    assert {r["SecretName"]: r["File"] for r in c["Secrets"]} == {
        names["token"]: {"Name": "token", "UID": "0", "GID": "0", "Mode": 0o444},
        names["pw"]: {"Name": "db_password", "UID": "1", "GID": "0", "Mode": 0o400},
    }
    assert c["Configs"] == [{"File": {"Name": "/etc/app.conf", "UID": "0", "GID": "0", "Mode": 0o444},
                             "ConfigID": "", "ConfigName": names["conf"]}]
    filled = with_ids(service(stack, "web"), {names["token"]: "S1", names["pw"]: "S2"}, {names["conf"]: "C1"})
    assert sorted(r["SecretID"] for r in filled["TaskTemplate"]["ContainerSpec"]["Secrets"]) == ["S1", "S2"]
    # a new content: a new name, and the service's spec (its hash) changes with it
    again = stack_of(tmp_path, text, files={"token.txt": b"other"}, environ={"PW": "hunter2"})
    assert {o.key: o.name for o in again.secrets}["token"] != names["token"]
    assert {o.key: o.name for o in again.secrets}["pw"] == names["pw"]
    assert again.services[0].hash != stack.services[0].hash


def test_a_secret_name_does_not_reveal_its_value_by_a_plain_hash() -> None:
    import hashlib

    name = file_object_name("shop", "secret", "pw", b"hunter2")
    assert hashlib.sha256(b"hunter2").hexdigest()[:12] not in name
    assert name == file_object_name("shop", "secret", "pw", b"hunter2")  # stable: an unchanged secret is kept
    assert name != file_object_name("other", "secret", "pw", b"hunter2")  # salted by stack and key


def test_external_objects_keep_their_names(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, """
name: shop
services:
  web: {image: x, secrets: [s], networks: [pub]}
secrets:
  s: {external: true, name: shared_s}
networks:
  pub: {external: true, name: public}
""")
    assert [(s.name, s.external) for s in stack.secrets] == [("shared_s", True)]
    assert [(n.name, n.external) for n in stack.networks] == [("public", True)]


def test_ignored_fields_make_one_warning_line_per_service(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, """
name: shop
services:
  web: {image: x, build: ., container_name: web1, depends_on: [db], expose: ["80"]}
  db: {image: x}
""")
    assert stack.warnings == (
        "web: ignored by swarm: build (swarm does not build: the image must be pushed (devenv push)); "
        "container_name (swarm names the tasks' containers); depends_on (swarm starts services in no order); "
        "expose (every port is reachable on the stack's networks)",
    )


@pytest.mark.parametrize(("fragment", "field", "says"), [
    ("privileged: true", "services.web.privileged", "cannot run privileged"),
    ("network_mode: host", "services.web.network_mode", "no network_mode"),
    ("mem_limit: 64m", "services.web.mem_limit", "deploy.resources.limits.memory"),
    ("devices: [/dev/fuse]", "services.web.devices", "cannot map devices"),
    ("security_opt: [no-new-privileges]", "services.web.security_opt", "not in swarm"),
    ("ports: ['127.0.0.1:80:80']", "services.web.ports[0]", "every node's every interface"),
    ("ports: ['8000-8001:80']", "services.web.ports[0]", "published range"),
    ("deploy: {mode: replicated-job}", "services.web.deploy.mode", "replicated and global"),
    ("deploy: {mode: global, replicas: 2}", "services.web.deploy.replicas", "global mode"),
    ("volumes: ['./src:/src']", "services.web.volumes[0]", "do not have this machine's files"),
    ("tmpfs: ['/t:size=1m']", "services.web.tmpfs", "tmpfs options"),
])
def test_fields_that_change_meaning_are_refused_by_name(tmp_path: Path, fragment: str, field: str, says: str) -> None:
    with pytest.raises(ManifestError) as refused:
        stack_of(tmp_path, f"name: shop\nservices:\n  web:\n    image: x\n    {fragment}\n")
    text = str(refused.value)
    assert "compose.yaml:" in text and field in text and says in text


def test_a_build_without_an_image_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"compose.yaml:4: services.web.build: a swarm cannot build"):
        stack_of(tmp_path, "name: shop\nservices:\n  web:\n    build: .\n")


def test_bind_mounts_on_a_local_swarm_need_the_source(tmp_path: Path) -> None:
    text = "name: shop\nservices:\n  web:\n    image: x\n    volumes: ['{src}:/src']\n"
    spec = service(stack_of(tmp_path, text.format(src="/data/here"), local=True), "web")
    assert spec["TaskTemplate"]["ContainerSpec"]["Mounts"] == [{"Type": "bind", "Target": "/src", "Source": "/data/here"}]
    with pytest.raises(ManifestError, match="does not exist on the swarm's node"):
        stack_of(tmp_path, text.format(src="/data/gone"), local=True)


def test_a_non_overlay_network_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"networks.n.driver: .* overlay"):
        stack_of(tmp_path, "name: shop\nservices:\n  web: {image: x, networks: [n]}\nnetworks:\n  n: {driver: bridge}\n")


# ---------------------------------------------------------------- the diff

TWO = """
name: shop
services:
  web: {image: x, secrets: [s], environment: {V: "%s"}}
  db: {image: x}
secrets:
  s: {environment: S}
"""


def two(tmp_path: Path, value: str, secret: str) -> Stack:
    return stack_of(tmp_path, TWO % value, environ={"S": secret})


def existing_from(stack: Stack, **extra: Any) -> Existing:
    """What a swarm holds once `stack` was deployed (plus `extra` objects by kind)."""
    ns = {NAMESPACE_LABEL: stack.project}
    held = {
        "services": {s.name: Observed(s.name, f"id-{s.name}", dict(s.spec["Labels"]), version=7) for s in stack.services},
        "networks": {n.name: Observed(n.name, f"id-{n.name}", dict(n.spec["Labels"])) for n in stack.networks},
        "secrets": {o.name: Observed(o.name, f"id-{o.name}", ns) for o in stack.secrets},
        "configs": {o.name: Observed(o.name, f"id-{o.name}", ns) for o in stack.configs},
    }
    for kind, objects in extra.items():
        held[kind].update(objects)
    return Existing(**held)


def actions(changes: Any) -> list[tuple[str, str, str]]:
    return [(c.kind, c.name, c.action) for c in changes]


def test_everything_is_created_on_an_empty_swarm(tmp_path: Path) -> None:
    stack = two(tmp_path, "1", "a")
    secret = stack.secrets[0].name
    assert actions(plan(stack, Existing({}, {}, {}, {}))) == [
        ("network", "shop_default", "create"), ("secret", secret, "create"),
        ("service", "shop_db", "create"), ("service", "shop_web", "create"),
    ]


def test_an_unchanged_stack_changes_nothing(tmp_path: Path) -> None:
    stack = two(tmp_path, "1", "a")
    again = two(tmp_path, "1", "a")
    assert {c.action for c in plan(again, existing_from(stack))} == {"unchanged"}


def test_only_the_changed_service_is_updated(tmp_path: Path) -> None:
    before = two(tmp_path, "1", "a")
    after = two(tmp_path, "2", "a")
    assert actions(plan(after, existing_from(before))) == [
        ("network", "shop_default", "unchanged"), ("secret", before.secrets[0].name, "unchanged"),
        ("service", "shop_db", "unchanged"), ("service", "shop_web", "update"),
    ]


def test_a_new_secret_content_updates_its_service_and_removes_the_old_object(tmp_path: Path) -> None:
    before = two(tmp_path, "1", "a")
    after = two(tmp_path, "1", "b")
    assert actions(plan(after, existing_from(before))) == [
        ("network", "shop_default", "unchanged"), ("secret", after.secrets[0].name, "create"),
        ("service", "shop_db", "unchanged"), ("service", "shop_web", "update"),
        ("secret", before.secrets[0].name, "remove"),
    ]


def test_services_gone_from_the_manifest_are_removed_and_others_stacks_left_alone(tmp_path: Path) -> None:
    before = two(tmp_path, "1", "a")
    after = stack_of(tmp_path, "name: shop\nservices:\n  db: {image: x}\n")
    other = {"other_net": Observed("other_net", "n9", {NAMESPACE_LABEL: "other"}), "plain": Observed("plain", "n8", {})}
    changes = plan(after, existing_from(before, networks=other))
    assert actions(changes) == [
        ("network", "shop_default", "unchanged"), ("service", "shop_db", "unchanged"),
        ("service", "shop_web", "remove"), ("secret", before.secrets[0].name, "remove"),
    ]


def test_a_changed_network_or_a_missing_external_object_stops_before_anything(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, "name: shop\nservices:\n  web: {image: x}\n")
    changed = {"shop_default": Observed("shop_default", "n1", {NAMESPACE_LABEL: "shop", SPEC_HASH_LABEL: "old"})}
    with pytest.raises(StackError, match="shop_default exists with another configuration"):
        plan(stack, Existing({}, changed, {}, {}))
    made_by_docker = {"shop_default": Observed("shop_default", "n1", {NAMESPACE_LABEL: "shop"})}
    assert actions(plan(stack, Existing({}, made_by_docker, {}, {})))[0] == ("network", "shop_default", "unchanged")
    external = stack_of(tmp_path, "name: shop\nservices:\n  web: {image: x, secrets: [s]}\nsecrets:\n  s: {external: true}\n")
    with pytest.raises(StackError, match="external secret s"):
        plan(external, existing_from(stack))


def test_removal_takes_the_stacks_objects_services_first_never_others(tmp_path: Path) -> None:
    stack = two(tmp_path, "1", "a")
    other = {"x": Observed("x", "s9", {NAMESPACE_LABEL: "other"})}
    assert actions(removal("shop", existing_from(stack, secrets=other))) == [
        ("service", "shop_db", "remove"), ("service", "shop_web", "remove"),
        ("secret", stack.secrets[0].name, "remove"), ("network", "shop_default", "remove"),
    ]


# ---------------------------------------------------------------- convergence


def task(state: str, desired: str = "running", slot: int = 1, error: str = "") -> Task:
    return Task(id=f"t{slot}{state}", service="shop_web", slot=slot, node="n1", desired=desired, state=state, error=error)


def test_convergence_counts_running_tasks_and_waits_for_updates(tmp_path: Path) -> None:
    web = next(s for s in stack_of(tmp_path, "name: shop\nservices:\n  web: {image: x, deploy: {replicas: 2}}\n").services)
    two = [task("running", slot=1), task("running", slot=2)]
    assert convergence(web, two, None).done
    assert not convergence(web, [task("running"), task("starting", slot=2)], None).done
    assert convergence(web, [*two, task("shutdown", desired="shutdown", slot=3)], "completed").done
    assert not convergence(web, two, "updating").done
    paused = convergence(web, two, "paused", "update paused due to failure")
    assert not paused.done and paused.failed == "update paused: update paused due to failure"


def test_a_failed_task_is_one_line_naming_service_task_node_and_error() -> None:
    line = task("failed", error="task: non-zero exit (3)").failure_line()
    assert line == "shop_web: task shop_web.1 (t1failed) on node n1: failed: task: non-zero exit (3)"
