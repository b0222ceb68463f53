"""`devenv export kubernetes`'s translation (devenv/plan/kubernetes.py): each translated field, each
refusal, and every object checked against the Kubernetes API's JSON schema (kubernetes-validate,
from the test extra: no cluster runs here)."""

from __future__ import annotations

import base64
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest

from devenv.errors import UsageError
from devenv.manifest import load_project
from devenv.manifest.options import ProjectOptions
from devenv.model import thaw
from devenv.plan import kubernetes as k8s

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def load(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Any:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent(text))
    return load_project(ProjectOptions(cwd=str(tmp_path), environ=dict(environ or {})), warn=lambda *_a, **_k: None)


def read(path: str) -> bytes:
    return Path(path).read_bytes()


def export(tmp_path: Path, text: str, *services: str, environ: dict[str, str] | None = None, **options: Any) -> k8s.Export:
    project = load(tmp_path, text, environ)
    options.setdefault("read", read)
    options.setdefault("environ", dict(environ or {}))
    return k8s.export(project, services, k8s.ExportOptions(**options))


def valid(result: k8s.Export) -> k8s.Export:
    """No refusal, every object valid against the API schema, every name a DNS label."""
    assert [r.line() for r in result.refused] == []
    assert k8s.validate(result.objects) == []
    for obj in result.objects:
        assert DNS_LABEL.match(obj.name), obj.name
        assert obj.body["metadata"]["name"] == obj.name
    return result


def find(result: k8s.Export, kind: str, name: str) -> dict[str, Any]:
    for obj in result.objects:
        if (obj.kind, obj.name) == (kind, name):
            return thaw(obj.body)
    raise AssertionError(f"no {kind} {name} in {[(o.kind, o.name) for o in result.objects]}")


def kinds(result: k8s.Export) -> list[tuple[str, str]]:
    return [(o.kind, o.name) for o in result.objects]


def container(result: k8s.Export, name: str) -> dict[str, Any]:
    return find(result, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]


def pod(result: k8s.Export, name: str) -> dict[str, Any]:
    return find(result, "Deployment", name)["spec"]["template"]["spec"]


def refusals(tmp_path: Path, text: str, **options: Any) -> list[str]:
    return [r.line() for r in export(tmp_path, text, **options).refused]


# -- translated fields ---------------------------------------------------------------------------


def test_image_command_entrypoint_workdir_and_dollar_escaping(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx:1.25
            entrypoint: ["/entry.sh", "$$(not a var)"]
            command: ["nginx", "-g", "daemon off;"]
            working_dir: /app
    """))
    c = container(result, "web")
    assert c["image"] == "nginx:1.25"
    assert c["command"] == ["/entry.sh", "$$(not a var)"]  # Kubernetes would expand $(...)
    assert c["args"] == ["nginx", "-g", "daemon off;"]
    assert c["workingDir"] == "/app"
    assert pod(result, "web")["restartPolicy"] == "Always"


@pytest.mark.parametrize("field, replicas", [("scale: 3", 3), ("deploy: {replicas: 4}", 4), ("", 1)])
def test_replicas(tmp_path: Path, field: str, replicas: int) -> None:
    result = valid(export(tmp_path, f"""
        services:
          web:
            image: nginx
            {field}
    """))
    assert find(result, "Deployment", "web")["spec"]["replicas"] == replicas


def test_labels_selector_and_namespace(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        name: shop
        services:
          web: {image: nginx, labels: {com.example.team: payments}, deploy: {labels: {com.example.tier: front}}}
    """, namespace="staging"))
    deployment = find(result, "Deployment", "web")
    labels = {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop", "app.kubernetes.io/managed-by": "devenv"}
    assert deployment["metadata"]["labels"] == labels
    assert deployment["metadata"]["namespace"] == "staging"
    assert deployment["metadata"]["annotations"] == {"com.example.tier": "front"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "web", "app.kubernetes.io/part-of": "shop"}
    assert deployment["spec"]["template"]["metadata"]["annotations"] == {"com.example.team": "payments"}


def test_environment_goes_to_a_configmap_and_credentials_to_a_secret(tmp_path: Path) -> None:
    (tmp_path / "web.env").write_text("FROM_FILE=1\n")
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx
            env_file: [web.env]
            environment: {LOG_LEVEL: debug, DB_PASSWORD: hunter2, UNSET: null}
    """))
    assert find(result, "ConfigMap", "web-env")["data"] == {"FROM_FILE": "1", "LOG_LEVEL": "debug"}
    secret = find(result, "Secret", "web-env")
    assert secret["data"] == {"DB_PASSWORD": base64.b64encode(b"hunter2").decode()}
    assert container(result, "web")["envFrom"] == [{"configMapRef": {"name": "web-env"}}, {"secretRef": {"name": "web-env"}}]


def test_ports_and_expose_make_a_clusterip_service(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx
            ports: ["8080:80", "53/udp"]
            expose: ["9000-9001"]
    """))
    ports = container(result, "web")["ports"]
    assert [(p["containerPort"], p["protocol"]) for p in ports] == [(53, "UDP"), (80, "TCP"), (9000, "TCP"), (9001, "TCP")]
    service = find(result, "Service", "web")
    assert service["spec"]["type"] == "ClusterIP"
    assert [(p["port"], p["targetPort"], p["protocol"]) for p in service["spec"]["ports"]] == [
        (53, 53, "UDP"), (80, 80, "TCP"), (9000, 9000, "TCP"), (9001, 9001, "TCP")]
    assert ("Service", "web-public") not in kinds(result)  # published on loopback only (devenv's default)
    assert any("kubectl port-forward service/web 8080:80" in n for n in result.notes)


