"""A small client of the OCI distribution API (Docker registry v2), on http.client.

Transport: plain http for the hosts docker treats as insecure (localhost, 127.0.0.0/8, ::1 and
the HOST[:PORT] entries of DEVENV_INSECURE_REGISTRIES, comma-separated), https with the default,
verifying SSL context otherwise. Connecting may take CONNECT_TIMEOUT seconds, each read
READ_TIMEOUT. A 401 is answered once with the challenge's scheme: Bearer (a token from the realm,
with Basic credentials when docker has some) or Basic. Every failure is one RegistryError line
naming the registry, the repository and the HTTP status, reason and registry error code.

Everything read is verified: a manifest's body hashes to the digest asked for (or the one the
registry announces), a blob's to its digest.

Also as docker does: CAs and client certificates from /etc/docker/certs.d/HOST[:PORT]/, and
HTTPS_PROXY / HTTP_PROXY / NO_PROXY (http:// proxies; loopback never proxied). Connections are
kept for the next requests of the same client; reads are tried again on a dropped connection
or a busy registry (RETRY_DELAYS). A client is safe to share between threads; `client_for`
gives the process's shared one per registry.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import http.client
import io
import ipaddress
import json
import os
import platform as _platform
import re
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeGuard

from devenv.errors import RegistryError
from devenv.manifest.reference import ImageReference, parse
from devenv.registry import auth

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
CHUNK = 1 << 20
UPLOAD_BLOCK = 1 << 20  # bytes http.client reads from a file per send while uploading
MAX_MANIFEST = 4 << 20  # the limit distribution puts on a manifest's size
MAX_REDIRECTS = 5
MAX_IDLE = 8  # connections kept open per (scheme, host) for the next requests
DRAIN_LIMIT = 64 << 10  # an unread response rest up to this size is read to keep its connection
RETRY_DELAYS = (0.5, 2.0)  # seconds before the 2nd and 3rd attempts of a read
RETRY_STATUSES = frozenset({429, 502, 503, 504})
CERTS_D = Path("/etc/docker/certs.d")  # docker's per-registry certificates: HOST[:PORT]/ca.crt, client.cert, client.key

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
ALL = INDEX_TYPES + MANIFEST_TYPES
IMAGE_CONFIG_TYPES = ("application/vnd.oci.image.config.v1+json", "application/vnd.docker.container.image.v1+json")

Progress = Callable[[int, int], None]  # (bytes done, bytes in all) of one blob


@dataclass(frozen=True)
class Manifest:
    """A manifest or index as the registry stores it: `raw` is what its digest is computed over."""

    media_type: str
    digest: str
    raw: bytes

    def json(self) -> dict[str, Any]:
        data = json.loads(self.raw)
        if not isinstance(data, dict):
            raise ValueError("a manifest is a JSON object")
        return data


@dataclass(frozen=True)
class Resolved:
    """What a reference points at in its registry.

    `digest`: the manifest or index the tag names (what `docker pull` records in RepoDigests);
    `platform_digest`: the manifest for the platform asked for (equal to `digest` for a single
    manifest); `config_digest`: that manifest's config (the image ID docker shows);
    `platforms`: the platforms on offer, as os/arch[/variant] (a single manifest's, from its
    config, is not checked against the platform asked for: compare it yourself if it matters).
    """

    reference: str
    digest: str
    platform_digest: str
    media_type: str
    platforms: tuple[str, ...]
    config_digest: str | None = None


# --- transport -------------------------------------------------------------------------------


def _split_host(host: str) -> tuple[str, int | None]:
    """`[::1]:5000` -> ("::1", 5000); `example.com` -> ("example.com", None)."""
    if host.startswith("["):
        inner, _, rest = host[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return inner, int(port) if port.isdigit() else None
    name, sep, port = host.rpartition(":")
    if sep and port.isdigit() and ":" not in name:
        return name, int(port)
    return host, None


def is_insecure(host: str, env: Mapping[str, str] | None = None) -> bool:
    """Whether docker would speak plain http to `host` (host[:port]): loopback or listed."""
    env = os.environ if env is None else env
    name, _ = _split_host(host)
    if name.lower() == "localhost" or _is_loopback(name):
        return True
    for entry in (env.get("DEVENV_INSECURE_REGISTRIES") or "").split(","):
        entry = entry.strip().lower()
        if not entry:
            continue
        entry_name, entry_port = _split_host(entry)
        if entry == host.lower() or (entry_port is None and entry_name == name.lower()):
            return True
    return False


def scheme_for(host: str, env: Mapping[str, str] | None = None) -> str:
    return "http" if is_insecure(host, env) else "https"


def sha256_of(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


_DIGEST = re.compile(r"sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128}")
_TAG = re.compile(r"[\w][\w.-]{0,127}", re.ASCII)
_REPOSITORY = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")


def is_digest(value: object) -> TypeGuard[str]:
    """A digest this client can verify: sha256, sha384 or sha512, lower-case hex of full length."""
    return isinstance(value, str) and _DIGEST.fullmatch(value) is not None


def _hasher(digest: str, what: str) -> Any:
    if not is_digest(digest):
        raise RegistryError(f"{what}: not a digest this client can verify: {digest[:140]!r}")
    return hashlib.new(digest.partition(":")[0])


def _digest_with(digest: str, data: bytes) -> str:
    hasher = _hasher(digest, "digest")
    hasher.update(data)
    return f"{digest.partition(':')[0]}:{hasher.hexdigest()}"


class _Dropped(RegistryError):
    """The connection failed during an exchange (reset, timed out): worth another try for a read."""


class _Response:
    """An open response (status, headers, body stream); close() hands its connection back for
    another request when the body was read to its end, else closes it."""

    def __init__(
        self,
        conn: http.client.HTTPConnection,
        resp: http.client.HTTPResponse,
        url: str,
        release: Callable[[http.client.HTTPConnection], None] | None = None,
    ):
        self.conn = conn
        self.resp = resp
        self.url = url
        self.status = resp.status
        self.reason = resp.reason
        self._release = release

    def header(self, name: str) -> str | None:
        return self.resp.getheader(name)

    def read(self, limit: int | None = None) -> bytes:
        if limit is None:
            return self.resp.read()
        data = self.resp.read(limit + 1)
        if len(data) > limit:
            raise ValueError(f"larger than {limit} bytes")
        return data

    def close(self) -> None:
        reusable = False
        try:
            if not self.resp.isclosed() and self.resp.length is not None and self.resp.length <= DRAIN_LIMIT:
                self.resp.read()  # a small unread rest (an error body, a HEAD): drain it to keep the connection
            reusable = self.resp.isclosed() and not self.resp.will_close and self._release is not None
        except (OSError, http.client.HTTPException):
            reusable = False
        finally:
            self.resp.close()
            if reusable and self._release is not None:
                self._release(self.conn)
            else:
                self.conn.close()
            self._release = None

    def __enter__(self) -> _Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Capped(io.BytesIO):
    """A memory buffer that refuses to grow past `limit` bytes (ValueError)."""

    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def write(self, data: Any) -> int:
        if self.tell() + len(data) > self.limit:
            raise ValueError(f"larger than {self.limit} bytes")
        return super().write(data)


class _ProgressReader:
    """A file wrapper that reports progress as http.client reads the body from it."""

    def __init__(self, stream: IO[bytes], total: int, progress: Progress | None):
        self.stream = stream
        self.total = total
        self.done = 0
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.done += len(data)
        if self.progress is not None and data:
            self.progress(self.done, self.total)
        return data


class RegistryClient:
    """One registry (host[:port], as in a reference: `127.0.0.1:5000`, `registry-1.docker.io`)."""

    def __init__(
        self,
        host: str,
        env: Mapping[str, str] | None = None,
        credentials: auth.Credentials | None = None,
        scheme: str | None = None,
        certs_dir: str | os.PathLike[str] | None = None,
    ):
        """`scheme`: "https" or "http" instead of the choice `scheme_for` makes; `certs_dir`:
        docker's certs.d folder (CERTS_D), whose HOST[:PORT]/*.crt are trusted CAs for this host
        and *.cert/*.key a client certificate. Safe to share between threads."""
        self.host = "registry-1.docker.io" if host in ("docker.io", "index.docker.io") else host
        self.env = os.environ if env is None else env
        if scheme not in (None, "http", "https"):
            raise ValueError(f"scheme {scheme!r}: http or https")
        self.scheme = scheme or scheme_for(self.host, self.env)
        self._certs_dir = Path(certs_dir) if certs_dir is not None else CERTS_D
        self._ssl_context: ssl.SSLContext | None = None
        self._credentials = credentials
        self._credentials_loaded = credentials is not None
        self._authorization: dict[str, str] = {}  # scope -> Authorization header value
        self._idle: dict[tuple[str, str], list[tuple[http.client.HTTPConnection, bool]]] = {}  # kept connections
        self._idle_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RegistryClient({self.host!r})"

    # -- low level --

    def _creds(self) -> auth.Credentials | None:
        if not self._credentials_loaded:
            self._credentials = auth.credentials(self.host, self.env)
            self._credentials_loaded = True
        return self._credentials

    def _fail(self, repo: str | None, what: str, detail: str, status: int | None = None, code: str | None = None) -> RegistryError:
        where = f"registry {self.host}" + (f", repository {repo}" if repo else "")
        return RegistryError(f"{where}: {what}: {detail}", status=status, code=code)

    def _idle_connection(self, key: tuple[str, str]) -> tuple[http.client.HTTPConnection | None, bool]:
        with self._idle_lock:
            idle = self._idle.get(key)
            if idle:
                return idle.pop()
        return None, False

    def _keep(self, key: tuple[str, str], absolute: bool, conn: http.client.HTTPConnection) -> None:
        with self._idle_lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE:
                idle.append((conn, absolute))
                return
        conn.close()

    def close(self) -> None:
        """Close the kept connections (the client stays usable)."""
        with self._idle_lock:
            kept = [conn for idle in self._idle.values() for conn, _ in idle]
            self._idle.clear()
        for conn in kept:
            conn.close()

    def _context(self) -> ssl.SSLContext:
        """The default verifying context, plus what docker's certs.d holds for this host."""
        if self._ssl_context is None:
            context = ssl.create_default_context()
            folder = self._certs_dir / self.host
            try:
                for ca in sorted(folder.glob("*.crt")):
                    context.load_verify_locations(cafile=str(ca))
                for cert in sorted(folder.glob("*.cert")):
                    context.load_cert_chain(str(cert), str(cert.with_suffix(".key")))
            except (OSError, ssl.SSLError) as exc:
                raise self._fail(None, "TLS setup", f"cannot load the certificates in {folder}: {_os_reason(exc)}") from None
            self._ssl_context = context
        return self._ssl_context

    def _connect(self, scheme: str, netloc: str) -> tuple[http.client.HTTPConnection, bool]:
        """A connected connection to `netloc` (through HTTP(S)_PROXY unless NO_PROXY or loopback);
        True when requests must name the absolute URL (plain http through a proxy)."""
        name, port = _split_host(netloc)
        proxy = proxy_for(scheme, netloc, self.env)
        conn: http.client.HTTPConnection
        absolute = False
        if proxy is not None:
            proxy_host, proxy_port, proxy_auth = proxy
            if scheme == "https":
                conn = http.client.HTTPSConnection(
                    proxy_host, proxy_port, timeout=CONNECT_TIMEOUT, context=self._context(), blocksize=UPLOAD_BLOCK
                )
                conn.set_tunnel(name, port, headers={"Proxy-Authorization": proxy_auth} if proxy_auth else None)
            else:
                conn = http.client.HTTPConnection(proxy_host, proxy_port, timeout=CONNECT_TIMEOUT, blocksize=UPLOAD_BLOCK)
                absolute = True
        elif scheme == "https":
            conn = http.client.HTTPSConnection(name, port, timeout=CONNECT_TIMEOUT, context=self._context(), blocksize=UPLOAD_BLOCK)
        else:
            conn = http.client.HTTPConnection(name, port, timeout=CONNECT_TIMEOUT, blocksize=UPLOAD_BLOCK)
        conn.connect()
        if conn.sock is not None:
            conn.sock.settimeout(READ_TIMEOUT)
        return conn, absolute

    def _send(self, method: str, url: str, headers: Mapping[str, str], body: Any, repo: str | None, what: str) -> _Response:
        """One request, following redirects of GET/HEAD (without credentials to another host)."""
        hops = 0
        current_headers = dict(headers)
        # a kept connection serves requests without a body stream; one the server has closed
        # meanwhile fails at once, and the request goes again on a new connection
        may_reuse = body is None or isinstance(body, bytes)
        while True:
            parts = urllib.parse.urlsplit(url)
            key = (parts.scheme, parts.netloc)
            conn, absolute = self._idle_connection(key) if may_reuse else (None, False)
            reused = conn is not None
            if conn is None:
                try:
                    conn, absolute = self._connect(parts.scheme, parts.netloc)
                except ssl.SSLError as exc:
                    raise self._fail(repo, what, f"TLS failed ({exc.reason or exc}); the certificate is verified") from None
                except OSError as exc:
                    raise self._fail(repo, what, f"cannot connect to {parts.netloc} ({_os_reason(exc)})") from None
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            if absolute:
                target = f"{parts.scheme}://{parts.netloc}{target}"
                if "Proxy-Authorization" not in current_headers and (proxy := proxy_for(parts.scheme, parts.netloc, self.env)) and proxy[2]:
                    current_headers["Proxy-Authorization"] = proxy[2]
            try:
                conn.request(method, target, body=body, headers=current_headers)
                resp = conn.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                if reused:
                    continue
                failed = self._fail(repo, what, f"{method} {parts.path}: {_os_reason(exc)}")
                raise _Dropped(str(failed)) from None
            response = _Response(conn, resp, url, functools.partial(self._keep, key, absolute))
            if resp.status in (301, 302, 303, 307, 308) and method in ("GET", "HEAD") and hops < MAX_REDIRECTS:
                location = resp.getheader("Location")
                response.close()
                if not location:
                    raise self._fail(repo, what, f"{resp.status} redirect without a Location")
                new_url = urllib.parse.urljoin(url, location)
                new = urllib.parse.urlsplit(new_url)
                if parts.scheme == "https" and new.scheme != "https":
                    raise self._fail(repo, what, f"refusing a redirect from https to {new.scheme}")
                if new.netloc != parts.netloc:
                    current_headers = {k: v for k, v in current_headers.items() if k.lower() != "authorization"}
                url = new_url
                hops += 1
                continue
            return response

    def _request(
        self,
        method: str,
        path: str,
        *,
        repo: str | None,
        what: str,
        actions: str = "pull",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        rewind: Callable[[], Any] | None = None,
        ok: Iterable[int] = (200,),
    ) -> _Response:
        """A call with authentication: on 401 answer the challenge once, then retry.

        `path` is absolute (/v2/...) or a full URL (upload locations). Statuses outside `ok`
        become a RegistryError. GET and HEAD are tried again after RETRY_DELAYS when the
        connection fails or the registry answers 429, 502, 503 or 504."""
        if method not in ("GET", "HEAD"):
            return self._request_once(method, path, repo=repo, what=what, actions=actions, headers=headers, body=body, rewind=rewind, ok=ok)
        for delay in (*RETRY_DELAYS, None):  # reads are retried on a dropped connection or a busy registry
            try:
                response = self._request_once(method, path, repo=repo, what=what, actions=actions, headers=headers, ok=ok)
            except RegistryError as exc:
                if delay is None or not (isinstance(exc, _Dropped) or exc.status in RETRY_STATUSES):
                    raise
                time.sleep(delay)
                continue
            return response
        raise AssertionError("unreachable")

    def _request_once(
        self,
        method: str,
        path: str,
        *,
        repo: str | None,
        what: str,
        actions: str = "pull",
        headers: Mapping[str, str] | None = None,
        body: Any = None,
        rewind: Callable[[], Any] | None = None,
        ok: Iterable[int] = (200,),
    ) -> _Response:
        if repo is not None and not _REPOSITORY.fullmatch(repo):
            raise self._fail(None, what, f"invalid repository name {repo[:140]!r}")
        url = path if "://" in path else f"{self.scheme}://{self.host}{path}"
        scope = f"repository:{repo}:{actions}" if repo else ""
        sent = dict(headers or {})
        sent.setdefault("User-Agent", "devenv")
        if scope in self._authorization:
            sent["Authorization"] = self._authorization[scope]
        response = self._send(method, url, sent, body, repo, what)
        if response.status == 401:
            challenge = response.header("WWW-Authenticate") or ""
            response.read()
            response.close()
            value = self._authorize(auth.parse_challenges(challenge), scope, repo, what)
            if value is None:
                raise self._fail(repo, what, "401 Unauthorized (no credentials for this registry in the docker config)")
            self._authorization[scope] = value
            sent["Authorization"] = value
            if rewind is not None:
                body = rewind()
            response = self._send(method, url, sent, body, repo, what)
        if response.status not in set(ok):
            raise self._error(response, repo, what)
        return response

    def _error(self, response: _Response, repo: str | None, what: str) -> RegistryError:
        try:
            body = response.read(64 << 10)
        except (OSError, ValueError, http.client.HTTPException):
            body = b""
        finally:
            response.close()
        detail = f"{response.status} {response.reason}"
        code = None
        try:
            errors = json.loads(body).get("errors") or []
            codes = [f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)]
            code = next((str(e["code"]) for e in errors if isinstance(e, dict) and e.get("code")), None)
            if codes:
                detail += " (" + " ".join("; ".join(codes).split())[:300] + ")"
        except (ValueError, AttributeError):
            pass
        if response.status == 401:
            detail += " (check the credentials in the docker config)"
        return self._fail(repo, what, detail, status=response.status, code=code)

    def _authorize(self, challenges: list[auth.Challenge], scope: str, repo: str | None, what: str) -> str | None:
        creds = self._creds()
        for challenge in challenges:
            if challenge.scheme == "bearer" and challenge.params.get("realm"):
                return "Bearer " + self._token(challenge.params, scope, creds, repo, what)
        for challenge in challenges:
            if challenge.scheme == "basic" and creds is not None:
                return creds.basic()
        return None

    def _token(self, params: Mapping[str, str], scope: str, creds: auth.Credentials | None, repo: str | None, what: str) -> str:
        realm = params["realm"]
        parts = urllib.parse.urlsplit(realm)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise self._fail(repo, what, f"the token realm {realm!r} is not an http(s) URL")
        if parts.scheme == "http" and not is_insecure(parts.netloc, self.env) and creds is not None:
            raise self._fail(repo, what, f"refusing to send credentials to the plain-http token realm {parts.netloc}")
        query: dict[str, str] = {}
        if params.get("service"):
            query["service"] = params["service"]
        wanted_scope = scope or params.get("scope", "")
        headers = {"User-Agent": "devenv"}
        if creds is not None and creds.identity_token:
            form = dict(query, grant_type="refresh_token", refresh_token=creds.identity_token, client_id="devenv")
            if wanted_scope:
                form["scope"] = wanted_scope
            body: bytes | None = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            method = "POST"
            url = realm
        else:
            if wanted_scope:
                query["scope"] = wanted_scope
            basic = creds.basic() if creds is not None else None
            if basic:
                headers["Authorization"] = basic
            body = None
            method = "GET"
            sep = "&" if parts.query else "?"
            url = realm + (sep + urllib.parse.urlencode(query) if query else "")
        response = self._send(method, url, headers, body, repo, f"{what}: token from {parts.netloc}")
        with response:
            if response.status != 200:
                raise self._fail(repo, what, f"the token service {parts.netloc} answered {response.status} {response.reason}")
            try:
                answer = json.loads(response.read(1 << 20))
            except ValueError:
                raise self._fail(repo, what, f"the token service {parts.netloc} answered something that is not JSON") from None
        token = answer.get("token") or answer.get("access_token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise self._fail(repo, what, f"the token service {parts.netloc} answered no token")
        return token

    # -- manifests --

    def ping(self) -> None:
        """GET /v2/: the registry answers its API (200, or 401: it wants credentials), else a
        RegistryError saying why (`devenv doctor`)."""
        response = self._send("GET", f"{self.scheme}://{self.host}/v2/", {"User-Agent": "devenv"}, None, None, "ping")
        if response.status not in (200, 401):
            raise self._error(response, None, "ping")
        response.close()

    def manifest(self, repo: str, ref: str, accept: Iterable[str] = ALL) -> Manifest:
        """GET a manifest or index by tag or digest; its body must hash to the digest asked for
        (or to the Docker-Content-Digest the registry announces for a tag)."""
        what = f"manifest {ref}"
        _check_ref(self, repo, ref, what)
        response = self._request("GET", f"/v2/{repo}/manifests/{ref}", repo=repo, what=what, headers={"Accept": ", ".join(accept)})
        with response:
            try:
                raw = response.read(MAX_MANIFEST)
            except ValueError as exc:
                raise self._fail(repo, what, f"the manifest is {exc}") from None
            except (OSError, http.client.HTTPException) as exc:
                raise self._fail(repo, what, f"reading the manifest: {_os_reason(exc)}") from None
            announced = response.header("Docker-Content-Digest")
            content_type = (response.header("Content-Type") or "").split(";")[0].strip()
        expected = ref if is_digest(ref) else announced
        if expected:
            actual = _digest_with(expected, raw)
            if actual != expected:
                raise self._fail(repo, what, f"the manifest's content does not match its digest (expected {expected}, got {actual})")
            digest = expected
        else:
            digest = sha256_of(raw)
        media_type = content_type
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise self._fail(repo, what, "the manifest is not a JSON object")
        if isinstance(body.get("mediaType"), str) and (not media_type or media_type not in ALL):
            media_type = body["mediaType"]
        return Manifest(media_type=media_type, digest=digest, raw=raw)

    def put_manifest(self, repo: str, ref: str, media_type: str, raw: bytes) -> str:
        """PUT a manifest under a tag or its digest; returns its digest (checked against the answer)."""
        what = f"push manifest {ref}"
        _check_ref(self, repo, ref, what)
        response = self._request(
            "PUT",
            f"/v2/{repo}/manifests/{ref}",
            repo=repo,
            what=what,
            actions="pull,push",
            headers={"Content-Type": media_type, "Content-Length": str(len(raw))},
            body=raw,
            rewind=lambda: raw,
            ok=(201, 200),
        )
        digest = sha256_of(raw)
        with response:
            response.read()
            announced = response.header("Docker-Content-Digest")
        if announced and announced != digest:
            raise self._fail(repo, what, f"the registry stored digest {announced}, not {digest}")
        return digest

    def retag(self, repo: str, ref: str, tag: str) -> str:
        """Point `tag` at what `ref` (a tag or digest) names, byte for byte; the digest."""
        found = self.manifest(repo, ref)
        return self.put_manifest(repo, tag, found.media_type, found.raw)

    def resolve(self, reference: ImageReference, platform: str | None = None) -> Resolved:
        """The digests `reference` points at; see `Resolved`."""
        repo = reference.repository
        wanted = parse_platform(platform or default_platform())
        top = self.manifest(repo, reference.ref)
        if top.media_type in INDEX_TYPES:
            entries = [entry for entry in top.json().get("manifests") or [] if isinstance(entry, dict)]
            platforms = tuple(p for p in (_platform_of(e.get("platform")) for e in entries) if p and not p.startswith("unknown/"))
            chosen = select_platform(entries, wanted)
            if chosen is None:
                raise self._fail(
                    repo,
                    f"manifest {reference.ref}",
                    f"no manifest for platform {format_platform(wanted)} (offered: {', '.join(platforms) or 'none'})",
                )
            platform_digest = str(chosen["digest"])
            single = self.manifest(repo, platform_digest, MANIFEST_TYPES)
        else:
            platforms = ()
            platform_digest = top.digest
            single = top
        config_digest = None
        body = single.json()
        config = body.get("config") if isinstance(body.get("config"), dict) else None
        if config is not None and config.get("digest") is not None:
            config_digest = config["digest"]
            if not is_digest(config_digest):
                raise self._fail(repo, f"manifest {platform_digest}", f"the config digest {str(config_digest)[:140]!r} is not a digest")
            size = config.get("size")
            if not platforms and config.get("mediaType") in IMAGE_CONFIG_TYPES and isinstance(size, int) and size <= MAX_MANIFEST:
                found = _platform_of(self._small_json_blob(repo, config_digest))
                platforms = (found,) if found else ()
        return Resolved(
            reference=str(reference),
            digest=top.digest,
            platform_digest=platform_digest,
            media_type=top.media_type,
            platforms=platforms,
            config_digest=config_digest,
        )

    # -- blobs --

    def blob_exists(self, repo: str, digest: str) -> bool:
        response = self._request("HEAD", f"/v2/{repo}/blobs/{digest}", repo=repo, what=f"blob {digest}", ok=(200, 404))
        with response:
            return response.status == 200

    def _small_json_blob(self, repo: str, digest: str) -> Any:
        buffer = _Capped(MAX_MANIFEST)
        try:
            self.get_blob(repo, digest, buffer)
        except ValueError as exc:
            raise self._fail(repo, f"blob {digest}", str(exc)) from None
        try:
            return json.loads(buffer.getvalue())
        except ValueError:
            raise self._fail(repo, f"blob {digest}", "not JSON") from None

    def get_blob(self, repo: str, digest: str, dest: str | os.PathLike[str] | IO[bytes], progress: Progress | None = None) -> int:
        """Stream a blob to a file (path: written beside it, renamed once verified; mode 0600) or
        an open binary file; returns its size. A body that does not hash to `digest` is refused."""
        what = f"blob {digest}"
        hasher = _hasher(digest, what)
        if isinstance(dest, (str, os.PathLike)):
            target = Path(dest)
            try:
                fd, tmp = tempfile.mkstemp(prefix=".devenv-blob-", dir=target.parent)
            except OSError as exc:
                raise self._fail(repo, what, f"cannot write in {target.parent}: {_os_reason(exc)}") from None
            try:
                with os.fdopen(fd, "wb") as out:
                    size = self._stream_blob(repo, digest, out, hasher, progress)
                os.replace(tmp, target)
            except OSError as exc:
                _unlink(tmp)
                raise self._fail(repo, what, f"cannot write {target}: {_os_reason(exc)}") from None
            except BaseException:
                _unlink(tmp)
                raise
            return size
        return self._stream_blob(repo, digest, dest, hasher, progress)

    def _stream_blob(self, repo: str, digest: str, out: IO[bytes], hasher: Any, progress: Progress | None) -> int:
        what = f"blob {digest}"
        response = self._request("GET", f"/v2/{repo}/blobs/{digest}", repo=repo, what=what)
        with response:
            total = int(response.header("Content-Length") or 0)
            done = 0
            if progress is not None:
                progress(0, total)
            try:
                while True:
                    chunk = response.resp.read(CHUNK)
                    if not chunk:
                        break
                    hasher.update(chunk)
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise self._fail(repo, what, f"writing the blob: {_os_reason(exc)}") from None
                    done += len(chunk)
                    if progress is not None:
                        progress(done, total or done)
            except (OSError, http.client.HTTPException) as exc:
                raise self._fail(repo, what, f"reading the blob: {_os_reason(exc)}") from None
        actual = f"{digest.partition(':')[0]}:{hasher.hexdigest()}"
        if actual != digest:
            raise self._fail(repo, what, f"the blob's content does not match its digest (got {actual})")
        return done

    def put_blob(self, repo: str, data: bytes | str | os.PathLike[str], progress: Progress | None = None) -> str:
        """Upload a blob (bytes, or a file streamed from disk) unless the registry has it; its digest."""
        if isinstance(data, bytes):
            digest, size = sha256_of(data), len(data)
        else:
            digest, size = _file_digest(Path(data))
        if self.blob_exists(repo, digest):
            if progress is not None:
                progress(size, size)
            return digest
        what = f"upload blob {digest}"
        start = self._request(
            "POST",
            f"/v2/{repo}/blobs/uploads/",
            repo=repo,
            what=what,
            actions="pull,push",
            headers={"Content-Length": "0"},
            body=b"",
            rewind=lambda: b"",
            ok=(202,),
        )
        with start:
            start.read()
            location = start.header("Location")
        if not location:
            raise self._fail(repo, what, "the registry gave no upload location")
        url = urllib.parse.urljoin(f"{self.scheme}://{self.host}/v2/{repo}/blobs/uploads/", location)
        url += ("&" if urllib.parse.urlsplit(url).query else "?") + urllib.parse.urlencode({"digest": digest})
        upload = urllib.parse.urlsplit(url)
        if _endpoint(upload.scheme, upload.netloc) != _endpoint(self.scheme, self.host):
            raise self._fail(repo, what, f"the registry sends the upload to another host ({upload.scheme}://{upload.netloc})")
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(size)}
        if isinstance(data, bytes):
            body_stream: IO[bytes] = io.BytesIO(data)
            response = self._put_stream(repo, url, headers, body_stream, size, progress, what)
        else:
            try:
                with open(data, "rb") as body_stream:
                    response = self._put_stream(repo, url, headers, body_stream, size, progress, what)
            except OSError as exc:  # the file, not the network: _request turns those into RegistryError
                raise self._fail(repo, what, f"cannot read {data}: {_os_reason(exc)}") from None
        with response:
            response.read()
            announced = response.header("Docker-Content-Digest")
        if announced and announced != digest:
            raise self._fail(repo, what, f"the registry stored digest {announced}")
        return digest

    def _put_stream(
        self, repo: str, url: str, headers: Mapping[str, str], stream: IO[bytes], size: int, progress: Progress | None, what: str
    ) -> _Response:
        def rewind() -> _ProgressReader:
            stream.seek(0)
            return _ProgressReader(stream, size, progress)

        return self._request(
            "PUT", url, repo=repo, what=what, actions="pull,push", headers=headers, body=rewind(), rewind=rewind, ok=(201,)
        )

    def delete_manifest(self, repo: str, digest: str) -> bool:
        """DELETE a manifest by digest (registries may refuse: False when it is unknown)."""
        return self._delete(repo, "manifests", digest)

    def delete_blob(self, repo: str, digest: str) -> bool:
        """DELETE a blob from a repository (False when it is unknown there)."""
        return self._delete(repo, "blobs", digest)

    def _delete(self, repo: str, kind: str, digest: str) -> bool:
        response = self._request(
            "DELETE",
            f"/v2/{repo}/{kind}/{digest}",
            repo=repo,
            what=f"delete {kind[:-1]} {digest}",
            actions="pull,push,delete",
            ok=(202, 200, 404),
        )
        with response:
            response.read()
            return response.status != 404

    def head_digest(self, repo: str, ref: str, accept: Iterable[str] = ALL) -> str:
        """The digest a tag points at, from a HEAD (no body: cheaper, and not counted by Docker
        Hub's pull limit); falls back to `manifest` when the registry announces none. Not
        verified against content: compare it with a recorded digest, do not trust bytes by it."""
        what = f"manifest {ref}"
        _check_ref(self, repo, ref, what)
        response = self._request("HEAD", f"/v2/{repo}/manifests/{ref}", repo=repo, what=what, headers={"Accept": ", ".join(accept)})
        with response:
            announced = response.header("Docker-Content-Digest")
        if is_digest(announced):
            return announced
        return self.manifest(repo, ref, accept).digest


def proxy_for(scheme: str, netloc: str, env: Mapping[str, str]) -> tuple[str, int, str | None] | None:
    """(host, port, Proxy-Authorization value) of the proxy for `scheme://netloc`, as Go's
    ProxyFromEnvironment picks it: HTTPS_PROXY / HTTP_PROXY (either case), not for NO_PROXY hosts
    nor loopback ones. Only http:// proxies."""
    name, _ = _split_host(netloc)
    if name.lower() == "localhost" or _is_loopback(name):
        return None
    value = env.get(f"{scheme}_proxy") or env.get(f"{scheme.upper()}_PROXY") or ""
    if not value:
        return None
    no_proxy = env.get("no_proxy") or env.get("NO_PROXY") or ""
    for entry in (e.strip().lower() for e in no_proxy.split(",")):
        if not entry:
            continue
        if entry == "*":
            return None
        entry_name, entry_port = _split_host(entry)
        entry_name = entry_name.lstrip(".")
        host = name.lower()
        if (host == entry_name or host.endswith("." + entry_name)) and (entry_port is None or entry == netloc.lower()):
            return None
    parts = urllib.parse.urlsplit(value if "://" in value else f"http://{value}")
    if parts.scheme != "http" or not parts.hostname:
        raise RegistryError(f"{scheme.upper()}_PROXY: only http:// proxies are supported, not {parts.scheme}://")
    proxy_auth = None
    if parts.username is not None:
        user = urllib.parse.unquote(parts.username)
        password = urllib.parse.unquote(parts.password or "")
        proxy_auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return parts.hostname, parts.port or 80, proxy_auth


def _is_loopback(name: str) -> bool:
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _endpoint(scheme: str, netloc: str) -> tuple[str, str, int]:
    """(scheme, host, port) with the scheme's default port filled in, for comparing locations."""
    name, port = _split_host(netloc)
    return scheme, name.lower(), port or (443 if scheme == "https" else 80)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _file_digest(path: Path) -> tuple[str, int]:
    hasher = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                hasher.update(chunk)
                size += len(chunk)
    except OSError as exc:
        raise RegistryError(f"cannot read {path}: {exc.strerror or exc}") from None
    return "sha256:" + hasher.hexdigest(), size


def _check_ref(client: RegistryClient, repo: str, ref: str, what: str) -> None:
    """A tag or a digest, nothing that could change the URL it goes into."""
    if not (is_digest(ref) or _TAG.fullmatch(ref)):
        raise client._fail(repo, what, f"not a tag or a digest: {ref[:140]!r}")


def _os_reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --- platforms -------------------------------------------------------------------------------

_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "armv7l": "arm/v7",
    "armv6l": "arm/v6",
    "i386": "386",
    "i686": "386",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def default_platform(machine: str | None = None) -> str:
    """linux/<this machine's architecture, as Go names it> (linux/amd64 on x86_64)."""
    machine = (machine or _platform.machine()).lower()
    return "linux/" + _ARCH.get(machine, machine)


def parse_platform(text: str) -> tuple[str, str, str]:
    """`linux/arm64/v8` -> ("linux", "arm64", "v8"), normalised as containerd does (arm64's
    variant defaults to v8, arm's to v7, aarch64 is arm64, x86_64 is amd64)."""
    parts = [p.strip().lower() for p in text.split("/")]
    if not 2 <= len(parts) <= 3 or not all(parts):
        raise RegistryError(f"invalid platform {text!r}: expected os/arch[/variant]")
    os_name, arch = parts[0], parts[1]
    variant = parts[2] if len(parts) == 3 else ""
    return _normalise(os_name, arch, variant)


def _normalise(os_name: str, arch: str, variant: str) -> tuple[str, str, str]:
    arch = {"x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm", "armel": "arm", "i386": "386"}.get(arch, arch)
    if arch == "arm64" and variant in ("", "8", "v8"):
        variant = "v8"
    elif arch == "arm" and variant in ("", "7", "v7"):
        variant = "v7"
    elif arch == "amd64" and variant in ("", "v1"):
        variant = ""
    return os_name, arch, variant


def format_platform(platform: tuple[str, str, str]) -> str:
    return "/".join(p for p in platform if p)


def _platform_of(spec: Any) -> str | None:
    if not isinstance(spec, dict) or not spec.get("os") or not spec.get("architecture"):
        return None
    variant = spec.get("variant") or ""
    return f"{spec['os']}/{spec['architecture']}" + (f"/{variant}" if variant else "")


def select_platform(entries: list[dict[str, Any]], wanted: tuple[str, str, str]) -> dict[str, Any] | None:
    """The index entry for `wanted` (normalised os, arch, variant): the exact match first; for
    arm, an older variant the machine also runs (v7 runs v6, v5)."""
    candidates: list[tuple[int, int, dict[str, Any]]] = []
    for position, entry in enumerate(entries):
        spec = entry.get("platform")
        if not isinstance(spec, dict) or not isinstance(entry.get("digest"), str):
            continue
        have = _normalise(
            str(spec.get("os", "")).lower(), str(spec.get("architecture", "")).lower(), str(spec.get("variant") or "").lower()
        )
        if have[:2] != wanted[:2]:
            continue
        if have[2] == wanted[2]:
            candidates.append((0, position, entry))
        elif wanted[1] == "arm" and have[2][1:].isdigit() and wanted[2][1:].isdigit() and int(have[2][1:]) < int(wanted[2][1:]):
            candidates.append((int(wanted[2][1:]) - int(have[2][1:]), position, entry))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[2]


# --- convenience -------------------------------------------------------------------------------


def parse_reference(reference: str) -> ImageReference:
    """`parse`, with a bad reference as one RegistryError line."""
    try:
        return parse(reference)
    except ValueError as exc:
        raise RegistryError(str(exc)) from None


_CLIENTS: dict[tuple[str, ...], RegistryClient] = {}
_CLIENTS_LOCK = threading.Lock()


def client_for(host: str) -> RegistryClient:
    """A shared client of `host` for this process (its credentials are looked up, and its tokens
    fetched, once), for the current environment (DOCKER_CONFIG, insecure registries, proxies)."""
    env = os.environ
    key = (host, str(auth.config_path(env)), *(env.get(name, "") for name in _CLIENT_ENV))
    with _CLIENTS_LOCK:
        client = _CLIENTS.get(key)
        if client is None:
            client = _CLIENTS[key] = RegistryClient(host)
        return client


_CLIENT_ENV = ("DEVENV_INSECURE_REGISTRIES", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy")


def resolve_digest(reference: str, platform: str | None = None, client: RegistryClient | None = None) -> Resolved:
    """The index/manifest digest `reference` points at and the manifest for `platform`
    (default: linux/<this machine>), with that manifest's config digest (the image ID).
    Without `client`, the shared `client_for` the reference's registry."""
    parsed = parse_reference(reference)
    if client is None:
        client = client_for(parsed.registry)
    return client.resolve(parsed, platform)
