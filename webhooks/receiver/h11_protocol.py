"""``BoundedH11Protocol``: uvicorn's h11 protocol as the receiver serves it when httptools is not installed
(``webhooks.receiver.server.server_options`` chooses), with the same bounds as the httptools one."""

from __future__ import annotations

import asyncio
import dataclasses
import re

import h11
from h11._connection import DEFAULT_MAX_INCOMPLETE_EVENT_SIZE
from h11._readers import ChunkedReader
from uvicorn.protocols.http.h11_impl import H11Protocol

from webhooks.receiver.protocol_base import (
    AMBIGUOUS_FRAMING,
    BARE_LF,
    CONTROL_CHARACTER,
    CONTROL_IN_VALUE,
    DOUBTFUL_FRAMING,
    FRAGMENT,
    HEAD_TIMEOUT,
    HEAD_TOO_LARGE,
    HOST_VALUE,
    MAX_CHUNKS,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    OBS_FOLD,
    SERVED_VERSIONS,
    TARGET_FORM,
    TOO_MANY_CHUNKS,
    TOO_MANY_HEADERS,
    UPGRADE_WITH_BODY,
    VERSION_NOT_SUPPORTED,
    _Budgeted,
    _head_too_slow,
    asks_upgrade,
    declares_body,
    host_valid,
    target_served,
)

_OBS_FOLD = re.compile(rb"\n[ \t]")  # a line of the head that begins with whitespace
_HEAD_END = re.compile(rb"\n\r?\n")  # the blank line that ends a head (as h11 finds it)
_BARE_LF = re.compile(rb"(?<!\r)\n")  # a line ended by LF alone
_BLANK_LINES = re.compile(rb"(?:\r\n)+")  # empty lines before a request line
# A Content-Length sent twice or as a list ("5, 5"; h11 merges equal values) and a Transfer-Encoding whose value ends
# in a tab ("chunked\t"; h11 strips it): httptools refuses each in its parser, so h11 served requests it did not
_CONTENT_LENGTH = re.compile(rb"^content-length:", re.IGNORECASE | re.MULTILINE)
_DOUBTFUL_FRAMING = re.compile(rb"^(?:content-length:[^\r\n]*,|transfer-encoding:[^\r\n]*\t[ \t]*\r$)",
                               re.IGNORECASE | re.MULTILINE)
_CHUNK_SIZE = re.compile(rb"0*([0-9A-Fa-f]{1,17})")  # a chunk line's size, its leading zeros apart
_SCHEME = re.compile(rb"https?://", re.IGNORECASE)
# "http://[userinfo@]host[:port]" before the path, as httptools' URL parser takes it: a host of letters, digits, dots
# and dashes (or an IPv6 literal), a port of digits up to 65535, userinfo of its RFC 3986 characters, then "/"
_ABSOLUTE_FORM = re.compile(rb"https?://(?:[A-Za-z0-9%;:&=+$,!~*'()._-]*@)?(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])"
                            rb"(?::([0-9]+))?(?=/)", re.IGNORECASE)


def _origin_form(event: h11.Request) -> h11.Request | None:
    """An absolute-form target (``POST http://host/path HTTP/1.1``, as a client speaking to a proxy sends it)
    as the path and query it names: RFC 9112 3.2.2 says a server MUST accept it. uvicorn's h11 protocol took
    the whole target as the path (a 404), while httptools' URL parser routes it; the host in it is not
    used for routing on either path (nor is the Host header).

    None (refused: 400) for one whose authority httptools refuses: empty (``http:///metrics``), a port past
    65535, a backslash or another character no host holds (``http://r\\@evil/metrics``, which a URL parser
    following WHATWG reads as host ``r`` and path ``/@evil/metrics``), or no path after it. h11 had taken
    anything up to the first slash as the authority and served the path after it."""
    if _SCHEME.match(event.target) is None:
        return event
    found = _ABSOLUTE_FORM.match(event.target)
    port = (found[1] or b"").lstrip(b"0") if found is not None else b""
    if found is None or len(port) > 5 or int(port or b"0") > 65535:
        return None
    return dataclasses.replace(event, target=event.target[found.end():])


def _doubtful_framing(data: bytes) -> bool:
    """Whether the head at the start of ``data`` (blank lines before it aside; its end is in ``data``) frames its
    body in a way httptools refuses: looked at once per head, when its end has arrived."""
    head = data.lstrip(b"\r\n")
    end = _HEAD_END.search(head)
    head = head[:end.end()] if end else head
    return _DOUBTFUL_FRAMING.search(head) is not None or len(_CONTENT_LENGTH.findall(head)) > 1


