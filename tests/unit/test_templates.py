"""`devenv init`'s templates without Docker: the shipped templates parse, render every placeholder
and load as valid manifests; --set and the values are checked; nothing is ever overwritten
unless --force, and a refusal writes nothing; pyproject installs every template file."""

from __future__ import annotations

import glob
import io
import json
import os
import stat
import sys
import tomllib
from pathlib import Path

import pytest

from devenv import templates
from devenv.cli import main
from devenv.errors import UsageError
from devenv.manifest.loader import load_project
from devenv.manifest.options import ProjectOptions
from devenv.model import Project
from tests.engine_helpers import run_compose

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("graphite", "web-postgres", "web-redis")


def write_template(folder: Path, files: dict[str, str], manifest: str) -> Path:
    for name, text in {**files, templates.TEMPLATE_FILE: manifest}.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def tiny(tmp_path: Path) -> templates.Template:
    folder = write_template(tmp_path / "root" / "tiny", {
        "devenv.yaml": "name: {{ project }}\nservices:\n  web:\n    image: busybox\n    ports: ['127.0.0.1:{{port}}:80']\n"
                       "    environment: {KEEP: '${KEEP:-x}'}\n",
        ".env": "TOKEN={{ token }}\n",
        "bin/run.sh": "#!/bin/sh\necho {{ project }}\n",
    }, "description: A tiny\n  one.\nvalues:\n  project: {prompt: Name, type: name, default: tiny}\n"
       "  port: {prompt: Port, type: port, default: 8000}\n  token: {prompt: Token, type: secret}\nprivate: [.env]\n")
    os.chmod(folder / "bin/run.sh", 0o755)
    return templates.load("tiny", tmp_path / "root")


def load_manifest(folder: Path) -> Project:
    options = ProjectOptions(environ={"HOME": str(folder)}, cwd=str(folder))
    return load_project(options, warn=lambda *a, **k: None)


def test_the_shipped_templates_are_found_and_described() -> None:
    assert templates.names(REPO / "templates") == list(SHIPPED)
    assert templates.root() == REPO / "templates"
    for name in SHIPPED:
        template = templates.load(name)
        assert template.description and "\n" not in template.description
        assert [v.key for v in template.values][0] == "project"


@pytest.mark.parametrize("name", SHIPPED)
def test_each_shipped_template_renders_a_valid_manifest(name: str, tmp_path: Path) -> None:
    template = templates.load(name)
    values = {v.key: templates.default_of(v) for v in template.values}
    values["project"] = "k2-unit"
    files = templates.render(template, values)
    assert {"devenv.yaml", "README.md"} <= {f.path for f in files}
    for f in files:
        assert b"{{" not in f.content, f.path
    templates.write(files, tmp_path)
    project = load_manifest(tmp_path)
    assert project.name == "k2-unit"
    for service in project.services.values():  # published only on loopback
        for port in service.config.get("ports") or ():
            assert port["host_ip"] == "127.0.0.1", (name, service.name)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_rendered_template_is_a_valid_compose_file(name: str, tmp_path: Path, compose_bin: str) -> None:
    """What `init` writes is a plain Compose file: Compose's own `config` accepts it (no engine needed)."""
    template = templates.load(name)
    templates.write(templates.render(template, {v.key: templates.default_of(v) for v in template.values}), tmp_path)
    result = run_compose(["-f", "devenv.yaml", "config", "-q"], tmp_path)
    assert result.returncode == 0, result.stderr


def test_the_graphite_template_points_devenv_at_its_carbon(tmp_path: Path) -> None:
    template = templates.load("graphite")
    files = templates.render(template, {"project": "g", "graphite_port": "18080", "carbon_port": "12003"})
    manifest = next(f for f in files if f.path == "devenv.yaml").content.decode()
    assert "carbon: 127.0.0.1:12003" in manifest and '"127.0.0.1:12003:2003"' in manifest
    assert "volumes_from:\n      - carbon" in manifest


def test_the_starter_devenv_yaml_still_loads(tmp_path: Path) -> None:
    (tmp_path / "devenv.yaml").write_bytes((REPO / "templates" / "devenv.yaml").read_bytes())
    assert "db" in load_manifest(tmp_path).services


