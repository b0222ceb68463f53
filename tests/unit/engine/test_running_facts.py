"""What runs, read back into plan.declared's format (engine/running.container_facts, pure)."""

from __future__ import annotations

from typing import Any

from devenv.engine.running import _pick, container_facts
from devenv.plan.declared import environment, is_secret_digest

IMAGE = {
    "Id": "sha256:img",
    "RepoDigests": ["127.0.0.1:5000/p/web@sha256:d1"],
    "Config": {
        "Env": ["PATH=/bin", "FOO=bar"], "Cmd": ["sh"], "Entrypoint": None, "Volumes": {"/imgvol": {}},
        "Healthcheck": {"Test": ["CMD", "image-check"]},
    },
}


def inspect(**config: Any) -> dict[str, Any]:
    host = config.pop("host", {})
    mounts = config.pop("mounts", [])
    return {
        "Image": "sha256:img",
        "Config": {"Image": "app:1", "Labels": {"com.docker.compose.service": "web"}, "Env": ["PATH=/bin", "FOO=bar"],
                   "Cmd": ["sh"], "Entrypoint": None, "Healthcheck": {"Test": ["CMD", "image-check"]}, **config},
        "HostConfig": {"ShmSize": 64 * 1024 * 1024, **host},
        "Mounts": mounts,
    }


def test_the_image_defaults_read_as_undeclared() -> None:
    service, facts = container_facts("p", inspect(), IMAGE)
    assert service == "web"
    assert facts.declared == {
        "image": "app:1", "command": None, "entrypoint": None, "environment": {}, "ports": [], "volumes": [],
        "healthcheck": None, "resources": {},
    }
    assert facts.image.id == "sha256:img" and facts.image.repo_digests == ("127.0.0.1:5000/p/web@sha256:d1",)


def test_environment_minus_the_image_own_entries_secrets_digested() -> None:
    env = ["PATH=/bin", "FOO=baz", "A=1", "EMPTY=", "DB_PASSWORD=s3cret-value", "BARE"]
    _, facts = container_facts("p", inspect(Env=env), IMAGE)
    got = facts.declared["environment"]  # type: ignore[index]
    assert got == environment("web", {"FOO": "baz", "A": "1", "EMPTY": "", "DB_PASSWORD": "s3cret-value", "BARE": None})
    assert is_secret_digest(got["DB_PASSWORD"]) and "s3cret-value" not in repr(facts)


def test_command_and_entrypoint() -> None:
    _, facts = container_facts("p", inspect(Cmd=["sleep", "1"], Entrypoint=["sh", "-c"]), IMAGE)
    assert facts.declared["command"] == ["sleep", "1"] and facts.declared["entrypoint"] == ["sh", "-c"]  # type: ignore[index]
    _, facts = container_facts("p", inspect(Cmd=None), IMAGE)
    assert facts.declared["command"] is None  # type: ignore[index]


