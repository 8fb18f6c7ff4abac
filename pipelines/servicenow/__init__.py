"""dlt source for ServiceNow (spec §2.1): tables, deletes and attachments into dataset ``servicenow``.

Per table (one merge resource each, primary key ``sys_id``): read ``sys_updated_on >= cursor -
overlap`` in sys_id order, by keyset over sys_id ranges fetched concurrently (see
:mod:`pipelines.servicenow.helpers`); validate each page (pandera) and quarantine what fails; load
only row versions not loaded before (see :mod:`pipelines.common.cursor`); yield Arrow tables. The
cursor never passes the vendor's clock at the start of the read, and lives in dlt state, committed
with the load.

Deletes: every run reads ServiceNow's delete audit (``sys_audit_delete``) since each table's cursor,
in one read for all tables after the last table's read (:class:`pipelines.servicenow.deletes.DeleteAudit`); an
optional reconciliation sweep compares all vendor ids with the warehouse, marks the missing as
deleted and fetches any the warehouse lacks. Both land in ``servicenow.deletions``.

Window mode (``window=(start, end)``, for time-window partitions): each table re-reads exactly the
records with ``start <= sys_updated_on < end`` and merges them; the delete audit is read for the
same window; the cursor is neither used nor advanced and the reconciliation sweep is off.

A record that kills the sync process while its row is built, run after run, is quarantined and skipped
after ``PROJECTX_POISON_CRASHES`` crashed runs in a row (:mod:`pipelines.common.poison`): every page goes
to :func:`_checked` through the table's :class:`~pipelines.common.poison.PoisonGuard`.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
import polars as pl
import pyarrow as pa
from dlt.sources import DltResource

from pipelines.common.config import ExplicitArguments
from pipelines.common.cursor import VENDOR_TS_FORMAT, OverlapCursor
from pipelines.common.deletions import (
    deletion_rows,
    destination_has_rows,
    destination_ids,
    known_deletion_times,
    withdrawn_rows,
)
from pipelines.common.http import RetryPolicy
from pipelines.common.poison import PoisonGuard
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import Requeue
from pipelines.common.set_aside import SetAside
from pipelines.common.validation import json_type, validate_page
from pipelines.servicenow.attachment_ledger import id_chunks, is_stamp, usable_id
from pipelines.servicenow.attachments import Prefetch, attachments_resource
from pipelines.servicenow.deletes import DeleteAudit, Due
from pipelines.servicenow.helpers import Clients, ServiceNowClient
from pipelines.servicenow.schemas import table_schema
from pipelines.servicenow.settings import (
    DEFAULT_CONCURRENCY,
    DEFAULT_OVERLAP_SECONDS,
    DEFAULT_PAGE_SIZE,
    INITIAL_CURSOR,
    TABLES,
    VALIDATION_BATCH,
    TableSpec,
    resolved,
)
from pipelines.servicenow.unreadable import Unreadable


@dlt.source(name="servicenow", max_table_nesting=0, spec=ExplicitArguments)
def servicenow_source(
    base_url: str,
    client_id: str,
    client_secret: str,
    username: str | None = None,
    password: str | None = None,
    tables: Sequence[str] = tuple(TABLES),
    page_size: int = DEFAULT_PAGE_SIZE,
    concurrency: int = DEFAULT_CONCURRENCY,
    overlap_seconds: int = DEFAULT_OVERLAP_SECONDS,
    reconcile: bool = False,
    attachments: bool = True,
    evidence_dir: str | None = None,
    verify: bool | str = True,
    run_id: str | None = None,
    policy: RetryPolicy | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> list[DltResource]:
    """ServiceNow tables into the ``servicenow`` dataset, incrementally, merged on ``sys_id``.

    ``window``: UTC-aware (start, end), end exclusive: re-read only records last updated in it and
    merge them, leaving the cursor as it is (see the module docstring).
    """
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        raise ValueError(f"Unknown ServiceNow tables {unknown}; choose from {sorted(TABLES)}")
    bounds = _window_bounds(window)
    run_id = run_id or uuid.uuid4().hex
    # Keep the vendor's strings as they are: staging casts them.
    dlt.current.source_schema().remove_type_detection("iso_timestamp")

    # One token and one cap on requests in flight for the whole run (ServiceNow caps concurrent sessions per user).
    make_client = Clients(base_url, client_id, client_secret, username, password, verify=verify, policy=policy,
                          concurrency=concurrency)

    specs = [resolved(TABLES[t]) for t in tables]  # the remediation table's name is a setting
    prefetch = Prefetch(make_client, [spec.table for spec in specs], overlap_seconds, bounds,
                        concurrency=concurrency, run_id=run_id) if attachments else None
    run = _Run(DeleteAudit([spec.resource for spec in specs], run_id), prefetch)
    resources = [
        _table_resource(spec, make_client, page_size, concurrency, overlap_seconds, reconcile, run_id, run)
        if bounds is None else _window_resource(spec, make_client, page_size, concurrency, run_id, bounds, run)
        for spec in specs
    ]
    if prefetch is not None:
        resources.append(attachments_resource(prefetch, run_id, evidence_dir, window=bounds, concurrency=concurrency,
                                              overlap=overlap_seconds))
    return resources


class _Run:
    """What the table resources of one run share: the delete audit, read once for all of them, and the
    attachments' listing and downloads, started in the background as the first table read begins."""

    def __init__(self, audit: DeleteAudit, prefetch: Prefetch | None):
        self.audit, self._prefetch = audit, prefetch

    def table(self, rows: Callable[[], Iterator[Any]]) -> Callable[[], Iterator[Any]]:
        """A table resource's rows, starting the attachments' work first; a failed read stops it (the
        extract ends, and nothing may wait in the background for a resource that will not run)."""
        @functools.wraps(rows)
        def table_rows() -> Iterator[Any]:
            if self._prefetch is not None:
                self._prefetch.start()
            try:
                yield from rows()
            except BaseException as exc:
                self.audit.forget()
                if self._prefetch is not None:
                    self._prefetch.stop(exc)
                raise

        return table_rows


