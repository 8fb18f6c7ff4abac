"""Jira waits on the vendor side by side: attachment downloads and sprint listings run ``concurrency``
at a time, yet rows, failures and what reaches the Evidence Library are exactly those of one at a time."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from pipelines.common.http import RetryPolicy, VendorError
from pipelines.jira import attachments, jira_source
from pipelines.jira.attachments import AttachmentContent
from pipelines.jira.helpers import JiraClient

FAST = RetryPolicy(backoff_base_seconds=0.01, backoff_max_seconds=0.05)


class _Client:
    """Downloads take 50 ms; records the peak in flight. ``fail``: id -> HTTP status raised."""

    def __init__(self, fail: dict[str, int] | None = None) -> None:
        self.fail = fail or {}
        self.lock, self.now, self.peak = threading.Lock(), 0, 0
        self.fetched: list[str] = []

    def download(self, path: str) -> bytes:
        attachment_id = path.rsplit("/", 1)[-1]
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)
            self.fetched.append(attachment_id)
        try:
            time.sleep(0.05)
            if attachment_id in self.fail:
                status = self.fail[attachment_id]
                raise VendorError(f"Jira: GET {path} answered {status}", status)
            return f"content of {attachment_id}".encode()
        finally:
            with self.lock:
                self.now -= 1


@pytest.fixture
def library(monkeypatch):
    """What reached the Evidence Library, in order, and from which thread; ``bad`` ids are quarantined,
    ``down`` ids meet an unavailable scanner; ``stored`` is the warehouse's content already stored."""
    seen: list[tuple[str, str]] = []
    lib = type("Lib", (), {"seen": seen, "bad": set(), "down": set(), "stored": {}})()

    def admit(vendor, content, root, filename, attachment_id):
        seen.append((attachment_id, threading.current_thread().name))
        if attachment_id in lib.bad:
            return {"sha256": "b" * 64, "storage_uri": None, "content_status": "quarantined",
                    "content_error": "malware found"}
        if attachment_id in lib.down:
            return {"sha256": "d" * 64, "storage_uri": None, "content_status": "failed",
                    "content_error": "scanner unavailable"}
        return {"sha256": content.hex()[:64], "storage_uri": f"file://{attachment_id}",
                "content_status": "stored", "content_error": None}

    monkeypatch.setattr(attachments, "admit_evidence", admit)
    monkeypatch.setattr(attachments, "evidence_root", lambda d: None)
    monkeypatch.setattr(attachments, "stored_content", lambda: dict(lib.stored))
    return lib


def _rows(n: int, size: int = 10) -> list[dict]:
    return [{"id": f"{100 + i}", "issue_id": f"{i // 2}", "filename": f"f{i}.txt", "size_bytes": size}
            for i in range(n)]


def _fill(rows: list[dict], concurrency: int, client: _Client, max_bytes: int = 1000):
    content = AttachmentContent(client, max_bytes, None, concurrency)
    failed = content.fill_all(rows)
    return rows, [r["id"] for r in failed], content.downloaded


def _hostile_rows() -> list[dict]:
    rows = _rows(16)
    rows[2]["size_bytes"] = 5000                    # too large: never fetched
    rows[9] = {**rows[4], "issue_id": "9x"}         # an id reused by another issue, in the same batch
    rows[12] = {**rows[5], "issue_id": "12x"}       # reused id whose first download failed
    return rows


def test_downloads_overlap_up_to_the_cap_and_rows_keep_their_order(library):
    client = _Client(fail={"103": 503, "107": 404})
    library.bad, library.down = {"110"}, {"111"}
    rows, failed, downloaded = _fill(_rows(16), 4, client)
    assert client.peak == 4, "downloads should run four at a time, never more"
    assert [r["id"] for r in rows] == [f"{100 + i}" for i in range(16)]
    status = {r["id"]: r["content_status"] for r in rows}
    assert (status["103"], status["107"], status["110"], status["111"]) == ("failed", "missing", "quarantined",
                                                                          "failed")
    assert "answered 503" in next(r for r in rows if r["id"] == "103")["content_error"]
    assert failed == ["103", "111"] and downloaded == 12
    # every file fetched reached the library once, in order, from this thread (its ledger is not shared)
    assert [a for a, _ in library.seen] == [r["id"] for r in rows if r["id"] not in ("103", "107")]
    assert {t for _, t in library.seen} == {threading.current_thread().name}


def test_same_rows_failures_and_library_calls_as_one_at_a_time(library):
    library.stored = {"101": ("s" * 64, "file://old")}  # stored by an earlier run: never fetched again
    library.bad = {"106"}
    results = {}
    for concurrency in (1, 4):
        library.seen.clear()
        client = _Client(fail={"103": 500, "105": 500, "108": 404})
        rows, failed, downloaded = _fill(_hostile_rows(), concurrency, client)
        results[concurrency] = (rows, failed, downloaded, [a for a, _ in library.seen], sorted(client.fetched))
    assert results[4] == results[1]
    rows, failed, downloaded, seen, fetched = results[4]
    assert "101" not in fetched and "102" not in fetched and fetched.count("104") == 1
    assert fetched.count("105") == 2  # its reuse is fetched again after the first failed, as before
    assert failed == ["103", "105", "105"] and rows[9]["storage_uri"] == "file://104"
    assert seen.count("104") == 1 and "106" in seen and downloaded == len(seen) - 1  # 106 quarantined


