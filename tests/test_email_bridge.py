"""The inbound e-mail bridge over real SMTP: evidence with hashed attachments, quarantine, hostile input."""

from __future__ import annotations

import hashlib
import smtplib
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import pytest

from assets.notifications.email_bridge import copy_spool
from resources.warehouse import WarehouseResource
from webhooks.email_bridge import EmailBridge, addresses_from_env, open_spool, wait_for_rows

INGEST = "servicenow-ingest@projectx.io"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
CSV = b"control,result\nAC-2,pass\nCM-3,fail\n"


@pytest.fixture(autouse=True)
def _library_env(tmp_path, monkeypatch):
    """The Evidence Library's ledger and folders under tmp_path; local: files stored unscanned without clamd."""
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PROJECTX_ENV", "local")
    monkeypatch.delenv("PROJECTX_CLAMD_ADDRESS", raising=False)
    monkeypatch.delenv("PROJECTX_EVIDENCE_STORE", raising=False)
    monkeypatch.delenv("PROJECTX_EVIDENCE_LEDGER", raising=False)


@pytest.fixture
def bridge(tmp_path):
    b = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                    evidence_dir=tmp_path / "evidence").start()
    yield b
    b.stop()


def _send(bridge: EmailBridge, msg: EmailMessage | bytes, to: str = INGEST, sender: str = "partner@vendor.example"):
    with smtplib.SMTP(bridge.host, bridge.port, timeout=10) as smtp:
        if isinstance(msg, bytes):
            return smtp.sendmail(sender, [to], msg)
        return smtp.send_message(msg, from_addr=sender, to_addrs=[to])


def _message(attachments: int = 2, extra: tuple[tuple[str, str, str, bytes], ...] = ()) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Auditor <auditor@partner.example>"
    msg["To"] = INGEST
    msg["Subject"] = "Quarterly access review"
    msg["Message-ID"] = "<review-2026-q1@partner.example>"
    msg.set_content("Attached: the access review and its export.")
    files = [("review.pdf", "application", "pdf", PDF), ("export.csv", "text", "csv", CSV)][:attachments]
    files += list(extra)
    for name, main, sub, data in files:  # bytes: base64 on the wire, as mail clients send files
        msg.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return msg


