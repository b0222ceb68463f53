"""`devenv top`, `port`, `images`: what the project's containers run, publish and are made of."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

from devenv.cli.command import Globals, format_option, service_argument, services_argument
from devenv.errors import DevenvError, UsageError

if TYPE_CHECKING:
    from devenv.engine.queries import ImageDetails

# ------------------------------------------------------------------ top


def top_table(summaries: list[tuple[str, str, dict[str, Any]]]) -> str:
    """One table for every container, as Compose prints it: SERVICE, #, the engine's `ps` titles
    (CMD last). `summaries`: (service, replica number, `GET /containers/{id}/top` answer)."""
    from devenv.cli.dockerfmt import tabulate

    header: list[str] = ["SERVICE", "#"]
    rows: list[dict[str, str]] = []
    for service, replica, answer in summaries:
        titles = list(answer.get("Titles") or ())
        for title in titles:
            if title not in header:
                header.append(title)
        for process in answer.get("Processes") or ():
            entry = {"SERVICE": service, "#": replica}
            entry.update({title: str(value) for title, value in zip(titles, process, strict=False)})
            rows.append(entry)
    if not rows:
        return ""
    if "CMD" in header:
        header.remove("CMD")
        header.append("CMD")
    return tabulate([header] + [[r.get(t, "-") for t in header] for r in rows], minwidth=4, padding=2)


@click.command("top", help="Show the processes running in the project's containers.")
@services_argument
@click.pass_obj
def top(g: Globals, services: tuple[str, ...]) -> int:
    from devenv.cli.common import echo
    from devenv.cli.targets import open_project
    from devenv.engine import control
    from devenv.plan.control import of_services

    project, client, observed = open_project(g, services)
    running = [c for c in of_services(project, observed, services) if c.state in ("running", "restarting", "paused")]
    running.sort(key=lambda c: c.name)
    results = control.each(running, lambda c: control.top(client, c))
    errors = [f"{c.name}: {error}" for c, _, error in results if error]
    text = top_table([(c.service or c.name, str(c.number) if c.number else "", answer or {}) for c, answer, error in results if not error])
    if text:
        echo(text)
    if errors:
        raise DevenvError("top: " + "; ".join(errors))
    return 0


# ------------------------------------------------------------------ port


def published(summary: Mapping[str, Any], private_port: int, protocol: str) -> str | None:
    """`host:port` of the first binding of PRIVATE_PORT/protocol in a container's list JSON."""
    for port in summary.get("Ports") or ():
        if port.get("PrivatePort") == private_port and port.get("Type", "tcp") == protocol and port.get("PublicPort"):
            return f"{port.get('IP', '')}:{port['PublicPort']}"
    return None


@click.command("port", help="Print the host address published for a container's port.")
@service_argument
@click.argument("private_port", metavar="PRIVATE_PORT")
@click.option("--protocol", type=click.Choice(("tcp", "udp", "sctp"), case_sensitive=False), default="tcp", show_default=True,
              help="The port's protocol.")
@click.option("--index", type=int, default=0, help="Which container of the service (default: the first).")
@click.pass_obj
def port(g: Globals, service: str, private_port: str, protocol: str, index: int) -> int:
    from devenv.cli.common import echo
    from devenv.cli.targets import open_project
    from devenv.engine.queries import container_summary
    from devenv.plan.control import pick

    if not private_port.isdigit() or not 0 < int(private_port) < 65536:
        raise UsageError(f"port: invalid PRIVATE_PORT {private_port!r}: a port number (1-65535)")
    protocol = protocol.lower()
    project, client, observed = open_project(g, (service,))
    container = pick(project, observed, service, index)
    found = container_summary(client, container.id)
    summary: Mapping[str, Any] = found.raw if found else {}
    address = published(summary, int(private_port), protocol)
    if address is None:
        ports = sorted({f"{p.get('PrivatePort')}/{p.get('Type')}" for p in summary.get("Ports") or () if p.get("PublicPort")})
        raise DevenvError(
            f"no port {private_port}/{protocol} published by container {container.name}"
            + (f" (published: {', '.join(ports)})" if ports else " (it publishes none)")
        )
    echo(address)
    return 0


# ------------------------------------------------------------------ images


def image_entry(container: str, reference: str, image: ImageDetails) -> dict[str, Any]:
    """Compose's JSON object for one container's image."""
    from devenv.cli.dockerfmt import split_reference

    repository, tag = split_reference(reference)
    last_tag = image.last_tag_time
    if not last_tag or last_tag.startswith("0001-01-01"):
        last_tag = image.created
    return {
        "ID": image.id, "ContainerName": container, "Repository": repository, "Tag": tag,
        "Platform": image.platform, "Size": image.size, "LastTagTime": last_tag,
    }


def _age(timestamp: str) -> str:
    import datetime as dt
    import re

    from devenv.cli.dockerfmt import human_duration

    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", timestamp)
    if not match:
        return "-"
    fraction = (match.group(2) or "0")[:6].ljust(6, "0")
    zone = match.group(3) or "Z"
    when = dt.datetime.fromisoformat(f"{match.group(1)}.{fraction}" + ("+00:00" if zone == "Z" else zone))
    now = dt.datetime.now(dt.UTC)
    return human_duration((now - when).total_seconds()) + " ago"


@click.command("images", help="List the images the project's containers use.")
@services_argument
@click.option("-q", "--quiet", is_flag=True, help="Only the image IDs.")
@format_option()
@click.pass_obj
def images(g: Globals, services: tuple[str, ...], quiet: bool, fmt: str) -> int:
    from devenv.cli.common import echo
    from devenv.cli.dockerfmt import human_size, tabulate
    from devenv.cli.targets import open_project
    from devenv.engine import control
    from devenv.engine.queries import image_details, project_summaries

    project, client, observed = open_project(g, services)
    wanted = [c for c in observed.project_containers() if not services or c.service in services]
    references = {s.id: s.image for s in project_summaries(client, project.name)}
    results = control.each(wanted, lambda c: image_details(client, c.image_id or references.get(c.id, "")))
    entries = sorted(
        (image_entry(c.name, references.get(c.id, ""), answer) for c, answer, error in results if answer),
        key=lambda e: e["ContainerName"],
    )
    if quiet:
        seen: list[str] = []
        for e in entries:
            short = e["ID"].split(":", 1)[-1]
            if short not in seen:
                seen.append(short)
                echo(short)
    elif fmt == "json":
        echo(json.dumps(entries, separators=(",", ":")))
    else:
        rows = [("CONTAINER", "REPOSITORY", "TAG", "PLATFORM", "IMAGE ID", "SIZE", "CREATED")]
        rows += [
            (e["ContainerName"], e["Repository"] or "<none>", e["Tag"] or "<none>", e["Platform"],
             e["ID"].split(":", 1)[-1][:12], human_size(e["Size"]), _age(e["LastTagTime"]))
            for e in entries
        ]
        echo(tabulate(rows, minwidth=20, padding=3))
    errors = [f"{c.name}: {error}" for c, _, error in results if error]
    if errors:
        raise DevenvError("images: " + "; ".join(errors))
    return 0
