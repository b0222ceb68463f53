"""Service secrets and configs outside Swarm: files are bind-mounted read-only, contents are copied
into the container after create and before start, and secret values never show in a plan."""

from __future__ import annotations

import dataclasses
import json
from types import MappingProxyType

import pytest

from devenv.model import freeze
from devenv.plan import UnsupportedFeature, container_spec
from devenv.plan.actions import Op
from tests.unit.plan.plan_factories import IMAGE_ID, empty_state, make_project, svc
from tests.unit.plan.test_plan_up import up


def project_with(secrets=None, configs=None, environment=None, uses_secrets=None, uses_configs=None):  # type: ignore[no-untyped-def]
    service = {k: v for k, v in (("secrets", uses_secrets), ("configs", uses_configs)) if v is not None}
    project = make_project({"web": svc(**service)})
    return dataclasses.replace(
        project,
        secrets=freeze(secrets or {}),
        configs=freeze(configs or {}),
        environment=MappingProxyType(dict(environment or {})),
    )


def test_a_file_secret_is_bind_mounted_read_only_under_run_secrets() -> None:
    project = project_with(secrets={"token": {"file": "/src/demo/token.txt"}}, uses_secrets=[{"source": "token"}])
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID)
    assert "/src/demo/token.txt:/run/secrets/token:ro" in spec.create_body()["HostConfig"]["Binds"]
    assert spec.files == ()


def test_a_file_config_is_bind_mounted_read_only_at_its_target() -> None:
    project = project_with(configs={"conf": {"file": "/src/demo/app.conf"}}, uses_configs=[{"source": "conf", "target": "/etc/app.conf"}])
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID)
    assert "/src/demo/app.conf:/etc/app.conf:ro" in spec.create_body()["HostConfig"]["Binds"]


def test_an_environment_secret_is_copied_in_with_its_mode_and_never_shown() -> None:
    project = project_with(
        secrets={"token": {"environment": "TOKEN"}},
        environment={"TOKEN": "s3cr3t-value"},
        uses_secrets=[{"source": "token", "target": "api", "mode": "0400", "uid": "10", "gid": "20"}],
    )
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID)
    (item,) = spec.files
    assert (item.path, item.mode, item.uid, item.gid, str(item.content)) == ("/run/secrets/api", 0o400, 10, 20, "s3cr3t-value")
    plan = up(project, empty_state(project))
    copy = plan.get("copy_files:demo-web-1")
    assert plan.get("start_container:demo-web-1").after[-1] == copy.id or plan.depends_on("start_container:demo-web-1", copy.id)
    assert "s3cr3t-value" not in plan.describe()
    assert "s3cr3t-value" not in plan.to_json()
    assert "s3cr3t-value" not in json.dumps(spec.to_dict()) and "s3cr3t-value" not in repr(spec.files)


def test_a_content_config_is_copied_to_slash_name_by_default() -> None:
    project = project_with(configs={"motd": {"content": "hello"}}, uses_configs=[{"source": "motd"}])
    (item,) = container_spec(project, "web", 1, image_id=IMAGE_ID).files
    assert (item.path, str(item.content), item.mode) == ("/motd", "hello", 0o444)


def test_changing_a_config_content_recreates_the_container() -> None:
    before = project_with(configs={"motd": {"content": "hello"}}, uses_configs=[{"source": "motd"}])
    after = project_with(configs={"motd": {"content": "bye"}}, uses_configs=[{"source": "motd"}])
    a = container_spec(before, "web", 1, image_id=IMAGE_ID)
    b = container_spec(after, "web", 1, image_id=IMAGE_ID)
    # Compose's hash leaves file contents out; devenv's per-field digest sees them.
    assert a.field_hashes["file_objects"] != b.field_hashes["file_objects"]


@pytest.mark.parametrize(
    "definition, message",
    [
        ({"external": True}, "external secrets are a Swarm feature"),
        ({"driver": "vault"}, "uses driver, a Swarm feature"),
        ({"environment": "UNSET_VARIABLE"}, r"reads \$UNSET_VARIABLE, which is not set"),
    ],
)
def test_secrets_devenv_cannot_provide_are_refused(definition, message) -> None:  # type: ignore[no-untyped-def]
    project = project_with(secrets={"token": definition}, uses_secrets=[{"source": "token"}])
    with pytest.raises(UnsupportedFeature, match=message):
        container_spec(project, "web", 1, image_id=IMAGE_ID)


def test_copy_files_is_one_action_between_create_and_start() -> None:
    project = project_with(configs={"motd": {"content": "hello"}}, uses_configs=[{"source": "motd"}])
    plan = up(project, empty_state(project))
    ops = [a.op for a in plan.actions if a.target == "demo-web-1"]
    assert ops.index(Op.CREATE_CONTAINER) < ops.index(Op.COPY_FILES) < ops.index(Op.START_CONTAINER)
