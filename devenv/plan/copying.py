"""Where `cp` puts what it copies, with `docker cp`'s rules (moby's pkg/archive/copy.go): the
source travels as a tar whose entries start with the source's base name (`.` for `DIR/.`, which
copies a directory's contents), and the destination decides whether that tar is extracted into it
as is (an existing directory) or into its parent with the base name replaced by its own. Pure."""

from __future__ import annotations

import dataclasses
import posixpath

from devenv.errors import DevenvError


class CopyError(DevenvError):
    pass


def split_cp_arg(argument: str) -> tuple[str | None, str]:
    """`SERVICE:PATH` -> (SERVICE, PATH); a local path (no colon before the first slash, or a
    path starting with `/` or `.`) -> (None, PATH)."""
    if argument.startswith(("/", ".")) or ":" not in argument:
        return None, argument
    service, _, path = argument.partition(":")
    if "/" in service:  # `dir/a:b` is a local file name with a colon
        return None, argument
    return service, path


def specifies_current_dir(path: str) -> bool:
    return posixpath.basename(path) == "."


def asserts_directory(path: str) -> bool:
    return path.endswith("/") or specifies_current_dir(path)


def split_dir_entry(path: str) -> tuple[str, str]:
    """(parent, base) of a path, `DIR/.` giving (DIR, ".")."""
    cleaned = posixpath.normpath(path) if path else "."
    if specifies_current_dir(path):
        cleaned = cleaned.rstrip("/") + "/."
    return posixpath.dirname(cleaned) or ".", posixpath.basename(cleaned)


@dataclasses.dataclass(frozen=True)
class Source:
    path: str
    is_dir: bool
    rebase_name: str = ""  # the name a followed symlink had, which the copy keeps


@dataclasses.dataclass(frozen=True)
class Destination:
    path: str
    exists: bool
    is_dir: bool = False


@dataclasses.dataclass(frozen=True)
class Placement:
    """Extract the source's tar into `directory`, its entries' first component `old_base` renamed
    `new_base` (None: as they are)."""

    directory: str
    old_base: str | None = None
    new_base: str | None = None


def place(source: Source, destination: Destination) -> Placement:
    """moby's PrepareArchiveCopy."""
    dst_dir, dst_base = split_dir_entry(destination.path)
    _, src_base = split_dir_entry(source.path)
    src_base = source.rebase_name or src_base
    if destination.exists and destination.is_dir:
        return Placement(destination.path)
    if destination.exists and source.is_dir:
        raise CopyError(f"cannot copy a directory to a file: {destination.path} exists and is not a directory")
    if not destination.exists and not source.is_dir and asserts_directory(destination.path):
        raise CopyError(f"destination directory {destination.path} does not exist (a file cannot become a directory)")
    return Placement(dst_dir, src_base, dst_base)


def rebase_name(name: str, old_base: str | None, new_base: str | None) -> str:
    """A tar entry's name with its first component `old_base` replaced by `new_base`."""
    if old_base is None or new_base is None:
        return name
    first, sep, rest = name.partition("/")
    if first != old_base:
        return name
    return new_base + sep + rest if rest or sep else new_base
