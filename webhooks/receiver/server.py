"""How uvicorn serves the receiver (``python -m webhooks`` and ``webhooks.local.ServedApp``): with bounds
on connections and request heads that uvicorn does not have itself.

uvicorn's default HTTP parser (httptools) buffers request lines and headers without limit, and waits
for them without a deadline, so one client could hold gigabytes in one header or a connection forever
by trickling its headers. ``BoundedHttpToolsProtocol`` answers **431** when a request's head (request
line and headers) passes ``MAX_HEAD_BYTES`` and **408** when it is not complete ``head_timeout_seconds``
(default ``HEAD_TIMEOUT``) after its first byte, or when a connection sends nothing that long, then
closes the connection. (The body has its own bounds in the receiver: ``max_body_bytes``, 413, and
``body_timeout_seconds``, 408.) It also:

- keeps the connection budget (``webhooks.receiver.connections``): per client address (429) and in all
  (503, after closing an idle connection of the heaviest address if there is one);
- answers at most ``MAX_PIPELINED`` requests queued on one connection: past that the last one queued is
  answered with ``connection: close`` and nothing more is read (a 64 KiB read of tiny pipelined
  requests queued thousands of request objects);
- drops trailer fields after a chunked body (uvicorn added them to the request's headers, unbounded)
  and answers 431 past ``MAX_HEAD_BYTES`` of them;
- aborts a connection whose answers are not read for ``SEND_TIMEOUT`` seconds (a client that never
  reads held its task and its answers forever).

Without httptools (the one thing that picks the path: ``server_options`` serves with
``BoundedHttpToolsProtocol`` when httptools imports, else ``BoundedH11Protocol``), uvicorn's h11 parser
is used with the same head size limit (431), the same head deadline (408; uvicorn's h11 protocol had
none, so a head trickled a byte every few seconds held its connection for good: each byte cancelled
the keep-alive timer), the send deadline and the connection budget; h11 itself reads one request at a
time (pipelined ones wait unread) and drops trailers. uvicorn's own knobs come from the settings too
(``server_options``): ``timeout_keep_alive`` (``keep_alive_seconds``) and ``limit_concurrency``:
``max_connections`` plus
``BACKLOG`` (uvicorn counts a refused connection until it has closed, and one accept can bring a backlog
of them), so it only backs the budget up: at or below ``max_connections`` uvicorn would answer 503 to
every request once idle connections filled it, which is the starvation the budget prevents.
"""

from __future__ import annotations

import asyncio
import logging
import re
import resource
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from webhooks.receiver.connections import ConnectionBudget
from webhooks.receiver.metrics import CONNECTIONS_REFUSED

log = logging.getLogger(__name__)
MAX_HEAD_BYTES = 64 * 1024  # vendors send a few hundred bytes of headers; Slack and Jira well under 8 KiB
HEAD_TIMEOUT = 10.0  # seconds from a request's first byte (or the connection's start) to the end of its headers
MAX_PIPELINED = 32  # requests waiting behind the one being answered, on one connection
SEND_TIMEOUT = 30.0  # seconds a connection may leave its answers unread (the write buffer full)
BACKLOG = 2048  # connections the kernel queues before they are accepted (uvicorn's default)
SPARE_FILES = 64  # file descriptors kept out of the connection budget: the inbox, logs, Vault, SMTP

try:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: uvicorn serves with h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


def _answer(status: int, reason: str, message: str, retry: bool = False) -> bytes:
    body = message.encode("ascii")
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\n{'retry-after: 1' + chr(13) + chr(10) if retry else ''}"
            "connection: close\r\n\r\n").encode("ascii") + body


HEAD_TOO_LARGE = _answer(431, "Request Header Fields Too Large",
                         f"request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB: send fewer or smaller headers")
TOO_MANY_FROM_ADDRESS = _answer(429, "Too Many Requests", "too many open connections from your address: close idle "
                                "ones or send fewer requests in parallel", retry=True)
