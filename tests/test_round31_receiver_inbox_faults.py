"""Round 31: the inbox failing under the receiver, over loopback against the real uvicorn server: its disk full
(SQLite's ``SQLITE_FULL``, made by capping the writer connection's ``max_page_count`` at the pages in use, so
no test needs a small file system) and its write lock held by another process.

Found and fixed:

- a delivery the inbox could not commit was answered ``503 {"error":"try again later"}`` without Retry-After
  (every other 503 and 429 of the receiver carries one): a proxy's or a sender's retry policy that needs it had
  no hint. It now carries ``retry-after: 5`` and says the delivery was not stored (``webhooks/receiver/app.py``);
- the writer's log line said only ``could not commit 1 writes (OperationalError)``, the same words for a full
  disk and a lock held by another process: it now names the driver's code and what it means
  (``OperationalError SQLITE_FULL: the disk holding the inbox is full``), never the message, which may quote a
  value; and it was written once per failed write (an outage with senders retrying logged as many lines as
  requests): now once per error per 10 s, and one line counting the failed writes when commits work again
  (``webhooks/inbox/writer.py``).

Held: nothing answered 503 is stored, the replay digest of a refused ServiceNow or Jira delivery is not kept
(its retry is accepted, not called a replay), a signed malformed body whose quarantine row could not be written
is 503 too (kept on its retry), /healthz and /metrics stay up, and once the space is back every retry is stored
exactly once in a file that passes ``pragma integrity_check``.
"""

from __future__ import annotations

import json
import sqlite3
import time

import httpx
import pytest

from tests.test_webhooks_receiver import SN_BODY
from tests.webhook_helpers import (
    GENERIC,
    JIRA,
    SERVICENOW,
    generic_body,
    generic_request,
    inbox_rows,
    jira_body,
    jira_request,
    metric,
    served_with,
    servicenow_request,
)
from webhooks.inbox import writer as writer_module
from webhooks.receiver import app as receiver_app

UNLIMITED_PAGES = 2**31 - 2


class Disk:
    """The writer's connections, opened as usual; ``fill()`` lets the database grow by no page (what a full disk
    does to SQLite: ``SQLITE_FULL``), ``free()`` gives the space back. Only between requests (the writer idle)."""

    def __init__(self, real_open, busy_ms: int | None = None) -> None:
        self.real_open, self.busy_ms, self.full, self.opened = real_open, busy_ms, False, []

    def open(self, settings):
        db = self.real_open(settings)
        if self.busy_ms is not None:
            db.conn.execute(f"pragma busy_timeout={self.busy_ms}")
        if self.full:
            self._cap(db)
        self.opened.append(db)
        return db

    @staticmethod
    def _cap(db) -> None:
        pages = db.conn.execute("pragma page_count").fetchone()[0]
        db.conn.execute(f"pragma max_page_count={pages}")

    def fill(self) -> None:
        self.full = True
        for db in self.opened:
            self._cap(db)

    def free(self) -> None:
        self.full = False
        for db in self.opened:
            db.conn.execute(f"pragma max_page_count={UNLIMITED_PAGES}")


@pytest.fixture
def disk(monkeypatch):
    return Disk(writer_module.open_database)


def _serve(monkeypatch, disk: Disk, folder):
    monkeypatch.setattr(writer_module, "open_database", disk.open)
    return served_with("httptools", folder, failure_burst=1000)


def stored(settings) -> set[str]:
    return {d for (d,) in inbox_rows(settings, "select delivery_id from webhook_events")}


def _deliveries() -> dict[str, tuple[str, dict]]:
    """Signed deliveries on three endpoints, each body longer than a page (it needs a new overflow page)."""
    pad = "p" * 6000
    sn = json.loads(SN_BODY)
    out = {f"r31_full_{i}": (GENERIC, generic_request(generic_body(n=i, pad=pad), f"r31_full_{i}")) for i in range(4)}
    sn_body = json.dumps({**sn, "fields": {"state": "2", "note": pad}}).encode()
    out["incident:r31:full"] = (SERVICENOW, servicenow_request(sn_body, "incident:r31:full"))
    jira = json.loads(jira_body(31031))
    out["r31-jira-full"] = (JIRA, jira_request(json.dumps({**jira, "pad": pad}).encode(), "r31-jira-full"))
    return out


