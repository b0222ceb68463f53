"""The pure checks behind the load-time errors: image references (Docker's grammar, compared with
what the engine says for each in the comments), restart policies, and x-devenv's keys."""

from __future__ import annotations

import pytest

from devenv.manifest import xdevenv
from devenv.manifest.checks import restart_problem
from devenv.manifest.reference import reference_problem

SHA = "a" * 64

VALID = [
    "nginx", "nginx:1.25-alpine", "library/nginx", "docker.io/library/nginx:latest",
    "localhost/app", "localhost:5000/team/app:1.0", "127.0.0.1:5000/devenv/busybox:latest",
    "MyRegistry.io/app",  # an upper-case host is fine, the path is not
    "a__b", "a--b", "a.b", "my_app", f"app@sha256:{SHA}", f"app:1@sha256:{SHA}", "x:" + "t" * 128,
    "[::1]:5000/app",
]

INVALID = {
    "": "empty",
    "app:": "the tag after ':' is empty",
    "reg:5000/app:": "the tag after ':' is empty",
    "App:1": "repository name must be lowercase",
    "ghcr.io/Org/app": "repository name must be lowercase",
    "Ab/c": "repository name must be lowercase",  # no '.', ':' nor localhost: not a host
    "a___b": "invalid reference format",
    "_a": "invalid reference format",
    "a-/b": "invalid reference format",
    "a:b:c": "invalid reference format",
    ":tag": "a name component is empty",
    "/app": "a name component is empty",
    "a//b": "a name component is empty",
    "host:port/x": "invalid registry host 'host:port'",
    "x:-1": "invalid tag '-1'",
    "x:caf\u00e9": "invalid tag",  # \w is ASCII, as in Go
    "x:" + "t" * 129: "invalid tag",
    "app@": "the digest after '@' is empty",
    "app@sha256:abc": "invalid digest",
    "app@sha256:" + "0" * 32: "a sha256 digest has 64 hexadecimal digits, not 32",
    "app@md5:" + "0" * 32: "unsupported digest algorithm 'md5'",
    "Not A Valid/Reference::": "white space",
    SHA: "image ID, not a name",
    "a" * 256: "longer than 255",
}


@pytest.mark.parametrize("reference", VALID)
def test_valid_references(reference: str) -> None:
    assert reference_problem(reference) is None


@pytest.mark.parametrize("reference, says", INVALID.items(), ids=lambda v: v[:40] if isinstance(v, str) else None)
def test_invalid_references_say_why(reference: str, says: str) -> None:
    problem = reference_problem(reference)
    assert problem is not None and says in problem


@pytest.mark.parametrize("value", ["", "no", "always", "on-failure", "on-failure:0", "on-failure:5", "unless-stopped"])
def test_valid_restart_policies(value: str) -> None:
    assert restart_problem(value) is None


@pytest.mark.parametrize(
    "value, says",
    [
        ("sometimes", "expected no, always, on-failure, on-failure:N or unless-stopped"),
        ("alway", "did you mean 'always'?"),
        ("on-failure:x", "whole number"),
        ("on-failure:-1", "whole number"),
        ("on-failure:", "whole number"),
        ("always:3", "only on-failure takes a retry count"),
        ("no:1", "only on-failure takes a retry count"),
    ],
)
def test_invalid_restart_policies(value: str, says: str) -> None:
    problem = restart_problem(value)
    assert problem is not None and says in problem and repr(value) in problem


def test_every_known_setting_passes_and_others_get_the_closest() -> None:
    valid = {"environments": {"prod": {"host": "tcp://prod:2376"}}, "allowed_differences": ["web.ports"]}
    xdevenv.check({"x-devenv": {key: valid.get(key, "x") for key in xdevenv.KEYS}})
    xdevenv.check({"x-devenv": None})
    xdevenv.check({})
    with pytest.raises(Exception) as caught:
        xdevenv.check({"x-devenv": {"publishhost": "0.0.0.0"}})
    assert caught.value.path == "x-devenv.publishhost" and "did you mean 'publish_host'?" in str(caught.value)
    with pytest.raises(Exception) as caught:
        xdevenv.check({"x-devenv": {"zzz": 1}})
    assert "known settings: allowed_differences, environments, metrics, publish_host" in str(caught.value)
