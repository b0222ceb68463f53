"""Shipping local files to a remote engine (the rules: devenv/plan/shipping.py).

`Shipping.prepare` (no change on the engine) gives the mounts the plan uses; `ship` runs after the
plan's images are there and before any container is created: it creates the volumes, reads the
manifests, deletes what is gone (a started helper of a service's image runs `rm -rf`), sends what
changed (archive API PUT into a created, never started helper, as snapshots do) and writes the
manifests back. One report line per source.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import os
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from devenv.engine.api import explanation
from devenv.engine.volumedata import HELPER_LABEL, archive_chunks, create_volume, first_local_image, inspect_volume, put_archive
from devenv.errors import EngineError
from devenv.model import Project
from devenv.plan import naming
from devenv.plan import shipping as rules

BASE = "/devenv-ship"  # where the helper mounts the volumes: BASE/manifests, BASE/<volume>
MANIFESTS = BASE + "/manifests"
RM_BATCH = 500  # paths per `rm -rf` helper


def wanted(address: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether files are shipped to the engine at `address` (DEVENV_SHIP_FILES decides, else where it is)."""
    return rules.should_ship(address, os.environ if env is None else env)


def for_up(client: Any, project: Project, services: Sequence[str], *, no_deps: bool = False) -> Shipping | None:
    """What `up`/`create` of `services` ship to the client's engine, or None when nothing is shipped there."""
    if not wanted(str(client.address)):
        return None
    from devenv.plan.graph import ServiceGraph

    graph = ServiceGraph.build(project, enable=[n for n in services if n in project.disabled_services])
    return Shipping.prepare(client, project, graph.select(tuple(services), with_dependencies=not no_deps))


def loopback_warning(client: Any, project: str) -> str | None:
    """A warning when a remote engine publishes the project's ports on its own loopback only."""
    from devenv.engine.status import list_rows

    host = rules.remote_host(str(client.address))
    if host is None:
        return None
    rows = list_rows(client, project, all=False)
    return rules.loopback_warning(host, [p.host_port for r in rows for p in r.ports if p.host_port and p.host_ip == "127.0.0.1"])


def _file_digest(path: str) -> str:
    from devenv.shipfiles import _sha_file

    return _sha_file(path) if os.path.isfile(path) else ""