def _window_bounds(window: tuple[datetime, datetime] | None) -> tuple[str, str] | None:
    """``window`` as ServiceNow UTC timestamps; refuses naive datetimes (their zone is a guess)."""
    if window is None:
        return None
    start, end = window
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("window needs timezone-aware datetimes (UTC), e.g. datetime(2026, 1, 1, tzinfo=UTC)")
    if not start < end:
        raise ValueError(f"window start {start} must be before its end {end}")
    return tuple(t.astimezone(UTC).strftime(VENDOR_TS_FORMAT) for t in (start, end))


def _table_resource(spec: TableSpec, make_client, page_size: int, concurrency: int, overlap: int,
                    reconcile: bool, run_id: str, run: _Run) -> DltResource:
    def rows() -> Iterator[Any]:
        state = dlt.current.resource_state()
        cursor = OverlapCursor(state, initial_value=INITIAL_CURSOR, overlap_seconds=overlap)
        client = make_client()
        # The first sync of a table appends (nothing to merge with: the staging-and-merge step would
        # hold the whole table in memory). Keyset paging reads each record at most once, so no id
        # needs remembering; only the reconciliation sweep keeps the ids loaded this run.
        first_sync = cursor.last_value == INITIAL_CURSOR and not destination_has_rows(spec.resource)
        loaded: set[bytes] | None = set() if reconcile else None
        requeue = Requeue(state, spec.resource, run_id)
        guard = PoisonGuard("servicenow", spec.resource, run_id, requeue)
        deleted = known_deletion_times(spec.resource)  # withdrawn when the record loads again
        # Records quarantined without a sys_id can only be found again by time: read from the oldest.
        start = min(cursor.start_value, requeue.floor() or cursor.start_value)
        try:
            pages = client.read_concurrently(spec.table, f"{spec.cursor_field}>={start}",
                                             page_size=page_size, concurrency=concurrency, fields=list(spec.fields),
                                             per_record=True)
            for page in _batched(pages, max(page_size, VALIDATION_BATCH)):
                for item in guard.handle(page, lambda p: _checked(p, spec, cursor, run_id, loaded, requeue, deleted),
                                         _record_id):
                    yield dlt.mark.with_hints(item, APPEND) if first_sync and isinstance(item, pa.Table) else item
            as_of = client.server_time.strftime(VENDOR_TS_FORMAT) if client.server_time else None
            yield from _reread_quarantined(client, spec, cursor, run_id, loaded, requeue, deleted, guard)
            yield from run.audit.deletes(client, Due(spec, cursor.start_value, None, deleted))
            if reconcile:
                yield from _reconcile(client, spec, loaded, run_id, cursor, guard, deleted)
        finally:
            client.close()
        cursor.cap(as_of)
        cursor.commit()
        requeue.commit()
        state["stats"] = {"skipped_unchanged": cursor.skipped_unchanged, "run_id": run_id}

    return dlt.resource(run.table(rows), name=spec.resource, primary_key="sys_id", write_disposition="merge")


