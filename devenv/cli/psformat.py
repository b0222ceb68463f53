"""`ps` output as Compose prints it: the fields of a container (Compose's `ps --format json` schema),
`--format` Go templates (`{{.Name}}\\t{{.State}}`, `table ...`), and docker's column layout. Pure
functions on the engine's container summaries (GET /containers/json)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from devenv.cli import dockerfmt
from devenv.cli.dockerfmt import human_duration
from devenv.errors import UsageError

DEFAULT_TABLE = "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}"

HEADERS = {
    "ID": "CONTAINER ID", "Name": "NAME", "Names": "NAMES", "Project": "PROJECT", "Service": "SERVICE", "Image": "IMAGE",
    "Command": "COMMAND", "CreatedAt": "CREATED AT", "RunningFor": "CREATED", "Ports": "PORTS", "State": "STATE",
    "Status": "STATUS", "Size": "SIZE", "Labels": "LABELS", "Mounts": "MOUNTS", "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS", "Health": "HEALTH", "ExitCode": "EXIT CODE", "Publishers": "PUBLISHERS",
}


def ellipsis(text: str, width: int) -> str:
    """docker's formatter.Ellipsis: at most `width` characters, the last one `…` when cut."""
    if len(text) <= width:
        return text
    return text[: width - 1] + "…" if width > 1 else text[:width]


def _join_host_port(host: str, port: str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def displayable_ports(publishers: Iterable[Mapping[str, Any]]) -> str:
    """docker's DisplayablePorts: `127.0.0.1:8080->80/tcp, 0.0.0.0:5000-5001->5000-5001/tcp, 9000/tcp`."""
    ports = sorted(
        ((int(p.get("TargetPort") or 0), str(p.get("URL") or ""), int(p.get("PublishedPort") or 0), str(p.get("Protocol") or "tcp"))
         for p in publishers),
    )
    groups: dict[str, list[int]] = {}
    order: list[str] = []
    result: list[str] = []
    mappings: list[str] = []

    def form(key: str, first: int, last: int) -> str:
        ip, _, kind = key.rpartition("/")
        group = str(first) if first == last else f"{first}-{last}"
        if ip:
            group = f"{_join_host_port(ip, group)}->{group}"
        return f"{group}/{kind}"

    for private, ip, public, kind in ports:
        key = kind
        if ip:
            if public != private:
                mappings.append(f"{_join_host_port(ip, str(public))}->{private}/{kind}")
                continue
            key = f"{ip}/{kind}"
        group = groups.get(key)
        if group is None:
            groups[key] = [private, private]
            order.append(key)
        elif private == group[1] + 1:
            group[1] = private
        else:
            result.append(form(key, *group))
            groups[key] = [private, private]
    result += [form(key, *groups[key]) for key in order]
    return ", ".join(result + mappings)


def _exit_code(summary: Mapping[str, Any]) -> int:
    status = summary.get("Status") or ""
    if summary.get("State") in ("exited", "dead") and status.startswith("Exited ("):
        number = status[len("Exited (") :].split(")", 1)[0]
        if number.lstrip("-").isdigit():
            return int(number)
    return 0


def _health(summary: Mapping[str, Any]) -> str:
    if summary.get("State") != "running":
        return ""
    status = summary.get("Status") or ""
    for word in ("unhealthy", "healthy"):
        if f"({word})" in status:
            return word
    return "starting" if "(health: starting)" in status else ""


def _created_at(created: int) -> str:
    """Go's time.Time.String() of the creation time, in the local zone: `2024-01-02 13:23:37 +0000 UTC`."""
    local = time.localtime(created)
    offset = local.tm_gmtoff or 0
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset) // 60, 60)
    return time.strftime("%Y-%m-%d %H:%M:%S", local) + f" {sign}{hours:02d}{minutes:02d} {local.tm_zone or 'UTC'}"


