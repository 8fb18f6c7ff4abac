"""Faults at the provider through the whole library (S3 on moto's server, real clamd): 5xx and 429
are retried; permission denied becomes a task and the file waits; quota exceeded pauses the
provider; nothing is lost: every file ends stored, quarantined or pending with its reason, and a
retry after the fix stores each once."""

from __future__ import annotations

from resources.evidence.s3 import S3Store
from sandbox.aws import AwsFault
from tests.evidence.clamav import EICAR
from tests.evidence.files import make_pdf
from tests.evidence.library import make_library


def test_s3_faults_retry_task_pause_and_nothing_lost(aws, clamd, tmp_path):
    lib = make_library(tmp_path, clamd, store=S3Store.from_env())
    server = aws.server
    before = server.fault_hits
    server.faults += [AwsFault("s3", 503, "SlowDown", count=2, method="PUT"),
                      AwsFault("s3", 429, "TooManyRequests", count=1, method="PUT")]
    first = lib.ingest(make_pdf(["change request CHG1 approved"]), "chg1.pdf", "servicenow")
    assert first.status == "stored" and server.fault_hits - before == 3

    server.faults.append(AwsFault("s3", 403, "AccessDenied", count=100, method="PUT"))
    denied = lib.ingest(b"asset inventory of the payroll servers", "inventory.txt", "email")
    assert denied.status == "pending" and f"grant the role {aws.role_arn}" in denied.reason
    tasks = [a for a in lib.ledger.rows("alerts") if a["kind"] == "permission_task"]
    assert len(tasks) == 1 and aws.bucket in tasks[0]["message"]
    server.faults.clear()

    server.faults.append(AwsFault("s3", 507, "QuotaExceeded", count=100, method="PUT"))
    full = lib.ingest(b"vendor risk assessment of Acme", "acme.txt", "email")
    assert full.status == "pending" and lib.ledger.paused("s3")
    hits = server.fault_hits
    later = lib.ingest(b"incident report INC7", "inc7.txt", "jira")
    assert later.status == "pending" and "paused" in later.reason and server.fault_hits == hits  # S3 not touched
    infected = lib.ingest(EICAR, "eicar.txt", "jira")
    assert infected.status == "quarantined"  # scanning does not wait for the store
    assert {a["kind"] for a in lib.ledger.rows("alerts")} == {"permission_task", "quota_pause", "security_alert"}

    server.faults.clear()
    lib.ledger.resume("s3")
    done = {o.filename: o.status for o in lib.retry_pending()}
    assert done == {"inventory.txt": "stored", "acme.txt": "stored", "inc7.txt": "stored"}
    assert lib.retry_pending() == []
    assert len(list(lib.store.list())) == 4
    assert not lib.store.exists(infected.sha256)
    # every file handed in has a final outcome; re-ingesting stores nothing twice
    again = lib.ingest(make_pdf(["change request CHG1 approved"]), "chg1.pdf", "servicenow")
    assert again.storage_uri == first.storage_uri and len(list(lib.store.list())) == 4
