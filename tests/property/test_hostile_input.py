"""Hostile input, within a budget: whatever a cloned repository holds — alias bombs, huge numbers,
deep nesting, odd encodings (UTF-16/32 with or without a BOM, invalid bytes), special files named by
`-f`, `include`, `extends.file`, `env_file`, `label_file` or `--env-file` — loading it gives a
valid `Project` or devenv's own error (DevenvError), and never more than the budget.

The budget is enforced by resource limits, not by the clock: each example runs in a forked child
with RLIMIT_AS at the parent's size plus MEMORY_BUDGET and RLIMIT_CPU at CPU_BUDGET seconds; a child
killed by a limit (SIGXCPU, SIGKILL), or failing with MemoryError or any exception other than
DevenvError, fails the example. An alarm of HANG_GUARD seconds catches a child blocked on I/O (a
fifo), where no CPU is spent; it is a guard against hangs, never a timing of normal work. The
parse cache is on (in a scratch folder), so writing an entry is under the budget too.
"""

from __future__ import annotations

import codecs
import io
import os
import resource
import shutil
import signal
import socket
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MEMORY_BUDGET = 300 * 1024 * 1024  # bytes of address space above the parent's own
CPU_BUDGET = 3  # seconds of CPU: the bound (the child is forked, devenv is already imported)
HANG_GUARD = 60

SETTINGS = dict(
    deadline=None,
    derandomize=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


# ------------------------------------------------------------------ the budgeted check


def _address_space() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


def _child(args: tuple[str, ...], cwd: Path, stdin: bytes, write_fd: int) -> None:
    from devenv.errors import DevenvError
    from devenv.manifest.loader import load_project
    from devenv.manifest.options import ProjectOptions

    outcome = "ok"
    try:
        files = tuple(a for i, a in enumerate(args) if i and args[i - 1] == "-f")
        env_files = tuple(a for i, a in enumerate(args) if i and args[i - 1] == "--env-file")
        os.environ.pop("DEVENV_NO_CACHE", None)  # the parse cache is part of what is under budget
        os.environ["XDG_CACHE_HOME"] = str(cwd / "cache")
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8", errors="surrogateescape")
        options = ProjectOptions(
            files=files, project_name="proj", project_directory=None, profiles=(), env_files=env_files,
            environ={"HOME": str(cwd)}, cwd=str(cwd),
        )
        project = load_project(options, warn=lambda message: None)
        project.to_dict()
    except DevenvError as exc:
        text = str(exc)
        outcome = "devenv-error" if text else "empty DevenvError message"
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which fails the example
        outcome = f"{type(exc).__name__}: {str(exc)[:300]}"
    os.write(write_fd, outcome.encode("utf-8", "replace"))


def load_within_budget(args: tuple[str, ...], cwd: Path, stdin: bytes = b"") -> str:
    """Runs the loader on `args` (-f / --env-file) in a forked child under the limits; its outcome."""
    limit = _address_space() + MEMORY_BUDGET
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 0
        try:
            os.close(read_fd)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
            resource.setrlimit(resource.RLIMIT_CPU, (CPU_BUDGET, CPU_BUDGET + 1))
            signal.alarm(HANG_GUARD)
            _child(args, cwd, stdin, write_fd)
        except BaseException:  # noqa: BLE001
            code = 3
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as fh:
        outcome = fh.read().decode("utf-8", "replace")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        reason = {"SIGXCPU": f"over {CPU_BUDGET} s of CPU", "SIGALRM": f"hung ({HANG_GUARD} s guard)"}.get(sig, sig)
        raise AssertionError(f"killed: {reason} on {args}")
    assert outcome in ("ok", "devenv-error"), f"{outcome} on {args}"
    return outcome


# ------------------------------------------------------------------ inputs


@pytest.fixture(scope="module")
def scratch() -> Path:
    root = Path(tempfile.mkdtemp(prefix="devenv-hostile-"))
    os.mkfifo(root / "fifo")
    (root / "folder").mkdir()
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(root / "socket"))
    (root / "base.yaml").write_text("services:\n  base: {image: busybox}\n")
    yield root
    server.close()
    shutil.rmtree(root, ignore_errors=True)


