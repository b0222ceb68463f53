"""`devenv snapshot` and `devenv restore`: the project's named volumes to a snapshot file (or a
registry, as an OCI artifact) and back. See devenv/plan/snapshots.py (the format and the rules),
devenv/snapshotfile.py (the file) and devenv/engine/volumedata.py (the engine side)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from typing import TYPE_CHECKING, Any

import click

from devenv.cli.command import Globals, format_option, timeout_option
from devenv.errors import EngineError, UsageError

if TYPE_CHECKING:
    from devenv.engine.client import Engine
    from devenv.model import Project
    from devenv.plan.snapshots import VolumeEntry
    from devenv.snapshotfile import Sink


class _Lines:
    """The per-volume progress lines on stderr (none under --format json or --progress quiet)."""

    def __init__(self, g: Globals, fmt: str) -> None:
        from devenv.cli.progressbar import install

        self.quiet = fmt == "json" or g.progress == "quiet"
        install("quiet" if self.quiet else g.progress)  # the volumes' transfers as bars or plain lines

    def __call__(self, line: str) -> None:
        if not self.quiet:
            from devenv.cli.common import say

            say(line)


def _engine_name(project: Project, key: str) -> str:
    from devenv.plan import naming

    return naming.volume_name(project.name, key, project.volumes.get(key))


def _image_for(client: Engine, project: Project, key: str, action: str) -> str:
    from devenv.engine.volumedata import first_local_image
    from devenv.plan.snapshots import helper_images

    candidates = helper_images(project, key)
    image = first_local_image(client, candidates)
    if image is None:
        needed = candidates[0] if candidates else "an image of the project"
        raise EngineError(
            f"cannot {action} volume {key}: a local image is needed for the helper container, e.g. {needed} "
            "(`devenv pull` or `devenv build` first)"
        )
    return image


def _engine_call(what: str, call: Any, *args: Any, **kwargs: Any) -> Any:
    """`call(...)`, an engine refusal as one line naming `what`."""
    from devenv.engine.volumedata import describe

    try:
        return call(*args, **kwargs)
    except Exception as exc:
        message = describe(exc)
        if message is None:
            raise
        raise EngineError(f"{what}: {message}") from None


def _entry_line(verb: str, entry: VolumeEntry, seconds: float, held: list[str], stopped: bool) -> str:
    from devenv.plan.snapshots import human_bytes

    line = (f"{verb} volume {entry.name} ({entry.volume or entry.name}): {len(entry.files)} files, "
            f"{human_bytes(entry.data_bytes)} ({human_bytes(entry.size)} tar) in {seconds:.1f} s")
    if held:
        line += f"; {'stopped and restarted' if stopped else 'paused'}: {', '.join(held)}"
    return line


def _volume_json(entry: VolumeEntry, seconds: float, held: list[str]) -> dict[str, Any]:
    return {
        "name": entry.name, "volume": entry.volume, "files": len(entry.files), "bytes": entry.data_bytes,
        "tar_bytes": entry.size, "sha256": entry.sha256, "seconds": round(seconds, 3), "held": held,
    }


@click.command("snapshot", help="Write the project's named volumes to a snapshot file (-o) or a registry (--push).")
@click.argument("volumes", nargs=-1, metavar="[VOLUME]...")
@click.option("-o", "--output", metavar="FILE", help="The snapshot file to write (mode 0600).")
@click.option("--push", "reference", metavar="REF", help="Push the snapshot to a registry as an OCI artifact.")
@click.option("--stop", "stop", is_flag=True, help="Stop the containers that write a volume while it is read (default: pause them).")
@timeout_option
@format_option()
@click.pass_obj
def snapshot(g: Globals, volumes: tuple[str, ...], output: str | None, reference: str | None, stop: bool,
             timeout: int | None, fmt: str) -> int:
    from devenv.cli.common import emit_json, load_and_connect, say
    from devenv.engine.apply import LOCK_WAIT
    from devenv.engine.control import project_containers
    from devenv.engine.lock import project_lock
    from devenv.engine.volumedata import inspect_volume
    from devenv.plan.snapshots import Manifest, SnapshotError, snapshot_volumes, writers
    from devenv.snapshotfile import DirSink, TarSink, pack

    if not output and not reference:
        raise UsageError("snapshot: give -o FILE, --push REF, or both")
    if reference:
        _check_reference(reference)
    lines = _Lines(g, fmt)
    project, client = load_and_connect(g.options)
    keys = snapshot_volumes(project, volumes)
    plan = []
    for key in keys:
        name = _engine_name(project, key)
        if inspect_volume(client, name) is None:
            raise SnapshotError(f"volume {key} ({name}) does not exist on the engine: nothing to snapshot (`devenv up` creates it)")
        plan.append((key, name, _image_for(client, project, key, "read")))
    observed = project_containers(client, project.name)
    if g.dry_run:
        for key, name, image in plan:
            held = [c.name for c in writers(observed.project_containers(), name)]
            say(f"read volume {key} ({name}) through a helper container of {image}"
                + (f"; {'stop' if stop else 'pause'} {', '.join(held)} meanwhile" if held else ""))
        return 0
    if output:
        TarSink(output).abort()  # the target can be written (checked before any container is paused)
    folder = tempfile.mkdtemp(prefix="devenv-snapshot-") if reference else None  # 0700
    sink: Sink = DirSink(folder) if folder else TarSink(str(output))
    summary: list[dict[str, Any]] = []
    try:
        with project_lock(client.address, project.name, LOCK_WAIT, say):  # no `up` recreating the writers meanwhile
            entries = _read_volumes(client, project, plan, sink, stop, timeout, lines, summary)
        manifest = Manifest(project=project.name, volumes=tuple(entries), created=_now())
        sink.finish(manifest)
        result: dict[str, Any] = {"project": project.name, "volumes": summary}
        if folder and output:
            pack(folder, manifest, output)
        if output:
            result["file"] = output
            lines(f"snapshot of {len(entries)} volume(s) written to {output}")
        if folder and reference:
            digest = _push(reference, folder, manifest, lines)
            result.update(reference=reference, digest=digest)
            if fmt != "json":
                click.echo(digest)
    except BaseException:
        sink.abort()
        raise
    finally:
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    if fmt == "json":
        emit_json(result)
    return 0


def _read_volumes(client: Engine, project: Project, plan: list[tuple[str, str, str]], sink: Sink, stop: bool,
                  timeout: int | None, lines: _Lines, summary: list[dict[str, Any]]) -> list[VolumeEntry]:
    """Each volume into the sink, its writers held meanwhile; the manifest's entries."""
    from devenv.engine.control import project_containers
    from devenv.engine.transfer import counted
    from devenv.engine.volumedata import archive_chunks, helper, quiesced
    from devenv.plan.snapshots import writers

    entries = []
    for key, name, image in plan:
        started = time.monotonic()
        with quiesced(client, stop, timeout) as q:
            # Looked at again right before: a container may have started or stopped meanwhile.
            current = writers(project_containers(client, project.name).project_containers(), name)
            held = _engine_call(f"volume {key}", q.hold, current)
            with helper(client, project.name, name, image, read_only=True) as container:
                chunks = archive_chunks(client, container)
                shown = counted(chunks, f"read volume {key}")
                try:
                    entry = sink.add_volume(key, name, shown)
                finally:
                    shown.close()
                    chunks.close()  # an interrupted copy lets go of the engine's stream at once
        _resume_failures(key, q.failures, stop)
        seconds = time.monotonic() - started
        entries.append(entry)
        summary.append(_volume_json(entry, seconds, held))
        lines(_entry_line("read", entry, seconds, held, stop))
    return entries