def test_one_at_a_time_when_the_cap_is_one(library):
    client = _Client()
    _fill(_rows(6), 1, client)
    assert client.peak == 1


def test_downloads_switched_off_fetch_nothing(library):
    client = _Client()
    rows, failed, _ = _fill(_rows(5), 4, client, max_bytes=0)
    assert {r["content_status"] for r in rows} == {"disabled"} and not client.fetched and not failed


def _peak(monkeypatch, method_owner, name: str) -> dict:
    """Wrap ``method_owner.name`` to record the peak number of calls in flight and their threads."""
    seen = {"now": 0, "peak": 0, "threads": set()}
    lock, original = threading.Lock(), getattr(method_owner, name)

    def wrapped(*args, **kwargs):
        with lock:
            seen["now"] += 1
            seen["peak"] = max(seen["peak"], seen["now"])
            seen["threads"].add(threading.current_thread().name)
        try:
            return original(*args, **kwargs)
        finally:
            with lock:
                seen["now"] -= 1

    monkeypatch.setattr(method_owner, name, wrapped)
    return seen


def test_a_sync_downloads_side_by_side_and_loads_what_one_at_a_time_loads(make_jira_sandbox, duckdb_warehouse,
                                                                           monkeypatch):
    sb = make_jira_sandbox(size=60, latency_ms=30)
    ids = [a["id"] for i in sb.issues(fields=["attachment"]) for a in i["fields"].get("attachment") or []]
    assert len(ids) >= 4
    sb.faults.set(rate_5xx=1.0, paths=[rf"/attachment/content/{ids[1]}$"])  # one download always fails
    seen = _peak(monkeypatch, JiraClient, "download")
    tables, refetch = {}, {}
    for concurrency, dataset in ((1, "jira_one"), (4, "jira")):
        seen["threads"].clear()
        pipeline = duckdb_warehouse.pipeline(dataset, dataset=dataset)
        pipeline.run(jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], policy=FAST,
                                 concurrency=concurrency), loader_file_format="parquet")
        with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
            tables[concurrency] = con.execute(
                f"select id, issue_id, sha256, storage_uri, content_status, content_error is null "
                f"from {dataset}.attachments order by id").fetchall()
        refetch[concurrency] = pipeline.state["sources"]["jira"]["resources"]["issues"]["refetch"]
        if concurrency == 1:
            assert seen["peak"] == 1
    assert seen["peak"] == 4 and any(t.startswith("jira-attachment") for t in seen["threads"])
    assert tables[4] == tables[1] and len(tables[4]) == len(ids)
    assert [r[4] for r in tables[4] if r[0] == ids[1]] == ["failed"]
    assert refetch[4] == refetch[1] == [next(r[1] for r in tables[4] if r[0] == ids[1])]


def test_catalog_lists_side_by_side_and_loads_what_one_at_a_time_loads(make_jira_sandbox, duckdb_warehouse,
                                                                      monkeypatch, caplog):
    sb = make_jira_sandbox(size=40, latency_ms=30)
    calls: list[tuple[str, float, float]] = []
    original = JiraClient.get

    def get(self, path, **params):
        started = time.monotonic()
        try:
            if path.endswith("/board/2/sprint"):
                raise VendorError("Jira: GET /board/2/sprint answered 404", 404)
            return original(self, path, **params)
        finally:
            calls.append((path, started, time.monotonic()))

    monkeypatch.setattr(JiraClient, "get", get)

    def sprint_peak() -> int:
        sprints = [(a, b) for p, a, b in calls if p.endswith("/sprint")]
        return max(sum(a <= t < b for a, b in sprints) for t, _ in sprints)

    loaded, hashes = {}, {}
    for concurrency, dataset in ((1, "jira_one"), (2, "jira")):
        calls.clear()
        caplog.clear()
        pipeline = duckdb_warehouse.pipeline(dataset, dataset=dataset)
        source = jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], policy=FAST,
                             concurrency=concurrency).with_resources("projects", "boards", "sprints")
        pipeline.run(source, loader_file_format="parquet")
        assert "sprints of board 2 not listed (404)" in caplog.text
        with duckdb.connect(duckdb_warehouse.duckdb_path, read_only=True) as con:
            loaded[concurrency] = {t: con.execute(f"select * exclude (_dlt_load_id, _dlt_id) from {dataset}.{t} "
                                                  "order by id").fetchall() for t in ("projects", "boards", "sprints")}
        resources = pipeline.state["sources"]["jira"]["resources"]
        hashes[concurrency] = {t: resources[t]["hashes"] for t in ("projects", "boards", "sprints")}
        (_, p0, p1), = [c for c in calls if c[0].endswith("/project/search")]
        (_, b0, b1), = [c for c in calls if c[0].endswith("/board")]
        overlap = b0 < p1 and p0 < b1
        assert (sprint_peak(), overlap) == ((1, False) if concurrency == 1 else (2, True))
    assert loaded[2] == loaded[1] and len(loaded[2]["sprints"]) > 0 and hashes[2] == hashes[1]

    # Any other refusal still fails the sync, as before.
    sb.faults.set(rate_5xx=1.0, paths=[r"/board/3/sprint$"])
    with pytest.raises(PipelineStepFailed, match="sprints"):
        duckdb_warehouse.pipeline("jira").run(
            jira_source(base_url=sb.url, auth_mode="pat", pat=sb.credentials["pat"], policy=FAST,
                        concurrency=2).with_resources("projects", "boards", "sprints"), loader_file_format="parquet")