def test_ports_name_their_host() -> None:
    bindings = {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": "8080"}], "90/udp": [{"HostIp": "", "HostPort": "9000"}],
                "70/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}]}
    _, facts = container_facts("p", inspect(host={"PortBindings": bindings}), IMAGE)
    assert facts.declared["ports"] == sorted(["0.0.0.0:9000:90/udp", "127.0.0.1::70/tcp", "127.0.0.1:8080:80/tcp"])  # type: ignore[index]


def test_volumes() -> None:
    anon = "a" * 64
    mounts = [
        {"Type": "volume", "Name": "p_data", "Destination": "/data", "RW": True},
        {"Type": "volume", "Name": "b" * 64, "Destination": "/anon", "RW": True},
        {"Type": "volume", "Name": anon, "Destination": "/imgvol", "RW": True},  # the image's own VOLUME
        {"Type": "volume", "Name": "external-vol", "Destination": "/ext", "RW": False},
        {"Type": "bind", "Source": "/src", "Destination": "/src", "RW": False},
        {"Type": "bind", "Source": "/x/tok.txt", "Destination": "/run/secrets/tok", "RW": False},
        {"Type": "bind", "Source": "/x/conf", "Destination": "/conf", "RW": False},
    ]
    host = {"Mounts": [{"Type": "tmpfs", "Target": "/cache"}]}
    _, facts = container_facts("p", inspect(mounts=mounts, host=host), IMAGE, volume_keys={"p_data": "data"},
                               file_targets=frozenset({"/conf"}))
    assert facts.declared["volumes"] == [  # type: ignore[index]
        "bind:/src:/src,ro", "tmpfs::/cache", "volume::/anon", "volume:data:/data", "volume:external-vol:/ext,ro"]


def test_healthcheck() -> None:
    health = {"Test": ["CMD-SHELL", "true"], "Interval": 90 * 10**9, "Timeout": 5 * 10**9, "Retries": 3, "StartPeriod": 60 * 10**9}
    _, facts = container_facts("p", inspect(Healthcheck=health), IMAGE)
    assert facts.declared["healthcheck"] == {  # type: ignore[index]
        "interval": "1m30s", "retries": 3, "start_period": "1m0s", "test": ["CMD-SHELL", "true"], "timeout": "5s"}
    _, facts = container_facts("p", inspect(Healthcheck={"Test": ["NONE"]}), IMAGE)
    assert facts.declared["healthcheck"] == {"disable": True}  # type: ignore[index]


def test_resources() -> None:
    host = {"Memory": 256 * 1024**2, "MemorySwap": 512 * 1024**2, "NanoCpus": 250_000_000, "PidsLimit": 10,
            "CpuShares": 512, "MemoryReservation": 100, "CpusetCpus": "0", "ShmSize": 128 * 1024**2}
    _, facts = container_facts("p", inspect(host=host), IMAGE)
    assert facts.declared["resources"] == {  # type: ignore[index]
        "cpu_shares": 512, "cpus": 0.25, "cpuset": "0", "memory": 256 * 1024**2, "memory_reservation": 100, "pids": 10,
        "shm_size": 128 * 1024**2}
    _, facts = container_facts("p", inspect(host={"Memory": 10, "MemorySwap": 30, "NanoCpus": 2 * 10**9, "PidsLimit": -1}), IMAGE)
    assert facts.declared["resources"] == {"cpus": 2, "memory": 10, "memswap": 30}  # type: ignore[index]


def test_build_only_service_has_no_image_reference() -> None:
    _, facts = container_facts("p", inspect(Image="p-web"), IMAGE)
    assert facts.declared["image"] is None  # type: ignore[index]


def test_pick_prefers_running_then_lowest_number_and_skips_one_offs() -> None:
    def c(cid: str, service: str, number: str, state: str, oneoff: str = "False") -> dict[str, Any]:
        return {"Id": cid, "State": state, "Labels": {"com.docker.compose.service": service,
                "com.docker.compose.container-number": number, "com.docker.compose.oneoff": oneoff}}

    chosen = _pick([c("1", "web", "1", "exited"), c("2", "web", "2", "running"), c("3", "web", "3", "running"),
                    c("4", "db", "1", "running", oneoff="True"), c("5", "db", "2", "exited")])
    assert {k: v["Id"] for k, v in chosen.items()} == {"web": "2", "db": "5"}


def test_the_image_defaults_count_as_declared_when_the_other_side_declares_them() -> None:
    hint = {"command": ["sh"], "environment": {"FOO": "bar"}, "healthcheck": {"test": ["CMD", "image-check"]}}
    _, facts = container_facts("p", inspect(), IMAGE, hint=hint)
    assert facts.declared["command"] == ["sh"]  # type: ignore[index]
    assert facts.declared["environment"] == {"FOO": "bar"}  # type: ignore[index]
    assert facts.declared["healthcheck"] == {"test": ["CMD", "image-check"]}  # type: ignore[index]
    other = {"command": ["other"], "environment": {"FOO": "other"}, "healthcheck": {"test": ["CMD", "x"]}}
    _, facts = container_facts("p", inspect(), IMAGE, hint=other)
    assert facts.declared["command"] is None and facts.declared["environment"] == {}  # type: ignore[index]
    assert facts.declared["healthcheck"] is None  # type: ignore[index]


DIGEST = "sha256:" + "a" * 64


def test_a_frozen_container_runs_what_the_other_side_declares() -> None:
    """`up --frozen` creates containers from `repo@digest`: the reference reads as the declared
    tag of the same repository (the digest is compared with the image facts), and as undeclared
    for a pushed build (declared without image:)."""
    pinned = inspect(Image=f"127.0.0.1:5000/p/web@{DIGEST}")
    assert container_facts("p", pinned, IMAGE, hint={"image": "127.0.0.1:5000/p/web:1"})[1].declared["image"] == "127.0.0.1:5000/p/web:1"
    assert container_facts("p", pinned, IMAGE, hint={"image": None})[1].declared["image"] is None
    other = container_facts("p", pinned, IMAGE, hint={"image": "127.0.0.1:5000/p/other:1"})[1].declared["image"]
    assert other == f"127.0.0.1:5000/p/web@{DIGEST}"
    assert container_facts("p", inspect(), IMAGE, hint={"image": "zzz:1"})[1].declared["image"] == "app:1"
