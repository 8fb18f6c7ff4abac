"""Threaded HTTP/1.1 server that hosts one vendor emulator (stdlib only).

Keep-alive with Content-Length on every response, optional TLS (handshake in the worker thread),
TCP_NODELAY, and tracking of open connections so `stop()` really closes them. The request pipeline
(routing, faults, latency, concurrency limit, request log) lives in `sandbox.core.base.Sandbox`.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox.core.http import Request, Response
from sandbox.core.numbers import ascii_int

if TYPE_CHECKING:
    from sandbox.core.base import Sandbox

_REASONS = {s.value: s.phrase for s in HTTPStatus}
MAX_BODY = 256 * 1024 * 1024
HEX = re.compile(rb"[0-9A-Fa-f]+")


class SandboxHTTPServer(ThreadingHTTPServer):
    """ThreadingHTTPServer bound to one `Sandbox`; closes live keep-alive connections on shutdown."""

    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: Sandbox, ssl_ctx: ssl.SSLContext | None) -> None:
        self.sandbox = sandbox
        self.ssl_ctx = ssl_ctx
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, _Handler)

    def finish_request(self, request, client_address) -> None:  # type: ignore[override]
        conn = request
        if self.ssl_ctx is not None:
            try:
                request.settimeout(10)
                conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        with self._conn_lock:
            self._connections.add(conn)
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            with self._conn_lock:
                self._connections.discard(conn)
            if conn is not request:
                with contextlib.suppress(OSError):
                    conn.close()

    def handle_error(self, request, client_address) -> None:
        """A client that hung up before its answer was written (a killed sync, a client timeout) is the
        client's business, as on a vendor's server: no traceback on stderr. Anything else is reported
        as socketserver does."""
        if isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, ssl.SSLEOFError)):
            return
        super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._conn_lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 300
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Silence stderr logging; the sandbox keeps its own request log."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, total = [], 0
            while True:
                size_line = self.rfile.readline(65537)
                hex_size = size_line.split(b";")[0].strip() or b"0"
                # hex digits only (int(..., 16) takes a sign, which read() would take as "to the end"), and
                # never past MAX_BODY (5,000 digits would overflow read())
                if not HEX.fullmatch(hex_size) or len(hex_size.lstrip(b"0")) > 16:
                    return None
                size = int(hex_size, 16)
                total += size
                if total > MAX_BODY:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
        # 1*DIGIT (RFC 9110), not int(): it took ' 3', '+3' and '3_0' (30 bytes awaited: the request hung) [round 27]
        length = ascii_int(self.headers.get("Content-Length") or "0", cap=MAX_BODY + 1)
        if length is None or length > MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        sandbox = self.server.sandbox
        try:
            body = self._read_body()
        except ValueError:
            body = None
        if body is None:
            self.close_connection = True
            self._write(sandbox.error(400, "Bad request body"))
            return
        parts = urlsplit(self.path)
        req = Request(
            method=self.command.upper(),
            path=parts.path,
            raw_query=parts.query,
            headers=self.headers,
            body=body,
            client=self.client_address[0],
            base_url=sandbox.url,
        )
        self._write(sandbox.dispatch(req))

    def _write(self, resp: Response) -> None:
        body = b"" if self.command == "HEAD" else resp.body
        head = [
            f"HTTP/1.1 {resp.status} {_REASONS.get(resp.status, 'Status')}",
            f"Server: {self.server.sandbox.server_header}",
            f"Date: {self.server.sandbox.http_date()}",
        ]
        if resp.status not in (204, 304):  # RFC 9110: no Content-Length/Type on 204/304
            head.append(f"Content-Length: {len(resp.body)}")
            head.append(f"Content-Type: {resp.content_type}")
        head.extend(f"{k}: {v}" for k, v in resp.headers)
        if self.close_connection:
            head.append("Connection: close")
        self.wfile.write(b"".join(_header_bytes(line) + b"\r\n" for line in head) + b"\r\n")
        if body:
            self.wfile.write(body)


def _header_bytes(line: str) -> bytes:
    """One header line as bytes: Latin-1 where it fits (HTTP's historical charset); otherwise UTF-8
    octets, which HTTP carries as obs-text, rather than failing the write and dropping the connection
    (a record's non-Latin-1 name in a header). CR and LF never reach the wire: a value taken from data
    cannot split the response into two."""
    line = line.replace("\r", " ").replace("\n", " ")
    try:
        return line.encode("latin-1")
    except UnicodeEncodeError:
        return line.encode("utf-8")
