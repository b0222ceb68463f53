"""`ps` output as Compose prints it: ports, ages, Go templates, the column layout, the JSON schema."""

from __future__ import annotations

import json

import pytest

from devenv.cli.psformat import Template, container_fields, displayable_ports, human_duration, render, tabulate
from devenv.errors import UsageError

SUMMARY = {
    "Id": "ae882abcf41ac64f8d0e7bcb87f7a2b95079dffa506b20f0005f0c83b3a4cddc",
    "Names": ["/demo-web-1"],
    "Image": "devenv/busybox:latest",
    "Command": "sh -c 'echo hi; sleep 3600'",
    "Created": 1_700_000_000,
    "State": "running",
    "Status": "Up 2 minutes (healthy)",
    "Labels": {"com.docker.compose.project": "demo", "com.docker.compose.service": "web"},
    "Ports": [
        {"IP": "::", "PrivatePort": 9090, "PublicPort": 32768, "Type": "tcp"},
        {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 18080, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 9090, "PublicPort": 32768, "Type": "tcp"},
    ],
    "Mounts": [{"Name": "demo_data", "Driver": "local"}, {"Name": "8eb65f96975537aa11", "Driver": "local"}, {"Source": "/src"}],
    "NetworkSettings": {"Networks": {"demo_default": {}}},
}


def test_ports_as_docker_shows_them() -> None:
    fields = container_fields(SUMMARY, now=1_700_000_130)
    assert fields["Ports"] == "127.0.0.1:18080->80/tcp, 0.0.0.0:32768->9090/tcp, [::]:32768->9090/tcp"
    assert fields["Publishers"][0] == {"URL": "127.0.0.1", "TargetPort": 80, "PublishedPort": 18080, "Protocol": "tcp"}
    same = [{"URL": "0.0.0.0", "TargetPort": p, "PublishedPort": p, "Protocol": "tcp"} for p in (5000, 5001)]
    assert displayable_ports(same + [{"URL": "", "TargetPort": 53, "PublishedPort": 0, "Protocol": "udp"}]) == \
        "53/udp, 0.0.0.0:5000-5001->5000-5001/tcp"


def test_the_json_schema_of_compose() -> None:
    fields = container_fields(SUMMARY, now=1_700_000_130)
    assert fields["Name"] == fields["Names"] == "demo-web-1"
    assert fields["ID"] == "ae882abcf41a" and fields["Command"] == '"sh -c \'echo hi; sle…"'
    assert (fields["Service"], fields["Project"], fields["State"], fields["Health"]) == ("web", "demo", "running", "healthy")
    assert (fields["LocalVolumes"], fields["Mounts"], fields["Networks"]) == ("2", "demo_data,8eb65f96975537…,/src", "demo_default")
    assert fields["RunningFor"] == "2 minutes ago" and fields["ExitCode"] == 0 and fields["Size"] == "0B"
    full = container_fields(SUMMARY, trunc=False)
    assert full["ID"] == SUMMARY["Id"] and full["Command"] == '"sh -c \'echo hi; sleep 3600\'"'
    line = render([SUMMARY], "json")[0]
    assert "\\u003e" in line and list(json.loads(line)) == sorted(json.loads(line))
    exited = container_fields(SUMMARY | {"State": "exited", "Status": "Exited (3) 5 seconds ago"})
    assert exited["ExitCode"] == 3 and exited["Health"] == ""


@pytest.mark.parametrize("seconds, says", [(0.5, "Less than a second"), (1, "1 second"), (59, "59 seconds"),
                                           (90, "About a minute"), (600, "10 minutes"), (3600, "About an hour"),
                                           (5 * 3600, "5 hours"), (3 * 86400, "3 days"), (20 * 86400, "2 weeks")])
def test_ages(seconds: float, says: str) -> None:
    assert human_duration(seconds) == says


def test_templates() -> None:
    context = container_fields(SUMMARY) | {"_labels": SUMMARY["Labels"]}
    known = list(context)
    assert Template("{{.Name}}\t{{.State}}", known).render(context) == "demo-web-1\trunning"
    assert Template('{{ .Label "com.docker.compose.service" }}!', known).render(context) == "web!"
    assert Template("{{json .Publishers}}", known).render(context).startswith('[{"URL":"127.0.0.1"')
    assert Template("{{upper .Service}} {{- .State}}", known).render(context) == "WEBrunning"
    with pytest.raises(UsageError, match="can't evaluate field Nope"):
        Template("{{.Nope}}", known)
    with pytest.raises(UsageError, match="not defined"):
        Template("{{frob .Name}}", known)


def test_tables_are_laid_out_as_docker_does() -> None:
    lines = render([SUMMARY], "table {{.Name}}\\t{{.State}}\\t{{.Service}}")
    assert lines == ["NAME         STATE     SERVICE", "demo-web-1   running   web"]
    assert tabulate(["a\tb", "ccc\td"], minwidth=2, padding=1) == "a   b\nccc d"
    assert render([SUMMARY], "table")[0].split() == ["NAME", "IMAGE", "COMMAND", "SERVICE", "CREATED", "STATUS", "PORTS"]
