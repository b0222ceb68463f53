"""`devenv doctor` through the CLI without an engine: one failing line with its remedy and exit
1 (DOCKER_HOST names a socket nothing listens on); `--help` does not import the docker SDK."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from devenv.cli import main


@pytest.fixture
def no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/nothing.sock")
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    monkeypatch.delenv("DEVENV_ENV", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_without_an_engine_one_line_says_why_and_how_to_fix(no_engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    engine = [line for line in out if line.split()[:2] == ["fail", "engine"]]
    assert len(engine) == 1 and "nothing.sock" in engine[0] and "; fix: start the engine" in engine[0]
    assert any(line.split()[:2] == ["ok", "compose"] and "no Compose file here" in line for line in out)
    assert any(line.split()[:2] == ["ok", "ports"] and "no Compose file here" in line for line in out)
    assert not [line for line in out if line.split()[0] == "fail" and "engine" not in line]


def test_json(no_engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (no_engine / "compose.yaml").write_text("services:\n  web:\n    image: x\n    ports: ['8080:80']\n", encoding="utf-8")
    assert main(["doctor", "--format", "json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    names = [c["name"] for c in report["checks"]]
    assert names[:2] == ["engine", "buildkit"] and "ports" not in names  # no engine: its ports are not judged
    for check in report["checks"]:
        assert set(check) == {"name", "status", "detail", "remedy"}
        assert (check["remedy"] is None) == (check["status"] == "ok")


def test_a_bad_compose_file_fails_naming_it(no_engine: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (no_engine / "compose.yaml").write_text("services:\n  web:\n    image: x\n    ports: 12\n", encoding="utf-8")
    assert main(["doctor"]) == 1
    out = capsys.readouterr().out.splitlines()
    compose = [line for line in out if line.split()[1:2] == ["compose"]]
    assert len(compose) == 1 and compose[0].startswith("fail") and "compose.yaml:4: services.web.ports" in compose[0]
    assert not [line for line in out if line.split()[1:2] == ["ports"]]
    assert any(line.split()[1:2] == ["inotify"] and "the Compose file has errors" in line for line in out)


def test_help_does_not_import_the_docker_sdk() -> None:
    code = ("import sys; from devenv.cli import main; main(['doctor', '--help']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('docker', 'requests', 'urllib3')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
