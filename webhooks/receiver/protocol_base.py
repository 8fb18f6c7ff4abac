"""What both of uvicorn's HTTP protocols share in the receiver (``webhooks.receiver.server``): the head
bounds, the answers written straight to the socket when a connection is refused or cut off (never through
the app: nothing of the request reaches it), and ``_Budgeted``: the connection budget, the send deadline and
uvicorn's per-request warnings held to ``WARNINGS_PER_MINUTE`` of each (``_QuietWarnings``)."""

from __future__ import annotations

import logging
import re
import threading
import time
from typing import Any

from webhooks.receiver.connections import ConnectionBudget
from webhooks.receiver.metrics import CONNECTIONS_REFUSED

MAX_HEAD_BYTES = 64 * 1024  # vendors send a few hundred bytes of headers; Slack and Jira well under 8 KiB
HEAD_TIMEOUT = 10.0  # seconds from a request's first byte (or the connection's start) to the end of its headers
SEND_TIMEOUT = 30.0  # seconds a connection may leave its answers unread (the write buffer full)
# header fields in one request head (Apache's and Tomcat's default is 100; vendors send 10-30, proxies add a
# few): 64 KiB of "a:b" lines is 12,000 fields, which cost h11 about 40 ms to parse and Starlette more to search
# (20 times an ordinary request, before any signature or budget), httptools a callback each
MAX_HEADERS = 128
# data chunks in one chunked body: each costs the parser a Python callback (h11 tens of microseconds), so a body
# in one-byte chunks kept the one event loop busy for seconds; a 1 MiB body in 256-byte chunks is 4096
MAX_CHUNKS = 4096


# The baseline every answer of the app carries (webhooks.app.BASELINE_HEADERS, added by its middleware, which
# never sees these): the 431/408/429/503/400 written here went without them.
BASELINE = "x-content-type-options: nosniff\r\ncache-control: no-store\r\n"


def _answer(status: int, reason: str, message: str, retry: bool = False) -> bytes:
    body = message.encode("ascii", "replace")
    return (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\n{'retry-after: 1' + chr(13) + chr(10) if retry else ''}"
        f"{BASELINE}connection: close\r\n\r\n"
    ).encode("ascii") + body


HEAD_TOO_LARGE = _answer(
    431,
    "Request Header Fields Too Large",
    f"request line and headers exceed {MAX_HEAD_BYTES // 1024} KiB: send fewer or smaller headers",
)
TOO_MANY_HEADERS = _answer(
    431,
    "Request Header Fields Too Large",
    f"more than {MAX_HEADERS} header fields (at most {MAX_HEADERS}, and {MAX_HEAD_BYTES // 1024} KiB in all): send "
    "fewer or smaller headers",
)
TOO_MANY_FROM_ADDRESS = _answer(
    429,
    "Too Many Requests",
    "too many open connections from your address: close idle ones or send fewer requests in parallel",
    retry=True,
)
OBS_FOLD = _answer(
    400,
    "Bad Request",
    "a header line continued on the next (obs-fold) is not accepted: send each header field on one line",
)
BARE_LF = _answer(400, "Bad Request", "a line of the request head ends in LF alone: end each line with CRLF")
AMBIGUOUS_FRAMING = _answer(
    400,
    "Bad Request",
    "Transfer-Encoding beside Content-Length, or in a version 1.0 request, is not accepted: send one framing",
)
DOUBTFUL_FRAMING = _answer(
    400,
    "Bad Request",
    "a Content-Length sent twice or as a list, or a Transfer-Encoding ending in a tab, is not accepted: send one "
    "Content-Length, or Transfer-Encoding: chunked",
)
HOST_COUNT = _answer(
    400,
    "Bad Request",
    "send exactly one Host header (an HTTP/1.1 request without one, or any request with two, is refused)",
)
TOO_MANY_CHUNKS = _answer(
    400,
    "Bad Request",
    f"a chunked body in more than {MAX_CHUNKS} chunks is not accepted: send it in larger chunks, or with a "
    "Content-Length",
)
FRAGMENT = _answer(
    400,
    "Bad Request",
    "a request target holds no fragment (#): send the path and query only",
)
UPGRADE_WITH_BODY = _answer(
    400,
    "Bad Request",
    "a request asking to switch protocols (Connection: upgrade, CONNECT) with a body is not accepted: nothing is "
    "upgraded here, send it without Connection: upgrade",
)
TARGET_FORM = _answer(
    400,
    "Bad Request",
    "a request target is a path (/...) or an http(s) URL: send the path",
)
VERSION_NOT_SUPPORTED = _answer(
    505,
    "HTTP Version Not Supported",
    "send the request as HTTP/1.1 (or HTTP/1.0): no other version is served here",
)
# The versions served. Both parsers served "HTTP/0.9" and "HTTP/2.0" in HTTP/1 syntax with headers and a chunked body
# (h11 any "HTTP/d.d"), where a 0.9 request has neither and a proxy answers 505 to a version it does not speak:
# which requests exist, and where their bodies end, would differ between it and this server.
SERVED_VERSIONS = ("1.0", "1.1")
CONTROL_IN_VALUE = _answer(
    400,
    "Bad Request",
    "a header value holds a control character (only visible characters, spaces and tabs): send it without",
)
# A control character in a header value other than HTAB (RFC 9110 5.5: no field-vchar). httptools refuses every one
# in its parser; h11 took all but NUL, CR and LF, so which requests exist depended on the parser.
CONTROL_CHARACTER = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
_TARGET_FORMS = re.compile(rb"/|\*\Z|https?://", re.IGNORECASE)


