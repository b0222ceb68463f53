"""Every file a manifest or the user names goes through one bounded reader: what is not a regular
file is refused before it is read (a fifo never blocks), files over the cap are refused, and the
text is decoded as Compose does (UTF-8 with or without a BOM, UTF-16 with a BOM; UTF-32 refused).
Verdicts on encodings and COMPOSE_FILE are checked side by side with the Compose binary."""

from __future__ import annotations

import codecs
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.errors import ManifestError
from devenv.manifest import reading

REPO = Path(__file__).resolve().parents[3]
COMPOSE = "services:\n  web:\n    image: busybox\n"


def run_devenv(args: list[str], cwd: Path, stdin: bytes = b"", env: dict | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "DEVENV_"))}
    environ.update({"PYTHONPATH": str(REPO), "DEVENV_NO_CACHE": "1"}, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "devenv", *args], cwd=cwd, env=environ, input=stdin, capture_output=True, timeout=60
    )


def run_compose(compose_bin: str, args: list[str], cwd: Path, stdin: bytes = b"", env: dict | None = None):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    environ.update(env or {})
    return subprocess.run([compose_bin, *args], cwd=cwd, env=environ, input=stdin, capture_output=True, timeout=60)


def one_line(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode("utf-8", "replace")
    assert err.startswith("devenv: ") and err.count("\n") == 1 and "Traceback" not in err, err
    assert "internal error" not in err, err
    return err


# ------------------------------------------------------------------ special files


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    with pytest.raises(ManifestError, match="is a fifo, not a regular file"):
        reading.read_bytes(str(fifo))


def test_a_character_device_is_refused() -> None:
    with pytest.raises(ManifestError, match="is a character device, not a regular file"):
        reading.read_bytes(os.devnull, "env file")


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="is a directory"):
        reading.read_bytes(str(tmp_path))


def test_a_socket_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(ManifestError, match="is a socket"):
            reading.read_bytes(str(path))
    finally:
        server.close()


def test_a_file_over_the_cap_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"#" * 101)
    with pytest.raises(ManifestError, match="too large"):
        reading.read_bytes(str(path), limit=100)
    assert reading.read_bytes(str(path), limit=101) == b"#" * 101


def test_the_cap_is_documented_and_sane() -> None:
    assert 1024 * 1024 <= reading.MAX_BYTES <= 16 * 1024 * 1024


def test_endless_standard_input_stops_at_the_cap(tmp_path: Path) -> None:
    proc = run_devenv(["-f", "-", "config"], tmp_path, stdin=b"#" * (reading.MAX_BYTES + 10))
    assert proc.returncode != 0
    assert "too large" in one_line(proc)


@pytest.mark.parametrize(
    "field, text, path",
    [
        ("env_file", "    env_file: pipe\n", "services.web.env_file[0]"),
        ("label_file", "    label_file: pipe\n", "services.web.label_file[0]"),
        ("extends.file", "    extends: {file: pipe, service: base}\n", "services.web.extends.file"),
    ],
)
def test_a_fifo_named_by_a_service_field_names_file_line_and_field(ws, fifo: Path, field, text, path) -> None:
    ws.write("compose.yaml", COMPOSE + text)
    err = ws.error()
    assert err.file == str(ws.root / "compose.yaml") and err.line == 4 and err.path == path, str(err)
    assert "fifo" in err.message and "pipe" in err.message


def test_a_fifo_named_by_include_names_the_include_entry(ws, fifo: Path) -> None:
    ws.write("compose.yaml", "include:\n  - pipe\n" + COMPOSE)
    err = ws.error()
    assert err.file == str(ws.root / "compose.yaml") and err.line == 2 and err.path == "include[0].path", str(err)
    assert "fifo" in err.message


def test_a_fifo_as_an_include_env_file_names_the_field(ws, fifo: Path) -> None:
    ws.write("other.yaml", COMPOSE.replace("web", "other"))
    ws.write("compose.yaml", "include:\n  - path: other.yaml\n    env_file: [pipe]\n" + COMPOSE)
    err = ws.error()
    assert err.file == str(ws.root / "compose.yaml") and err.path == "include[0].env_file[0]", str(err)
    assert "fifo" in err.message


def test_a_fifo_as_env_file_option_is_refused(ws, fifo: Path) -> None:
    ws.write("compose.yaml", COMPOSE)
    err = ws.error(env_files=("pipe",))
    assert "fifo" in err.message and "pipe" in err.message


@pytest.mark.parametrize("args", [["-f", "pipe"], ["-f", os.devnull], ["--env-file", "pipe"]])
def test_special_files_on_the_command_line_give_one_line(tmp_path: Path, args) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    proc = run_devenv([*args, "config", "-q"], tmp_path)
    assert proc.returncode != 0
    assert "not a regular file" in one_line(proc)


# ------------------------------------------------------------------ encodings