OBS_FOLD = _answer(400, "Bad Request", "a header line continued on the next (obs-fold) is not accepted: send each "
                   "header field on one line")
_OBS_FOLD = re.compile(rb"\n[ \t]")  # a line of the head that begins with whitespace
_HEAD_END = re.compile(rb"\n\r?\n")  # the blank line that ends a head (as h11 finds it)
SERVER_FULL = _answer(503, "Service Unavailable", "try again later: the receiver has no free connection", retry=True)


def _head_too_slow(seconds: float) -> bytes:
    return _answer(408, "Request Timeout", f"request headers not complete within {seconds:g} s: send them at once")


class _PipelineFull(Exception):
    """Raised from a parser callback to stop parsing a connection's input."""


class _StoppableParser:
    """httptools' parser, whose ``feed_data`` ends quietly when a callback raised :class:`_PipelineFull`
    (httptools wraps it in HttpParserCallbackError, which uvicorn would answer as a 400 in the middle of
    the answers still owed on the connection)."""

    def __init__(self, parser) -> None:
        self._parser = parser

    def feed_data(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            if not isinstance(exc.__context__, _PipelineFull):
                raise

    def __getattr__(self, name: str):
        return getattr(self._parser, name)


class _Budgeted:
    """The connection budget and the send deadline, for either uvicorn HTTP protocol."""

    budget: ConnectionBudget | None = None  # set per server by server_options()
    send_timeout = SEND_TIMEOUT

    def _admit(self) -> bool:
        self._refused, self._send_timer = False, None
        if self.budget is None:
            return True
        peer = self.transport.get_extra_info("peername")
        over = self.budget.admit(self, peer[0] if isinstance(peer, (tuple, list)) and peer else None)
        if over is None:
            return True
        self._refused = True
        CONNECTIONS_REFUSED.labels(over).inc()
        self.transport.write(TOO_MANY_FROM_ADDRESS if over == "address" else SERVER_FULL)
        self.transport.close()
        return False

    def _release(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        if self.budget is not None:
            self.budget.release(self)

    def handle_websocket_upgrade(self, *event: Any) -> None:
        """Never reached with ``ws="none"`` (``server_options``): the receiver serves no WebSocket. Were it
        reached, uvicorn would hand the socket to a WebSocket protocol whose close this one never sees, and
        the connection's budget slot would be held for good; so the upgrade is refused and the slot freed."""
        self._release()
        self.transport.write(_answer(400, "Bad Request", "WebSocket is not served here"))
        self.transport.close()

    def evict(self) -> None:
        """Closed to make room for another address (the budget chose it: not inside a request)."""
        CONNECTIONS_REFUSED.labels("evicted").inc()
        if not self.transport.is_closing():
            self.transport.close()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._send_timer is None:
            self._send_timer = self.loop.call_later(self.send_timeout, self._stalled)

    def resume_writing(self) -> None:
        if self._send_timer is not None:
            self._send_timer.cancel()
            self._send_timer = None
        super().resume_writing()

    def _stalled(self) -> None:
        self._send_timer = None
        CONNECTIONS_REFUSED.labels("stalled_reader").inc()
        self.transport.abort()


class BoundedH11Protocol(_Budgeted, H11Protocol):
    """uvicorn's h11 protocol with the connection budget, a deadline on each request's head (from the
    connection's start or the head's first byte; h11 is ``IDLE`` until the head is complete) and a 431
    for a head over the size limit (``h11_max_incomplete_event_size``; uvicorn answered it 400)."""

    max_head_bytes = MAX_HEAD_BYTES
    head_timeout = HEAD_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._head_timer, self._head_scanned, self._head_tail = None, False, b""
        super().connection_made(transport)
        if self._admit():  # a connection that never sends a byte is held no longer than a slow head
            self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if self.conn.their_state is h11.IDLE:  # these bytes are (part of) a request's head
            self._start_head_timer()
            if self._head_scanned and self._folded(data):
                return
        super().data_received(data)

    def handle_events(self) -> None:
        if self.conn.their_state is h11.IDLE and not self._head_scanned:
            # a head's first bytes (maybe buffered behind the last request): looked at once, later reads as
            # they come (data_received), so a head trickled in is not copied again for each byte
            self._head_scanned, self._head_tail = True, b""
            if self._folded(self.conn.trailing_data[0]):
                return
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # the head is complete (or the connection failed)
            self._head_scanned, self._head_tail = False, b""
            self._cancel_head_timer()
        elif self._head_timer is None and not self.transport.is_closing() and self.conn.trailing_data[0]:
            # the next request's head began in a read while the last one was answered (pipelined): it was
            # buffered, not received now, so its deadline starts here
            self._start_head_timer()

    def _folded(self, data: bytes) -> bool:
        """True (and the connection answered 400 and closed) when a header line of the head in ``data`` is
        folded onto the next (obs-fold). h11 unfolds it, as RFC 9112 5.2 allows; httptools refuses it, as
        it also allows. A front proxy that reads the continuation as a line of its own would see another
        ``Transfer-Encoding`` than this server (``transfer-encoding:\\r\\n chunked`` was de-chunked here)."""
        chunk = self._head_tail + data
        end = _HEAD_END.search(chunk)
        self._head_tail = chunk[-2:]
        if _OBS_FOLD.search(chunk, 0, end.end() if end else len(chunk)) is None:
            return False
        self._write_and_close(OBS_FOLD)
        return True

    def send_400_response(self, msg: str) -> None:
        if len(self.conn.trailing_data[0]) > self.max_head_bytes:  # h11's "Receive buffer too long"
            self._write_and_close(HEAD_TOO_LARGE)
            return
        super().send_400_response(msg)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._release()
        super().connection_lost(exc)

    def is_busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _start_head_timer(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_timeout, self._head_expired)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_expired(self) -> None:
        self._head_timer = None
        if self.conn.their_state is h11.IDLE:  # no request is being answered: the 408 is the only answer
            self._write_and_close(_head_too_slow(self.head_timeout))

    def _write_and_close(self, answer: bytes) -> None:
        self._cancel_head_timer()
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()


if HttpToolsProtocol is not None:
    class BoundedHttpToolsProtocol(_Budgeted, HttpToolsProtocol):
        """uvicorn's httptools protocol with a size limit and a deadline on each request's head, a bound on
        pipelined requests, a send deadline and the connection budget."""

        max_head_bytes = MAX_HEAD_BYTES
        head_timeout = HEAD_TIMEOUT
        max_pipelined = MAX_PIPELINED

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._in_head, self._head_bytes, self._head_timer, self._stopped = True, 0, None, False
            self.parser = _StoppableParser(self.parser)
            super().connection_made(transport)
            if not self._admit():
                return
            # a connection that never sends a byte is held no longer than a slow head
            self._head_timer = self.loop.call_later(self.head_timeout, self._refuse, _head_too_slow(self.head_timeout))

        def data_received(self, data: bytes) -> None:
            if self._refused or self._stopped:
                return
            if self._in_head:
                if self._head_timer is None:
                    self._head_timer = self.loop.call_later(self.head_timeout, self._refuse,
                                                            _head_too_slow(self.head_timeout))
                self._head_bytes += len(data)
            super().data_received(data)
            if self._stopped:  # answer what is queued, the last with connection: close; read no more
                self.flow.pause_reading()
                self.cycle.keep_alive = False
                CONNECTIONS_REFUSED.labels("pipelined").inc()
                return
            # still no end of headers (a read holds head and body when the head is short): the parser has
            # buffered at most the limit plus one read (64 KiB)
            if self._in_head and self._head_bytes > self.max_head_bytes:
                self._refuse(HEAD_TOO_LARGE)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            # a head that begins in the same read as the end of the last request (pipelined) has its deadline
            # from here: data_received started none, and it was held until the keep-alive timeout
            if self._head_timer is None and not self._refused and not self.transport.is_closing():
                self._head_timer = self.loop.call_later(self.head_timeout, self._refuse,
                                                        _head_too_slow(self.head_timeout))

        def on_header(self, name: bytes, value: bytes) -> None:
            if self._in_head:
                super().on_header(name, value)
                return
            # a trailer field after a chunked body: uvicorn appended it to the request's headers (read by the
            # app after the body: a header added after the fact), without limit (400 MB in 3 s). Dropped,
            # and bounded like a head.
            self._head_bytes += len(name) + len(value) + 4
            if self._head_bytes > self.max_head_bytes:
                self._refuse(HEAD_TOO_LARGE)

        def on_headers_complete(self) -> None:
            self._in_head, self._head_bytes = False, 0
            self._cancel_head_timer()
            if len(self.pipeline) >= self.max_pipelined:
                self._stopped = True
                raise _PipelineFull
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head, self._head_bytes = True, 0  # the next bytes start the next request's head

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            self._release()
            super().connection_lost(exc)

        def is_busy(self) -> bool:
            return bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _refuse(self, answer: bytes) -> None:
            self._cancel_head_timer()
            if self._in_head and self.is_busy():
                # the next pipelined request's head is too slow or too large while answers to earlier ones
                # are still owed: a 408/431 now would be read as one of them. Read no more; the last owed
                # answer closes the connection.
                self._in_head, self._stopped = False, True
                self.flow.pause_reading()
                self.cycle.keep_alive = False
                return
            self._in_head = False
            if not self.transport.is_closing():
                self.transport.write(answer)
                self.transport.close()


def connection_limit(wanted: int) -> int:
    """``wanted`` connections, or fewer when the process may not open that many files: the soft limit is
    raised to the hard one first; what is still missing is logged once (raise ``ulimit -n``)."""
    if not wanted:
        return wanted
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < need:
        fitted = max(1, soft - SPARE_FILES)
        log.warning("PROJECTX_WEBHOOK_MAX_CONNECTIONS=%d does not fit the open-file limit (%d): serving at most %d "
                    "connections; raise the limit (ulimit -n, LimitNOFILE=) or lower the setting", wanted, soft, fitted)
        return fitted
    return wanted


def server_options(settings=None) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that bound connections and request heads,
    and leave the client address alone: uvicorn's own proxy-header handling would take it from
    X-Forwarded-For for any request from 127.0.0.1 (its default ``FORWARDED_ALLOW_IPS``), so one local
    sender could pose as many. The receiver reads that header itself, only from
    ``PROJECTX_WEBHOOK_TRUSTED_PROXIES``. ``settings``: a ``WebhookSettings`` (default: its defaults);
    each call makes a protocol class with its own connection budget (one per server)."""
    from webhooks.settings import WebhookSettings

    settings = settings or WebhookSettings()
    total = connection_limit(settings.max_connections)
    attrs: dict[str, Any] = {"budget": ConnectionBudget(settings.max_connections_per_address, total,
                                                        settings.trusted_proxies)}
    base = BoundedH11Protocol if HttpToolsProtocol is None else BoundedHttpToolsProtocol
    if settings.head_timeout_seconds is not None:
        attrs["head_timeout"] = settings.head_timeout_seconds
    # ws="none": an Upgrade request is served as plain HTTP (the receiver has no WebSocket route), never handed
    # to a WebSocket protocol, which would keep the connection's budget slot when it closed.
    options: dict[str, Any] = {"http": type(base.__name__, (base,), attrs), "proxy_headers": False, "ws": "none",
                               "timeout_keep_alive": settings.keep_alive_seconds,
                               "limit_concurrency": total + BACKLOG if total else None, "backlog": BACKLOG}
    if base is BoundedH11Protocol:
        options["h11_max_incomplete_event_size"] = MAX_HEAD_BYTES
    return options