def _resume_failures(key: str, failures: list[str], stop: bool) -> None:
    """A container the engine would not unpause (start) again: said, the copy itself stands."""
    from devenv.cli.common import say

    for failure in failures:
        say(f"devenv: warning: volume {key}: could not {'start' if stop else 'unpause'} {failure}")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _check_reference(reference: str) -> None:
    from devenv.manifest.reference import reference_problem

    problem = reference_problem(reference)
    if problem:
        raise UsageError(f"invalid registry reference {reference!r}: {problem}")


def _push(reference: str, folder: str, manifest: Any, lines: _Lines) -> str:
    """Push the DirSink folder as an OCI artifact: one layer per volume tar, then the manifest."""
    from devenv.plan.snapshots import ARTIFACT_TYPE, MANIFEST_MEDIA_TYPE, MANIFEST_NAME, VOLUME_MEDIA_TYPE, human_bytes
    from devenv.registry.artifacts import ArtifactFile, push_artifact

    files = [ArtifactFile(os.path.join(folder, *v.file.split("/")), VOLUME_MEDIA_TYPE, v.file) for v in manifest.volumes]
    files.append(ArtifactFile(os.path.join(folder, MANIFEST_NAME), MANIFEST_MEDIA_TYPE, MANIFEST_NAME))
    annotations = {"io.devenv.snapshot.project": manifest.project, "org.opencontainers.image.created": manifest.created}
    started = time.monotonic()
    digest = push_artifact(reference, files, ARTIFACT_TYPE, annotations, progress=_blob_progress("push", reference))
    total = sum(os.path.getsize(f.path) for f in files)
    lines(f"pushed {reference} ({human_bytes(total)}) in {time.monotonic() - started:.1f} s: {digest}")
    return digest


