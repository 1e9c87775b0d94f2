"""Test stand-ins for the network between thumbsweep and the API: a forward HTTP proxy that
counts what goes through it, a TLS front with a self-signed certificate, and a closed port."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit


def closed_port() -> int:
    """A local TCP port that nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@dataclass
class ForwardProxy:
    """A plain-HTTP forward proxy: absolute-form requests are relayed to their origin.

    It records each request line it relays (method and absolute target) and the
    Proxy-Authorization it saw; with `required_auth` set, other requests get a 407.
    """

    required_auth: str | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    auth_seen: list[str | None] = field(default_factory=list)
    port: int = 0

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except asyncio.IncompleteReadError:
                    return
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ")
                headers = dict(line.split(": ", 1) for line in lines[1:] if line)
                folded = {name.lower(): value for name, value in headers.items()}
                body = await reader.readexactly(int(folded.get("content-length", "0")))
                auth = folded.get("proxy-authorization")
                self.auth_seen.append(auth)
                if self.required_auth is not None and auth != self.required_auth:
                    writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                                 b"Content-Length: 0\r\nConnection: close\r\n\r\n")  # fmt: skip
                    await writer.drain()
                    return
                self.requests.append((method, target))
                url = urlsplit(target)
                if upstream is None:
                    assert url.hostname is not None
                    assert url.port is not None
                    upstream = await asyncio.open_connection(url.hostname, url.port)
                kept = [
                    f"{n}: {v}" for n, v in headers.items() if not n.lower().startswith("proxy-")
                ]
                origin_form = url.path + (f"?{url.query}" if url.query else "")
                out = "\r\n".join([f"{method} {origin_form} {version}", *kept, "", ""])
                upstream[1].write(out.encode("latin-1") + body)
                await upstream[1].drain()
                reply_head = await upstream[0].readuntil(b"\r\n\r\n")
                length = 0
                for line in reply_head.decode("latin-1").split("\r\n")[1:]:
                    if line.lower().startswith("content-length:"):
                        length = int(line.split(":", 1)[1])
                writer.write(reply_head + await upstream[0].readexactly(length))
                await writer.drain()
        finally:
            if upstream is not None:
                upstream[1].close()
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[ForwardProxy]:
        """Listen on a free local port for the duration of the block."""
        server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        async with server:
            yield self
            server.close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for 127.0.0.1 and its key (made with the openssl CLI)."""
    cert, key = directory / "ca.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@contextlib.asynccontextmanager
async def tls_front(cert: Path, key: Path, backend_port: int) -> AsyncIterator[int]:
    """A TLS endpoint (as a corporate inspection proxy presents) relaying bytes to a local
    plain-HTTP port; yields its port."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        sink.close()

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        back_reader, back_writer = await asyncio.open_connection("127.0.0.1", backend_port)
        await asyncio.gather(pipe(reader, back_writer), pipe(back_reader, writer))

    server = await asyncio.start_server(relay, "127.0.0.1", 0, ssl=context)
    async with server:
        yield server.sockets[0].getsockname()[1]
        server.close()
