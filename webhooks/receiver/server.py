"""How uvicorn serves the receiver (``python -m webhooks`` and ``webhooks.local.ServedApp``): with bounds
on a request's head that uvicorn does not have itself.

uvicorn's default HTTP parser (httptools) buffers request lines and headers without limit, and waits
for them without a deadline, so one client could hold gigabytes in one header or a connection forever
by trickling its headers. ``BoundedHttpToolsProtocol`` answers **431** when a request's head (request
line and headers) passes ``MAX_HEAD_BYTES`` and **408** when it is not complete ``HEAD_TIMEOUT``
seconds after its first byte, then closes the connection. (The body has its own bounds in the
receiver: ``max_body_bytes``, 413, and ``body_timeout_seconds``, 408.) Without httptools, uvicorn's h11
parser is used with the same head size limit (h11 has no head deadline).
"""

from __future__ import annotations

import asyncio
from typing import Any

MAX_HEAD_BYTES = 64 * 1024  # vendors send a few hundred bytes of headers; Slack and Jira well under 8 KiB
HEAD_TIMEOUT = 10.0  # seconds from a request's first byte to the end of its headers

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: uvicorn serves with h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def _answer(status: int, reason: str, message: str) -> bytes:
    body = message.encode("ascii")
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode("ascii") + body


HEAD_TOO_LARGE = _answer(431, "Request Header Fields Too Large",
                         f"request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB: send fewer or smaller headers")
HEAD_TOO_SLOW = _answer(408, "Request Timeout",
                        f"request headers not complete within {HEAD_TIMEOUT:.0f} s: send them at once")

if HttpToolsProtocol is not None:
    class BoundedHttpToolsProtocol(HttpToolsProtocol):
        """uvicorn's httptools protocol with a size limit and a deadline on each request's head."""

        max_head_bytes = MAX_HEAD_BYTES
        head_timeout = HEAD_TIMEOUT

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._in_head, self._head_bytes, self._head_timer = True, 0, None
            super().connection_made(transport)
            # a connection that never sends a byte is held no longer than a slow head
            self._head_timer = self.loop.call_later(self.head_timeout, self._refuse, HEAD_TOO_SLOW)

        def data_received(self, data: bytes) -> None:
            if self._in_head:
                if self._head_timer is None:
                    self._head_timer = self.loop.call_later(self.head_timeout, self._refuse, HEAD_TOO_SLOW)
                self._head_bytes += len(data)
            super().data_received(data)
            # still no end of headers (a read holds head and body when the head is short): the parser has
            # buffered at most the limit plus one read (64 KiB)
            if self._in_head and self._head_bytes > self.max_head_bytes:
                self._refuse(HEAD_TOO_LARGE)

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes = False, 0
            self._cancel_head_timer()
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head = True  # the next bytes on this connection start the next request's head

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _refuse(self, answer: bytes) -> None:
            self._cancel_head_timer()
            self._in_head = False
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()


def server_options() -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that bound request heads, and leave the
    client address alone: uvicorn's own proxy-header handling would take it from X-Forwarded-For for any
    request from 127.0.0.1 (its default ``FORWARDED_ALLOW_IPS``), so one local sender could pose as many.
    The receiver reads that header itself, only from ``PROJECTX_WEBHOOK_TRUSTED_PROXIES``."""
    if HttpToolsProtocol is None:
        return {"http": "h11", "h11_max_incomplete_event_size": MAX_HEAD_BYTES, "proxy_headers": False}
    return {"http": BoundedHttpToolsProtocol, "proxy_headers": False}