def _blob_progress(verb: str, reference: str) -> Any:
    """The registry client's per-file progress as transfers (bars or plain lines)."""
    from devenv.engine.transfer import report

    return lambda title, done, total: report(f"{verb} {reference} {title}", done, total, finished=done >= total)


def _pull(reference: str, folder: str, lines: _Lines) -> Any:
    """The snapshot `reference` names, pulled (every blob verified) into the private `folder`."""
    from devenv.plan.snapshots import ARTIFACT_TYPE, SnapshotError, human_bytes
    from devenv.registry.artifacts import pull_artifact
    from devenv.snapshotfile import SnapshotDir

    started = time.monotonic()
    pulled = pull_artifact(reference, folder, progress=_blob_progress("pull", reference))
    if pulled.artifact_type != ARTIFACT_TYPE:
        raise SnapshotError(f"{reference} is not a devenv snapshot (artifact type {pulled.artifact_type or 'none'})")
    total = sum(f.size for f in pulled.files)
    lines(f"pulled {reference} ({human_bytes(total)}) in {time.monotonic() - started:.1f} s: {pulled.digest}")
    return SnapshotDir(reference, {f.title: str(f.path) for f in pulled.files})


@click.command("restore", help="Write a snapshot (FILE, or REF in a registry) back into the project's named volumes.")
@click.argument("source", metavar="FILE|REF")
@click.argument("volumes", nargs=-1, metavar="[VOLUME]...")
@click.option("--force", is_flag=True, help="Empty a volume that holds data before writing it (else it is refused).")
@click.option("--stop", "stop", is_flag=True, help="Stop the containers that write a volume while it is written (default: pause them).")
@timeout_option
@format_option()
@click.pass_obj
def restore(g: Globals, source: str, volumes: tuple[str, ...], force: bool, stop: bool, timeout: int | None, fmt: str) -> int:
    from devenv.cli.common import emit_json, load_while_connecting, say
    from devenv.engine.apply import LOCK_WAIT
    from devenv.engine.lock import project_lock
    from devenv.manifest.reference import reference_problem
    from devenv.plan.snapshots import SnapshotError, human_bytes, restore_volumes
    from devenv.snapshotfile import Snapshot, SnapshotFile

    lines = _Lines(g, fmt)
    project, engine = load_while_connecting(g.options)
    folder = None
    snap: Snapshot | None = None
    try:
        if os.path.exists(source):
            snap = SnapshotFile(source)
        else:
            if not any(c in source for c in "/:@") or reference_problem(source):
                raise SnapshotError(f"no such snapshot file: {source} (nor a registry reference such as HOST/NAME:TAG)")
            folder = tempfile.mkdtemp(prefix="devenv-restore-")  # 0700: the pulled data is private
            snap = _pull(source, folder, lines)
        keys = restore_volumes(project, snap.manifest, volumes, source)
        snap.verify(keys, lambda e, s: lines(f"verified volume {e.name}: {len(e.files)} files, {human_bytes(e.data_bytes)} in {s:.1f} s"))
        client = engine.result()
        with project_lock(client.address, project.name, LOCK_WAIT, say):  # no `up` recreating the writers meanwhile
            result = _restore(g, project, client, snap, keys, force, stop, timeout, lines)
    finally:
        if snap is not None:
            snap.close()
        if folder:
            shutil.rmtree(folder, ignore_errors=True)
    if fmt == "json":
        emit_json({"project": project.name, "source": source, "volumes": result})
    return 0


