"""The create body, field by field: each Compose setting and the Engine API field it becomes."""

from __future__ import annotations

import json

import pytest

from devenv.plan.containerspec import container_spec
from tests.unit.plan.plan_factories import IMAGE, IMAGE_ID, make_project, svc


def body(publish_host: str = "127.0.0.1", top_networks=None, top_volumes=None, extra=None, **config) -> dict:
    services = {"web": svc(**config), **(extra or {})}
    project = make_project(services, networks=top_networks, volumes=top_volumes)
    return container_spec(project, "web", 1, image_id=IMAGE_ID, publish_host=publish_host).create_body()


def host(**config) -> dict:
    return body(**config)["HostConfig"]


def test_a_minimal_service() -> None:
    b = body()
    assert b["Image"] == IMAGE
    assert b["HostConfig"] == {"NetworkMode": "demo_default"}
    assert b["NetworkingConfig"] == {"EndpointsConfig": {"demo_default": {"Aliases": ["demo-web-1", "web"]}}}
    assert "Cmd" not in b and "Entrypoint" not in b and "Env" not in b
    json.dumps(b)  # plain JSON data


def test_build_only_service_uses_the_project_image_name() -> None:
    assert body(image=..., build={"context": "/src"})["Image"] == "demo-web"


def test_command_and_entrypoint() -> None:
    b = body(command=["sh", "-c", "echo hi"], entrypoint=["/bin/env", "-i"])
    assert b["Cmd"] == ["sh", "-c", "echo hi"] and b["Entrypoint"] == ["/bin/env", "-i"]
    cleared = body(command=[], entrypoint=[])
    assert cleared["Cmd"] == [] and cleared["Entrypoint"] == []  # [] clears the image's, null keeps it


def test_environment() -> None:
    assert body(environment={"A": "1", "UNSET": None, "EMPTY": ""})["Env"] == ["A=1", "UNSET", "EMPTY="]