def test_two_attachments_become_linked_hashed_evidence(bridge, duckdb_warehouse):
    _send(bridge, _message())
    rows = wait_for_rows(bridge, "evidence", 3)
    cols = [d[0] for d in bridge._db.execute("select * from evidence").description]
    found = [dict(zip(cols, r, strict=True)) for r in rows]
    assert len(found) == 3
    attachments = sorted((r for r in found if r["evidence_type"] == "email_attachment"), key=lambda r: r["title"])
    assert [a["title"] for a in attachments] == ["export.csv", "review.pdf"]
    assert attachments[1]["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert attachments[0]["sha256"] == hashlib.sha256(CSV).hexdigest()
    for row in found:
        path = Path(url2pathname(urlparse(row["storage_uri"]).path))
        assert hashlib.sha256(path.read_bytes()).hexdigest() == row["sha256"]
        assert row["message_key"] == "<review-2026-q1@partner.example>"  # body and files linked by the message
        assert row["source_email"] == "auditor@partner.example"
        assert "source_email:auditor@partner.example" in row["tags"]
        assert row["adapter"] == "servicenow" and row["bridge_address"] == INGEST
    _send(bridge, _message())  # the same message again (a partner's retry): nothing new
    assert len(wait_for_rows(bridge, "evidence", 4, timeout=0.5)) == 3

    with WarehouseResource.from_env().connect() as conn:
        assert copy_spool(conn, bridge._db) == {"evidence": 3, "quarantine": 0}
        assert copy_spool(conn, bridge._db) == {"evidence": 0, "quarantine": 0}
        shas = {r["sha256"] for r in conn.query("select sha256 from email_bridge.evidence")}
    assert hashlib.sha256(PDF).hexdigest() in shas


def test_attachments_pass_the_evidence_library_and_an_infected_one_is_quarantined_never_linked(
        tmp_path, clamd, duckdb_warehouse, monkeypatch):
    """With clamd configured (as in stg/prod), every part is scanned, classified and stored by the
    Evidence Library like a vendor attachment, tagged with the sender; EICAR is held in quarantine."""
    from resources.evidence.ledger import Ledger
    from tests.evidence.clamav import EICAR

    monkeypatch.setenv("PROJECTX_ENV", "stg")  # a scan is required
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", clamd.address)
    monkeypatch.setenv("PROJECTX_EVIDENCE_LEDGER", str(tmp_path / "ledger.sqlite"))
    bridge = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                         evidence_dir=tmp_path / "evidence").start()
    try:
        _send(bridge, _message(extra=(("invoice.txt", "text", "plain", EICAR),)))
        evidence = wait_for_rows(bridge, "evidence", 3)
        quarantined = wait_for_rows(bridge, "quarantine", 1)
    finally:
        bridge.stop()
    eicar_sha = hashlib.sha256(EICAR).hexdigest()
    assert sorted(r[7] for r in evidence) == ["Quarterly access review", "export.csv", "review.pdf"]
    assert eicar_sha not in {r[10] for r in evidence}
    (q,) = quarantined
    assert q[4] == eicar_sha and "invoice.txt" in q[3] and "ClamAV found" in q[3]
    assert q[2] == "auditor@partner.example"
    held = Path(url2pathname(urlparse(q[5]).path))
    assert held.read_bytes() == EICAR and not (tmp_path / "evidence" / "objects" / eicar_sha[:2]).exists()

    ledger = Ledger(tmp_path / "ledger.sqlite")
    files = {r["filename"]: r for r in ledger.rows("files")}
    assert files["review.pdf"]["status"] == "stored" and files["review.pdf"]["scan_status"] == "clean"
    assert files["review.pdf"]["mime_type"] == "application/pdf" and files["review.pdf"]["evidence_class"]
    assert "source_email:auditor@partner.example" in files["export.csv"]["tags"]
    assert files["invoice.txt"]["status"] == "quarantined" and files["invoice.txt"]["storage_uri"] is None
    assert [a["kind"] for a in ledger.rows("alerts")] == ["security_alert"]
    with WarehouseResource.from_env().connect() as conn:  # what dbt turns into marts.evidence
        assert copy_spool(conn, open_spool(tmp_path / "spool.sqlite")) == {"evidence": 3, "quarantine": 1}
        assert conn.scalar("select count(*) from email_bridge.evidence where sha256 = %s", (eicar_sha,)) == 0


def test_a_message_waits_at_the_sender_while_the_scanner_is_down(tmp_path, monkeypatch):
    """stg/prod without a reachable clamd: 451, the partner's server retries; nothing half-stored."""
    monkeypatch.setenv("PROJECTX_ENV", "stg")
    monkeypatch.setenv("PROJECTX_CLAMD_ADDRESS", str(tmp_path / "no-clamd.sock"))
    bridge = EmailBridge(addresses={INGEST: "servicenow"}, spool=tmp_path / "spool.sqlite",
                         evidence_dir=tmp_path / "evidence").start()
    try:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            _send(bridge, _message())
        assert refused.value.smtp_code == 451
        assert wait_for_rows(bridge, "evidence", 1, timeout=0.2) == []
    finally:
        bridge.stop()


def test_malformed_messages_are_quarantined_with_reason(bridge):
    broken = (b"From: partner@vendor.example\r\nTo: " + INGEST.encode() + b"\r\nSubject: broken\r\n"
              b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"XYZ\"\r\n\r\n"
              b"no boundary ever starts here\r\n")
    _send(bridge, broken)
    no_sender = b"To: " + INGEST.encode() + b"\r\nSubject: who am I\r\n\r\nbody\r\n"
    _send(bridge, no_sender)
    empty = b"From: partner@vendor.example\r\nTo: " + INGEST.encode() + b"\r\nSubject: empty\r\n\r\n   \r\n"
    _send(bridge, empty)
    rows = wait_for_rows(bridge, "quarantine", 3)
    reasons = sorted(r[3] for r in rows)
    assert len(rows) == 3
    assert any("malformed MIME" in r and "StartBoundaryNotFoundDefect" in r for r in reasons)
    assert any("no sender address" in r for r in reasons)
    assert any("nothing to keep" in r for r in reasons)
    for row in rows:  # the raw message is kept for review
        assert Path(url2pathname(urlparse(row[5]).path)).exists()
    assert wait_for_rows(bridge, "evidence", 1, timeout=0.2) == []