@dataclasses.dataclass
class Shipping:
    client: Any  # the Engine (volumedata's functions take it); its `api` for the calls made here
    project: Project
    sources: tuple[rules.Source, ...]
    mounts: dict[str, rules.Shipped]

    @property
    def api(self) -> Any:
        return self.client.api

    @classmethod
    def prepare(cls, client: Any, project: Project, services: Iterable[str]) -> Shipping:
        """The shipped mounts of the services' local paths; nothing changes on the engine."""
        found = rules.sources(project, services)
        from devenv.shipfiles import listing

        for s in found:  # a source over the limits stops `up` before any pull or build
            listing(s.path, rules.shown_path(s.path, project.working_dir))
        root = ""
        if any(not s.is_dir for s in found):
            root = str((client.api.info() or {}).get("DockerRootDir") or "/var/lib/docker")
        mounts = {}
        for s in found:
            volume = s.volume(project.name)
            mountpoint = "" if s.is_dir else rules.mountpoint_of(root, volume)
            mounts[s.path] = rules.Shipped(s.path, volume, s.is_dir, mountpoint, "" if s.is_dir else _file_digest(s.path))
        return cls(client, project, found, mounts)

    def describe(self) -> list[str]:
        """`would ship ./src to web (volume demo_shipped-...)` per source, for --dry-run."""
        return [f"would ship {self.label(s)} to {', '.join(s.services)} (volume {s.volume(self.project.name)})" for s in self.sources]

    def label(self, source: rules.Source) -> str:
        return rules.shown_path(source.path, self.project.working_dir)

    def ship(self, say: Callable[[str], None]) -> list[str]:
        """Bring every shipped volume to what is here now; the report lines (also said)."""
        if not self.sources:
            return []
        from devenv.shipfiles import listing, manifest

        client, api, name = self.client, self.api, self.project.name
        found = {s.path: listing(s.path, self.label(s)) for s in self.sources}  # the limits, before any change
        image = self._helper_image()
        if inspect_volume(client, rules.manifests_volume(name)) is None:
            create_volume(client, {"Name": rules.manifests_volume(name), "Labels": rules.manifests_labels(name)})
        fresh = set()
        for s in self.sources:
            volume = s.volume(name)
            info = inspect_volume(client, volume)
            if info is None:
                create_volume(client, {"Name": volume, "Driver": "local", "Labels": rules.volume_labels(name, s.path)})
                info = inspect_volume(client, volume) or {}
                fresh.add(volume)
            expected = self.mounts[s.path].mountpoint
            if expected and str(info.get("Mountpoint") or "") != expected:
                raise EngineError(f"cannot ship {self.label(s)}: volume {volume} is at {info.get('Mountpoint')!r} on the "
                                  f"engine, not {expected!r}: a single file is bound from there")
        lines = []
        volumes = [s.volume(name) for s in self.sources]
        with _helper(api, name, image, volumes) as helper:
            stored = _read_manifests(client, helper)
            before = dict(stored)
            plans = []
            clear, delete = [], []
            for s in self.sources:
                volume = s.volume(name)
                previous = None if volume in fresh else stored.get(volume)
                if previous is None and volume not in fresh:
                    clear.append(volume)  # contents unknown (an interrupted first ship): start again
                new = manifest(s.path, found[s.path], previous)
                changes = rules.diff(previous or {}, new)
                delete += [f"{BASE}/{volume}/{p}" for p in changes.delete if _safe(p) and p != "."]
                plans.append((s, volume, new, changes))
            failed = self._delete(image, volumes, clear, delete, say)
            for s, volume, new, changes in plans:
                if changes.send:
                    _send(client, helper, s.path, volume, changes.send, new)
                kept = dict(new)
                if volume in failed:  # what could not be deleted is deleted next time
                    kept.update({p: e for p, e in (stored.get(volume) or {}).items() if p not in kept})
                stored[volume] = kept
                lines.append(rules.report_line(self.label(s), s.services, rules.sent_files(changes, new), changes.bytes,
                                               changes.unchanged, len(changes.delete)))
            if any(stored[v] != before.get(v) for v in volumes):  # a no-op `up` writes nothing
                _write_manifests(client, helper, {s.volume(name): (s.path, stored[s.volume(name)]) for s in self.sources})
        for line in lines:
            say(line)
        return lines

    def _helper_image(self) -> str:
        """An image on the engine to make helpers of: the services' own (there after the plan's pulls
        and builds), else any."""
        services = {n for s in self.sources for n in s.services}
        candidates = [naming.image_name(self.project.name, self.project.services[n]) for n in sorted(services)
                      if n in self.project.services]
        found = first_local_image(self.client, candidates)
        if found is None:
            images = [t for i in self.api.images() or () for t in i.get("RepoTags") or () if t != "<none>:<none>"]
            found = images[0] if images else None
        if found is None:
            raise EngineError("cannot ship files: the engine has no image to make a helper container of (pull one first)")
        return found

    def _delete(self, image: str, volumes: Sequence[str], clear: Sequence[str], paths: Sequence[str],
                say: Callable[[str], None]) -> set[str]:
        """Delete `paths` and the contents of the volumes `clear` with a started helper of `image` (its
        `rm` and `find`, as `volumedata.empty_volume`);
        the volumes whose deletion failed (said in one warning)."""
        failed: set[str] = set()
        commands = [["find", f"{BASE}/{v}", "-mindepth", "1", "-maxdepth", "1", "-exec", "rm", "-rf", "{}", "+"] for v in clear]
        commands += [["rm", "-rf", "--", *paths[i : i + RM_BATCH]] for i in range(0, len(paths), RM_BATCH)]
        for argv in commands:
            problem = _run(self.api, self.project.name, image, volumes, argv)
            if problem:
                touched = {v for v in volumes if any(a.startswith(f"{BASE}/{v}") for a in argv[1:])}
                failed |= touched
                say(f"warning: could not delete files removed here from {', '.join(sorted(touched))} on the engine "
                    f"({problem}); `devenv down` removes those copies")
        return failed


