"""Builds through BuildKit on the real engine: the whole `build:` section (cache and secret mounts,
multi-stage targets, args, labels, tags, inline Dockerfiles), output lines carrying the service's
prefix, the classic builder's one-line refusals, and Ctrl-C during a build and during a long stop.

The Dockerfiles start `FROM` the local base image and have no `# syntax=` line: nothing can be
pulled from Docker Hub, so they use only what the builder's own Dockerfile frontend knows."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import uuid
from pathlib import Path

import docker
import docker.errors
import pytest

from tests.integration.test_engine_support import (
    BUSYBOX, FOREVER, devenv, names, nonstandard_names, ok, output, start_devenv, states, up, write_compose,
)

pytestmark = [pytest.mark.engine, pytest.mark.usefixtures("base_images")]

HANG_GUARD = 60.0

# BuildKit's cache keys leave secrets out: each test's Dockerfile is made unique by its first RUN.
MULTI_STAGE = f"""\
FROM {BUSYBOX} AS base
RUN echo NONCE > /nonce
ARG GREETING=unset
RUN --mount=type=cache,target=/var/cache/x \\
    echo "$GREETING" > /var/cache/x/greeting && cp /var/cache/x/greeting /greeting
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -c1-64 > /token.sha256
RUN --mount=type=secret,id=env_token,required=true wc -c < /run/secrets/env_token > /env_token.length

FROM base AS prod
RUN echo prod > /stage

FROM base AS other
RUN echo other > /stage
"""


def _build_lines(text: str) -> list[str]:
    """The build's own output among devenv's lines (not its progress lines `…`/`✔`/`✘`)."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith(("…", "✔", "✘", "–", "devenv:"))]


def _run_in(engine: docker.DockerClient, image: str, *command: str) -> str:
    return engine.containers.run(image, list(command), remove=True).decode().strip()


