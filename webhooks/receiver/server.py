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
  and answers 431 past ``MAX_HEAD_BYTES`` of them or past ``MAX_HEADERS`` fields (as h11's path does);
- answers 431 to a head with more than ``MAX_HEADERS`` header fields (thousands of tiny ones fit in 64 KiB,
  each a callback here and a search in the app);
- answers 400 to a chunked body in more than ``MAX_CHUNKS`` data chunks (each one a Python callback: a body
  in one-byte chunks held the event loop for seconds), and to a request with two ``Host`` headers or an
  HTTP/1.1 one with none (RFC 9112 3.2; h11 refuses both itself) or one whose value is no host (``a b``,
  ``evil/x``, ``user@r``; both parsers served it); a pipelined request refused while its
  body or trailers are parsed is answered in its turn, after the answers still owed before it (written at
  once, the refusal was read as the answer to an earlier request);
- answers 505 to a request in a version other than HTTP/1.0 and 1.1 (httptools served "HTTP/0.9" and "HTTP/2.0"
  with headers and a chunked body, where a proxy reads no headers or refuses the version);
- answers 400 to a target holding a fragment (httptools dropped it: ``/metrics#x`` served /metrics) or with
  a scheme other than http(s) (``ftp://x/metrics`` served /metrics; h11 answered 404), and to a
  request asking to switch protocols (``Connection: upgrade``, ``CONNECT``) that declares a body (httptools stops
  at its head: the body was parsed as a request of its own); one without a body is answered, then closed;
- strips the whitespace httptools leaves after a header value (RFC 9110 5.5; h11 strips it): a signed
  timestamp or id followed by a space was 401 on httptools only;
- sends no ``100 Continue`` to an HTTP/1.0 request (uvicorn did: a 1xx a 1.0 client reads as the answer);
- writes uvicorn's own 400 (a request httptools refuses) after the answers still owed on the connection, not
  before them;
- aborts a connection whose answers are not read for ``SEND_TIMEOUT`` seconds (a client that never
  reads held its task and its answers forever).

The head size counts a whole head, also one that arrives complete in one read (up to 256 KiB: both
parsers took it whole, their own bounds are on a head still incomplete).

Without httptools (the one thing that picks the path: ``server_options`` serves with
``BoundedHttpToolsProtocol`` when httptools imports, else ``BoundedH11Protocol`` from
``webhooks.receiver.h11_protocol``), uvicorn's h11 parser is used with the same head size limit (431),
the same head deadline (408; uvicorn's h11 protocol had none, so a head trickled a byte every few
seconds held its connection for good: each byte cancelled the keep-alive timer), a 400 for a folded
header line (as httptools), the send deadline and the connection budget; h11 itself reads one request
at a time (pipelined ones wait unread) and drops trailers. Its chunked bodies are held to CRLF line ends as
httptools holds them (no bare LF ending the trailers, no folded trailer, no bare CR in a chunk line) and to
the same ``MAX_CHUNKS``. What both share (the canned answers, the
budget and the send deadline) is in ``webhooks.receiver.protocol_base``.

uvicorn's own knobs come from the settings too (``server_options``): ``timeout_keep_alive``
(``keep_alive_seconds``) and ``limit_concurrency``: ``max_connections`` plus ``BACKLOG`` (uvicorn counts a
refused connection until it has closed, and one accept can bring a backlog of them), so it only backs the
budget up: at or below ``max_connections`` uvicorn would answer 503 to
every request once idle connections filled it, which is the starvation the budget prevents.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from typing import Any

from webhooks.receiver.connections import ConnectionBudget
from webhooks.receiver.h11_protocol import BoundedH11Protocol
from webhooks.receiver.metrics import CONNECTIONS_REFUSED
from webhooks.receiver.protocol_base import (  # noqa: F401 - the bounds, read here by tests and callers
    AMBIGUOUS_FRAMING,
    FRAGMENT,
    HEAD_TIMEOUT,
    HEAD_TOO_LARGE,
    HOST_COUNT,
    HOST_VALUE,
    MAX_CHUNKS,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    SEND_TIMEOUT,
    SERVED_VERSIONS,
    TARGET_FORM,
    TOO_MANY_CHUNKS,
    TOO_MANY_HEADERS,
    UPGRADE_WITH_BODY,
    VERSION_NOT_SUPPORTED,
    _answer,
    _Budgeted,
    _head_too_slow,
    declares_body,
    host_valid,
    target_served,
)

log = logging.getLogger(__name__)
MAX_PIPELINED = 32  # requests waiting behind the one being answered, on one connection
BACKLOG = 2048  # connections the kernel queues before they are accepted (uvicorn's default)
SPARE_FILES = 64  # file descriptors kept out of the connection budget: the inbox, logs, Vault, SMTP

try:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # httptools not installed: uvicorn serves with h11
    HttpToolsProtocol = None  # type: ignore[assignment,misc]


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



def _canned(answer: bytes):
    """An ASGI app answering with ``answer`` (one of the canned answers, ``connection: close`` among its
    headers): a refusal queued behind the answers still owed on a connection, written when its turn comes."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.split(b"\r\n")
    headers = [(name.strip().lower(), value.strip()) for name, _, value in (line.partition(b":") for line in lines)]

    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": int(status_line.split()[1]), "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


if HttpToolsProtocol is not None:
    class BoundedHttpToolsProtocol(_Budgeted, HttpToolsProtocol):
        """uvicorn's httptools protocol with a size limit and a deadline on each request's head, a bound on
        pipelined requests, a send deadline and the connection budget."""

        max_head_bytes = MAX_HEAD_BYTES
        head_timeout = HEAD_TIMEOUT
        max_pipelined = MAX_PIPELINED
        max_chunks = MAX_CHUNKS
        max_headers = MAX_HEADERS

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            self._in_head, self._head_bytes, self._head_timer, self._stopped = True, 0, None, False
            self._count_stop = True  # a stop counted as "pipelined" (not one that queued a refusal)
            self._head_size = 0  # of the head being parsed: its target and header lines
            self._chunks = 0  # chunk-size lines of the body being read (its data chunks and the last one)
            self._trailer_fields = 0  # trailer fields after the body being read
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
                end = data.find(b"\r\n\r\n")  # the head's raw bytes: httptools hands on_header values stripped,
                self._head_bytes += len(data)  # so padding around a value went uncounted there
                if end >= 0 and self._head_bytes - len(data) + end + 4 > self.max_head_bytes:
                    self._refuse(HEAD_TOO_LARGE)
                    return
            super().data_received(data)
            if self._stopped:  # answer what is queued, the last with connection: close; read no more
                self.flow.pause_reading()
                self.cycle.keep_alive = False
                if self._count_stop:
                    CONNECTIONS_REFUSED.labels("pipelined").inc()
                return
            # still no end of headers (a read holds head and body when the head is short): the parser has
            # buffered at most the limit plus one read (64 KiB)
            if self._in_head and self._head_bytes > self.max_head_bytes:
                self._refuse(HEAD_TOO_LARGE)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_size = 16  # the method, version and line ends; on_url and on_header add the rest
            self._chunks = self._trailer_fields = 0
            # a head that begins in the same read as the end of the last request (pipelined) has its deadline
            # from here: data_received started none, and it was held until the keep-alive timeout
            if self._head_timer is None and not self._refused and not self.transport.is_closing():
                self._head_timer = self.loop.call_later(self.head_timeout, self._refuse,
                                                        _head_too_slow(self.head_timeout))

        def on_url(self, url: bytes) -> None:  # called once or more (a target arriving in pieces)
            self._head_size += len(url)
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if self._in_head:
                self._head_size += len(name) + len(value) + 4
                if len(self.headers) >= self.max_headers:  # this one is past the cap
                    self._refuse(TOO_MANY_HEADERS)
                    raise _PipelineFull
                # RFC 9110 5.5: whitespace around a field value is no part of it. httptools strips it before the
                # value only: "webhook-timestamp: 1733000000 " was a bad_timestamp 401 (a wrong lead for the security
                # alert), a Slack signature or a Standard Webhooks id with a space after it a bad_signature, and
                # "expect: 100-continue " sent no 100, where h11 (which strips both sides) accepted them all
                super().on_header(name, value.rstrip(b" \t"))
                return
            # a trailer field after a chunked body: uvicorn appended it to the request's headers (read by the
            # app after the body: a header added after the fact), without limit (400 MB in 3 s). Dropped,
            # and bounded like a head.
            self._head_bytes += len(name) + len(value) + 4
            self._trailer_fields += 1  # and past max_headers fields, as a head (h11 bounds both the same way)
            if self._head_bytes > self.max_head_bytes or self._trailer_fields > self.max_headers:
                self._refuse(HEAD_TOO_LARGE if self._head_bytes > self.max_head_bytes else TOO_MANY_HEADERS)
                raise _PipelineFull  # nothing after them is parsed (a pipelined request would be queued)

        def on_chunk_header(self) -> None:
            self._chunks += 1
            if self._chunks > self.max_chunks + 1:  # its data chunks, then the last (empty) one
                self._refuse(TOO_MANY_CHUNKS)  # the app then reads a disconnect, and its answer is not sent
                raise _PipelineFull

        def on_headers_complete(self) -> None:
            if self._head_size > self.max_head_bytes:
                # a head over the limit that arrived whole in one read (up to 256 KiB): data_received only sees
                # the ones still incomplete at the end of a read
                self._refuse(HEAD_TOO_LARGE)
                raise _PipelineFull
            if self.parser.get_http_version() not in SERVED_VERSIONS:
                # HTTP/0.9 and HTTP/2.0 written as HTTP/1 (headers, a chunked body) were served: 505 before any route
                self._refuse(VERSION_NOT_SUPPORTED)
                raise _PipelineFull
            if self.parser.get_http_version() == "1.0" and any(n == b"transfer-encoding" for n, _ in self.headers):
                # framing a 1.0 proxy reads another way (no chunked in 1.0: the chunks are the next request),
                # refused before any route, as httptools itself refuses Transfer-Encoding beside Content-Length
                self._refuse(AMBIGUOUS_FRAMING)
                raise _PipelineFull
            if b"#" in self.url:
                # a fragment is no part of a request target (RFC 9112 3.2): httptools' URL parser dropped it and
                # served "/metrics#x" as /metrics (h11 routed it as a path of its own: a 404), past a proxy rule
                # that reads the whole target as the path
                self._refuse(FRAGMENT)
                raise _PipelineFull
            if not target_served(self.url):
                self._refuse(TARGET_FORM)
                raise _PipelineFull
            hosts = sum(n == b"host" for n, _ in self.headers)
            if hosts > 1 or (hosts == 0 and self.parser.get_http_version() != "1.0"):
                # RFC 9112 3.2: a server MUST answer 400 to both. h11 does; httptools served them, so which
                # requests exist (and which Host a proxy in front routed on) depended on the parser
                self._refuse(HOST_COUNT)
                raise _PipelineFull
            if not all(host_valid(v) for n, v in self.headers if n == b"host"):  # RFC 9112 3.2 (h11 served it too)
                self._refuse(HOST_VALUE)
                raise _PipelineFull
            upgrade = self.parser.should_upgrade()  # Connection: upgrade with an Upgrade header, or CONNECT
            if upgrade and declares_body(self.headers):
                # httptools stops at the end of such a head: the app read an empty body (a signed delivery was
                # 401 bad_signature) and the body's bytes, arriving in a later read, were parsed as a request of
                # their own (a proxy's POST body served as "GET /metrics"). Refused before any route, as h11 does.
                self._refuse(UPGRADE_WITH_BODY)
                raise _PipelineFull
            self._in_head, self._head_bytes = False, 0
            self._cancel_head_timer()
            if len(self.pipeline) >= self.max_pipelined:
                self._stopped = True
                raise _PipelineFull
            if self.parser.get_http_version() == "1.0":
                # RFC 9110 10.1.1 and 15.2: a 100-continue expectation in a 1.0 request is ignored, and no 1xx is
                # sent to a 1.0 client. uvicorn sent "100 Continue", which a 1.0 client or proxy reads as the final
                # answer (the real one then answers its next request); h11 ignores it
                self.expect_100_continue = False
            super().on_headers_complete()
            if upgrade:  # answered as plain HTTP, then closed: httptools drops the bytes after such a head
                self.cycle.keep_alive = False
                self._stopped, self._count_stop = True, False

        def send_400_response(self, msg: str) -> None:
            """uvicorn's 400 for a request httptools refuses (a header line without a colon, a bad method or
            version): written at once, it was read as the answer to an earlier pipelined request still being
            answered, and that request's own answer was lost with the connection (``GET /healthz`` then a
            malformed request in the same write read 400 for the health check; a signed delivery before it was
            answered 400 and not stored). Now refused like the receiver's own head refusals: the answers owed
            are written in order, the last with ``connection: close``, and nothing more is read."""
            self._refuse(_answer(400, "Bad Request", msg))

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._in_head, self._head_bytes, self._head_size = True, 0, 0  # the next bytes start the next head

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            self._release()
            super().connection_lost(exc)

        def is_busy(self) -> bool:
            return bool(self.pipeline) or (self.cycle is not None and not self.cycle.response_complete)

        def _answer_owed(self) -> bool:
            # the newest request (answered last) is whole and not yet answered; the pipelined ones before it were
            # parsed whole. One whose body the half-close cut short can never be answered.
            return self.cycle is not None and not self.cycle.response_complete and not self.cycle.more_body

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _refuse(self, answer: bytes) -> None:
            self._cancel_head_timer()
            if not self._in_head and self.pipeline and self.pipeline[0][0] is self.cycle:
                # the body (or trailers) of a pipelined request, refused while the answers to earlier ones are
                # still owed: written now, the refusal was read as the answer to the first of them (whose own
                # answer was then lost with the connection). It is this request's answer, in its turn: the
                # queued request is answered by it, and nothing more is read.
                self.cycle.more_body, self.cycle.keep_alive = False, False
                self.pipeline[0] = (self.cycle, _canned(answer))
                self._stopped, self._count_stop = True, False
                self.flow.pause_reading()
                return
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
