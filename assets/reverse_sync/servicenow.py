"""Remediation tasks for failed controls, pushed to ServiceNow's remediation-task table."""


from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from dagster import AssetCheckResult, AssetExecutionContext, AssetKey, MaterializeResult, asset, asset_check

from assets.reverse_sync import holds, readback, sn_reverted, sn_update_reverted
from assets.reverse_sync.assetkit import ReverseSyncConfig, no_dead_letters, paused_by_flag, run_sync
from assets.reverse_sync.engine import DONE, Snapshot, Step, default_steps
from assets.reverse_sync.policy import PROJECTX, SHARED, VENDOR, Change, Field
from assets.reverse_sync.writes import Writes, _body_kind, with_vendor_reason
from pipelines.common.http import VendorError
from pipelines.servicenow.helpers import ServiceNowClient, table_result
from pipelines.servicenow.settings import TABLE_PATH, remediation_table
from resources.evidence.limits import env_int
from resources.scale_out import op_tags, pool
from resources.servicenow import ServiceNowResource
from resources.warehouse import WarehouseResource

OUTBOUND = AssetKey(["outbound", "servicenow_remediation_tasks"])
KEY = AssetKey(["reverse_sync", "servicenow_remediation_tasks"])
PREFETCH_CHUNK = 100
STATE_OPEN, STATE_CLOSED = "1", "3"
# States in which the record is finished at ServiceNow: Closed Complete, Closed Incomplete, Closed
# Skipped, and Resolved where an instance gives the table the incident state model.
VENDOR_CLOSED_STATES = frozenset({"3", "4", "6", "7"})


def _sn_ts(value: Any) -> str:
    """A date-time as the Table API takes it (UTC): an instant with an offset is turned to UTC first."""
    if isinstance(value, datetime) and value.utcoffset() is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S") if isinstance(value, datetime) else (value or "")