def test_build_honours_the_whole_build_section_through_buildkit(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, compose_bin: str
) -> None:
    p = project_name
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text(MULTI_STAGE.replace("NONCE", uuid.uuid4().hex))
    secret = f"token-{uuid.uuid4().hex}"
    env_secret = f"env-{uuid.uuid4().hex}"
    (tmp_path / "token.txt").write_text(secret)
    write_compose(tmp_path, f"""
        services:
          web:
            build:
              context: ./web
              target: prod
              args: {{GREETING: hello-from-args}}
              labels: {{org.example.team: devenv}}
              tags: ["{p}/extra:1"]
              secrets: [token, {{source: env_secret, target: env_token}}]
            command: {FOREVER}
        secrets:
          token: {{file: ./token.txt}}
          env_secret: {{environment: BUILD_ENV_SECRET}}
    """)
    result = ok(devenv(tmp_path, p, "build", env={"BUILD_ENV_SECRET": env_secret}))
    text = output(result)
    lines = _build_lines(result.stderr)
    assert lines and all(line.startswith("web | ") for line in lines), text
    assert "BuildKit" in lines[0], text  # the first line names the builder
    assert any("RUN --mount=type=cache" in line for line in lines), text
    assert secret not in text and env_secret not in text  # used, never printed

    image = f"{p}-web"
    labels = engine.images.get(image).labels
    assert labels["org.example.team"] == "devenv"
    assert labels["com.docker.compose.project"] == p and labels["com.docker.compose.service"] == "web"
    assert engine.images.get(f"{p}/extra:1").id == engine.images.get(image).id
    assert _run_in(engine, image, "cat", "/stage") == "prod"  # the target stage, not the last one
    assert _run_in(engine, image, "cat", "/greeting") == "hello-from-args"
    assert _run_in(engine, image, "cat", "/token.sha256") == hashlib.sha256(secret.encode()).hexdigest()
    assert _run_in(engine, image, "cat", "/env_token.length") == str(len(env_secret))

    # Compose builds the same file to the same content and labels.
    compose_project = f"{p}-compose"
    done = subprocess.run(
        [compose_bin, "-p", compose_project, "build"], cwd=tmp_path, capture_output=True, text=True, timeout=HANG_GUARD,
        env={**__import__("os").environ, "BUILD_ENV_SECRET": env_secret},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    theirs = f"{compose_project}-web"
    for path in ("/stage", "/greeting", "/token.sha256", "/env_token.length"):
        assert _run_in(engine, theirs, "cat", path) == _run_in(engine, image, "cat", path), path
    their_labels = engine.images.get(theirs).labels
    assert {k for k in their_labels if not k.startswith("com.docker.compose.")} == {k for k in labels if not k.startswith("com.docker.compose.")}
    try:
        engine.images.remove(theirs, force=True)
    except docker.errors.ImageNotFound:
        pass


def test_up_build_with_an_inline_dockerfile_and_a_cache_mount(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    inline = (
        f"FROM {BUSYBOX}\nRUN echo {uuid.uuid4().hex} > /nonce\n"
        "RUN --mount=type=cache,target=/cache echo inline-built > /cache/f && cp /cache/f /built\n"
        "RUN --mount=type=secret,id=dotenv wc -c < /run/secrets/dotenv > /secret.length\n"
    )
    (tmp_path / ".env").write_text("SECRET_IN_DOTENV=seven-7\n")  # an environment secret may come from .env
    write_compose(tmp_path, f"""
        services:
          app:
            build:
              context: .
              dockerfile_inline: {json.dumps(inline)}
              secrets: [dotenv]
            command: {FOREVER}
        secrets:
          dotenv: {{environment: SECRET_IN_DOTENV}}
    """)
    result = up(tmp_path, p, "--build")
    lines = [line for line in _build_lines(result.stderr) if "|" in line and not line.startswith(("app ", "up:"))]
    assert any(line.startswith("app | ") and "inline-built" in line for line in _build_lines(result.stderr)), output(result)
    assert not lines, output(result)  # every build line carries the prefix
    assert states(engine, p) == {f"{p}-app-1": "running"}
    assert ok(devenv(tmp_path, p, "exec", "-T", "app", "cat", "/built")).stdout.strip() == "inline-built"
    assert ok(devenv(tmp_path, p, "exec", "-T", "app", "cat", "/secret.length")).stdout.strip() == "7"
    assert "seven-7" not in output(result)


def test_heredoc_builds_where_the_frontend_knows_it_and_is_refused_in_one_line_where_not(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN <<EOF\necho from-heredoc > /heredoc\nEOF\n")
    write_compose(tmp_path, "services:\n  web:\n    build: .\n")
    result = devenv(tmp_path, p, "build")
    if int(engine.version()["Version"].split(".")[0]) >= 23:  # BuildKit 0.10+: heredocs are built in
        ok(result)
        assert _run_in(engine, f"{p}-web", "cat", "/heredoc") == "from-heredoc"
    else:
        assert result.returncode == 1, output(result)
        assert "web: Dockerfile line 2: a heredoc (RUN <<) needs Dockerfile syntax 1.4" in result.stderr, output(result)
        assert "Traceback" not in output(result)


def test_classic_builder_refuses_buildkit_features_in_one_line_and_builds_the_rest(
    tmp_path: Path, project_name: str, engine: docker.DockerClient
) -> None:
    p = project_name
    classic = {"DEVENV_BUILDER": "classic"}
    for name, body in {
        "mount": f"FROM {BUSYBOX}\n\nRUN --mount=type=cache,target=/x true\n",
        "plain": f"FROM {BUSYBOX}\nRUN echo classic > /built\n",
    }.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "Dockerfile").write_text(body)
    (tmp_path / "token.txt").write_text("t")
    write_compose(tmp_path, f"""
        services:
          mount: {{build: ./mount}}
          secret:
            build: {{context: ./plain, secrets: [token]}}
          plain:
            build: ./plain
            command: {FOREVER}
        secrets:
          token: {{file: ./token.txt}}
    """)
    refused = devenv(tmp_path, p, "build", "mount", env=classic)
    assert refused.returncode == 1, output(refused)
    expected = "mount: Dockerfile line 3: RUN --mount needs BuildKit, which this engine's builder lacks (install buildx or Debian's docker.io CLI)"
    assert expected in refused.stderr and "Traceback" not in output(refused), output(refused)

    refused = devenv(tmp_path, p, "build", "secret", env=classic)
    assert refused.returncode == 1, output(refused)
    assert "secret: build.secrets needs BuildKit, which this engine's builder lacks" in refused.stderr, output(refused)

    result = ok(devenv(tmp_path, p, "build", "plain", env=classic))
    lines = _build_lines(result.stderr)
    assert lines and all(line.startswith("plain | ") for line in lines), output(result)
    assert "classic builder" in lines[0]
    assert _run_in(engine, f"{p}-plain", "cat", "/built") == "classic"


def test_a_failing_step_is_named_with_its_last_output(tmp_path: Path, project_name: str) -> None:
    p = project_name
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo first-words && echo last-words && exit 3\n")
    write_compose(tmp_path, "services:\n  web:\n    build: .\n")
    result = devenv(tmp_path, p, "build")
    assert result.returncode == 1, output(result)
    failure = [line for line in result.stderr.splitlines() if "failed:" in line and "build image" in line and "✘" not in line]
    assert len(failure) == 1, output(result)
    assert "[2/2] RUN echo first-words" in failure[0] and "last-words" in failure[0] and "exit code: 3" in failure[0], output(result)
    assert any(line.strip().startswith("web | ") and "first-words" in line for line in result.stderr.splitlines())


def _interrupt_on(proc: subprocess.Popen[str], marker: str, second: bool = False) -> tuple[int, str]:
    """SIGINT once a line of stderr contains `marker` (and, with `second`, again once devenv says it
    is stopping); the exit code and everything printed. `communicate`'s timeout is the hang guard."""
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if marker in line:
            proc.send_signal(signal.SIGINT)
            break
    if second:
        for line in proc.stderr:
            seen.append(line)
            if "press Ctrl-C again" in line:
                proc.send_signal(signal.SIGINT)
                break
    out, err = proc.communicate(timeout=HANG_GUARD)
    return proc.returncode, "".join(seen) + err + out


def test_ctrl_c_during_up_build_cancels_the_build_and_exits_130(tmp_path: Path, project_name: str, engine: docker.DockerClient) -> None:
    p = project_name
    # `$((20+22))` prints as 42 only when the step runs: the marker is the step's output, not its title.
    (tmp_path / "Dockerfile").write_text(f"FROM {BUSYBOX}\nRUN echo long-step-$((20+22)) {uuid.uuid4().hex} && sleep 60\n")
    write_compose(tmp_path, f"services:\n  slow:\n    build: .\n    command: {FOREVER}\n")
    code, text = _interrupt_on(start_devenv(tmp_path, p, "up", "--build"), "long-step-42")
    assert code == 130, text
    assert "press Ctrl-C again to force" in text and "Traceback" not in text, text
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(f"{p}-slow")
    assert names(engine, p) == [] and nonstandard_names(engine, p) == []


@pytest.mark.parametrize("second", [False, True], ids=["once", "twice"])
def test_ctrl_c_during_a_long_stop_leaves_at_once_and_the_container_goes_on_stopping(
    tmp_path: Path, project_name: str, engine: docker.DockerClient, second: bool
) -> None:
    p = project_name
    ignores_term = """["sh", "-c", "trap '' TERM; while :; do sleep 0.1; done"]"""
    write_compose(tmp_path, f"services:\n  stubborn:\n    image: {BUSYBOX}\n    command: {ignores_term}\n")
    up(tmp_path, p)
    container = f"{p}-stubborn-1"
    events = engine.events(decode=True, filters={"container": container, "event": "kill"})
    try:
        proc = start_devenv(tmp_path, p, "down", "-t", "30")
        for event in events:  # the engine has sent SIGTERM: the 30 s stop is under way
            if event.get("Actor", {}).get("Attributes", {}).get("signal") == "15":
                break
        proc.send_signal(signal.SIGINT)
        early = ""
        if second:  # the second Ctrl-C, while devenv gives the stop its grace period: out at once
            assert proc.stderr is not None
            for line in proc.stderr:
                early += line
                if "press Ctrl-C again" in line:
                    proc.send_signal(signal.SIGINT)
                    break
        out, err = proc.communicate(timeout=20)  # hang guard, below the 30 s the stop takes
        err = early + err
    finally:
        events.close()
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "Traceback" not in err, out + err
    assert ("forced to exit" in err) == second, out + err
    assert names(engine, p) == [container]  # not removed: devenv left while the engine goes on stopping it
    assert nonstandard_names(engine, p) == []

    # The next command waits for that stop (the project stays locked until it is done), then converges.
    after = start_devenv(tmp_path, p, "down")
    assert after.stderr is not None
    waiting = after.stderr.readline()
    assert "another devenv command is changing project" in waiting, waiting
    engine.containers.get(container).kill()  # the engine's own SIGKILL would come at the 30 s mark
    out, err = after.communicate(timeout=HANG_GUARD)
    assert after.returncode == 0, waiting + out + err
    assert names(engine, p) == []
