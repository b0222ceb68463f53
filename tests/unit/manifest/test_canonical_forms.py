"""Canonical forms: what a service looks like after loading — every short syntax in its long form,
relative paths absolute, defaults filled in, values printed as `docker compose config --format json`
prints them. Each case is one service `web` (written as JSON, which is YAML) and one field."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest

from devenv.model import thaw

ABSENT = "<absent>"
HOME = "{root}/home"

# what the cases refer to
CONTEXT = {
    "services": {"db": {"image": "postgres"}, "cache": {"image": "redis"}},
    "volumes": {"named": {}},
    "networks": {"front": {}, "back": {}},
    "secrets": {"token": {"file": "./token.txt"}},
    "configs": {"conf": {"file": "./app.conf"}},
}


def document(body: dict) -> str:
    return json.dumps({**CONTEXT, "services": {"web": {"image": "nginx", **body}, **CONTEXT["services"]}})


def expand(value, root: str):
    if isinstance(value, str):
        return value.replace("{root}", root)
    if isinstance(value, list):
        return [expand(v, root) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, root) for k, v in value.items()}
    return value


def P(target: int, published: str | None = None, protocol: str = "tcp", **extra) -> dict:
    out = {"mode": "ingress", "target": target, "protocol": protocol, **extra}
    if published is not None:
        out["published"] = published
    return out


BIND = {"create_host_path": True}

CASES = [
    # --- ports
    ("port number", {"ports": [80]}, "ports", [P(80)]),
    ("port range", {"ports": ["3000-3001"]}, "ports", [P(3000), P(3001)]),
    ("port host ip v4", {"ports": ["127.0.0.1:8080:80"]}, "ports", [P(80, "8080", host_ip="127.0.0.1")]),
    ("port host ip v6", {"ports": ["[::1]:8080:80"]}, "ports", [P(80, "8080", host_ip="::1")]),
    ("port ip without host port", {"ports": ["127.0.0.1::80"]}, "ports", [P(80, host_ip="127.0.0.1")]),
    ("port udp", {"ports": ["53:53/udp"]}, "ports", [P(53, "53", "udp")]),
    ("port long form defaults", {"ports": [{"target": 80}]}, "ports", [P(80)]),
    (
        "port long form published number",
        {"ports": [{"target": 80, "published": 8080, "host_ip": "127.0.0.1", "protocol": "udp", "name": "web"}]},
        "ports",
        [P(80, "8080", "udp", host_ip="127.0.0.1", name="web")],
    ),
    # --- volumes
    ("volume anonymous", {"volumes": ["/data"]}, "volumes", [{"type": "volume", "target": "/data", "volume": {}}]),
    (
        "volume named nocopy",
        {"volumes": ["named:/data:nocopy"]},
        "volumes",
        [{"type": "volume", "source": "named", "target": "/data", "volume": {"nocopy": True}}],
    ),
    (
        "volume relative bind made absolute",
        {"volumes": ["./src:/app"]},
        "volumes",
        [{"type": "bind", "source": "{root}/src", "target": "/app", "bind": BIND}],
    ),
    (
        "volume bind with dots normalized",
        {"volumes": ["./a/../b/:/b"]},
        "volumes",
        [{"type": "bind", "source": "{root}/b", "target": "/b", "bind": BIND}],
    ),
    (
        "volume home bind",
        {"volumes": ["~/cfg:/cfg:ro"]},
        "volumes",
        [{"type": "bind", "source": HOME + "/cfg", "target": "/cfg", "read_only": True, "bind": BIND}],
    ),
    (
        "volume selinux and propagation",
        {"volumes": ["/srv:/srv:z", "/mnt:/mnt:rslave"]},
        "volumes",
        [
            {"type": "bind", "source": "/srv", "target": "/srv", "bind": {"create_host_path": True, "selinux": "z"}},
            {"type": "bind", "source": "/mnt", "target": "/mnt", "bind": {"create_host_path": True, "propagation": "rslave"}},
        ],
    ),
    (
        "volume long bind",
        {"volumes": [{"type": "bind", "source": "./conf", "target": "/etc/conf", "read_only": True}]},
        "volumes",
        [{"type": "bind", "source": "{root}/conf", "target": "/etc/conf", "read_only": True}],
    ),
    (
        "volume long volume",
        {"volumes": [{"type": "volume", "source": "named", "target": "/d", "volume": {"nocopy": True, "subpath": "x"}}]},
        "volumes",
        [{"type": "volume", "source": "named", "target": "/d", "volume": {"nocopy": True, "subpath": "x"}}],
    ),
    (
        "volume long tmpfs",
        {"volumes": [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": "10m", "mode": 1777}}]},
        "volumes",
        [{"type": "tmpfs", "target": "/t", "tmpfs": {"size": "10485760", "mode": 1777}}],
    ),
    # --- depends_on and what links, volumes_from and network_mode imply
    (
        "depends_on list",
        {"depends_on": ["db", "cache"]},
        "depends_on",
        {"db": {"condition": "service_started", "required": True}, "cache": {"condition": "service_started", "required": True}},
    ),
    (
        "depends_on mapping defaults",
        {"depends_on": {"db": {"condition": "service_healthy"}, "cache": {"condition": "service_started", "restart": True}}},
        "depends_on",
        {
            "db": {"condition": "service_healthy", "required": True},
            "cache": {"condition": "service_started", "required": True, "restart": True},
        },
    ),
    (
        "links imply depends_on with restart",
        {"links": ["db:database"]},
        "depends_on",
        {"db": {"condition": "service_started", "required": True, "restart": True}},
    ),
    (
        "volumes_from implies depends_on",
        {"volumes_from": ["db", "container:other"]},
        "depends_on",
        {"db": {"condition": "service_started", "required": True}},
    ),
    (
        "network_mode service implies depends_on",
        {"network_mode": "service:db"},
        "depends_on",
        {"db": {"condition": "service_started", "required": True, "restart": True}},
    ),
    (
        "explicit depends_on wins over the implied one",
        {"links": ["db"], "depends_on": {"db": {"condition": "service_healthy"}}},
        "depends_on",
        {"db": {"condition": "service_healthy", "required": True}},
    ),
    # --- environment and labels
    (
        "environment list bare key is null",
        {"environment": ["A=1", "B=", "C", "D=x=y"]},
        "environment",
        {"A": "1", "B": "", "C": None, "D": "x=y"},
    ),
    (
        "environment mapping values as strings",
        {"environment": {"N": 1, "F": 1.5, "T": True, "E": None, "S": "s"}},
        "environment",
        {"N": "1", "F": "1.5", "T": "true", "E": None, "S": "s"},
    ),
    ("environment large float as go prints it", {"environment": {"BIG": 1e7}}, "environment", {"BIG": "1e+07"}),
    ("labels list", {"labels": ["a=1", "b"]}, "labels", {"a": "1", "b": ""}),
    ("labels mapping null", {"labels": {"a": None, "n": 2}}, "labels", {"a": "", "n": "2"}),
    # --- build
    ("build string", {"build": "./app"}, "build", {"context": "{root}/app", "dockerfile": "Dockerfile"}),
    ("build dot", {"build": "."}, "build", {"context": "{root}", "dockerfile": "Dockerfile"}),
    ("build mapping without context", {"build": {"target": "dev"}}, "build", {"context": "{root}", "dockerfile": "Dockerfile", "target": "dev"}),
    (
        "build inline dockerfile",
        {"build": {"context": ".", "dockerfile_inline": "FROM scratch"}},
        "build",
        {"context": "{root}", "dockerfile_inline": "FROM scratch"},
    ),
    (
        "build remote context kept",
        {"build": "https://github.com/docker/compose.git"},
        "build",
        {"context": "https://github.com/docker/compose.git", "dockerfile": "Dockerfile"},
    ),
    (
        "build args list",
        {"build": {"context": ".", "args": ["A=1", "B"]}},
        "build",
        {"context": "{root}", "dockerfile": "Dockerfile", "args": {"A": "1"}},
    ),
    # --- healthcheck and durations
    ("healthcheck test string", {"healthcheck": {"test": "curl -f http://localhost"}}, "healthcheck", {"test": ["CMD-SHELL", "curl -f http://localhost"]}),
    (
        "healthcheck durations",
        {"healthcheck": {"test": ["CMD", "true"], "interval": "1m30s", "timeout": "500ms", "start_period": "1h2m3.5s", "retries": 3}},
        "healthcheck",
        {"test": ["CMD", "true"], "interval": "1m30s", "timeout": "500ms", "start_period": "1h2m3.5s", "retries": 3},
    ),
    ("healthcheck disable", {"healthcheck": {"disable": True}}, "healthcheck", {"disable": True}),
    ("stop_grace_period printed as go", {"stop_grace_period": "90s"}, "stop_grace_period", "1m30s"),
    # --- byte sizes
    ("mem_limit", {"mem_limit": "512m"}, "mem_limit", "536870912"),
    ("shm_size", {"shm_size": "64M"}, "shm_size", "67108864"),
    ("memswap_limit number", {"memswap_limit": 1073741824}, "memswap_limit", "1073741824"),
    ("deploy memory", {"deploy": {"resources": {"limits": {"memory": "1g"}}}}, "deploy", {"resources": {"limits": {"memory": "1073741824"}}}),
    # --- commands
    ("command string split", {"command": "sh -c 'echo \"a b\"; sleep 1'"}, "command", ["sh", "-c", 'echo "a b"; sleep 1']),
    ("command list kept", {"command": ["echo", "a b"]}, "command", ["echo", "a b"]),
    ("command absent is null", {}, "command", None),
    ("entrypoint string split", {"entrypoint": "/docker-entrypoint.sh --flag"}, "entrypoint", ["/docker-entrypoint.sh", "--flag"]),
    ("entrypoint empty list", {"entrypoint": []}, "entrypoint", []),
    # --- extra_hosts
    (
        "extra_hosts forms",
        {"extra_hosts": ["b:10.0.0.2", "a=10.0.0.1", "v6:::1", "br=[::2]"]},
        "extra_hosts",
        ["a=10.0.0.1", "b=10.0.0.2", "br=::2", "v6=::1"],
    ),
    ("extra_hosts mapping", {"extra_hosts": {"x": "10.0.0.9", "y": ["10.0.0.1", "10.0.0.2"]}}, "extra_hosts", ["x=10.0.0.9", "y=10.0.0.1", "y=10.0.0.2"]),
    # --- ulimits, devices, tmpfs
    ("ulimits single and soft hard", {"ulimits": {"nproc": 65535, "nofile": {"soft": 1024, "hard": 2048}}}, "ulimits", {"nproc": 65535, "nofile": {"soft": 1024, "hard": 2048}}),
    ("ulimits zero", {"ulimits": {"core": 0}}, "ulimits", {"core": {}}),
    (
        "devices short and long",
        {"devices": ["/dev/fuse", "/dev/sda:/dev/xvda:r", {"source": "/dev/kvm", "target": "/dev/kvm", "permissions": "rw"}]},
        "devices",
        [
            {"source": "/dev/fuse", "target": "/dev/fuse", "permissions": "rwm"},
            {"source": "/dev/sda", "target": "/dev/xvda", "permissions": "r"},
            {"source": "/dev/kvm", "target": "/dev/kvm", "permissions": "rw"},
        ],
    ),
    ("tmpfs string", {"tmpfs": "/run"}, "tmpfs", ["/run"]),
    ("tmpfs list", {"tmpfs": ["/run", "/tmp:size=64m"]}, "tmpfs", ["/run", "/tmp:size=64m"]),
    # --- secrets and configs
    ("secret short gets its default target", {"secrets": ["token"]}, "secrets", [{"source": "token", "target": "/run/secrets/token"}]),
    (
        "secret long without target",
        {"secrets": [{"source": "token", "mode": 0o440, "uid": "1000"}]},
        "secrets",
        [{"source": "token", "target": "/run/secrets/token", "mode": "0440", "uid": "1000"}],
    ),
    ("secret relative target kept", {"secrets": [{"source": "token", "target": "tok"}]}, "secrets", [{"source": "token", "target": "tok"}]),
    ("config short", {"configs": ["conf"]}, "configs", [{"source": "conf"}]),
    ("config long", {"configs": [{"source": "conf", "target": "/etc/app.conf"}]}, "configs", [{"source": "conf", "target": "/etc/app.conf"}]),
    # --- lists and small things
    ("expose numbers become strings", {"expose": [80, "443", "8000-8001"]}, "expose", ["80", "443", "8000-8001"]),
    ("networks list", {"networks": ["front", "back"]}, "networks", {"front": None, "back": None}),
    ("no networks means default", {}, "networks", {"default": None}),
    ("network_mode means no networks", {"network_mode": "host"}, "networks", ABSENT),
    ("dns string", {"dns": "8.8.8.8"}, "dns", ["8.8.8.8"]),
    ("pull_policy alias", {"pull_policy": "if_not_present"}, "pull_policy", "missing"),
    ("false booleans are left out", {"privileged": False, "tty": False}, "privileged", ABSENT),
    ("zero numbers are left out", {"cpu_shares": 0}, "cpu_shares", ABSENT),
    ("scale zero is kept", {"scale": 0}, "scale", 0),
    ("cpus from a string", {"cpus": "0.5"}, "cpus", 0.5),
    ("sysctls list", {"sysctls": ["net.core.somaxconn=1024"]}, "sysctls", {"net.core.somaxconn": "1024"}),
    ("logging options", {"logging": {"driver": "json-file", "options": {"max-file": 3}}}, "logging", {"driver": "json-file", "options": {"max-file": "3"}}),
]


@pytest.mark.parametrize("body, field, expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_canonical_form(ws, body, field, expected) -> None:
    ws.write("compose.yaml", document(body))
    service = thaw(ws.load().services["web"].config)
    assert service.get(field, ABSENT) == expand(expected, str(ws.root))


# ------------------------------------------------------------------ env_file


def test_env_file_forms_are_folded_into_environment(ws) -> None:
    ws.write("a.env", "A=from-a\nSHARED=a\n")
    ws.write("b.env", "B=from-b\nSHARED=b\n")
    ws.write("compose.yaml", document({"env_file": ["a.env", {"path": "b.env", "required": True}], "environment": {"OWN": "1"}}))
    service = thaw(ws.load().services["web"].config)
    assert service["environment"] == {"A": "from-a", "SHARED": "b", "B": "from-b", "OWN": "1"}
    assert "env_file" not in service


def test_env_file_string_form(ws) -> None:
    ws.write("app.env", "X=1\n")
    ws.write("compose.yaml", document({"env_file": "app.env"}))
    assert thaw(ws.load().services["web"].config)["environment"] == {"X": "1"}


def test_optional_env_file_may_be_missing(ws) -> None:
    ws.write("compose.yaml", document({"env_file": [{"path": "missing.env", "required": False}], "environment": {"K": "v"}}))
    assert thaw(ws.load().services["web"].config)["environment"] == {"K": "v"}


def test_required_env_file_missing_is_an_error_at_its_entry(ws) -> None:
    ws.write("compose.yaml", "services:\n  web:\n    image: nginx\n    env_file:\n      - missing.env\n")
    err = ws.error()
    assert err.path == "services.web.env_file[0]"
    assert err.line == 5
    assert f"env file {ws.root / 'missing.env'} not found" in err.message


def test_environment_wins_over_env_file_and_bare_keys_come_from_the_project_environment(ws) -> None:
    ws.write("app.env", "A=file\nB=file\n")
    ws.write("compose.yaml", document({"env_file": "app.env", "environment": ["A=compose", "B", "C"]}))
    project = ws.load(environ={"B": "process", "C": "process-c"})
    assert thaw(project.services["web"].config)["environment"] == {"A": "compose", "B": "process", "C": "process-c"}


def test_bare_environment_key_takes_the_project_environment_or_stays_null(ws) -> None:
    ws.write(".env", "FROM_DOTENV=d\n")
    ws.write("compose.yaml", document({"environment": ["FROM_DOTENV", "FROM_PROCESS", "NOWHERE"]}))
    env = thaw(ws.load(environ={"FROM_PROCESS": "p"}).services["web"].config)["environment"]
    assert env == {"FROM_DOTENV": "d", "FROM_PROCESS": "p", "NOWHERE": None}


# ------------------------------------------------------------------ top-level resources


def test_top_level_resources_get_their_engine_names(ws) -> None:
    ws.write(
        "compose.yaml",
        """
        services:
          web:
            image: nginx
            networks: [front, outside]
            volumes: [data:/data, ext:/ext, legacy:/legacy]
            secrets: [token]
        networks:
          front: {}
          outside: {external: true}
        volumes:
          data: {}
          ext: {external: true, name: shared-ext}
          legacy:
            external:
              name: old-style
        secrets:
          token: {file: ./token.txt}
        """,
    )
    project = ws.load()
    assert thaw(project.networks) == {"front": {"name": "proj_front"}, "outside": {"name": "outside", "external": True}}
    assert thaw(project.volumes) == {
        "data": {"name": "proj_data"},
        "ext": {"name": "shared-ext", "external": True},
        "legacy": {"name": "old-style", "external": True},
    }
    assert thaw(project.secrets) == {"token": {"name": "proj_token", "file": str(ws.root / "token.txt")}}


def test_unused_resources_are_left_out_of_the_model(ws) -> None:
    ws.write("compose.yaml", "services: {web: {image: nginx}}\nvolumes: {unused: {}}\nnetworks: {spare: {}}\n")
    project = ws.load()
    assert dict(project.volumes) == {}
    assert list(project.networks) == ["default"]


def test_model_is_deeply_frozen(ws) -> None:
    ws.write("compose.yaml", document({"environment": {"A": "1"}, "ports": ["80"]}))
    service = ws.load().services["web"]
    with pytest.raises(TypeError):
        service.config["environment"]["A"] = "2"  # type: ignore[index]
    assert isinstance(service.config["ports"], tuple)


def test_typed_accessors(ws) -> None:
    ws.write("compose.yaml", document({"depends_on": {"db": {"condition": "service_healthy"}}, "deploy": {"replicas": 3}}))
    web = ws.load().services["web"]
    assert web.image == "nginx"
    assert web.scale == 3
    (dep,) = web.depends_on
    assert (dep.service, dep.condition, dep.required, dep.restart) == ("db", "service_healthy", True, False)


@pytest.mark.parametrize(
    "ssh, printed",
    [
        (["default"], ["default"]),
        ({"default": None}, ["default"]),
        (["default", "deploy=./keys/id"], ["default", "deploy: {root}/keys/id"]),
    ],
    ids=["list", "mapping", "with-a-path"],
)
def test_build_ssh_is_printed_as_compose_prints_it(ws, ssh, printed) -> None:
    # The model holds {id: path or None}; `config` prints Compose's list of `id` / `id: path`.
    ws.write("compose.yaml", document({"build": {"context": ".", "ssh": ssh}}))
    project = ws.load()
    assert project.to_dict()["services"]["web"]["build"]["ssh"] == expand(printed, str(ws.root))
    assert isinstance(project.services["web"].config["build"]["ssh"], Mapping)