def _window_resource(spec: TableSpec, make_client, page_size: int, concurrency: int, run_id: str,
                     bounds: tuple[str, str], run: _Run) -> DltResource:
    """Re-read the records updated in [start, end) and merge them; no cursor, no reconciliation."""
    start, end = bounds

    def rows() -> Iterator[Any]:
        client = make_client()
        deleted = known_deletion_times(spec.resource)
        guard = PoisonGuard("servicenow", spec.resource, run_id)
        aside = SetAside("ServiceNow", spec.resource)
        try:
            query = f"{spec.cursor_field}>={start}^{spec.cursor_field}<{end}"
            pages = client.read_concurrently(spec.table, query, page_size=page_size, concurrency=concurrency,
                                             fields=list(spec.fields), per_record=True)
            for page in _batched(pages, max(page_size, VALIDATION_BATCH)):
                # what the instance failed to serve: no ledger reads it again, the window run fails at its end
                aside.add(*(r.get("sys_id") for r in page if isinstance(r, Unreadable)))
                yield from guard.handle(page, lambda p: _checked(p, spec, None, run_id, None, None, deleted),
                                        _record_id)
            yield from run.audit.deletes(client, Due(spec, start, end, deleted))
        finally:
            client.close()
        aside.check()  # pipelines.common.set_aside: the partition fails, naming them, and is retried

    return dlt.resource(run.table(rows), name=spec.resource, primary_key="sys_id", write_disposition="merge")


APPEND = dlt.mark.make_hints(write_disposition="append")


def _batched(pages: Iterator[list[dict]], size: int) -> Iterator[list[dict]]:
    """Join pages (small ones, the ends of sys_id ranges) up to ``size`` records: validating a
    page has a fixed cost per column, whatever its length."""
    batch: list[dict] = []
    for page in pages:
        if not batch and len(page) >= size:
            yield page
            continue
        batch.extend(page)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reread_quarantined(client: ServiceNowClient, spec: TableSpec, cursor: OverlapCursor, run_id: str,
                        loaded: set[bytes] | None, requeue: Requeue, deleted: dict[str, float],
                        guard: PoisonGuard) -> Iterator[Any]:
    """Read by sys_id the records quarantined by earlier runs and not loaded since (the re-read rule)."""
    due = [k for k in requeue.due() if k in requeue.pending and usable_id(k)]
    requeue.gone(k for k in requeue.due() if not usable_id(k))
    for chunk in id_chunks(due):  # the URL stays below what servers and proxies take
        found: set[str] = set()
        for page in client.read_concurrently(spec.table, "sys_idIN" + ",".join(chunk), page_size=200,
                                             concurrency=1, fields=list(spec.fields), per_record=True,
                                             requeued=True):
            found.update(reread_key(r.get("sys_id")) for r in page if isinstance(r, dict))
            yield from guard.handle(page, lambda p: _checked(p, spec, cursor, run_id, loaded, requeue, deleted),
                                    _record_id)
        requeue.gone(set(chunk) - found)  # deleted meanwhile: the delete audit marks it


def _record_id(record: Any) -> str | None:
    """A raw record's sys_id as the quarantine keeps it, if it has one."""
    sys_id = record.get("sys_id") if isinstance(record, dict) else None
    return sys_id if isinstance(sys_id, str) and sys_id else None


def _is_sys_id(value: Any) -> bool:
    return isinstance(value, str) and len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def reread_key(sys_id: Any) -> str | None:
    """The sys_id that reads a rejected record again: as sent when it is one, else its canonical form (a
    sys_id served upper-cased or padded with white space, which the schema rejects), else None (the record
    is re-read from its update time). The padded one had been kept as its key, which no ``sys_idIN``
    query can hold: it was dropped from the re-read queue and lost once served right."""
    if _is_sys_id(sys_id):
        return sys_id
    canonical = sys_id.strip().lower() if isinstance(sys_id, str) else None
    return canonical if _is_sys_id(canonical) else None