def _restore(g: Globals, project: Project, client: Engine, snap: Any, keys: tuple[str, ...], force: bool, stop: bool,
             timeout: int | None, lines: _Lines) -> list[dict[str, Any]]:
    from devenv.cli.common import say
    from devenv.engine.control import project_containers
    from devenv.engine.transfer import CountingReader
    from devenv.engine.volumedata import create_volume, empty_volume, helper, inspect_volume, is_empty, put_archive, quiesced
    from devenv.plan.resources import volume_create_body
    from devenv.plan.snapshots import SnapshotError, is_external, writers

    plan = []
    occupied = []
    for key in keys:  # everything checked before anything changes
        name = _engine_name(project, key)
        info = inspect_volume(client, name)
        if info is None and is_external(project, key):
            raise SnapshotError(f"external volume {key} ({name}) does not exist; create it first")
        image = _image_for(client, project, key, "write")
        empty = True
        if info is not None:
            with helper(client, project.name, name, image, read_only=True) as container:
                empty = _engine_call(f"volume {key}", is_empty, client, container)
            if not empty:
                occupied.append(f"{key} ({name})")
        plan.append((key, name, info, image, empty))
    if occupied and not force:
        raise SnapshotError(f"volume {', '.join(occupied)} is not empty; restore --force empties it first (its data is lost)")
    if g.dry_run:
        running = project_containers(client, project.name).project_containers()
        for key, name, info, _image, empty in plan:
            users = [c.name for c in writers(running, name)]
            say(("create and write" if info is None else "empty and write" if not empty else "write") + f" volume {key} ({name})"
                + (f"; {'stop' if stop else 'pause'} {', '.join(users)} meanwhile" if users else ""))
        return []
    result = []
    for key, name, info, image, empty in plan:
        entry = snap.manifest.entry(key)
        started = time.monotonic()
        with quiesced(client, stop, timeout) as q:
            held: list[str] = []
            if info is None:
                _engine_call(f"volume {key}", create_volume, client, volume_create_body(project, key))
            else:
                current = writers(project_containers(client, project.name).project_containers(), name)
                held = _engine_call(f"volume {key}", q.hold, current)
                if not empty:
                    _engine_call(f"volume {key}", empty_volume, client, project.name, name, info, image)
            with helper(client, project.name, name, image, read_only=False) as container:
                reader, size = snap.open_volume(entry)
                reader = CountingReader(reader, f"restore volume {key}", size)
                try:
                    _engine_call(f"volume {key}", put_archive, client, container, reader, size)
                finally:
                    if hasattr(reader, "close"):
                        reader.close()
        _resume_failures(key, q.failures, stop)
        seconds = time.monotonic() - started
        lines(_entry_line("restored", entry, seconds, held, stop))
        result.append(_volume_json(entry, seconds, held))
    return result
