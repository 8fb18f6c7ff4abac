"""dlt source for OneTrust GRC (spec §2.3): PIAs and other assessments, the risk register, the vendor
inventory and vendor assessments, into the ``onetrust`` dataset.

Tables (merge keys are OneTrust's own stable UUIDs, the "external ids" the spec dedupes on, stored lower-cased:
UUIDs are case-insensitive, see :func:`pipelines.onetrust.rows.uuid_key`):

- ``assessments`` (``assessment_id`` = ``assessmentId``): one row per assessment, list view plus its
  ``/export`` detail (risk level, owner, approver, respondents, completion); child table
  ``assessments__responses``: one row per answer, replaced whenever its assessment changes.
- ``vendor_assessments`` (``assessment_id``): assessments of template type VENDOR, keyed to the
  vendor they assess (``vendor_id`` = the inventory record id).
- ``risks`` (``risk_id`` = ``id``): one row per risk-register entry.
- ``vendors`` (``vendor_id`` = inventory ``id``): one row per third party.
- ``deletions`` / ``quarantine``: see :mod:`pipelines.common.deletions` / :mod:`~.quarantine`.

Incremental: assessments are listed in the documented ``createdDate,desc`` and read whole (up to 2,000 a
request; exports only for the changed ones); vendors are asked for newest change first and read until the
cursor only while OneTrust proves it served that order (:class:`~pipelines.onetrust.sync.ChangeOrder`),
else whole; risks are filtered on ``lastModifiedUTCDateTime``. With ``reconcile`` on (the default) every listing is read
whole instead: records the warehouse lacks are (re)loaded, and deletes of vendors and risks are found
(vendors flagged ``markForDelete`` = ``feed``; ids gone missing = ``reconciliation``). Deleted
assessments always come from OneTrust's deleted-assessment log (``feed``). See
:mod:`pipelines.onetrust.sync`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import dlt
from dlt.sources import DltResource

from pipelines.common.config import ExplicitArguments
from pipelines.common.cursor import OverlapCursor, parse_vendor_ts
from pipelines.common.deletions import deletion_rows, destination_ids, known_deletion_times
from pipelines.common.http import RetryPolicy
from pipelines.common.pages import is_lenient, text_problem
from pipelines.common.poison import PoisonGuard
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import Requeue
from pipelines.common.set_aside import SetAside
from pipelines.onetrust import rows as R
from pipelines.onetrust import settings as S
from pipelines.onetrust import unreadable
from pipelines.onetrust.copies import Shadowed, stored_instants
from pipelines.onetrust.helpers import OneTrustClient, Page, make_auth, resolve_base_url
from pipelines.onetrust.reread import reread_by_id
from pipelines.onetrust.shapes import ASSESSMENT_ITEM, EXPORT, RECORDS, shape_problem
from pipelines.onetrust.shared import DeleteLogShare, ExportShare
from pipelines.onetrust.sync import (
    ChangeOrder,
    ScanOutcome,
    changed_records,
    finish,
    normalise,
    reconcile,
    utc_text,
)

REREAD_TURN = "reread_after"  # resource state: the last due key read by id (the next run's turn starts after it)
Lister = Callable[[OneTrustClient, OverlapCursor], Iterator[Page]]
# Records -> (rows to load, [(what the vendor sent, reason, its id)] for records a later read or the
# column types showed unstorable)
Mapper = Callable[[OneTrustClient, list[dict[str, Any]]], tuple[list[dict[str, Any]], list[tuple[Any, str, str]]]]


@dlt.source(name="onetrust", max_table_nesting=0, spec=ExplicitArguments)
def onetrust_source(
    base_url: str | None = None,
    region: str = S.DEFAULT_REGION,
    api_token: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    timeout_seconds: float = S.DEFAULT_TIMEOUT_SECONDS,
    entities: Sequence[str] = tuple(S.ENTITIES),
    reconcile: bool = True,
    overlap_seconds: int = S.DEFAULT_OVERLAP_SECONDS,
    vendor_page_size: int = S.VENDOR_PAGE_CAP,
    detail_workers: int = S.DEFAULT_DETAIL_WORKERS,
    verify: bool | str = True,
    run_id: str | None = None,
    policy: RetryPolicy | None = None,
    window: tuple[datetime, datetime] | None = None,
) -> list[DltResource]:
    """OneTrust into the ``onetrust`` dataset, incrementally, merged on OneTrust's ids.

    Auth: ``api_token`` (static bearer key) when given, else OAuth client credentials. Host:
    ``base_url`` or the ``region``'s host. ``reconcile`` reads every listing whole to repair gaps and
    find deletes (cheap for assessments and risks, N/50 requests for vendors): leave it on for the
    nightly run; frequent runs may turn it off and read changes only.

    ``window`` = (start, end), end exclusive: re-read only records last modified in that window (an
    operator's rerun of one time partition). The cursor is neither used nor advanced, rows merge on
    their ids, no reconciliation runs; deleted assessments logged in the window are marked.
    """
    unknown = sorted(set(entities) - set(S.ENTITIES))
    if unknown:
        raise ValueError(f"Unknown OneTrust entities {unknown}; choose from {sorted(S.ENTITIES)}")
    url = resolve_base_url(region, base_url)
    if not api_token and not (client_id and client_secret):
        raise ValueError("OneTrust credentials are not configured: set ONETRUST_API_TOKEN, or "
                         f"ONETRUST_CLIENT_ID and ONETRUST_CLIENT_SECRET (or {S.VAULT_HINT})")
    run_id = run_id or uuid.uuid4().hex
    bounds = window_bounds(window)
    full = reconcile and bounds is None
    dlt.current.source_schema().remove_type_detection("iso_timestamp")
    vendor_size = max(1, min(vendor_page_size, S.VENDOR_PAGE_CAP))

    # One token for all resources of the run (renewed near expiry or on a 401 as before), not one each.
    auth = make_auth(url, api_token=api_token, client_id=client_id, client_secret=client_secret,
                     timeout_seconds=timeout_seconds, verify=verify, policy=policy)

    def make_client() -> OneTrustClient:
        return OneTrustClient(url, timeout_seconds=timeout_seconds, verify=verify, policy=policy,
                              detail_workers=detail_workers, auth=auth)

    def assessments(template_type: str | None) -> Lister:
        # The documented sort, every pass: no last-modified sort is documented, and a whole list is cheap.
        params = {"sort": S.CREATION_SORT, "assessmentArchivalState": "ALL"}
        if template_type:
            params["templateTypes"] = template_type
        return lambda c, _: c.pages("GET", S.ASSESSMENTS_PATH, page_size=S.ASSESSMENT_PAGE_SIZE, params=params,
                                    past_full_last=full, per_record=True)

    def risks(client: OneTrustClient, cursor: OverlapCursor) -> Iterator[Page]:
        body: dict[str, Any] = {"filters": {}, "fullTextSearch": ""}
        if not full:  # changes only; a full pass is needed to see deletes
            since = utc_text(cursor.start_datetime, "T", ".000Z")
            body["predicates"] = [{"field": S.RISKS.ts_field, "operator": "GREATER_THAN_EQUAL_TO", "value": since}]
        return client.pages("POST", S.RISKS_PATH, page_size=S.RISK_PAGE_SIZE, params={"sort": S.CREATION_SORT},
                            json=body, past_full_last=full, per_record=True)

    def vendors(client: OneTrustClient, _: OverlapCursor) -> Iterator[Page]:
        params = {"sort": S.CREATION_SORT if full else S.VENDOR_CHANGE_SORT,
                  "markForDelete": str(full).lower()}
        return client.pages("GET", S.VENDORS_PATH, page_size=vendor_size, params=params, past_full_last=full,
                            per_record=True)

    # Both assessment resources export the VENDOR assessments: the first to read one keeps it for the other.
    wants = {"assessments": lambda _: True,
             "vendor_assessments": lambda export: export.get("templateType") == S.VENDOR_TEMPLATE_TYPE}
    share = ExportShare({r: w for r, w in wants.items() if r in entities}) \
        if len(set(wants) & set(entities)) > 1 else None
    # ... and both mark deletes from the deleted-assessment log, read whole: once for both.
    delete_log = DeleteLogShare(set(wants) & set(entities)) if share is not None else None

    def detailed(resource: str, row: Callable[[dict, dict], dict]) -> Mapper:
        def build(client: OneTrustClient, items: list[dict[str, Any]]):
            key = {i["assessmentId"]: (R.uuid_key(i["assessmentId"]), i["lastUpdated"]) for i in items}
            details: dict[str, Any] = {}
            if share is not None:
                details = {rid: d for rid, k in key.items() if (d := share.take(resource, k)) is not None}
            failures: dict[str, str] = {}  # an export failing on every attempt: that assessment quarantined
            read = client.exports([i["assessmentId"] for i in items if i["assessmentId"] not in details], failures)
            if share is not None:
                share.offer(resource, ((key[rid], d) for rid, d in read.items()))
            details.update(read)
            rows, rejected = [], []
            for i in items:
                detail = details.get(i["assessmentId"])
                if i["assessmentId"] in failures:  # read again by id next run (the re-read ledger)
                    rejected.append(({"assessment": i}, failures[i["assessmentId"]], R.uuid_key(i["assessmentId"])))
                    continue
                if detail is None:  # deleted since it was listed (404): the delete log marks it
                    continue
                # The list entry was checked; its export, read after it, may hold what no warehouse stores.
                problem = text_problem(detail) if is_lenient(detail) else None
                sent = {"assessment": i, "export": detail}
                if problem:
                    rejected.append((sent, f"invalid text: export: {problem}", R.uuid_key(i["assessmentId"])))
                    continue
                # A part of the wrong shape would crash the row builder (or be stored as NULL): quarantine it.
                problem = shape_problem(i, ASSESSMENT_ITEM) or shape_problem(detail, EXPORT, "export")
                if problem:
                    rejected.append((sent, problem, R.uuid_key(i["assessmentId"])))
                    continue
                built = row(i, detail)
                problem = R.type_problem(built)
                if problem:
                    rejected.append((sent, problem, built["assessment_id"]))
                else:
                    rows.append(built)
            return rows, rejected
        return build

    def plain(id_field: str, row: Callable[[dict], dict], shape: dict[str, Any]) -> Mapper:
        def build(_: OneTrustClient, items: list[dict[str, Any]]):
            rows, rejected = [], []
            for i in items:
                problem = shape_problem(i, shape)
                if problem:
                    rejected.append((i, problem, R.uuid_key(i[id_field])))
                    continue
                built = row(i)
                problem = R.type_problem(built)
                if problem:
                    rejected.append((i, problem, R.uuid_key(i[id_field])))
                else:
                    rows.append(built)
            return rows, rejected
        return build

    # (entity, lister, mapper, newest-change-first sort a delta asks for (None: read whole), delete signal)
    specs = {
        "assessments": (S.ASSESSMENTS, assessments(None), detailed("assessments", R.assessment_row), None, "log"),
        "vendor_assessments": (S.VENDOR_ASSESSMENTS, assessments(S.VENDOR_TEMPLATE_TYPE),
                               detailed("vendor_assessments", R.vendor_assessment_row), None, "log"),
        # risks are filtered server-side but listed in creation order: never stop early (and if the
        # filter is ignored, pitfall 6 in vendor-apis §3.10, the cursor still filters client-side)
        "risks": (S.RISKS, risks, plain(S.RISKS.id_field, R.risk_row, RECORDS["risks"]), None, "sweep"),
        "vendors": (S.VENDORS, vendors, plain(S.VENDORS.id_field, R.vendor_row, RECORDS["vendors"]),
                    S.VENDOR_CHANGE_SORT, "sweep"),
    }
    common = dict(make_client=make_client, overlap=overlap_seconds, run_id=run_id, full=full, window=bounds,
                  share=share, delete_log=delete_log)
    # a delta of risks lists changes only (filtered on the server): not listed there proves nothing
    return [_entity_resource(*specs[e], **common, filtered=not full and e == "risks") for e in entities]


def _entity_resource(spec: S.EntitySpec, lister: Lister, mapper: Mapper, change_sort: str | None, deletes: str, *,
                     make_client: Callable[[], OneTrustClient], overlap: int, run_id: str,
                     full: bool, window: tuple[str, str] | None, share: ExportShare | None = None,
                     delete_log: DeleteLogShare | None = None, filtered: bool = False) -> DltResource:
    """``full``: read the whole listing (repair + delete reconciliation); else changes only, stopping at
    the cursor if the lister asked for ``change_sort`` and OneTrust proves it served it.
    ``window`` (start, end) in cursor format: only records modified in it, with a throwaway cursor.
    ``share`` / ``delete_log``: exports and the delete log this run's other assessment resource read too
    (see :mod:`pipelines.onetrust.shared`). ``filtered``: the listing holds changes only (a risk delta), so a due
    key it lacks is not gone, and due keys beyond the read-by-id limit are read by id in turn, run after run."""
    def rows() -> Iterator[Any]:
        # In window mode the cursor lives in a scratch dict: dlt's resource state stays untouched.
        state = dlt.current.resource_state() if window is None else {}
        cursor = OverlapCursor(state, initial_value=window[0] if window else S.INITIAL_CURSOR,
                               overlap_seconds=0 if window else overlap)
        outcome = ScanOutcome()
        held = destination_ids(spec.resource, spec.primary_key) if full else None
        stored = stored_instants(spec.resource, spec.primary_key) if full else None
        requeue = Requeue(state, spec.resource, run_id) if window is None else None
        deleted = set(known_deletion_times(spec.resource))  # a record listed again has its delete withdrawn
        client = make_client()
        if requeue is not None:  # their exports failing again is those records: never the "tenant down" rule
            client.exports_requeued = {str(k).lower() for k in requeue.due()}
        guard = PoisonGuard("onetrust", spec.resource, run_id, requeue)
        aside = SetAside("OneTrust", spec.resource)
        shadowed = Shadowed(state, spec.resource, run_id)

        def skipped(rid: str | None) -> None:  # held or quarantined for killing the sync: not loaded
            if rid:
                cursor.forget(rid)
                outcome.loaded_ids.discard(rid)

        def built(items: list[dict[str, Any]]) -> Iterator[Any]:
            loadable, rejected = mapper(client, items)
            for sent, reason, rid in rejected:
                if window and reason.startswith(unreadable.EXPORT_FAILED):
                    aside.add(rid)  # no ledger in a window run: it fails at its end (pipelines.common.set_aside)
                cursor.forget(rid)  # not loaded: the next run must read it again
                outcome.loaded_ids.discard(rid)
                bad = (quarantined(spec.resource, sent, reason, run_id, rid) if requeue is None
                       else requeue.reject(sent, reason, rid))
                if bad is not None:
                    yield bad
            if loadable:
                yield R.newest_wins(spec.resource, loadable)

        if share is not None:
            share.begin(spec.resource)
        try:
            # a delta reads the quarantined keys due by id (bounded), not the whole listing for them
            reread = None
            if requeue is not None and not full:
                reread = reread_by_id(client, spec, requeue.due(), after=state.get(REREAD_TURN), partial=filtered)
                if reread.last is not None:
                    state[REREAD_TURN] = reread.last
            pages = lister(client, cursor)
            order = ChangeOrder(spec, change_sort) if change_sort and not full else None
            for item in changed_records(spec, pages, cursor, run_id, outcome, order=order, held=held,
                                        requeue=requeue, deleted=deleted, shadowed=shadowed, reread=reread,
                                        stored=stored):
                if window and isinstance(item, list):
                    item = [r for r in item if normalise(r[spec.ts_field]) < window[1]]
                    if not item:
                        continue
                if not isinstance(item, list):
                    yield item
                    continue
                # Rows are built under the crash ledger (pipelines.common.poison): a record the process
                # dies on, run after run, is quarantined and held instead of killing every run.
                yield from guard.handle(item, built, lambda r: _record_id(spec, r), skipped)
            if deletes == "log":
                yield from _logged_deletes(spec, client, state, overlap, outcome, run_id, window, delete_log)
            elif held is not None:
                path = S.RECORD_PATHS.get(spec.resource)
                exists = (lambda rid: client.exists(path.format(id=rid))) if path else None
                yield from reconcile(spec, outcome, held, run_id, exists)
        finally:
            if share is not None:
                share.finish(spec.resource)
            client.close()
        if requeue is not None:
            # a due key a whole, stable, unfiltered listing lacks was deleted (a 404 by id alone proves nothing)
            if outcome.complete and outcome.stable and not filtered:
                requeue.gone(k for k in requeue.due() if k not in outcome.listed_ids)
            requeue.commit()
        shadowed.commit(state)
        if window is None:
            finish(spec, cursor, outcome, state, run_id)
        else:  # what OneTrust failed to serve: no ledger reads it again, the partition must fail and be retried
            aside.add(*outcome.set_aside)
            aside.check()

    nesting: dict[str, Any] = {}
    if spec.resource == "assessments":  # answers become the child table assessments__responses
        nesting = {"max_table_nesting": 1,
                   "nested_hints": {"responses": dlt.mark.make_nested_hints(
                       columns=[{"name": "justification", "data_type": "text"}])}}
    return dlt.resource(rows, name=spec.resource, primary_key=spec.primary_key, write_disposition="merge",
                        columns=R.COLUMN_HINTS[spec.resource], **nesting)


def _logged_deletes(spec: S.EntitySpec, client: OneTrustClient, state: dict, overlap: int,
                    outcome: ScanOutcome, run_id: str, window: tuple[str, str] | None = None,
                    delete_log: DeleteLogShare | None = None) -> Iterator[Any]:
    """Deletion rows from OneTrust's deleted-assessment audit log (``feed``), read with its own cursor.

    ``vendor_assessments`` marks only the logged ids it holds (or loaded in this run): the log does not
    say which template an assessment had. ``delete_log``: the run's one read of the log, when both resources
    mark from it.
    """
    cursor = OverlapCursor(state.setdefault("delete_log", {}), initial_value=window[0] if window else
                           S.INITIAL_CURSOR, overlap_seconds=0 if window else overlap)
    # Stamps are ``YYYY-MM-DD HH:MM:SS``: "~" sorts after every one of them (year 9999 included).
    start, end, found = utc_text(cursor.start_datetime), window[1] if window else "~", []

    def entries() -> Iterator[tuple[str, str, str]]:
        """(assessment id, normalised stamp, raw stamp) of every usable entry of the log."""
        # The log's order is not documented, so it is read whole (a small audit log, 500 entries a page).
        for page in client.pages("GET", S.ASSESSMENT_DELETE_LOG_PATH, page_size=S.DELETE_LOG_PAGE_SIZE):
            for entry in page.items:
                rid = R.uuid_key(entry.get("assessmentId")) if isinstance(entry, dict) else None
                raw = entry.get("deletedDT") if isinstance(entry, dict) else None
                stamp = normalise(raw)
                if isinstance(rid, str) and rid and not text_problem(rid) and stamp is not None:
                    yield rid, stamp, raw
    for rid, stamp, raw in (entries() if delete_log is None else delete_log.entries(spec.resource, entries)):
        if start <= stamp < end and cursor.admit(rid, stamp, f"{stamp}|{raw}"):
            found.append((rid, stamp))
    if spec.resource != "assessments" and found:
        held = destination_ids(spec.resource, spec.primary_key) | outcome.loaded_ids
        found = [(rid, stamp) for rid, stamp in found if rid in held]
    if found:  # a delete already recorded at this very time is not re-sent (it could undo a restore)
        known = known_deletion_times(spec.resource)
        fresh = [(rid, stamp, parse_vendor_ts(stamp).replace(tzinfo=UTC)) for rid, stamp in found]
        fresh = [(rid, stamp, when) for rid, stamp, when in fresh if known.get(rid) != when.timestamp()]
        # A logged delete of an assessment that exists again (restored, or re-created with its id, maybe in
        # the same second, which no time comparison can order) is over: asked for by id, once, when it
        # was seen alive (listed this run, or stored) — never for the log's whole history.
        seen = outcome.listed_ids | (destination_ids(spec.resource, spec.primary_key) if fresh else set())
        by_time: dict[datetime, list[str]] = {}
        for rid, _, when in fresh:
            if rid in seen and client.exists(S.ASSESSMENT_EXPORT_PATH.format(id=rid)):
                continue
            by_time.setdefault(when, []).append(rid)
        for when, ids in by_time.items():
            yield deletion_rows(spec.resource, ids, detected_by="feed", run_id=run_id, deleted_at=when)
    cursor.commit()


def _record_id(spec: S.EntitySpec, record: Any) -> str | None:
    """A raw record's id as its quarantine row keeps it, if it has one."""
    rid = R.uuid_key(record.get(spec.id_field)) if isinstance(record, dict) else None
    return rid if isinstance(rid, str) and rid else None


def window_bounds(window: tuple[datetime, datetime] | None) -> tuple[str, str] | None:
    """(start, end) datetimes -> cursor-format UTC strings; a clear error if the window is unusable."""
    if window is None:
        return None
    start, end = window
    if start.tzinfo is None or end.tzinfo is None or not start < end:
        raise ValueError(f"window must be two timezone-aware datetimes, start before end (got {window!r})")
    return normalise(start.isoformat()), normalise(end.isoformat())