def test_ports_published_beyond_loopback_make_a_loadbalancer(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          web: {image: nginx, ports: ["8080:80", "0.0.0.0:8443:443", "127.0.0.1:9000:9000"]}
    """, publish_host="0.0.0.0"))
    public = find(result, "Service", "web-public")
    assert public["spec"]["type"] == "LoadBalancer"
    assert [(p["port"], p["targetPort"]) for p in public["spec"]["ports"]] == [(8080, 80), (8443, 443)]


def test_service_without_ports_gets_its_dockerfile_expose(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          db: {image: registry.example.com/db:1}
          cache: {image: redis}
    """, dockerfile_ports={"db": ("7000", "53/udp")}))
    assert [(p["port"], p["protocol"]) for p in find(result, "Service", "db")["spec"]["ports"]] == [(53, "UDP"), (7000, "TCP")]
    assert ("Service", "cache") not in kinds(result)
    assert any(n.startswith("cache: declares no port") for n in result.notes)


def test_dockerfile_ports_and_volumes_of_the_built_stage() -> None:
    text = textwrap.dedent("""\
        FROM busybox AS base
        EXPOSE 7000
        VOLUME /data
        FROM base AS app
        EXPOSE 8080/udp $PORT
        VOLUME ["/var/lib/x", "$HOME"]
        FROM busybox AS other
        EXPOSE 1
        VOLUME /other
    """)
    assert k8s.dockerfile_ports(text, "app") == ("7000", "8080/udp")
    assert k8s.dockerfile_ports(text) == ("1",)
    assert k8s.dockerfile_volumes(text, "APP") == ("/data", "/var/lib/x")
    assert k8s.dockerfile_volumes(text) == ("/other",)


def test_resources(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx
            deploy:
              resources:
                limits: {cpus: "0.5", memory: 512M}
                reservations: {cpus: "0.25", memory: 128m}
          api: {image: nginx, cpus: 1.5, mem_limit: 1g, mem_reservation: 100m}
    """))
    assert container(result, "web")["resources"] == {
        "limits": {"cpu": "500m", "memory": str(512 * 2**20)}, "requests": {"cpu": "250m", "memory": str(128 * 2**20)}}
    assert container(result, "api")["resources"] == {
        "limits": {"cpu": "1500m", "memory": str(2**30)}, "requests": {"memory": str(100 * 2**20)}}


def test_healthcheck_becomes_liveness_readiness_and_startup_probes(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx
            healthcheck: {test: ["CMD", "curl", "-f", "localhost"], interval: 10s, timeout: 2500ms, retries: 5, start_period: 30s}
          shell:
            image: nginx
            healthcheck: {test: "wget -q localhost || exit 1"}
          off:
            image: nginx
            healthcheck: {disable: true}
    """))
    c = container(result, "web")
    probe = {"exec": {"command": ["curl", "-f", "localhost"]}, "periodSeconds": 10, "timeoutSeconds": 3, "failureThreshold": 5}
    assert c["livenessProbe"] == probe and c["readinessProbe"] == probe
    assert c["startupProbe"] == {**probe, "failureThreshold": 3 + 5}
    shell = container(result, "shell")
    assert shell["livenessProbe"]["exec"]["command"] == ["/bin/sh", "-c", "wget -q localhost || exit 1"]
    assert (shell["livenessProbe"]["periodSeconds"], shell["livenessProbe"]["failureThreshold"]) == (30, 3)  # Docker's defaults
    assert "startupProbe" not in shell
    assert not {"livenessProbe", "readinessProbe"} & set(container(result, "off"))