def test_hostile_input_is_refused_or_kept_never_crashes(bridge):
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        _send(bridge, _message(), to="someone-else@projectx.io")
    latin = (b"From: partner@vendor.example\r\nTo: " + INGEST.encode() + b"\r\nSubject: caf\xe9 \xff\xfe\r\n"
             b"Content-Type: text/plain; charset=utf-8\r\n\r\nbody with bad bytes \xff\xfe\x00\r\n")
    _send(bridge, latin)
    with pytest.raises(smtplib.SMTPException):  # over the 25 MB limit: refused by the server, not read
        _send(bridge, b"From: a@b.example\r\n\r\n" + b"x" * (26 * 1024 * 1024))
    for n in range(20):  # a bounded flood on loopback: every message kept
        msg = _message(attachments=1)
        del msg["Message-ID"]
        msg["Message-ID"] = f"<flood-{n}@partner.example>"
        _send(bridge, msg)
    evidence = wait_for_rows(bridge, "evidence", 41)
    quarantined = wait_for_rows(bridge, "quarantine", 0, timeout=0)
    assert len(evidence) + len(quarantined) >= 41


def test_address_mapping_names_the_fix():
    assert addresses_from_env("a-ingest@projectx.io=servicenow, b@projectx.io=jira") == {
        "a-ingest@projectx.io": "servicenow", "b@projectx.io": "jira"}
    with pytest.raises(ValueError, match="EMAIL_BRIDGE_ADDRESSES entry 'nonsense' is not address=adapter"):
        addresses_from_env("nonsense")


def test_spool_survives_a_restart(tmp_path):
    spool = tmp_path / "spool.sqlite"
    first = EmailBridge(addresses={INGEST: "servicenow"}, spool=spool, evidence_dir=tmp_path / "ev").start()
    try:
        _send(first, _message())
        wait_for_rows(first, "evidence", 3)
    finally:
        first.stop()
    assert open_spool(spool).execute("select count(*) from evidence").fetchone()[0] == 3


def test_lifespan_starts_and_stops_the_listener(tmp_path, monkeypatch):
    import asyncio
    import socket

    from webhooks.email_bridge import email_bridge_lifespan

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("EMAIL_BRIDGE_ADDRESSES", f"{INGEST}=servicenow")
    monkeypatch.setenv("EMAIL_BRIDGE_PORT", str(port))
    monkeypatch.setenv("PROJECTX_EMAIL_BRIDGE_DB", str(tmp_path / "spool.sqlite"))
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "ev"))

    async def run() -> None:
        async with email_bridge_lifespan() as bridge:
            await asyncio.to_thread(_send, bridge, _message())
            assert len(await asyncio.to_thread(wait_for_rows, bridge, "evidence", 3)) == 3
        with pytest.raises(OSError):
            smtplib.SMTP("127.0.0.1", port, timeout=2)

    asyncio.run(run())


def test_the_service_app_runs_the_bridge(tmp_path, monkeypatch):
    import socket

    from starlette.testclient import TestClient

    from webhooks.app import create_app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("EMAIL_BRIDGE_ADDRESSES", f"{INGEST}=servicenow")
    monkeypatch.setenv("EMAIL_BRIDGE_PORT", str(port))
    monkeypatch.setenv("PROJECTX_EMAIL_BRIDGE_DB", str(tmp_path / "spool.sqlite"))
    monkeypatch.setenv("PROJECTX_EVIDENCE_DIR", str(tmp_path / "ev"))
    monkeypatch.setenv("PROJECTX_DATA_DIR", str(tmp_path / "data"))
    with TestClient(create_app()), smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        smtp.send_message(_message(), from_addr="a@partner.example", to_addrs=[INGEST])
    assert open_spool(tmp_path / "spool.sqlite").execute("select count(*) from evidence").fetchone()[0] == 3
    with pytest.raises(OSError):
        smtplib.SMTP("127.0.0.1", port, timeout=2)
