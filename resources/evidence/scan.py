"""Virus scanning with ClamAV: ``clamd`` over its socket, the INSTREAM protocol.

``PROJECTX_CLAMD_ADDRESS`` is ``/path/to/clamd.ctl`` (or ``unix:/path``) or ``tcp://host:3310``.
The stream is sent in chunks (4-byte big-endian length, then the bytes; a zero length ends it);
clamd answers ``stream: OK``, ``stream: <signature> FOUND`` or ``... ERROR`` (e.g. the stream is
longer than its ``StreamMaxLength``). Anything but a clear OK or FOUND is an error: the file waits,
it is never passed as clean. That includes an OK given before clamd read the whole stream, an
answer cut short (no terminating NUL: clamd closed mid-answer), one longer than ``MAX_ANSWER`` bytes
(garbage) and one not complete within ``timeout`` seconds in all (a clamd trickling bytes would
otherwise hold the caller forever: the socket timeout alone bounds each read, not the answer).
"""

from __future__ import annotations

import os
import re
import socket
import struct
import time
from dataclasses import dataclass

CHUNK = 256 * 1024
MAX_ANSWER = 4096  # a verdict is one short line; more is not clamd
UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


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

    def _command(self, sock: socket.socket, deadline: float | None = None) -> str:
        """clamd's NUL-terminated answer; ``OSError`` (``TimeoutError``) when it is cut short, too long
        or not complete by ``deadline``."""
        deadline = deadline if deadline is not None else time.monotonic() + self.timeout
        data = b""
        while not data.endswith(b"\0"):
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no complete answer within {self.timeout:g} s")
            sock.settimeout(left)
            part = sock.recv(4096)
            if not part:
                raise ConnectionResetError(f"the connection closed after {len(data)} byte(s) of the answer")
            data += part
            if len(data) > MAX_ANSWER:
                raise ConnectionAbortedError(f"an answer over {MAX_ANSWER} bytes")
        return data[:-1].decode("utf-8", "replace").strip()

    def ping(self) -> bool:
        with self._connect() as sock:
            sock.sendall(b"zPING\0")
            return self._command(sock) == "PONG"

    def scan(self, content: bytes) -> ScanResult:
        deadline = time.monotonic() + self.timeout
        cut_short = False
        with self._connect() as sock:
            try:
                sock.sendall(b"zINSTREAM\0")
                view = memoryview(content)
                for start in range(0, len(content), CHUNK):
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    chunk = view[start:start + CHUNK]
                    sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                sock.sendall(struct.pack("!L", 0))
            except (BrokenPipeError, ConnectionResetError):
                cut_short = True  # clamd stops reading past its limit; its answer says why
            except OSError as exc:
                raise ScannerUnavailable(f"sending {len(content)} bytes to clamd at {self.address} failed "
                                         f"({exc.__class__.__name__}): check clamd is healthy") from None
            try:
                answer = self._command(sock, deadline)
            except OSError as exc:
                raise ScannerUnavailable(f"clamd at {self.address} gave no verdict ({exc.__class__.__name__}"
                                         f"{': ' + str(exc) if str(exc) else ''}): check clamd's log and its "
                                         "timeouts") from None
        if answer == "stream: OK" and not cut_short:
            return ScanResult(True)
        if answer.startswith("stream: ") and answer.endswith(" FOUND"):
            # infected whatever the name; the name goes to alerts and logs: printable ASCII only, short
            signature = UNPRINTABLE.sub(lambda m: ascii(m.group())[1:-1], answer[len("stream: "):-len(" FOUND")])
            return ScanResult(False, signature.strip()[:200] or "unnamed signature")
        if answer == "stream: OK":
            raise ScannerUnavailable(f"clamd at {self.address} answered OK before it had read the whole "
                                     f"{len(content)}-byte file: it cannot have scanned it; check clamd's log")
        if "size limit exceeded" in answer.lower():
            raise ScannerUnavailable(f"clamd at {self.address} refused a {len(content)}-byte file as over its "
                                     f"StreamMaxLength ({answer[:200]!r}): raise StreamMaxLength in clamd.conf "
                                     "above PROJECTX_EVIDENCE_MAX_BYTES; the file waits as pending until then")
        raise ScannerUnavailable(f"clamd at {self.address} answered {answer[:200]!r} for a {len(content)}-byte "
                                 "file, neither OK nor FOUND: check clamd's log (raise StreamMaxLength in "
                                 "clamd.conf if the file is over its limit)")
