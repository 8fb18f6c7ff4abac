"""ServiceNow attachments: metadata incrementally, content into the evidence store (sha256 + URI).

Grain: one row per attachment (``sys_attachment``) on the synced tables, merged on ``sys_id``.
Files above ``max_bytes`` keep their metadata with ``content_status = 'too_large'``; a failed
download is retried by the HTTP client and then recorded as ``content_status = 'failed'`` with the
reason, so the next run tries again (the row's version is not remembered as loaded). Content passes
the Evidence Library first (``admit_evidence``): malware or a file over its limits is
``quarantined``, never stored, and appears in no mart.

Listing and downloads start in the background with the run's first table read (:class:`Prefetch`), on
the run's shared cap of requests in flight; the resource, when its turn comes, takes the listing pages
and the files already downloaded, and downloads the rest itself. Validation, the cursor and the Evidence
Library stay in the resource, in the sync's thread, in listing order.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common import pages
from pipelines.common.cursor import OverlapCursor
from pipelines.common.evidence import admit_evidence, evidence_root
from pipelines.common.http import VendorError
from pipelines.common.quarantine import quarantined
from pipelines.common.validation import validate_page
from pipelines.servicenow.helpers import selected_resources
from pipelines.servicenow.schemas import ATTACHMENT_SPEC, table_schema
from pipelines.servicenow.settings import (
    ATTACHMENT_FIELDS,
    ATTACHMENT_PATH,
    ATTACHMENT_PREFETCH_BYTES,
    ATTACHMENT_PREFETCH_PAGES,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    INITIAL_CURSOR,
)

RESOURCE = "attachments"
LIST_PAGE_SIZE = 500


class Prefetch:
    """The attachment listing and downloads of one source run, started before the resource's turn.

    dlt runs the resources one after another: downloads that waited for every table to be read made a
    run the tables' time plus theirs. :meth:`start`, called as each table resource begins, starts them
    in the background (once, if the run syncs attachments at all); the attachments resource then only
    validates, stores and yields. Every request goes through the run's clients, so the background adds
    nothing to the run's cap of requests in flight."""

    def __init__(self, make_client, tables: list[str], overlap: int, window: tuple[str, str] | None = None,
                 max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES, concurrency: int = DEFAULT_CONCURRENCY,
                 budget_bytes: int = ATTACHMENT_PREFETCH_BYTES):
        self._make_client, self._tables, self._overlap, self._window = make_client, tables, overlap, window
        self._max_bytes, self._concurrency, self._budget = max_bytes, concurrency, budget_bytes
        self._fetch: Fetch | None = None

    def start(self) -> None:
        """Start listing and downloading, if this extract runs the attachments resource (from a table
        resource, in the dlt thread: the attachments' cursor is read from their resource state)."""
        if self._fetch is None and RESOURCE in (selected_resources() or ()):
            self._begin(None if self._window else dlt.current.resource_state(RESOURCE))

    def fetch(self, state: dict | None) -> Fetch:
        """The run's fetch (started now if no table started it); ``state``: the resource's own state."""
        return self._fetch or self._begin(state)

    def stop(self) -> None:
        """Stop and forget the background work (the resource is done, or a table read failed)."""
        fetch, self._fetch = self._fetch, None
        if fetch is not None:
            fetch.close()

    def _begin(self, state: dict | None) -> Fetch:
        if state is None:  # a window: every attachment updated in it, nothing to retry
            when, retry, unchanged = f"sys_updated_on>={self._window[0]}^sys_updated_on<{self._window[1]}", [], None
        else:  # a read-only copy of the cursor: which listed files need no download
            cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=self._overlap)
            when, retry, unchanged = f"sys_updated_on>={cursor.start_value}", list(state.get("refetch", [])), cursor
        queries = [f"table_nameIN{','.join(self._tables)}^{when}^ORDERBYsys_id"]
        if retry:  # downloads that failed in an earlier live run (the cursor has moved past them)
            queries.append(f"sys_idIN{','.join(retry)}^ORDERBYsys_id")
        self._fetch = Fetch(self._make_client(), self._max_bytes, self._concurrency, self._budget)
        self._fetch.list(queries, lambda r: unchanged is not None and _unchanged(unchanged, r))
        return self._fetch


def _unchanged(cursor: OverlapCursor, record: dict) -> bool:
    updated, count = record.get("sys_updated_on"), record.get("sys_mod_count")
    return isinstance(count, str | None) and cursor.unchanged(record.get("sys_id"), updated, f"{updated}|{count or ''}")


