"""The client proper: one signed attempt to remove one batch of thumbnails, as an `Outcome`.

Together with the emulator, this is the only place aiohttp is touched: the session and its
connector, the request, the capped body read, and the transport errors, which are translated
here into an Outcome, so retry and sender logic never see library errors (whose messages
embed full URLs). No redirect is followed and at most 1 MiB of a body is read; `replies`
reads what comes back.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Literal
from urllib.parse import quote

import aiohttp
from pydantic import SecretStr
from yarl import URL

from worker import __version__
from worker.api.clock_skew import SkewCorrector
from worker.api.options import ApiOptions
from worker.api.outcome import Outcome
from worker.api.person import PersonLookup, read_person, unknown
from worker.api.replies import interpret
from worker.api.signing import Signer
from worker.errors import ConfigError
from worker.input.batching import PersonBatch

log = logging.getLogger("thumbsweep")

# The largest response body read. A real answer lists at most ~100 thumbnails (a few tens of
# KiB); anything bigger is not believed, and a body that never ends must not fill the memory.
MAX_BODY_BYTES = 1 << 20
_JSON_HEADERS = {"Content-Type": "application/json"}
RemoveMethod = Literal["delete", "post"]
# The two forms of the same removal: DELETE with a body, or POST to `/remove` for HTTP stacks
# and proxies that drop a DELETE's body (NCP-NOTES.md). Each is signed with its own method/path.
_REMOVE_CALLS: dict[str, tuple[str, str]] = {
    "delete": ("DELETE", "/person-thumbnail"),
    "post": ("POST", "/person-thumbnail/remove"),
}


def persons_path(prefix: str, workspace: str) -> str:
    """The path up to a person's id, with the workspace percent-encoded once; the request path
    (as it goes on the wire, and is signed) is this, the person id, and `/person-thumbnail`."""
    return f"{prefix}/api/v1/workspaces/{quote(workspace, safe='')}/persons/"


def encode_body(thumbnail_ids: tuple[int, ...]) -> bytes:
    """The JSON request body, encoded once per batch and reused by every attempt."""
    return b'{"thumbnailIds":[' + ",".join(map(str, thumbnail_ids)).encode() + b"]}"


class ThumbnailApi:
    """Sends remove-thumbnail requests over one shared aiohttp session."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        signer: Signer,
        timeout: float,
        *,
        method: RemoveMethod = "delete",
        proxy: str | None = None,
    ) -> None:
        """`proxy` (credentials may be in it) beats the HTTP(S)_PROXY / NO_PROXY environment."""
        base = URL(base_url)
        self._http_method, self._suffix = _REMOVE_CALLS[method]
        self._proxy = proxy if proxy is not None else proxy_from_environment(base)
        self._skew = SkewCorrector(signer)
        self._session = session
        self._origin = base.origin()
        self._prefix = base.raw_path.rstrip("/")
        self._persons_paths: dict[str, str] = {}  # workspace -> its encoded path, built once
        self._signer = signer
        self._timeout_s = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def remove(self, batch: PersonBatch, body: bytes) -> Outcome:
        """One attempt, signed afresh now; never raises for any reply or transport trouble.

        Only cancellation leaves it. Redirects are not followed (the target would receive the
        access key and a valid signature), and at most MAX_BODY_BYTES of the body are read.
        """
        path = f"{self._persons(batch.workspace)}{batch.person_id}{self._suffix}"
        signed_offset = self._signer.offset_ms
        signed_ms = self._signer.now_ms()
        headers = self._signer.headers(self._http_method, path, signed_ms)
        headers.update(_JSON_HEADERS)
        url = self._origin.with_path(path, encoded=True)
        started = time.perf_counter()
        connect_failure = False
        try:
            async with self._session.request(
                self._http_method, url, data=body, headers=headers, timeout=self._timeout,
                allow_redirects=False, proxy=self._proxy,
            ) as response:  # fmt: skip
                payload = await _read_capped(response)
                latency = time.perf_counter() - started
                if payload is None:
                    response.close()  # the rest is never read: drop the connection
                    return _too_large(response.status, latency)
                # Headers are looked up only where they can matter (most replies are a 200).
                status, replied = response.status, response.headers
                outcome = interpret(
                    status, payload, None if status == 200 else replied.get("Retry-After"),
                    latency, location=replied.get("Location") if 300 <= status < 400 else None,
                )  # fmt: skip
                if not outcome.auth_failure:  # only a refusal's Date can show clock skew
                    return outcome
                date = replied.get("Date")
                return self._skew.review(outcome, signed_ms, signed_offset, date)
        except (TimeoutError, aiohttp.ClientError) as exc:
            message = describe_transport_error(exc, self._timeout_s)
            retryable = True
            # No connection at all (refused, DNS, TLS, a proxy's refusal): the API unreached.
            connect_failure = isinstance(
                exc, aiohttp.ClientConnectorError | aiohttp.ClientHttpProxyError
            )
        except Exception as exc:  # any reply must end as an outcome of its batch
            # Only the type: an exception's text may quote a URL with a presigned query.
            message = f"could not handle the reply ({type(exc).__name__})"
            retryable = False
            log.warning("person %s/%s: %s", batch.workspace, batch.person_id, message)
        return Outcome(
            deleted=False,
            message=message,
            retryable=retryable,
            latency=time.perf_counter() - started,
            connect_failure=connect_failure,
        )

    def _persons(self, workspace: str) -> str:
        persons = self._persons_paths.get(workspace)
        if persons is None:
            persons = self._persons_paths[workspace] = persons_path(self._prefix, workspace)
        return persons

    async def look_up(self, workspace: str, person_id: int) -> PersonLookup:
        """One signed GET of a person (it only reads); never raises but for cancellation.

        Signed exactly as the remove call (fresh timestamp, the path as sent); redirects are not
        followed and at most MAX_BODY_BYTES are read. A transport error is a retryable unknown.
        """
        path = f"{self._persons(workspace)}{person_id}"
        headers = self._signer.headers("GET", path)
        url = self._origin.with_path(path, encoded=True)
        try:
            async with self._session.request(
                "GET", url, headers=headers, timeout=self._timeout, allow_redirects=False,
                proxy=self._proxy,
            ) as response:  # fmt: skip
                payload = await _read_capped(response)
                if payload is None:
                    response.close()
                    return unknown(f"HTTP {response.status} with a body over 1 MiB")
                return read_person(response.status, payload, response.headers.get("Retry-After"))
        except (TimeoutError, aiohttp.ClientError) as exc:
            return unknown(describe_transport_error(exc, self._timeout_s), retryable=True)
        except Exception as exc:  # any reply must end as a look-up; only the type is named
            return unknown(f"could not handle the reply ({type(exc).__name__})")


