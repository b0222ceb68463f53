"""Merge rules: how a later Compose file (`-f a -f b`, or an override file) changes a service.

Each case writes `base.yaml` and `override.yaml` with one service `web` and compares one field of
the merged, canonical service. Service bodies are written as flow mappings (JSON is YAML)."""

from __future__ import annotations

import json

import pytest

from devenv.manifest.merge import enforce_unicity, merge
from devenv.model import thaw

ABSENT = "<absent>"


# what the cases refer to: other services, networks, secrets and configs
CONTEXT = {
    "services": {"db": {"image": "postgres"}, "cache": {"image": "redis"}},
    "networks": {"front": {}, "back": {}},
    "secrets": {"token": {"file": "./token.txt"}},
    "configs": {"conf": {"file": "./app.conf"}, "conf2": {"file": "./app.conf"}},
}


def _service(body: dict) -> str:
    return json.dumps({**CONTEXT, "services": {"web": {"image": "nginx", **body}, **CONTEXT["services"]}})


CASES = [
    # --- scalars are replaced
    ("scalar replaced", {"restart": "always"}, {"restart": "no"}, "restart", "no"),
    ("image replaced", {}, {"image": "redis"}, "image", "redis"),
    ("bool replaced by false", {"privileged": True}, {"privileged": False}, "privileged", ABSENT),
    ("number replaced", {"cpu_shares": 512}, {"cpu_shares": 1024}, "cpu_shares", 1024),
    ("duration replaced", {"stop_grace_period": "10s"}, {"stop_grace_period": "1m"}, "stop_grace_period", "1m0s"),
    ("absent in override keeps base", {"user": "root"}, {"restart": "always"}, "user", "root"),
    # --- command, entrypoint, healthcheck.test are replaced whole
    ("command replaced whole", {"command": ["a", "b"]}, {"command": ["c"]}, "command", ["c"]),
    ("command string replaces list", {"command": ["a", "b"]}, {"command": "x 'y z'"}, "command", ["x", "y z"]),
    ("entrypoint replaced whole", {"entrypoint": ["/a", "-x"]}, {"entrypoint": ["/b"]}, "entrypoint", ["/b"]),
    (
        "healthcheck merged but its test replaced",
        {"healthcheck": {"test": ["CMD", "a", "b"], "interval": "10s"}},
        {"healthcheck": {"test": ["CMD", "c"], "retries": 3}},
        "healthcheck",
        {"test": ["CMD", "c"], "interval": "10s", "retries": 3},
    ),
    # --- environment, labels, sysctls: list and mapping forms merged by key
    (
        "environment mapping then list",
        {"environment": {"A": "1", "B": "2"}},
        {"environment": ["B=3", "C=4"]},
        "environment",
        {"A": "1", "B": "3", "C": "4"},
    ),
    (
        "environment list then mapping",
        {"environment": ["A=1", "B=2"]},
        {"environment": {"B": "3"}},
        "environment",
        {"A": "1", "B": "3"},
    ),
    (
        "environment later bare key wins",
        {"environment": {"A": "1"}},
        {"environment": ["A"]},
        "environment",
        {"A": None},
    ),
    (
        "labels list and mapping",
        {"labels": ["a=1", "b=2"]},
        {"labels": {"b": "3", "c": "4"}},
        "labels",
        {"a": "1", "b": "3", "c": "4"},
    ),
    (
        "sysctls mapping and list",
        {"sysctls": {"net.core.somaxconn": 1024}},
        {"sysctls": ["net.core.somaxconn=2048", "net.ipv4.tcp_syncookies=0"]},
        "sysctls",
        {"net.core.somaxconn": "2048", "net.ipv4.tcp_syncookies": "0"},
    ),
    # --- sequences are appended, with unicity
    ("cap_add appended unique", {"cap_add": ["NET_ADMIN"]}, {"cap_add": ["SYS_ADMIN", "NET_ADMIN"]}, "cap_add", ["NET_ADMIN", "SYS_ADMIN"]),
    ("cap_drop appended", {"cap_drop": ["ALL"]}, {"cap_drop": ["MKNOD"]}, "cap_drop", ["ALL", "MKNOD"]),
    ("expose appended unique", {"expose": ["80", 81]}, {"expose": ["80", "443"]}, "expose", ["80", "81", "443"]),
    ("dns string then list", {"dns": "8.8.8.8"}, {"dns": ["1.1.1.1", "8.8.8.8"]}, "dns", ["8.8.8.8", "1.1.1.1"]),
    ("links appended unique", {"links": ["db"]}, {"links": ["db", "cache:c"]}, "links", ["db", "cache:c"]),
    ("tmpfs string then list", {"tmpfs": "/run"}, {"tmpfs": ["/tmp", "/run"]}, "tmpfs", ["/run", "/tmp"]),
    (
        "security_opt appended",
        {"security_opt": ["no-new-privileges:true"]},
        {"security_opt": ["label:disable"]},
        "security_opt",
        ["no-new-privileges:true", "label:disable"],
    ),
    # --- ports: unique by host_ip:published:target/protocol
    (
        "ports same mapping once",
        {"ports": ["8080:80"]},
        {"ports": ["8080:80", "9090:90"]},
        "ports",
        [
            {"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"},
            {"mode": "ingress", "target": 90, "published": "9090", "protocol": "tcp"},
        ],
    ),
    (
        "ports differing host ip kept apart",
        {"ports": ["8080:80"]},
        {"ports": ["127.0.0.1:8080:80"]},
        "ports",
        [
            {"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"},
            {"mode": "ingress", "host_ip": "127.0.0.1", "target": 80, "published": "8080", "protocol": "tcp"},
        ],
    ),
    (
        "ports differing protocol kept apart",
        {"ports": ["53:53"]},
        {"ports": ["53:53/udp"]},
        "ports",
        [
            {"mode": "ingress", "target": 53, "published": "53", "protocol": "tcp"},
            {"mode": "ingress", "target": 53, "published": "53", "protocol": "udp"},
        ],
    ),
    (
        "ports short and long forms of one mapping merge",
        {"ports": ["8080:80"]},
        {"ports": [{"target": 80, "published": "8080", "protocol": "tcp", "host_ip": "0.0.0.0"}]},
        "ports",
        # no host_ip counts as 0.0.0.0: one mapping, the later form winning
        [{"mode": "ingress", "host_ip": "0.0.0.0", "target": 80, "published": "8080", "protocol": "tcp"}],
    ),
    # --- volumes: unique by target, the later one winning
    (
        "volumes same target replaced",
        {"volumes": ["./a:/data", "/cache"]},
        {"volumes": ["./b:/data:ro"]},
        "volumes",
        [
            {"type": "bind", "source": "{root}/b", "target": "/data", "read_only": True, "bind": {"create_host_path": True}},
            {"type": "volume", "target": "/cache", "volume": {}},
        ],
    ),
    (
        "volumes different targets appended",
        {"volumes": ["/one"]},
        {"volumes": [{"type": "tmpfs", "target": "/two"}]},
        "volumes",
        [{"type": "volume", "target": "/one", "volume": {}}, {"type": "tmpfs", "target": "/two"}],
    ),
    # --- networks and depends_on: list or mapping, merged by name
    (
        "networks list then mapping",
        {"networks": ["front"]},
        {"networks": {"back": {"aliases": ["b"]}}},
        "networks",
        {"front": None, "back": {"aliases": ["b"]}},
    ),
    (
        "networks aliases merged",
        {"networks": {"front": {"aliases": ["a"], "priority": 1}}},
        {"networks": {"front": {"aliases": ["b", "a"]}}},
        "networks",
        {"front": {"aliases": ["a", "b"], "priority": 1}},
    ),
    (
        "depends_on list then mapping",
        {"depends_on": ["db"]},
        {"depends_on": {"cache": {"condition": "service_healthy"}}},
        "depends_on",
        {
            "db": {"condition": "service_started", "required": True},
            "cache": {"condition": "service_healthy", "required": True},
        },
    ),
    (
        "depends_on condition replaced",
        {"depends_on": {"db": {"condition": "service_started", "restart": True}}},
        {"depends_on": {"db": {"condition": "service_healthy"}}},
        "depends_on",
        {"db": {"condition": "service_healthy", "required": True, "restart": True}},
    ),
    (
        "depends_on mapping then list keeps the condition",
        {"depends_on": {"db": {"condition": "service_healthy"}}},
        {"depends_on": ["db", "cache"]},
        "depends_on",
        {
            "db": {"condition": "service_started", "required": True},
            "cache": {"condition": "service_started", "required": True},
        },
    ),
    # --- build: string or mapping
    (
        "build string then mapping",
        {"build": "./app"},
        {"build": {"dockerfile": "Dockerfile.dev"}},
        "build",
        {"context": "{root}/app", "dockerfile": "Dockerfile.dev"},
    ),
    (
        "build mapping then string",
        {"build": {"context": "./a", "args": {"X": "1"}, "target": "dev"}},
        {"build": "./b"},
        "build",
        {"context": "{root}/b", "args": {"X": "1"}, "target": "dev", "dockerfile": "Dockerfile"},
    ),
    (
        "build args merged by key",
        {"build": {"context": ".", "args": ["A=1", "B=2"]}},
        {"build": {"args": {"B": "3"}}},
        "build",
        {"context": "{root}", "args": {"A": "1", "B": "3"}, "dockerfile": "Dockerfile"},
    ),
    # --- logging: a different driver drops the old options
    (
        "logging driver change drops options",
        {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}},
        {"logging": {"driver": "syslog"}},
        "logging",
        {"driver": "syslog"},
    ),
    (
        "logging same driver merges options",
        {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}},
        {"logging": {"driver": "json-file", "options": {"max-file": "3"}}},
        "logging",
        {"driver": "json-file", "options": {"max-size": "1m", "max-file": "3"}},
    ),
    (
        "logging options alone merge",
        {"logging": {"driver": "json-file", "options": {"max-size": "1m"}}},
        {"logging": {"options": {"max-size": "5m"}}},
        "logging",
        {"driver": "json-file", "options": {"max-size": "5m"}},
    ),
    # --- ulimits
    (
        "ulimits soft and hard merged",
        {"ulimits": {"nofile": {"soft": 1024, "hard": 2048}}},
        {"ulimits": {"nofile": {"soft": 4096, "hard": 8192}}, "x-unused": 1},
        "ulimits",
        {"nofile": {"soft": 4096, "hard": 8192}},
    ),
    (
        "ulimits single value replaced",
        {"ulimits": {"nproc": 10, "core": 0}},
        {"ulimits": {"nproc": 20}},
        "ulimits",
        {"nproc": 20, "core": {}},  # a single limit of 0 prints as {} (soft = hard = 0)
    ),
    (
        "ulimits mapping replaces single value",
        {"ulimits": {"nofile": 1024}},
        {"ulimits": {"nofile": {"soft": 1, "hard": 2}}},
        "ulimits",
        {"nofile": {"soft": 1, "hard": 2}},
    ),
    # --- extra_hosts
    (
        "extra_hosts appended without duplicates",
        {"extra_hosts": ["a:10.0.0.1"]},
        {"extra_hosts": ["b=10.0.0.2", "a:10.0.0.1"]},
        "extra_hosts",
        ["a=10.0.0.1", "b=10.0.0.2"],
    ),
    (
        "extra_hosts mapping and list",
        {"extra_hosts": {"a": "10.0.0.1"}},
        {"extra_hosts": ["c:10.0.0.3"]},
        "extra_hosts",
        ["a=10.0.0.1", "c=10.0.0.3"],
    ),
    # --- secrets / configs: unique by target
    (
        "secrets same default target replaced",
        {"secrets": ["token"]},
        {"secrets": [{"source": "token", "mode": 0o400}]},
        "secrets",
        [{"source": "token", "target": "/run/secrets/token", "mode": "0400"}],
    ),
    (
        "secrets different targets kept",
        {"secrets": ["token"]},
        {"secrets": [{"source": "token", "target": "/etc/token"}]},
        "secrets",
        [{"source": "token", "target": "/run/secrets/token"}, {"source": "token", "target": "/etc/token"}],
    ),
    (
        "configs unique by target",
        {"configs": [{"source": "conf", "target": "/etc/app.conf"}]},
        {"configs": [{"source": "conf2", "target": "/etc/app.conf"}, "conf"]},
        "configs",
        [{"source": "conf2", "target": "/etc/app.conf"}, {"source": "conf"}],
    ),
    # --- devices unique by target
    (
        "devices unique by target",
        {"devices": ["/dev/a:/dev/x"]},
        {"devices": ["/dev/b:/dev/x", "/dev/c"]},
        "devices",
        [
            {"source": "/dev/b", "target": "/dev/x", "permissions": "rwm"},
            {"source": "/dev/c", "target": "/dev/c", "permissions": "rwm"},
        ],
    ),
    # --- nested mappings
    (
        "deploy merged deeply",
        {"deploy": {"replicas": 2, "resources": {"limits": {"memory": "512m", "cpus": "0.5"}}}},
        {"deploy": {"resources": {"limits": {"memory": "1g"}}}},
        "deploy",
        {"replicas": 2, "resources": {"limits": {"memory": "1073741824", "cpus": 0.5}}},
    ),
    # (service-level x- keys: checked in test_service_extensions_are_merged; Compose's JSON omits them)
    # --- !reset and !override
    ("reset removes", {"ports": ["80:80"]}, {"ports": "!reset"}, "ports", ABSENT),
    ("reset removes a mapping", {"environment": {"A": "1"}}, {"environment": "!reset"}, "environment", ABSENT),
    (
        "override replaces a sequence",
        {"ports": ["80:80", "81:81"]},
        {"ports": "!override ['9090:90']"},
        "ports",
        [{"mode": "ingress", "target": 90, "published": "9090", "protocol": "tcp"}],
    ),
    (
        "override replaces a mapping",
        {"environment": {"A": "1", "B": "2"}},
        {"environment": "!override {C: '3'}"},
        "environment",
        {"C": "3"},
    ),
    (
        "override replaces a list-form mapping",
        {"labels": ["a=1"]},
        {"labels": "!override [b=2]"},
        "labels",
        {"b": "2"},
    ),
]


