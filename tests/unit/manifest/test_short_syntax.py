"""Short syntaxes and their long forms: ports, volumes, devices, durations, byte sizes, shell-like
command strings. The parsers are tested directly; `test_canonical_forms` checks them in a project."""

from __future__ import annotations

import pytest

from devenv.manifest.shortsyntax import (
    SyntaxProblem,
    format_duration,
    parse_bytes,
    parse_device,
    parse_duration,
    parse_port,
    parse_volume,
    split_command,
)


def port(target: int, published: str | None = None, protocol: str = "tcp", host_ip: str | None = None) -> dict:
    out: dict = {"mode": "ingress", "target": target, "protocol": protocol}
    if host_ip is not None:
        out["host_ip"] = host_ip
    if published is not None:
        out["published"] = published
    return out


# ------------------------------------------------------------------ ports

PORTS = [
    ("80", [port(80)]),
    ("8080:80", [port(80, "8080")]),
    ("80/udp", [port(80, protocol="udp")]),
    ("53:53/udp", [port(53, "53", "udp")]),
    ("127.0.0.1:8080:80", [port(80, "8080", host_ip="127.0.0.1")]),
    ("127.0.0.1::80", [port(80, host_ip="127.0.0.1")]),
    ("0.0.0.0:5000:5000/tcp", [port(5000, "5000", host_ip="0.0.0.0")]),
    ("[::1]:8080:80", [port(80, "8080", host_ip="::1")]),
    ("[::]:9000:9000/udp", [port(9000, "9000", "udp", host_ip="::")]),
    ("3000-3002", [port(3000), port(3001), port(3002)]),
    ("9090-9091:8080-8081", [port(8080, "9090"), port(8081, "9091")]),
    ("127.0.0.1:5000-5001:5000-5001/udp", [port(5000, "5000", "udp", "127.0.0.1"), port(5001, "5001", "udp", "127.0.0.1")]),
    ("8000-8002:80", [port(80, "8000-8002")]),  # any free host port of a range
    # entries of a range are sorted as text ("100/tcp" < "99/tcp"), as Compose does
    ("98-100:98-100", [port(100, "100"), port(98, "98"), port(99, "99")]),
]


@pytest.mark.parametrize("spec, expected", PORTS, ids=[p[0] for p in PORTS])
def test_port_short_syntax(spec: str, expected: list) -> None:
    assert parse_port(spec) == expected


BAD_PORTS = [
    ("http", "invalid container port"),
    ("70000", "out of range"),
    ("8080:http", "invalid container port"),
    ("x:80", "invalid host port"),
    ("1-2:3-5", "ranges differ in size"),
    ("81-80", "invalid container port range"),
    ("8080:", "no container port"),
    ("999.1.1.1:80:80", "invalid IP address"),
    ("localhost:80:80", "invalid IP address"),
]


@pytest.mark.parametrize("spec, fragment", BAD_PORTS, ids=[p[0] for p in BAD_PORTS])
def test_bad_port_short_syntax(spec: str, fragment: str) -> None:
    with pytest.raises(SyntaxProblem) as info:
        parse_port(spec)
    assert fragment in str(info.value)
    assert repr(spec) in str(info.value)


# ------------------------------------------------------------------ volumes

VOLUMES = [
    ("/data", {"type": "volume", "target": "/data", "volume": {}}),
    ("named:/data", {"type": "volume", "source": "named", "target": "/data", "volume": {}}),
    ("named:/data:ro", {"type": "volume", "source": "named", "target": "/data", "read_only": True, "volume": {}}),
    ("named:/data:nocopy", {"type": "volume", "source": "named", "target": "/data", "volume": {"nocopy": True}}),
    ("named:/data:rw", {"type": "volume", "source": "named", "target": "/data", "volume": {}}),
    ("./src:/app", {"type": "bind", "source": "./src", "target": "/app", "bind": {"create_host_path": True}}),
    ("../up:/up", {"type": "bind", "source": "../up", "target": "/up", "bind": {"create_host_path": True}}),
    ("~/cfg:/cfg", {"type": "bind", "source": "~/cfg", "target": "/cfg", "bind": {"create_host_path": True}}),
    (
        "/etc/hosts:/etc/hosts:ro",
        {"type": "bind", "source": "/etc/hosts", "target": "/etc/hosts", "read_only": True, "bind": {"create_host_path": True}},
    ),
    ("./a:/a:z", {"type": "bind", "source": "./a", "target": "/a", "bind": {"create_host_path": True, "selinux": "z"}}),
    ("./a:/a:Z", {"type": "bind", "source": "./a", "target": "/a", "bind": {"create_host_path": True, "selinux": "Z"}}),
    (
        "./a:/a:ro,rshared",
        {"type": "bind", "source": "./a", "target": "/a", "read_only": True, "bind": {"create_host_path": True, "propagation": "rshared"}},
    ),
    ("/a:/b/../c/", {"type": "bind", "source": "/a", "target": "/c", "bind": {"create_host_path": True}}),
]