@pytest.mark.parametrize(
    "port,key,binding",
    [
        ({"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}, "80/tcp", {"HostIp": "127.0.0.1", "HostPort": "8080"}),
        ({"mode": "ingress", "target": 53, "published": "5353", "protocol": "udp"}, "53/udp", {"HostIp": "127.0.0.1", "HostPort": "5353"}),
        ({"mode": "ingress", "target": 80, "protocol": "tcp"}, "80/tcp", {"HostIp": "127.0.0.1", "HostPort": ""}),
        ({"mode": "ingress", "host_ip": "0.0.0.0", "target": 80, "published": "80", "protocol": "tcp"}, "80/tcp", {"HostIp": "0.0.0.0", "HostPort": "80"}),
        ({"mode": "ingress", "host_ip": "::1", "target": 6000, "published": "6000", "protocol": "tcp"}, "6000/tcp", {"HostIp": "::1", "HostPort": "6000"}),
        ({"mode": "ingress", "target": 80, "published": "8000-8002", "protocol": "tcp"}, "80/tcp", {"HostIp": "127.0.0.1", "HostPort": "8000-8002"}),
    ],
)
def test_ports(port, key, binding) -> None:
    b = body(ports=[port])
    assert b["ExposedPorts"] == {key: {}}
    assert b["HostConfig"]["PortBindings"] == {key: [binding]}


def test_port_ranges_arrive_expanded_and_bind_one_by_one() -> None:
    ports = [{"mode": "ingress", "target": p, "published": str(p + 10000), "protocol": "udp"} for p in (9000, 9001)]
    assert host(ports=ports)["PortBindings"] == {
        "9000/udp": [{"HostIp": "127.0.0.1", "HostPort": "19000"}],
        "9001/udp": [{"HostIp": "127.0.0.1", "HostPort": "19001"}],
    }


def test_publish_host_is_the_callers() -> None:
    port = [{"mode": "ingress", "target": 80, "published": "8080", "protocol": "tcp"}]
    assert host(publish_host="192.0.2.7", ports=port)["PortBindings"]["80/tcp"][0]["HostIp"] == "192.0.2.7"
    # 0.0.0.0 (every interface) is sent as Compose does, without host IP: the engine then binds :: too
    assert host(publish_host="0.0.0.0", ports=port)["PortBindings"]["80/tcp"][0]["HostIp"] == ""
    assert host(publish_host="", ports=port)["PortBindings"]["80/tcp"][0]["HostIp"] == ""


def test_one_target_published_twice() -> None:
    ports = [{"mode": "ingress", "target": 80, "published": "80", "protocol": "tcp"}, {"mode": "ingress", "host_ip": "::1", "target": 80, "published": "80", "protocol": "tcp"}]
    assert host(ports=ports)["PortBindings"]["80/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "80"}, {"HostIp": "::1", "HostPort": "80"}]


def test_expose() -> None:
    assert body(expose=["3000", "4000/udp", "5000-5001"])["ExposedPorts"] == {"3000/tcp": {}, "4000/udp": {}, "5000/tcp": {}, "5001/tcp": {}}


def test_volumes_named_bind_tmpfs_read_only() -> None:
    h = host(
        volumes=[
            {"type": "bind", "source": "/src/demo/data", "target": "/data", "read_only": True, "bind": {"create_host_path": True}},
            {"type": "bind", "source": "/etc/x", "target": "/x", "bind": {"selinux": "z", "create_host_path": True}},
            {"type": "volume", "source": "db", "target": "/db", "volume": {}},
            {"type": "volume", "source": "db", "target": "/db2", "read_only": True, "volume": {}},
            {"type": "tmpfs", "target": "/scratch", "tmpfs": {"size": "1000000", "mode": 1023}},
            {"type": "volume", "target": "/anon", "volume": {}},
        ],
        top_volumes={"db": {}},
    )
    assert h["Binds"] == ["/src/demo/data:/data:ro", "/etc/x:/x:rw,z", "demo_db:/db:rw", "demo_db:/db2:ro"]
    assert h["Mounts"] == [
        {"Type": "tmpfs", "TmpfsOptions": {"SizeBytes": 1000000, "Mode": 1023}, "Target": "/scratch"},
        {"Type": "volume", "Target": "/anon"},
    ]


def test_volumes_needing_the_mount_api() -> None:
    h = host(
        volumes=[
            {"type": "bind", "source": "/x", "target": "/x", "bind": {"propagation": "rslave"}},
            {"type": "bind", "source": "/y", "target": "/y", "read_only": True, "bind": {}},
            {"type": "volume", "source": "db", "target": "/d", "volume": {"nocopy": True}},
            {"type": "volume", "source": "db", "target": "/l", "volume": {"labels": {"a": "b"}}},
        ],
        top_volumes={"db": {"name": "shared-db"}},
    )
    assert "Binds" not in h
    assert h["Mounts"] == [
        {"Type": "bind", "Source": "/x", "BindOptions": {"Propagation": "rslave"}, "Target": "/x"},
        {"Type": "bind", "Source": "/y", "Target": "/y", "ReadOnly": True},  # create_host_path: false
        {"Type": "volume", "Source": "shared-db", "VolumeOptions": {"NoCopy": True}, "Target": "/d"},
        {"Type": "volume", "Source": "shared-db", "VolumeOptions": {"Labels": {"a": "b"}}, "Target": "/l"},
    ]


def test_a_replaced_containers_anonymous_volumes_are_reused() -> None:
    project = make_project({"web": svc(volumes=[{"type": "volume", "target": "/anon", "volume": {}}])})
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID, inherit_volumes={"/anon": "a" * 64, "/var/lib/image-volume": "b" * 64})
    assert spec.body["HostConfig"]["Mounts"] == (
        {"Type": "volume", "Source": "a" * 64, "Target": "/anon"},
        {"Type": "volume", "Source": "b" * 64, "Target": "/var/lib/image-volume"},
    )


def test_tmpfs() -> None:
    assert host(tmpfs=["/run:size=64k", "/cache"])["Tmpfs"] == {"/run": "size=64k", "/cache": ""}


def test_volumes_from_names_the_first_container_and_keeps_the_mode() -> None:
    extra = {"db": svc(scale=2)}
    assert host(volumes_from=["db", "db:ro", "container:legacy", "container:other:rw"], extra=extra)["VolumesFrom"] == [
        "demo-db-1",
        "demo-db-1:ro",
        "legacy",
        "other:rw",
    ]


def test_networks_aliases_static_addresses_and_extra_attachments() -> None:
    project = make_project(
        {"web": svc(networks={"front": {"aliases": ["www"], "ipv4_address": "172.28.0.10"}, "back": {"ipv6_address": "fd00::10", "link_local_ips": ["169.254.0.5"], "driver_opts": {"x": 1}}, "default": None})},
        networks={"front": {}, "back": {"name": "custom-back"}},
    )
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID)
    b = spec.create_body()
    assert b["HostConfig"]["NetworkMode"] == "custom-back"  # no priority: by key, "back" first
    assert b["NetworkingConfig"] == {
        "EndpointsConfig": {
            "custom-back": {"Aliases": ["demo-web-1", "web"], "IPAMConfig": {"IPv6Address": "fd00::10", "LinkLocalIPs": ["169.254.0.5"]}, "DriverOpts": {"x": "1"}}
        }
    }
    assert [(a.key, a.network) for a in spec.connect] == [("default", "demo_default"), ("front", "demo_front")]
    assert spec.connect[1].connect_body("demo-web-1") == {
        "Container": "demo-web-1",
        "EndpointConfig": {"Aliases": ["demo-web-1", "web", "www"], "IPAMConfig": {"IPv4Address": "172.28.0.10"}},
    }


def test_network_priority_chooses_the_primary_network() -> None:
    project = make_project({"web": svc(networks={"a": None, "z": {"priority": 100}})}, networks={"a": {}, "z": {}})
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID)
    assert spec.body["HostConfig"]["NetworkMode"] == "demo_z"
    assert [a.key for a in spec.connect] == ["a"]


