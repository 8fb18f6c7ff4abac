"""Round 27 follow-ups in the vendor writers: each test drives the product's writer against a sandbox emulator
over loopback and fails on the bug it names (Drive evidence stored twice after a lost reply, a OneTrust period
with milliseconds recorded as a conflict, SMTP without AUTH read as a delivery failure, Slack's HTTP-date
Retry-After waited 1 s, an emoji shortcode's colon cut from a Slack fallback text)."""

from __future__ import annotations

import threading
import time
import urllib.request
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from resources.email import EmailDeliveryError, EmailSender
from resources.evidence.base import content_address
from resources.evidence.gdrive import DriveStore
from resources.slack import SlackSender, SlackUnavailable

SMTP_SECRET = "r27-smtp-pass-Zq9"  # must never show in an error


# --- Google Drive: a create whose reply was lost -------------------------------------------------------------

def test_drive_create_with_a_lost_reply_stores_the_evidence_once(gdrive):
    """Drive stores the file and answers 503 (the reply is lost). googleapiclient resent the same create
    (num_retries) and every resend made another file: four copies of one piece of evidence. The store now looks
    the content up before a resend and adopts the file the first try made."""
    store = DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)
    store.retry_wait = 0.01
    data = b"evidence whose create reply is lost"
    gdrive.sandbox.faults.set(rate_lost_reply=1.0, methods=["POST"], paths=[r"^/upload/drive/v3/files$"])
    try:
        obj = store.put(data, {"filename": "change-42.pdf"})
    finally:
        gdrive.sandbox.faults.clear()
    creates = [r for r in gdrive.sandbox.request_log if r["method"] == "POST"
               and r["path"] == "/upload/drive/v3/files"]
    assert len(creates) == 1, f"{len(creates)} creates sent for one piece of evidence"
    sha = content_address(data)
    copies = [f for f in gdrive.sandbox.store.files.values()
              if f.app_properties.get("sha256") == sha and not f.trashed]
    assert len(copies) == 1, f"{len(copies)} files on Drive for one piece of evidence"
    assert obj.uri == f"gdrive://{gdrive.evidence_folder}/{copies[0].id}"
    assert obj.metadata["filename"] == "change-42.pdf"
    assert store.get(sha) == data


def test_drive_create_refused_by_5xx_is_resent_and_then_reported(gdrive):
    """A create Drive refused (nothing stored) is still resent after the lookup finds nothing, and after the
    retries the error names the cause; no file is left behind."""
    from resources.evidence.base import StoreUnavailable

    store = DriveStore(gdrive.evidence_folder, str(gdrive.key_file), gdrive.api_endpoint)
    store.retry_wait = 0.01
    gdrive.sandbox.faults.set(rate_5xx=1.0, methods=["POST"], paths=[r"^/upload/drive/v3/files$"])
    try:
        with pytest.raises(StoreUnavailable, match="after 3 retries"):
            store.put(b"refused evidence")
    finally:
        gdrive.sandbox.faults.clear()
    creates = [r for r in gdrive.sandbox.request_log if r["method"] == "POST"
               and r["path"] == "/upload/drive/v3/files"]
    assert len(creates) == 4  # the first try and 3 resends
    assert not store.exists(content_address(b"refused evidence"))


# --- OneTrust: a period shown with milliseconds -------------------------------------------------------------

def test_onetrust_period_shown_with_milliseconds_is_no_conflict(make_onetrust_sandbox, duckdb_warehouse, monkeypatch):
    """A tenant that shows periodStart/periodEnd with milliseconds ("2026-01-01T00:00:00.000Z" for the
    "2026-01-01T00:00:00Z" sent) holds the same instant. The snapshot compared the raw text, so every update
    of such an attestation recorded a period conflict in reverse_sync.conflicts that nobody made."""
    import re

    from tests.conftest import onetrust_env
    from tests.reverse_sync_helpers import attestation_rows, query, run, write_outbound

    sb = make_onetrust_sandbox(size=20)
    onetrust_env(monkeypatch, sb)
    rows = attestation_rows(3)
    write_outbound(duckdb_warehouse, "onetrust", rows)
    assert run("onetrust", run_id="first").created == 3
    millis = re.compile(rb'("period(?:Start|End)"\s*:\s*"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)Z"')
    shown: list[int] = []

    def with_milliseconds(req, resp):
        body, n = millis.subn(rb'\1.000Z"', resp.body)
        shown.append(n)
        resp.body = body
        return resp

    sb.rewrite_responses(with_milliseconds)
    rows[0]["summary"] += " (recounted)"
    write_outbound(duckdb_warehouse, "onetrust", rows)
    report = run("onetrust", run_id="second")
    assert sum(shown) > 0, "the tenant never showed a period with milliseconds: the test proves nothing"
    assert report.updated == 1 and report.dead_lettered == 0, report
    assert report.conflicts == 0, report
    assert query(duckdb_warehouse, "select field, internal_id from reverse_sync.conflicts") == []


# --- SMTP: SMTP_USERNAME set, the relay offers no AUTH ------------------------------------------------------