def target_served(target: bytes) -> bool:
    """Whether a request target has a form this server routes: origin-form, ``*``, or an http(s) absolute-form.
    httptools' URL parser took any scheme (``GET ftp://x/metrics`` served /metrics) where h11 answered 404."""
    return _TARGET_FORMS.match(target) is not None


HOST_VALUE = _answer(
    400,
    "Bad Request",
    "the Host header holds no host: send the server's name or address, with its port if any (receiver:8000, "
    "[::1]:8000)",
)
# RFC 9112 3.2 (a Host field with an invalid value MUST be answered 400). Both parsers served "a b c", "evil/x",
# "user@r": a front proxy that routes on Host reads such a value its own way (up to the space, the slash, after the
# "@"), so the virtual host it picked and the request served here could differ. Only the characters behind that
# ambiguity are refused (whitespace, / \\ ? # @ ", a byte outside printable ASCII): the receiver routes on no Host,
# and health checkers send values that are no RFC 3986 host but harmless here (Envoy's cluster names such as
# "outbound|8000||receiver.ns.svc.cluster.local", a bare IPv6 address "fe80::1"); refusing those took the receiver
# out of its load balancer's pool.
_HOST_AMBIGUOUS = re.compile(rb'[\s/\\?#@"\x00-\x20\x7f-\xff]')


def host_valid(value: bytes) -> bool:
    """Whether a Host field value (its surrounding whitespace stripped) holds nothing a proxy could split on."""
    return _HOST_AMBIGUOUS.search(value.strip(b" \t")) is None


SERVER_FULL = _answer(503, "Service Unavailable", "try again later: the receiver has no free connection", retry=True)


def declares_body(headers) -> bool:
    """Whether a head's ``(name, value)`` byte pairs (names lower case) declare a body."""
    return any(name == b"transfer-encoding" or (name == b"content-length" and value.strip() not in (b"", b"0"))
               for name, value in headers)


def asks_upgrade(headers) -> bool:
    """Whether a head asks to switch protocols as httptools reads it: an ``upgrade`` token in ``Connection``
    and an ``Upgrade`` header."""
    tokens = {t.strip().lower() for name, value in headers if name == b"connection" for t in value.split(b",")}
    return b"upgrade" in tokens and any(name == b"upgrade" for name, _ in headers)


