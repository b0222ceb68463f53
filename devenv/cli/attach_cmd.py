"""`devenv attach`: attach the terminal to a service's running container (through the docker
CLI, which handles raw mode, resizing, detach keys and signals)."""

from __future__ import annotations

import click

from devenv.cli.command import Globals, service_argument


@click.command("attach", help="Attach the terminal to a service's running container: its output, and its input.")
@service_argument
@click.option("--index", type=int, default=0, help="Which container of the service (default: the first).")
@click.option("--no-stdin", is_flag=True, help="Do not attach standard input.")
@click.option("--sig-proxy/--no-sig-proxy", default=True, show_default=True, help="Pass the signals we receive to the container.")
@click.option("--detach-keys", metavar="KEYS", help="The key sequence that detaches (docker's default: ctrl-p,ctrl-q).")
@click.pass_obj
def attach(g: Globals, service: str, index: int, no_stdin: bool, sig_proxy: bool, detach_keys: str | None) -> int:
    from devenv.cli.targets import open_project
    from devenv.engine.cli_bridge import run_cli
    from devenv.plan.control import pick

    project, _client, observed = open_project(g, (service,))
    container = pick(project, observed, service, index)
    argv = ["attach", f"--sig-proxy={'true' if sig_proxy else 'false'}"]
    if no_stdin:
        argv.append("--no-stdin")
    if detach_keys:
        argv += ["--detach-keys", detach_keys]
    return run_cli(argv + [container.name])
