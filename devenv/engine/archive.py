"""Tars for the engine's archive API (`cp`): made from local paths, renamed, and unpacked safely."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

from devenv.plan.copying import rebase_name

if TYPE_CHECKING:
    from devenv.engine.api import PathStat
    from devenv.engine.client import Engine

S_IFLNK_GO = 1 << 27  # Go's os.ModeSymlink, as the engine's path stat reports it
S_IFDIR_GO = 1 << 31  # os.ModeDir


def stat_is_dir(stat: dict | None) -> bool:
    return bool(stat) and bool(int(stat.get("mode", 0)) & S_IFDIR_GO)  # type: ignore[union-attr]


def stat_is_link(stat: dict | None) -> bool:
    return bool(stat) and bool(int(stat.get("mode", 0)) & S_IFLNK_GO)  # type: ignore[union-attr]


def tar_of(path: str, arcname: str, follow_links: bool = False) -> bytes:
    """A tar of the local `path` (recursively), its entries named from `arcname` (`.` for a
    directory's contents); symbolic links inside are kept as links, the top one followed if asked."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT, dereference=False) as tar:
        top = os.path.realpath(path) if follow_links else path
        tar.add(top, arcname=arcname, recursive=True)
    return buffer.getvalue()


def rebase(data: bytes, old_base: str | None, new_base: str | None) -> bytes:
    """The tar with each entry's first component `old_base` renamed `new_base` (hard links too)."""
    if old_base is None or new_base is None or old_base == new_base:
        return data
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as src, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            member.name = rebase_name(member.name, old_base, new_base)
            if member.islnk():
                member.linkname = rebase_name(member.linkname, old_base, new_base)
            dst.addfile(member, src.extractfile(member) if member.isreg() else None)
    return out.getvalue()


def extract(chunks: Iterable[bytes], directory: str, old_base: str | None = None, new_base: str | None = None) -> list[str]:
    """Unpack the tar into the local `directory`, renaming as `rebase` does. Nothing may land
    outside it: absolute names, `..`, hard links out and writing through a symbolic link of the
    same archive are refused (symbolic links themselves are kept as they are, as `docker cp` keeps
    them). Files are owned by whoever runs devenv, as with `docker cp`. The names written."""
    from devenv.plan.copying import CopyError

    data = b"".join(chunks)
    links: set[str] = set()
    written: list[str] = []

    def inside(name: str) -> bool:
        parts = name.split("/")
        return not name.startswith("/") and ".." not in parts

    def check(member: tarfile.TarInfo, _dest: str) -> tarfile.TarInfo:
        name = member.name.rstrip("/")
        if not inside(name) or (member.islnk() and not inside(member.linkname)):
            raise CopyError(f"refusing to unpack {member.name!r}: it would land outside {directory}")
        if any(name.startswith(link + "/") for link in links):
            raise CopyError(f"refusing to unpack {member.name!r}: it goes through a symbolic link of the archive")
        if member.issym():
            links.add(name)
        member.mode &= 0o1777  # no setuid/setgid bits from a container onto the host
        return member

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        members = []
        for member in tar:
            member.name = rebase_name(member.name, old_base, new_base)
            if member.islnk():
                member.linkname = rebase_name(member.linkname, old_base, new_base)
            member.uid = member.gid = os.getuid() if hasattr(os, "getuid") else 0
            member.uname = member.gname = ""
            members.append(check(member, directory))
            written.append(member.name)
        # Checked above; Python's own filters (3.11.4+) would also refuse links to absolute paths.
        trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
        tar.extractall(directory, members=members, **trusted)  # type: ignore[arg-type]
    return written


def read_all(chunks: Iterable[bytes]) -> bytes:
    return b"".join(chunks)


# ---- the engine's archive endpoint, for `cp` -------------------------------------------------------


def stat(client: Engine, container: str, path: str) -> PathStat | None:
    """What is at `path` in the container (name, size, mode, linkTarget...); None if nothing."""
    return client.api.archive_stat(container, path)


def read(client: Engine, container: str, path: str) -> Iterator[bytes]:
    """A tar of `path` in the container, chunk by chunk."""
    chunks, _stat = client.api.get_archive(container, path)
    return chunks


def write(client: Engine, container: str, directory: str, data: bytes, keep_owners: bool = False) -> None:
    """Unpack the tar `data` into `directory` in the container (its uid/gid kept with `keep_owners`)."""
    client.api.put_archive(container, directory, data, copy_uid_gid=keep_owners)