def test_smtp_username_for_a_relay_without_auth_names_the_fix(make_smtp_sandbox):
    """smtplib's "SMTP AUTH extension not supported by server" came out as a delivery failure to be resent in
    10 minutes, forever: it is a setting to fix, and the error now says which. (Only a plain relay here: the
    sandbox, aiosmtpd, still lists AUTH after STARTTLS when it has no credentials.)"""
    starttls = False
    smtp = make_smtp_sandbox()  # no username/password: EHLO lists no AUTH
    sender = EmailSender(host="127.0.0.1", port=smtp.port, username="projectx-mailer", password=SMTP_SECRET,
                         starttls=starttls, ca_bundle=smtp.ca_bundle, timeout=5)
    with pytest.raises(EmailDeliveryError) as err:
        sender.send(["grc@example.com"], "subject", "text", None, "dlv-r27-noauth")
    text = str(err.value)
    assert f"127.0.0.1:{smtp.port} offers no AUTH" in text and "SMTP_USERNAME is set" in text
    assert "unset SMTP_USERNAME and SMTP_PASSWORD" in text and "enable AUTH on the relay" in text
    assert ("even after STARTTLS" in text) == starttls and ("enable STARTTLS" in text) != starttls
    assert "resending" not in text and SMTP_SECRET not in text and SMTP_SECRET not in repr(err.value)
    assert smtp.messages() == []
    plain = EmailSender(host="127.0.0.1", port=smtp.port, starttls=starttls, ca_bundle=smtp.ca_bundle, timeout=5)
    plain.send(["grc@example.com"], "subject", "text", None, "dlv-r27-noauth")  # the fix named works
    assert len(smtp.messages()) == 1


# --- Slack: Retry-After as an HTTP-date ---------------------------------------------------------------------

def _slack_behind_a_throttle(slack, retry_after: str) -> ThreadingHTTPServer:
    """A loopback proxy before the Slack sandbox whose first answer is 429 with ``retry_after``."""
    upstream = slack.url

    class Throttle(BaseHTTPRequestHandler):
        calls = 0

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            type(self).calls += 1
            if type(self).calls == 1:
                payload = b'{"ok": false, "error": "ratelimited"}'
                self.send_response(429)
                self.send_header("Retry-After", retry_after)
            else:
                req = urllib.request.Request(upstream + self.path, data=body, method="POST", headers={
                    k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")})
                with urllib.request.urlopen(req, timeout=10) as answer:  # the Slack sandbox, on loopback
                    payload = answer.read()
                self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Throttle)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.mark.parametrize("when,low,high", [(3, 1.5, 3.5), (-3600, 0.0, 0.0)], ids=["in-3s", "past"])
def test_slack_http_date_retry_after_is_waited_until_then(make_slack_sandbox, when, low, high):
    """An HTTP-date Retry-After (RFC 9110's other form) was read as 1 s; it is now the time left until then."""
    slack = make_slack_sandbox()
    server = _slack_behind_a_throttle(slack, formatdate(time.time() + when, usegmt=True))
    try:
        sender = SlackSender(slack.bot_token, base_url=f"http://127.0.0.1:{server.server_address[1]}/api/")
        waits: list[float] = []
        sender.sleep = waits.append
        assert sender.call("auth.test")["ok"] is True  # answered by the Slack sandbox after the wait
    finally:
        server.shutdown()
        server.server_close()
    assert len(waits) == 1 and low <= waits[0] <= high, waits
    assert sender.rate_limited_waits == waits


def test_slack_http_date_retry_after_beyond_the_bound_falls_back_to_email(make_slack_sandbox):
    """A date far ahead is bounded as the seconds form is: the run does not wait, it delivers by e-mail."""
    slack = make_slack_sandbox()
    server = _slack_behind_a_throttle(slack, formatdate(time.time() + 86400, usegmt=True))
    try:
        sender = SlackSender(slack.bot_token, base_url=f"http://127.0.0.1:{server.server_address[1]}/api/",
                             max_retry_after=60)
        sender.sleep = lambda s: pytest.fail(f"waited {s}s")
        with pytest.raises(SlackUnavailable, match=r"Retry-After 86\d{3}(\.\d)?s, longer than the 60s"):
            sender.call("auth.test")
    finally:
        server.shutdown()
        server.server_close()


# --- Slack fallback text: a subject that starts with an emoji shortcode ------------------------------------

@pytest.mark.parametrize("title,body,expected", [
    (":rotating_light: P1", "", ":rotating_light: P1"),
    (":rotating_light: P1", None, ":rotating_light: P1"),
    (":rotating_light: P1", "see :memo:", ":rotating_light: P1: see :memo:"),
    ("P1 down:", "", "P1 down:"),
    ("", "only a body", "only a body"),
], ids=["empty-body", "no-body", "body-ends-in-shortcode", "subject-ends-in-colon", "no-subject"])
def test_slack_fallback_text_keeps_the_shortcode_colons(make_slack_sandbox, title, body, expected):
    """``.strip(": ")`` took the joining ": " off an empty body, and with it the first colon of a subject's
    emoji shortcode (":rotating_light: P1" became "rotating_light: P1") and the last one of a body's."""
    from assets.notifications.messages import Message, slack_text

    slack = make_slack_sandbox()
    msg = Message([{"notification_key": "n-1", "event_type": "servicenow_p1_incident", "title": title,
                    "body": body}], "slack_channel", "#alerts-servicenow")
    text = slack_text(msg)
    assert text == expected
    sender = SlackSender(slack.bot_token, base_url=slack.url + "/api/")
    sender.post(sender.conversation_id("#alerts-servicenow"), text, None, msg.delivery_key)
    assert [m["text"] for m in slack.messages("alerts-servicenow")][-1:] == [expected]
