"""`devenv export kubernetes` (pure): the model as Kubernetes objects, and what cannot be translated.

Each service becomes a Deployment (and a ClusterIP Service when it declares ports or `expose`;
a LoadBalancer Service `<name>-public` for the ports published beyond loopback), each named
volume a PersistentVolumeClaim, each config a ConfigMap, each secret a Secret, and each
service's environment a ConfigMap `<name>-env` (a Secret `<name>-env` for the keys that look
like credentials). Whatever has no faithful equivalent is a `Refusal` naming the service and the
field; nothing is dropped silently. Gaps Kubernetes closes differently (start order, loopback
ports) are `notes`. File contents come through `ExportOptions.read`, the environment through
`ExportOptions.environ`, so the translation touches nothing itself.
"""

from __future__ import annotations

import base64
import dataclasses
import ipaddress
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from devenv.errors import ManifestError, UsageError
from devenv.model import Project, Service, thaw
from devenv.plan.declared import is_secret_key
from devenv.plan.push import registry_host, split_tag
from devenv.plan.units import byte_size, duration_ns

SCHEMA_VERSION = "1.37"  # the Kubernetes API version the output is validated against (kubernetes-validate)
MAX_OBJECT_DATA = 1024 * 1024  # the API server refuses a ConfigMap or Secret holding more
DEFAULT_VOLUME_SIZE = "1Gi"
DEFAULT_ACCESS_MODE = "ReadWriteOnce"
ACCESS_MODES = ("ReadWriteOnce", "ReadOnlyMany", "ReadWriteMany", "ReadWriteOncePod")
# per-volume overrides, as Compose volume labels (so the file stays a valid Compose file)
SIZE_LABEL = "io.devenv.kubernetes.size"
ACCESS_MODE_LABEL = "io.devenv.kubernetes.access-mode"
NAME_LABEL = "app.kubernetes.io/name"
PART_OF_LABEL = "app.kubernetes.io/part-of"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"