def _safe(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and ".." not in parts


def _mounts(volumes: Iterable[str], manifests: str | None) -> list[dict[str, Any]]:
    out = [{"Type": "volume", "Source": v, "Target": f"{BASE}/{v}", "VolumeOptions": {"NoCopy": True}} for v in volumes]
    if manifests:
        out.append({"Type": "volume", "Source": manifests, "Target": MANIFESTS, "VolumeOptions": {"NoCopy": True}})
    return out


@contextlib.contextmanager
def _helper(api: Any, project: str, image: str, volumes: Sequence[str]) -> Iterator[str]:
    """A created, never started container with the volumes and the manifests mounted; removed after."""
    from devenv.engine.volumedata import _created

    body = {
        "Image": image, "Entrypoint": ["/devenv-ship-helper-never-started"], "Cmd": [], "User": "0:0",
        "NetworkDisabled": True, "Labels": {HELPER_LABEL: rules.manifests_volume(project)},
        "HostConfig": {"Mounts": _mounts(volumes, rules.manifests_volume(project)), "NetworkMode": "none"},
    }
    container = f"{project}-ship-helper-{uuid.uuid4().hex[:12]}"
    with _created(api, container, body):
        yield container


def _run(api: Any, project: str, image: str, volumes: Sequence[str], argv: list[str]) -> str | None:
    """Run `argv` in a helper of `image` with the volumes mounted; None when it exited 0, else why not."""
    from devenv.engine.volumedata import _created

    body = {
        "Image": image, "Entrypoint": argv[:1], "Cmd": argv[1:], "User": "0:0", "NetworkDisabled": True,
        "Labels": {HELPER_LABEL: rules.manifests_volume(project)},
        "HostConfig": {"Mounts": _mounts(volumes, None), "NetworkMode": "none"},
    }
    container = f"{project}-ship-helper-{uuid.uuid4().hex[:12]}"
    with _created(api, container, body):
        try:
            api.start(container)
        except Exception as exc:
            message = explanation(exc)
            if message is None:
                raise
            return f"image {image} cannot run `{argv[0]}`: {message.strip()[:160]}"
        code = int((api.wait(container) or {}).get("StatusCode", 0))
        return None if code == 0 else f"`{argv[0]}` in image {image} exited {code}"


def _read_manifests(client: Any, helper: str) -> dict[str, dict[str, rules.Entry]]:
    """volume -> its manifest, from the manifests volume (damaged ones left out)."""
    from devenv.snapshotfile import ChunkReader

    out: dict[str, dict[str, rules.Entry]] = {}
    chunks = archive_chunks(client, helper, MANIFESTS)
    try:
        with tarfile.open(fileobj=ChunkReader(chunks), mode="r|") as tar:  # type: ignore[call-overload]
            for member in tar:
                base = member.name.rsplit("/", 1)[-1]
                if not (member.isreg() and base.endswith(".json")):
                    continue
                data = tar.extractfile(member)
                try:
                    parsed = json.loads(data.read()) if data is not None else None
                except ValueError:
                    parsed = None
                manifest = rules.manifest_from_json(parsed)
                if manifest is not None:
                    out[base[: -len(".json")]] = manifest
    finally:
        chunks.close()
    return out


def _put_file(client: Any, helper: str, path: str, build: Callable[[Any], None]) -> None:
    with tempfile.TemporaryFile() as out:  # private (unlinked at once)
        build(out)
        length = out.tell()
        out.seek(0)
        put_archive(client, helper, out, length, path=path)


def _send(client: Any, helper: str, source: str, volume: str, names: Sequence[str], manifest: Mapping[str, rules.Entry]) -> None:
    from devenv.shipfiles import write_tar

    # at `/`, under the volume's mount point: a `.` entry sets the volume root's owner and mode
    _put_file(client, helper, "/", lambda out: write_tar(out, source, names, manifest, prefix=f"{BASE.lstrip('/')}/{volume}"))


def _write_manifests(client: Any, helper: str, manifests: Mapping[str, tuple[str, Mapping[str, rules.Entry]]]) -> None:
    def build(out: Any) -> None:
        with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for volume, (source, manifest) in sorted(manifests.items()):
                data = json.dumps(rules.manifest_json(manifest, source), separators=(",", ":")).encode()
                info = tarfile.TarInfo(f"{volume}.json")
                info.size, info.mode = len(data), 0o600
                tar.addfile(info, io.BytesIO(data))

    _put_file(client, helper, MANIFESTS, build)


def remove_shipped(api: Any, project: str) -> list[str]:
    """Remove the project's shipped volumes (copies, never the user's data); their names."""
    from devenv.plan.naming import project_filter

    found = api.volumes(filters=project_filter(project))
    removed = []
    for volume in found:
        if rules.is_shipped_volume(volume.get("Labels")):
            api.remove_volume(volume["Name"])
            removed.append(volume["Name"])
    return removed