def container_fields(summary: Mapping[str, Any], trunc: bool = True, now: float | None = None) -> dict[str, Any]:
    """One container as Compose's `ps --format json` object (keys sorted, as Go marshals them)."""
    labels = summary.get("Labels") or {}
    names = [n.lstrip("/") for n in summary.get("Names") or ()]
    plain = [n for n in names if "/" not in n]
    name = plain[0] if plain else (names[0] if names else "")
    mounts = [m.get("Name") or m.get("Source") or "" for m in summary.get("Mounts") or ()]
    local = sum(1 for m in summary.get("Mounts") or () if m.get("Driver") == "local")
    networks = list((summary.get("NetworkSettings") or {}).get("Networks") or {})
    publishers = [
        {"URL": p.get("IP") or "", "TargetPort": int(p.get("PrivatePort") or 0), "PublishedPort": int(p.get("PublicPort") or 0),
         "Protocol": p.get("Type") or "tcp"}
        for p in sorted(summary.get("Ports") or (), key=lambda p: int(p.get("PrivatePort") or 0))
    ]
    created = int(summary.get("Created") or 0)
    command = summary.get("Command") or ""
    ident = summary.get("Id") or ""
    fields = {
        "Command": json.dumps(ellipsis(command, 20) if trunc else command, ensure_ascii=False),
        "CreatedAt": _created_at(created),
        "ExitCode": _exit_code(summary),
        "Health": _health(summary),
        "ID": ident[:12] if trunc else ident,
        "Image": summary.get("Image") or "",
        "Labels": ",".join(f"{k}={v}" for k, v in labels.items()),
        "LocalVolumes": str(local),
        "Mounts": ",".join(ellipsis(m, 15) if trunc else m for m in mounts),
        "Name": name,
        "Names": name if trunc and plain else ",".join(names),
        "Networks": ",".join(networks),
        "Ports": displayable_ports(publishers),
        "Project": labels.get("com.docker.compose.project", ""),
        "Publishers": publishers,
        "RunningFor": human_duration((time.time() if now is None else now) - created) + " ago",
        "Service": labels.get("com.docker.compose.service", ""),
        "Size": "0B",
        "State": summary.get("State") or "",
        "Status": summary.get("Status") or "",
    }
    return fields


def go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: compact, UTF-8, with <, > and & escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --- templates ------------------------------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?\s*(.*?)\s*(\s-)?\}\}", re.DOTALL)
_STRING = r'"(?:[^"\\]|\\.)*"'
_TOKEN = re.compile(rf"{_STRING}|\S+")


