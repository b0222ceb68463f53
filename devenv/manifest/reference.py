"""Docker's image reference grammar (distribution/reference), as a pure check.

    reference := name [":" tag] ["@" digest]
    name      := [domain "/"] path-component ["/" path-component]*
    domain    := host [":" port]          host: DNS name, IPv4, or [IPv6]
    path-component := [a-z0-9]+ (separator [a-z0-9]+)*    separator: "." | "_" | "__" | "-"+
    tag       := [\\w][\\w.-]{0,127}
    digest    := algorithm ":" hex        (sha256: 64 hex digits, sha384: 96, sha512: 128)

The first component is a registry host only if it has a "." or a ":" or is "localhost", as the
engine decides (so `Ab/c` is a repository name with an upper-case letter, not a host).

The engine rejects what does not match with "invalid reference format" only once devenv has
started to change the project; checking while loading names the file and line instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = re.compile(rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:.]+\])(?::[0-9]+)?")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)  # \w as in Go: ASCII only
_DIGEST = re.compile(r"([A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*):([0-9a-fA-F]{32,})")
_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}
_HEX64 = re.compile(r"[a-f0-9]{64}")
NAME_MAX = 255
_INVALID = "invalid reference format"


def reference_problem(reference: str) -> str | None:
    """Why `reference` is not a valid image reference, or None when it is."""
    if not reference:
        return f"{_INVALID}: empty"
    if any(c.isspace() for c in reference):
        return f"{_INVALID}: it contains white space"
    name, at, digest = reference.partition("@")
    tag = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, _, tag = name.rpartition(":")
    if tag is not None and not _TAG.fullmatch(tag):
        return f"{_INVALID}: " + ("the tag after ':' is empty" if tag == "" else f"invalid tag {tag!r}")
    if at:
        problem = _digest_problem(digest)
        if problem:
            return problem
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):  # a registry host, as Docker decides
        if not _DOMAIN.fullmatch(first):
            return f"{_INVALID}: invalid registry host {first!r}"
        path = rest
    else:
        path = name
    components = path.split("/")
    if any(c == "" for c in components):
        return f"{_INVALID}: a name component is empty"
    for component in components:
        if not _PATH_COMPONENT.fullmatch(component):
            if _PATH_COMPONENT.fullmatch(component.lower()):
                return f"{_INVALID}: repository name must be lowercase"
            return _INVALID
    if len(name) > NAME_MAX:
        return f"{_INVALID}: repository name must not be longer than {NAME_MAX} characters"
    if _HEX64.fullmatch(name):
        return "invalid repository name: a 64-character hexadecimal string is an image ID, not a name"
    return None


def _digest_problem(digest: str) -> str | None:
    if not digest:
        return f"{_INVALID}: the digest after '@' is empty"
    match = _DIGEST.fullmatch(digest)
    if match is None:
        return f"{_INVALID}: invalid digest {digest!r}"
    algorithm, hex_part = match.groups()
    wanted = _DIGEST_LENGTHS.get(algorithm)
    if wanted is None:
        return f"unsupported digest algorithm {algorithm!r}"
    if len(hex_part) != wanted:
        return f"invalid digest: a {algorithm} digest has {wanted} hexadecimal digits, not {len(hex_part)}"
    return None


# --- Normalisation, as the engine and distribution/reference do it (for registry calls) ---

DEFAULT_DOMAIN = "docker.io"  # the domain Docker names Docker Hub by
DOCKER_HUB_API = "registry-1.docker.io"  # the host its registry API answers on
_HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})


@dataclass(frozen=True)
class ImageReference:
    """A parsed, normalised image reference: `docker.io/library/busybox:latest`."""

    domain: str  # docker.io for Docker Hub, else the host[:port] as written
    path: str  # the repository: `library/` added to one-part Docker Hub names
    tag: str | None  # "latest" when neither a tag nor a digest was written
    digest: str | None

    @property
    def registry(self) -> str:
        """The host[:port] the registry API answers on (registry-1.docker.io for Docker Hub)."""
        return DOCKER_HUB_API if self.domain == DEFAULT_DOMAIN else self.domain

    @property
    def repository(self) -> str:
        return self.path

    @property
    def ref(self) -> str:
        """What to ask the registry for: the digest when there is one, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        """The fully qualified name, without tag or digest."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        return self.name + (f":{self.tag}" if self.tag else "") + (f"@{self.digest}" if self.digest else "")


def parse(reference: str) -> ImageReference:
    """Split and normalise a reference; ValueError (the reason, one line) when it is not valid."""
    problem = reference_problem(reference)
    if problem:
        raise ValueError(f"{reference!r}: {problem}")
    name, _, digest = reference.partition("@")
    tag: str | None = None
    if ":" in name.rsplit("/", 1)[-1]:
        name, _, tag = name.rpartition(":")
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, name
    if domain in _HUB_ALIASES:
        domain = DEFAULT_DOMAIN
        if "/" not in path:
            path = f"library/{path}"
    if tag is None and not digest:
        tag = "latest"
    return ImageReference(domain=domain, path=path, tag=tag, digest=digest or None)
