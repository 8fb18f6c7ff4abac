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

Crash ledger (:mod:`pipelines.common.poison`, :class:`~pipelines.common.poison.InFlight`): every
attachment whose download has started and whose row is not yet handed to dlt is noted in flight
(``<pipeline>.attachments.inflight``, one write per listing page and one per resource page). An
attachment in flight in ``PROJECTX_POISON_CRASHES`` crashed runs in a row is quarantined with its raw
record and the poison reason, and skipped while held (its id kept in state ``poison_held``; once the
operator releases it, ``python -m pipelines.common.poison release servicenow attachments <sys_id>``,
the next run lists it again by id, whatever the cursor). In the run after ``limit - 1`` such crashes
nothing downloads ahead and each suspect is downloaded and processed alone, after the table reads, so
the last crash names it alone and no table record read meanwhile is blamed. A Python exception while
one file is handled (not a death) quarantines that attachment with the exception's type and text, and
the run goes on.

Quarantined once per content (:mod:`pipelines.servicenow.attachment_ledger`): a rejected record, or one whose
file raised, is remembered (the tables' re-read ledger) and read again by id until it loads, without a
second quarantine row while it stays the same; one sys_id sent twice with different metadata keeps the newest.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.cursor import OverlapCursor
from pipelines.common.evidence import admit_evidence, evidence_root
from pipelines.common.http import VendorError
from pipelines.common.pages import safe_text
from pipelines.common.poison import InFlight
from pipelines.common.quarantine import quarantined
from pipelines.common.validation import json_type, validate_page
from pipelines.servicenow.attachment_fetch import LIST_PAGE_SIZE, RESOURCE, Fetch, _download
from pipelines.servicenow.attachment_ledger import Ledger, id_chunks, whole_ids
from pipelines.servicenow.helpers import selected_resources
from pipelines.servicenow.schemas import ATTACHMENT_SPEC, table_schema
from pipelines.servicenow.settings import (
    ATTACHMENT_FIELDS,
    ATTACHMENT_PREFETCH_BYTES,
    DEFAULT_CONCURRENCY,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    INITIAL_CURSOR,
)

log = logging.getLogger(__name__)


class Prefetch:
    """The attachment listing and downloads of one source run, started before the resource's turn.

    dlt runs the resources one after another: downloads that waited for every table to be read made a
    run the tables' time plus theirs. :meth:`start`, called as each table resource begins, starts them
    in the background (once, if the run syncs attachments at all); the attachments resource then only
    validates, stores and yields. Every request goes through the run's clients, so the background adds
    nothing to the run's cap of requests in flight."""

    def __init__(self, make_client, tables: list[str], overlap: int, window: tuple[str, str] | None = None,
                 max_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES, concurrency: int = DEFAULT_CONCURRENCY,
                 budget_bytes: int = ATTACHMENT_PREFETCH_BYTES, run_id: str = ""):
        self._make_client, self._tables, self._overlap, self._window = make_client, tables, overlap, window
        self._run_id = run_id
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

    def stop(self, exc: BaseException | None = None) -> None:
        """Stop and forget the background work (the resource is done, or a table read failed with ``exc``)."""
        fetch, self._fetch = self._fetch, None
        if fetch is not None:
            fetch.close(exc)

    def _begin(self, state: dict | None) -> Fetch:
        memory = Ledger(state, self._run_id)
        if state is None:  # a window: every attachment updated in it, nothing to retry
            when, retry, unchanged = f"sys_updated_on>={self._window[0]}^sys_updated_on<{self._window[1]}", [], None
        else:  # a read-only copy of the cursor: which listed files need no download
            cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=self._overlap)
            # rejected without a sys_id: listed from its time (bounded, see attachment_ledger.Ledger.floor)
            start = min(cursor.start_value, memory.floor(cursor.start_value) or cursor.start_value)
            when, retry, unchanged = f"sys_updated_on>={start}", list(state.get("refetch", [])), cursor
            retry += [k for k in memory.due if k not in retry]  # quarantined before: read again by id
        queries = [f"table_nameIN{','.join(self._tables)}^{when}^ORDERBYsys_id"]
        ledger = InFlight("servicenow", RESOURCE, self._run_id, noun="attachment")
        if state is not None:  # held for killing the sync, released since: read again
            retry += [k for k in state.get("poison_held", []) if k not in ledger.held and k not in retry]
        # downloads that failed in an earlier live run (the cursor has moved past them), in chunks: one
        # query with every id (a phishing wave quarantines hundreds) outgrew the URL limit (414)
        queries += [f"sys_idIN{','.join(chunk)}^ORDERBYsys_id" for chunk in id_chunks(retry)]
        # After limit - 1 crashes with some file in flight, nothing downloads ahead (during the table reads):
        # each suspect is then handled alone in the resource (see _page).
        budget = 0 if ledger.careful else self._budget
        self._fetch = Fetch(self._make_client(), self._max_bytes, self._concurrency, budget, ledger)
        self._fetch.memory = memory
        self._fetch.list(queries, lambda r: unchanged is not None and _unchanged(unchanged, r))
        return self._fetch


