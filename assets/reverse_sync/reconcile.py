"""Nightly reverse-sync reconciliation: every vendor record we created is re-read and kept ours.

The policy, per vendor (what happens to a linked record changed or deleted outside the integration):

| vendor | deleted at the vendor, still wanted | changed outside | ours (correlation id) but unlinked |
|---|---|---|---|
| servicenow | re-linked to a record carrying our id, else recreated | our fields written back | adopted, else closed |
| jira, onetrust | reported (a finding, then a task for the connector's owner) | reported | reported |

"Our fields": short description, description, due date, compared as ServiceNow stores what we sent
(:func:`assets.reverse_sync.readback.sn_field_shows`). A second record for an id already linked is
closed as a duplicate. A deleted record whose task is no longer wanted (its link closed) is only
noted: nothing to redo. An orphan close a business rule set back or refused is reported, not counted closed
(:func:`assets.reverse_sync.sn_reverted.orphan_fix`), and tried again the next night.
Idempotent: a rerun finds every link pointing at a live record of ours and writes nothing.
Reads ``reverse_sync.external_links`` (the engine's link table) and writes it only to re-point a
link; vendor writes go through the engine's writer (:class:`ServiceNowTaskWriter`).
"""

import hashlib
import json
import logging
import threading
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from assets.reconciliation.findings import Finding, record
from assets.reverse_sync import readback, state, unsettled
from assets.reverse_sync.engine import DONE, OPEN, SCHEMA, ensure_tables, payload_hash
from assets.reverse_sync.reconcile_lock import LOCK_WAIT_SECONDS, _heartbeat, _take_push_lock  # noqa: F401
from assets.reverse_sync.servicenow import OUTBOUND, VENDOR_CLOSED_STATES, ServiceNowTaskWriter, remediation_table
from assets.reverse_sync.sn_reverted import (
    GONE,
    ORPHAN_REVERTED,
    REVERTED,
    UPDATE_REVERTED,
    close_orphan,
    orphan_fix,
)
from pipelines.common.http import RETRYABLE_STATUSES, VendorError
from resources.audit import new_correlation_id, record_event
from resources.scale_out import pool
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource

KEY = AssetKey(["reverse_sync", "reconciliation"])
COMPARED = ("short_description", "description", "due_date")
POLICY = {"servicenow": "heal", "jira": "report", "onetrust": "report"}
CHUNK = 100
log = logging.getLogger(__name__)


@dataclass
class ReconcileReport:
    checked: int = 0
    recreated: list[str] = field(default_factory=list)
    relinked: list[str] = field(default_factory=list)
    rewritten: list[str] = field(default_factory=list)
    adopted: list[str] = field(default_factory=list)
    closed_orphans: list[str] = field(default_factory=list)
    gone_closed: list[str] = field(default_factory=list)
    reverted_orphans: list[str] = field(default_factory=list)  # sys_ids: orphan closes set back or refused
    reported: dict[str, list[str]] = field(default_factory=dict)
    fixes: dict[str, str] = field(default_factory=dict)  # per finding kind left unhealed: the records and the fix

    def counts(self) -> dict[str, int]:
        return {k: (v if isinstance(v, int) else len(v) if isinstance(v, list) else sum(map(len, v.values())))
                for k, v in self.__dict__.items() if k != "fixes"}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _same(a: Any, b: Any) -> bool:
    return str(a or "") == str(b or "")


