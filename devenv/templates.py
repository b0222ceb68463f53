"""Project templates for `devenv init` (pure: no engine, no prompting).

A template is a folder under the templates root holding `template.yaml` (its description and the
values it asks for, each with a default) and the files to write. Every `{{ key }}` in those files
is replaced by the value of `key`; nothing else is touched (Compose's `${VAR}` stays as written).

The root: `templates/` at the top of a checkout (beside the `devenv` package), else
`<prefix>/share/devenv/templates` where pyproject's data-files install it (the environment's
prefix, or the user's base for `pip install --user`); `DEVENV_TEMPLATES` overrides them.
"""

from __future__ import annotations

import dataclasses
import os
import re
import secrets
import sys
from collections.abc import Mapping
from pathlib import Path

from devenv.errors import UsageError

TEMPLATE_FILE = "template.yaml"
ROOT_VARIABLE = "DEVENV_TEMPLATES"
TYPES = ("name", "port", "text", "secret")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_TEXT = re.compile(r"[A-Za-z0-9_.,:/@+=-][A-Za-z0-9_.,:/@+= -]*")


@dataclasses.dataclass(frozen=True)
class Value:
    """One value a template asks for."""

    key: str
    prompt: str
    type: str  # name (a Compose project name), port, text (one line, no quotes), secret (text, never shown)
    default: str  # for a secret: empty, and a random one is made at each init


@dataclasses.dataclass(frozen=True)
class Template:
    name: str
    description: str
    folder: Path
    values: tuple[Value, ...]
    private: tuple[str, ...] = ()  # files written with mode 0600 (they hold secrets)


@dataclasses.dataclass(frozen=True)
class RenderedFile:
    path: str  # relative, with '/'
    content: bytes
    mode: int  # 0o644, 0o755 (executable in the template) or 0o600 (private)


def root() -> Path:
    """The folder holding the templates."""
    given = os.environ.get(ROOT_VARIABLE)
    if given:
        return Path(given)
    import site

    checkout = Path(__file__).resolve().parent.parent / "templates"
    installed = [Path(base) / "share" / "devenv" / "templates" for base in (sys.prefix, site.getuserbase())]
    for candidate in (checkout, *installed):
        if candidate.is_dir():
            return candidate
    return installed[0]


def names(folder: Path | None = None) -> list[str]:
    """The templates' names (folders holding a template.yaml), sorted."""
    folder = root() if folder is None else folder
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / TEMPLATE_FILE).is_file())


def load(name: str, folder: Path | None = None) -> Template:
    """The template `name`; UsageError naming the known ones when there is none."""
    folder = root() if folder is None else folder
    known = names(folder)
    if name not in known:
        raise UsageError(f"no template {name!r} (templates: {', '.join(known) or 'none found in ' + str(folder)})")
    return parse(folder / name)


def parse(folder: Path) -> Template:
    """Read a template's template.yaml; a malformed one is one line naming the file and field."""
    import yaml

    file = folder / TEMPLATE_FILE
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UsageError(f"{file}: cannot read the template: {' '.join(str(exc).split())}") from None

    def bad(field: str, what: str) -> UsageError:
        return UsageError(f"{file}: {field}: {what}")

    if not isinstance(data, Mapping):
        raise bad("(top)", "must be a mapping with description and values")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise bad("description", "must be a one-line text")
    raw_values = data.get("values") or {}
    if not isinstance(raw_values, Mapping):
        raise bad("values", "must be a mapping of KEY to {prompt, default, type}")
    values = []
    for key, spec in raw_values.items():
        here = f"values.{key}"
        if not isinstance(key, str) or not PLACEHOLDER.fullmatch("{{" + key + "}}"):
            raise bad(here, "a key is letters, digits and '_'")
        if not isinstance(spec, Mapping):
            raise bad(here, "must be a mapping with prompt, default and type")
        kind = spec.get("type", "text")
        if kind not in TYPES:
            raise bad(f"{here}.type", f"must be one of {', '.join(TYPES)}")
        default = "" if spec.get("default") is None else str(spec["default"])
        value = Value(key, str(spec.get("prompt") or key), kind, default)
        if kind != "secret":
            problem = check(value, default)
            if problem:
                raise bad(f"{here}.default", problem)
        values.append(value)
    private = data.get("private") or []
    if not isinstance(private, list) or not all(isinstance(p, str) for p in private):
        raise bad("private", "must be a list of file paths")
    return Template(folder.name, " ".join(description.split()), folder, tuple(values), tuple(private))


