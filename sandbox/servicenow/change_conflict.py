"""Change conflict detection: POST|GET|DELETE /api/sn_chg_rest[/v1]/change/{sys_id}/conflict and
GET /change/worker/{worker_sys_id}, over the `conflict`, `cmn_schedule_blackout` and `cmn_schedule_span`
tables the Table API serves (created empty: blackout windows are whatever a client inserts).

A check compares the change's configuration item (cmdb_ci) and planned window [start_date, end_date] with
- every other active change (not Closed or Canceled) on the same CI whose window overlaps it: a conflict of
  type `ci_already_scheduled` naming the conflicting change;
- every blackout schedule whose `condition` (an encoded query on cmdb_ci; empty: every CI) holds the CI
  and one of whose spans (cmn_schedule_span.schedule = the blackout; start_date_time/end_date_time as
  "YYYY-MM-DD HH:MM:SS" or the schedule format "YYYYMMDDTHHMMSS", daily / weekly repeats expanded by
  `schedule_spans`) overlaps the window:
  type `blackout` naming the schedule. A span's times are wall times in its schedule's time zone
  (cmn_schedule_blackout.time_zone, an IANA / Java zone id such as America/New_York; GMT by default), as
  an instance evaluates schedules in the schedule's zone, and are compared with the change's UTC window
  as the moments they stand for (a 22:00-23:00 New York freeze is 03:00-04:00 UTC in winter); a compact
  bound ending in Z is UTC. An empty time zone (a "floating" schedule) reads as the system's, UTC here
  [unc: an instance floats it in the zone of the user or the checking job].
Windows overlap when each starts before the other ends (touching ends do not conflict).
The instance runs the check as a background worker; here it completes when started. As documented:
POST answers 200 {"result": "<sys_id of the checking process>"} (a worker: GET /change/worker/{sys_id}
answers its state, Complete); GET answers {"status", "last_run", "record_count", "job_status",
"conflicts": [the change's `conflict` records, fields as value/display_value pairs]} where status is
"Conflict" once a check ran, with conflicts or without (the documented quirk), and "Not Run" before;
DELETE cancels: 200 without a body, the change's conflict records removed, status "Canceled" [unc].
The conflicts of a check replace the change's previous `conflict` records. A change without a CI or
planned dates answers 400.
A change outside every span of the maintenance schedules (cmn_schedule_maintenance) applying to its CI:
type `not_in_maintenance_window` (`change_maintenance`).
[unc: the type values and labels, the status words, the 400 wording and the worker body are guessed from
the documentation's prose; an instance also checks CI relations and the assignee.]
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.servicenow import acl, change_maintenance
from sandbox.servicenow.render import Mode, render_rows
from sandbox.servicenow.schema import SYS_FIELDS, Field, TableSchema

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox
    from sandbox.servicenow.tables import Table

BASE = r"/api/sn_chg_rest(?:/v1)?/change"
SID = r"(?P<sys_id>[0-9a-f]{32})"
API_MODE = Mode("all", True)
CONFLICT_TYPES = {"ci_already_scheduled": "CI Already Scheduled", "blackout": "Blackout",
                  "not_in_maintenance_window": "Not In Maintenance Window"}
JOB_DONE = "2"  # the conflict job's status once it has run, as the documented answers show it [unc: meaning]
CONFLICT_SCHEMAS = {s.name: s for s in (
    TableSchema("conflict", (
        Field("sys_id"), Field("change", "reference", "change_request"),
        Field("conflicting_change", "reference", "change_request"),
        Field("configuration_item", "reference", "cmdb_ci"),
        Field("schedule", "reference", "cmn_schedule_blackout"),
        Field("type", choices=CONFLICT_TYPES), Field("last_checked", "datetime"), *SYS_FIELDS), None, "sys_id"),
    TableSchema("cmn_schedule_blackout", (
        Field("sys_id"), Field("name"), Field("description"), Field("type"), Field("time_zone"),
        Field("applies_to"), Field("condition"), *SYS_FIELDS), None, "name",
        defaults={"type": "blackout", "applies_to": "ci", "time_zone": "GMT", "sys_domain": "global"}),
    TableSchema("cmn_schedule_span", (
        Field("sys_id"), Field("name"), Field("schedule", "reference", "cmn_schedule_blackout"),
        Field("start_date_time"), Field("end_date_time"), Field("all_day", "boolean"),
        Field("repeat_type"), Field("repeat_count", "integer"), Field("days_of_week"), Field("repeat_until"),
        *SYS_FIELDS), None, "name", defaults={"all_day": "false", "sys_domain": "global"}),
    change_maintenance.MAINTENANCE_SCHEMA,
)}
_COMPACT = re.compile(r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})([0-9]{2})Z?\Z")  # not \d [round 27]
FMT = "%Y-%m-%d %H:%M:%S"


def moment(text: str, zone: str = "") -> str:
    """A span bound as "YYYY-MM-DD HH:MM:SS" UTC (the schedule format "20250101T020000" converted): the
    bound is wall time in the schedule's time zone `zone` (empty, GMT or unknown: as written, UTC), a
    trailing Z marks it UTC already."""
    text = text.strip()
    m = _COMPACT.match(text)
    if m:
        if text.endswith("Z"):
            zone = ""
        text = f"{m[1]}-{m[2]}-{m[3]} {m[4]}:{m[5]}:{m[6]}"
    return _utc(text, zone) if zone else text


def _utc(wall: str, zone: str) -> str:
    try:
        tz = ZoneInfo(zone)
        at = datetime.strptime(wall, FMT).replace(tzinfo=tz)
    except (ValueError, ZoneInfoNotFoundError):
        return wall
    return at.astimezone(UTC).strftime(FMT)


def overlaps(a: tuple[str, str], b: tuple[str, str]) -> bool:
    return bool(a[0] and a[1] and b[0] and b[1]) and a[0] < b[1] and b[0] < a[1]


class ChangeConflictAPI:
    """Route handlers bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    @property
    def checks(self) -> dict[str, dict[str, str]]:
        """change sys_id -> its last check: {"worker", "status", "last_run"}."""
        return self.store.scratch("conflict_checks")

    def register(self, router: Router) -> None:
        one = BASE + "/" + SID + "/conflict"
        router.add("POST", one, self.start)
        router.add("GET", one, self.result)
        router.add("DELETE", one, self.cancel)
        router.add("GET", BASE + r"/worker/(?P<worker>[0-9a-f]{32})", self.worker)

    # --- helpers ---------------------------------------------------------------------------------
    def _change(self, req: Request) -> tuple[Table, int]:
        found = self.store.locate("change_request", req.params["sys_id"])
        if found is None:
            raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
        return found

    def _records(self, change: str) -> list[int]:
        table = self.store.tables["conflict"]
        get = table.getter("change")
        return [r for r in table.alive_rows() if get(r) == change]

    def _body(self, req: Request, change: str) -> dict[str, object]:
        check = self.checks.get(change, {"status": "Not Run", "last_run": ""})
        table = self.store.tables["conflict"]
        conflicts = [json.loads(b) for b in render_rows(table, self._records(change), API_MODE, req.base_url,
                                                        self.store)]
        ran = check["status"] == "Conflict"
        return {"status": check["status"], "last_run": check["last_run"], "record_count": "1" if ran else "0",
                "job_status": JOB_DONE if ran else "", "conflicts": conflicts}

    def _blackouts(self, ci: str, window: tuple[str, str]) -> list[str]:
        return [rec["sys_id"] for rec in change_maintenance.applying(self.store, "cmn_schedule_blackout", ci)
                if any(overlaps(window, span) for span in change_maintenance.spans(self.store, rec, moment, window))]

    def _detect(self, rec: dict[str, str]) -> list[dict[str, str]]:
        window = (rec["start_date"], rec["end_date"])
        changes = self.store.tables["change_request"]
        found = []
        for r in changes.alive_rows():
            other = changes.record(r)
            if (other["sys_id"] != rec["sys_id"] and other["cmdb_ci"] == rec["cmdb_ci"]
                    and other["state"] not in ("3", "4") and other["active"] != "false"
                    and overlaps(window, (other["start_date"], other["end_date"]))):
                found.append({"type": "ci_already_scheduled", "conflicting_change": other["sys_id"]})
        found += [{"type": "blackout", "schedule": s} for s in self._blackouts(rec["cmdb_ci"], window)]
        found += [{"type": "not_in_maintenance_window", "schedule": s}
                  for s in change_maintenance.outside(self.store, rec["cmdb_ci"], window, moment)]
        return found

    def _clear(self, change: str, user: str) -> None:
        table = self.store.tables["conflict"]
        for r in self._records(change):
            self.store.delete(table, r, user)

    # --- handlers --------------------------------------------------------------------------------
    def start(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            table, row = self._change(req)
            acl.check_write(self.store, "conflict", "Insert", user)
            rec = table.record(row)
            missing = [f for f in ("cmdb_ci", "start_date", "end_date") if not rec[f]]
            if missing:
                raise HTTPError(400, "Conflict checking could not be started",
                                f"The change request needs a configuration item and planned start and end "
                                f"dates; missing: {', '.join(missing)}")
            change, now = rec["sys_id"], self.store.clock.now_str()
            self._clear(change, user)
            for found in self._detect(rec):
                self.store.insert("conflict", {"change": change, "configuration_item": rec["cmdb_ci"],
                                               "last_checked": now, **found}, user)
            worker = hashlib.md5(f"conflict:{change}:{now}:{len(self.checks)}".encode()).hexdigest()
            self.checks[change] = {"worker": worker, "status": "Conflict", "last_run": now}
        return json_response({"result": worker})

    def result(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        with self.store.lock:
            table, row = self._change(req)
            return json_response({"result": self._body(req, table.record(row)["sys_id"])})

    def cancel(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        with self.store.lock:
            table, row = self._change(req)
            change = table.record(row)["sys_id"]
            self._clear(change, user)
            self.checks[change] = {**self.checks.get(change, {"worker": "", "last_run": ""}), "status": "Canceled"}
        return Response(200, b"")  # documented: 200, no body

    def worker(self, req: Request) -> Response:
        self.sb.auth.authenticate(req)
        worker = req.params["worker"]
        with self.store.lock:
            hit = next((c for c, check in self.checks.items() if check["worker"] == worker), None)
        if hit is None:
            raise HTTPError(404, "No Record found", f"Worker {worker} not found")
        return json_response({"result": {
            "worker": {"sysId": worker, "link": f"{req.base_url}/api/sn_chg_rest/change/worker/{worker}"},
            "request": json.dumps({"change_sys_id": hit}), "state": {"value": 3, "display_value": "Complete"},
            "type": "conflict", "messages": {"errorMessages": [], "warningMessages": [], "infoMessages": []}}})
