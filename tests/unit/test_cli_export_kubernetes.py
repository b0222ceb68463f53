"""`devenv export kubernetes` end to end without an engine (none is needed, and no cluster runs
here): the quickstart and the legacy graphite examples export and every file validates against the
Kubernetes API's JSON schema (kubernetes-validate, from the test extra); a second run writes the
same bytes; a refusal writes nothing; Secrets never reach the terminal."""

from __future__ import annotations

import json
import os
import stat
import textwrap
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from devenv.cli import main
from devenv.plan.kubernetes import SCHEMA_VERSION

REPO = Path(__file__).resolve().parents[2]
REGISTRY = "registry.example.com/team"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def validated(folder: Path) -> dict[str, dict]:
    """Every YAML file of the folder, each checked against the API schema (strict: no unknown field)."""
    objects = {}
    for path in sorted(folder.glob("*.yaml")):
        documents = [d for d in yaml.safe_load_all(path.read_text()) if d]
        assert len(documents) == 1, path
        kubernetes_validate.validate(documents[0], SCHEMA_VERSION, strict=True)
        objects[path.name] = documents[0]
    return objects


def test_quickstart_exports_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k8s"
    compose = str(REPO / "examples/quickstart/devenv.yaml")
    code, stdout, err = run(capsys, "-f", compose, "export", "kubernetes", "-o", str(out), "--registry", REGISTRY, "--validate")
    assert code == 0, err
    objects = validated(out)
    assert sorted(objects) == [
        "db-data-persistentvolumeclaim.yaml", "db-deployment.yaml", "db-service.yaml",
        "metrics-data-persistentvolumeclaim.yaml", "metrics-deployment.yaml", "metrics-service.yaml",
        "web-deployment.yaml", "web-env-configmap.yaml", "web-service.yaml",
    ]
    web = objects["web-deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]
    assert web["image"] == f"{REGISTRY}/quickstart-web:latest"
    assert web["readinessProbe"]["exec"]["command"][0] == "python3"
    # web reaches db:7000 and metrics:2003 as under Compose: their Dockerfiles' EXPOSE give the Services
    assert [p["port"] for p in objects["db-service.yaml"]["spec"]["ports"]] == [7000]
    assert [p["port"] for p in objects["metrics-service.yaml"]["spec"]["ports"]] == [2003, 8081]
    assert objects["web-env-configmap.yaml"]["data"] == {"DB_URL": "http://db:7000", "METRICS_ADDR": "metrics:2003"}
    assert "web-deployment.yaml" in stdout and "9 object(s)" in err

    # a second run: the same bytes, no file rewritten
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
    code, _, err = run(capsys, "-f", compose, "export", "kubernetes", "-o", str(out), "--registry", REGISTRY)
    assert code == 0 and "0 file(s) written" in err
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before


def test_legacy_graphite_exports_and_validates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "k8s"
    compose = str(REPO / "examples/legacy-graphite/docker-compose.yml")
    code, _, err = run(capsys, "-f", compose, "export", "kubernetes", "-o", str(out), "--registry", REGISTRY, "--validate")
    assert code == 0, err
    objects = validated(out)
    # graphite-web reads carbon's storage through volumes_from: one shared claim, mounted by both
    claim = objects["carbon-opt-graphite-storage-persistentvolumeclaim.yaml"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for name in ("carbon", "graphite-web"):
        mounts = objects[f"{name}-deployment.yaml"]["spec"]["template"]["spec"]["containers"][0]["volumeMounts"]
        assert [m["mountPath"] for m in mounts] == ["/opt/graphite/storage"]
    assert "user-registration-service.yaml" in objects and "carbon-service.yaml" in objects


def test_refusal_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""\
        services:
          web: {image: nginx, network_mode: host, volumes: ["./src:/src"]}
          db: {image: postgres, privileged: true}
    """))
    out = tmp_path / "k8s"
    code, stdout, err = run(capsys, "-f", str(tmp_path / "compose.yaml"), "export", "kubernetes", "-o", str(out))
    assert code == 1 and stdout == ""
    assert err.splitlines() == [
        "devenv: db: privileged: true cannot be exported to Kubernetes",
        "devenv: web: network_mode: host cannot be exported to Kubernetes",
        f"devenv: web: volumes: {tmp_path}/src:/src cannot be exported to Kubernetes (a bind mount of this machine's files)",
        "devenv: nothing written: 3 item(s) cannot be exported (--skip-unsupported leaves them out)",
    ]
    assert not out.exists()

    code, _, err = run(capsys, "-f", str(tmp_path / "compose.yaml"), "export", "kubernetes", "-o", str(out), "--skip-unsupported",
                       "--validate")
    assert code == 0
    assert "devenv: skipped web: network_mode: host cannot be exported to Kubernetes" in err.splitlines()
    assert sorted(validated(out)) == ["db-deployment.yaml", "web-deployment.yaml"]


def test_secrets_never_reach_the_terminal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "pw.txt").write_text("file-secret-value")
    (tmp_path / "compose.yaml").write_text(textwrap.dedent("""\
        services:
          web: {image: nginx, environment: {API_TOKEN: env-secret-value}, secrets: [pw]}
        secrets:
          pw: {file: ./pw.txt}
    """))
    compose = str(tmp_path / "compose.yaml")
    code, stdout, err = run(capsys, "-f", compose, "export", "kubernetes", "-o", "-")
    assert code == 2 and stdout == ""
    assert err.strip() == "devenv: -o - would print Secret(s) pw, web-env on the terminal; write them to a folder (-o DIR)"

    out = tmp_path / "k8s"
    code, stdout, err = run(capsys, "-f", compose, "export", "kubernetes", "-o", str(out), "--format", "json")
    assert code == 0
    assert "secret-value" not in stdout + err
    report = json.loads(stdout)
    assert {(o["kind"], o["name"]) for o in report["objects"]} >= {("Secret", "pw"), ("Secret", "web-env")}
    for name in ("pw-secret.yaml", "web-env-secret.yaml"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "web-deployment.yaml").st_mode) == 0o644
    validated(out)


def test_dry_run_writes_nothing_and_stale_files_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text("services:\n  web: {image: nginx}\n  api: {image: nginx}\n")
    out = tmp_path / "k8s"
    code, _, err = run(capsys, "-f", str(compose), "--dry-run", "export", "kubernetes", "-o", str(out))
    assert code == 0 and not out.exists()
    assert f"dry run: would write {out}/api-deployment.yaml (Deployment api)" in err.splitlines()
    assert run(capsys, "-f", str(compose), "export", "kubernetes", "-o", str(out))[0] == 0
    (out / "notes.yaml").write_text("mine: true\n")  # not ours: never named, never touched
    compose.write_text("services:\n  web: {image: nginx}\n")
    code, _, err = run(capsys, "-f", str(compose), "export", "kubernetes", "-o", str(out))
    assert code == 0
    assert [line for line in err.splitlines() if "earlier export" in line] == [
        f"devenv: note: {out}/api-deployment.yaml is from an earlier export and matches no object now; "
        "remove it (and its object: kubectl delete -f FILE)"]
    assert (out / "api-deployment.yaml").exists() and (out / "notes.yaml").read_text() == "mine: true\n"


def test_stdout_is_one_multi_document_stream(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  web: {image: nginx, expose: ['80']}\n")
    code, stdout, _ = run(capsys, "-f", str(tmp_path / "compose.yaml"), "export", "kubernetes", "-o", "-", "-n", "dev")
    assert code == 0
    documents = list(yaml.safe_load_all(stdout))
    assert [(d["kind"], d["metadata"]["name"], d["metadata"]["namespace"]) for d in documents] == [
        ("Service", "web", "dev"), ("Deployment", "web", "dev")]


def test_help_and_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "export", "kubernetes")
    assert code == 2 and "missing option '-o'" in err.lower()
    code, _, err = run(capsys, "export", "swarm", "-o", "x")
    assert code == 2


def test_frozen_needs_a_lock_and_pins_digests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from devenv import lockfile

    compose = tmp_path / "compose.yaml"
    compose.write_text("name: shop\nservices:\n  db: {image: 'postgres:16'}\n")
    code, _, err = run(capsys, "-f", str(compose), "export", "kubernetes", "-o", "-", "--frozen")
    assert code == 2 and err.strip() == "devenv: --frozen needs a lock file: devenv.lock does not exist (run devenv lock)"
    digest = "sha256:" + "c" * 64
    lockfile.write(str(tmp_path / "devenv.lock"),
                   lockfile.LockFile("shop", None, {"db": lockfile.ServiceLock(image="postgres:16", digest=digest)}))
    code, stdout, _ = run(capsys, "-f", str(compose), "export", "kubernetes", "-o", "-", "--frozen")
    assert code == 0 and f"image: postgres@{digest}" in stdout


def test_same_bytes_whatever_the_hash_seed(tmp_path: Path) -> None:
    """Nothing in the output depends on set or dict iteration order of a process."""
    import subprocess
    import sys

    outputs = []
    for seed in ("1", "2"):
        done = subprocess.run(
            [sys.executable, "-m", "devenv", "-f", str(REPO / "examples/legacy-graphite/docker-compose.yml"),
             "export", "kubernetes", "-o", "-", "--registry", REGISTRY],
            capture_output=True, text=True, timeout=120, cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and outputs[0].count("\n---\n") == 6
