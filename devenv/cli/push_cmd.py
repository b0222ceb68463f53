"""`devenv push`: build what is missing, push to the environment's registry, record the digests."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, format_option, services_argument
from devenv.cli.common import echo, emit_json, load, say
from devenv.errors import EXIT_FAILED


def _size(size: float) -> str:
    """docker's size (`12.3MB`) with a space before the unit: `12.3 MB`."""
    import re

    from devenv.cli.dockerfmt import human_size

    return re.sub(r"^([0-9.e+]+)", r"\1 ", human_size(size))


@click.command("push", help="Push the services' images to the environment's registry; record their digests in the lock.")
@services_argument
@format_option()
@click.pass_obj
def push(g: Globals, services: tuple[str, ...], fmt: str) -> int:
    from devenv import lockfile
    from devenv.cli.dockerfmt import tabulate
    from devenv.manifest.environments import settings
    from devenv.plan.push import Pushed, push_targets, record

    project = load(g.options, services)
    env = settings(project)
    targets = push_targets(project, services, env.registry, env.name)
    previous = lockfile.read(env.lock)  # a damaged lock is refused before anything is pushed
    if not targets:
        say("nothing to push (no service builds its image; name an image: service to push it)")
        return 0
    if g.dry_run:
        for t in targets:
            say(f"dry run: would {'build if missing, ' if t.build else ''}push {t.service} as {t.target}")
        return 0

    from devenv.engine.client import connect
    from devenv.engine.oneoff import ensure_image
    from devenv.engine.push import push as push_image
    from devenv.engine.push import read_auth
    from devenv.engine.queries import image_details
    from devenv.errors import DevenvError

    engine = connect()
    done: list[tuple[Pushed, int]] = []  # with the image's size
    failed = 0
    for t in targets:
        try:
            image_id = ensure_image(engine, project, project.services[t.service], say)
            if fmt != "json":
                say(f"pushing {t.service} as {t.target}")
            result = push_image(engine, t.source, t.repository, t.tag, read_auth(t.registry))
            size = image_details(engine, image_id).size
        except DevenvError as exc:
            say(f"devenv: {t.service}: {exc}")
            failed += 1
            continue
        done += [(Pushed(name, t.source, t.target, result.digest, image_id), size) for name in t.services or (t.service,)]
    if done:
        lockfile.write(env.lock, record(previous, project.name, env.name, [p for p, _ in done]))
    if fmt == "json":
        emit_json([{"service": p.service, "pushed": p.pushed, "digest": p.digest, "id": p.id, "size": size} for p, size in done])
    elif done:
        echo(tabulate([[p.service, f"{p.pushed}@{p.digest}", _size(size)] for p, size in done]))
    return EXIT_FAILED if failed else 0