def test_user_security_and_pod_settings(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx
            user: "1000:2000"
            cap_add: [NET_ADMIN]
            cap_drop: [ALL]
            read_only: true
            stdin_open: true
            tty: true
            pull_policy: always
            hostname: web1
            platform: linux/arm64
            stop_grace_period: 1m30s
            group_add: ["1001"]
            sysctls: {net.core.somaxconn: 1024}
            extra_hosts: ["db.local:10.0.0.5", "cache.local=10.0.0.5"]
            restart: unless-stopped
    """))
    c = container(result, "web")
    assert c["securityContext"] == {"capabilities": {"add": ["NET_ADMIN"], "drop": ["ALL"]}, "readOnlyRootFilesystem": True,
                                    "runAsUser": 1000, "runAsGroup": 2000}
    assert (c["stdin"], c["tty"], c["imagePullPolicy"]) == (True, True, "Always")
    p = pod(result, "web")
    assert p["hostname"] == "web1"
    assert p["nodeSelector"] == {"kubernetes.io/arch": "arm64", "kubernetes.io/os": "linux"}
    assert p["terminationGracePeriodSeconds"] == 90
    assert p["securityContext"] == {"sysctls": [{"name": "net.core.somaxconn", "value": "1024"}], "supplementalGroups": [1001]}
    assert p["hostAliases"] == [{"ip": "10.0.0.5", "hostnames": ["cache.local", "db.local"]}]


def test_named_volumes_become_claims(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          db:
            image: postgres
            volumes: ["pgdata:/var/lib/postgresql/data", "logs:/logs:ro", "shared:/shared", {type: tmpfs, target: /tmp}, "/anon"]
        volumes:
          pgdata: {}
          logs: {labels: {io.devenv.kubernetes.size: 20Gi, io.devenv.kubernetes.access-mode: ReadWriteMany}}
          shared: {external: true, name: team-shared}
    """, volume_size="5Gi"))
    assert find(result, "PersistentVolumeClaim", "pgdata")["spec"] == {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}}}
    assert find(result, "PersistentVolumeClaim", "logs")["spec"] == {
        "accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "20Gi"}}}
    assert ("PersistentVolumeClaim", "team-shared") not in kinds(result)  # external: the cluster has it
    deployment = find(result, "Deployment", "db")
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["mountPath"]: m for m in container(result, "db")["volumeMounts"]}
    assert volumes[mounts["/var/lib/postgresql/data"]["name"]]["persistentVolumeClaim"] == {"claimName": "pgdata"}
    assert mounts["/logs"]["readOnly"] is True
    assert volumes[mounts["/shared"]["name"]]["persistentVolumeClaim"] == {"claimName": "team-shared"}
    assert volumes[mounts["/tmp"]["name"]]["emptyDir"] == {"medium": "Memory"}
    assert volumes[mounts["/anon"]["name"]]["emptyDir"] == {}
    assert any(n.startswith("db: /var/lib/postgresql/data, /logs, /shared: a new claim starts empty") for n in result.notes)
    owned = valid(export(tmp_path, """
        services:
          db: {image: postgres, user: "999:999", volumes: ["pgdata:/data"]}
        volumes: {pgdata: {}}
    """))
    assert pod(owned, "db")["securityContext"] == {"fsGroup": 999}