def _render_value(value: Any) -> str:
    if isinstance(value, (list, dict)):
        return go_json(value) if isinstance(value, dict) else "[" + " ".join(map(_render_value, value)) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Template:
    """A Go template of the kind `docker ps --format` takes: literal text, `{{.Field}}`,
    `{{json .Field}}`, `{{json .}}`, `{{.Label "key"}}`, and the functions upper, lower, title,
    truncate and pad. Unknown fields are a usage error, named, as Go's template package does."""

    FUNCTIONS: dict[str, Callable[..., str]] = {
        "json": lambda v: go_json(v),
        "upper": lambda v: _render_value(v).upper(),
        "lower": lambda v: _render_value(v).lower(),
        "title": lambda v: _render_value(v).title(),
        "truncate": lambda v, n: _render_value(v)[: int(n)],
        "pad": lambda v, left, right: " " * int(left) + _render_value(v) + " " * int(right),
        "println": lambda *v: " ".join(map(_render_value, v)) + "\n",
    }

    def __init__(self, source: str, fields: Iterable[str]) -> None:
        self.source = source
        self.known = set(fields)
        self.parts: list[str | list[str]] = []
        pos = 0
        for match in _ACTION.finditer(source):
            text = source[pos : match.start()]
            if match.group(1):
                text = text.rstrip()
            if self.parts and isinstance(self.parts[-1], str) and self.parts[-1] == "\0trim":
                self.parts.pop()
                text = text.lstrip()
            self.parts.append(text)
            words = _TOKEN.findall(match.group(2))
            if not words:
                raise UsageError(f"template: {source!r}: missing value for command")
            for word in words:
                self._check(word)
            self.parts.append(words)
            if match.group(3):
                self.parts.append("\0trim")
            pos = match.end()
        rest = source[pos:]
        if self.parts and self.parts[-1] == "\0trim":
            self.parts.pop()
            rest = rest.lstrip()
        if "{{" in rest:
            raise UsageError(f"template: {source!r}: unclosed action")
        self.parts.append(rest)

    def _check(self, word: str) -> None:
        if word.startswith('"') or word.lstrip("-").isdigit() or word == ".":
            return
        if word.startswith("."):
            name = word[1:]
            if name not in self.known and name != "Label":
                raise UsageError(f"template: {self.source!r}: can't evaluate field {name}")
            return
        if word not in self.FUNCTIONS:
            raise UsageError(f"template: {self.source!r}: function {word!r} not defined")

    def fields(self) -> list[str]:
        """The fields the template uses, in order (for a table's headers)."""
        return [w[1:] for part in self.parts if isinstance(part, list) for w in part if w.startswith(".") and w != "."]

    def render(self, context: Mapping[str, Any]) -> str:
        out = []
        for part in self.parts:
            out.append(part if isinstance(part, str) else _render_value(self._evaluate(part, context)))
        return "".join(out)

    def header(self) -> str:
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                names = [w[1:] for w in part if w.startswith(".") and w != "."]
                out.append(HEADERS.get(names[0], names[0].upper()) if names else "")
        return "".join(out)

    def _evaluate(self, words: list[str], context: Mapping[str, Any]) -> Any:
        values: list[Any] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word == ".Label" and i + 1 < len(words) and words[i + 1].startswith('"'):
                values.append((context.get("_labels") or {}).get(json.loads(words[i + 1]), ""))
                i += 2
                continue
            if word == ".":
                values.append({k: v for k, v in context.items() if not k.startswith("_")})
            elif word.startswith("."):
                values.append(context.get(word[1:], ""))
            elif word.startswith('"'):
                values.append(json.loads(word))
            elif word.lstrip("-").isdigit():
                values.append(int(word))
            else:
                values.append(self.FUNCTIONS[word])
            i += 1
        if values and callable(values[0]):
            try:
                return values[0](*values[1:])
            except TypeError:
                raise UsageError(f"template: {self.source!r}: wrong number of arguments") from None
        return values[0] if len(values) == 1 else " ".join(map(_render_value, values))


def unescape(source: str) -> str:
    """`\\t` and `\\n` typed in a --format string stand for a tab and a newline, as with docker."""
    return source.replace("\\t", "\t").replace("\\n", "\n")


def tabulate(lines: list[str], minwidth: int = 10, padding: int = 3) -> str:
    """Tab-separated lines aligned as docker's tabwriter aligns them (dockerfmt.tabulate)."""
    return dockerfmt.tabulate([line.split("\t") for line in lines], minwidth, padding)


def render(summaries: list[Mapping[str, Any]], fmt: str, trunc: bool = True) -> list[str]:
    """The lines `ps --format FMT` prints for these containers (fmt: table, json or a template)."""
    rows = []
    for summary in summaries:
        fields = container_fields(summary, trunc=trunc)
        fields["_labels"] = summary.get("Labels") or {}
        rows.append(fields)
    if fmt == "json":
        return [go_json({k: v for k, v in r.items() if not k.startswith("_")}) for r in rows]
    source = DEFAULT_TABLE if fmt == "table" else fmt
    table = source.startswith("table")
    if table:
        source = source[len("table"):].strip() or DEFAULT_TABLE[len("table "):]
    template = Template(unescape(source), HEADERS)
    lines = [template.render(r) for r in rows]
    if not table:
        return lines
    return tabulate([template.header()] + lines).split("\n")
