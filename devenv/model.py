"""The immutable, typed project model that the manifest layer yields.

Every service, network, volume, secret and config is held in Compose's canonical long form, the
very document `docker compose config --format json` prints, deep-frozen (mappings become read-only
`MappingProxyType`, lists become tuples). Typed accessors give the engine what it needs without
re-parsing; `Project.to_dict()` gives back plain JSON-able data.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

_MAPPINGS = (dict, MappingProxyType)  # concrete types: isinstance on typing.Mapping is ~7x slower


def freeze(value: Any) -> Any:
    if isinstance(value, _MAPPINGS) or (not isinstance(value, (str, int, float, list, tuple)) and isinstance(value, Mapping)):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    if isinstance(value, _MAPPINGS) or (not isinstance(value, (str, int, float, list, tuple)) and isinstance(value, Mapping)):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [thaw(v) for v in value]
    return value


@dataclasses.dataclass(frozen=True)
class DependsOn:
    service: str
    condition: str  # service_started | service_healthy | service_completed_successfully
    required: bool
    restart: bool


@dataclasses.dataclass(frozen=True)
class Service:
    name: str
    config: Mapping[str, Any]  # canonical long form, frozen

    def get(self, key: str, default: Any = None) -> Any:
        return self.config.get(key, default)

    @property
    def image(self) -> str | None:
        return self.config.get("image")

    @property
    def build(self) -> Mapping[str, Any] | None:
        return self.config.get("build")

    @property
    def depends_on(self) -> tuple[DependsOn, ...]:
        deps = self.config.get("depends_on") or {}
        return tuple(
            DependsOn(
                service=name,
                condition=d.get("condition", "service_started"),
                required=d.get("required", True),
                restart=d.get("restart", False),
            )
            for name, d in deps.items()
        )

    @property
    def profiles(self) -> tuple[str, ...]:
        return tuple(self.config.get("profiles") or ())

    @property
    def scale(self) -> int:
        if "scale" in self.config and self.config["scale"] is not None:
            return int(self.config["scale"])
        deploy = self.config.get("deploy") or {}
        if deploy.get("replicas") is not None:
            return int(deploy["replicas"])
        return 1

    def dependencies(self) -> tuple[str, ...]:
        """Every service this one must start after: depends_on, links, volumes_from, network_mode."""
        names: list[str] = [d.service for d in self.depends_on]
        for link in self.config.get("links") or ():
            names.append(link.split(":", 1)[0])
        for source in self.config.get("volumes_from") or ():
            if not source.startswith("container:"):
                names.append(source.split(":", 1)[0])
        for key in ("network_mode", "ipc", "pid"):
            mode = self.config.get(key) or ""
            if mode.startswith("service:"):
                names.append(mode.split(":", 1)[1])
        return tuple(dict.fromkeys(names))


@dataclasses.dataclass(frozen=True)
class Project:
    name: str
    working_dir: str
    services: Mapping[str, Service]
    networks: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    volumes: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    secrets: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    configs: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))
    extensions: Mapping[str, Any] = dataclasses.field(default_factory=lambda: MappingProxyType({}))  # top-level x-* keys
    disabled_services: Mapping[str, Service] = dataclasses.field(default_factory=lambda: MappingProxyType({}))  # excluded by profiles
    compose_files: tuple[str, ...] = ()
    environment: Mapping[str, str] = dataclasses.field(default_factory=lambda: MappingProxyType({}))  # what interpolation saw
    legacy: bool = False  # the version-1 layout (services at the top level)
    env_files: tuple[str, ...] = ()  # the .env / --env-file files interpolation read
    profiles: tuple[str, ...] = ()  # the active profiles
    env: str | None = None  # the environment selected (--env / DEVENV_ENV), None for the default
    # every file the model was read from: Compose files (included, extended), env_file, label_file
    read_files: tuple[str, ...] = dataclasses.field(default=(), compare=False)
    # field path -> (file, line) where it was written, for errors found after loading (the loader sets it)
    locate: Any = dataclasses.field(default=None, compare=False, repr=False)

    def field_error(self, path: tuple, message: str) -> Exception:
        """A ManifestError about the field at `path`, naming the file and line that wrote it."""
        from devenv.manifest.treepath import field_error

        error = field_error(path, message)
        if self.locate is not None:
            error.file, error.line = self.locate(path)
        error.file = error.file or (self.compose_files[0] if self.compose_files else None)
        return error

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], working_dir: str = ".", **kwargs: Any) -> Project:
        """Build a model from canonical data (for example `docker compose config --format json`)."""
        services = {
            name: Service(name=name, config=freeze(cfg)) for name, cfg in (data.get("services") or {}).items()
        }
        return cls(
            name=data.get("name", ""),
            working_dir=working_dir,
            services=MappingProxyType(services),
            networks=freeze(data.get("networks") or {}),
            volumes=freeze(data.get("volumes") or {}),
            secrets=freeze(data.get("secrets") or {}),
            configs=freeze(data.get("configs") or {}),
            extensions=freeze({k: v for k, v in data.items() if k.startswith("x-")}),
            **kwargs,
        )

    def to_dict(self, service_extensions: bool = True) -> dict[str, Any]:
        """Plain data in Compose's canonical form. Compose's JSON leaves out service-level `x-` keys
        (`service_extensions=False`); its YAML keeps them."""
        out: dict[str, Any] = {"name": self.name}
        out["services"] = {
            name: _printed_service(
                {k: thaw(s.config[k]) for k in sorted(s.config) if service_extensions or not k.startswith("x-")}
            )
            for name, s in sorted(self.services.items())
        }
        for key in ("networks", "volumes", "secrets", "configs"):
            value = getattr(self, key)
            if value:
                out[key] = {name: thaw(value[name]) for name in sorted(value)}
        out.update(thaw(self.extensions))
        return out

    @property
    def x_devenv(self) -> Mapping[str, Any]:
        return self.extensions.get("x-devenv") or MappingProxyType({})


def _printed_service(config: dict[str, Any]) -> dict[str, Any]:
    """The few fields whose printed form differs from the model's: `build.ssh` is held as a mapping
    {id: path or None}; Compose prints it as a list of `id` / `id: path` strings."""
    build = config.get("build")
    if isinstance(build, dict) and isinstance(build.get("ssh"), dict):
        build["ssh"] = [key if path is None else f"{key}: {path}" for key, path in build["ssh"].items()]
    return config