def describe_transport_error(exc: BaseException, timeout: float) -> str:
    """A message for a failed exchange that names the failure but never a URL."""
    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _describe_connect_error(exc)
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return f"the proxy refused to relay the request (HTTP {exc.status})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "the server closed the connection without a response"
    if isinstance(exc, aiohttp.ClientOSError):
        return f"connection error ({exc.strerror or type(exc).__name__})"
    return f"connection error ({type(exc).__name__})"


def _describe_connect_error(exc: aiohttp.ClientConnectorError) -> str:
    """Which host could not be reached and why: host and port only, never a URL, a path or
    the proxy's user:password."""
    where = f"{exc.host}:{exc.port}" if exc.port is not None else exc.host
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        cause = exc.certificate_error
        detail = getattr(cause, "verify_message", None) or type(cause).__name__
        return (
            f"cannot connect to the API host {where}: its TLS certificate is not trusted "
            f"({detail}); behind TLS inspection, pass the inspecting CA with --ca-bundle"
        )
    reason = _os_error_reason(exc.os_error)
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"cannot connect to the API host {where}: TLS handshake failed ({reason})"
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return f"cannot connect to the proxy {where} ({reason})"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve the API host {where} ({reason})"
    return f"cannot connect to the API host {where} ({reason})"


def _os_error_reason(error: OSError) -> str:
    """A short reason: the SSL reason, the errno's text ("Connection refused"), or the
    resolver's ("Name or service not known"), rather than asyncio's text with the address."""
    if isinstance(error, ssl.SSLError):
        return str(error.reason or type(error).__name__)
    if isinstance(error, socket.gaierror) or not error.errno or error.errno < 0:
        return error.strerror or type(error).__name__
    return os.strerror(error.errno)


async def _read_capped(response: aiohttp.ClientResponse) -> bytes | None:
    """The body, or None once it proves longer than MAX_BODY_BYTES (declared or streamed)."""
    declared = response.content_length
    if declared is not None:
        if declared > MAX_BODY_BYTES:
            return None
        if "Content-Encoding" not in response.headers:
            # The usual reply: its length is known and small, and nothing unpacks it larger.
            return await response.read()
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES + 1 - size)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    return None


def _too_large(status: int, latency: float) -> Outcome:
    """A reply whose body exceeds the cap: not believed, whatever its status; retryable."""
    message = f"HTTP {status} with a response body larger than 1 MiB (not read)"
    return Outcome(False, status, message=message, retryable=True, latency=latency)