_END = object()


class Fetch:
    """Listing pages, in order, and file downloads, ``concurrency`` at a time, for the attachments resource.

    :meth:`list` lists in a background thread and downloads ahead the files each page will want, while
    their bytes fit ``budget_bytes`` (after that, files download when the resource asks: :meth:`content`).
    At most ``ATTACHMENT_PREFETCH_PAGES`` listing pages wait for the resource."""

    def __init__(self, client, max_bytes: int, concurrency: int, budget_bytes: int = 0):
        self.client = client
        self._max_bytes, self._budget, self._held, self._full = max_bytes, budget_bytes, 0, False
        self._pool = ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="sn-attachment")
        self._ahead: dict[str, tuple[Future, int]] = {}
        self._lock = threading.Lock()
        self._pages: queue.Queue = queue.Queue(maxsize=ATTACHMENT_PREFETCH_PAGES)
        self._stop = threading.Event()
        self._lister: threading.Thread | None = None

    def list(self, queries: list[str], unchanged: Callable[[dict], bool]) -> None:
        self._lister = threading.Thread(target=self._list, args=(queries, unchanged), daemon=True,
                                        name="sn-attachment-list")
        self._lister.start()

    def pages(self) -> Iterator[tuple[int, list[dict]]]:
        """(query index, page) in listing order; the listing's failure is raised here."""
        while True:
            item = self._pages.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def content(self, record: dict[str, Any]) -> Future:
        """The download of ``record``'s file: the one started ahead, else one started now."""
        with self._lock:
            ahead = self._ahead.pop(record["sys_id"], None)
        if ahead is None:
            return self._pool.submit(_download, self.client, record, self._max_bytes)
        future, size = ahead
        future.add_done_callback(lambda _: self._release(size))
        return future

    def settle(self, page: list[dict]) -> None:
        """Drop the downloads started ahead for this page that the resource did not take (refused records)."""
        for record in page:
            sys_id = record.get("sys_id")
            with self._lock:
                ahead = self._ahead.pop(sys_id, None) if isinstance(sys_id, str) else None
            if ahead is not None:
                ahead[0].cancel()
                ahead[0].add_done_callback(lambda _, size=ahead[1]: self._release(size))

    def close(self) -> None:
        self._stop.set()
        if self._lister is not None:
            self._lister.join()  # after its request in flight, if any
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()

    def _list(self, queries: list[str], unchanged: Callable[[dict], bool]) -> None:
        try:
            for index, query in enumerate(queries):
                offset = 0
                while not self._stop.is_set():
                    response = self.client.session.request("GET", ATTACHMENT_PATH, params={
                        "sysparm_query": query, "sysparm_limit": LIST_PAGE_SIZE, "sysparm_offset": offset})
                    page = pages.loads(response.content).get("result", [])
                    if not page:
                        break
                    for record in page:
                        if not (index == 0 and unchanged(record)):  # retries bypass the cursor
                            self._download_ahead(record)
                    self._put((index, page))
                    offset += len(page)
                    total = response.headers.get("X-Total-Count")
                    if total is not None and offset >= int(total):
                        break
            self._put(_END)
        except BaseException as exc:  # raised in the resource, where it belongs
            self._put(exc)

    def _download_ahead(self, record: dict) -> None:
        """Start the download of a listed file now if the bytes held ahead allow (the resource validates
        the record later; a file it refuses is dropped unread, see :meth:`settle`)."""
        sys_id, size = record.get("sys_id"), record.get("size_bytes")
        if self._full or not isinstance(sys_id, str) or not sys_id.isalnum() or not str(size or "0").isdigit():
            return
        size = int(size or 0)
        if size > self._max_bytes:
            return  # not downloaded at all (too large)
        with self._lock:
            if sys_id in self._ahead:
                return
            if self._held + size > self._budget:
                self._full = True  # later files download when the resource reaches them
                return
            self._held += size
            self._ahead[sys_id] = (self._pool.submit(_download, self.client, record, self._max_bytes), size)

    def _release(self, size: int) -> None:
        with self._lock:
            self._held -= size

    def _put(self, item: Any) -> None:
        while not self._stop.is_set():
            try:
                self._pages.put(item, timeout=0.1)
                return
            except queue.Full:
                continue