def compose_with(fragment: str) -> str:
    return "services:\n  web:\n    image: busybox\n" + fragment


@st.composite
def alias_bombs(draw: st.DrawFn) -> str:
    width = draw(st.integers(2, 12))
    depth = draw(st.integers(1, 9))
    leaf = draw(st.sampled_from(['"lol"', "x" * 40, "{a: 1, b: [1, 2]}", "[1, 2, 3]"]))
    lines = [f"x-l0: &l0 [{', '.join([leaf] * width)}]"]
    for level in range(1, depth + 1):
        lines.append(f"x-l{level}: &l{level} [{', '.join([f'*l{level - 1}'] * width)}]")
    where = draw(st.sampled_from(["top", "environment", "command", "extension"]))
    top = "\n".join(lines) + "\n"
    fragment = {
        "top": "",
        "environment": f"    environment:\n      BOMB: *l{depth}\n",
        "command": f"    command: *l{depth}\n",
        "extension": f"    x-keep: *l{depth}\n",
    }[where]
    return top + compose_with(fragment)


HUGE = ["99999999999999999999", "-99999999999999999999", "1e309", "-1e309", ".nan", "0x" + "f" * 40,
        "9223372036854775808", "18446744073709551616", "1" * 400, "1_000_000_000_000", "0o" + "7" * 60]


@st.composite
def huge_numbers(draw: st.DrawFn) -> str:
    number = draw(st.sampled_from(HUGE))
    field = draw(st.sampled_from([
        f"    deploy:\n      replicas: {number}\n",
        f"    scale: {number}\n",
        f"    ports:\n      - {number}\n",
        f"    ports:\n      - target: {number}\n        published: {number}\n",
        f"    cpus: {number}\n",
        f"    mem_limit: {number}\n",
        f"    ulimits:\n      nofile: {number}\n",
        f"    deploy:\n      restart_policy:\n        max_attempts: {number}\n",
        f"    stop_grace_period: {number}s\n",
        f"    healthcheck:\n      retries: {number}\n",
        f"    shm_size: {number}\n",
        f"    oom_score_adj: {number}\n",
    ]))
    return compose_with(field)


@st.composite
def deep_nesting(draw: st.DrawFn) -> str:
    depth = draw(st.sampled_from([100, 1_000, 10_000, 100_000, 500_000]))
    shape = draw(st.sampled_from(["flow-list", "flow-map", "block-map", "block-list"]))
    if shape == "flow-list":
        value = "[" * depth + "]" * depth
    elif shape == "flow-map":
        value = "{a: " * depth + "1" + "}" * depth
    elif shape == "block-map":
        depth = min(depth, 20_000)
        return compose_with("    x-deep:\n" + "".join(" " * (6 + i) + "a:\n" for i in range(depth)))
    else:
        depth = min(depth, 20_000)
        return compose_with("    x-deep:\n" + "".join(" " * (6 + 2 * i) + "-\n" for i in range(depth)))
    return compose_with(f"    x-deep: {value}\n")


ENCODINGS = ["utf-8", "utf-8-sig", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "latin-1"]
BOMS = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE,
        "utf-32-le": codecs.BOM_UTF32_LE, "utf-32-be": codecs.BOM_UTF32_BE}


@st.composite
def odd_encodings(draw: st.DrawFn) -> bytes:
    text = compose_with(draw(st.sampled_from(["", "    environment: {A: \"é ✓ 𝄞\"}\n", "    labels: [x=ü]\n"])))
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, "replace")
    if encoding in BOMS and draw(st.booleans()):
        data = BOMS[encoding] + data
    for _ in range(draw(st.integers(0, 3))):  # invalid bytes, a truncated code unit...
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    return data


