"""Reference normalisation, scheme choice, challenge parsing and index platform selection."""

from __future__ import annotations

import pytest

from devenv.errors import RegistryError
from devenv.registry import auth
from devenv.registry.client import default_platform, parse_platform, parse_reference, scheme_for, select_platform

D = "sha256:" + "a" * 64


@pytest.mark.parametrize(
    ("reference", "registry", "repository", "tag", "digest"),
    [
        ("busybox", "registry-1.docker.io", "library/busybox", "latest", None),
        ("docker.io/busybox:1.36", "registry-1.docker.io", "library/busybox", "1.36", None),
        ("index.docker.io/library/busybox", "registry-1.docker.io", "library/busybox", "latest", None),
        ("user/app:v1", "registry-1.docker.io", "user/app", "v1", None),
        (f"ghcr.io/org/app@{D}", "ghcr.io", "org/app", None, D),
        (f"ghcr.io/org/app:v2@{D}", "ghcr.io", "org/app", "v2", D),
        ("127.0.0.1:5000/a/b/c:x", "127.0.0.1:5000", "a/b/c", "x", None),
        ("localhost/app", "localhost", "app", "latest", None),
        ("[::1]:5000/app:1", "[::1]:5000", "app", "1", None),
    ],
)
def test_reference_normalisation(reference: str, registry: str, repository: str, tag: str | None, digest: str | None) -> None:
    parsed = parse_reference(reference)
    assert (parsed.registry, parsed.repository, parsed.tag, parsed.digest) == (registry, repository, tag, digest)
    assert parsed.ref == (digest or tag)


def test_reference_normalised_name_round_trips() -> None:
    assert str(parse_reference("busybox")) == "docker.io/library/busybox:latest"
    assert str(parse_reference("busybox")) == str(parse_reference(str(parse_reference("busybox"))))


@pytest.mark.parametrize("reference", ["", "UPPER/case", "a b", "app@sha256:abc", "app:"])
def test_bad_reference_is_one_line(reference: str) -> None:
    with pytest.raises(RegistryError) as caught:
        parse_reference(reference)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("host", "env", "scheme"),
    [
        ("localhost:5000", "", "http"),
        ("localhost", "", "http"),
        ("127.0.0.1:5000", "", "http"),
        ("127.3.4.5", "", "http"),
        ("[::1]:5000", "", "http"),
        ("registry-1.docker.io", "", "https"),
        ("10.0.0.5:5000", "", "https"),
        ("10.0.0.5:5000", "10.0.0.5:5000", "http"),
        ("10.0.0.5:5001", "10.0.0.5:5000", "https"),
        ("reg.lan:5000", "other, reg.lan", "http"),
        ("reg.lan", " reg.lan:5000 ", "https"),
        ("128.0.0.1", "", "https"),
    ],
)
def test_scheme_choice(host: str, env: str, scheme: str) -> None:
    assert scheme_for(host, {"DEVENV_INSECURE_REGISTRIES": env}) == scheme


def test_challenge_parsing() -> None:
    header = 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"'
    (challenge,) = auth.parse_challenges(header)
    assert challenge.scheme == "bearer"
    assert challenge.params == {
        "realm": "https://auth.docker.io/token",
        "service": "registry.docker.io",
        "scope": "repository:library/busybox:pull",
    }


def test_several_challenges_and_quoting() -> None:
    header = 'Basic realm="basic-realm", Bearer realm="https://t.example/x?a=1", service=reg, scope="repository:a:pull,push" , Negotiate'
    found = auth.parse_challenges(header)
    assert [c.scheme for c in found] == ["basic", "bearer", "negotiate"]
    assert found[0].params == {"realm": "basic-realm"}
    assert found[1].params == {"realm": "https://t.example/x?a=1", "service": "reg", "scope": "repository:a:pull,push"}
    assert auth.parse_challenges('Basic realm="a \\"b\\""')[0].params == {"realm": 'a "b"'}
    assert auth.parse_challenges("") == []


def _entry(digest: str, os_name: str, arch: str, variant: str | None = None) -> dict:
    platform = {"os": os_name, "architecture": arch}
    if variant:
        platform["variant"] = variant
    return {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest, "size": 1, "platform": platform}


INDEX = [
    _entry("sha256:amd", "linux", "amd64"),
    _entry("sha256:unknown", "unknown", "unknown"),
    _entry("sha256:v6", "linux", "arm", "v6"),
    _entry("sha256:v7", "linux", "arm", "v7"),
    _entry("sha256:arm64", "linux", "arm64", "v8"),
    _entry("sha256:win", "windows", "amd64"),
]


@pytest.mark.parametrize(
    ("wanted", "digest"),
    [
        ("linux/amd64", "sha256:amd"),
        ("linux/arm64", "sha256:arm64"),
        ("linux/arm64/v8", "sha256:arm64"),
        ("linux/aarch64", "sha256:arm64"),
        ("linux/arm/v7", "sha256:v7"),
        ("linux/arm", "sha256:v7"),
        ("linux/arm/v6", "sha256:v6"),
        ("linux/arm/v8", "sha256:v7"),
        ("windows/amd64", "sha256:win"),
        ("linux/s390x", None),
        ("linux/arm/v5", None),
    ],
)
def test_index_platform_selection(wanted: str, digest: str | None) -> None:
    chosen = select_platform(INDEX, parse_platform(wanted))
    assert (chosen["digest"] if chosen else None) == digest


def test_arm64_without_variant_in_the_index_matches() -> None:
    entries = [_entry("sha256:a", "linux", "arm64")]
    assert select_platform(entries, parse_platform("linux/arm64/v8")) is entries[0]


def test_default_platform() -> None:
    assert default_platform("x86_64") == "linux/amd64"
    assert default_platform("aarch64") == "linux/arm64"
    assert default_platform("armv7l") == "linux/arm/v7"
    assert default_platform().startswith("linux/")


@pytest.mark.parametrize("text", ["linux", "linux/", "a/b/c/d", ""])
def test_bad_platform(text: str) -> None:
    with pytest.raises(RegistryError):
        parse_platform(text)
