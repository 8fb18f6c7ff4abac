"""Round 27 follow-ups in the vendor writers: each test drives the product's writer against a sandbox emulator
over loopback and fails on the bug it names (Drive evidence stored twice after a lost reply, a OneTrust period
with milliseconds recorded as a conflict, SMTP without AUTH read as a delivery failure, Slack's HTTP-date
Retry-After waited 1 s, an emoji shortcode's colon cut from a Slack fallback text)."""

from __future__ import annotations

import json
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
    assert obj.uri == f"gdrive://{gdrive.evidence_folder}/{copies[0].id}" and obj.metadata["filename"] == "change-42.pdf"
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
