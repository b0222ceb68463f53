"""The pure parts of building: Dockerfile feature detection, the docker CLI's arguments from a
canonical `build:` mapping (and what each builder refuses), BuildKit's output read back for the
error line, and the builder choice from the CLIs found (fake `docker` scripts)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from devenv.engine import builders, dockerfile
from devenv.engine.build import StepLog
from devenv.engine.buildcmd import BUILDKIT, BUILDX, CLASSIC, Builder, BuildRefused, check_classic, command

CLI = Builder(BUILDKIT, "/usr/bin/docker", "20.10.24")
BX = Builder(BUILDX, "/usr/bin/docker", "27.0.1")


# ---- Dockerfile features -------------------------------------------------------------------------


def whats(text: str) -> list[tuple[int, str]]:
    return [(f.line, f.what) for f in dockerfile.features(text)]


def test_plain_dockerfile_needs_nothing() -> None:
    assert whats("FROM busybox\n# RUN --mount=type=cache is a comment\nRUN echo --mount \"a << b\"\nCOPY . /app\n") == []


def test_run_mount_and_copy_chmod_are_buildkit_features_of_the_old_frontend() -> None:
    text = "FROM busybox\nRUN --mount=type=cache,target=/x \\\n    --mount=type=secret,id=t true\nCOPY --chmod=755 a /a\n"
    found = dockerfile.features(text)
    assert [(f.line, f.what) for f in found] == [(2, "RUN --mount"), (2, "RUN --mount"), (4, "COPY --chmod")]
    assert not any(f.needs_newer_frontend() for f in found)


def test_heredoc_run_network_and_copy_link_need_a_newer_frontend() -> None:
    text = "FROM busybox\nRUN <<EOF\necho RUN --mount=inside-the-body\nEOF\nRUN --network=none true\nCOPY --link a /a\nRUN cat <<<'here-string'\n"
    found = dockerfile.features(text)
    assert [(f.line, f.what) for f in found] == [(2, "a heredoc (RUN <<)"), (5, "RUN --network"), (6, "COPY --link")]
    assert all(f.needs_newer_frontend() for f in found)


def test_heredoc_with_dash_and_quotes_skips_its_body() -> None:
    text = "FROM busybox\nCOPY <<-\"END\" /f\n\tRUN --mount=x\n\tEND\nRUN true\n"
    assert whats(text) == [(2, "a heredoc (COPY <<)")]


def test_syntax_directive_and_escape_directive() -> None:
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM busybox\nRUN --mount=type=cache,target=/x `\n  true\n"
    assert dockerfile.uses_syntax_directive(text)
    assert whats(text) == [(1, "the # syntax= directive"), (4, "RUN --mount")]
    assert not dockerfile.uses_syntax_directive("FROM busybox\n# syntax=late/ignored\n")


def test_continuation_lines_with_comments_in_between() -> None:
    text = "FROM busybox\nRUN \\\n# a comment inside\n  --mount=type=cache,target=/x true\n"
    assert whats(text) == [(2, "RUN --mount")]


# ---- the CLI's arguments -------------------------------------------------------------------------


FULL = {
    "context": "/src/web",
    "dockerfile": "docker/Dockerfile",
    "args": {"A": "1", "UNSET": None},
    "target": "prod",
    "labels": {"x": "y"},
    "cache_from": ["reg/app:cache"],
    "network": "host",
    "extra_hosts": ["db=10.0.0.2", "v6=::1"],
    "no_cache": True,
    "pull": True,
    "tags": ["reg/app:1"],
    "ssh": {"default": None, "key": "keys/deploy_id"},
    "secrets": [{"source": "token"}, {"source": "env_token", "target": "other"}],
}
SECRETS = {"token": {"file": "/src/token.txt", "name": "p_token"}, "env_token": {"environment": "MY_TOKEN"}}


def test_buildkit_cli_arguments_from_the_whole_mapping() -> None:
    inv = command(CLI, "web", "p-web", FULL, None, SECRETS, {"MY_TOKEN": "s3cret"})
    assert inv.args == [
        "build", "--progress", "plain", "--tag", "p-web", "--tag", "reg/app:1", "--file", "/src/web/docker/Dockerfile",
        "--build-arg", "A=1", "--target", "prod", "--label", "x=y", "--cache-from", "reg/app:cache",
        "--network", "host", "--add-host", "db:10.0.0.2", "--add-host", "v6:::1", "--no-cache", "--pull",
        "--ssh", "default", "--ssh", "key=keys/deploy_id",
        "--secret", "id=token,src=/src/token.txt", "--secret", "id=other,env=DEVENV_BUILD_SECRET_0", "/src/web",
    ]
    assert inv.env == {"DEVENV_BUILD_SECRET_0": "s3cret", "DOCKER_BUILDKIT": "1"}
    assert "s3cret" not in " ".join(inv.args)  # a secret's value never goes on the command line
    assert inv.stdin is None


def test_buildx_arguments_load_and_take_the_buildx_only_keys() -> None:
    config = {
        "context": "/src", "cache_to": ["type=local,dest=/tmp/c"], "additional_contexts": {"lib": "/src/lib"},
        "platforms": ["linux/amd64", "linux/arm64"], "shm_size": "67108864", "ulimits": {"nofile": {"soft": 10, "hard": 20}, "nproc": 5},
        "privileged": True, "entitlements": ["network.host"], "provenance": "false", "sbom": "true",
    }
    inv = command(BX, "web", "p-web", config)
    assert inv.args[:3] == ["buildx", "build", "--load"]
    assert inv.args[-1] == "/src"
    joined = " ".join(inv.args)
    for piece in ("--cache-to type=local,dest=/tmp/c", "--build-context lib=/src/lib", "--platform linux/amd64,linux/arm64",
                  "--shm-size 67108864", "--ulimit nofile=10:20", "--ulimit nproc=5", "--allow network.host",
                  "--allow security.insecure", "--provenance=false", "--sbom=true"):
        assert piece in joined, piece
    assert "DOCKER_BUILDKIT" not in inv.env


@pytest.mark.parametrize(
    "key, value",
    [("cache_to", ["type=inline"]), ("additional_contexts", {"a": "/x"}), ("entitlements", ["network.host"]),
     ("privileged", True), ("ulimits", {"nproc": 5}), ("shm_size", "1000"), ("sbom", "true")],
)
def test_buildkit_cli_refuses_what_only_buildx_honours(key: str, value: object) -> None:
    with pytest.raises(BuildRefused) as caught:
        command(CLI, "web", "p-web", {"context": "/src", key: value})
    message = str(caught.value)
    assert message.startswith(f"web: build.{key} needs buildx") and "\n" not in message


def test_the_platforms_go_to_the_cli() -> None:
    # whether this builder can build several is checked once, before any build (plan.images.check_builds)
    args = " ".join(command(BX, "web", "i", {"context": "/src", "platforms": ["linux/amd64", "linux/arm64"]}).args)
    assert "--platform linux/amd64,linux/arm64" in args
    assert "--platform linux/arm64" in " ".join(command(CLI, "web", "i", {"context": "/src"}, "linux/arm64").args)


def test_inline_dockerfile_goes_through_stdin() -> None:
    inv = command(CLI, "web", "i", {"context": "/src", "dockerfile_inline": "FROM busybox\n"})
    assert inv.stdin == "FROM busybox\n" and ["--file", "-"] == inv.args[inv.args.index("--file"):][:2]


def test_secret_problems_are_one_line_errors_and_uid_gid_mode_a_note() -> None:
    with pytest.raises(BuildRefused, match="web: build.secrets: secret 'nope' is not defined"):
        command(CLI, "web", "i", {"context": "/s", "secrets": [{"source": "nope"}]}, secrets={})
    with pytest.raises(BuildRefused, match=r"reads \$MY_TOKEN, which is not set"):
        command(CLI, "web", "i", {"context": "/s", "secrets": [{"source": "env_token"}]}, secrets=SECRETS, environ={})
    inv = command(CLI, "web", "i", {"context": "/s", "secrets": [{"source": "token", "mode": "0400"}]}, secrets=SECRETS)
    assert inv.notes and "ignored" in inv.notes[0]
    resolved = {"env_token": {"environment": "MY_TOKEN", "resolved": "from-dotenv"}}  # the planner resolves .env values
    inv = command(CLI, "web", "i", {"context": "/s", "secrets": [{"source": "env_token"}]}, secrets=resolved, environ={})
    assert inv.env["DEVENV_BUILD_SECRET_0"] == "from-dotenv"


def test_windows_isolation_is_refused_default_is_fine() -> None:
    command(CLI, "web", "i", {"context": "/s", "isolation": "default"})
    with pytest.raises(BuildRefused, match="build.isolation 'hyperv'"):
        command(CLI, "web", "i", {"context": "/s", "isolation": "hyperv"})


def test_classic_refuses_buildkit_keys_with_one_line() -> None:
    check_classic("web", {"context": "/s", "args": {"A": "1"}, "sbom": "false"})
    with pytest.raises(BuildRefused) as caught:
        check_classic("web", {"context": "/s", "secrets": [{"source": "t"}]})
    assert str(caught.value) == "web: build.secrets needs BuildKit, which this engine's builder lacks (install buildx or Debian's docker.io CLI)"


# ---- BuildKit's output read back -----------------------------------------------------------------


def test_steplog_names_the_failing_step_and_its_last_output() -> None:
    log = StepLog()
    for line in [
        "#5 [base 2/3] RUN echo one && echo two && false",
        "#5 0.101 one",
        "#5 0.102 two",
        "#5 ERROR: executor failed running [/bin/sh -c echo one && echo two && false]: exit code: 1",
        "------",
        " > [base 2/3] RUN echo one && echo two && false:",
        "------",
        "executor failed running [/bin/sh -c ...]: exit code: 1",
    ]:
        log.feed(line)
    assert log.error(1) == (
        "step [base 2/3] RUN echo one && echo two && false failed: executor failed running "
        "[/bin/sh -c echo one && echo two && false]: exit code: 1 (last output: one / two)"
    )


def test_steplog_without_a_step_error_quotes_the_last_line() -> None:
    log = StepLog()
    log.feed("#1 [internal] load build definition from Dockerfile")
    log.feed("failed to solve with frontend dockerfile.v0: failed to read dockerfile: open Dockerfile: no such file")
    assert log.error(1).startswith("failed to solve")
    assert StepLog().error(7) == "the docker CLI exited with code 7"


# ---- the builder choice --------------------------------------------------------------------------


def test_versions_and_builtin_buildkit() -> None:
    assert builders.cli_version("Docker version 20.10.24+dfsg1, build 297e128") == "20.10.24+dfsg1"
    assert builders.cli_version("Docker version 28.2.2, build e6534b4") == "28.2.2"
    assert builders.builtin_buildkit("20.10.24+dfsg1") and builders.builtin_buildkit("18.09.1")
    assert not builders.builtin_buildkit("23.0.0") and not builders.builtin_buildkit("17.12.0")


def _fake_docker(directory: Path, version: str, buildx: bool) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "docker"
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = "--version" ]; then echo "Docker version {version}, build abc"; exit 0; fi\n'
        f'if [ "$1" = "buildx" ]; then {"echo github.com/docker/buildx v0.20.0 abc; exit 0" if buildx else "exit 1"}; fi\n'
        "exit 1\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return str(path)


def test_detect_prefers_buildx_then_an_old_cli_then_classic(tmp_path: Path) -> None:
    new = _fake_docker(tmp_path / "new", "28.2.2", buildx=False)
    old = _fake_docker(tmp_path / "old", "20.10.24", buildx=False)
    withx = _fake_docker(tmp_path / "x", "27.1.0", buildx=True)
    path = lambda *dirs: os.pathsep.join(os.path.dirname(d) for d in dirs)  # noqa: E731

    assert builders._detect("auto", {"PATH": path(new, old)}) == Builder(BUILDKIT, old, "20.10.24")
    assert builders._detect("auto", {"PATH": path(new, old, withx)}) == Builder(BUILDX, withx, "27.1.0")
    assert builders._detect("auto", {"PATH": path(new)}) == Builder(CLASSIC)
    assert builders._detect("classic", {"PATH": path(withx)}) == Builder(CLASSIC)
    assert builders._detect("auto", {"PATH": path(withx), "DEVENV_DOCKER_CLI": old}) == Builder(BUILDKIT, old, "20.10.24")
    with pytest.raises(Exception, match="DEVENV_BUILDER=buildx needs the buildx plugin"):
        builders._detect("buildx", {"PATH": path(new, old)})


# ---- Ctrl-C plumbing -----------------------------------------------------------------------------


def test_lock_descriptor_finds_the_open_lock_file(tmp_path: Path) -> None:
    from devenv.engine.finisher import lock_descriptor

    path = tmp_path / "p.lock"
    path.write_text("")
    assert lock_descriptor(str(path)) is None
    fd = os.open(path, os.O_RDWR)
    try:
        assert lock_descriptor(str(path)) == fd
    finally:
        os.close(fd)
    assert lock_descriptor(str(tmp_path / "missing.lock")) is None


def test_context_cancel_runs_the_registered_hooks_until_forgotten() -> None:
    from devenv.engine.operations import Context

    class Client:
        api = None

    ctx = Context(Client(), None, 0, lambda: False, lambda _line: None)
    calls: list[tuple[str, bool]] = []
    forget_a = ctx.on_cancel(lambda force: calls.append(("a", force)))
    ctx.on_cancel(lambda force: calls.append(("b", force)))
    ctx.on_cancel(lambda force: 1 / 0)  # a failing hook does not stop the others
    ctx.cancel()
    forget_a()
    ctx.cancel(force=True)
    assert calls == [("a", False), ("b", False), ("b", True)]
