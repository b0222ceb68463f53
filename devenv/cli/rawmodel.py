"""The Compose files before interpolation, for `config --no-interpolate` and `config --variables`:
the files parsed and merged as written (`${VAR}` left in place), and the variables they use with
their defaults, as compose-go's ExtractVariables reports them."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterator

from devenv.manifest.options import ProjectOptions


@dataclasses.dataclass(frozen=True)
class Variable:
    name: str
    required: bool = False
    default: str = ""
    presence: str = ""  # the `${VAR:+alternate}` value

    def to_dict(self) -> dict[str, Any]:
        return {"Name": self.name, "DefaultValue": self.default, "PresenceValue": self.presence, "Required": self.required}


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _closing(text: str, start: int) -> int:
    """The index of the `}` closing the `${` that ends at `start` (nested braces counted), or -1."""
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def variables_in(text: str) -> Iterator[Variable]:
    """The variables a string refers to: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
    `${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`; `$$` is a literal dollar.
    Variables inside a default are reported too."""
    i = 0
    while i < len(text):
        if text[i] != "$":
            i += 1
            continue
        if text.startswith("$$", i):
            i += 2
            continue
        if text.startswith("${", i):
            end = _closing(text, i + 2)
            if end < 0:
                return
            body = text[i + 2 : end]
            match = _NAME.match(body)
            if match:
                name, rest = match.group(), body[match.end():]
                variable = Variable(name)
                for op in (":-", "-", ":?", "?", ":+", "+"):
                    if rest.startswith(op):
                        value = rest[len(op):]
                        if "-" in op:
                            variable = Variable(name, default=value)
                        elif "?" in op:
                            variable = Variable(name, required=True)
                        else:
                            variable = Variable(name, presence=value)
                        yield from variables_in(value)
                        break
                yield variable
            i = end + 1
            continue
        match = _NAME.match(text, i + 1)
        if match:
            yield Variable(match.group())
            i = match.end()
        else:
            i += 1


def extract_variables(model: Any) -> dict[str, Variable]:
    """Every variable the model uses (keys and values); a later mention with more to say wins."""
    out: dict[str, Variable] = {}

    def walk(value: Any) -> None:
        if isinstance(value, str):
            for variable in variables_in(value):
                known = out.get(variable.name)
                if known is None or (not known.default and not known.required and not known.presence):
                    out[variable.name] = variable
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(k)
                walk(v)
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v)

    walk(model)
    return out


def raw_model(options: ProjectOptions) -> dict[str, Any]:
    """The files merged as written (no interpolation, no `extends`/`include` resolution), with the
    project's name and its default network, as `docker compose config --no-interpolate` prints them."""
    from devenv.manifest.discover import discover
    from devenv.manifest.files import FileSet, Locator
    from devenv.manifest.loader import _project_name, _stderr_warn
    from devenv.manifest.merge import merge
    from devenv.manifest.resets import strip_markers

    found = discover(options, _stderr_warn)
    files = FileSet(found.project_dir, found.environ, _stderr_warn, Locator(), None)
    model: dict[str, Any] = {}
    for file in found.files:
        for data, _lines in files._documents(file):
            data, _marked = strip_markers(data)
            model = merge(model, data)
    model.pop("version", None)
    name = _project_name(options, found, files.declared_name(found.files), lambda text: text)
    model["name"] = name
    services = model.get("services") or {}
    uses_default = False
    for service in services.values():
        if isinstance(service, dict) and not service.get("network_mode") and not service.get("networks"):
            service["networks"] = {"default": None}
            uses_default = True
    if uses_default:
        networks = model.setdefault("networks", {}) or {}
        model["networks"] = networks
        default = networks.get("default") or {}
        default.setdefault("name", f"{name}_default")
        networks["default"] = default
    return model
