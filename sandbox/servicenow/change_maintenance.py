"""Maintenance windows of the change conflict check (`change_conflict`): the `cmn_schedule_maintenance`
table (served by the Table API, created empty) and the "Not In Maintenance Window" conflict.

A maintenance schedule applies to the CIs its `condition` (an encoded query on cmdb_ci; empty: every CI)
selects; its JOIN / RLQUERY / SUBQUERY see only the rows the schedule's writer may read (`as_writer`; blackout
schedules' conditions likewise). A change whose CI has applying maintenance schedules must lie wholly
inside one span of one of them (cmn_schedule_span.schedule = the schedule; bounds read as
`change_conflict.moment` reads them, wall times in the schedule's time zone); otherwise each applying
schedule gives a conflict of type `not_in_maintenance_window` naming it. A CI without maintenance schedules
may change at any time. Daily and weekly repeats of a span are expanded (`schedule_spans`), blackouts' too.
[unc: the instance's schedules extend one cmn_schedule table, which spans and conflicts reference; here
they reference cmn_schedule_blackout, so a maintenance schedule shows no display value there; whether
an empty condition means every CI for maintenance is a guess.]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sandbox.servicenow import acl
from sandbox.servicenow.query import Query, parse
from sandbox.servicenow.schedule_spans import occurrences
from sandbox.servicenow.schema import SYS_FIELDS, Field, TableSchema

MAINTENANCE = "cmn_schedule_maintenance"
MAINTENANCE_SCHEMA = TableSchema(MAINTENANCE, (
    Field("sys_id"), Field("name"), Field("description"), Field("type"), Field("time_zone"),
    Field("applies_to"), Field("condition"), *SYS_FIELDS), None, "name",
    defaults={"type": "maintenance", "applies_to": "ci", "time_zone": "GMT", "sys_domain": "global"})


def as_writer(store: Any, query: Query, rec: dict[str, str]) -> Query:
    """`query` (a schedule's condition) seeing through its JOIN / RLQUERY / SUBQUERY only the rows the
    schedule's writers may read (`acl.viewer`): its last updater, else its creator, whichever is restricted
    first. The integration user (itil) may write these tables, so an unrestricted condition would let it read
    an admin-only table (sys_script) blind through the conflict check. A writer that is no sys_user (the
    sandbox's own "system" writes) is not restricted [unc: the instance evaluates the condition as the system]."""
    for who in dict.fromkeys((rec.get("sys_updated_by", ""), rec.get("sys_created_by", ""))):
        if who and store.user_sys_id(who):
            marked = acl.viewer(store, query, who)
            if marked.viewer:
                return marked
    return query


def applying(store: Any, table: str, ci: str) -> list[dict[str, str]]:
    """The schedules of `table` whose condition selects the CI (an empty condition: every CI), each condition
    seeing other tables as its writer may (`as_writer`)."""
    schedules, cis, now = store.tables[table], store.tables["cmdb_ci"], store.clock.now()
    found = []
    for r in schedules.alive_rows():
        rec = schedules.record(r)
        if rec["condition"]:
            query = as_writer(store, parse(rec["condition"], now), rec)
            if ci not in {cis.rows[x][0] for x in store.engine.run(cis, query)}:
                continue
        found.append(rec)
    return found


def spans(store: Any, schedule: dict[str, str], moment: Callable[[str, str], str],
          window: tuple[str, str]) -> list[tuple[str, str]]:
    """The occurrences of the schedule's spans near `window`, as UTC (start, end) (`schedule_spans`)."""
    table = store.tables["cmn_schedule_span"]
    return [occ for s in (table.record(x) for x in table.alive_rows()) if s["schedule"] == schedule["sys_id"]
            for occ in occurrences(s, schedule["time_zone"], window, moment)]


def outside(store: Any, ci: str, window: tuple[str, str], moment: Callable[[str, str], str]) -> list[str]:
    """The maintenance schedules the change window breaks: none when no schedule applies to the CI or the
    window lies inside a span of one of them, else every applying one."""
    schedules = applying(store, MAINTENANCE, ci)
    if not schedules or not (window[0] and window[1]):
        return []
    inside = any(lo and hi and lo <= window[0] and window[1] <= hi
                 for rec in schedules for lo, hi in spans(store, rec, moment, window))
    return [] if inside else [rec["sys_id"] for rec in schedules]