_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_QUALIFIED = re.compile(r"^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_KEY = re.compile(r"^[-._a-zA-Z0-9]{1,253}$")

# Service keys the translation reads. Any other key with a value is refused by name.
_HANDLED = frozenset({
    "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "healthcheck",
    "user", "working_dir", "restart", "deploy", "scale", "volumes", "tmpfs", "configs", "secrets", "labels",
    "annotations", "cap_add", "cap_drop", "read_only", "sysctls", "extra_hosts", "stop_grace_period",
    "hostname", "stdin_open", "tty", "platform", "pull_policy", "mem_limit", "mem_reservation", "cpus",
    "group_add", "depends_on", "links", "networks", "network_mode", "profiles", "develop", "volumes_from",
})
_DEPLOY_HANDLED = frozenset({"replicas", "resources", "restart_policy", "labels", "mode", "endpoint_mode"})
_PULL_POLICIES = {"always": "Always", "never": "Never", "missing": "IfNotPresent", "if_not_present": "IfNotPresent"}


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Something in the manifest with no Kubernetes equivalent: `service` ('' for a top-level
    object), the field (with its value where that helps) and why."""

    service: str
    field: str
    why: str = ""
    whole_service: bool = False  # with --skip-unsupported the service is left out, not just the field

    def line(self) -> str:
        where = f"{self.service}: " if self.service else ""
        return f"{where}{self.field} cannot be exported to Kubernetes" + (f" ({self.why})" if self.why else "")


@dataclasses.dataclass(frozen=True)
class KubeObject:
    kind: str
    name: str
    body: Mapping[str, Any]  # the manifest, plain data in the order it is written

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.kind.lower()}.yaml"


@dataclasses.dataclass(frozen=True)
class ExportOptions:
    namespace: str | None = None
    registry: str | None = None  # where build-only services' images are (as `devenv push` names them)
    volume_size: str = DEFAULT_VOLUME_SIZE
    access_mode: str = DEFAULT_ACCESS_MODE
    publish_host: str = "127.0.0.1"  # the host address of published ports that name none
    environ: Mapping[str, str] = dataclasses.field(default_factory=dict)  # for `environment:` configs and secrets
    read: Callable[[str], bytes] | None = None  # reads a config's or secret's file
    # service -> the ports its Dockerfile EXPOSEs (`7000`, `53/udp`), for built services (dockerfile_ports)
    dockerfile_ports: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # service -> the paths its Dockerfile declares as VOLUME (dockerfile_volumes), for volumes_from
    # `--frozen`: service -> `repo@digest` from the lock (frozen_images); a service not in it is refused
    frozen: Mapping[str, str] | None = None
    dockerfile_volumes: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Export:
    objects: tuple[KubeObject, ...]
    refused: tuple[Refusal, ...]
    notes: tuple[str, ...]

    @property
    def secrets(self) -> tuple[KubeObject, ...]:
        return tuple(o for o in self.objects if o.kind == "Secret")


def dns_label(name: str, letter_first: bool = False) -> str:
    """`name` as an RFC 1123 label (lower case, `[a-z0-9-]`, at most 63 characters); with
    `letter_first`, an RFC 1035 label as a Service's name must be (`s-` before a leading digit)."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower())
    text = re.sub(r"-{2,}", "-", text).strip("-") or "x"
    if letter_first and not text[0].isalpha():
        text = "s-" + text
    return text[:63].rstrip("-")


def export(project: Project, services: Iterable[str] = (), options: ExportOptions | None = None) -> Export:
    """The objects for `services` (default: all) and their dependencies, and what was refused."""
    options = options or ExportOptions()
    _check_options(options)
    return _Translator(project, options).run(_selected(project, tuple(services)))


def _check_options(options: ExportOptions) -> None:
    if options.namespace is not None and (dns_label(options.namespace) != options.namespace):
        raise UsageError(f"invalid namespace {options.namespace!r}: use a DNS label ([a-z0-9-], at most 63 characters)")
    if not _QUANTITY.match(options.volume_size):
        raise UsageError(f"invalid volume size {options.volume_size!r}: use a Kubernetes quantity such as 1Gi or 500Mi")
    if options.access_mode not in ACCESS_MODES:
        raise UsageError(f"invalid access mode {options.access_mode!r} (one of {', '.join(ACCESS_MODES)})")


def _selected(project: Project, named: tuple[str, ...]) -> list[str]:
    unknown = [n for n in named if n not in project.services]
    if unknown:
        raise UsageError(f"no such service: {', '.join(unknown)} (services: {', '.join(sorted(project.services))})")
    if not named:
        return sorted(project.services)
    chosen: set[str] = set()
    todo = list(named)
    while todo:
        name = todo.pop()
        if name in chosen or name not in project.services:
            continue
        chosen.add(name)
        todo.extend(project.services[name].dependencies())
    return sorted(chosen)


def _present(value: Any) -> bool:
    return value is not None and value is not False and value != {} and value != () and value != []


def _escape(words: Iterable[str]) -> list[str]:
    """Kubernetes expands `$(VAR)` in command and args; `$$(` keeps the text as written."""
    return [str(w).replace("$(", "$$(") for w in words]


def _seconds(value: Any, minimum: int = 1) -> int:
    return max(minimum, math.ceil(duration_ns(value) / 10**9))


def _cpu(value: Any) -> str:
    return f"{round(float(value) * 1000)}m"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _Translator:
    def __init__(self, project: Project, options: ExportOptions):
        self.project = project
        self.options = options
        self.refused: list[Refusal] = []
        self.notes: list[str] = []
        self.objects: dict[tuple[str, str], KubeObject] = {}
        self.part_of = dns_label(project.name or "project")
        self.used_configs: dict[str, str] = {}  # compose name -> object name
        self.used_secrets: dict[str, str] = {}
        self.used_volumes: dict[str, str] = {}
        self.shared: dict[tuple[str, str], str] = {}  # (service, path) of an anonymous volume shared by volumes_from -> claim
        self.inherited: dict[str, list[tuple[str, str, bool]]] = {}  # service -> (path, claim, read-only) from volumes_from

    # -- bookkeeping -------------------------------------------------------------------------

    def refuse(self, service: str, field: str, why: str = "", whole: bool = False) -> None:
        self.refused.append(Refusal(service, field, why, whole))

    def add(self, kind: str, name: str, body: dict[str, Any], origin: str) -> None:
        key = (kind, name)
        if key in self.objects:
            raise UsageError(f"{origin}: its {kind} would be named {name}, as another one is (Kubernetes names are DNS labels); rename one")
        self.objects[key] = KubeObject(kind, name, body)

    def metadata(self, name: str, app: str | None = None, annotations: Mapping[str, str] | None = None) -> dict[str, Any]:
        meta: dict[str, Any] = {"name": name}
        if self.options.namespace:
            meta["namespace"] = self.options.namespace
        meta["labels"] = self.labels(app)
        if annotations:
            meta["annotations"] = dict(sorted(annotations.items()))
        return meta

    def labels(self, app: str | None) -> dict[str, str]:
        out = {}
        if app:
            out[NAME_LABEL] = app
        out[PART_OF_LABEL] = self.part_of
        out[MANAGED_BY_LABEL] = "devenv"
        return out

    # -- the whole project -------------------------------------------------------------------

    def run(self, names: list[str]) -> Export:
        self.check_networks(names)
        for name in names:
            self.volumes_from(self.project.services[name])
        for name in names:
            self.service(self.project.services[name])
        for key in sorted(self.used_volumes):
            self.volume(key)
        for claim in sorted(set(self.shared.values())):
            body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": self.metadata(claim),
                    "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": self.options.volume_size}}}}
            self.add("PersistentVolumeClaim", claim, body, "volumes_from")
        for key in sorted(self.used_configs):
            self.file_object("configs", key)
        for key in sorted(self.used_secrets):
            self.file_object("secrets", key)
        order = {"Namespace": 0, "ConfigMap": 1, "Secret": 2, "PersistentVolumeClaim": 3, "Service": 4, "Deployment": 5}
        objects = sorted(self.objects.values(), key=lambda o: (order.get(o.kind, 9), o.name))
        return Export(tuple(objects), tuple(self.refused), tuple(dict.fromkeys(self.notes)))

    def check_networks(self, names: list[str]) -> None:
        """One network is what Kubernetes' flat pod network gives; several isolate services from
        each other, which it cannot keep (a NetworkPolicy would, given a plugin that enforces it)."""
        used: set[str] = set()
        for name in names:
            used.update((self.project.services[name].get("networks") or {"default": None}).keys())
        for network in sorted(used):
            spec = (self.project.networks or {}).get(network) or {}
            if spec.get("internal"):
                self.refuse("", f"networks.{network}: internal: true", "every pod can reach the outside and every other pod")
        if len(used) > 1:
            for name in names:
                mine = sorted((self.project.services[name].get("networks") or {"default": None}).keys())
                self.refuse(name, f"networks: {', '.join(mine)}",
                            f"the project uses {len(used)} isolated networks; Kubernetes' pod network is flat")

    # -- one service -------------------------------------------------------------------------

    def service(self, service: Service) -> None:
        name = service.name
        app = dns_label(name, letter_first=True)
        if app != name:
            self.notes.append(f"{name}: named {app} in Kubernetes (names are DNS labels): other pods reach it as {app}")
        cfg = service.config
        for key in sorted(cfg):
            if key not in _HANDLED and not key.startswith("x-") and _present(cfg[key]):
                self.refuse(name, self.shown(key, cfg[key]))
        # a service left out whole (no image to run) is still checked, to list all its refusals at once
        before = len(self.refused)
        kept = (dict(self.objects), dict(self.used_volumes), dict(self.used_configs), dict(self.used_secrets))
        image = self.image(service)
        self.check_modes(service)
        container: dict[str, Any] = {"name": app, "image": image or ""}
        policy = cfg.get("pull_policy")
        if policy in _PULL_POLICIES:
            container["imagePullPolicy"] = _PULL_POLICIES[policy]
        elif policy not in (None, "build"):
            self.refuse(name, f"pull_policy: {policy}")
        if cfg.get("entrypoint"):
            container["command"] = _escape(cfg["entrypoint"])
        if cfg.get("command"):
            container["args"] = _escape(cfg["command"])
        if cfg.get("working_dir"):
            container["workingDir"] = cfg["working_dir"]
        env_from = self.environment(service, app)
        if env_from:
            container["envFrom"] = env_from
        ports = self.container_ports(service)
        if ports:
            container["ports"] = [{"containerPort": p, "protocol": proto, "name": f"{proto.lower()}-{p}"} for p, proto in ports]
        resources = self.resources(service)
        if resources:
            container["resources"] = resources
        container.update(self.probes(service))
        security = self.container_security(service)
        if security:
            container["securityContext"] = security
        if cfg.get("stdin_open"):
            container["stdin"] = True
        if cfg.get("tty"):
            container["tty"] = True
        mounts, volumes = self.mounts(service)
        if mounts:
            container["volumeMounts"] = mounts
        pod: dict[str, Any] = {}
        pod.update(self.pod_settings(service))
        pod["containers"] = [container]
        pod["restartPolicy"] = "Always"
        if volumes:
            pod["volumes"] = volumes
        claims = [m["mountPath"] for m in mounts if any(v["name"] == m["name"] and "persistentVolumeClaim" in v for v in volumes)]
        if claims:
            group = (security or {}).get("runAsGroup")
            if group is not None:  # the claim's files writable by the service's group, as Docker's volume copy would leave them
                pod.setdefault("securityContext", {})["fsGroup"] = group
            else:
                self.notes.append(f"{name}: {', '.join(claims)}: a new claim starts empty and owned by root (Docker fills a new "
                                  "volume from the image's folder, owner included); a non-root image may need fsGroup")
        annotations = self.annotations(service)
        if image is None or any(r.whole_service for r in self.refused[before:]):
            self.objects, self.used_volumes, self.used_configs, self.used_secrets = kept
            return
        selector = {NAME_LABEL: app, PART_OF_LABEL: self.part_of}
        spec: dict[str, Any] = {"replicas": service.scale, "selector": {"matchLabels": selector}}
        if any("persistentVolumeClaim" in v for v in volumes):
            spec["strategy"] = {"type": "Recreate"}  # a ReadWriteOnce claim cannot be held by two pods on two nodes
        template_meta: dict[str, Any] = {"labels": self.labels(app)}
        if annotations:
            template_meta["annotations"] = annotations
        spec["template"] = {"metadata": template_meta, "spec": pod}
        deploy_labels = {str(k): str(v) for k, v in ((cfg.get("deploy") or {}).get("labels") or {}).items()}
        self.check_annotations(name, "deploy.labels", deploy_labels)
        deploy_annotations = {k: v for k, v in deploy_labels.items() if _QUALIFIED.match(k)}
        body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": self.metadata(app, app, deploy_annotations), "spec": spec}
        self.add("Deployment", app, body, name)
        self.services(service, app, ports)

    def shown(self, key: str, value: Any) -> str:
        if isinstance(value, bool):
            return f"{key}: {str(value).lower()}"
        if isinstance(value, (str, int, float)):
            return f"{key}: {value}"
        return key

    def image(self, service: Service) -> str | None:
        image, registry = service.image, self.options.registry
        if self.options.frozen is not None:
            if service.name not in self.options.frozen:
                self.refuse(service.name, "an image the lock does not pin",
                            "--frozen: run devenv lock, or devenv push for a built image", whole=True)
            return self.options.frozen.get(service.name)
        if service.build is None:
            if not image:
                self.refuse(service.name, "a service without image", "", whole=True)
            return image
        # a built image: what `devenv push` pushed, `REGISTRY/<repository>:<tag>`
        source = image or f"{self.project.name}-{service.name}"
        if registry_host(source) is not None:
            return source
        if registry:
            repository, tag = split_tag(f"{registry.rstrip('/')}/{source}")
            return f"{repository}:{tag}"
        if image:
            self.notes.append(f"{service.name}: built image {image} names no registry: the cluster must be able to pull it")
            return image
        self.refuse(service.name, "build without image",
                    "a cluster cannot build; name an image or pass --registry (where `devenv push` puts it)", whole=True)
        return None

    def check_modes(self, service: Service) -> None:
        name, cfg = service.name, service.config
        mode = cfg.get("network_mode")
        if mode and mode not in ("bridge", "default"):
            self.refuse(name, f"network_mode: {mode}")
        for network, spec in sorted((cfg.get("networks") or {}).items()):
            for key in sorted(spec or {}):
                if key != "priority" and _present(spec[key]):
                    self.refuse(name, f"networks.{network}.{key}", "Kubernetes gives each pod one address and no per-network names")
        restart = cfg.get("restart")
        if restart not in (None, "always", "unless-stopped"):
            self.refuse(name, f"restart: {restart}", "a Deployment's pods always restart")
        deploy = cfg.get("deploy") or {}
        for key in sorted(deploy):
            if key not in _DEPLOY_HANDLED and _present(deploy[key]):
                self.refuse(name, f"deploy.{key}")
        if deploy.get("mode") not in (None, "replicated"):
            self.refuse(name, f"deploy.mode: {deploy['mode']}")
        if deploy.get("endpoint_mode") not in (None, "vip"):
            self.refuse(name, f"deploy.endpoint_mode: {deploy['endpoint_mode']}")
        policy = deploy.get("restart_policy") or {}
        for key in sorted(policy):
            if key == "condition" and policy[key] == "any":
                continue
            if _present(policy[key]):
                self.refuse(name, self.shown(f"deploy.restart_policy.{key}", policy[key]), "a Deployment's pods always restart")
        for dep in service.depends_on:
            if dep.condition == "service_completed_successfully":
                self.refuse(name, f"depends_on.{dep.service}: service_completed_successfully", "a Deployment runs for ever; use a Job")
        if cfg.get("develop"):
            self.notes.append(f"{name}: develop: watch rules serve local development only; not exported")
        if service.depends_on:
            self.notes.append(f"{name}: depends_on: Kubernetes starts every pod at once; readiness probes hold back traffic, "
                              "so the app must retry until its dependencies answer")
        for link in cfg.get("links") or ():
            target, _, alias = link.partition(":")
            if alias and alias != target:
                self.refuse(name, f"links: {link}", "an alias is another DNS name")

    def environment(self, service: Service, app: str) -> list[dict[str, Any]]:
        env = {str(k): str(v) for k, v in (service.get("environment") or {}).items() if v is not None}
        for key in sorted(env):
            if not _KEY.match(key):
                self.refuse(service.name, f"environment: {key}", "not a ConfigMap key ([-._a-zA-Z0-9])")
                del env[key]
        plain = {k: v for k, v in sorted(env.items()) if not is_secret_key(k)}
        secret = {k: v for k, v in sorted(env.items()) if is_secret_key(k)}
        out: list[dict[str, Any]] = []
        origin = f"{service.name}: environment"
        if plain:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.metadata(f"{app}-env", app), "data": plain}
            self.add("ConfigMap", f"{app}-env", body, origin)
            out.append({"configMapRef": {"name": f"{app}-env"}})
        if secret:
            data = {k: base64.b64encode(v.encode()).decode() for k, v in secret.items()}
            body = {"apiVersion": "v1", "kind": "Secret", "metadata": self.metadata(f"{app}-env", app), "type": "Opaque", "data": data}
            self.add("Secret", f"{app}-env", body, origin)
            out.append({"secretRef": {"name": f"{app}-env"}})
        return out

    def container_ports(self, service: Service) -> list[tuple[int, str]]:
        out: list[tuple[int, str]] = []
        for port in service.get("ports") or ():
            protocol = str(port.get("protocol") or "tcp").upper()
            if protocol not in ("TCP", "UDP", "SCTP"):
                self.refuse(service.name, f"ports: {port.get('target')}/{port.get('protocol')}")
                continue
            out.append((int(port["target"]), protocol))
        for item in service.get("expose") or ():
            text, _, proto = str(item).partition("/")
            protocol = (proto or "tcp").upper()
            low, _, high = text.partition("-")
            try:
                first, last = int(low), int(high or low)
            except ValueError:
                self.refuse(service.name, f"expose: {item}")
                continue
            if last - first > 100:
                self.refuse(service.name, f"expose: {item}", "a range of more than 100 ports")
                continue
            out.extend((p, protocol) for p in range(first, last + 1))
        declared = set(out)
        for item in self.options.dockerfile_ports.get(service.name, ()):
            text, _, proto = item.partition("/")
            if text.isdigit() and (int(text), (proto or "tcp").upper()) not in declared:
                out.append((int(text), (proto or "tcp").upper()))
                self.notes.append(f"{service.name}: port {item} comes from its Dockerfile's EXPOSE")
        if not out:
            self.notes.append(f"{service.name}: declares no port (ports, expose or its Dockerfile's EXPOSE): "
                              "no Service, so other pods cannot reach it by name")
        return sorted(set(out))

    def services(self, service: Service, app: str, ports: list[tuple[int, str]]) -> None:
        selector = {NAME_LABEL: app, PART_OF_LABEL: self.part_of}
        if ports:
            spec = {"type": "ClusterIP", "selector": selector,
                    "ports": [{"name": f"{proto.lower()}-{p}", "port": p, "targetPort": p, "protocol": proto} for p, proto in ports]}
            body = {"apiVersion": "v1", "kind": "Service", "metadata": self.metadata(app, app), "spec": spec}
            self.add("Service", app, body, service.name)
        public: list[tuple[int, int, str]] = []
        for port in service.get("ports") or ():
            published = port.get("published")
            host = port.get("host_ip") or self.options.publish_host
            if published in (None, ""):
                continue
            if not str(published).isdigit():
                self.refuse(service.name, f"ports: {published}:{port['target']}", "a published port range")
                continue
            if _is_loopback(host):
                self.notes.append(f"{service.name}: port {published} is published on {host} only: not exposed outside the cluster "
                                  f"(kubectl port-forward service/{app} {published}:{port['target']})")
                continue
            public.append((int(published), int(port["target"]), str(port.get("protocol") or "tcp").upper()))
        if public:
            spec = {"type": "LoadBalancer", "selector": selector,
                    "ports": [{"name": f"{proto.lower()}-{p}", "port": p, "targetPort": t, "protocol": proto}
                              for p, t, proto in sorted(set(public))]}
            name = f"{app}-public"[:63].rstrip("-")
            self.add("Service", name, {"apiVersion": "v1", "kind": "Service", "metadata": self.metadata(name, app), "spec": spec},
                     service.name)

    def resources(self, service: Service) -> dict[str, Any]:
        cfg = service.config
        resources = (cfg.get("deploy") or {}).get("resources") or {}
        out: dict[str, dict[str, str]] = {}
        for section, target in (("limits", "limits"), ("reservations", "requests")):
            values = resources.get(section) or {}
            for key in sorted(values):
                if key == "cpus" and values[key] is not None:
                    out.setdefault(target, {})["cpu"] = _cpu(values[key])
                elif key == "memory" and values[key] is not None:
                    out.setdefault(target, {})["memory"] = str(byte_size(values[key]))
                elif _present(values[key]):
                    self.refuse(service.name, f"deploy.resources.{section}.{key}")
        if cfg.get("cpus"):
            out.setdefault("limits", {})["cpu"] = _cpu(cfg["cpus"])
        if cfg.get("mem_limit"):
            out.setdefault("limits", {})["memory"] = str(byte_size(cfg["mem_limit"]))
        if cfg.get("mem_reservation"):
            out.setdefault("requests", {})["memory"] = str(byte_size(cfg["mem_reservation"]))
        return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}

    def probes(self, service: Service) -> dict[str, Any]:
        check = service.get("healthcheck") or {}
        test = list(check.get("test") or ())
        if check.get("disable") or not test or test[0] == "NONE":
            return {}
        if test[0] == "CMD":
            command = [str(t) for t in test[1:]]
        elif test[0] == "CMD-SHELL":
            command = ["/bin/sh", "-c", " ".join(str(t) for t in test[1:])]
        else:
            self.refuse(service.name, f"healthcheck.test: {test[0]}")
            return {}
        period = _seconds(check.get("interval") or "30s")
        failures = int(check["retries"]) if check.get("retries") is not None else 3
        probe: dict[str, Any] = {"exec": {"command": command}, "periodSeconds": period,
                                 "timeoutSeconds": _seconds(check.get("timeout") or "30s"), "failureThreshold": failures}
        out: dict[str, Any] = {"livenessProbe": probe, "readinessProbe": dict(probe)}
        if check.get("start_period"):
            start_every = _seconds(check.get("start_interval") or check.get("interval") or "5s")
            tries = math.ceil(_seconds(check["start_period"], 0) / start_every) + failures
            out["startupProbe"] = {**probe, "periodSeconds": start_every, "failureThreshold": tries}
        return out

    def container_security(self, service: Service) -> dict[str, Any]:
        cfg = service.config
        out: dict[str, Any] = {}
        add, drop = list(cfg.get("cap_add") or ()), list(cfg.get("cap_drop") or ())
        if add or drop:
            caps: dict[str, list[str]] = {}
            if add:
                caps["add"] = sorted(c.removeprefix("CAP_") for c in add)
            if drop:
                caps["drop"] = sorted(c.removeprefix("CAP_") for c in drop)
            out["capabilities"] = caps
        if cfg.get("read_only"):
            out["readOnlyRootFilesystem"] = True
        user = cfg.get("user")
        if user:
            uid, _, gid = str(user).partition(":")
            if uid.isdigit() and (not gid or gid.isdigit()):
                out["runAsUser"] = int(uid)
                if gid:
                    out["runAsGroup"] = int(gid)
            else:
                self.refuse(service.name, f"user: {user}", "Kubernetes takes numeric user and group IDs")
        return out

    def pod_settings(self, service: Service) -> dict[str, Any]:
        cfg, name = service.config, service.name
        out: dict[str, Any] = {}
        hostname = cfg.get("hostname")
        if hostname:
            if dns_label(hostname) == hostname:
                out["hostname"] = hostname
            else:
                self.refuse(name, f"hostname: {hostname}", "not a DNS label")
        platform = cfg.get("platform")
        if platform:
            parts = str(platform).split("/")
            if len(parts) == 2:
                out["nodeSelector"] = {"kubernetes.io/arch": parts[1], "kubernetes.io/os": parts[0]}
            else:
                self.refuse(name, f"platform: {platform}", "a node selector has no CPU variant")
        hosts: dict[str, list[str]] = {}
        for entry in cfg.get("extra_hosts") or ():
            host, _, ip = str(entry).partition("=")
            if host and ip:
                hosts.setdefault(ip, []).append(host)
            else:
                self.refuse(name, f"extra_hosts: {entry}")
        if hosts:
            out["hostAliases"] = [{"ip": ip, "hostnames": sorted(names)} for ip, names in sorted(hosts.items())]
        security: dict[str, Any] = {}
        sysctls = cfg.get("sysctls") or {}
        if sysctls:
            security["sysctls"] = [{"name": str(k), "value": str(v)} for k, v in sorted(sysctls.items())]
        groups = [str(g) for g in cfg.get("group_add") or ()]
        for group in groups:
            if not group.isdigit():
                self.refuse(name, f"group_add: {group}", "Kubernetes takes numeric group IDs")
        numeric = sorted({int(g) for g in groups if g.isdigit()})
        if numeric:
            security["supplementalGroups"] = numeric
        if security:
            out["securityContext"] = security
        if cfg.get("stop_grace_period") is not None:
            out["terminationGracePeriodSeconds"] = _seconds(cfg["stop_grace_period"], 0)
        return out

    def annotations(self, service: Service) -> dict[str, str]:
        out = {str(k): str(v) for k, v in (service.get("labels") or {}).items()}
        out.update({str(k): str(v) for k, v in (service.get("annotations") or {}).items()})
        self.check_annotations(service.name, "labels", out)
        return {k: out[k] for k in sorted(out) if _QUALIFIED.match(k)}

    def check_annotations(self, service: str, field: str, values: Mapping[str, str]) -> None:
        for key in sorted(values):
            if not _QUALIFIED.match(key):
                self.refuse(service, f"{field}: {key}", "not a Kubernetes annotation key")

    # -- storage -----------------------------------------------------------------------------

    def volumes_from(self, service: Service) -> None:
        """`volumes_from: [X]` mounts X's volumes at the same paths: X's named volumes are its
        claims; its anonymous ones (in the Compose file or its Dockerfile's VOLUME) become a
        ReadWriteMany claim `X-<path>` both mount, as two pods may run on two nodes."""
        entries = list(service.get("volumes_from") or ())
        if not entries:
            return
        found: list[tuple[str, str, bool]] = []
        for entry in entries:
            source, _, mode = str(entry).partition(":")
            if source == "container":
                self.refuse(service.name, f"volumes_from: {entry}", "a container outside the project")
                continue
            if source not in self.project.services:
                self.refuse(service.name, f"volumes_from: {entry}", "no such service")
                continue
            for path, claim, read_only in self.shareable(service.name, source, set()):
                found.append((path, claim, read_only or mode == "ro"))
        self.inherited[service.name] = found
        if found:
            self.notes.append(f"{service.name}: volumes_from: shares {', '.join(sorted({c for _, c, _ in found}))} "
                              "(a ReadWriteMany claim needs a storage class that offers it)")

    def shareable(self, who: str, source: str, seen: set[str]) -> list[tuple[str, str, bool]]:
        if source in seen:
            return []
        seen.add(source)
        other = self.project.services[source]
        out: list[tuple[str, str, bool]] = []
        targets = set()
        for volume in other.get("volumes") or ():
            kind, target = volume.get("type"), str(volume.get("target"))
            targets.add(target)
            if kind == "volume" and volume.get("source"):
                spec = (self.project.volumes or {}).get(volume["source"]) or {}
                claim = str(spec.get("name") or volume["source"]) if spec.get("external") else dns_label(volume["source"])
                out.append((target, claim, bool(volume.get("read_only"))))
            elif kind == "volume":
                out.append((target, self.shared_claim(source, target), bool(volume.get("read_only"))))
            else:
                self.refuse(who, f"volumes_from: {source}: its {kind} {target}", "only volumes can be shared")
        for path in self.options.dockerfile_volumes.get(source, ()):
            if path not in targets:
                out.append((path, self.shared_claim(source, path), False))
        for entry in other.get("volumes_from") or ():
            inner, _, _ = str(entry).partition(":")
            if inner in self.project.services:
                out.extend(self.shareable(who, inner, seen))
        return out

    def shared_claim(self, service: str, path: str) -> str:
        claim = dns_label(f"{service}-{path}")
        self.shared[(service, path)] = claim
        return claim

    def mounts(self, service: Service) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        name = service.name
        mounts: list[dict[str, Any]] = []
        volumes: dict[str, dict[str, Any]] = {}
        empty = 0
        for volume in service.get("volumes") or ():
            kind, target = volume.get("type"), volume.get("target")
            mount: dict[str, Any] = {"mountPath": target}
            if volume.get("read_only"):
                mount["readOnly"] = True
            if kind == "volume" and volume.get("source"):
                source = volume["source"]
                options = volume.get("volume") or {}
                if options.get("nocopy"):
                    self.refuse(name, f"volumes: {source}:{target}: nocopy")
                    continue
                claim = self.claim(source, name)
                if claim is None:
                    continue
                vol_name = dns_label(f"data-{claim}")
                volumes[vol_name] = {"name": vol_name, "persistentVolumeClaim": {"claimName": claim}}
                if options.get("subpath"):
                    mount["subPath"] = options["subpath"]
            elif kind == "volume" and (name, target) in self.shared:
                claim = self.shared[(name, target)]
                vol_name = dns_label(f"data-{claim}")
                volumes[vol_name] = {"name": vol_name, "persistentVolumeClaim": {"claimName": claim}}
            elif kind == "volume":
                empty += 1
                vol_name = f"anonymous-{empty}"
                volumes[vol_name] = {"name": vol_name, "emptyDir": {}}
            elif kind == "tmpfs":
                tmpfs = volume.get("tmpfs") or {}
                if tmpfs.get("mode") is not None:
                    self.refuse(name, f"volumes: {target}: tmpfs mode")
                    continue
                empty += 1
                vol_name = f"tmpfs-{empty}"
                source_spec: dict[str, Any] = {"medium": "Memory"}
                if tmpfs.get("size"):
                    source_spec["sizeLimit"] = str(byte_size(tmpfs["size"]))
                volumes[vol_name] = {"name": vol_name, "emptyDir": source_spec}
            elif kind == "bind":
                self.refuse(name, f"volumes: {volume.get('source')}:{target}", "a bind mount of this machine's files")
                continue
            else:
                self.refuse(name, f"volumes: {kind} {target}")
                continue
            mounts.append({"name": vol_name, **mount})
        own = {str(v.get("target")) for v in service.get("volumes") or ()}
        for (owner, path), claim in sorted(self.shared.items()):
            if owner == name and path not in own:  # a Dockerfile VOLUME that volumes_from shares
                vol_name = dns_label(f"data-{claim}")
                volumes[vol_name] = {"name": vol_name, "persistentVolumeClaim": {"claimName": claim}}
                mounts.append({"name": vol_name, "mountPath": path})
        for path, claim, read_only in self.inherited.get(name, ()):
            if path in own:
                self.refuse(name, f"volumes_from: {path}", "the service mounts something else there")
                continue
            vol_name = dns_label(f"data-{claim}")
            volumes[vol_name] = {"name": vol_name, "persistentVolumeClaim": {"claimName": claim}}
            mounts.append({"name": vol_name, "mountPath": path, **({"readOnly": True} if read_only else {})})
        for entry in service.get("tmpfs") or ():
            path, _, opts = str(entry).partition(":")
            if opts:
                self.refuse(name, f"tmpfs: {entry}", "tmpfs options")
                continue
            empty += 1
            vol_name = f"tmpfs-{empty}"
            volumes[vol_name] = {"name": vol_name, "emptyDir": {"medium": "Memory"}}
            mounts.append({"name": vol_name, "mountPath": path})
        for kind in ("configs", "secrets"):
            for ref in service.get(kind) or ():
                source = ref["source"]
                if source not in (getattr(self.project, kind) or {}):
                    self.refuse(name, f"{kind}: {source}", "not declared at the top level")
                    continue
                for key in ("uid", "gid"):
                    if ref.get(key) not in (None, ""):
                        self.refuse(name, f"{kind}.{source}.{key}", "Kubernetes sets no owner on a mounted file (see fsGroup)")
                target = ref.get("target") or (f"/{source}" if kind == "configs" else f"/run/secrets/{source}")
                if not target.startswith("/"):
                    target = (f"/{target}" if kind == "configs" else f"/run/secrets/{target}")
                obj = self.file_ref(kind, source)
                vol_name = dns_label(f"{kind[:-1]}-{obj}")
                spec_key = "configMap" if kind == "configs" else "secret"
                spec: dict[str, Any] = {"name" if kind == "configs" else "secretName": obj}
                mode = ref.get("mode")
                if mode is not None:
                    spec["defaultMode"] = int(str(mode), 8) if isinstance(mode, str) else int(mode)
                volumes[vol_name] = {"name": vol_name, spec_key: spec}
                mounts.append({"name": vol_name, "mountPath": target, "subPath": _data_key(source), "readOnly": True})
        return mounts, [volumes[k] for k in sorted(volumes)]

    def claim(self, source: str, service: str) -> str | None:
        spec = (self.project.volumes or {}).get(source)
        if spec is None:
            self.refuse(service, f"volumes: {source}", "not declared at the top level")
            return None
        if spec.get("external"):
            claim = str(spec.get("name") or source)
            if dns_label(claim) != claim:
                self.refuse(service, f"volumes: {source}", f"external volume {claim} is no valid claim name")
                return None
            return claim
        claim = dns_label(source)
        self.used_volumes[source] = claim
        return claim

    def volume(self, source: str) -> None:
        spec = self.project.volumes[source]
        for key in ("driver", "driver_opts"):
            if _present(spec.get(key)) and spec.get(key) != "local":
                self.refuse("", f"volumes.{source}.{key}", "a claim gets the cluster's storage class")
        labels = spec.get("labels") or {}
        size = str(labels.get(SIZE_LABEL) or self.options.volume_size)
        mode = str(labels.get(ACCESS_MODE_LABEL) or self.options.access_mode)
        if not _QUANTITY.match(size):
            self.refuse("", f"volumes.{source}.labels.{SIZE_LABEL}: {size}", "use a quantity such as 1Gi")
            return
        if mode not in ACCESS_MODES:
            self.refuse("", f"volumes.{source}.labels.{ACCESS_MODE_LABEL}: {mode}", f"one of {', '.join(ACCESS_MODES)}")
            return
        name = self.used_volumes[source]
        body = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": self.metadata(name),
                "spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}}}
        self.add("PersistentVolumeClaim", name, body, f"volumes.{source}")

    def file_ref(self, kind: str, source: str) -> str:
        spec = getattr(self.project, kind)[source]
        if spec.get("external"):
            return dns_label(str(spec.get("name") or source))
        used = self.used_configs if kind == "configs" else self.used_secrets
        used[source] = dns_label(source)
        return used[source]

    def file_object(self, kind: str, source: str) -> None:
        spec = getattr(self.project, kind)[source]
        where = f"{kind}.{source}"
        if spec.get("file") is not None:
            if self.options.read is None:
                raise UsageError(f"{where}: no reader for {spec['file']}")
            try:
                content = self.options.read(str(spec["file"]))
            except (OSError, ManifestError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                raise UsageError(f"{where}: cannot read {spec['file']}: {reason}") from None
        elif spec.get("content") is not None:
            content = str(spec["content"]).encode()
        elif spec.get("environment") is not None:
            variable = str(spec["environment"])
            if variable not in self.options.environ:
                self.refuse("", f"{where}: environment {variable}", "the variable is not set")
                return
            content = self.options.environ[variable].encode()
        else:
            self.refuse("", where, "it names no file, content or environment")
            return
        for key in sorted(spec):
            if key not in ("file", "content", "environment", "name", "external") and _present(spec[key]):
                self.refuse("", f"{where}.{key}")
        if len(content) > MAX_OBJECT_DATA:
            self.refuse("", where, f"{len(content)} bytes: a {'Secret' if kind == 'secrets' else 'ConfigMap'} holds at most 1 MiB")
            return
        name, key = dns_label(source), _data_key(source)
        if kind == "secrets":
            body = {"apiVersion": "v1", "kind": "Secret", "metadata": self.metadata(name), "type": "Opaque",
                    "data": {key: base64.b64encode(content).decode()}}
            self.add("Secret", name, body, where)
            return
        try:
            data: dict[str, Any] = {"data": {key: content.decode("utf-8")}}
        except UnicodeDecodeError:
            data = {"binaryData": {key: base64.b64encode(content).decode()}}
        self.add("ConfigMap", name, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": self.metadata(name), **data}, where)


def frozen_images(project: Project, lock: Any) -> dict[str, str]:
    """What `up --frozen` runs, for the services the lock pins by digest: a pushed build as
    `pushed@digest`, an `image:` service as `repo@digest`. A built service that was never pushed
    has no reference a cluster could pull, so it is left out (and refused)."""
    from devenv.plan.frozen import pinned

    out: dict[str, str] = {}
    for name, service in project.services.items():
        entry = lock.services.get(name) if lock is not None else None
        if entry is None or not entry.digest:
            continue
        if entry.pushed:
            out[name] = pinned(entry.pushed, entry.digest)
        elif service.build is None and service.image:
            out[name] = pinned(service.image, entry.digest)
    return out


def dockerfile_ports(text: str, target: str | None = None) -> tuple[str, ...]:
    """The ports the built stage (`target`, else the last) EXPOSEs, with those of the earlier
    stages it builds on; what the base image exposes is not known here. Words with variables are
    left out."""
    from devenv.engine.dockerfile import instructions

    stages: list[tuple[str | None, str, list[str]]] = []  # (name, FROM's image or stage, exposed)
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = [w for w in ins.rest.split() if not w.startswith("--")]
            name = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
            stages.append((name, words[0].lower() if words else "", []))
        elif ins.keyword == "EXPOSE" and stages:
            stages[-1][2].extend(w.lower() for w in ins.rest.split() if re.fullmatch(r"\d+(/(tcp|udp|sctp))?", w.lower()))
    return tuple(sorted(set(_follow(stages, target))))


def dockerfile_volumes(text: str, target: str | None = None) -> tuple[str, ...]:
    """The paths the built stage (and the stages it builds on) declares with VOLUME (JSON or
    plain words); words with variables are left out."""
    import json

    from devenv.engine.dockerfile import instructions

    stages: list[tuple[str | None, str, list[str]]] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            words = [w for w in ins.rest.split() if not w.startswith("--")]
            name = words[2].lower() if len(words) == 3 and words[1].lower() == "as" else None
            stages.append((name, words[0].lower() if words else "", []))
        elif ins.keyword == "VOLUME" and stages:
            try:
                paths = json.loads(ins.rest) if ins.rest.startswith("[") else ins.rest.split()
            except ValueError:
                paths = []
            stages[-1][2].extend(str(p) for p in paths if "$" not in str(p) and str(p).startswith("/"))
    return tuple(sorted(set(_follow(stages, target))))


def _follow(stages: list[tuple[str | None, str, list[str]]], target: str | None) -> list[str]:
    """What the built stage collected, with what the earlier stages it builds on did."""
    by_name = {s[0]: s for s in stages if s[0]}
    current = by_name.get(target.lower()) if target else (stages[-1] if stages else None)
    found: list[str] = []
    seen: set[int] = set()
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found.extend(current[2])
        current = by_name.get(current[1])
    return found


def _data_key(source: str) -> str:
    """A config's or secret's key in its object (`[-._a-zA-Z0-9]`, as Compose names allow)."""
    return source if _KEY.match(source) else re.sub(r"[^-._a-zA-Z0-9]", "-", source)


def to_yaml(body: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(thaw(body), sort_keys=False, default_flow_style=False, allow_unicode=True, width=1000)


def document(objects: Iterable[KubeObject]) -> str:
    """One multi-document YAML stream, `---` between objects."""
    return "".join(f"---\n{to_yaml(o.body)}" for o in objects)


def validate(objects: Iterable[KubeObject], version: str = SCHEMA_VERSION) -> list[str]:
    """Each object checked against the Kubernetes API's JSON schema (strict: no unknown field), from
    the `kubernetes-validate` package, which bundles them per Kubernetes version; one line per
    problem, none when all pass. Raises UsageError when the package is missing."""
    try:
        import kubernetes_validate
    except ImportError:
        raise UsageError("validation needs the kubernetes-validate package (pip install 'devenv[kubernetes]')") from None
    problems = []
    for obj in objects:
        try:
            kubernetes_validate.validate(thaw(obj.body), version, strict=True)
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(p) for p in error.path)
            # jsonschema's message quotes the value: never a Secret's
            message = "does not match the schema" if obj.kind == "Secret" else error.message
            problems.append(f"{obj.filename}: {obj.kind} {obj.name}: {path or '(top)'}: {message}")
    return problems