def _unchanged(cursor: OverlapCursor, record: dict) -> bool:
    updated, count = record.get("sys_updated_on"), record.get("sys_mod_count")
    return isinstance(count, str | None) and cursor.unchanged(record.get("sys_id"), updated, f"{updated}|{count or ''}")


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
            ledger, memory = fetch.ledger, fetch.memory
            for index, page in whole_ids(fetch):
                by_cursor = cursor if index == 0 else None  # retries bypass the cursor
                if index >= 1:  # the read by id, one query per chunk of ids
                    memory.listed_again(page)
                for item in _page(fetch, page, by_cursor, run_id, root, max_bytes, concurrency, memory):
                    if isinstance(item, list):
                        failed += [r["sys_id"] for r in item if r["content_status"] == "failed"]
                        if window is not None:
                            # a window rerun never replaces content stored before with a failure
                            item = [r for r in item if r["content_status"] != "failed"]
                        if not item:
                            continue
                    yield item
        except BaseException as exc:
            prefetch.stop(exc)
            raise
        prefetch.stop()
        if cursor is not None:
            state["refetch"] = sorted(set(failed))
            state["poison_held"] = sorted(k for k in ledger.held if k.isascii() and k.isalnum())
            memory.commit(state, listed_by_id=True, since=cursor.start_value)
            cursor.commit()

    # One hint dict per column: dlt writes each column's name into its dict, so a shared one made all four
    # `content_error` ("... collides with other column" on every run) and lost the other three hints.
    return dlt.resource(rows, name=RESOURCE, primary_key="sys_id", write_disposition="merge",
                        columns={c: {"data_type": "text", "nullable": True}
                                 for c in ("sha256", "storage_uri", "content_status", "content_error")})


def _page(fetch: Fetch, page: list[dict], cursor: OverlapCursor | None, run_id: str, root, max_bytes: int,
          concurrency: int = 1, memory: Ledger | None = None) -> Iterator[Any]:
    memory = memory or Ledger(None, run_id)
    if not all(isinstance(r, dict) for r in page):  # an entry that is not even a JSON object crashed every run
        for record in page:
            if not isinstance(record, dict):
                yield quarantined(RESOURCE, record, f"not a record: a JSON {json_type(record)} where the "
                                  "Attachment API sends an object", run_id)
        page = [r for r in page if isinstance(r, dict)]
    check = validate_page(page, table_schema("sys_attachment"), ATTACHMENT_FIELDS)
    yield from memory.rejected(check.rejected)
    valid, reused = memory.reused.split(check.valid.to_dicts())
    yield from reused
    wanted = []
    for record in valid:
        version = f"{record['sys_updated_on']}|{record.get('sys_mod_count') or ''}"
        if cursor is not None and not cursor.admit(record["sys_id"], record["sys_updated_on"], version):
            continue
        wanted.append(record)
    ledger = fetch.ledger
    usual: list[dict[str, Any]] = []
    alone: list[dict[str, Any]] = []
    for record in wanted:
        key = record["sys_id"]
        if key in ledger.held:
            log.warning("servicenow attachments: attachment %s skipped: held in quarantine for killing the sync "
                        "(release it with python -m pipelines.common.poison release servicenow attachments %s)",
                        key, key)
        elif ledger.due(key):
            yield ledger.quarantine(record, key)
        elif ledger.careful and ledger.suspect(key):
            alone.append(record)
        else:
            usual.append(record)
    errors: list[tuple[dict[str, Any], str]] = []
    ledger.add(r["sys_id"] for r in usual)  # also forgets the previous page's, dropped below
    out = _with_contents(fetch, usual, root, concurrency, errors)
    for record in alone:  # suspects: nothing else in flight (no downloads ahead in a careful run)
        ledger.only(record["sys_id"])
        out += _with_contents(fetch, [record], root, 1, errors)
    ledger.drop(r["sys_id"] for r in page if isinstance(r, dict) and isinstance(r.get("sys_id"), str))
    for record, reason in errors:  # re-read next run (not taken as loaded), quarantined once while the same
        if cursor is not None:
            cursor.forget(record["sys_id"])
        item = memory.reject(record, reason)
        if item is not None:
            yield item
    if out:
        memory.loaded(out)
        yield out


def _with_contents(fetch: Fetch, records: list[dict[str, Any]], root, concurrency: int,
                   errors: list[tuple[dict[str, Any], str]] | None = None) -> list[dict[str, Any]]:
    """Each record with its content's columns, in order. Downloads run ``concurrency`` at a time: they
    wait on the vendor, not on this machine (at 300 ms a response, 100 files one after another were
    30 s of a 41-s ServiceNow sync). Each file then passes the Evidence Library in this thread, in
    order (scanner and store clients are not all thread-safe), and at most ``2 x concurrency``
    files asked for here wait in memory (besides those downloaded ahead, see :class:`Fetch`).

    ``errors``: where a Python exception while one file is downloaded or admitted goes, as (record,
    reason), that record left out (without it the exception is raised)."""
    out: list[dict[str, Any]] = []

    def handled(record: dict[str, Any], future: Future) -> None:
        try:
            out.append(_admitted(record, future.result(), root))
        except (MemoryError, RecursionError):
            raise  # the process's own death throes: counted as a crash (the note stays)
        except Exception as exc:
            if errors is None:
                raise
            errors.append((record, f"handling its file raised {type(exc).__name__}: {safe_text(str(exc))[:300]}"))

    ahead: deque[tuple[dict[str, Any], Future]] = deque()
    for record in records:
        ahead.append((record, fetch.content(record)))
        if len(ahead) >= 2 * max(1, concurrency):
            handled(*ahead.popleft())
    for done, future in ahead:
        handled(done, future)
    return out


def _admitted(record: dict[str, Any], content: bytes | VendorError | None, root) -> dict[str, Any]:
    row = {**record, "sha256": None, "storage_uri": None, "content_status": "stored", "content_error": None}
    if content is None:
        row["content_status"] = "too_large"
    elif isinstance(content, VendorError):
        row.update(content_status="failed", content_error=str(content)[:500])
    else:
        row.update(admit_evidence("servicenow", content, root, record.get("file_name"), record["sys_id"]))
    return row


__all__ = ["ATTACHMENT_SPEC", "LIST_PAGE_SIZE", "RESOURCE", "Fetch", "Prefetch", "_download", "attachments_resource"]
