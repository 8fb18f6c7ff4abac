"""Numbers from outside that ``str.isdigit`` calls digits and ``int`` refuses ("²", "٣²", 5,000 digits): a
vendor's Retry-After or attachment size, a Content-Length, a configured port. Each used to raise ValueError
(a crashed sync, a 500, a traceback instead of the setting's message); each is now read as no number."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines.servicenow.attachment_fetch import _size
from pipelines.servicenow.auth import ServiceNowOAuth
from webhooks.receiver.app import _is_length


class _Throttling(BaseHTTPRequestHandler):
    """A token endpoint that answers 429 with a hostile Retry-After ``waits`` times, then a token."""

    retry_after: list[str] = []
    seen: list[float] = []

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        type(self).seen.append(time.monotonic())
        if len(self.seen) <= len(self.retry_after):
            body = b'{"error": "too many requests"}'
            self.send_response(429)
            self.send_header("Retry-After", self.retry_after[len(self.seen) - 1])
        else:
            body = b'{"access_token": "t0k3n", "expires_in": 1800, "token_type": "Bearer"}'
            self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def token_endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Throttling)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# headers travel as latin-1: "²" (\xb2) is what a hostile server can send of the non-ASCII digits
@pytest.mark.parametrize("retry_after", ["²", "1²", "-5", "nan", "Mon, 32 Foo 2026"])
def test_a_hostile_retry_after_on_the_token_endpoint_backs_off_instead_of_crashing(token_endpoint, retry_after):
    _Throttling.retry_after, _Throttling.seen = [retry_after, retry_after], []
    auth = ServiceNowOAuth(f"http://127.0.0.1:{token_endpoint.server_port}", "client", "secret",
                           backoff_seconds=0.01, attempts=5)
    started = time.monotonic()
    assert auth.auth_header() == {"Authorization": "Bearer t0k3n"}
    assert len(_Throttling.seen) == 3, "two throttled answers, then the token"
    assert time.monotonic() - started < 5, "the backoff: the header names no wait"


@pytest.mark.parametrize("retry_after", ["86400", "1" * 5000])
def test_a_huge_retry_after_on_the_token_endpoint_is_capped(token_endpoint, monkeypatch, retry_after):
    import pipelines.servicenow.auth as auth_module

    slept: list[float] = []
    monkeypatch.setattr(auth_module.time, "sleep", slept.append)
    _Throttling.retry_after, _Throttling.seen = [retry_after], []
    auth = ServiceNowOAuth(f"http://127.0.0.1:{token_endpoint.server_port}", "client", "secret", backoff_seconds=0.01)
    assert auth.auth_header() == {"Authorization": "Bearer t0k3n"}
    assert slept == [auth_module.MAX_TOKEN_WAIT_SECONDS], "a day's Retry-After waits the cap, once"


@pytest.mark.parametrize(("value", "expected"), [
    (None, 0), ("", 0), ("0", 0), ("1234", 1234), (512, 512), ("²", None), ("\u0663", None), ("12²", None),
    ("1" * 19, None), ("9" * 5000, None), ("-5", None), ("1e3", None), (" 12", None),
])
def test_an_attachment_size_is_a_number_of_bytes_or_none(value, expected):
    assert _size(value) == expected


@pytest.mark.parametrize(("value", "ok"), [
    ("0", True), ("1048576", True), ("²", False), ("1\xb2", False), ("\u0663", False), ("9" * 4001, False),
    ("-1", False), ("", False),
])
def test_a_content_length_the_receiver_reads_is_ascii_digits_only(value, ok):
    assert _is_length(value) is ok
    if ok:
        int(value)


@pytest.mark.parametrize("port", ["²", "\u0663\u0663", "99999", "0", "25a"])
def test_a_bad_email_bridge_port_names_the_setting(port, monkeypatch):
    from webhooks.email_bridge import start_email_bridge

    monkeypatch.setenv("EMAIL_BRIDGE_ADDRESSES", "evidence@projectx.example=servicenow")
    monkeypatch.setenv("EMAIL_BRIDGE_PORT", port)
    with pytest.raises(ValueError, match=r"EMAIL_BRIDGE_PORT=.* is not a port: set a number from 1 to 65535"):
        start_email_bridge()


@pytest.mark.parametrize("via", ["cli", "dagster"])
def test_attachments_sized_in_hostile_digits_are_never_downloaded_and_the_rest_loads(
        via, make_servicenow_sandbox, monkeypatch, duckdb_warehouse):
    """End to end, through the standalone sync and the Dagster asset: two attachments whose ``size_bytes`` is
    "²" and 5,000 nines (the listing crashed on both) are not downloaded (no request for their files at the
    sandbox); every other attachment is stored; the incidents are in exact parity; a second sync agrees."""
    from tests.conftest import sandbox_env
    from tests.ingestion_harness import SN_INCIDENTS, assert_parity, sql, sync

    sb = make_servicenow_sandbox(size=60)
    sandbox_env(monkeypatch, sb)
    files = sorted(r["sys_id"] for r in sb.records("sys_attachment"))
    hostile = files[:2]
    for sys_id, size in zip(hostile, ["²", "9" * 5000], strict=True):
        sb.update("sys_attachment", sys_id, {"size_bytes": size})
    for attempt in range(2):
        sb.clear_request_log()
        sync("servicenow", via)
        fetched = [r["path"] for r in sb.request_log if r["path"].endswith("/file")]
        assert not [p for p in fetched for h in hostile if h in p], "a file with no usable size was downloaded"
        if attempt == 0:
            assert len(fetched) == len(files) - 2, "every other attachment's file was downloaded once"
    stored = dict(sql(duckdb_warehouse, "select sys_id, content_status from servicenow.attachments"))
    assert {stored[f] for f in files[2:]} == {"stored"}
    assert all(stored.get(h) != "stored" for h in hostile)
    assert_parity(sb, duckdb_warehouse, SN_INCIDENTS)