def proxy_from_environment(url: URL) -> str | None:
    """The proxy that HTTP_PROXY / HTTPS_PROXY name for `url`, unless NO_PROXY exempts its host.

    Looked up once per run. aiohttp's `trust_env` would do it per request, in a worker thread,
    and also read ~/.netrc for every request (which could add a stranger's credentials as an
    Authorization header): two thread hops per request cost more CPU than the request itself.
    """
    if url.host is None or urllib.request.proxy_bypass(url.host):
        return None
    return urllib.request.getproxies().get(url.scheme)


# aiohttp makes its default TLS context once, when imported, from OpenSSL's default CAs, which
# honour SSL_CERT_FILE and SSL_CERT_DIR as they were then (in a run: as they are now).
_CA_ENVIRONMENT = ("SSL_CERT_FILE", "SSL_CERT_DIR")
_CA_ENVIRONMENT_AT_IMPORT = tuple(os.environ.get(name) for name in _CA_ENVIRONMENT)


def verifying(ca_bundle: Path | None) -> ssl.SSLContext | Literal[True]:
    """How the connector verifies the API's certificate: against `ca_bundle`'s CAs, or else
    OpenSSL's defaults (`SSL_CERT_FILE` and `SSL_CERT_DIR` when set, else the system's).

    For the defaults this is aiohttp's own context (True), already loaded at its import: loading
    ~150 CAs again would cost as much CPU as a few hundred requests. A fresh one is made only if
    the environment changed since (tests do). A `SSL_CERT_FILE` that cannot be read is an error
    here, as a `--ca-bundle` is, rather than a silent fall-back to no CA at all.
    """
    if ca_bundle is not None:
        return trusting(ca_bundle)
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file:
        try:
            with open(cert_file, "rb"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"cannot load the CA bundle '{cert_file}' (SSL_CERT_FILE): "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
    environment = tuple(os.environ.get(name) for name in _CA_ENVIRONMENT)
    if environment == _CA_ENVIRONMENT_AT_IMPORT:
        return True
    return _openssl_defaults(*environment)


@functools.lru_cache(maxsize=4)
def _openssl_defaults(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """OpenSSL's default CAs as the environment names them now (the arguments are the cache's
    key; OpenSSL reads the variables itself)."""
    return ssl.create_default_context()


@functools.lru_cache(maxsize=4)
def trusting(ca_bundle: Path) -> ssl.SSLContext:
    """A TLS context that trusts the CAs of `ca_bundle` (a PEM file) instead of the system's.

    Made once per bundle and process: loading a bundle costs tens of milliseconds, and the
    preflight's session and the run's share it.
    """
    try:
        return ssl.create_default_context(cafile=str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
        raise ConfigError(f"cannot load the CA bundle '{ca_bundle}': {reason}") from None


@contextlib.asynccontextmanager
async def open_session(
    concurrency: int, ca_bundle: Path | None = None
) -> AsyncIterator[aiohttp.ClientSession]:
    """The one aiohttp session of a run, with a connection pool of `concurrency`.

    `ca_bundle` (a PEM file) replaces OpenSSL's default CAs, e.g. with a TLS-inspecting proxy's
    CA (see `verifying`). The proxy is not the session's business (see `proxy_from_environment`).
    """
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=verifying(ca_bundle))
    async with aiohttp.ClientSession(
        connector=connector, headers={"User-Agent": f"thumbsweep/{__version__}"}
    ) as session:
        # aiohttp silently resends an idempotent request (DELETE is one) once when a pooled
        # connection breaks (https://github.com/aio-libs/aiohttp/pull/7363). Every request must
        # be an attempt that the retry policy counts, backs off and budgets (and that the
        # ledger's `attempts` reports), so that hidden resend is switched off. aiohttp has no
        # public switch (https://github.com/aio-libs/aiohttp/issues/10790); this private
        # attribute is the one its own test client sets
        # (https://github.com/aio-libs/aiohttp/pull/9396, for issue #9141).
        session._retry_connection = False
        yield session


@contextlib.asynccontextmanager
async def open_api(
    options: ApiOptions, credentials: tuple[str, SecretStr], concurrency: int
) -> AsyncIterator[ThumbnailApi]:
    """The API client of a run (or of its preflight), over a session of its own."""
    async with open_session(concurrency, options.ca_bundle) as session:
        yield ThumbnailApi(
            session, options.base_url, Signer(*credentials), options.timeout,
            method=options.method, proxy=options.proxy,
        )  # fmt: skip