class _StrictChunkedReader(ChunkedReader):
    """h11's reader of a chunked body, held to CRLF line ends where httptools holds it: h11 ended the trailer
    section at a bare LF (``0\r\n\n``, ``x: y\n\n``), unfolded a folded trailer line and took a bare CR in a
    chunk extension, and served the bytes after them as the next request. It also took whitespace after a chunk
    size and sizes of 2**64 or more, which httptools refuses. A proxy that ends lines at CRLF
    only reads those bytes as the first request's trailers (or chunk data), so a request it never saw was
    answered here. Each is refused (uvicorn's 400, the connection closed) before the body's end is taken.

    Past ``MAX_CHUNKS`` data chunks the body is refused too (``refuse`` writes the answer and closes): each
    chunk cost h11 tens of microseconds, so a body in one-byte chunks held the event loop for over 30 s.

    Reads h11's receive buffer (``buf._data``) without copying it; each byte is looked at once however the
    line is trickled (the bound on a line or trailer section stays h11's ``max_incomplete_event_size``)."""

    def __init__(self, refuse) -> None:
        super().__init__()
        self._refuse, self._chunks = refuse, 0
        self._line_scanned = 0  # bytes of the chunk-size line in hand already searched for its CRLF
        self._trailer_at = 0  # offset in the buffer of the next trailer byte to look at
        self._trailer_line = 0  # offset of the trailer line being read
        self._trailer_fields = 0  # trailer lines read (bounded by MAX_HEADERS, as a head's fields)

    def __call__(self, buf):  # type: ignore[override]
        data = buf._data
        if self._reading_trailer:
            self._check_trailer(data)
        elif self._bytes_in_chunk == 0:  # a chunk-size line is next, after the CRLF ending the last chunk
            self._check_chunk_line(data, len(self._bytes_to_discard))
        return super().__call__(buf)  # which calls this again once the last chunk's line is read

    def _check_chunk_line(self, data: bytearray, start: int) -> None:
        end = data.find(b"\r\n", start + max(0, self._line_scanned - 1))
        if end < 0:
            self._line_scanned = max(0, len(data) - start)
            return
        self._line_scanned = 0  # h11 takes this line now; the next one starts a new count
        if data.find(b"\r", start, end) >= 0:
            raise h11.LocalProtocolError("a chunk line holds a bare CR")
        size = _CHUNK_SIZE.match(data, start, end)
        if size is not None and ((size.end() < end and data[size.end()] in b" \t") or int(size[0], 16) >= 2**64):
            # as httptools refuses them: whitespace after the size (RFC 9112 7.1 has none there) and a size of 2**64
            # or more (a proxy counting in 64 bits reads it as another size: h11 waited for 2**64 bytes)
            raise h11.LocalProtocolError("a chunk size followed by whitespace, or over 64 bits")
        self._chunks += 1
        if self._chunks > MAX_CHUNKS + 1:  # its data chunks, then the last (empty) one
            self._refuse(TOO_MANY_CHUNKS)  # answered and closed here; uvicorn's own 400 then writes nothing
            raise h11.LocalProtocolError("too many chunks")

    def _check_trailer(self, data: bytearray) -> None:
        while (lf := data.find(b"\n", self._trailer_at)) >= 0:
            if lf == 0 or data[lf - 1] != 0x0D:
                raise h11.LocalProtocolError("a trailer line ends in LF alone")
            if lf - 1 == self._trailer_line:  # the blank line: the section ends here (h11 takes it now)
                return
            if data[self._trailer_line] in b" \t":
                raise h11.LocalProtocolError("a trailer line is folded (obs-fold)")
            if CONTROL_CHARACTER.search(data, self._trailer_line, lf - 1) is not None:  # as httptools, and a head
                raise h11.LocalProtocolError("a trailer line holds a control character")
            self._trailer_fields += 1
            self._trailer_line = self._trailer_at = lf + 1
            self._check_trailer_bounds(lf + 1)
        self._trailer_at = len(data)
        self._check_trailer_bounds(len(data))

    def _check_trailer_bounds(self, size: int) -> None:
        """A trailer section is bounded like a head (431 past ``MAX_HEAD_BYTES`` or ``MAX_HEADERS`` fields), as
        on httptools: h11 took a section that arrived whole in one read at any size (its own bound is on an
        incomplete one), and 12,000 tiny trailer fields cost it 150 ms of the event loop, unsigned."""
        if size > MAX_HEAD_BYTES or self._trailer_fields > MAX_HEADERS:
            self._refuse(HEAD_TOO_LARGE if size > MAX_HEAD_BYTES else TOO_MANY_HEADERS)
            raise h11.LocalProtocolError("trailers past the head bounds")