def encoded(kind: str) -> bytes:
    return {
        "utf-8": COMPOSE.encode(),
        "utf-8-bom": codecs.BOM_UTF8 + COMPOSE.encode(),
        "utf-16-le-bom": codecs.BOM_UTF16_LE + COMPOSE.encode("utf-16-le"),
        "utf-16-be-bom": codecs.BOM_UTF16_BE + COMPOSE.encode("utf-16-be"),
        "utf-32-le-bom": codecs.BOM_UTF32_LE + COMPOSE.encode("utf-32-le"),
        "utf-32-be-bom": codecs.BOM_UTF32_BE + COMPOSE.encode("utf-32-be"),
        "utf-16-le-no-bom": COMPOSE.encode("utf-16-le"),
        "invalid-utf-8": b"services:\n  web:\n    image: b\xffx\n",
        "bom-only": codecs.BOM_UTF16_LE,
    }[kind]


KINDS = ["utf-8", "utf-8-bom", "utf-16-le-bom", "utf-16-be-bom", "utf-32-le-bom", "utf-32-be-bom", "invalid-utf-8", "bom-only"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("stdin", [False, True], ids=["file", "stdin"])
def test_encodings_get_composes_verdict(tmp_path: Path, compose_bin: str, kind: str, stdin: bool) -> None:
    data = encoded(kind)
    (tmp_path / "c.yaml").write_bytes(data)
    args = ["-f", "-" if stdin else "c.yaml", "config", "-q"]
    ours = run_devenv(args, tmp_path, stdin=data if stdin else b"")
    theirs = run_compose(compose_bin, ["-p", "proj", *args], tmp_path, stdin=data if stdin else b"")
    assert (ours.returncode == 0) == (theirs.returncode == 0), (kind, ours.stderr, theirs.stderr)
    if ours.returncode:
        one_line(ours)


def test_utf16_without_a_bom_is_refused_as_compose_refuses_it(tmp_path: Path) -> None:
    """NUL bytes reach the YAML parser, whose verdict (control characters) Compose shares; the
    one-line form of YAML errors belongs to the YAML reader."""
    ours = run_devenv(["-f", "-", "config", "-q"], tmp_path, stdin=encoded("utf-16-le-no-bom"))
    assert ours.returncode != 0 and b"Traceback" not in ours.stderr and b"internal error" not in ours.stderr


def test_invalid_utf8_names_file_line_and_byte(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(encoded("invalid-utf-8"))
    with pytest.raises(ManifestError) as info:
        reading.read_text(str(path))
    assert info.value.file == str(path) and info.value.line == 3 and "byte 29" in info.value.message


def test_utf16_text_is_decoded() -> None:
    assert reading.decode(encoded("utf-16-le-bom"), "x") == COMPOSE
    assert reading.decode(encoded("utf-16-be-bom"), "x") == COMPOSE
    assert reading.decode(encoded("utf-8-bom"), "x") == COMPOSE


def test_env_files_are_utf8_only_as_compose(tmp_path: Path, compose_bin: str) -> None:
    (tmp_path / "c.yaml").write_text(COMPOSE + "    env_file: a.env\n")
    for data, accepted in [(codecs.BOM_UTF8 + b"A=1\n", True), (codecs.BOM_UTF16_LE + "A=1\n".encode("utf-16-le"), False)]:
        (tmp_path / "a.env").write_bytes(data)
        ours = run_devenv(["-f", "c.yaml", "config", "-q"], tmp_path)
        theirs = run_compose(compose_bin, ["-p", "proj", "-f", "c.yaml", "config", "-q"], tmp_path)
        assert (ours.returncode == 0) == (theirs.returncode == 0) == accepted, (ours.stderr, theirs.stderr)
        if not accepted:
            one_line(ours)


# ------------------------------------------------------------------ COMPOSE_FILE


@pytest.mark.parametrize(
    "value, separator",
    [("::", None), (":", None), ("c.yaml:", None), ("c.yaml::", None), (" ", None), ("nope.yaml", None),
     ("sub", None), ("c.yaml", None), ("c.yamlabcd.yaml", "abc"), ("c.yaml", "abc"), ("c.yaml;d.yaml", ";")],
)
def test_compose_file_values_get_composes_exit_code(tmp_path: Path, compose_bin: str, value: str, separator) -> None:
    (tmp_path / "c.yaml").write_text(COMPOSE)
    (tmp_path / "d.yaml").write_text("services:\n  db:\n    image: busybox\n")
    (tmp_path / "sub").mkdir()
    env = {"COMPOSE_FILE": value, **({"COMPOSE_PATH_SEPARATOR": separator} if separator else {})}
    ours = run_devenv(["-p", "proj", "config", "-q"], tmp_path, env=env)
    theirs = run_compose(compose_bin, ["-p", "proj", "config", "-q"], tmp_path, env=env)
    assert ours.returncode == theirs.returncode, (value, ours.stderr, theirs.stderr)
    if ours.returncode:
        one_line(ours)