def _checked(page: list[dict], spec: TableSpec, cursor: OverlapCursor | None, run_id: str,
             loaded: set[bytes] | None, requeue: Requeue | None = None,
             deleted: dict[str, float] | None = None) -> Iterator[Any]:
    """Quarantine what fails validation; yield the rest as one Arrow table, less the row versions
    ``cursor`` has loaded before (all of them without a cursor) and the ids in ``loaded``.
    ``deleted``: ids with a recorded delete; one that loads again (re-created) has it withdrawn."""
    if not all(isinstance(r, dict) for r in page):  # a record that is not even a JSON object
        for record in page:
            if not isinstance(record, dict):
                yield quarantined(spec.resource, record, f"not a record: a JSON {json_type(record)} where "
                                  "the Table API sends an object", run_id)
        page = [r for r in page if isinstance(r, dict)]
    # A record with a recorded delete is never "unchanged": one restored as it was (Import XML of its export,
    # an undelete [unc]) keeps its update time and mod count, and skipping it left it marked deleted.
    back_again = (lambda sid: isinstance(sid, str) and sid in deleted) if deleted else (lambda sid: False)
    if cursor is not None:  # rows re-read in the overlap, unchanged: not worth validating again
        field = spec.cursor_field
        page = [r for r in page if back_again(r.get("sys_id"))
                or not cursor.unchanged(r.get("sys_id"), r.get(field), _version(r, field))]
    failed = [(r, r.reason) for r in page if isinstance(r, Unreadable)]  # the instance cannot serve them
    page = [r for r in page if not isinstance(r, Unreadable)] if failed else page
    check = validate_page(page, table_schema(spec.table), spec.fields)
    for record, reason in failed + check.rejected:
        sys_id = record.get("sys_id") if isinstance(record.get("sys_id"), str) else None
        if requeue is None:
            yield quarantined(spec.resource, record, reason, run_id, sys_id)
            continue
        stamp = record.get(spec.cursor_field)
        item = requeue.reject(record, reason, sys_id, stamp if is_stamp(stamp) else None, key=reread_key(sys_id))
        if item is not None:
            yield item
    frame = check.valid
    if loaded is not None and frame.height:
        keys = [bytes.fromhex(sid) for sid in frame["sys_id"].to_list()]  # 16 bytes, not a 32-char str
        frame = frame.filter(pl.Series([k not in loaded for k in keys]))
    if frame.height and cursor is not None:
        versions = (frame[spec.cursor_field] + "|" + frame["sys_mod_count"].fill_null("")).to_list()
        ids = frame["sys_id"].to_list()
        keep = cursor.admit_many(ids, frame[spec.cursor_field].to_list(), versions)
        frame = frame.filter(pl.Series([k or back_again(sid) for k, sid in zip(keep, ids, strict=True)]))
    if frame.height:
        if loaded is not None:
            loaded.update(bytes.fromhex(sid) for sid in frame["sys_id"].to_list())
        if requeue is not None:
            requeue.loaded(frame["sys_id"].to_list())
        back = [sid for sid in frame["sys_id"].to_list() if sid in deleted] if deleted else []
        if back:
            for sid in back:
                deleted.pop(sid)
            yield withdrawn_rows(spec.resource, back, run_id=run_id)
        yield _with_required_id(frame.to_arrow())


def _version(record: dict, cursor_field: str) -> str | None:
    """A raw record's version as :func:`_checked` records it: ``<cursor value>|sys_mod_count``."""
    ts, count = record.get(cursor_field), record.get("sys_mod_count")
    if not isinstance(ts, str) or not isinstance(count, str | None):
        return None
    return f"{ts}|{count or ''}"


def _with_required_id(table):
    """Mark sys_id non-nullable in the Arrow schema, as the resource's primary key already is."""
    i = table.schema.get_field_index("sys_id")
    return table.cast(table.schema.set(i, table.schema.field(i).with_nullable(False)))


def _reconcile(client: ServiceNowClient, spec: TableSpec, loaded: set[bytes], run_id: str,
               cursor: OverlapCursor, guard: PoisonGuard, deleted: dict[str, float]) -> Iterator[Any]:
    """Id sweep: mark warehouse ids the vendor lost as deleted; fetch vendor ids the warehouse lacks or
    holds marked deleted (restored with their old update time, which no cursor reads again)."""
    vendor: set[str] = set()
    for page in client.read_concurrently(spec.table, "", page_size=10_000, concurrency=2,
                                         fields=["sys_id"]):
        # Ids only: a row without a usable one cannot be compared (the table read quarantines it).
        vendor.update(r["sys_id"] for r in page if isinstance(r, dict) and _is_sys_id(r.get("sys_id")))
    stored = destination_ids(spec.resource, "sys_id")
    gone = stored - vendor
    item = deletion_rows(spec.resource, sorted(gone), detected_by="reconciliation", run_id=run_id)
    if item is not None:
        yield item
    missing = sorted(sid for sid in (vendor - stored) | (vendor & set(deleted)) if bytes.fromhex(sid) not in loaded)
    for start in range(0, len(missing), 200):
        chunk = ",".join(missing[start:start + 200])
        for page in client.read_concurrently(spec.table, f"sys_idIN{chunk}", page_size=200,
                                             concurrency=1, fields=list(spec.fields)):
            yield from guard.handle(page, lambda p: _checked(p, spec, cursor, run_id, loaded, None, deleted),
                                    _record_id)
