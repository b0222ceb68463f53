"""engine/shipping.py without an engine: what `up` would mount and say, from the engine's root folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devenv.engine.shipping import Shipping, for_up, wanted
from devenv.model import Project
from devenv.plan.shipping import ShipError


class FakeAPI:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def info(self) -> dict[str, Any]:
        self.calls.append("info")
        return {"DockerRootDir": "/data/docker"}


class FakeClient:
    def __init__(self, address: str, api: FakeAPI | None = None) -> None:
        self.address, self.api = address, api or FakeAPI()


def project(folder: Path) -> Project:
    (folder / "src").mkdir()
    (folder / "pw.txt").write_text("s3cret\n")
    data = {
        "name": "demo",
        "services": {
            "web": {"image": "devenv/busybox:latest", "volumes": [
                {"type": "bind", "source": str(folder / "src"), "target": "/app"},
                {"type": "bind", "source": str(folder / "pw.txt"), "target": "/pw", "read_only": True},
            ], "depends_on": {"db": {"condition": "service_started", "required": True}}},
            "db": {"image": "devenv/busybox:latest", "volumes": [{"type": "bind", "source": str(folder / "db"), "target": "/db"}]},
        },
    }
    return Project.from_dict(data, working_dir=str(folder))


def test_prepare_names_the_mounts_without_changing_the_engine(tmp_path: Path) -> None:
    p = project(tmp_path)
    api = FakeAPI()
    shipping = Shipping.prepare(FakeClient("tcp://h:2376", api), p, ["web", "db"])
    assert api.calls == ["info"]  # the engine's root folder only: nothing created
    pw = shipping.mounts[str(tmp_path / "pw.txt")]
    assert pw.mountpoint == f"/data/docker/volumes/{pw.volume}/_data" and not pw.is_dir and len(pw.digest) == 64
    missing = shipping.mounts[str(tmp_path / "db")]  # shipped as an empty folder, as a bind creates it
    assert missing.is_dir and missing.mountpoint == "" and missing.digest == ""
    assert shipping.describe() == [
        f"would ship ./src to web (volume {shipping.mounts[str(tmp_path / 'src')].volume})",
        f"would ship ./pw.txt to web (volume {pw.volume})",
        f"would ship ./db to db (volume {missing.volume})",
    ]


def test_for_up_follows_the_dependencies_and_the_engine_address(tmp_path: Path, monkeypatch: Any) -> None:
    p = project(tmp_path)
    monkeypatch.delenv("DEVENV_SHIP_FILES", raising=False)
    assert for_up(FakeClient("unix:///var/run/docker.sock"), p, ["web"]) is None
    found = for_up(FakeClient("tcp://build.example:2376"), p, ["web"])
    assert found is not None and {s.path for s in found.sources} == {str(tmp_path / n) for n in ("src", "pw.txt", "db")}
    alone = for_up(FakeClient("tcp://build.example:2376"), p, ["web"], no_deps=True)
    assert alone is not None and str(tmp_path / "db") not in alone.mounts
    monkeypatch.setenv("DEVENV_SHIP_FILES", "never")
    assert not wanted("tcp://build.example:2376")


def test_a_source_over_the_limits_stops_shipping_before_the_engine_is_touched(tmp_path: Path, monkeypatch: Any) -> None:
    import devenv.shipfiles

    p = project(tmp_path)
    for n in range(3):
        (tmp_path / "src" / f"f{n}").write_text("x")
    shipping = Shipping.prepare(FakeClient("tcp://h:2376"), p, ["web"])
    shipping.client = FakeClient("tcp://h:2376")  # it would fail on any call but info()
    monkeypatch.setattr(devenv.shipfiles, "MAX_FILES", 2)
    with pytest.raises(ShipError, match=r"^cannot ship \./src to the engine: 3 B in 3 files is over the limit"):
        shipping.ship(lambda _line: None)
    assert shipping.api.calls == []