def test_mac_address() -> None:
    assert body(mac_address="02:42:ac:11:65:43")["MacAddress"] == "02:42:ac:11:65:43"
    assert body(networks={"default": {"mac_address": "02:00:00:00:00:01"}})["MacAddress"] == "02:00:00:00:00:01"


def test_links_name_every_container_of_the_linked_service() -> None:
    project = make_project({"web": svc(links=["db:database", "cache"], external_links=["legacy_1", "other_1:old"]), "db": svc(scale=2), "cache": svc()})
    spec = container_spec(project, "web", 1, image_id=IMAGE_ID, scales={"db": 2})
    links = [
        "demo-db-1:database", "demo-db-1:db-1", "demo-db-1:demo-db-1",
        "demo-db-2:database", "demo-db-2:db-2", "demo-db-2:demo-db-2",
        "demo-cache-1:cache", "demo-cache-1:cache-1", "demo-cache-1:demo-cache-1",
        "legacy_1:legacy_1", "other_1:old",
    ]
    assert list(spec.body["HostConfig"]["Links"]) == links
    assert list(spec.body["NetworkingConfig"]["EndpointsConfig"]["demo_default"]["Links"]) == links


@pytest.mark.parametrize(
    "mode,expected",
    [("host", "host"), ("none", "none"), ("bridge", "bridge"), ("container:abc", "container:abc"), ("service:db", "container:demo-db-1")],
)
def test_network_mode(mode, expected) -> None:
    b = body(network_mode=mode, extra={"db": svc()})
    assert b["HostConfig"]["NetworkMode"] == expected
    assert "NetworkingConfig" not in b


def test_network_mode_disabled() -> None:
    b = body(network_mode="disabled")
    assert b["NetworkDisabled"] is True and b["HostConfig"]["NetworkMode"] == "none"


def test_a_project_without_networks_runs_without_network() -> None:
    project = make_project({"web": svc(networks={}, network_mode=...)}, networks={})
    project = type(project)(**{**project.__dict__, "networks": {}})
    assert container_spec(project, "web", 1, image_id=IMAGE_ID).body["HostConfig"]["NetworkMode"] == "none"


def test_ipc_and_pid_namespaces() -> None:
    h = host(ipc="service:db", pid="service:db", extra={"db": svc(container_name="the-db")})
    assert h["IpcMode"] == "container:the-db" and h["PidMode"] == "container:the-db"
    h = host(ipc="shareable", pid="host", uts="host", userns_mode="host", cgroup="private", cgroup_parent="p")
    assert (h["IpcMode"], h["PidMode"], h["UTSMode"], h["UsernsMode"], h["CgroupnsMode"], h["CgroupParent"]) == ("shareable", "host", "host", "host", "private", "p")