def test_volumes_from_shares_claims(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        services:
          carbon: {image: carbon, volumes: ["whisper:/whisper", "/cache"]}
          web: {image: web, volumes_from: ["carbon:ro"]}
        volumes:
          whisper: {}
    """, dockerfile_volumes={"carbon": ("/opt/graphite/storage",)}))
    shared = find(result, "PersistentVolumeClaim", "carbon-opt-graphite-storage")
    assert shared["spec"]["accessModes"] == ["ReadWriteMany"]
    assert ("PersistentVolumeClaim", "carbon-cache") in kinds(result)
    carbon = {m["mountPath"] for m in container(result, "carbon")["volumeMounts"]}
    web = {m["mountPath"]: m.get("readOnly") for m in container(result, "web")["volumeMounts"]}
    assert carbon == {"/whisper", "/cache", "/opt/graphite/storage"}
    assert web == {"/whisper": True, "/cache": True, "/opt/graphite/storage": True}


def test_configs_and_secrets(tmp_path: Path) -> None:
    (tmp_path / "app.conf").write_text("port = 80\n")
    (tmp_path / "blob.bin").write_bytes(b"\xff\x00\xfe")
    (tmp_path / "pw.txt").write_text("s3cret")
    result = valid(export(tmp_path, """
        services:
          web:
            image: nginx
            configs: [app_conf, {source: inline, target: /etc/inline.conf, mode: 0440}, {source: blob, target: blob.bin}, fromenv]
            secrets: [pw, {source: token, target: api-token}]
        configs:
          app_conf: {file: ./app.conf}
          inline: {content: "a = 1"}
          blob: {file: ./blob.bin}
          fromenv: {environment: GREETING}
        secrets:
          pw: {file: ./pw.txt}
          token: {environment: API_TOKEN}
    """, environ={"GREETING": "hello", "API_TOKEN": "tok"}))
    assert find(result, "ConfigMap", "app-conf")["data"] == {"app_conf": "port = 80\n"}
    assert find(result, "ConfigMap", "inline")["data"] == {"inline": "a = 1"}
    assert find(result, "ConfigMap", "blob")["binaryData"] == {"blob": base64.b64encode(b"\xff\x00\xfe").decode()}
    assert find(result, "ConfigMap", "fromenv")["data"] == {"fromenv": "hello"}
    assert find(result, "Secret", "pw")["data"] == {"pw": base64.b64encode(b"s3cret").decode()}
    assert find(result, "Secret", "token")["data"] == {"token": base64.b64encode(b"tok").decode()}
    mounts = {m["mountPath"]: m for m in container(result, "web")["volumeMounts"]}
    assert mounts["/app_conf"]["subPath"] == "app_conf"
    assert mounts["/etc/inline.conf"]["readOnly"] is True
    assert "/blob.bin" in mounts
    assert mounts["/run/secrets/pw"]["subPath"] == "pw"
    assert "/run/secrets/api-token" in mounts
    volumes = {v["name"]: v for v in pod(result, "web")["volumes"]}
    assert volumes[mounts["/etc/inline.conf"]["name"]]["configMap"] == {"name": "inline", "defaultMode": 0o440}
    assert volumes[mounts["/run/secrets/pw"]["name"]]["secret"] == {"secretName": "pw"}
    assert [o.name for o in result.secrets] == ["pw", "token"]


def test_names_are_sanitised_to_dns_labels(tmp_path: Path) -> None:
    result = valid(export(tmp_path, """
        name: my_shop
        services:
          Web_App.v2: {image: nginx, expose: ["80"]}
          9lives: {image: nginx, expose: ["80"]}
        volumes: {}
    """))
    assert ("Deployment", "web-app-v2") in kinds(result)
    assert ("Service", "s-9lives") in kinds(result)  # a Service's name must start with a letter
    assert find(result, "Deployment", "web-app-v2")["metadata"]["labels"]["app.kubernetes.io/part-of"] == "my-shop"
    assert any("Web_App.v2: named web-app-v2" in n for n in result.notes)
    assert k8s.dns_label("a" * 70 + "-b") == "a" * 63


def test_names_that_collide_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="named web-app"):
        export(tmp_path, """
            services:
              web_app: {image: nginx}
              web.app: {image: nginx}
        """)


def test_build_images_come_from_the_registry(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    text = """
        name: shop
        services:
          web: {build: .}
          api: {build: ., image: api:2}
          pinned: {build: ., image: "127.0.0.1:5000/team/pinned:1"}
    """
    result = valid(export(tmp_path, text, registry="registry.example.com/team/"))
    assert container(result, "web")["image"] == "registry.example.com/team/shop-web:latest"
    assert container(result, "api")["image"] == "registry.example.com/team/api:2"
    assert container(result, "pinned")["image"] == "127.0.0.1:5000/team/pinned:1"
    lines = refusals(tmp_path, text)
    assert lines == ["web: build without image cannot be exported to Kubernetes (a cluster cannot build; name an image or pass "
                     "--registry (where `devenv push` puts it))"]
    skipped = export(tmp_path, text)
    assert ("Deployment", "web") not in kinds(skipped) and ("Deployment", "api") in kinds(skipped)


def test_services_named_bring_their_dependencies(tmp_path: Path) -> None:
    text = """
        services:
          web: {image: nginx, depends_on: [api]}
          api: {image: nginx, links: [db]}
          db: {image: postgres}
          other: {image: nginx}
    """
    result = valid(export(tmp_path, text, "web"))
    assert [n for k, n in kinds(result) if k == "Deployment"] == ["api", "db", "web"]
    with pytest.raises(UsageError, match="no such service: nope"):
        export(tmp_path, text, "nope")


def test_output_is_stable(tmp_path: Path) -> None:
    text = """
        services:
          web: {image: nginx, environment: {B: "2", A: "1"}, ports: ["81:81", "80:80"], volumes: ["vb:/b", "va:/a"]}
        volumes: {va: {}, vb: {}}  # (one letter before `:` would be a Windows drive, as Compose reads it)
    """
    first = k8s.document(export(tmp_path, text).objects)
    assert first == k8s.document(export(tmp_path, text).objects)
    assert first.index("name: va\n") < first.index("name: vb\n")


@pytest.mark.parametrize("bad, message", [
    ({"namespace": "Bad_NS"}, "invalid namespace"),
    ({"volume_size": "lots"}, "invalid volume size"),
    ({"access_mode": "ReadWriteSometimes"}, "invalid access mode"),
])
def test_bad_options(tmp_path: Path, bad: dict[str, str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        export(tmp_path, "services: {web: {image: nginx}}", **bad)


# -- refusals: one line per item, naming the service and the field ------------------------------


@pytest.mark.parametrize("field, line", [
    ("network_mode: host", "web: network_mode: host cannot be exported to Kubernetes"),
    ("network_mode: none", "web: network_mode: none cannot be exported to Kubernetes"),
    ("network_mode: service:db", "web: network_mode: service:db cannot be exported to Kubernetes"),
    ("privileged: true", "web: privileged: true cannot be exported to Kubernetes"),
    ("devices: [/dev/fuse]", "web: devices cannot be exported to Kubernetes"),
    ("volumes: ['./src:/src']", "web: volumes: {dir}/src:/src cannot be exported to Kubernetes (a bind mount of this machine's files)"),
    ("volumes_from: ['container:other']", "web: volumes_from: container:other cannot be exported to Kubernetes"),
    ("links: ['db:database']", "web: links: db:database cannot be exported to Kubernetes (an alias is another DNS name)"),
    ("external_links: [redis]", "web: external_links cannot be exported to Kubernetes"),
    ("restart: 'no'", "web: restart: no cannot be exported to Kubernetes (a Deployment's pods always restart)"),
    ("restart: on-failure:3", "web: restart: on-failure:3 cannot be exported to Kubernetes"),
    ("deploy: {mode: global}", "web: deploy.mode: global cannot be exported to Kubernetes"),
    ("deploy: {placement: {constraints: [node.role==manager]}}", "web: deploy.placement cannot be exported to Kubernetes"),
    ("deploy: {update_config: {parallelism: 2}}", "web: deploy.update_config cannot be exported to Kubernetes"),
    ("deploy: {restart_policy: {condition: on-failure}}", "web: deploy.restart_policy.condition: on-failure cannot be exported"),
    ("deploy: {resources: {limits: {pids: 10}}}", "web: deploy.resources.limits.pids cannot be exported to Kubernetes"),
    ("depends_on: {db: {condition: service_completed_successfully}}",
     "web: depends_on.db: service_completed_successfully cannot be exported to Kubernetes (a Deployment runs for ever; use a Job)"),
    ("user: nobody", "web: user: nobody cannot be exported to Kubernetes (Kubernetes takes numeric user and group IDs)"),
    ("group_add: [mail]", "web: group_add: mail cannot be exported to Kubernetes"),
    ("init: true", "web: init: true cannot be exported to Kubernetes"),
    ("ulimits: {nofile: 1024}", "web: ulimits cannot be exported to Kubernetes"),
    ("security_opt: ['no-new-privileges:true']", "web: security_opt cannot be exported to Kubernetes"),
    ("dns: [8.8.8.8]", "web: dns cannot be exported to Kubernetes"),
    ("logging: {driver: syslog}", "web: logging cannot be exported to Kubernetes"),
    ("pid: host", "web: pid: host cannot be exported to Kubernetes"),
    ("ipc: host", "web: ipc: host cannot be exported to Kubernetes"),
    ("container_name: web1", "web: container_name: web1 cannot be exported to Kubernetes"),
    ("shm_size: 1g", "web: shm_size: 1073741824 cannot be exported to Kubernetes"),
    ("stop_signal: SIGINT", "web: stop_signal: SIGINT cannot be exported to Kubernetes"),
    ("platform: linux/arm/v7", "web: platform: linux/arm/v7 cannot be exported to Kubernetes"),
    ("hostname: Not_A_Label", "web: hostname: Not_A_Label cannot be exported to Kubernetes (not a DNS label)"),
    ("expose: ['1000-2000']", "web: expose: 1000-2000 cannot be exported to Kubernetes (a range of more than 100 ports)"),
    ("ports: ['8000-8001:80']", "web: ports: 8000-8001:80 cannot be exported to Kubernetes (a published port range)"),
    ("volumes: [{type: tmpfs, target: /t, tmpfs: {mode: 0700}}]", "web: volumes: /t: tmpfs mode cannot be exported to Kubernetes"),
    ("tmpfs: ['/run:size=1m']", "web: tmpfs: /run:size=1m cannot be exported to Kubernetes (tmpfs options)"),
    ("labels: {'bad key!': x}", "web: labels: bad key! cannot be exported to Kubernetes (not a Kubernetes annotation key)"),
    ("configs: [{source: c, uid: '1'}]", "web: configs.c.uid cannot be exported to Kubernetes"),
    ("networks: {default: {aliases: [www]}}", "web: networks.default.aliases cannot be exported to Kubernetes"),
])
def test_refused_by_name(tmp_path: Path, field: str, line: str) -> None:
    text = f"""
        services:
          web:
            image: nginx
            {field}
          db: {{image: postgres}}
          other: {{image: nginx}}
        configs:
          c: {{content: x}}
    """
    lines = refusals(tmp_path, text)
    expected = line.replace("{dir}", str(tmp_path))
    assert any(candidate.startswith(expected) for candidate in lines), lines
    # --skip-unsupported: the rest of the export still validates
    assert k8s.validate(export(tmp_path, text).objects) == []


def test_refused_at_the_top_level(tmp_path: Path) -> None:
    lines = refusals(tmp_path, """
        services:
          web: {image: nginx, volumes: ["data:/data"], secrets: [token], networks: [front, back]}
          api: {image: nginx, networks: [back]}
        volumes:
          data: {driver: rexray, driver_opts: {size: "5"}}
        secrets:
          token: {environment: NOT_SET}
        networks:
          front: {}
          back: {internal: true}
    """)
    assert "volumes.data.driver: rexray cannot be exported to Kubernetes (a claim gets the cluster's storage class)" not in lines
    assert any(line.startswith("volumes.data.driver cannot be exported") for line in lines), lines
    assert any(line.startswith("volumes.data.driver_opts cannot be exported") for line in lines), lines
    assert "secrets.token: environment NOT_SET cannot be exported to Kubernetes (the variable is not set)" in lines
    assert any(line.startswith("networks.back: internal: true cannot be exported") for line in lines), lines
    assert any(line.startswith("web: networks: back, front cannot be exported") for line in lines), lines
    assert any(line.startswith("api: networks: back cannot be exported") for line in lines), lines


def test_a_refusal_is_one_line_with_the_service(tmp_path: Path) -> None:
    refusal = k8s.Refusal("web", "network_mode: host")
    assert refusal.line() == "web: network_mode: host cannot be exported to Kubernetes"
    assert k8s.Refusal("", "volumes.x.driver", "why").line() == "volumes.x.driver cannot be exported to Kubernetes (why)"


def test_frozen_images_come_from_the_lock(tmp_path: Path) -> None:
    from devenv.lockfile import LockFile, ServiceLock

    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    digest = "sha256:" + "a" * 64
    text = """
        name: shop
        services:
          web: {build: .}
          db: {image: "postgres:16"}
          cache: {image: redis}
          local: {build: .}
    """
    lock = LockFile("shop", None, {
        "web": ServiceLock(image="shop-web", pushed="registry.example.com/team/shop-web:latest", digest=digest),
        "db": ServiceLock(image="postgres:16", digest=digest),
        "local": ServiceLock(image="shop-local", digest=None, id="sha256:" + "b" * 64),
    })
    pins = k8s.frozen_images(load(tmp_path, text), lock)
    assert pins == {"web": f"registry.example.com/team/shop-web@{digest}", "db": f"postgres@{digest}"}
    result = export(tmp_path, text, frozen=pins)
    assert container(result, "web")["image"] == f"registry.example.com/team/shop-web@{digest}"
    assert container(result, "db")["image"] == f"postgres@{digest}"
    assert sorted(r.line() for r in result.refused) == [
        f"{name}: an image the lock does not pin cannot be exported to Kubernetes "
        "(--frozen: run devenv lock, or devenv push for a built image)" for name in ("cache", "local")]
    assert k8s.validate(result.objects) == []


def test_environment_keys_and_object_sizes_kubernetes_cannot_hold(tmp_path: Path) -> None:
    (tmp_path / "big.bin").write_bytes(b"x" * (k8s.MAX_OBJECT_DATA + 1))
    lines = refusals(tmp_path, """
        services:
          web: {image: nginx, environment: {"A KEY": "1", OK: "2"}, configs: [big]}
        configs:
          big: {file: ./big.bin}
    """)
    assert lines == [
        "web: environment: A KEY cannot be exported to Kubernetes (not a ConfigMap key ([-._a-zA-Z0-9]))",
        f"configs.big cannot be exported to Kubernetes ({k8s.MAX_OBJECT_DATA + 1} bytes: a ConfigMap holds at most 1 MiB)",
    ]


def test_an_unreadable_file_is_one_line_naming_the_object(tmp_path: Path) -> None:
    (tmp_path / "pw.txt").write_text("x")
    text = """
        services:
          web: {image: nginx, secrets: [pw]}
        secrets:
          pw: {file: ./pw.txt}
    """
    project = load(tmp_path, text)
    (tmp_path / "pw.txt").unlink()
    with pytest.raises(UsageError, match=r"^secrets\.pw: cannot read .*pw\.txt"):
        k8s.export(project, (), k8s.ExportOptions(read=read))


def test_validation_catches_what_the_api_server_would_refuse() -> None:
    """The schema check is no formality: a wrong type or an unknown field is one line per object."""
    bad = k8s.KubeObject("Deployment", "web", {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": "two", "selector": {}, "template": {"spec": {"containers": [{"name": "web"}]}}}})
    unknown = k8s.KubeObject("Service", "web", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"}, "spec": {"prots": []}})
    assert k8s.validate([bad, unknown]) == [
        "web-deployment.yaml: Deployment web: spec.replicas: 'two' is not of type 'integer', 'null'",
        "web-service.yaml: Service web: spec: Additional properties are not allowed ('prots' was unexpected)",
    ]


def test_a_service_left_out_is_still_checked_and_leaves_no_object(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    result = export(tmp_path, """
        services:
          web: {build: ., privileged: true, environment: {A: "1"}, volumes: ["data:/data"]}
          db: {image: postgres}
        volumes: {data: {}}
    """)
    assert [r.line() for r in result.refused] == [
        "web: privileged: true cannot be exported to Kubernetes",
        "web: build without image cannot be exported to Kubernetes (a cluster cannot build; name an image or pass --registry "
        "(where `devenv push` puts it))",
    ]
    assert kinds(result) == [("Deployment", "db")]


def test_a_secret_that_fails_validation_is_named_without_its_value() -> None:
    secret = k8s.KubeObject("Secret", "pw", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw"},
                                             "data": {"pw": ["hunter2"]}})
    assert k8s.validate([secret]) == ["pw-secret.yaml: Secret pw: data.pw: does not match the schema"]
