"""Round 20: open connections per client address and in all, over loopback against the real uvicorn
server (``ServedApp``). One address opening hundreds of idle or slowloris connections held the server's
sockets for everyone (nothing capped them: an ASGI middleware never sees a connection without a request);
now ``webhooks.receiver.connections`` caps them in the HTTP protocol. Flood senders come from other
loopback addresses (127.0.0.x), so the cap per address is exercised for real."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

import httpx
import pytest
import uvicorn
from uvicorn.server import ServerState

from tests.test_webhooks_attacks import head
from tests.webhook_helpers import GENERIC, LiveReceiver, generic_body, generic_request, metric, settings_for
from webhooks import __main__ as entry
from webhooks import local as local_server
from webhooks.app import create_app
from webhooks.receiver import server as bounded
from webhooks.settings import WebhookSettings


def _addr(live) -> tuple[str, int]:
    host, port = live.url.removeprefix("http://").split(":")
    return host, int(port)


def _open(addr, source: str, first: bytes = b"") -> socket.socket:
    conn = socket.create_connection(addr, timeout=5, source_address=(source, 0))
    if first:
        conn.sendall(first)
    return conn


def _refused(conn: socket.socket) -> bytes:
    """What the server said before closing ``conn`` (b"" while it keeps the connection open)."""
    conn.settimeout(0.05)
    try:
        return conn.recv(4096) or b"closed"
    except TimeoutError:
        return b""
    except ConnectionResetError:
        return b"reset"


def _deliver(live, source: str, msg_id: str) -> httpx.Response:
    with httpx.Client(base_url=live.url, timeout=10, transport=httpx.HTTPTransport(local_address=source)) as client:
        return client.post(GENERIC, **generic_request(generic_body(), msg_id))


def test_one_address_flooding_idle_and_slowloris_connections_starves_only_itself(tmp_path):
    """150 connections from 127.0.0.2 (half silent, half dribbling a head): 20 are kept, the rest answered
    429 with Retry-After before a byte is read; a sender at 127.0.0.3 is accepted meanwhile, and 127.0.0.2
    is back once its connections close."""
    settings = settings_for(tmp_path, max_connections_per_address=20, max_connections=100)
    before = metric("webhook_connections_refused_total", cause="address")
    with LiveReceiver(create_app(settings)) as live:
        addr, budget = _addr(live), live.server.config.http.budget
        flood = [_open(addr, "127.0.0.2", b"POST /api/integ" if i % 2 else b"") for i in range(150)]
        time.sleep(0.3)
        answers = [_refused(conn) for conn in flood]
        kept = [conn for conn, answer in zip(flood, answers, strict=True) if not answer]
        assert len(kept) == 20 and budget.held_by("127.0.0.2") == 20
        refusals = [a for a in answers if a]
        assert all(a.startswith(b"HTTP/1.1 429 ") and b"retry-after: 1" in a for a in refusals), refusals[:3]
        assert metric("webhook_connections_refused_total", cause="address") - before == 130
        started = time.monotonic()
        assert _deliver(live, "127.0.0.3", "msg_other_address").text == "accepted"
        assert time.monotonic() - started < 2
        assert _deliver(live, "127.0.0.2", "msg_flooder").status_code == 429  # its own address is full
        for conn in flood:
            conn.close()
        time.sleep(0.3)
        assert budget.count == 0
        assert _deliver(live, "127.0.0.2", "msg_flooder_later").text == "accepted"


def test_many_addresses_filling_every_slot_give_way_to_a_new_sender_but_never_cut_a_request(tmp_path):
    """Ten addresses opening 200 idle connections against 60 slots share them out (503 for the rest); a
    vendor at another address takes an idle slot of the heaviest one (evicted) and delivers; a request
    already being read (a slow body) is never the one closed."""
    settings = settings_for(tmp_path, max_connections_per_address=20, max_connections=60, body_timeout_seconds=10.0)
    evicted = metric("webhook_connections_refused_total", cause="evicted")
    full = metric("webhook_connections_refused_total", cause="total")
    with LiveReceiver(create_app(settings)) as live:
        addr, budget = _addr(live), live.server.config.http.budget
        kw = generic_request(generic_body(), "msg_slow_but_honest")
        headers = {**kw["headers"], "content-length": str(len(kw["content"])), "connection": "close"}
        slow = _open(addr, "127.0.0.4", head(GENERIC, headers) + b"\r\n" + kw["content"][:5])
        time.sleep(0.2)
        flood = [_open(addr, f"127.0.0.{10 + i % 10}") for i in range(200)]
        time.sleep(0.5)
        # the slots are shared out (no address takes a slot from one holding as many): the rest are 503
        assert budget.count == 60 and metric("webhook_connections_refused_total", cause="total") >= full + 140
        assert max(budget.held_by(f"127.0.0.{10 + i}") for i in range(10)) <= 6
        assert _deliver(live, "127.0.0.3", "msg_vendor_during_flood").text == "accepted"
        assert metric("webhook_connections_refused_total", cause="evicted") == evicted + 1
        slow.sendall(kw["content"][5:])  # the request being read was not evicted: it completes
        slow.settimeout(5)
        assert slow.recv(4096).startswith(b"HTTP/1.1 200 "), "the request in progress was cut"
        for conn in [*flood, slow]:
            conn.close()


def test_head_timeout_and_keep_alive_come_from_the_settings(tmp_path, monkeypatch):
    """PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS cuts a silent connection (408); the keep-alive setting closes
    an idle kept-alive connection; uvicorn's limit_concurrency sits above the budget (at or below it,
    idle connections filling it made uvicorn answer 503 to every request)."""
    monkeypatch.setenv("PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS", "1")
    monkeypatch.setenv("PROJECTX_WEBHOOK_KEEP_ALIVE_SECONDS", "0.5")
    settings = WebhookSettings.from_env(sqlite_path=str(tmp_path / "inbox.sqlite3"),
                                        secrets=settings_for(tmp_path).secrets)
    options = bounded.server_options(settings)
    assert options["limit_concurrency"] > settings.max_connections and options["timeout_keep_alive"] == 0.5
    with LiveReceiver(create_app(settings)) as live:
        addr = _addr(live)
        silent = _open(addr, "127.0.0.5")
        silent.settimeout(5)
        started = time.monotonic()
        answer = silent.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408 ") and b"within 1 s" in answer and time.monotonic() - started < 3
        kept = _open(addr, "127.0.0.5", b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n")
        kept.settimeout(5)
        assert kept.recv(4096).startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        assert kept.recv(4096) == b"" and time.monotonic() - started < 3  # closed after the keep-alive
        silent.close()
        kept.close()


@pytest.mark.parametrize(("name", "value", "fix"), [
    ("PROJECTX_WEBHOOK_MAX_CONNECTIONS", "lots", "use a whole number of 0 or more"),
    ("PROJECTX_WEBHOOK_MAX_CONNECTIONS_PER_ADDRESS", "-3", "use a whole number of 0 or more"),
    ("PROJECTX_WEBHOOK_MAX_CONNECTIONS_PER_ADDRESS", "1.5", "or unset it for 128"),
    ("PROJECTX_WEBHOOK_KEEP_ALIVE_SECONDS", "nan", "use 0 to 300 seconds"),
    ("PROJECTX_WEBHOOK_KEEP_ALIVE_SECONDS", "3600", "use 0 to 300 seconds"),
    ("PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS", "0", "more than 0 and at most 300 seconds, or unset it for 10"),
    ("PROJECTX_WEBHOOK_HEAD_TIMEOUT_SECONDS", "s3cr3t-" + "x" * 30, "a value of 37 characters"),
])
def test_a_bad_connection_setting_stops_the_start_up_naming_the_fix(monkeypatch, capsys, name, value, fix):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name) as raised:
        WebhookSettings.from_env()
    assert fix in str(raised.value) and "s3cr3t" not in str(raised.value)
    assert entry.main(["--port", "0"]) == 2
    assert f"not started: {name}" in capsys.readouterr().err


def test_pipelined_requests_past_the_bound_get_their_answers_then_the_connection_closes(tmp_path):
    """200 tiny requests in one write queued 200 request objects (a 64 KiB read holds thousands); now the
    one being answered and MAX_PIPELINED more are answered in order, the last with connection: close."""
    with LiveReceiver(create_app(settings_for(tmp_path))) as live:
        conn = _open(_addr(live), "127.0.0.6", b"GET /healthz HTTP/1.1\r\nhost: r\r\n\r\n" * 200)
        answer = b""
        with contextlib.suppress(TimeoutError, ConnectionResetError):
            while chunk := conn.recv(65536):
                answer += chunk
        conn.close()
        assert answer.count(b"HTTP/1.1 200 ") == bounded.MAX_PIPELINED + 1
        assert answer.rstrip().endswith(b'"status":"ok","inbox":"sqlite"}')
        assert answer.count(b"connection: close") == 1 and b"400" not in answer.split(b"\r\n", 1)[0]
        assert _deliver(live, "127.0.0.6", "msg_after_pipeline").text == "accepted"


class _Transport:
    def __init__(self) -> None:
        self.aborted = self.closed = False
        self.written = b""

    def get_extra_info(self, name, default=None):
        return {"peername": ("192.0.2.9", 5000), "sockname": ("127.0.0.1", 8000)}.get(name, default)

    def write(self, data) -> None:
        self.written += data

    def is_closing(self) -> bool:
        return self.closed or self.aborted

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.mark.skipif(bounded.HttpToolsProtocol is None, reason="the send deadline is in the httptools protocol")
def test_a_client_that_never_reads_its_answers_is_aborted_after_the_send_timeout(tmp_path):
    """A client not reading held its connection (and a task awaiting the drain) forever: the kernel's
    buffers on loopback hide it, so the transport's pause_writing is driven directly here."""

    async def scenario() -> tuple[bool, bool, int]:
        options = bounded.server_options(settings_for(tmp_path, max_connections_per_address=2))
        protocol_class = options["http"]
        protocol_class.send_timeout = 0.2
        config = uvicorn.Config(create_app(settings_for(tmp_path)), **options)
        config.load()
        protocol = protocol_class(config=config, server_state=ServerState(), app_state={})
        transport = _Transport()
        protocol.connection_made(transport)
        held = protocol_class.budget.held_by("192.0.2.9")
        protocol.pause_writing()
        await asyncio.sleep(0.5)
        protocol.connection_lost(None)
        return transport.aborted, protocol_class.budget.count == 0, held

    before = metric("webhook_connections_refused_total", cause="stalled_reader")
    aborted, released, held = asyncio.run(scenario())
    assert aborted and released and held == 1
    assert metric("webhook_connections_refused_total", cause="stalled_reader") == before + 1


