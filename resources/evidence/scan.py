"""Virus scanning with ClamAV: ``clamd`` over its socket, the INSTREAM protocol.

``PROJECTX_CLAMD_ADDRESS`` is ``/path/to/clamd.ctl`` (or ``unix:/path``) or ``tcp://host:3310``.
The stream is sent in chunks (4-byte big-endian length, then the bytes; a zero length ends it);
clamd answers ``stream: OK``, ``stream: <signature> FOUND`` or ``... ERROR`` (e.g. the stream is
longer than its ``StreamMaxLength``). Anything but a clear OK or FOUND is an error: the file waits,
it is never passed as clean.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass

CHUNK = 256 * 1024


class ScannerUnavailable(Exception):
    """clamd could not give a verdict; the message names the fix."""


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str | None = None


class ClamdScanner:
    """One clamd, reached by Unix socket or TCP."""

    def __init__(self, address: str, timeout: float = 120.0):
        self.address = address
        self.timeout = timeout

    @classmethod
    def from_env(cls) -> ClamdScanner | None:
        address = os.environ.get("PROJECTX_CLAMD_ADDRESS")
        return cls(address) if address else None

    def _connect(self) -> socket.socket:
        addr = self.address
        try:
            if addr.startswith("tcp://"):
                host, _, port = addr[len("tcp://"):].rpartition(":")
                return socket.create_connection((host, int(port)), timeout=self.timeout)
            path = addr[len("unix:"):] if addr.startswith("unix:") else addr
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            sock.connect(path)
            return sock
        except (OSError, ValueError) as exc:
            raise ScannerUnavailable(f"clamd at {addr} is not reachable ({exc.__class__.__name__}): start clamd "
                                     "or set PROJECTX_CLAMD_ADDRESS to its socket") from None

    def _command(self, sock: socket.socket) -> str:
        data = b""
        while not data.endswith(b"\0"):
            part = sock.recv(4096)
            if not part:
                break
            data += part
        return data.rstrip(b"\0").decode("utf-8", "replace").strip()

    def ping(self) -> bool:
        with self._connect() as sock:
            sock.sendall(b"zPING\0")
            return self._command(sock) == "PONG"

    def scan(self, content: bytes) -> ScanResult:
        with self._connect() as sock:
            try:
                sock.sendall(b"zINSTREAM\0")
                view = memoryview(content)
                for start in range(0, len(content), CHUNK):
                    chunk = view[start:start + CHUNK]
                    sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                pass  # clamd stops reading past its limit; its answer says why
            except OSError as exc:
                raise ScannerUnavailable(f"sending {len(content)} bytes to clamd at {self.address} failed "
                                         f"({exc.__class__.__name__}): check clamd is healthy") from None
            try:
                answer = self._command(sock)
            except OSError as exc:
                raise ScannerUnavailable(f"clamd at {self.address} gave no verdict ({exc.__class__.__name__}): "
                                         "check clamd's log and its timeouts") from None
        if answer.endswith(" FOUND"):
            return ScanResult(False, answer.removeprefix("stream:").removesuffix(" FOUND").strip())
        if answer == "stream: OK":
            return ScanResult(True)
        raise ScannerUnavailable(f"clamd at {self.address} answered {answer[:200]!r} for a {len(content)}-byte "
                                 "file: raise StreamMaxLength in clamd.conf if the file is over its limit")
