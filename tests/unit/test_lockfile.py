"""devenv.lockfile: stable bytes, a round trip, and one clear line for each kind of damage."""

from __future__ import annotations

import pytest

from devenv.errors import ManifestError
from devenv.lockfile import Base, ImageVolume, LockFile, ServiceLock, loads, write


def sample() -> LockFile:
    return LockFile("p", "prod", {
        "web": ServiceLock(image="p-web", build_inputs="sha256:i", bases=(Base("0", "busybox:1", digest="sha256:b"),),
                           config_hash="h", declared={"environment": {"A": "1"}}),
        "db": ServiceLock(image="db:1", digest="sha256:d", platform="linux/amd64", platform_digest="sha256:d", id="sha256:c",
                          volumes=(ImageVolume("/data", "seed:1", "sha256:s"),)),
    })


def test_round_trip_is_byte_identical_and_sorted() -> None:
    text = sample().dumps()
    assert loads(text, "devenv.lock").dumps() == text
    assert text.index('"db"') < text.index('"web"') and text.endswith("}\n")


def test_write_leaves_an_unchanged_file_alone(tmp_path) -> None:
    path = str(tmp_path / "devenv.lock")
    assert write(path, sample()) is True
    assert write(path, sample()) is False


@pytest.mark.parametrize(("text", "message", "line"), [
    ("{", "invalid lock file: Expecting property name", 1),
    ('{"version": 2}', "not a devenv lock file of version 1", None),
    ('[1]', "not a devenv lock file of version 1", None),
    ('{"version": 1, "services": []}', "services: must be a mapping", None),
    ('{"version": 1, "services": {"web": 3}}', "services.web: must be a mapping", None),
    ('{"version": 1, "services": {"web": {}}}', "services.web: missing field 'image'", None),
    ('{"version": 1, "services": {"web": {"image": "x", "build": {"bases": [{"nope": 1}]}}}}',
     "services.web: got an unexpected field 'nope'", None),
])
def test_damage_is_one_line_naming_the_entry(text: str, message: str, line: int | None) -> None:
    with pytest.raises(ManifestError) as caught:
        loads(text, "devenv.lock")
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert caught.value.file == "devenv.lock" and caught.value.line == line