class ServiceNowLinks:
    """Reconciles the ServiceNow links (see the module's policy table)."""

    def __init__(self, conn, writer: ServiceNowTaskWriter, wanted: dict[str, dict[str, Any]], run_id: str):
        self.conn, self.writer, self.wanted, self.run_id = conn, writer, wanted, run_id
        self._held: set[str] | None = None  # records the push holds for a business rule's revert (read once)
        self._reverted_named: list[str] = []  # orphans whose close did not stick, as the finding names them
        self.correlation = new_correlation_id()
        self.report = ReconcileReport()
        self.lock_lost: str | None = None  # set by the lock's heartbeat when the lock is no longer ours

    def _still_ours(self) -> None:
        """Before each write: a reconciliation whose push lock was taken over (its heartbeat missed, or the row
        was deleted) stops here, so it never adopts or closes a record beside the push that now holds it."""
        if self.lock_lost:
            raise state.LockLost(f"the nightly reconciliation stopped: {self.lock_lost}. What it wrote so far is "
                                 "linked and audited; run it again once no push is running")

    def _audit(self, operation: str, object_id: str, detail: dict | None = None, status: str = "ok") -> None:
        record_event(self.conn, action="reconciliation", system="servicenow", correlation_id=self.correlation,
                     operation=operation, object_id=object_id, status=status, run_id=self.run_id, detail=detail)

    def _records(self, sys_ids: list[str]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        fields = ["sys_id", "number", "correlation_id", "correlation_display", "state", *COMPARED]
        for start in range(0, len(sys_ids), CHUNK):
            query = "sys_idIN" + ",".join(sys_ids[start:start + CHUNK])
            for page in self.writer.client.read_concurrently(self.writer.vendor_object, query, page_size=CHUNK,
                                                             concurrency=1, fields=fields):
                out.update({r["sys_id"]: r for r in page})
        return out

    def _point(self, internal_id: str, record: dict[str, Any], digest: str, forms: dict[str, list[str]]) -> None:
        vendor_id, number = self.writer.identity(record)
        self.conn.execute(
            f"update {SCHEMA}.external_links set vendor_id = %s, vendor_number = %s, payload_hash = %s, "
            "status = 'open', updated_at = %s, vendor_forms = %s where vendor = 'servicenow' and internal_id = %s",
            (vendor_id, number, digest, _now(), json.dumps(forms, sort_keys=True), internal_id))
        self.conn.raw.commit()

    def _link(self, internal_id: str, record: dict[str, Any], payload: dict[str, Any]) -> None:
        """Link ``internal_id`` to ``record`` (re-linked or recreated) as the engine links a record it wrote: its
        hash, synced fields and Project X's values, status open, so the next push finds it up to date and sends
        nothing (a reopen planned from a closed link's fields would be sent to the new record otherwise)."""
        vendor_id, number = self.writer.identity(record)
        held = DONE if str(record.get("state")) in VENDOR_CLOSED_STATES else OPEN
        state.save_link(self.conn, "servicenow", self.writer.vendor_object, internal_id, vendor_id, number,
                        payload_hash({**payload, "status": OPEN}), OPEN, {**payload, "status": held}, None,
                        self.run_id, existing=True, sent={**payload, "status": OPEN})
        self.conn.execute(f"update {SCHEMA}.external_links set vendor_forms = %s where vendor = 'servicenow' "
                          "and internal_id = %s", (json.dumps(_forms(payload, record), sort_keys=True), internal_id))
        self.conn.raw.commit()

    def run(self) -> ReconcileReport:
        """Under the ServiceNow push lock (``reverse_sync.run_locks``), as a push: the reconciliation writes the same
        records and links, so beside a push it would adopt or close a record the push created and has not linked
        yet. A running push is waited for up to ``LOCK_WAIT_SECONDS``, then PushAlreadyRunning (nothing written)."""
        owner = _take_push_lock(self.conn, self.run_id)
        stop, beat = threading.Event(), None
        try:
            beat = threading.Thread(target=_heartbeat, args=(self, self.conn.another(), owner, stop), daemon=True,
                                    name="reconcile-lock-servicenow")
            beat.start()
            return self._run()
        except BaseException:
            with suppress(Exception):  # the unit the error interrupted is dropped, not committed with the release
                self.conn.raw.rollback()
            raise
        finally:
            stop.set()
            if beat is not None:
                beat.join()
            state.release_run_lock(self.conn, "servicenow", owner)

    def _links(self) -> dict[str, dict[str, Any]]:
        return {r["internal_id"]: r for r in self.conn.query(
            f"select * from {SCHEMA}.external_links where vendor = 'servicenow' order by internal_id")}

    def _run(self) -> ReconcileReport:
        links = self._links()
        live = self._records(sorted({link["vendor_id"] for link in links.values()}))
        self.report.checked = len(links)
        for internal_id, link in links.items():
            self._still_ours()
            record = live.get(link["vendor_id"])
            if record is not None and _same(record.get("correlation_id"), internal_id):
                self._keep_ours(internal_id, link, record)
            elif record is not None and internal_id in self.wanted:
                self._restore_id(internal_id, link)
            else:
                self._gone(internal_id, link)
        # Read again: a record re-linked or recreated above is linked now, not an orphan to close (the links read
        # before still named the deleted record, so each record recreated was closed as an orphan the same night:
        # state 3, Closed Complete, which the ingestion reads as the task remediated).
        self._orphans(self._links())
        return self.report

    def _keep_ours(self, internal_id: str, link: dict, record: dict[str, Any]) -> None:
        row = self.wanted.get(internal_id)
        if row is None or link["status"] != "open":
            return
        if internal_id in self._reverted():  # the push holds it (a business rule set our write back): its write
            return  # waits for the hold, and the set-back value must not be taken for the instance's form of ours
        payload = self.writer.payload(row)
        # As ServiceNow stores them (text trimmed, a date column's date, a cut at the column's length): a value
        # the instance rewrote on the way in is ours, not a change to write back every night. So is the value the
        # instance made of this very value of ours the last time we wrote it (a business rule that rewrites the
        # field on every write, ``vendor_forms``): rewriting it was answered with the same value every night.
        forms = _loads(link.get("vendor_forms"))
        if all(readback.sn_field_shows(f, record.get(f), payload.get(f), VENDOR_CLOSED_STATES)
               or forms.get(f) == _form(payload.get(f), record.get(f)) for f in COMPARED):
            return
        saved = self.writer.update(link["vendor_id"], payload)
        self._point(internal_id, record, payload_hash(payload), _forms(payload, saved))
        self._audit("rewrite", internal_id, {"vendor_id": link["vendor_id"]})
        self.report.rewritten.append(internal_id)

    def _reverted(self) -> set[str]:
        """Records whose last push was set back by a business rule (``close_reverted`` / ``update_reverted`` dead
        letters): held by the push, left alone here."""
        if self._held is None:
            self._held = {i for i, d in state.dead_letters(self.conn, "servicenow").items()
                          if any(k in str(d.get("error") or "") for k in (REVERTED, UPDATE_REVERTED))}
        return self._held

    def _restore_id(self, internal_id: str, link: dict) -> None:
        """Our linked record is still there but someone changed its ``correlation_id``: our id is written back onto
        it (nothing else: its state stays the vendor's). Taking it for gone made a second record, and this one,
        no longer carrying our id, stayed open for good where no sweep would find it."""
        self.writer.update(link["vendor_id"], {"correlation_id": internal_id, "correlation_display": "Project X"})
        self._audit("restore_id", internal_id, {"vendor_id": link["vendor_id"]})
        self.report.rewritten.append(internal_id)

    def _gone(self, internal_id: str, link: dict) -> None:
        """A linked record not in the table any more (deleted, or moved to another table: an archive rule's
        ``ar_`` table, a reclassification). Still wanted: re-linked or recreated, whatever the link's status, as a
        task the mart wants again after its record was closed (its link closed) and then deleted or archived at
        ServiceNow has nothing left to reopen; before, only open links were healed, so every push sent the reopen
        to the old sys_id and dead-lettered its 404 for ever. Not wanted: only noted."""
        row = self.wanted.get(internal_id)
        if row is None:
            self.conn.execute(f"update {SCHEMA}.external_links set status = 'vendor_deleted', updated_at = %s "
                              "where vendor = 'servicenow' and internal_id = %s", (_now(), internal_id))
            self.conn.raw.commit()
            self.report.gone_closed.append(internal_id)
            return
        payload = self.writer.payload(row)
        existing = self.writer.find_existing(internal_id)
        # someone (or a lost run) made another record with our id: point at it, unless it is closed (a duplicate
        # the orphan sweep closed as Closed Complete: linked, it would read as the task remediated): recreate then
        if existing is not None and str(existing.get("state")) not in VENDOR_CLOSED_STATES:
            saved = self.writer.update(existing["sys_id"], payload)
            self._link(internal_id, {**existing, **(saved if isinstance(saved, dict) else {})}, payload)
            self._audit("relink", internal_id, {"vendor_id": existing["sys_id"]})
            self.report.relinked.append(internal_id)
            return
        created = self._create_once(internal_id, payload)
        self._link(internal_id, created, payload)  # the link follows the write at once
        self._audit("recreate", internal_id, {"vendor_id": created["sys_id"], "was": link["vendor_id"]})
        self.report.recreated.append(internal_id)

    def _create_once(self, internal_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The record recreated for ``internal_id``, its create sent once: ServiceNow may carry a POST out and lose
        its answer (a 5xx, no answer, a body without the record), and the HTTP client's own retry of a 5xx made a
        second record each time. After such an answer the record is looked up by our id (a consistent Table API
        read) and taken when there; else VendorError, and the next reconciliation (or its look-up) tries again."""
        try:
            response = self.writer.client.session.request(
                "POST", self.writer.path, json=payload, headers={"Content-Type": "application/json"},
                attempts_allowed=1)
            record = response.json().get("result")
            if isinstance(record, dict) and record.get("sys_id"):
                return record
            why = f"{response.status_code} without the new record"
        except VendorError as exc:
            if exc.status is not None and exc.status not in RETRYABLE_STATUSES:
                raise  # refused: nothing was made
            why = str(exc.status or "no answer")
        except (ValueError, AttributeError):
            why = "an answer that is not the Table API's JSON"
        found = self.writer.find_existing(internal_id)
        if found is not None:
            return found
        raise VendorError(f"servicenow: recreating the remediation record of {internal_id} answered {why} and no "
                          f"record with correlation_id {internal_id} is there: the next reconciliation looks again "
                          "and recreates it if still absent", None)

    def _orphans(self, links: dict[str, dict]) -> None:
        linked = {link["vendor_id"] for link in links.values()}
        fields = ["sys_id", "number", "correlation_id", "state"]
        query = "correlation_display=Project X^correlation_idISNOTEMPTY"
        for page in self.writer.client.read_concurrently(self.writer.vendor_object, query, page_size=500,
                                                         concurrency=1, fields=fields):
            for rec in page:
                sys_id, internal_id = rec["sys_id"], str(rec.get("correlation_id") or "")
                if sys_id in linked:
                    continue
                self._still_ours()
                if internal_id in self.wanted and internal_id not in links:
                    payload = self.writer.payload(self.wanted[internal_id])
                    self.writer.update(sys_id, payload)
                    # linked as the engine links (its hash and synced fields), so its next run
                    # sees the record as up to date; the status stays the vendor's
                    held = DONE if str(rec.get("state")) in VENDOR_CLOSED_STATES else OPEN
                    state.save_link(self.conn, "servicenow", self.writer.vendor_object, internal_id, sys_id,
                                    rec.get("number", ""), payload_hash({**payload, "status": OPEN}), OPEN,
                                    {**payload, "status": held}, None, self.run_id, existing=False,
                                    sent={**payload, "status": OPEN})  # ours: so a closed one stays closed
                    unsettled.clear(self.conn, "servicenow", internal_id)  # linked: no create of it in doubt
                    self.conn.raw.commit()
                    links[internal_id] = {"vendor_id": sys_id}
                    linked.add(sys_id)
                    self._audit("adopt", internal_id, {"vendor_id": sys_id})
                    self.report.adopted.append(internal_id)
                elif str(rec.get("state")) not in VENDOR_CLOSED_STATES:  # not finished: ours, unwanted or a duplicate
                    why = close_orphan(self.writer, sys_id)  # a business rule set it back or refused it
                    if why == GONE:  # deleted at ServiceNow meanwhile: audited, not counted closed
                        self._audit("close_orphan_gone", internal_id, {"vendor_id": sys_id})
                        continue
                    if why is not None:  # reported, and tried again next night
                        operation = "close_orphan_reverted" if why == "set back" else "close_orphan_refused"
                        self._audit(operation, internal_id, {"vendor_id": sys_id, "why": why},
                                    status="reverted" if why == "set back" else "refused")
                        self._reverted_orphan(sys_id, str(rec.get("number") or ""), internal_id, why)
                        continue
                    self._audit("close_orphan", internal_id, {"vendor_id": sys_id})
                    self.report.closed_orphans.append(sys_id)

    def _reverted_orphan(self, sys_id: str, number: str, internal_id: str, why: str) -> None:
        """Report an orphan whose close the instance set back or refused (still open there), naming the fix."""
        self.report.reverted_orphans.append(sys_id)
        self._reverted_named.append(f"{number or '(no number)'} (sys_id {sys_id}, correlation_id {internal_id}, "
                                    f"{why})")
        self.report.fixes[ORPHAN_REVERTED] = orphan_fix(self._reverted_named)
        log.warning("reconciliation: the close of orphan %s did not stick", self._reverted_named[-1])


def _form(sent: Any, stored: Any) -> list[str]:
    """A value of ours and what the instance stored of it, as digests (a description may be long)."""
    return [hashlib.sha256(str(v if v is not None else "").encode("utf-8", "surrogatepass")).hexdigest()[:32]
            for v in (sent, readback.text(stored))]


def _forms(payload: dict[str, Any], saved: Any) -> dict[str, list[str]]:
    """For each compared field the instance saved otherwise than it was sent (the record a write answered):
    what it made of our value, so the next night takes that value for ours."""
    if not isinstance(saved, dict):
        return {}
    return {f: _form(payload.get(f), saved.get(f)) for f in COMPARED if f in saved
            and not readback.sn_field_shows(f, saved.get(f), payload.get(f), VENDOR_CLOSED_STATES)}


def _loads(value: Any) -> dict[str, Any]:
    try:
        found = json.loads(value) if value else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def findings(report: ReconcileReport) -> list[Finding]:
    healed = {"link_recreated": report.recreated, "link_relinked": report.relinked,
              "link_rewritten": report.rewritten, "orphan_adopted": report.adopted,
              "orphan_closed": report.closed_orphans, "link_gone_closed": report.gone_closed}
    out = [Finding("servicenow", "remediation_tasks", kind, len(ids), len(ids), ids) for kind, ids in healed.items()
           if ids]
    # Not healed: a task for the connector's owner, its detail naming the fix. Written on every completed night,
    # with counts 0 when none was set back: that night is then the latest, and an earlier night's task closes
    # (a record closed by hand or deleted since is no longer an orphan, and would otherwise write no row).
    reverted = report.reverted_orphans
    out.append(Finding("servicenow", "remediation_tasks", ORPHAN_REVERTED, len(reverted), 0, reverted,
                       detail=report.fixes.get(ORPHAN_REVERTED, orphan_fix([])) if reverted else ""))
    return out  # report.reported (Jira/OneTrust links, not re-read yet) shows in the metadata only


# The ServiceNow push's pool (``warehouse`` on DuckDB, as before): Dagster never runs the two at once; the push
# lock (ServiceNowLinks.run) covers a push from the CLI.
@asset(key=KEY, deps=[OUTBOUND], group_name="reconciliation", pool=pool("reverse_sync", "servicenow"),
       kinds={"servicenow", "python"},
       description="Nightly: every remediation task we created at a vendor is re-read; one deleted or changed "
                   "outside Project X is recreated, re-linked or rewritten, orphans of ours adopted or closed, "
                   "per the policy in assets/reverse_sync/reconcile.py. No duplicate on rerun.")
def reverse_sync_reconciliation(context: AssetExecutionContext, servicenow: ServiceNowResource,
                                warehouse: WarehouseResource) -> MaterializeResult:
    with warehouse.connect() as conn:
        ensure_tables(conn)
        rows = conn.query("select * from outbound.servicenow_remediation_tasks") \
            if conn.table_exists("outbound", "servicenow_remediation_tasks") else []
        client = servicenow.client()
        try:
            report = ServiceNowLinks(conn, ServiceNowTaskWriter(client, remediation_table()),
                                     {str(r["remediation_task_id"]): r for r in rows}, context.run_id).run()
        finally:
            client.close()
        others = conn.query(f"select vendor, internal_id from {SCHEMA}.external_links "
                            "where vendor <> 'servicenow' and status = 'open' order by internal_id")
        for r in others:  # Jira/OneTrust links: re-read once their engines expose a reader (policy: report)
            report.reported.setdefault(r["vendor"], []).append(r["internal_id"])
        record(conn, context.run_id, findings(report))
    counts = report.counts()
    context.log.info(f"reverse-sync reconciliation: {counts}")
    for kind, fix in report.fixes.items():
        context.log.warning(f"reverse-sync reconciliation: {kind}: {fix}")
    return MaterializeResult(metadata={**{k: MetadataValue.int(v) for k, v in counts.items()},
                                       **{f"fix_{k}": MetadataValue.text(v) for k, v in report.fixes.items()}})
