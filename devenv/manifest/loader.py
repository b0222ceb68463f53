"""Runs the loading passes in order: discover, parse, interpolate, merge (with extends, include and
!reset), validate, canonical forms, normalize, type, profiles, consistency — and yields a `Project`."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from typing import Any

from devenv.errors import ManifestError
from devenv.manifest.checks import check_project
from devenv.manifest.discover import Discovered, discover, read_env_file
from devenv.manifest.files import FileSet, Locator
from devenv.manifest.normalize import normalize
from devenv.manifest.options import ProjectOptions
from devenv.manifest.treepath import field_error
from devenv.manifest.typed import decode_resources, decode_service
from devenv.model import Project, Service, freeze

Warn = Callable[[str], None]
RESOURCE_KINDS = ("networks", "volumes", "secrets", "configs", "models")
_NAME_CHARS = re.compile(r"[a-z0-9_-]")


def _stderr_warn(message: str) -> None:
    print(f"devenv: warning: {message}", file=sys.stderr)


def normalize_project_name(name: str) -> str:
    return "".join(_NAME_CHARS.findall(name.lower())).lstrip("_-")


def _project_name(
    options: ProjectOptions,
    found: Discovered,
    declared: str | None,
    interpolate: Callable[[str], str],
    where_declared: Callable[[], tuple[str | None, int | None]] = lambda: (None, None),
) -> str:
    imperative = options.project_name or found.environ.get("COMPOSE_PROJECT_NAME")
    if imperative:
        if normalize_project_name(imperative) != imperative:
            raise ManifestError(
                f"invalid project name {imperative!r}: use only lowercase letters, digits, '-' and '_', "
                "starting with a letter or digit"
            )
        return imperative
    name = normalize_project_name(interpolate(declared)) if declared else ""
    if declared and not name:  # Compose refuses it rather than falling back to the directory
        file, line = where_declared()
        raise ManifestError(
            f"project name must not be empty: {declared!r} leaves no lowercase letter, digit, '-' or '_'",
            file, line, "name",
        )
    if not name:
        name = normalize_project_name(os.path.basename(os.path.abspath(found.project_dir)))
    if not name:
        raise ManifestError(f"cannot derive a project name from {found.project_dir!r}; use -p NAME")
    return name


def load_project(options: ProjectOptions, warn: Warn | None = None, *, validate: bool = True) -> Project:
    warn = warn or _stderr_warn
    found = discover(options, warn)
    environ = dict(found.environ)
    locator = Locator()
    files = FileSet(found.project_dir, environ, warn, locator, _schema_validator() if validate else None)

    def interpolate_name(text: str) -> str:
        from devenv.manifest.interpolate import Interpolator

        file, line = where_declared()  # the file (and line) that declares the name
        return Interpolator(environ, file or found.files[0], {("name",): line} if line else {}, warn).value(text, ("name",))

    def where_declared() -> tuple[str | None, int | None]:
        where: tuple[str | None, int | None] = (found.files[0], None)
        for file in found.files:
            for data, lines in files._documents(file):
                if isinstance(data.get("name"), str) and data["name"]:
                    where = (file, lines.get(("name",)))
        return where

    name = _project_name(options, found, files.declared_name(found.files), interpolate_name, where_declared)
    environ["COMPOSE_PROJECT_NAME"] = name
    finish = _environment_pass(options, found, files) if options.env else None
    try:
        model = files.load_model(found.files, finish)
        if not model:
            raise ManifestError("empty Compose file", found.files[0])
        model.pop("name", None)
        normalize(model, name, environ)
        return _typed_project(model, name, found, environ, files.legacy, locator.locate, options.env)
    except ManifestError as exc:
        raise locator.place(exc, found.files[0]) from None


def _environment_pass(options: ProjectOptions, found: Discovered, files: FileSet) -> Callable[[dict], dict]:
    """What `--env NAME` does once the files (its overlay last) are merged: refuse an environment
    nobody declared, and merge its `laptop` fragment when it runs on the local engine."""
    from devenv.manifest import environments, xdevenv

    name = str(options.env)

    def finish(model: dict) -> dict:
        xdevenv.check(model)
        declared = environments.declared_names(model.get(xdevenv.KEY))
        if found.overlay is None and name not in declared:
            folder = os.path.dirname(found.files[0]) if found.files[0] != "-" else found.project_dir
            raise environments.unknown_environment(name, declared, environments.overlay_names(folder))
        fragment = environments.laptop_fragment(model, name)
        if fragment is None or options.local is False:
            return model
        settings = ((model.get(xdevenv.KEY) or {}).get(environments.SETTINGS_KEY) or {}).get(name) or {}
        if options.local is None and (settings.get("host") or settings.get("context")):
            return model
        at = environments.laptop_path(name)
        try:
            return environments.merge_laptop(model, fragment, files.validate)
        except ManifestError as exc:  # point at the laptop's own line: x-devenv.environments.NAME.laptop.<field>
            if exc.at is not None and exc.file is None:
                raise field_error(at + tuple(exc.at), exc.message) from None
            raise

    return finish


def _schema_validator() -> Callable[[Any], None]:
    from devenv.manifest.schema import SchemaViolation, validate

    def check(document: Any) -> None:
        try:
            validate(document)
        except SchemaViolation as exc:
            raise ManifestError(exc.message, path=_dotted(exc.path) or None, at=tuple(exc.path)) from None

    return check


def _dotted(path: tuple) -> str:
    from devenv.manifest.treepath import dotted

    return dotted(path)


def _typed_project(
    model: dict, name: str, found: Discovered, environ: dict[str, str], legacy: bool, locate: Callable | None = None,
    env: str | None = None,
) -> Project:
    raw_services = model.get("services") or {}
    services: dict[str, dict] = {}
    for sname, config in raw_services.items():
        if not isinstance(config, dict):
            raise field_error(("services", sname), "a service must be a mapping")
        services[sname] = decode_service(config, ("services", sname))
    resources = {kind: decode_resources(kind, model.get(kind) or {}) for kind in RESOURCE_KINDS}
    active = set(found.profiles)
    enabled = {n: s for n, s in services.items() if _enabled(s, active)}
    disabled = {n: s for n, s in services.items() if n not in enabled}
    check_project(enabled, disabled, resources)
    read = [f for f, _ in getattr(getattr(locate, "__self__", None), "docs", ())]
    for sname, service in enabled.items():
        read += _resolve_env_files(sname, service, environ)
    used = _used_resources(enabled.values())
    kept = {kind: {k: v for k, v in resources[kind].items() if k in used[kind]} for kind in RESOURCE_KINDS}
    extensions = {k: v for k, v in model.items() if isinstance(k, str) and k.startswith("x-")}
    return Project(
        name=name,
        working_dir=found.project_dir,
        services=freeze({n: Service(n, freeze(s)) for n, s in enabled.items()}),
        networks=freeze(kept["networks"]),
        volumes=freeze(kept["volumes"]),
        secrets=freeze(kept["secrets"]),
        configs=freeze(kept["configs"]),
        extensions=freeze(extensions),
        disabled_services=freeze({n: Service(n, freeze(s)) for n, s in disabled.items()}),
        compose_files=tuple(found.files),
        environment=freeze(environ),
        legacy=legacy,
        env_files=tuple(found.env_files),
        profiles=tuple(sorted(active)),
        locate=locate,
        env=env,
        read_files=tuple(dict.fromkeys(os.path.abspath(f) for f in read if f and os.path.isabs(f))),
    )


def _enabled(service: Mapping[str, Any], active: set[str]) -> bool:
    profiles = service.get("profiles") or ()
    return not profiles or "*" in active or any(p in active for p in profiles)


def _used_resources(services: Any) -> dict[str, set[str]]:
    used: dict[str, set[str]] = {kind: set() for kind in RESOURCE_KINDS}
    for s in services:
        used["networks"].update(s.get("networks") or {})
        for v in s.get("volumes") or ():
            if v.get("type") == "volume" and v.get("source"):
                used["volumes"].add(v["source"])
        used["secrets"].update(r.get("source") for r in s.get("secrets") or ())
        used["secrets"].update(r.get("source") for r in (s.get("build") or {}).get("secrets") or ())
        used["configs"].update(r.get("source") for r in s.get("configs") or ())
        used["models"].update(s.get("models") or {})
    return used


def _resolve_env_files(name: str, service: dict, environ: Mapping[str, str]) -> list[str]:
    """Fold `env_file` and `label_file` into environment and labels (the model keeps the result);
    the paths they name (read or optional and missing), for `watch` to replan on."""
    env_files = service.pop("env_file", None) or ()
    label_files = service.pop("label_file", None) or ()
    named = [e.get("path") for e in env_files] + list(label_files)
    if env_files:
        declared = service.get("environment") or {}
        values = {k: v for k, v in declared.items() if v is not None}
        for i, entry in enumerate(env_files):
            path, required, fmt = entry.get("path"), entry.get("required", True), entry.get("format")
            if not os.path.exists(path):
                if required in (True, "true"):
                    raise field_error(("services", name, "env_file", i), f"env file {path} not found")
                continue

            def lookup(key: str) -> str | None:
                if key in environ:
                    return environ[key]
                return declared.get(key)

            try:
                values.update(_read_mapping_file(path, fmt, lookup))
            except ManifestError as exc:  # unreadable (a directory...): name the field; syntax errors name the file
                if exc.file is not None:
                    raise
                raise field_error(("services", name, "env_file", i), exc.message) from None
        values.update(declared)
        service["environment"] = values
    if label_files:
        labels: dict[str, str] = {}
        for i, path in enumerate(label_files):
            try:
                labels.update(_read_mapping_file(path, None, lambda k: labels.get(k)))
            except ManifestError as exc:
                if exc.file is not None:
                    raise
                message = exc.message.replace("env file", "label file", 1)
                raise field_error(("services", name, "label_file", i), message) from None
        labels.update(service.get("labels") or {})
        service["labels"] = labels
    return [str(p) for p in named if p]


def _read_mapping_file(path: str, fmt: str | None, lookup: Callable[[str], str | None]) -> dict[str, str]:
    if fmt == "raw":
        from devenv.manifest.reading import read_text

        out = {}
        text = read_text(path, "env file", utf16=False).replace("\r\n", "\n").replace("\r", "\n")
        for line in text.split("\n"):
            if line and not line.lstrip().startswith("#") and "=" in line:
                key, _, value = line.partition("=")
                out[key] = value
        return out
    return read_env_file(path, lookup)