def test_pyproject_installs_every_template_file() -> None:
    data_files = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["data-files"]
    installed = {os.path.relpath(os.path.join(REPO, target, os.path.basename(path)), REPO / "share/devenv")
                 for target, patterns in data_files.items()
                 for pattern in patterns for path in glob.glob(str(REPO / pattern)) if os.path.isfile(path)}
    shipped = {str(p.relative_to(REPO)) for p in (REPO / "templates").rglob("*")
               if p.is_file() and "__pycache__" not in p.parts}
    assert shipped == installed


def test_rendering_replaces_placeholders_and_leaves_compose_variables(tiny: templates.Template) -> None:
    files = {f.path: f for f in templates.render(tiny, {"project": "demo", "port": "9000", "token": "s3cret"})}
    assert files["devenv.yaml"].content.decode().startswith("name: demo\n")
    assert "'127.0.0.1:9000:80'" in files["devenv.yaml"].content.decode()
    assert "${KEEP:-x}" in files["devenv.yaml"].content.decode()
    assert (files[".env"].mode, files["bin/run.sh"].mode, files["devenv.yaml"].mode) == (0o600, 0o755, 0o644)
    assert tiny.description == "A tiny one."


def test_a_placeholder_the_template_does_not_declare_is_one_line(tmp_path: Path) -> None:
    write_template(tmp_path / "bad", {"f.txt": "{{ nope }}"}, "description: x\nvalues: {}\n")
    with pytest.raises(UsageError, match=r"f.txt: \{\{ nope \}\} is not a value of template bad"):
        templates.render(templates.parse(tmp_path / "bad"), {})


@pytest.mark.parametrize("manifest, error", [
    ("values: {}\n", "description: must be"),
    ("description: x\nvalues: {p: {type: colour}}\n", "values.p.type: must be one of"),
    ("description: x\nvalues: {p: {type: port, default: 70000}}\n", "values.p.default: '70000' is not a port"),
    ("description: x\nvalues: [p]\n", "values: must be a mapping"),
    ("description: [x\n", "cannot read the template"),
])
def test_a_malformed_template_yaml_names_file_and_field(tmp_path: Path, manifest: str, error: str) -> None:
    write_template(tmp_path / "t", {}, manifest)
    with pytest.raises(UsageError, match="template.yaml: " + error.replace("[", r"\[").replace("(", r"\(")) as info:
        templates.parse(tmp_path / "t")
    assert "\n" not in str(info.value)


def test_set_values_are_checked(tiny: templates.Template) -> None:
    assert templates.parse_sets(["port=9000", "project=a_b-1"], tiny) == {"port": "9000", "project": "a_b-1"}
    for item, error in [("colour=red", "--set colour: template tiny has no value 'colour' (values: project, port, token)"),
                        ("port=0", "--set port: '0' is not a port"), ("port=http", "'http' is not a port"),
                        ("project=My App", "is not a project name"), ("portless", "invalid --set 'portless'"),
                        ("token=a\"b", "--set token: the value must be one line")]:
        with pytest.raises(UsageError, match=error.replace("(", r"\(").replace(")", r"\)")) as info:
            templates.parse_sets([item], tiny)
        assert 'a"b' not in str(info.value)  # a secret's value is never shown


def test_a_secret_default_is_random_each_time(tiny: templates.Template) -> None:
    token = next(v for v in tiny.values if v.key == "token")
    first, second = templates.default_of(token), templates.default_of(token)
    assert first != second and len(first) == 32 and templates.check(token, first) is None


def test_nothing_is_overwritten_unless_forced(tiny: templates.Template, tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "devenv.yaml").write_text("mine\n")
    files = templates.render(tiny, {"project": "demo", "port": "9000", "token": "t"})
    with pytest.raises(UsageError, match=r"out: would overwrite devenv.yaml \(use --force to overwrite\)"):
        templates.write(files, target)
    assert sorted(p.name for p in target.rglob("*")) == ["devenv.yaml"]  # nothing else written
    assert (target / "devenv.yaml").read_text() == "mine\n"
    templates.write(files, target, force=True)
    assert (target / "devenv.yaml").read_text().startswith("name: demo")
    assert stat.S_IMODE((target / ".env").stat().st_mode) == 0o600
    assert os.access(target / "bin/run.sh", os.X_OK)