@pytest.mark.parametrize(
    "health,expected",
    [
        ({"test": ["CMD", "true"], "interval": "2s", "timeout": "1s", "retries": 3, "start_period": "1m30s"},
         {"Test": ["CMD", "true"], "Interval": 2 * 10**9, "Timeout": 10**9, "StartPeriod": 90 * 10**9, "Retries": 3}),
        ({"test": ["CMD-SHELL", "curl -f localhost"]}, {"Test": ["CMD-SHELL", "curl -f localhost"]}),
        ({"test": "curl -f localhost"}, {"Test": ["CMD-SHELL", "curl -f localhost"]}),
        ({"interval": "5s"}, {"Interval": 5 * 10**9}),
        ({"disable": True}, {"Test": ["NONE"]}),
        ({"disable": True, "test": ["CMD", "x"]}, {"Test": ["NONE"]}),
        ({"test": ["NONE"]}, {"Test": ["NONE"]}),
    ],
)
def test_healthcheck(health, expected) -> None:
    assert body(healthcheck=health)["Healthcheck"] == expected


@pytest.mark.parametrize(
    "config,expected",
    [
        ({"restart": "always"}, {"Name": "always", "MaximumRetryCount": 0}),
        ({"restart": "no"}, {"Name": "no", "MaximumRetryCount": 0}),
        ({"restart": "unless-stopped"}, {"Name": "unless-stopped", "MaximumRetryCount": 0}),
        ({"restart": "on-failure:3"}, {"Name": "on-failure", "MaximumRetryCount": 3}),
        ({"restart": "always", "deploy": {"restart_policy": {"condition": "on-failure", "max_attempts": 2}}}, {"Name": "on-failure", "MaximumRetryCount": 2}),
        ({"deploy": {"restart_policy": {"condition": "any"}}}, {"Name": "always", "MaximumRetryCount": 0}),
        ({"deploy": {"restart_policy": {"condition": "none"}}}, {"Name": "no", "MaximumRetryCount": 0}),
    ],
)
def test_restart(config, expected) -> None:
    assert host(**config)["RestartPolicy"] == expected


def test_labels_identity_and_process_settings() -> None:
    b = body(
        labels={"x.y": "z"}, working_dir="/app", user="1000:1000", hostname="h", domainname="example.com",
        tty=True, stdin_open=True, stop_signal="SIGINT", stop_grace_period="1m30s",
    )
    assert b["Labels"]["x.y"] == "z"
    assert (b["WorkingDir"], b["User"], b["Hostname"], b["Domainname"]) == ("/app", "1000:1000", "h", "example.com")
    assert (b["Tty"], b["OpenStdin"], b["StopSignal"], b["StopTimeout"]) == (True, True, "SIGINT", 90)


def test_false_tty_and_stdin_are_left_to_the_engine() -> None:
    b = body(tty=False, stdin_open=False)
    assert "Tty" not in b and "OpenStdin" not in b


def test_host_settings() -> None:
    h = host(
        extra_hosts=["somehost=162.242.195.82", "v6=::1"], dns=["8.8.8.8"], dns_search=["example.com"], dns_opt=["use-vc"],
        cap_add=["NET_ADMIN", "cap_sys_time", "ALL"], cap_drop=["MKNOD"], privileged=True, init=True, read_only=True,
        security_opt=["no-new-privileges:true"], group_add=["audio", 1000], sysctls={"net.core.somaxconn": 1024},
        shm_size="67108864", runtime="runc", storage_opt={"size": "1G"}, oom_score_adj=100, oom_kill_disable=True,
    )
    assert h["ExtraHosts"] == ["somehost:162.242.195.82", "v6:::1"]
    assert (h["Dns"], h["DnsSearch"], h["DnsOptions"]) == (["8.8.8.8"], ["example.com"], ["use-vc"])
    assert h["CapAdd"] == ["CAP_NET_ADMIN", "CAP_SYS_TIME", "ALL"] and h["CapDrop"] == ["CAP_MKNOD"]
    assert (h["Privileged"], h["Init"], h["ReadonlyRootfs"]) == (True, True, True)
    assert h["SecurityOpt"] == ["no-new-privileges:true"] and h["GroupAdd"] == ["audio", "1000"]
    assert h["Sysctls"] == {"net.core.somaxconn": "1024"} and h["ShmSize"] == 67108864
    assert (h["Runtime"], h["StorageOpt"], h["OomScoreAdj"], h["OomKillDisable"]) == ("runc", {"size": "1G"}, 100, True)


def test_init_false_is_sent() -> None:
    assert host(init=False)["Init"] is False


def test_systempaths_unconfined() -> None:
    h = host(security_opt=["systempaths=unconfined", "label=disable"])
    assert h["SecurityOpt"] == ["label=disable"] and h["MaskedPaths"] == [] and h["ReadonlyPaths"] == []


