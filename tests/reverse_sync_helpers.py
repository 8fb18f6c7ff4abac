"""Helpers for the reverse-sync tests: a hand-made outbound mart, runs of the engine, write counts."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import duckdb

from assets.reverse_sync.engine import SyncConfig, SyncReport
from assets.reverse_sync.vendors import TARGETS, sync_vendor_env

READ_PATHS = ("/search/jql", "/search/approximate-count", "/bulkfetch", "/oauth", "/api/access/v1/oauth/token",
              "/controls/pages")


def jira_rows(n: int, *, start: int = 0, project: str = "GRC", due: date = date(2026, 12, 1)) -> list[dict]:
    out = []
    for i in range(start, start + n):
        rid = f"rem-{i:05d}"
        out.append({"remediation_task_id": rid, "control_id": "SN-CHG-01", "object_id": f"CHG{i:05d}",
                    "jira_project_key": project, "issue_type": "Task",
                    "summary": f"[Project X] SN-CHG-01: Implemented changes were approved (CHG{i:05d})",
                    "description": f"Automated control SN-CHG-01 failed for CHG{i:05d}: not approved.",
                    "priority": "High", "labels": f"projectx,control:SN-CHG-01,projectx:{rid}",
                    "due_date": due + timedelta(days=i % 3), "assignee_email": "change-manager@example.com"})
    return out


def write_outbound(settings, vendor: str, rows: list[dict[str, Any]], like: list[dict[str, Any]] | None = None) -> None:
    """Replace outbound.<vendor's mart> with ``rows`` (columns from ``like`` when rows is empty)."""
    table, _ = TARGETS[vendor]
    sample = (rows or like or [{}])[0]
    with duckdb.connect(settings.duckdb_path) as con:
        con.execute("create schema if not exists outbound")
        cols = ", ".join(f"{k} {_type(v)}" for k, v in sample.items())
        con.execute(f"create or replace table outbound.{table} ({cols})")
        for r in rows:
            con.execute(f"insert into outbound.{table} values ({', '.join('?' for _ in r)})", list(r.values()))


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, date):
        return "date"
    return "varchar"


def run(vendor: str, run_id: str = "test", **config: Any) -> SyncReport:
    return sync_vendor_env(vendor, SyncConfig(**config), run_id=run_id, backoff_base_seconds=0.0)


def writes(sandbox) -> list[dict[str, Any]]:
    """The vendor write requests the sandbox served (reads, searches and token calls left out)."""
    return [r for r in sandbox.request_log if r["method"] in ("POST", "PUT", "PATCH", "DELETE")
            and not any(p in r["path"] for p in READ_PATHS) and not r["path"].endswith("/pages")]


def query(settings, sql: str) -> list[tuple]:
    with duckdb.connect(settings.duckdb_path, read_only=True) as con:
        return con.execute(sql).fetchall()


def attestation_rows(n: int, *, result: str = "INEFFECTIVE", evidence: str = "") -> list[dict]:
    from datetime import datetime

    out = []
    for i in range(n):
        control = ["SN-CHG-01", "OT-PIA-01", "SN-INC-01"][i % 3]
        iso = {"SN-CHG-01": "A.8.32", "OT-PIA-01": "A.5.34", "SN-INC-01": "A.5.26"}[control]
        year, month0 = divmod(i // 3, 12)  # three controls a month, month after month
        month = datetime(2026 + year, 1 + month0, 1)
        out.append({"attestation_id": f"att-{i:04d}", "control_id": control, "iso27001": iso,
                    "owner": "dpo@example.com", "period_start": month,
                    "period_end": datetime(month.year + (month.month == 12), month.month % 12 + 1, 1),
                    "onetrust_result": result, "evidence_refs": evidence,
                    "summary": f"{control} {month:%Y-%m}: exceptions (3 in scope, 1 failing)"})
    return out


def patches_of(sb, sys_id: str) -> int:
    """PATCHes the ServiceNow sandbox received for one record."""
    return sum(1 for w in writes(sb) if w["method"] == "PATCH" and w["path"].endswith(sys_id))


def push_audited(settings, operation: str, sys_id: str) -> list[tuple]:
    """(status, detail) of the ServiceNow push's audit rows of ``operation`` for one record."""
    return query(settings, "select status, detail from audit.events where action = 'push' and system = "
                           f"'servicenow' and operation = '{operation}' and object_id = '{sys_id}'")


def age_reverts(settings, minutes: int, operation: str) -> None:
    """As if the ``operation`` reverts (and the dead letters) happened ``minutes`` earlier: the hold is measured
    from the last one."""
    with duckdb.connect(settings.duckdb_path) as con:
        con.execute(f"update audit.events set occurred_at = occurred_at - interval {minutes} minute "
                    f"where operation = '{operation}'")
        con.execute(f"update reverse_sync.dead_letters set first_failed_at = first_failed_at - interval {minutes} "
                    "minute")