def test_force_never_writes_through_a_symlink(tiny: templates.Template, tmp_path: Path) -> None:
    target, elsewhere = tmp_path / "out", tmp_path / "elsewhere.txt"
    target.mkdir()
    elsewhere.write_text("keep\n")
    (target / ".env").symlink_to(elsewhere)
    files = templates.render(tiny, {"project": "demo", "port": "9000", "token": "t"})
    with pytest.raises(UsageError, match="exists and is not a regular file; nothing written"):
        templates.write(files, target, force=True)
    assert elsewhere.read_text() == "keep\n" and not (target / "devenv.yaml").exists()


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
            stdin: str = "", tty: bool = False) -> tuple[int, str, str]:
    fake = io.StringIO(stdin)
    fake.isatty = lambda: tty  # type: ignore[method-assign]
    monkeypatch.setattr(sys, "stdin", fake)
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def cli_env(tiny: templates.Template, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv(templates.ROOT_VARIABLE, str(tiny.folder.parent))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_without_template_lists_them(cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(["init"], monkeypatch, capsys) == (0, "tiny  A tiny one.\n", "")
    code, out, _ = run_cli(["init", "--format", "json"], monkeypatch, capsys)
    assert json.loads(out) == [{"name": "tiny", "description": "A tiny one.", "values": [
        {"key": "project", "type": "name", "default": "tiny"}, {"key": "port", "type": "port", "default": "8000"},
        {"key": "token", "type": "secret", "default": None}]}]


def test_init_yes_and_set_write_the_files(cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["init", "tiny", "app", "--yes", "--set", "port=9001"], monkeypatch, capsys)
    assert (code, err) == (0, "")
    assert out.splitlines()[-1] == "next: cd app && devenv up"
    assert "'127.0.0.1:9001:80'" in (cli_env / "app/devenv.yaml").read_text()
    token = (cli_env / "app/.env").read_text().strip().partition("=")[2]
    assert len(token) == 32 and token not in out  # the secret is written, never printed
    code, out, err = run_cli(["init", "tiny", "app", "--yes"], monkeypatch, capsys)
    assert code == 2 and out == "" and err.count("\n") == 1 and "would overwrite .env, bin/run.sh, devenv.yaml" in err
    assert run_cli(["init", "tiny", "app", "--yes", "--force"], monkeypatch, capsys)[0] == 0


def test_init_refuses_to_guess_without_a_terminal(cli_env: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(["init", "tiny", "app"], monkeypatch, capsys)
    assert code == 2 and err == ("devenv: init tiny: no terminal to ask for project, port, token on; "
                                 "use --yes for the defaults (and --set KEY=VALUE)\n")
    assert not (cli_env / "app").exists()
    # Every value given: nothing to ask, so no terminal is needed.
    code, _, err = run_cli(["init", "tiny", "app", "--set", "project=p", "--set", "port=1", "--set", "token=t"], monkeypatch, capsys)
    assert (code, err) == (0, "")


@pytest.mark.filterwarnings("ignore::getpass.GetPassWarning")  # the test's stdin is no terminal
def test_init_asks_each_value_with_its_default(cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # project: taken as default; port: a bad answer is asked again; token: hidden.
    code, out, err = run_cli(["init", "tiny"], monkeypatch, capsys, stdin="\nnope\n9002\nhunter2\n", tty=True)
    assert code == 0, err
    assert "Name [tiny]: " in err and "'nope' is not a port" in err and "hunter2" not in out + err
    assert (cli_env / "devenv.yaml").read_text().startswith("name: tiny\n")
    assert (cli_env / ".env").read_text() == "TOKEN=hunter2\n"
    assert out.splitlines()[-1] == "next: devenv up"


def test_init_errors_are_one_line(cli_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    for args, error in [(["init", "nope"], "devenv: no template 'nope' (templates: tiny)\n"),
                        (["init", "--set", "a=b"], "devenv: --set and --force need a TEMPLATE (`devenv init` alone lists them)\n"),
                        (["init", "tiny", "--yes", "--set", "x=1"],
                         "devenv: --set x: template tiny has no value 'x' (values: project, port, token)\n")]:
        assert run_cli(args, monkeypatch, capsys) == (2, "", error)


def test_init_does_not_import_the_docker_sdk() -> None:
    import subprocess

    code = ("import sys; from devenv.cli import main; main(['init', '--format', 'json']); "
            "assert 'docker' not in sys.modules, 'docker imported'")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert result.returncode == 0, result.stderr


def test_template_names_are_completed() -> None:
    from devenv.cli.init_cmd import _complete_templates

    assert [c.value for c in _complete_templates(None, None, "web")] == ["web-postgres", "web-redis"]  # type: ignore[arg-type]
