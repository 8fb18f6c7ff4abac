"""Business rules the emulator runs on insert/update of task records (a small, faithful subset).

- incident: priority follows the impact x urgency matrix unless the caller set priority;
  incident_state mirrors state; resolving (6/7) stamps resolved_at/resolved_by.
- problem: Resolved/Closed (106/107) stamps resolved_at/resolved_by.
- every task table: a closed state (incident 7/8, change and change_task 3/4, problem 107,
  problem_task 157, others 3/4/7) sets active=false and
  stamps closed_at/closed_by; reopening sets active=true and clears them.
"""

from __future__ import annotations

from typing import Any

from sandbox.servicenow.schema import CLOSED_STATES, DEFAULT_CLOSED, SCHEMAS

_TASK_TABLES = frozenset(name for name, s in SCHEMAS.items() if s.parent == "task" or name == "task")


def priority_of(impact: str, urgency: str) -> str:
    try:
        return str(min(5, max(1, int(impact) + int(urgency) - 1)))
    except ValueError:
        return "5"


def apply_rules(table: str, old: dict[str, str] | None, rec: dict[str, str], sent: dict[str, Any],
                now: str, user_sys_id: str) -> None:
    """Mutate `rec` (the record about to be saved); `old` is None on insert, `sent` is the request body."""
    if table not in _TASK_TABLES:
        return

    def changed(name: str) -> bool:
        return old is None or old.get(name) != rec.get(name)

    if table == "incident":
        if "priority" not in sent and (changed("impact") or changed("urgency")):
            rec["priority"] = priority_of(rec.get("impact", "3"), rec.get("urgency", "3"))
        if changed("state"):
            rec["incident_state"] = rec.get("state", "")
            if rec.get("state") in ("6", "7"):
                rec["resolved_at"] = rec.get("resolved_at") or now
                rec["resolved_by"] = rec.get("resolved_by") or user_sys_id
    if table == "problem" and changed("state") and rec.get("state") in ("106", "107"):
        rec["resolved_at"] = rec.get("resolved_at") or now
        rec["resolved_by"] = rec.get("resolved_by") or user_sys_id
    if not changed("state"):
        return
    if rec.get("state") in CLOSED_STATES.get(table, DEFAULT_CLOSED):
        rec["active"] = "false"
        rec["closed_at"] = rec.get("closed_at") or now
        rec["closed_by"] = rec.get("closed_by") or user_sys_id
    elif old is not None and old.get("active") == "false":
        rec.update(active="true", closed_at="", closed_by="")
