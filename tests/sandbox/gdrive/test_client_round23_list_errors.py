"""Round 23: answers from Drive's error guide the emulator did not give. files.list with a ``fullText``
term and any ``orderBy`` is 400 badRequest on ``orderBy`` ("Sorting is not supported for queries with
fullText terms…"; the emulator sorted); the guide's 403 rateLimitExceeded (``sb.rate_limit_403``), which
googleapiclient retries with ``num_retries`` as it does the 429 and 403 userRateLimitExceeded."""

from __future__ import annotations

from tests.sandbox.gdrive.calls import refused
from tests.sandbox.gdrive.test_client_probe import drive, upload

__all__ = ["drive"]


def test_full_text_queries_take_no_order_by(drive, gdrive):
    files = drive.files()
    upload(drive, gdrive.evidence_folder, "minutes.txt", b"the quarterly access review")
    upload(drive, gdrive.evidence_folder, "agenda.txt", b"quarterly planning")
    q = "fullText contains 'quarterly' and trashed = false"
    for order in ("name", "modifiedTime desc", "folder,name"):
        status, error = refused(files.list(q=q, orderBy=order, fields="files(name)"))
        assert (status, error["reason"], error["location"]) == (400, "badRequest", "orderBy")
        assert error["message"].startswith("Sorting is not supported for queries with fullText terms.")
    found = files.list(q=q, fields="files(name)").execute()["files"]
    assert sorted(f["name"] for f in found) == ["agenda.txt", "minutes.txt"]
    # the word in a name or a string is no fullText term; orderBy stays fine there
    named = files.list(q="name contains 'fullText' or name = 'agenda.txt'", orderBy="name",
                       fields="files(name)").execute()["files"]
    assert named == [{"name": "agenda.txt"}]
    ordered = files.list(q=f"'{gdrive.evidence_folder}' in parents", orderBy="name desc",
                         fields="files(name)").execute()["files"]
    assert ordered == [{"name": "minutes.txt"}, {"name": "agenda.txt"}]
    # a q Drive cannot read is still 400 invalid on q first
    status, error = refused(files.list(q="fullText contains", orderBy="name"))
    assert (status, error["location"]) == (400, "q")


def test_403_rate_limit_exceeded_is_retried(drive, gdrive):
    sb = gdrive.sandbox
    sb.rate_limit_403 = True
    sb.faults.set(rate_429=1.0)
    status, error = refused(drive.files().list(fields="files(id)"))
    assert (status, error["reason"], error["domain"], error["message"]) == (
        403, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded")
    sb.faults.set(rate_429=0.5, seed=1)  # this seed: the first call refused, the second answered
    refused(drive.files().list(fields="files(id)"))
    sb.faults.set(seed=1)
    listed = drive.files().list(fields="files(id)").execute(num_retries=2)
    assert {"id": gdrive.evidence_folder} in listed["files"]
    sb.faults.clear()
