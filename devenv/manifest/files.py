"""Reading Compose files into one merged document: parse, interpolate, `extends`, `include`,
`!reset`, merge, validate, canonical forms — per file, in order, as compose-go does."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Mapping
from typing import Any

from devenv.errors import ManifestError
from devenv.manifest import legacy, reading
from devenv.manifest.checks import check_document
from devenv.manifest.interpolate import Interpolator
from devenv.manifest.merge import enforce_unicity, merge
from devenv.manifest.normalize import resolve_environment, resolve_relative_paths
from devenv.manifest.parsecache import parse_cached
from devenv.manifest.resets import apply_resets, strip_markers
from devenv.manifest.transform import canonical, set_defaults
from devenv.manifest.treepath import Path, field_error

Warn = Callable[[str], None]


class Locator:
    """Remembers the line of every key of every file read, to put file:line on errors."""

    def __init__(self) -> None:
        self.docs: list[tuple[str, dict]] = []

    def add(self, file: str, lines: dict) -> None:
        self.docs.append((file, lines))

    def locate(self, at: Path) -> tuple[str | None, int | None]:
        for depth in range(len(at), 0, -1):
            for file, lines in reversed(self.docs):
                line = lines.get(tuple(at[:depth]))
                if line:
                    return file, line
        return (self.docs[-1][0], None) if self.docs else (None, None)

    def place(self, exc: ManifestError, file: str | None = None) -> ManifestError:
        """Fill in file and line of an error that only knows its field path."""
        if exc.file is None:
            if exc.at is not None:
                found_file, line = self.locate(exc.at)
                exc.file = found_file or file
                exc.line = exc.line or line
            else:
                exc.file = file
        return exc


def read_text(file: str) -> str:
    """A Compose file's text ("-": standard input), through the one bounded reader."""
    return reading.read_text(file)