def check(value: Value, given: str) -> str | None:
    """What is wrong with `given` for `value`, or None."""
    if value.type == "port":
        if not given.isdigit() or not 1 <= int(given) <= 65535:
            return f"{given!r} is not a port (1-65535)"
    elif value.type == "name":
        if not _NAME.fullmatch(given):
            return f"{given!r} is not a project name (lowercase letters, digits, '-' and '_', starting with a letter or digit)"
    elif not _TEXT.fullmatch(given):
        what = "the value" if value.type == "secret" else repr(given)
        return f"{what} must be one line of letters, digits, spaces and . , : / @ + = - _"
    return None


def parse_sets(items: tuple[str, ...] | list[str], template: Template) -> dict[str, str]:
    """`--set KEY=VALUE` items checked against the template: unknown keys and bad values are one line."""
    by_key = {v.key: v for v in template.values}
    out: dict[str, str] = {}
    for item in items:
        key, sep, given = item.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid --set {item!r}: use KEY=VALUE")
        if key not in by_key:
            raise UsageError(f"--set {key}: template {template.name} has no value {key!r} (values: {', '.join(by_key) or 'none'})")
        problem = check(by_key[key], given)
        if problem:
            raise UsageError(f"--set {key}: {problem}")
        out[key] = given
    return out


def default_of(value: Value) -> str:
    """A value's default; a secret's is random, made afresh each time."""
    return secrets.token_hex(16) if value.type == "secret" and not value.default else value.default


def render(template: Template, values: Mapping[str, str]) -> list[RenderedFile]:
    """The template's files with every `{{ key }}` replaced. A placeholder the template does not
    declare is the template's bug: one line naming the file and the key."""
    files = []
    for path in sorted(template.folder.rglob("*")):
        relative = path.relative_to(template.folder).as_posix()
        if not path.is_file() or relative == TEMPLATE_FILE or "__pycache__" in path.parts:
            continue
        data = path.read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # binary: copied as it is
            content = data
        else:
            def substitute(match: re.Match[str], relative: str = relative) -> str:
                key = match.group(1)
                if key not in values:
                    raise UsageError(f"{template.folder / relative}: {{{{ {key} }}}} is not a value of template {template.name}")
                return values[key]

            content = PLACEHOLDER.sub(substitute, text).encode("utf-8")
        if relative in template.private:
            mode = 0o600
        else:
            mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
        files.append(RenderedFile(relative, content, mode))
    return files


def existing(files: list[RenderedFile], target: Path) -> list[str]:
    """The files of `files` already present under `target` (relative paths)."""
    return [f.path for f in files if os.path.lexists(target / f.path)]


def write(files: list[RenderedFile], target: Path, force: bool = False) -> None:
    """Write the files under `target`. Without `force`, refuse (writing nothing) when any exists."""
    taken = existing(files, target)
    if taken and not force:
        shown = ", ".join(taken[:5]) + (f" and {len(taken) - 5} more" if len(taken) > 5 else "")
        raise UsageError(f"{target}: would overwrite {shown} (use --force to overwrite)")
    for name in taken:  # even --force replaces only regular files (never follows a symlink)
        if (target / name).is_symlink() or not (target / name).is_file():
            raise UsageError(f"{target / name}: exists and is not a regular file; nothing written")
    for f in files:
        path = target / f.path
        path.parent.mkdir(parents=True, exist_ok=True)
        # O_CREAT with the mode: a private file is never readable by others, not even for a moment.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, f.mode)
        with os.fdopen(fd, "wb") as out:
            out.write(f.content)
        os.chmod(path, f.mode & ~_umask() if f.mode != 0o600 else 0o600)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