SPECIAL = ["fifo", "folder", "socket", os.devnull] + [p for p in ("/dev/zero", "/dev/urandom") if os.path.exists(p)]


@st.composite
def special_files(draw: st.DrawFn) -> tuple[tuple[str, ...], str]:
    """(args, compose text): a special file named by the command line or by a manifest field."""
    special = draw(st.sampled_from(SPECIAL))
    how = draw(st.sampled_from(["-f", "--env-file", "env_file", "label_file", "include", "extends.file"]))
    if how == "-f":
        return ("-f", special), ""
    if how == "--env-file":
        return ("-f", "compose.yaml", "--env-file", special), compose_with("")
    fragment = {
        "env_file": f"    env_file: {special}\n",
        "label_file": f"    label_file: {special}\n",
        "extends.file": f"    extends: {{file: {special}, service: base}}\n",
        "include": "",
    }[how]
    text = compose_with(fragment)
    if how == "include":
        text = f"include:\n  - {special}\n" + text
    return ("-f", "compose.yaml"), text


# ------------------------------------------------------------------ the properties


def _write(root: Path, name: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(dir=root))
    for special in ("fifo", "folder", "socket", "base.yaml"):
        os.symlink(root / special, folder / special)
    (folder / name).write_bytes(data)
    return folder


@settings(max_examples=40, **SETTINGS)
@given(text=alias_bombs())
def test_alias_bombs_are_refused_or_loaded_within_budget(scratch: Path, text: str) -> None:
    folder = _write(scratch, "compose.yaml", text.encode())
    load_within_budget(("-f", "compose.yaml"), folder)


@settings(max_examples=40, **SETTINGS)
@given(text=huge_numbers())
def test_huge_numbers_are_refused_or_loaded_within_budget(scratch: Path, text: str) -> None:
    folder = _write(scratch, "compose.yaml", text.encode())
    load_within_budget(("-f", "compose.yaml"), folder)


@settings(max_examples=25, **SETTINGS)
@given(text=deep_nesting())
def test_deep_nesting_is_refused_or_loaded_within_budget(scratch: Path, text: str) -> None:
    folder = _write(scratch, "compose.yaml", text.encode())
    load_within_budget(("-f", "compose.yaml"), folder)


@settings(max_examples=60, **SETTINGS)
@given(data=odd_encodings(), stdin=st.booleans())
def test_odd_encodings_are_refused_or_loaded_within_budget(scratch: Path, data: bytes, stdin: bool) -> None:
    folder = _write(scratch, "compose.yaml", data)
    if stdin:
        load_within_budget(("-f", "-"), folder, stdin=data)
    else:
        load_within_budget(("-f", "compose.yaml"), folder)


@settings(max_examples=40, **SETTINGS)
@given(case=special_files())
def test_special_files_are_refused_within_budget(scratch: Path, case: tuple[tuple[str, ...], str]) -> None:
    args, text = case
    folder = _write(scratch, "compose.yaml", text.encode())
    assert load_within_budget(args, folder) == "devenv-error"


@pytest.mark.parametrize(
    "args, stdin",
    [(("-f", "-"), b"\xff\xfe"), (("-f", "-"), b"\xfe\xff"), (("-f", "-"), b"\xff\xfe\x00\x00"), (("-f", "-"), b"\x80")],
)
def test_stdin_in_any_encoding(tmp_path: Path, args: tuple[str, ...], stdin: bytes) -> None:
    load_within_budget(args, tmp_path, stdin=stdin)


def test_the_budget_catches_a_runaway(tmp_path: Path, monkeypatch) -> None:
    """The harness itself: a child that allocates without bound is stopped and reported."""
    import devenv.manifest.loader as loader

    def runaway(*args, **kwargs):
        hog = []
        while True:
            hog.append(bytearray(16 * 1024 * 1024))

    monkeypatch.setattr(loader, "load_project", runaway)
    with pytest.raises(AssertionError, match="MemoryError|killed"):
        load_within_budget(("-f", "compose.yaml"), tmp_path)
