"""ServiceNow attachments: the listing and the file downloads of one run (:class:`Fetch`), run in the
background and handed to the attachments resource (:mod:`pipelines.servicenow.attachments`) in listing order.

Split from :mod:`pipelines.servicenow.attachments` (by responsibility: fetching here; validation, the
cursor, the Evidence Library and the crash ledger's decisions there). ``_download`` is looked up here at
call time (the test-only poison shim replaces it on this module).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from pipelines.common import pages
from pipelines.common.http import VendorError
from pipelines.common.poison import InFlight
from pipelines.servicenow.attachment_ledger import Ledger
from pipelines.servicenow.keyset import _count
from pipelines.servicenow.settings import (
    ATTACHMENT_PATH,
    ATTACHMENT_PREFETCH_PAGES,
)

RESOURCE = "attachments"
LIST_PAGE_SIZE = 500

_END = object()


class Fetch:
    """Listing pages, in order, and file downloads, ``concurrency`` at a time, for the attachments resource.

    :meth:`list` lists in a background thread and downloads ahead the files each page will want, while
    their bytes fit ``budget_bytes`` (after that, files download when the resource asks: :meth:`content`).
    At most ``ATTACHMENT_PREFETCH_PAGES`` listing pages wait for the resource."""

    def __init__(self, client, max_bytes: int, concurrency: int, budget_bytes: int = 0,
                 ledger: InFlight | None = None):
        self.client = client
        self.ledger = ledger or InFlight("servicenow", RESOURCE, "", noted=False)
        self.memory = Ledger(None, "")  # what was quarantined before (set by Prefetch)
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
            sys_id = record.get("sys_id") if isinstance(record, dict) else None
            with self._lock:
                ahead = self._ahead.pop(sys_id, None) if isinstance(sys_id, str) else None
            if ahead is not None:
                ahead[0].cancel()
                ahead[0].add_done_callback(lambda _, size=ahead[1]: self._release(size))

    def close(self, exc: BaseException | None = None) -> None:
        self._stop.set()
        if self._lister is not None:
            self._lister.join()  # after its request in flight, if any
        self._pool.shutdown(wait=True, cancel_futures=True)
        self.client.close()
        self.ledger.close(exc)

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
                    # retries bypass the cursor; an entry that is no object is quarantined by the resource
                    self._download_page_ahead([r for r in page if isinstance(r, dict)
                                               and not (index == 0 and unchanged(r))])
                    self._put((index, page))
                    offset += len(page)
                    # a count that is no number ("many") is unknown, as for table reads: int() failed every run
                    total = _count("sys_attachment", response.headers.get("X-Total-Count"))
                    if total is not None and offset >= total:
                        break
            self._put(_END)
        except BaseException as exc:  # raised in the resource, where it belongs
            self._put(exc)

    def _download_ahead(self, record: dict) -> None:
        self._download_page_ahead([record])

    def _download_page_ahead(self, records: list[dict]) -> None:
        """Start the downloads of a listed page's files now as far as the bytes held ahead allow (the resource
        validates the records later; a file it refuses is dropped unread, see :meth:`settle`). They are
        noted in flight first, in one write (none for files held or due for quarantine)."""
        chosen: dict[str, tuple[dict, int]] = {}
        for record in records:
            sys_id, size = record.get("sys_id"), record.get("size_bytes")
            if self._full or self._budget <= 0:
                break
            size = _size(size)
            if not isinstance(sys_id, str) or not sys_id.isalnum() or size is None:
                continue
            if size > self._max_bytes or sys_id in chosen or sys_id in self.ledger.held or self.ledger.due(sys_id):
                continue  # too large: not downloaded at all; held or due: never downloaded
            with self._lock:
                if sys_id in self._ahead:
                    continue
                if self._held + size > self._budget:
                    self._full = True  # later files download when the resource reaches them
                    break
                self._held += size
            chosen[sys_id] = (record, size)
        if not chosen:
            return
        self.ledger.add(chosen)
        with self._lock:
            for sys_id, (record, size) in chosen.items():
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


def _size(value) -> int | None:
    """A listing's ``size_bytes`` as a number of bytes, or None when it is none: only ASCII digits, at most 18
    of them ("²" passes ``str.isdigit`` but not ``int``; 5,000 digits pass neither ``int`` nor any file)."""
    text = str(value or "0")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
