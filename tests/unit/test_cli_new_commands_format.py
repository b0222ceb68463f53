"""The pure parts of the new commands: docker's sizes and stats figures, `top`'s table, events'
lines, `ls` filters, `cp`'s placement rules and tar handling."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from devenv.cli.dockerfmt import (
    bytes_size, human_duration, human_size, render_table, split_reference, stats_row, tabulate,
)
from devenv.cli.inspect_cmds import image_entry, published, top_table
from devenv.cli.ls_cmd import name_matches, parse_filters
from devenv.cli.monitor_cmds import event_json, event_line, event_record
from devenv.errors import UsageError
from devenv.plan.copying import CopyError, Destination, Source, place, rebase_name, split_cp_arg, split_dir_entry

SAMPLE = {
    "read": "2026-12-02T09:00:00.1Z",
    "cpu_stats": {"cpu_usage": {"total_usage": 3_000_000}, "system_cpu_usage": 2_000_000_000, "online_cpus": 2},
    "precpu_stats": {"cpu_usage": {"total_usage": 1_000_000}, "system_cpu_usage": 1_000_000_000},
    "memory_stats": {"usage": 2_000_000, "limit": 25_000_000_000, "stats": {"inactive_file": 750_000}},
    "networks": {"eth0": {"rx_bytes": 806, "tx_bytes": 0}, "eth1": {"rx_bytes": 1000, "tx_bytes": 1500}},
    "blkio_stats": {"io_service_bytes_recursive": [{"op": "Read", "value": 4096}, {"op": "write", "value": 1_500_000}, {"op": "Total", "value": 9}]},
    "pids_stats": {"current": 2},
}


def test_sizes_are_written_as_docker_writes_them() -> None:
    assert [human_size(n) for n in (0, 806, 1110, 1_985_712, 999_999)] == ["0B", "806B", "1.11kB", "1.99MB", "1e+03kB"]
    assert [bytes_size(n) for n in (0, 831_488, 1_286_144, 25_275_000_000)] == ["0B", "812KiB", "1.227MiB", "23.54GiB"]


def test_durations_read_like_go_units() -> None:
    assert [human_duration(s) for s in (0.4, 1, 42, 61, 1800, 3600, 7200, 3 * 86400, 20 * 86400, 90 * 86400)] == [
        "Less than a second", "1 second", "42 seconds", "About a minute", "30 minutes", "About an hour", "2 hours",
        "3 days", "2 weeks", "3 months",
    ]


def test_stats_row_computes_cpu_memory_and_io_like_docker() -> None:
    row = stats_row("a" * 64, "p-web-1", SAMPLE)
    assert row.cells() == ("a" * 12, "p-web-1", "0.40%", "1.192MiB / 23.28GiB", "0.01%", "1.81kB / 1.5kB", "4.1kB / 1.5MB", "2")
    assert sorted(row.to_dict()) == ["BlockIO", "CPUPerc", "Container", "ID", "MemPerc", "MemUsage", "Name", "NetIO", "PIDs"]
    gone = stats_row("b" * 64, "p-db-1", None)
    assert gone.cpu == "--" and gone.mem_usage == "-- / --"
    stopped = stats_row("c" * 64, "p-x-1", {"read": "0001-01-01T00:00:00Z"})
    assert stopped.cells()[2:] == ("0.00%", "0B / 0B", "0.00%", "0B / 0B", "0B / 0B", "0")


def test_stats_table_has_docker_columns_and_widths() -> None:
    text = render_table([stats_row("a" * 64, "p-web-1", SAMPLE)])
    header, line = text.splitlines()
    assert header.startswith("CONTAINER ID   NAME      CPU %     MEM USAGE / LIMIT     MEM %     NET I/O")
    assert header.endswith("PIDS") and line.endswith("2")


def test_tabulate_pads_like_gos_tabwriter() -> None:
    assert tabulate([("NAME", "STATUS"), ("p", "running(2)")], minwidth=20, padding=3) == "NAME                STATUS\np                   running(2)"


def test_top_table_is_one_table_with_service_and_replica_and_cmd_last() -> None:
    answer = {"Titles": ["UID", "PID", "CMD", "TIME"], "Processes": [["root", "10", "sleep 1", "00:00:00"]]}
    other = {"Titles": ["UID", "PID", "CMD", "TIME"], "Processes": [["root", "11", "sh", "00:00:01"], ["root", "12", "top", "00:00:00"]]}
    text = top_table([("db", "1", answer), ("web", "2", other)])
    assert text.splitlines() == [
        "SERVICE  #   UID   PID  TIME      CMD",
        "db       1   root  10   00:00:00  sleep 1",
        "web      2   root  11   00:00:01  sh",
        "web      2   root  12   00:00:00  top",
    ]
    assert top_table([("db", "1", {"Titles": ["PID"], "Processes": []})]) == ""


def test_port_takes_the_first_binding_of_the_port_and_protocol() -> None:
    summary = {"Ports": [
        {"PrivatePort": 80, "Type": "tcp"},
        {"IP": "0.0.0.0", "PrivatePort": 81, "PublicPort": 18081, "Type": "udp"},
        {"IP": "127.0.0.1", "PrivatePort": 80, "PublicPort": 18080, "Type": "tcp"},
    ]}
    assert published(summary, 80, "tcp") == "127.0.0.1:18080"
    assert published(summary, 81, "udp") == "0.0.0.0:18081"
    assert published(summary, 81, "tcp") is None


def test_images_entries_have_composes_fields() -> None:
    image = {"Id": "sha256:" + "e" * 64, "Os": "linux", "Architecture": "arm64", "Variant": "v8", "Size": 5,
             "Created": "2026-01-01T00:00:00Z", "Metadata": {"LastTagTime": "0001-01-01T00:00:00Z"}}
    from devenv.engine.queries import ImageDetails

    assert image_entry("p-web-1", "docker.io/library/redis", ImageDetails.from_inspect(image)) == {
        "ID": "sha256:" + "e" * 64, "ContainerName": "p-web-1", "Repository": "redis", "Tag": "latest",
        "Platform": "linux/arm64/v8", "Size": 5, "LastTagTime": "2026-01-01T00:00:00Z",
    }
    assert split_reference("localhost:5000/app:1.2") == ("localhost:5000/app", "1.2")
    assert split_reference("sha256:" + "e" * 64) == ("", "")


def test_ls_filters() -> None:
    assert parse_filters(("name=web", "name=^db")) == {"name": ["web", "^db"]}
    assert name_matches("myweb", ["web"]) and name_matches("db1", ["^db"]) and not name_matches("xdb", ["^db"])
    with pytest.raises(UsageError, match="invalid filter 'status'"):
        parse_filters(("status=running",))
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_filters(("name",))


EVENT = {
    "Type": "container", "Action": "start", "timeNano": 1_767_225_600_123_456_789,
    "Actor": {"ID": "abc", "Attributes": {
        "name": "p-web-1", "image": "devenv/busybox:latest", "com.docker.compose.service": "web",
        "com.docker.compose.oneoff": "False", "com.docker.compose.project": "p",
    }},
}


def test_event_lines_and_json_as_compose(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    record = event_record(EVENT)
    assert record is not None
    assert event_line(record) == "2026-01-01 00:00:00.123456 container start abc (image=devenv/busybox:latest, name=p-web-1)"
    assert event_json(record) == (
        '{"action":"start","attributes":{"image":"devenv/busybox:latest","name":"p-web-1"},"id":"abc",'
        '"service":"web","time":"2026-01-01T00:00:00.123456789Z","type":"container"}'
    )
    assert event_record(EVENT, ("db",)) is None
    assert event_record({**EVENT, "Type": "network"}) is None
    oneoff = {**EVENT, "Actor": {"ID": "x", "Attributes": {"com.docker.compose.oneoff": "True"}}}
    assert event_record(oneoff) is None


def test_cp_arguments_split_like_compose() -> None:
    assert split_cp_arg("web:/etc/hosts") == ("web", "/etc/hosts")
    assert split_cp_arg("/abs:path") == (None, "/abs:path")
    assert split_cp_arg("./a:b") == (None, "./a:b")
    assert split_cp_arg("plain") == (None, "plain")
    assert split_dir_entry("/a/b/.") == ("/a/b", ".")
    assert split_dir_entry("/a/b/") == ("/a", "b")


@pytest.mark.parametrize(
    ("source", "destination", "placement"),
    [
        (Source("/x/f", False), Destination("/d", True, True), ("/d", None, None)),  # into an existing directory
        (Source("/x/f", False), Destination("/d/g", True, False), ("/d", "f", "g")),  # over a file
        (Source("/x/f", False), Destination("/d/g", False), ("/d", "f", "g")),  # a new file
        (Source("/x/dir", True), Destination("/d/new", False), ("/d", "dir", "new")),  # a new directory
        (Source("/x/dir/.", True), Destination("/d/new", False), ("/d", ".", "new")),  # its contents, as a new directory
        (Source("/x/link", False, "link"), Destination("/d/g", False), ("/d", "link", "g")),
    ],
)
def test_cp_placement_follows_docker_cp(source: Source, destination: Destination, placement: tuple) -> None:
    found = place(source, destination)
    assert (found.directory, found.old_base, found.new_base) == placement


def test_cp_refuses_what_docker_cp_refuses() -> None:
    with pytest.raises(CopyError, match="cannot copy a directory to a file"):
        place(Source("/x/dir", True), Destination("/d/file", True, False))
    with pytest.raises(CopyError, match="does not exist"):
        place(Source("/x/f", False), Destination("/d/nodir/", False))


def test_rebase_renames_only_the_first_component() -> None:
    assert rebase_name("dir/a/dir", "dir", "new") == "new/a/dir"
    assert rebase_name("dir", "dir", "new") == "new"
    assert rebase_name("./a", ".", "new") == "new/a"
    assert rebase_name("other/a", "dir", "new") == "other/a"


def _tar(*members: tuple[str, bytes | None, str | None]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content, link in members:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            elif content is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_archives_round_trip_and_rename(tmp_path: Path) -> None:
    from devenv.engine.archive import extract, rebase, tar_of

    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "f.txt").write_text("hello")
    os.symlink("/etc/hostname", src / "link")
    data = rebase(tar_of(str(src), "src"), "src", "copy")
    out = tmp_path / "out"
    out.mkdir()
    extract([data], str(out))
    assert (out / "copy" / "sub" / "f.txt").read_text() == "hello"
    assert os.readlink(out / "copy" / "link") == "/etc/hostname"  # links are kept as they are
    extract([tar_of(str(src / "."), ".")], str(out), ".", "contents")
    assert (out / "contents" / "sub" / "f.txt").read_text() == "hello"


@pytest.mark.parametrize(
    "members",
    [
        [("../evil", b"x", None)],
        [("/abs", b"x", None)],
        [("d", None, "/etc"), ("d/passwd", b"x", None)],  # writing through a link of the archive
    ],
)
def test_extract_never_writes_outside_the_destination(tmp_path: Path, members: list) -> None:
    from devenv.engine.archive import extract

    with pytest.raises(CopyError, match="refusing"):
        extract([_tar(*members)], str(tmp_path))
    assert not (tmp_path.parent / "evil").exists()
