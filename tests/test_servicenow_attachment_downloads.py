"""ServiceNow attachment downloads run several at a time, yet every file passes the Evidence Library
in the sync's own thread, in order, with a bounded number of files held in memory."""

import threading
import time

import pytest

from pipelines.common.http import VendorError
from pipelines.servicenow import attachments


class _Response:
    def __init__(self, content: bytes) -> None:
        self.content = content


class _Session:
    """Records how many downloads were in flight at once; a failing sys_id raises like the client."""

    def __init__(self, fail: set[str]) -> None:
        self.fail, self.lock, self.now, self.peak = fail, threading.Lock(), 0, 0

    def request(self, method, path, headers=None):
        sys_id = path.split("/")[-2]
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
        try:
            time.sleep(0.05)
            if sys_id in self.fail:
                raise VendorError(f"download of {sys_id} failed after retries")
            return _Response(f"content of {sys_id}".encode())
        finally:
            with self.lock:
                self.now -= 1


class _Client:
    def __init__(self, fail: set[str]) -> None:
        self.session = _Session(fail)

    def close(self) -> None:
        pass


@pytest.fixture
def admitted(monkeypatch):
    """What reached the Evidence Library, in order, and from which thread."""
    seen: list[tuple[str, str]] = []

    def admit(vendor, content, root, filename, sys_id):
        seen.append((sys_id, threading.current_thread().name))
        return {"sha256": "x" * 64, "storage_uri": f"local://{sys_id}", "content_status": "stored",
                "content_error": None}

    monkeypatch.setattr(attachments, "admit_evidence", admit)
    return seen


def _contents(client, records: list[dict], concurrency: int) -> list[dict]:
    fetch = attachments.Fetch(client, max_bytes=1000, concurrency=concurrency)
    try:
        return attachments._with_contents(fetch, records, root=None, concurrency=concurrency)
    finally:
        fetch.close()


def _records(n: int) -> list[dict]:
    return [{"sys_id": f"a{i:03d}", "size_bytes": 10, "file_name": f"f{i}.txt"} for i in range(n)]


def test_downloads_overlap_up_to_the_cap_and_rows_keep_their_order(admitted):
    client = _Client(fail={"a003"})
    rows = _contents(client, _records(12), concurrency=4)
    assert [r["sys_id"] for r in rows] == [f"a{i:03d}" for i in range(12)]
    assert client.session.peak == 4, "downloads should run four at a time, never more"
    failed = [r for r in rows if r["content_status"] == "failed"]
    assert [r["sys_id"] for r in failed] == ["a003"] and "failed after retries" in failed[0]["content_error"]
    # the failed file never reached the library; the others did, in order, from this thread
    assert [s for s, _ in admitted] == [f"a{i:03d}" for i in range(12) if i != 3]
    assert {t for _, t in admitted} == {threading.current_thread().name}


def test_a_file_over_the_limit_is_not_downloaded(admitted):
    client = _Client(fail=set())
    records = _records(3)
    records[1]["size_bytes"] = 10_000
    rows = _contents(client, records, concurrency=4)
    assert [r["content_status"] for r in rows] == ["stored", "too_large", "stored"]
    assert [s for s, _ in admitted] == ["a000", "a002"]


def test_one_at_a_time_when_the_cap_is_one(admitted):
    client = _Client(fail=set())
    _contents(client, _records(5), concurrency=1)
    assert client.session.peak == 1


def test_files_downloaded_ahead_stay_within_the_byte_budget(admitted):
    client = _Client(fail=set())
    fetch = attachments.Fetch(client, max_bytes=1000, concurrency=4, budget_bytes=25)
    try:
        records = _records(5)
        for record in records:
            fetch._download_ahead(record)
        assert sorted(fetch._ahead) == ["a000", "a001"], "10 + 10 bytes fit 25; the third would not"
        fetch.settle(records[1:2])  # refused by validation: dropped, its bytes freed
        rows = attachments._with_contents(fetch, [records[0], *records[2:]], root=None, concurrency=4)
        assert [r["content_status"] for r in rows] == ["stored"] * 4, "the rest download when asked"
        assert fetch._ahead == {}
    finally:
        fetch.close()  # waits for the download threads, which free the bytes as they finish
    assert fetch._held == 0