def test_ulimits() -> None:
    assert host(ulimits={"nproc": 65535, "nofile": {"soft": 20000, "hard": 40000}, "core": {}})["Ulimits"] == [
        {"Name": "core", "Soft": 0, "Hard": 0},
        {"Name": "nofile", "Soft": 20000, "Hard": 40000},
        {"Name": "nproc", "Soft": 65535, "Hard": 65535},
    ]


def test_logging() -> None:
    assert host(logging={"driver": "json-file", "options": {"max-size": "10m", "max-file": 3}})["LogConfig"] == {
        "Type": "json-file",
        "Config": {"max-size": "10m", "max-file": "3"},
    }
    assert host(logging={"driver": "none"})["LogConfig"] == {"Type": "none", "Config": {}}


def test_resources_from_deploy_and_service_level_keys() -> None:
    h = host(deploy={"resources": {"limits": {"cpus": 0.5, "memory": "67108864", "pids": 100}, "reservations": {"memory": "33554432"}}})
    assert (h["NanoCpus"], h["Memory"], h["PidsLimit"], h["MemoryReservation"]) == (500_000_000, 67108864, 100, 33554432)
    h = host(cpus=1.5, mem_limit="1073741824", mem_reservation="536870912", memswap_limit="-1", mem_swappiness="10", pids_limit=50,
             cpu_shares=512, cpu_period=100000, cpu_quota=50000, cpu_rt_period=1000, cpu_rt_runtime=400, cpuset="0-1")
    assert (h["NanoCpus"], h["Memory"], h["MemoryReservation"], h["MemorySwap"], h["MemorySwappiness"], h["PidsLimit"]) == (
        1_500_000_000, 1073741824, 536870912, -1, 10, 50)
    assert (h["CpuShares"], h["CpuPeriod"], h["CpuQuota"], h["CpuRealtimePeriod"], h["CpuRealtimeRuntime"], h["CpusetCpus"]) == (
        512, 100000, 50000, 1000, 400, "0-1")


def test_deploy_limits_win_over_service_level_keys() -> None:
    h = host(mem_limit="1024", deploy={"resources": {"limits": {"memory": "2048"}}})
    assert h["Memory"] == 2048


def test_devices() -> None:
    assert host(devices=[{"source": "/dev/fuse", "target": "/dev/fuse", "permissions": "rwm"}, {"source": "/dev/null", "target": "/dev/xnull", "permissions": "r"}], device_cgroup_rules=["c 1:3 mr"]) == {
        "NetworkMode": "demo_default",
        "Devices": [
            {"PathOnHost": "/dev/fuse", "PathInContainer": "/dev/fuse", "CgroupPermissions": "rwm"},
            {"PathOnHost": "/dev/null", "PathInContainer": "/dev/xnull", "CgroupPermissions": "r"},
        ],
        "DeviceCgroupRules": ["c 1:3 mr"],
    }


def test_platform_is_a_create_parameter() -> None:
    project = make_project({"web": svc(platform="linux/amd64")})
    assert container_spec(project, "web", 1, image_id=IMAGE_ID).platform == "linux/amd64"


def test_replicas_get_their_own_name_and_number() -> None:
    project = make_project({"web": svc(scale=3)})
    spec = container_spec(project, "web", 3, image_id=IMAGE_ID)
    assert spec.name == "demo-web-3" and spec.labels["com.docker.compose.container-number"] == "3"
    assert spec.body["NetworkingConfig"]["EndpointsConfig"]["demo_default"]["Aliases"] == ("demo-web-3", "web")
    with pytest.raises(ValueError):
        container_spec(project, "web", 0, image_id=IMAGE_ID)


def test_one_off_containers_alias_only_their_name_unless_asked() -> None:
    project = make_project({"web": svc()})
    spec = container_spec(project, "web", None, image_id=IMAGE_ID, slug="a" * 64, use_aliases=False)
    assert spec.body["NetworkingConfig"]["EndpointsConfig"]["demo_default"]["Aliases"] == ("demo-web-run-aaaaaaaaaaaa",)


def test_spec_to_dict_is_json() -> None:
    project = make_project({"web": svc(networks={"default": None, "b": None})}, networks={"b": {}})
    data = container_spec(project, "web", 1, image_id=IMAGE_ID).to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["connect"][0]["network"] == "demo_default"
