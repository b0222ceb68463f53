"""`devenv dashboard`: serve the project's dashboard on 127.0.0.1 until Ctrl-C (devenv/dashboard)."""

from __future__ import annotations

import click

from devenv.cli.command import Globals
from devenv.cli.common import load_and_connect, say
from devenv.errors import UsageError


@click.command("dashboard", help="Serve a local web page (127.0.0.1, behind a token printed at start) showing the "
                                 "services' state, health, ports, logs and the last up; restart or stop them there.")
@click.option("--port", type=int, default=0, metavar="PORT", help="Port on 127.0.0.1 (default: a free one).")
@click.pass_obj
def dashboard(g: Globals, port: int) -> int:
    if not 0 <= port <= 65535:
        raise UsageError(f"invalid --port {port}: use 0-65535")
    project, client = load_and_connect(g.options)
    from devenv.dashboard.server import Dashboard, Server

    board = Dashboard(client, project, say=say)
    try:
        server = Server(board, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}") from None
    board.start()
    click.echo(f"devenv dashboard of {project.name}: {server.url}")
    click.echo("(Ctrl-C to stop)", err=True)
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        pass
    finally:
        board.close()
        server.server_close()
    return 0