def _head_too_slow(seconds: float) -> bytes:
    return _answer(408, "Request Timeout", f"request headers not complete within {seconds:g} s: send them at once")


WARNINGS_PER_MINUTE = 10  # of each of uvicorn's per-request warnings; the rest counted, and said when logging resumes


class _QuietWarnings:
    """uvicorn's logger for a protocol, with its per-request warnings ("Invalid HTTP request received.",
    "Unsupported upgrade request." and the WebSocket hint after it) at most ``WARNINGS_PER_MINUTE`` of each a
    minute: anyone could write one or two log lines per request (a flood of malformed requests, or any request
    with an ``Upgrade`` header, wrote gigabytes of logs a day). The first after a quiet spell says how many
    were left out. Everything else goes to the logger as it is."""

    _seen: dict[str, list[int]] = {}  # message -> [minute, logged in it, left out since the last logged]
    _lock = threading.Lock()

    def __init__(self, logger: logging.Logger, clock=time.monotonic) -> None:
        self._logger, self._clock = logger, clock

    def warning(self, msg: object, *args: Any, **kwargs: Any) -> None:
        key = str(msg)[:200]
        minute = int(self._clock() // 60)
        with self._lock:
            state = self._seen.get(key)
            if state is None:
                if len(self._seen) >= 64:  # not one of uvicorn's fixed messages: never held back
                    self._logger.warning(msg, *args, **kwargs)
                    return
                state = self._seen[key] = [minute, 0, 0]
            if state[0] != minute:
                state[0], state[1] = minute, 0
            if state[1] >= WARNINGS_PER_MINUTE:
                state[2] += 1
                return
            state[1] += 1
            left_out, state[2] = state[2], 0
        if left_out:
            self._logger.warning("%s (%d more like it left out of the log)", msg, left_out)
        else:
            self._logger.warning(msg, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._logger, name)


class _Budgeted:
    """The connection budget and the send deadline, for either uvicorn HTTP protocol."""

    budget: ConnectionBudget | None = None  # set per server by server_options()
    send_timeout = SEND_TIMEOUT

    @property
    def logger(self) -> Any:
        return self._quiet_logger

    @logger.setter
    def logger(self, value: logging.Logger) -> None:  # uvicorn's protocol sets it in its __init__
        self._quiet_logger = _QuietWarnings(value)

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

    _eof = False  # the client half-closed with an answer still owed: close once nothing more is owed

    def _answer_owed(self) -> bool:
        """Whether a request received whole still waits for its answer (each protocol says)."""
        raise NotImplementedError

    def eof_received(self) -> bool | None:
        """The client shut its sending side (``shutdown(SHUT_WR)``, as ``nc -N`` and HTTP/1.0-style senders do).
        uvicorn closed the connection here, so a request already received whole was never answered (a delivery
        stored, its sender told nothing, sending it again and again). Now the connection stays open for the
        answers owed, then closes; with nothing owed (idle, or a head or body cut short) it closes at once, as
        before (nothing more can come)."""
        if self._refused or not self._answer_owed():
            return None
        self._eof = True
        self._cancel_head_timer()
        return True

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self._eof and not self.transport.is_closing() and not self._answer_owed():
            self.transport.close()

    def handle_websocket_upgrade(self, *event: Any) -> None:
        """Never reached with ``ws="none"`` (``server_options``): the receiver serves no WebSocket. Were it
        reached, uvicorn would hand the socket to a WebSocket protocol whose close this one never sees, and
        the connection's budget slot would be held for good; so the upgrade is refused and the slot freed."""
        self._release()
        self.transport.write(_answer(400, "Bad Request", "WebSocket is not served here"))
        self.transport.close()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's own 400 for a request its parser refuses ("Invalid HTTP request received."), written with
        the baseline headers (uvicorn wrote it without them; the h11 one through h11, which then ends anyway)."""
        if not self.transport.is_closing():
            self.transport.write(_answer(400, "Bad Request", msg))
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