def _write_override(ws, override: dict) -> None:
    """Tags cannot be spelled in JSON: "!reset" / "!override ..." string values become YAML tags."""
    lines = ["services:", "  web:"]
    for key, value in override.items():
        if isinstance(value, str) and value.startswith(("!reset", "!override")):
            text = value if value != "!reset" else "!reset null"
        else:
            text = json.dumps(value)
        lines.append(f"    {key}: {text}")
    ws.write("override.yaml", "\n".join(lines) + "\n")


def _expand(value, root: str):
    if isinstance(value, str):
        return value.replace("{root}", root)
    if isinstance(value, list):
        return [_expand(v, root) for v in value]
    if isinstance(value, dict):
        return {k: _expand(v, root) for k, v in value.items()}
    return value


@pytest.mark.parametrize("base, override, field, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_merge_rule(ws, base, override, field, expected) -> None:
    ws.write("base.yaml", _service(base))
    _write_override(ws, override)
    project = ws.load("base.yaml", "override.yaml")
    service = thaw(project.services["web"].config)
    assert service.get(field, ABSENT) == _expand(expected, str(ws.root))


def test_service_extensions_are_merged(ws) -> None:
    ws.write("base.yaml", _service({"x-meta": {"a": 1, "list": [1]}}))
    ws.write("override.yaml", json.dumps({"services": {"web": {"x-meta": {"b": 2, "list": [2]}}}}))
    service = thaw(ws.load("base.yaml", "override.yaml").services["web"].config)
    assert service["x-meta"] == {"a": 1, "b": 2, "list": [1, 2]}


def test_profiles_are_appended(ws) -> None:
    ws.write("base.yaml", _service({"profiles": ["a"]}))
    ws.write("override.yaml", json.dumps({"services": {"web": {"profiles": ["b", "a"]}}}))
    project = ws.load("base.yaml", "override.yaml", profiles=("b",))
    assert project.services["web"].profiles == ("a", "b")


def test_a_later_file_adds_services_and_resources(ws) -> None:
    ws.write("base.yaml", "services: {web: {image: nginx, networks: [front]}}\nnetworks: {front: {driver: bridge}}\n")
    ws.write(
        "override.yaml",
        "services: {db: {image: postgres, networks: [front]}}\nnetworks: {front: {labels: {tier: web}}}\n",
    )
    project = ws.load("base.yaml", "override.yaml")
    assert sorted(project.services) == ["db", "web"]
    assert thaw(project.networks["front"]) == {"name": "proj_front", "driver": "bridge", "labels": {"tier": "web"}}


def test_reset_a_whole_service(ws) -> None:
    ws.write("base.yaml", "services: {web: {image: nginx}, debug: {image: busybox}}\n")
    ws.write("override.yaml", "services:\n  debug: !reset null\n")
    assert list(ws.load("base.yaml", "override.yaml").services) == ["web"]


def test_three_files_merge_left_to_right(ws) -> None:
    ws.write("a.yaml", _service({"environment": {"A": "a", "WHO": "a"}}))
    ws.write("b.yaml", json.dumps({"services": {"web": {"environment": {"B": "b", "WHO": "b"}}}}))
    ws.write("c.yaml", json.dumps({"services": {"web": {"environment": ["WHO=c"]}}}))
    service = thaw(ws.load("a.yaml", "b.yaml", "c.yaml").services["web"].config)
    assert service["environment"] == {"A": "a", "WHO": "c", "B": "b"}


def test_mapping_cannot_be_merged_with_a_scalar(ws) -> None:
    ws.write("base.yaml", _service({"healthcheck": {"test": ["CMD", "true"]}}))
    ws.write("override.yaml", "services:\n  web:\n    healthcheck: broken\n")
    err = ws.error("base.yaml", "override.yaml")
    assert err.path == "services.web.healthcheck"
    assert err.file == str(ws.root / "override.yaml")
    assert err.line == 3


# ------------------------------------------------------------------ the functions themselves


def test_merge_function_rules() -> None:
    base = {"services": {"web": {"image": "a", "cap_add": ["X"], "labels": {"a": "1"}, "command": ["x", "y"]}}}
    other = {"services": {"web": {"image": "b", "cap_add": ["Y"], "labels": ["b=2"], "command": ["z"]}}}
    out = merge(base, other)
    assert out["services"]["web"] == {"image": "b", "cap_add": ["X", "Y"], "labels": ["a=1", "b=2"], "command": ["z"]}


def test_enforce_unicity_keeps_the_later_entry_at_the_earlier_place() -> None:
    doc = {"services": {"web": {"environment": ["A=1", "B=2", "A=3"], "expose": ["80", "80"]}}}
    assert enforce_unicity(doc)["services"]["web"] == {"environment": ["A=3", "B=2"], "expose": ["80"]}