class ServiceNowTaskWriter:
    """Maps an outbound row to a ServiceNow record; our id travels in ``correlation_id``.

    ServiceNow keeps no changelog we read, so the record is not re-read before each write: Project X
    owns every field but the status, and a record deleted at the vendor is recreated only if its link
    is removed. The one re-read is right before a close.

    Conflict policy for the status, as for Jira: shared, and the vendor wins. Project X never sends a
    state while the control fails, so a record a person closed at ServiceNow stays closed; when the
    control passes, Project X closes only records still open there (a record in any closed state,
    Closed Incomplete included, is left as the vendor set it). The ServiceNow ingestion reads the
    table back: Closed Complete (or Resolved) closes the task in ``marts.tasks`` (see
    ``int_tasks__control_remediations``); Closed Incomplete or Skipped leaves it open there, since
    nothing was remediated.
    """

    vendor = "servicenow"
    reads = False
    policy = {**{name: Field(PROJECTX) for name in ("short_description", "description", "priority", "due_date",
                                                    "cmdb_ci", "correlation_id", "correlation_display")},
              "status": Field(SHARED, wins=VENDOR)}

    # what an account-wide write refusal (refusal.py) asks of the admin: the spec's integration user holds itil
    # and rest_service [unc: a scoped table's own write ACL may want the app's role too]
    refusal_fix = ("give the ServiceNow integration user back its itil and rest_service roles (sys_user_has_role; "
                   "itil writes task tables such as the remediation table) and check the table's write ACLs")

    def __init__(self, client: ServiceNowClient, table: str):
        self.client = client
        self.vendor_object = table
        self.path = TABLE_PATH.format(table=table)
        # read when the push starts, so a bad value stops it before any vendor call (0: no wait)
        self.settle_seconds = env_int("PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS", 300, unit="a number of seconds",
                                      example="300", minimum=0) or 0
        # a close a business rule set back is not sent again for this long (doubled per revert): sn_reverted.py
        self.close_retry_seconds = holds.setting(sn_reverted.SETTING)

    def desired(self, row: dict[str, Any]) -> dict[str, Any]:
        return {
            "short_description": row["short_description"],
            "description": row["description"],
            "priority": str(row["priority"]),
            "due_date": _sn_ts(row["due_at"]),
            "cmdb_ci": row.get("cmdb_ci_id") or "",
            "correlation_id": row["remediation_task_id"],
            "correlation_display": "Project X",
        }

    # Direct record calls, for the nightly link reconciliation (assets/reverse_sync/reconcile.py).
    def payload(self, row: dict[str, Any]) -> dict[str, Any]:
        return self.desired(row)

    def find_existing(self, internal_id: str) -> dict[str, Any] | None:
        """Our record of ``internal_id`` (the oldest open one, else the oldest), looked up with the id as a value:
        a ``^`` in it is escaped (``^^``), else it would start another condition (``^OR...`` matching a record of
        anyone's), and only a record carrying exactly our id is taken."""
        found = next(self.pages(f"correlation_id={sn_value(internal_id)}^ORDERBYsys_created_on^ORDERBYsys_id",
                                100), [])
        ours = [r for r in found if r.get("correlation_id") == internal_id]
        # an open one first, as the prefetch does: a closed duplicate is never the record a task follows
        return next((r for r in ours if str(r.get("state")) not in VENDOR_CLOSED_STATES), ours[0] if ours else None)

    def pages(self, query: str, page_size: int) -> Iterator[list[dict[str, Any]]]:
        """The pages of our table's records matching ``query``, read strictly
        (:meth:`ServiceNowClient.iter_pages`): an answer that is no list of records (a sign-in page, a proxy's
        ``{}``) is a VendorError that counts towards the breaker, never "none there", which made a create whose
        answer was lost be sent again (five records for one task)."""
        return self.client.iter_pages(self.vendor_object, query, page_size=page_size)

    def record(self, vendor_id: str) -> dict[str, Any]:
        """One record by its sys_id, read strictly (an answer that is not ``{"result": {record}}`` is a
        VendorError, never a KeyError that stops the push); a 404 is VendorError(404)."""
        path = f"{self.path}/{vendor_id}"
        body, response = self.client.session.request_json(
            "GET", path, params={"sysparm_display_value": "false", "sysparm_exclude_reference_link": "true"})
        return table_result(body, response, dict, path)

    def create(self, payload: dict[str, Any]) -> dict[str, Any]:
        return self.client.create(self.vendor_object, payload)

    def update(self, vendor_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """The record as the instance saved it (its answer)."""
        return self.client.update(self.vendor_object, vendor_id, payload)

    def close(self, vendor_id: str) -> bool:
        """Close a record directly (the nightly reconciliation's orphans): whether the answer shows it closed (a
        business rule may set the state back, answering 200 with the record still open). A refusal with the
        vendor's reason (a business rule aborting the write: 403 "Operation Failed") is a ``RecordRefused``
        naming it, not the HTTP client's "the credentials are refused" (:func:`writes.with_vendor_reason`)."""
        answers: list[Any] = []
        path = f"{self.path}/{vendor_id}"
        try:
            body, response = self.client.session.request_json(
                "PATCH", path, headers={"Content-Type": "application/json"},
                json={"state": STATE_CLOSED, "close_notes": "Closed by Project X: the control passes again."},
                hooks={"response": [lambda r, *a, **k: answers.append(r)]})
        except VendorError as exc:
            raise with_vendor_reason(exc, answers[-1] if answers else None) from None
        saved = body.get("result") if isinstance(body, dict) else None
        if not isinstance(saved, dict):  # a proxy's {} or a sign-in page's JSON: not the instance's answer
            raise VendorError(f"servicenow: PATCH {path} answered {response.status_code} without the Table API's "
                              "record: something other than the instance answered; check SERVICENOW_BASE_URL "
                              "(a proxy, an SSO sign-in page)")
        return _raw(saved.get("state")) in VENDOR_CLOSED_STATES

    @staticmethod
    def identity(record: dict[str, Any]) -> tuple[str, str]:
        return record["sys_id"], record.get("number", "")

    def prefetch(self, internal_ids: list[str]) -> dict[str, Snapshot]:
        found: dict[str, Snapshot] = {}
        wanted = set(internal_ids)
        plain = [i for i in internal_ids if "," not in i]  # IN splits its values at commas: those go one by one
        queries = ["correlation_idIN" + ",".join(sn_value(i) for i in plain[start:start + PREFETCH_CHUNK])
                   for start in range(0, len(plain), PREFETCH_CHUNK)]
        queries += [f"correlation_id={sn_value(i)}" for i in internal_ids if "," in i]
        for query in queries:
            # oldest first (a stable order across pages); of duplicates a person made, an open one is adopted
            # before a closed one, so a closed duplicate is never reopened while an open record exists
            query += "^ORDERBYsys_created_on^ORDERBYsys_id"
            for page in self.pages(query, PREFETCH_CHUNK):
                for rec in page:
                    if rec.get("correlation_id") not in wanted:
                        continue
                    fields = {k: rec.get(k) for k in ("short_description", "description", "priority", "due_date",
                                                      "cmdb_ci", "correlation_id", "correlation_display")}
                    fields["status"] = DONE if str(rec.get("state")) in VENDOR_CLOSED_STATES else "open"
                    seen = found.get(rec["correlation_id"])
                    if seen is None or (seen.fields["status"] == DONE and fields["status"] != DONE):
                        found[rec["correlation_id"]] = Snapshot(rec["sys_id"], rec.get("number"), fields)
        return found

    def open_at_vendor(self, vendor_id: str) -> bool:
        """The one re-read, while planning a close: False when the record is already in a closed
        state, or gone (the engine then plans no close, so a dry run's plan is what the real run does)."""
        try:
            record = self.record(vendor_id)
        except VendorError as exc:
            if exc.status == 404:
                return False  # deleted at ServiceNow: nothing left to close
            raise
        return str(record.get("state")) not in VENDOR_CLOSED_STATES

    def read(self, vendor_id: str, since: str | None) -> Snapshot | None:
        raise NotImplementedError("ServiceNow records are not re-read (reads = False)")

    def steps(self, changes: list[Change], creating: bool) -> list[Step]:
        return sn_update_reverted.reopen_steps(default_steps(changes, creating), changes)

    def apply(self, step: Step, internal_id: str, vendor_id: str | None, desired: dict[str, Any],
              writes: Writes) -> tuple[str, str | None]:
        operation, changes = step
        payload = {k: v for k, v in desired.items() if k != "status"}
        if operation == "create":
            self.not_in_flight(internal_id, writes)

            def parse(response: Any) -> tuple[str, str | None]:
                result = response.json()["result"]
                if not result.get("sys_id"):
                    raise KeyError("sys_id")
                if result.get("correlation_id") not in (None, "", internal_id):  # another record's answer
                    raise ValueError("correlation_id")
                return str(result["sys_id"]), result.get("number")

            def find() -> tuple[str, str | None] | None:
                record = self.find_existing(internal_id)
                return (str(record["sys_id"]), record.get("number")) if record else None

            def verify(result: tuple[str, str | None]) -> bool:
                return self.record(result[0]).get("correlation_id") == internal_id

            return writes.once(self.client.session, "POST", self.path, json=payload, parse=parse, find=find,
                               what="new record's sys_id", operation="create", object_id=internal_id,
                               internal_id=internal_id, verify=verify)
        if operation == "close":  # planned only for a record still open there (open_at_vendor)
            until = holds.held_until(writes, self.vendor, str(vendor_id), internal_id, self.close_retry_seconds,
                                     sn_reverted.REVERTED)
            if until is not None:  # a business rule set the last close back: not sent on every push
                raise sn_reverted.deferred(str(vendor_id), until)
            body = {"state": STATE_CLOSED, "close_notes": "Closed by Project X: the control passes again."}
        else:
            until = holds.held_until(writes, self.vendor, str(vendor_id), internal_id, self.close_retry_seconds,
                                     sn_update_reverted.UPDATE_REVERTED)
            if until is not None:  # a business rule set the last reopen or update back: not sent on every push
                raise sn_update_reverted.deferred(str(vendor_id), until)
            body = {**payload, "state": STATE_OPEN} if operation == "transition" else \
                {c.field: c.after for c in changes}
        response = writes.send(self.client.session, "PATCH", f"{self.path}/{vendor_id}", json=body,
                               operation=operation, object_id=str(vendor_id), internal_id=internal_id)
        if not _answers_record(response, str(vendor_id)):
            self.verify(str(vendor_id), body, response, operation, internal_id, writes)
        elif operation == "close":  # the record as saved: a business rule may have set the state back
            answered = _raw(response.json()["result"].get("state"))
            if answered not in VENDOR_CLOSED_STATES:
                raise sn_reverted.reverted(str(vendor_id), internal_id, answered, response.status_code,
                                           self.close_retry_seconds, writes)
        else:  # a reopen or an update: each field sent compared with the record as saved
            sn_update_reverted.check(response.json()["result"], body, changes, VENDOR_CLOSED_STATES, str(vendor_id),
                                     internal_id, response.status_code, self.close_retry_seconds, writes)
        return str(vendor_id), None

    def not_in_flight(self, internal_id: str, writes: Writes) -> None:
        """Raise (status 409: about this record, not ServiceNow's health) while an earlier create of this record,
        sent less than ``PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS`` ago (default 300), may still be carried out:
        it got no answer (a read timeout, a dropped connection) or a gateway's 504, or the push was killed before
        its answer was recorded. The look-up by correlation_id that found no record (``prefetch``) is a
        consistent read, but the instance may still be working on that request (a busy node, a slow business
        rule), so a second create could make a second record. The record waits in dead letters: the next push
        adopts it once it is there, else creates it after that time [unc: the instance's REST transaction quota
        bounds the work; its length is set per instance]."""
        settle = self.settle_seconds
        sent = writes.unsettled_create(internal_id, settle, in_flight_only=True) if settle > 0 else None
        if sent is not None:
            raise VendorError(
                f"deferred: a create of the ServiceNow record for {internal_id} was sent at "
                f"{sent:%Y-%m-%d %H:%M:%S} UTC and got no answer (a timeout, a dropped connection, a gateway's 504, "
                "or the push stopped before its answer was recorded), and no record with correlation_id "
                f"{internal_id} is there yet: not created again, so no second record is made while ServiceNow may "
                "still be carrying the first out. The next push adopts the record once it is there, or creates it "
                f"if still absent {settle:.0f} s after that create (PROJECTX_SERVICENOW_CREATE_SETTLE_SECONDS)", 409)

    def verify(self, vendor_id: str, body: dict[str, Any], response: Any, operation: str, internal_id: str,
               writes: Writes) -> None:
        """A PATCH answered 2xx without the record (an empty body, ``{}``, another record): ServiceNow answers
        a PATCH with the record it updated (unless asked not to with ``X-no-response-body``, which Project X
        never sends), so such an answer proves nothing (a proxy may have answered in its place). The record is
        read back (a consistent Table API read): done when it shows the values sent that Project X owns, as
        ServiceNow stores them (:mod:`assets.reverse_sync.readback`: priority is derived and not insisted on,
        the state compared as closed or open, text trimmed, a reference or display value as either), else
        VendorError naming the answer, so the record is dead-lettered and written by the next push. An update
        of derived fields only (priority) that the record does not show is sent once more (a PATCH is
        idempotent): done if that answer is the record, whatever priority the instance computed; else
        dead-lettered, as nothing proves it landed. A 404 here is the record's (deleted meanwhile)."""
        record = self.record(vendor_id)
        if readback.sn_derived_only(body):
            if readback.sn_derived_shows(record, body):
                return
            again = writes.send(self.client.session, "PATCH", f"{self.path}/{vendor_id}", json=body,
                                operation=operation, object_id=vendor_id, internal_id=internal_id)
            if _answers_record(again, vendor_id):
                return
            response, differs = again, sorted(body)
        else:
            differs, shown = readback.sn_unwritten(record, body, VENDOR_CLOSED_STATES)
            if not differs and shown:
                return
            differs = differs or sorted(k for k in body if k not in readback.SN_DERIVED)
        kind = _body_kind(response)
        error = VendorError(
            f"servicenow: PATCH {self.path}/{vendor_id} answered {response.status_code} with {kind} instead of the "
            f"record, and reading it back shows {', '.join(differs)} not written: something other than ServiceNow "
            "answered (check that the servicenow base URL points at the instance's REST API, not at a proxy or "
            "gateway); the next push writes it again", None)
        writes._audit(operation, vendor_id, internal_id, response.status_code, str(error)[:300])
        raise error


def sn_value(value: str) -> str:
    """A value inside an encoded query: ``^`` doubled, as the instance reads a literal caret."""
    return value.replace("^", "^^")


def _answers_record(response: Any, vendor_id: str) -> bool:
    """Whether a PATCH's 2xx answer is the record it updated (``{"result": {"sys_id": <ours>, ...}}``)."""
    try:
        result = response.json().get("result")
    except (ValueError, AttributeError):
        return False
    return isinstance(result, dict) and str(result.get("sys_id") or "") == vendor_id


def _raw(value: Any) -> str:
    """A Table API value as a string: a reference object (``{"link", "value"}``) as its value."""
    if isinstance(value, dict):
        value = value.get("value")
    return "" if value is None else str(value)


@asset(
    key=KEY,
    deps=[OUTBOUND],
    group_name="reverse_sync",
    pool=pool("reverse_sync", "servicenow"), op_tags=op_tags("reverse_sync"),
    kinds={"servicenow", "python"},
    description=(
        "Remediation tasks held in ServiceNow (table x_pjx_grc_remediation_task by default, "
        "SERVICENOW_REMEDIATION_TABLE to change). Idempotent: reverse_sync.external_links maps each "
        "remediation_task_id to its sys_id, so reruns create nothing new; failed writes land in "
        "reverse_sync.dead_letters and are retried next run. Config dry_run plans without writing."
    ),
)
def servicenow_remediation_push(
    context: AssetExecutionContext, config: ReverseSyncConfig, servicenow: ServiceNowResource,
    warehouse: WarehouseResource,
) -> MaterializeResult:
    paused = paused_by_flag(context, "servicenow")
    if paused is not None:
        return paused
    client = servicenow.client()
    try:
        return run_sync(context, warehouse, ServiceNowTaskWriter(client, remediation_table()),
                        table="servicenow_remediation_tasks", key="remediation_task_id", config=config)
    finally:
        client.close()


@asset_check(asset=KEY, description="No remediation task is waiting in the dead-letter table.")
def servicenow_remediation_no_dead_letters(warehouse: WarehouseResource) -> AssetCheckResult:
    return no_dead_letters(warehouse, "servicenow")