class FileSet:
    """Loads files of one project (or of one `include`) into a merged document."""

    def __init__(
        self,
        working_dir: str,
        environ: Mapping[str, str],
        warn: Warn,
        locator: Locator,
        validate: Callable[[Any], None] | None,
        included: tuple[str, ...] = (),
    ) -> None:
        self.working_dir = working_dir
        self.environ = environ
        self.warn = warn
        self.locator = locator
        self.validate = validate
        self.included = included
        self.legacy = False
        self._parsed: dict[str, list[tuple[Any, dict]]] = {}

    # ------------------------------------------------------------ whole model

    def load_model(self, files: tuple[str, ...], finish: Callable[[dict], dict] | None = None) -> dict:
        """The files merged in order; `finish` (the --env laptop merge) sees the merged document
        before defaults, checks and relative paths."""
        model: dict = {}
        for file in files:
            model = self.load_file(file, model)
        if finish is not None:
            model = finish(model)
        model = set_defaults(model)
        check_document(model)
        resolve_relative_paths(model, self.working_dir, self.environ)
        resolve_environment(model, self.environ)
        return model

    def declared_name(self, files: tuple[str, ...]) -> str | None:
        """The last top-level `name:` the files declare (before interpolation), as Compose reads it."""
        name = None
        for file in files:
            for data, _ in self._documents(file):
                if isinstance(data.get("name"), str) and data["name"]:
                    name = data["name"]
        return name

    def _documents(self, file: str) -> list[tuple[Any, dict]]:
        """Parsed once; never mutated afterwards (interpolation builds new containers)."""
        if file not in self._parsed:
            self._parsed[file] = self._parse_documents(file)
        return self._parsed[file]

    def _documents_named(self, file: str, at: Path) -> list[tuple[Any, dict]]:
        """_documents of a file a field names: a file that cannot be read names that field."""
        try:
            return self._documents(file)
        except ManifestError as exc:
            if exc.file is not None or exc.at is not None:
                raise
            raise field_error(at, exc.message) from None

    def _parse_documents(self, file: str) -> list[tuple[Any, dict]]:
        out = []
        for data, lines in parse_cached(read_text(file), file):
            if data is None:
                continue
            if not isinstance(data, dict):
                raise ManifestError("the top level must be a mapping (services:, networks:, ...)", file, 1)
            if legacy.is_legacy(data):
                self.warn(legacy.LEGACY_HINT.format(file=file))
                data, lines = legacy.upgrade(data, lines)
                self.legacy = True
            out.append((data, lines))
        return out

    def load_file(self, file: str, model: dict) -> dict:
        for data, lines in self._documents(file):
            self.locator.add(file, lines)
            try:
                model = self._load_document(file, data, lines, model)
            except ManifestError as exc:
                raise self.locator.place(exc, file) from None
        return model

    def _load_document(self, file: str, data: dict, lines: dict, model: dict) -> dict:
        data = Interpolator(self.environ, file, lines, self.warn).value(data)
        data, marked = strip_markers(data)
        self._apply_extends(file, data, marked)
        apply_resets(model, marked)
        self._apply_include(file, data)
        model = merge(model, data)
        model = enforce_unicity(model)
        if self.validate is not None:
            self.validate(model)
        if "version" in model:
            self.warn(f"{file}: the attribute `version` is obsolete, it will be ignored")
            del model["version"]
        model = canonical(model)
        for service in (model.get("services") or {}).values():
            if isinstance(service, dict) and isinstance(service.get("dns"), list):
                service["dns"] = [d for d in service["dns"] if d not in (None, "")]
        return enforce_unicity(model)

    # ------------------------------------------------------------ extends

    def _apply_extends(self, file: str, data: dict, marked: list[Path]) -> None:
        services = data.get("services")
        if services is None:
            return
        if not isinstance(services, dict):
            raise field_error(("services",), "must be a mapping")
        for name in list(services):
            self._extend(file, name, services, marked, seen=())

    def _extend(self, file: str, name: str, services: dict, marked: list[Path], seen: tuple) -> Any:
        service = services.get(name)
        if not isinstance(service, dict) or "extends" not in service:
            return service
        extends = service["extends"]
        if isinstance(extends, str):
            ref, other = extends, None
        elif isinstance(extends, dict) and isinstance(extends.get("service"), str):
            ref, other = extends["service"], extends.get("file")
        else:
            raise field_error(("services", name, "extends"), "needs `service:` (and optionally `file:`)")
        key = (file, name)
        if key in seen:
            chain = " -> ".join(f"{s}" for _, s in seen + (key,))
            raise field_error(("services", name, "extends"), f"circular extends: {chain}")
        if other is not None:
            here = os.path.dirname(file) if file != "-" else self.working_dir
            base_file = other if os.path.isabs(str(other)) else os.path.join(here, str(other))
            base_services = self._extends_file(base_file, name, ref)
            base = self._extend(base_file, ref, base_services, [], seen + (key,))
        else:
            if ref not in services:
                raise field_error(
                    ("services", name, "extends", "service"), f"cannot extend service {name!r}: service {ref!r} not found"
                )
            base = self._extend(file, ref, services, marked, seen + (key,))
        if base is None:
            return service
        source = copy.deepcopy(base)
        apply_resets({"services": {name: source}}, [p for p in marked if len(p) > 2 and p[1] == name])
        merged = merge(source, service, ("services", "x"))
        merged.pop("extends", None)
        services[name] = merged
        return merged

    def _extends_file(self, base_file: str, name: str, ref: str) -> dict:
        docs = self._documents_named(base_file, ("services", name, "extends", "file"))
        model: dict = {}
        for data, lines in docs:
            self.locator.add(base_file, lines)
            data = Interpolator(self.environ, base_file, lines, self.warn).value(data)
            data, marked = strip_markers(data)
            apply_resets(model, marked)
            model = canonical(enforce_unicity(merge(model, data)))
        services = model.get("services")
        if not isinstance(services, dict) or ref not in services:
            raise field_error(
                ("services", name, "extends"), f"cannot extend service {name!r}: service {ref!r} not found in {base_file}"
            )
        resolve_relative_paths(model, os.path.dirname(base_file), self.environ)
        return services

    # ------------------------------------------------------------ include

    def _apply_include(self, file: str, data: dict) -> None:
        entries = data.pop("include", None)
        if entries is None:
            return
        if not isinstance(entries, list):
            raise field_error(("include",), "must be a list")
        for i, entry in enumerate(entries):
            self._include_one(file, data, entry if isinstance(entry, dict) else {"path": entry}, ("include", i))

    def _line_in(self, file: str, at: Path) -> int | None:
        for doc_file, lines in self.locator.docs:
            if doc_file == file and lines.get(tuple(at)):
                return lines[tuple(at)]
        return None

    def _include_one(self, file: str, data: dict, entry: dict, at: Path) -> None:
        from devenv.manifest.discover import read_env_file

        paths = _string_list(entry.get("path"), at + ("path",))
        if not paths:
            raise field_error(at, "needs a `path`")
        paths = [p if os.path.isabs(p) else os.path.normpath(os.path.join(self.working_dir, p)) for p in map(str, paths)]
        main = paths[0]
        if main in self.included or main == file:
            chain = " -> ".join(self.included + (file, main))
            raise field_error(at, f"include cycle detected: {chain}")
        project_dir = entry.get("project_directory")
        if project_dir is not None and not isinstance(project_dir, str):
            raise field_error(at + ("project_directory",), "must be a string")
        if not project_dir:
            project_dir = os.path.dirname(main)
        elif not os.path.isabs(project_dir):
            project_dir = os.path.normpath(os.path.join(self.working_dir, project_dir))
        env_files = _string_list(entry.get("env_file"), at + ("env_file",))
        if not env_files:
            default_env = os.path.join(project_dir, ".env")
            env_files = [default_env] if os.path.isfile(default_env) else []
        else:
            env_files = [f if os.path.isabs(f) else os.path.join(self.working_dir, f) for f in env_files]
        environ = dict(self.environ)
        from_files: dict[str, str] = {}
        for i, env_file in enumerate(env_files):
            try:
                from_files.update(read_env_file(env_file, lambda k: environ.get(k, from_files.get(k))))
            except ManifestError as exc:  # unreadable: name the field; syntax errors name the env file
                if exc.file is not None or "env_file" not in entry:
                    raise
                field = at + (("env_file",) if isinstance(entry["env_file"], str) else ("env_file", i))
                raise field_error(field, exc.message) from None
        for key, value in from_files.items():
            environ.setdefault(key, value)
        sub = FileSet(project_dir, environ, self.warn, self.locator, self.validate, self.included + (file,))
        for i, path in enumerate(paths):
            sub._documents_named(path, at + ("path",) if isinstance(entry.get("path"), str) else at + ("path", i))
        imported = sub.load_model(tuple(paths))
        for kind in ("services", "volumes", "networks", "secrets", "configs", "models"):
            incoming = imported.get(kind)
            if not incoming:
                continue
            target = data.setdefault(kind, {})
            if target is None:
                target = data[kind] = {}
            for name, value in incoming.items():
                if name in target and target[name] != value:
                    err = field_error((kind, name), f"{kind}.{name} conflicts with a resource imported from {main}")
                    # point at this file's own definition (or its include entry), not the imported one
                    err.file = file
                    err.line = self._line_in(file, (kind, name)) or self._line_in(file, at)
                    raise err
                target[name] = value


def _string_list(value: Any, at: Path) -> list[str]:
    """An `include` field that takes a string or a list of strings (checked before the schema runs)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise field_error(at, "must be a string or a list of strings")