def test_no_connection_cap_stays_off(tmp_path):
    """0 turns the caps off (as for the in-flight caps), and uvicorn gets no limit_concurrency then."""
    options = bounded.server_options(settings_for(tmp_path, max_connections=0, max_connections_per_address=0))
    assert options["limit_concurrency"] is None and options["http"].budget.total == 0


def test_without_httptools_the_h11_protocol_keeps_the_same_budget(tmp_path, monkeypatch):
    monkeypatch.setattr(bounded, "HttpToolsProtocol", None)
    settings = settings_for(tmp_path, max_connections_per_address=2)
    monkeypatch.setattr(local_server, "server_options", lambda _settings=None: bounded.server_options(settings))
    with LiveReceiver(create_app(settings)) as live:
        assert issubclass(live.server.config.http, bounded.BoundedH11Protocol)
        conns = [_open(_addr(live), "127.0.0.7") for _ in range(3)]
        time.sleep(0.2)
        assert [bool(_refused(c)) for c in conns] == [False, False, True]
        assert _deliver(live, "127.0.0.8", "msg_h11").text == "accepted"
        for conn in conns:
            conn.close()


@pytest.mark.parametrize("upgrade", ["websocket", "h2c"])
def test_upgrade_requests_are_plain_http_and_give_their_connection_slot_back(tmp_path, upgrade):
    """An ``Upgrade`` request was handed to uvicorn's WebSocket protocol (websockets is installed), whose close
    the budget never saw: three of them locked their address out (429) for good. Now it is answered as plain
    HTTP and the slot comes back when the connection closes."""
    settings = settings_for(tmp_path, max_connections_per_address=3, max_connections=10)
    with LiveReceiver(create_app(settings)) as live:
        addr, budget = _addr(live), live.server.config.http.budget
        request = (f"GET /api/integrations/generic/webhook HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                   f"Upgrade: {upgrade}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        for _ in range(6):
            conn = _open(addr, "127.0.0.4", request)
            conn.settimeout(5)
            answer = conn.recv(4096)
            assert answer.startswith(b"HTTP/1.1 4") and not answer.startswith(b"HTTP/1.1 429"), answer[:80]
            assert b"101 Switching" not in answer
            conn.close()
        deadline = time.monotonic() + 5
        while budget.held_by("127.0.0.4") and time.monotonic() < deadline:
            time.sleep(0.05)
        assert budget.held_by("127.0.0.4") == 0 and budget.count == 0
        assert _deliver(live, "127.0.0.4", "msg_after_upgrades").text == "accepted"


def test_a_websocket_upgrade_reaching_the_protocol_is_refused_and_frees_its_slot(tmp_path):
    """The guard behind ``ws="none"``: were uvicorn to hand the protocol an upgrade, it answers 400 and gives
    its budget slot back."""
    protocol_class = bounded.server_options(settings_for(tmp_path, max_connections_per_address=2))["http"]
    protocol = protocol_class.__new__(protocol_class)
    transport = _Transport()
    protocol.transport, protocol._send_timer = transport, None
    assert protocol_class.budget.admit(protocol, "192.0.2.7") is None
    protocol.handle_websocket_upgrade()
    assert protocol_class.budget.count == 0 and transport.written.startswith(b"HTTP/1.1 400 ") and transport.closed


@pytest.mark.skipif(bounded.HttpToolsProtocol is None, reason="the head deadline is in the httptools protocol")
def test_a_slow_next_head_never_answers_408_in_place_of_the_request_still_being_answered(tmp_path):
    """A pipelined next request whose head stalls past the head timeout while the current one is still being
    answered: a 408 written then was read as the current request's answer. Now the current answer comes
    whole, and the connection closes after it."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    from tests.ops_helpers import serve

    async def slow(request):
        await asyncio.sleep(1.2)
        return PlainTextResponse("done")

    options = bounded.server_options(settings_for(tmp_path, head_timeout_seconds=0.3))
    with serve(Starlette(routes=[Route("/slow", slow)]), **options) as url:
        conn = _open(_addr(type("L", (), {"url": url})), "127.0.0.7", b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.2)  # being answered now; the next head starts (and stalls) in a read of its own
        conn.sendall(b"GET /slow HTT")
        conn.settimeout(5)
        answer = b""
        with contextlib.suppress(TimeoutError):
            while chunk := conn.recv(4096):
                answer += chunk
        conn.close()
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"done"), answer
    assert b"408" not in answer and answer.count(b"HTTP/1.1") == 1