class _GuardedConnection(h11.Connection):
    """h11's server connection that lets the protocol look at each head's bytes before h11 parses it (and
    stop parsing): a pipelined request is parsed inside uvicorn's event loop as soon as the last one ends
    (its body read after an early answer, a 404 among them), with no read of its own to look at first."""

    def __init__(self, protocol: BoundedH11Protocol, max_incomplete_event_size: int) -> None:
        super().__init__(h11.SERVER, max_incomplete_event_size)
        self._protocol = protocol

    def _get_io_object(self, role, event, io_dict):  # type: ignore[override]
        io = super()._get_io_object(role, event, io_dict)
        if type(io) is ChunkedReader:  # a request's chunked body
            return _StrictChunkedReader(self._protocol._write_and_close)
        return io

    def next_event(self):  # type: ignore[override]
        if self.their_state is h11.IDLE:
            # RFC 9112 2.2: a server SHOULD ignore empty lines before a request line (a client may end a POST body
            # with an extra CRLF). h11 answered the next request on the connection 400 ("no request line"), a
            # delivery after it lost, where httptools serves it. Dropped before the head is looked at, so its
            # checks (obs-fold, bare LF, size) see the head itself, not a blank line taken for its end.
            blank = _BLANK_LINES.match(self._receive_buffer._data)  # (held by the head deadline, not buffered)
            if blank is not None:
                self._receive_buffer._extract(blank.end())
            if self._receive_buffer._data == b"\r":  # an empty line's CR, its LF still to come (h11 refuses it)
                return h11.NEED_DATA
        if self._protocol._before_event():
            return h11.PAUSED  # uvicorn stops reading and parsing; the connection is closing
        event = super().next_event()
        if isinstance(event, h11.Request):
            origin = _origin_form(event)
            if origin is None:  # an absolute-form target httptools refuses: 400 on both parsers
                self._protocol._write_and_close(TARGET_FORM)
                return h11.PAUSED
            event = origin
        if self._protocol._after_event(event):
            return h11.PAUSED  # refused and closed: the request never reaches the app
        return event


