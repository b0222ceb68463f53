"""One project, two tools: what devenv creates Compose keeps, and what Compose creates devenv keeps.

devenv writes Compose's own `com.docker.compose.config-hash` on containers, networks and volumes,
so each case of `cases/` is brought up by one tool and then by the other on the SAME project, and
the second `up` must recreate nothing, ask nothing, and leave every container (by ID) in place:

- Compose first, then `devenv up --dry-run` plans nothing and `devenv up` keeps every container;
- devenv first, then `docker compose up -d` keeps every container and never asks to recreate a
  volume (its prompt "Volume ... exists but doesn't match configuration" would fail without a tty);
- `docker compose run --rm` on a devenv project leaves the running services as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.differential.test_differential_compose import CASES, WAIT_TIMEOUT, Case, devenv, output, projects  # noqa: F401 (fixture)


def container_ids(engine: Any, project: str) -> dict[str, str]:
    """name -> ID of the project's service containers (one-offs left out)."""
    found = engine.api.containers(all=True, filters={"label": [f"com.docker.compose.project={project}", "com.docker.compose.oneoff=False"]})
    return {c["Names"][0].lstrip("/"): c["Id"] for c in found}


def devenv_on(run: Case, project: str, env: dict[str, str], *args: str) -> Any:
    """devenv on `project` with that side's values (DEVENV_PUBLISH_HOST as Compose binds)."""
    return devenv(["-f", "compose.yaml", "-p", project, *run.profiles, *args], cwd=run.workdir, env={**env, "DEVENV_PUBLISH_HOST": "0.0.0.0"})


@pytest.mark.parametrize("case", CASES)
def test_each_tool_keeps_what_the_other_created(
    case: str, engine: Any, base_images: tuple[str, str], projects: tuple[str, str], tmp_path: Path
) -> None:
    run = Case(case, tmp_path / case, engine, *projects)
    wait = ("--wait", "--wait-timeout", WAIT_TIMEOUT) if run.meta.get("wait", True) else ()

    # Compose makes project A; devenv finds it up to date.
    made = run.compose("up", "-d", *wait)
    assert made.returncode == 0, output(made)
    before = container_ids(engine, run.a)
    plan = devenv_on(run, run.a, run.env_a, "up", "--dry-run")
    assert plan.returncode == 0, output(plan)
    # Waits and the start of an exited one-shot job are what Compose's `up` does too; nothing is
    # stopped, removed or created.
    planned = [line for line in plan.stdout.splitlines() if line.startswith(("stop ", "remove ", "create "))]
    assert not planned, f"{case}: devenv plans to replace what Compose made:\n" + "\n".join(planned)
    kept = devenv_on(run, run.a, run.env_a, "up", "--wait-timeout", WAIT_TIMEOUT)
    assert kept.returncode == 0, output(kept)
    assert container_ids(engine, run.a) == before, f"{case}: devenv recreated Compose's containers\n{output(kept)}"

    # devenv makes project B; Compose keeps every container and asks nothing.
    made = run.devenv("up", "--wait-timeout", WAIT_TIMEOUT)
    assert made.returncode == 0, output(made)
    before = container_ids(engine, run.b)
    again = run.compose_on_b("up", "-d", *wait)
    assert again.returncode == 0, output(again)
    assert "Recreate" not in again.stderr and "doesn't match configuration" not in again.stderr, output(again)
    assert container_ids(engine, run.b) == before, f"{case}: Compose recreated devenv's containers\n{output(again)}"

    problems = run.down()
    assert not problems, "\n".join(problems)


def test_compose_run_on_a_devenv_project_leaves_its_services_running(
    engine: Any, base_images: tuple[str, str], projects: tuple[str, str], tmp_path: Path
) -> None:
    """`docker compose run --rm` starts the dependencies it needs: on a devenv project they are
    already up to date, so it neither stops nor recreates them."""
    run = Case("healthcheck_chain", tmp_path / "chain", engine, *projects)
    made = run.devenv("up", "--wait-timeout", WAIT_TIMEOUT)
    assert made.returncode == 0, output(made)
    before = container_ids(engine, run.b)
    service = sorted(run.services())[-1]
    once = run.compose_on_b("run", "--rm", "-T", service, "true")
    assert once.returncode == 0, output(once)
    after = container_ids(engine, run.b)
    assert after == before, f"compose run changed devenv's containers\n{output(once)}"
    running = engine.api.containers(filters={"label": f"com.docker.compose.project={run.b}", "status": "running"})
    assert len(running) == len(before)
    problems = run.down()
    assert not problems, "\n".join(problems)