@pytest.mark.parametrize("spec, expected", VOLUMES, ids=[v[0] for v in VOLUMES])
def test_volume_short_syntax(spec: str, expected: dict) -> None:
    assert parse_volume(spec) == expected


@pytest.mark.parametrize(
    "spec, fragment",
    [
        ("", "empty"),
        ("/a:/b:ro:extra", "too many colons"),
        ("/a:/b:", "empty section"),
    ],
)
def test_bad_volume_short_syntax(spec: str, fragment: str) -> None:
    with pytest.raises(SyntaxProblem) as info:
        parse_volume(spec)
    assert fragment in str(info.value)


# ------------------------------------------------------------------ devices


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("/dev/sda", {"source": "/dev/sda", "target": "/dev/sda", "permissions": "rwm"}),
        ("/dev/sda:/dev/xvda", {"source": "/dev/sda", "target": "/dev/xvda", "permissions": "rwm"}),
        ("/dev/sda:/dev/xvda:r", {"source": "/dev/sda", "target": "/dev/xvda", "permissions": "r"}),
    ],
)
def test_device_short_syntax(spec: str, expected: dict) -> None:
    assert parse_device(spec) == expected


def test_device_with_too_many_parts_needs_the_long_syntax() -> None:
    with pytest.raises(SyntaxProblem, match="long syntax"):
        parse_device("/a:/b:rwm:x")


# ------------------------------------------------------------------ durations

DURATIONS = [
    ("1m30s", "1m30s"),
    ("90s", "1m30s"),
    ("500ms", "500ms"),
    ("1h2m3.5s", "1h2m3.5s"),
    ("1.5h", "1h30m0s"),
    ("2h", "2h0m0s"),
    ("10s", "10s"),
    ("0s", "0s"),
    ("1us", "1µs"),
    ("1500us", "1.5ms"),
    ("3ns", "3ns"),
    ("0.5s", "500ms"),
    ("1m0.25s", "1m0.25s"),
    ("-5s", "-5s"),
    ("1h1h", "2h0m0s"),
    ("1s500ms", "1.5s"),
    ("+5s", "5s"),
    (".5s", "500ms"),
    ("1.s", "1s"),
    # compose-go adds days and weeks to Go's units
    ("1d", "24h0m0s"),
    ("1.5d", "36h0m0s"),
    ("2d3h4m", "51h4m0s"),
    ("1w", "168h0m0s"),
]


@pytest.mark.parametrize("text, printed", DURATIONS, ids=[d[0] for d in DURATIONS])
def test_durations_print_as_go_prints_them(text: str, printed: str) -> None:
    assert format_duration(parse_duration(text)) == printed


@pytest.mark.parametrize("text", ["1y", "abc", "1 m", "m", "1.2.3s", ""])
def test_bad_durations(text: str) -> None:
    with pytest.raises(SyntaxProblem):
        parse_duration(text)


def test_duration_units() -> None:
    assert parse_duration("1h") == 3600 * 10**9
    assert parse_duration("1m") == 60 * 10**9
    assert parse_duration("1ms") == 10**6
    assert parse_duration("0") == 0


# ------------------------------------------------------------------ byte sizes

BYTES = [
    ("512m", 536870912),
    ("512M", 536870912),
    ("1g", 1073741824),
    ("1gb", 1073741824),
    ("2k", 2048),
    ("1.5g", 1610612736),
    ("100", 100),
    ("100b", 100),
    ("1t", 1024**4),
    (1048576, 1048576),
]


@pytest.mark.parametrize("value, size", BYTES, ids=[str(b[0]) for b in BYTES])
def test_byte_sizes_are_binary_units(value, size: int) -> None:
    assert parse_bytes(value) == size


@pytest.mark.parametrize("value", ["lots", "1x", "m", "-1m", True])
def test_bad_byte_sizes(value) -> None:
    with pytest.raises(SyntaxProblem):
        parse_bytes(value)


# ------------------------------------------------------------------ commands

COMMANDS = [
    ("echo hello", ["echo", "hello"]),
    ('echo "hello world"', ["echo", "hello world"]),
    ("sh -c 'a && b'", ["sh", "-c", "a && b"]),
    ('a "b c"d', ["a", "b cd"]),
    (r"a\ b c", ["a b", "c"]),
    ("  spaced   out  ", ["spaced", "out"]),
    ("echo $HOME", ["echo", "$HOME"]),
    ("echo '$HOME'", ["echo", "$HOME"]),
    ('echo "it\'s"', ["echo", "it's"]),
    ("echo # not a comment", ["echo", "#", "not", "a", "comment"]),
    ('python -c "print(1)"', ["python", "-c", "print(1)"]),
    ('""', [""]),
    ("", []),
]


@pytest.mark.parametrize("text, words", COMMANDS, ids=[c[0] or "empty" for c in COMMANDS])
def test_string_commands_are_split_like_a_shell(text: str, words: list) -> None:
    assert split_command(text) == words


@pytest.mark.parametrize("text", ["echo 'unclosed", 'echo "unclosed'])
def test_unbalanced_quotes_are_errors(text: str) -> None:
    with pytest.raises(SyntaxProblem, match="invalid command"):
        split_command(text)