class BoundedH11Protocol(_Budgeted, H11Protocol):
    """uvicorn's h11 protocol with the connection budget, a deadline on each request's head (from the
    connection's start or the head's first byte; h11 is ``IDLE`` until the head is complete) and the head
    checks of ``_bad_head``: 431 over the size limit (uvicorn answered h11's own bound 400, naming no fix) or
    past ``MAX_HEADERS`` header fields,
    400 for a folded line or a bare LF. Past the head, h11's bound (``h11_max_incomplete_event_size``) on a
    chunk-size line is uvicorn's 400; trailers are held to the head's bounds (431, ``_StrictChunkedReader``)."""

    max_head_bytes = MAX_HEAD_BYTES
    max_headers = MAX_HEADERS
    head_timeout = HEAD_TIMEOUT

    def __init__(self, config, server_state, app_state, _loop=None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.conn = _GuardedConnection(self, config.h11_max_incomplete_event_size or DEFAULT_MAX_INCOMPLETE_EVENT_SIZE)
        self._head_timer, self._head_scanned, self._head_tail, self._head_size = None, False, b"", 0
        self._head_lines = 0  # line ends seen in the head so far (its request line, then one per field)
        self._stopped = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if self._admit():  # a connection that never sends a byte is held no longer than a slow head
            self._start_head_timer()

    def data_received(self, data: bytes) -> None:
        if self._refused or self._stopped:
            return
        if self.conn.their_state is h11.IDLE:  # these bytes are (part of) a request's head
            self._start_head_timer()
            if self._head_scanned and self._bad_head(data, buffered=False):
                return
        super().data_received(data)

    def _before_event(self) -> bool:
        """True when nothing more may be parsed. A head's first bytes (maybe buffered behind the last request)
        are looked at here, once; later ones as they come (data_received), so a head trickled in is not
        copied again for each byte."""
        if self._stopped:
            return True
        if self.conn.their_state is h11.IDLE and not self._head_scanned:
            self._head_scanned, self._head_tail, self._head_size, self._head_lines = True, b"", 0, 0
            return self._bad_head(self.conn.trailing_data[0], buffered=True)
        return False

    def _after_event(self, event) -> bool:
        """True when the request is refused here (the connection answered and closed)."""
        if isinstance(event, h11.Request):  # the head is complete: the next bytes are another's
            self._head_scanned, self._head_tail, self._head_size, self._head_lines = False, b"", 0, 0
            self._cancel_head_timer()
            # Framing a proxy may read another way, refused for every path (the app's check covers only the
            # webhook routes; a 404 answered before the body was read left h11 to de-chunk it and serve the
            # request hidden behind it), as httptools refuses it before any route.
            if event.http_version.decode("ascii") not in SERVED_VERSIONS:  # h11 took any "HTTP/d.d": 505, as httptools
                self._write_and_close(VERSION_NOT_SUPPORTED)
                return True
            if b"#" in event.target:  # no part of a request target: 400, as on httptools (which had served it)
                self._write_and_close(FRAGMENT)
                return True
            if not target_served(event.target):  # ftp://x/metrics and other forms: 400, as on httptools
                self._write_and_close(TARGET_FORM)
                return True
            if (asks_upgrade(event.headers) or event.method == b"CONNECT") and declares_body(event.headers):
                self._write_and_close(UPGRADE_WITH_BODY)  # as on httptools, which cannot read its body
                return True
            if any(CONTROL_CHARACTER.search(value) for _, value in event.headers):
                self._write_and_close(CONTROL_IN_VALUE)  # as httptools refuses it (h11 took all but NUL, CR, LF)
                return True
            if not all(host_valid(value) for name, value in event.headers if name == b"host"):
                self._write_and_close(HOST_VALUE)  # RFC 9112 3.2, as on httptools (h11 takes any value)
                return True
            names = {name for name, _ in event.headers}
            if b"transfer-encoding" in names and (b"content-length" in names or event.http_version == b"1.0"):
                self._write_and_close(AMBIGUOUS_FRAMING)
                return True
        elif event is h11.NEED_DATA and self._head_size and self.conn.their_state is h11.IDLE:
            # a head begun, maybe in a read while the last request was answered (pipelined): it was buffered,
            # not received now, so its deadline starts here
            self._start_head_timer()
        return False

    def _bad_head(self, data: bytes, buffered: bool) -> bool:
        """Looks at the head's part of ``data`` (the next bytes of a head); True, with the connection answered
        and closed, when the head is over ``max_head_bytes`` (431; h11's own bound is on an incomplete head
        only, so a larger head arriving whole in one read, up to 256 KiB, was taken) or a header line is
        folded onto the next (obs-fold, 400) or ends in a bare LF (400). h11 unfolds the one and takes the
        other, as RFC 9112 2.2 and 5.2 allow; httptools refuses both, as they also allow. A front proxy that
        reads a continuation as a line of its own, or LF as no line end, would see other headers than this
        server (``transfer-encoding:\\r\\n chunked`` was de-chunked here). Once the head is complete, a Content-Length
        sent twice or as a list, or a Transfer-Encoding value ending in a tab, is 400 as on httptools (h11 merged the
        one and stripped the other). ``buffered``: ``data`` is all of h11's buffer (else what follows it)."""
        chunk = self._head_tail + data
        if not self._head_size:  # no byte of the head yet: empty lines before it (next_event drops them) are not
            chunk = chunk.lstrip(b"\r\n")  # its end, which left the rest of a reused connection's read unlooked-at
            self._head_tail = b""
        end = _HEAD_END.search(chunk)
        stop = end.end() if end else len(chunk)
        self._head_size += stop - len(self._head_tail)
        self._head_lines += chunk.count(b"\n", len(self._head_tail), stop)  # the new bytes' line ends
        self._head_tail = chunk[-2:]
        if _OBS_FOLD.search(chunk, 0, stop) is not None:
            self._write_and_close(OBS_FOLD)
        elif _BARE_LF.search(chunk, 0, stop) is not None:
            self._write_and_close(BARE_LF)
        elif self._head_size > self.max_head_bytes:
            self._write_and_close(HEAD_TOO_LARGE)
        elif self._head_lines - (2 if end else 1) > self.max_headers:  # less the request line and the blank one
            self._write_and_close(TOO_MANY_HEADERS)
        elif end is not None and _doubtful_framing(data if buffered else bytes(self.conn._receive_buffer._data) + data):
            self._write_and_close(DOUBTFUL_FRAMING)
        else:
            return False
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        self._release()
        super().connection_lost(exc)

    def is_busy(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _answer_owed(self) -> bool:
        # the request being answered was received whole; one still buffered behind it starts when it is answered
        # (on_response_complete looks again)
        return self.cycle is not None and not self.cycle.response_complete and \
            self.conn.their_state in (h11.DONE, h11.MUST_CLOSE)

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
        self._stopped = True
        if not self.transport.is_closing():
            self.transport.write(answer)
            self.transport.close()