def test_a_full_disk_is_503_with_retry_after_and_every_delivery_is_stored_once_space_returns(
        monkeypatch, disk, tmp_path, caplog):
    caplog.set_level("WARNING", logger="webhooks.inbox.writer")
    with _serve(monkeypatch, disk, tmp_path) as (settings, (host, port), _app), \
            httpx.Client(base_url=f"http://{host}:{port}", timeout=20) as client:
        assert client.post(GENERIC, **generic_request(generic_body(), "r31_before")).text == "accepted"
        failed_before = metric("webhook_failures_total", endpoint="generic", reason="inbox_unavailable")
        deliveries = _deliveries()
        malformed = b'{"type": "t.x", "data": ' + b"[" * 40 + b"p" * 6000
        disk.fill()
        answers = {ident: client.post(path, **kw) for ident, (path, kw) in deliveries.items()}
        answers["malformed"] = client.post(GENERIC, **generic_request(malformed, "r31_full_malformed"))
        for ident, answer in answers.items():
            assert answer.status_code == 503, (ident, answer.status_code, answer.text)
            assert answer.headers["retry-after"] == "5" and "sending it again" in answer.json()["error"], answer.headers
        assert stored(settings) == {"r31_before"}
        assert inbox_rows(settings, "select count(*) from webhook_quarantine")[0][0] == 0
        assert metric("webhook_failures_total", endpoint="generic", reason="inbox_unavailable") \
            == failed_before + 5
        # the service stays up and says where to look
        assert client.get("/healthz").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert "OperationalError SQLITE_FULL: the disk holding the inbox is full" in caplog.text
        assert "p" * 100 not in caplog.text  # no body text in the log
        failures = [r for r in caplog.records if "could not commit" in r.getMessage()]
        assert len(failures) == 1, [r.getMessage() for r in failures]  # seven failed writes, one line

        disk.free()
        for ident, (path, kw) in deliveries.items():  # each sender retries: nothing was lost, none is a replay
            again = client.post(path, **kw)
            assert (again.status_code, again.text) == (200, "accepted"), (ident, again.text)
        again = client.post(GENERIC, **generic_request(malformed, "r31_full_malformed"))
        assert again.status_code == 400  # kept as evidence now
        recovered = [r.getMessage() for r in caplog.records if "commits again" in r.getMessage()]
        assert recovered == ["The webhook inbox commits again, after 7 failed writes (6 of them not logged one by "
                             "one)."], recovered
    assert stored(settings) == {"r31_before", *deliveries}
    assert inbox_rows(settings, "select count(*) from webhook_quarantine where reason like 'malformed%'")[0][0] == 1
    assert inbox_rows(settings, "pragma integrity_check") == [("ok",)]


def test_a_write_lock_held_past_the_busy_timeout_is_503_with_retry_after_and_named_in_the_log(
        monkeypatch, tmp_path, caplog):
    """Another process (the CLI, a sensor) holds the inbox's write lock: the writer gives up after its busy timeout
    (shortened here from 30 s), the sender gets 503 with Retry-After, the log says who to look for; after the lock
    is released the retry is stored, once."""
    caplog.set_level("ERROR", logger="webhooks.inbox.writer")
    disk = Disk(writer_module.open_database, busy_ms=300)
    monkeypatch.setattr(receiver_app, "COMMIT_TIMEOUT", 5.0)
    with _serve(monkeypatch, disk, tmp_path) as (settings, (host, port), _app), \
            httpx.Client(base_url=f"http://{host}:{port}", timeout=20) as client:
        assert client.post(GENERIC, **generic_request(generic_body(), "r31_unlocked")).text == "accepted"
        lock = sqlite3.connect(settings.sqlite_path, timeout=5, isolation_level=None)
        try:
            lock.execute("begin immediate")
            started = time.monotonic()
            refused = client.post(GENERIC, **generic_request(generic_body(n=1), "r31_locked"))
            assert time.monotonic() - started < 4.5  # the busy timeout, not COMMIT_TIMEOUT
            assert refused.status_code == 503 and refused.headers["retry-after"] == "5", refused.text
            assert "SQLITE_BUSY: another process holds the inbox's write lock" in caplog.text
        finally:
            lock.rollback()
            lock.close()
        assert "r31_locked" not in stored(settings)
        retry = client.post(GENERIC, **generic_request(generic_body(n=1), "r31_locked"))
        assert (retry.status_code, retry.text) == (200, "accepted")
        assert client.post(GENERIC, **generic_request(generic_body(n=1), "r31_locked")).text == "duplicate"
    assert stored(settings) == {"r31_unlocked", "r31_locked"}