def attachments_resource(prefetch: Prefetch, run_id: str, evidence_dir: str | None,
                         max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES, window: tuple[str, str] | None = None,
                         concurrency: int = DEFAULT_CONCURRENCY, overlap: int = 0) -> DltResource:
    """``window`` (ServiceNow UTC timestamps, end exclusive): only attachments last updated in it,
    all of them merged again, the cursor neither used nor advanced. ``concurrency``: downloads in
    flight at once (the same cap as the table reads'). ``prefetch``: the run's listing and downloads,
    perhaps started by the table resources."""
    def rows() -> Iterator[Any]:
        state = dlt.current.resource_state() if window is None else None
        cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=overlap) if state is not None \
            else None
        failed: list[str] = []
        try:
            root = evidence_root(evidence_dir)
            fetch = prefetch.fetch(state)
            for index, page in fetch.pages():
                by_cursor = cursor if index == 0 else None  # retries bypass the cursor
                for item in _page(fetch, page, by_cursor, run_id, root, max_bytes, concurrency):
                    if isinstance(item, list):
                        failed += [r["sys_id"] for r in item if r["content_status"] == "failed"]
                        if window is not None:
                            # a window rerun never replaces content stored before with a failure
                            item = [r for r in item if r["content_status"] != "failed"]
                        if not item:
                            continue
                    yield item
                fetch.settle(page)
        finally:
            prefetch.stop()
        if cursor is not None:
            state["refetch"] = sorted(set(failed))
            cursor.commit()

    # One hint dict per column: dlt writes each column's name into its dict, so a shared one made all four
    # `content_error` ("... collides with other column" on every run) and lost the other three hints.
    return dlt.resource(rows, name=RESOURCE, primary_key="sys_id", write_disposition="merge",
                        columns={c: {"data_type": "text", "nullable": True}
                                 for c in ("sha256", "storage_uri", "content_status", "content_error")})


def _page(fetch: Fetch, page: list[dict], cursor: OverlapCursor | None, run_id: str, root, max_bytes: int,
          concurrency: int = 1) -> Iterator[Any]:
    check = validate_page(page, table_schema("sys_attachment"), ATTACHMENT_FIELDS)
    for record, reason in check.rejected:
        yield quarantined(RESOURCE, record, reason, run_id, str(record.get("sys_id") or ""))
    wanted = []
    for record in check.valid.to_dicts():
        version = f"{record['sys_updated_on']}|{record.get('sys_mod_count') or ''}"
        if cursor is not None and not cursor.admit(record["sys_id"], record["sys_updated_on"], version):
            continue
        wanted.append(record)
    out = _with_contents(fetch, wanted, root, concurrency)
    if out:
        yield out


def _with_contents(fetch: Fetch, records: list[dict[str, Any]], root, concurrency: int) -> list[dict[str, Any]]:
    """Each record with its content's columns, in order. Downloads run ``concurrency`` at a time: they
    wait on the vendor, not on this machine (at 300 ms a response, 100 files one after another were
    30 s of a 41-s ServiceNow sync). Each file then passes the Evidence Library in this thread, in
    order (scanner and store clients are not all thread-safe), and at most ``2 x concurrency``
    files asked for here wait in memory (besides those downloaded ahead, see :class:`Fetch`)."""
    out: list[dict[str, Any]] = []
    ahead: deque[tuple[dict[str, Any], Future]] = deque()
    for record in records:
        ahead.append((record, fetch.content(record)))
        if len(ahead) >= 2 * max(1, concurrency):
            done, future = ahead.popleft()
            out.append(_admitted(done, future.result(), root))
    for done, future in ahead:
        out.append(_admitted(done, future.result(), root))
    return out


def _download(client, record: dict[str, Any], max_bytes: int) -> bytes | VendorError | None:
    """The file's bytes; None when it is over ``max_bytes`` (not fetched); the error when the
    download failed after the client's retries."""
    if int(record.get("size_bytes") or 0) > max_bytes:
        return None
    try:
        response = client.session.request("GET", f"{ATTACHMENT_PATH}/{record['sys_id']}/file",
                                          headers={"Accept": "*/*"})
    except VendorError as exc:
        return exc
    return response.content


def _admitted(record: dict[str, Any], content: bytes | VendorError | None, root) -> dict[str, Any]:
    row = {**record, "sha256": None, "storage_uri": None, "content_status": "stored", "content_error": None}
    if content is None:
        row["content_status"] = "too_large"
    elif isinstance(content, VendorError):
        row.update(content_status="failed", content_error=str(content)[:500])
    else:
        row.update(admit_evidence("servicenow", content, root, record.get("file_name"), record["sys_id"]))
    return row


__all__ = ["ATTACHMENT_SPEC", "attachments_resource"]
