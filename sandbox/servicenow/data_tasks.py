"""Generated task-table records: incidents, change requests, requests, catalog tasks, attachments.

Incidents follow the base state model (1 New, 2 In Progress, 3 On Hold, 6 Resolved, 7 Closed,
8 Canceled), priority from the impact x urgency matrix, and about 30% of resolved P1s are resolved
more than 4 hours after opening (`made_sla` = "false") so SLA controls find failures. At any size,
max(4, size/100) incidents are forced failures: half resolved P1s past 4 hours, half open P1/P2s
without an assignee. Implemented
changes are approved except ~5%. The remediation table starts empty: Project X creates those.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sandbox.servicenow import pools
from sandbox.servicenow.data import Dataset, Gen, sys_columns, to_rows
from sandbox.servicenow.schema import REMEDIATION_TABLE, SCHEMAS

PRIORITY = {(i, u): str(min(5, int(i) + int(u) - 1)) for i in "123" for u in "123"}
HOUR = 3600
DAY = 86400


@dataclass
class Refs:
    users: list[str]
    groups: list[str]
    cis: list[str]
    people: list[str]


def _numbers(prefix: str, n: int) -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(10001, 10001 + n)]


def changes(g: Gen, n: int, refs: Refs) -> tuple[list[tuple[str, ...]], list[str]]:
    rng = g.rng("change_request")
    ids, opened = g.sys_ids(rng, n), g.times(rng, n)
    rnd, end = rng.random, g.end
    names = ("-5", "-4", "-3", "-2", "-1", "0", "3", "4")
    old_states = rng.choices(names, (2, 2, 2, 3, 4, 5, 75, 7), k=n)
    new_states = rng.choices(names, (15, 15, 15, 15, 15, 10, 10, 5), k=n)
    states, approvals, closed, starts, ends, cab = [], [], [], [], [], []
    for i, t in enumerate(opened):
        state = old_states[i] if end - t > 21 * DAY else new_states[i]
        if state in ("-2", "-1", "0", "3"):
            approval = "approved" if rnd() >= 0.05 else rng.choice(("not requested", "rejected"))
        else:
            approval = {"-3": "requested", "4": "rejected"}.get(state, "not requested")
        start = t + int(rnd() * 14 * DAY)
        states.append(state)
        approvals.append(approval)
        starts.append(g.fmt(start))
        ends.append(g.fmt(start + int((1 + rnd() * 7) * HOUR)))
        cab.append(g.fmt(max(t, start - 2 * DAY))[:10])
        closed.append(g.fmt(min(end - 1, start + 8 * HOUR)) if state in ("3", "4") else "")
    cols = {
        "sys_id": ids, "number": _numbers("CHG", n),
        "short_description": rng.choices(pools.CHANGE_TOPICS, k=n), "description": rng.choices(pools.DESCRIPTIONS,
                                                                                                k=n),
        "state": states, "active": ["false" if s in ("3", "4") else "true" for s in states],
        "priority": rng.choices(("2", "3", "4"), (10, 50, 40), k=n), "impact": rng.choices("123", (10, 40, 50), k=n),
        "urgency": rng.choices("123", (10, 40, 50), k=n), "assignment_group": rng.choices(refs.groups, k=n),
        "assigned_to": rng.choices(refs.users, k=n), "opened_by": rng.choices(refs.users, k=n),
        "opened_at": g.fmts(opened), "closed_at": closed, "approval": approvals,
        "cmdb_ci": rng.choices(refs.cis, k=n), "type": rng.choices(("normal", "standard", "emergency"), (60, 30, 10),
                                                                    k=n),
        "phase": ["complete" if s == "3" else "requested" for s in states], "risk": rng.choices("234", (15, 55, 30),
                                                                                                 k=n),
        "category": rng.choices(("Hardware", "Software", "Network", "Database", "Security"), k=n),
        "requested_by": rng.choices(refs.users, k=n), "start_date": starts, "end_date": ends, "cab_date": cab,
        "justification": "Required to keep the service supported and secure.",
        "implementation_plan": rng.choices(pools.CHANGE_PLANS, k=n), "backout_plan": "Restore from snapshot.",
        "test_plan": "Smoke test the service and check monitoring.",
        "close_code": [c if s == "3" else "" for s, c in zip(states, rng.choices(
            ("successful", "successful_issues", "unsuccessful"), (85, 10, 5), k=n), strict=True)],
        **sys_columns(g, rng, "change_request", opened, refs.people),
    }
    return to_rows("change_request", cols, n), ids


def incidents(g: Gen, n: int, refs: Refs, change_ids: list[str]) -> tuple[list[tuple[str, ...]], list[str]]:
    rng = g.rng("incident")
    ids, opened = g.sys_ids(rng, n), g.times(rng, n)
    impact, urgency = rng.choices("123", (15, 35, 50), k=n), rng.choices("123", (15, 35, 50), k=n)
    priority = [PRIORITY[iu] for iu in zip(impact, urgency, strict=True)]
    assignees, topics = rng.choices(refs.users, k=n), rng.choices(pools.INCIDENT_TOPICS, k=n)
    rnd, end, choices = rng.random, g.end, rng.choices
    fmt = g.fmt
    names = ("1", "2", "3", "6", "7", "8")
    old_states = choices(names, (3, 6, 3, 5, 78, 5), k=n)
    new_states = choices(names, (20, 35, 10, 20, 10, 5), k=n)
    # Guaranteed control failures at any size: resolved P1s past the 4h SLA, open unassigned P1/P2s.
    forced = {i: ("breach", "unassigned")[k % 2] for k, i in enumerate(rng.sample(range(n), min(n, max(4, n // 100))))}
    st_col, res_col, resby_col, clo_col, cloby_col, sla_col, asg_col, last = [], [], [], [], [], [], [], []
    for i in range(n):
        kind = forced.get(i)
        if kind is not None:
            impact[i], urgency[i] = "1", "1" if kind == "breach" or i % 2 else "2"
            priority[i] = PRIORITY[(impact[i], urgency[i])]
            if opened[i] > end - 8 * DAY:  # leave room to be resolved (late) before the anchor
                opened[i] -= 8 * DAY
        t, p = opened[i], priority[i]
        state = old_states[i] if end - t > 14 * DAY else new_states[i]
        if kind is not None:
            state = ("7" if i % 3 else "6") if kind == "breach" else ("1" if i % 2 else "2")
        who = assignees[i] if rnd() >= (0.7 if state == "1" else 0.03) and kind != "unassigned" else ""
        resolved = closed = 0
        breach = False
        if state in ("6", "7"):
            if p == "1":
                breach = rnd() < 0.3 or kind == "breach"
                dur = int((4 + rnd() * 68) * HOUR) if breach else int((0.25 + rnd() * 3.5) * HOUR)
            else:
                dur = int((0.5 + rnd() * rnd() * 240) * HOUR)
            resolved = t + dur
            if resolved >= end:
                state, resolved, breach = "2", 0, False
            elif state == "7":
                closed = resolved + int((1 + rnd() * 4) * DAY)
                if closed >= end:
                    state, closed = "6", 0
        elif state == "8":
            closed = min(end - 1, t + int(rnd() * 2 * DAY))
        resolver = (who or assignees[i - 1]) if resolved else ""
        st_col.append(state)
        asg_col.append(who)
        res_col.append(fmt(resolved) if resolved else "")
        resby_col.append(resolver)
        clo_col.append(fmt(closed) if closed else "")
        cloby_col.append(resolver if closed and state == "7" else "")
        sla_col.append("false" if breach else "true")
        last.append(max(t, resolved, closed))
    cols = {
        "sys_id": ids, "number": _numbers("INC", n), "short_description": [x[2] for x in topics],
        "description": choices(pools.DESCRIPTIONS, k=n), "state": st_col, "incident_state": st_col,
        "active": ["false" if s in ("7", "8") else "true" for s in st_col], "priority": priority,
        "impact": impact, "urgency": urgency, "severity": choices("123", (5, 15, 80), k=n),
        "assignment_group": [x if rnd() >= 0.05 else "" for x in choices(refs.groups, k=n)],
        "assigned_to": asg_col, "opened_by": choices(refs.users, k=n), "opened_at": g.fmts(opened),
        "closed_at": clo_col, "closed_by": cloby_col, "approval": "not requested",
        "cmdb_ci": [x if rnd() < 0.8 else "" for x in choices(refs.cis, k=n)],
        "caller_id": choices(refs.users, k=n), "category": [x[0] for x in topics],
        "subcategory": [x[1] for x in topics],
        "hold_reason": [h if s == "3" else "" for s, h in zip(st_col, choices("1345", k=n), strict=True)],
        "rfc": [rng.choice(change_ids) if rnd() < 0.04 else "" for _ in range(n)],
        "close_code": [c if s in ("6", "7") else "" for s, c in zip(st_col, choices(pools.CLOSE_CODES, k=n),
                                                                      strict=True)],
        "close_notes": [c if s in ("6", "7") else "" for s, c in zip(st_col, choices(pools.CLOSE_NOTES, k=n),
                                                                       strict=True)],
        "resolved_at": res_col, "resolved_by": resby_col,
        "reopen_count": choices("01", (95, 5), k=n), "reassignment_count": choices("0123", (60, 25, 10, 5), k=n),
        "contact_type": choices(pools.CONTACT_TYPES, k=n),
        "parent_incident": [ids[int(rnd() * i)] if i and rnd() < 0.02 else "" for i in range(n)],
        "made_sla": sla_col, "escalation": "0",
        **sys_columns(g, rng, "incident", opened, refs.people),
    }
    cols["sys_updated_on"] = g.fmts(g.updated_after(rng, last))
    return to_rows("incident", cols, n), ids


def requests_and_tasks(g: Gen, n: int, refs: Refs) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    rng = g.rng("sc_request")
    ids, opened = g.sys_ids(rng, n), g.times(rng, n)
    items = rng.choices(pools.CATALOG_ITEMS, k=n)
    states = rng.choices(("1", "2", "3", "4"), (15, 20, 60, 5), k=n)
    base = {"priority": "4", "impact": "3", "urgency": "3", "opened_at": g.fmts(opened),
            "assignment_group": rng.choices(refs.groups, k=n), "opened_by": rng.choices(refs.users, k=n)}
    req = {
        **base, "sys_id": ids, "number": _numbers("REQ", n), "short_description": items, "state": states,
        "active": ["false" if s in ("3", "4") else "true" for s in states], "approval": "approved",
        "request_state": [{"1": "requested", "2": "in_process", "3": "closed_complete"}.get(s, "closed_incomplete")
                          for s in states],
        "stage": ["closed_complete" if s == "3" else "fulfillment" for s in states],
        "requested_for": rng.choices(refs.users, k=n), "price": rng.choices(("0", "49.99", "129.00", "1299.00"),
                                                                            k=n),
        **sys_columns(g, rng, "sc_request", opened, refs.people),
    }
    trng = g.rng("sc_task")
    tstates = trng.choices(("1", "2", "3", "4", "7"), (15, 20, 55, 5, 5), k=n)
    task = {
        **base, "sys_id": g.sys_ids(trng, n), "number": _numbers("SCTASK", n),
        "short_description": [f"Fulfil: {x}" for x in items], "state": tstates, "request": ids,
        "active": ["false" if s in ("3", "4", "7") else "true" for s in tstates],
        "assigned_to": [x if trng.random() < 0.8 else "" for x in trng.choices(refs.users, k=n)],
        "parent": ids, **sys_columns(g, trng, "sc_task", opened, refs.people),
    }
    return to_rows("sc_request", req, n), to_rows("sc_task", task, n)


def attachments(g: Gen, incident_rows: list[tuple[str, ...]], k: int) -> tuple[list[tuple[str, ...]], dict]:
    """Small deterministic text/CSV/PDF-like files on k random incidents."""
    rng = g.rng("sys_attachment")
    chosen = sorted(rng.sample(range(len(incident_rows)), k))
    ids = g.sys_ids(rng, k)
    files: dict[str, bytes] = {}
    cols: dict[str, list[str]] = {f: [] for f in ("file_name", "content_type", "size_bytes", "table_sys_id",
                                                  "download_link", "hash", "sys_created_on")}
    pos = {f: i for i, f in enumerate(SCHEMAS["incident"].names)}
    for sid, row in zip(ids, chosen, strict=True):
        inc = incident_rows[row]
        number, title, opened = inc[pos["number"]], inc[pos["short_description"]], inc[pos["opened_at"]]
        name, ctype = rng.choice(pools.FILE_KINDS)
        text = f"{number} {title}\nopened {opened}\n"
        if ctype == "application/pdf":
            content = f"%PDF-1.4\n% sandbox evidence for {number}\n{text}%%EOF\n".encode()
        elif ctype == "text/csv":
            content = f"number,short_description\n{number},\"{title}\"\n".encode()
        else:
            content = text.encode()
        files[sid] = content
        for key, value in (("file_name", f"{number}_{name}"), ("content_type", ctype),
                           ("size_bytes", str(len(content))), ("table_sys_id", inc[pos["sys_id"]]),
                           ("download_link", f"/api/now/attachment/{sid}/file"),
                           ("hash", hashlib.sha256(content).hexdigest()), ("sys_created_on", opened)):
            cols[key].append(value)
    full = {**cols, "sys_id": ids, "size_compressed": cols["size_bytes"], "compressed": "true",
            "table_name": "incident", "state": "available", "sys_updated_on": cols["sys_created_on"],
            "sys_created_by": "system", "sys_updated_by": "system", "sys_mod_count": "0"}
    return to_rows("sys_attachment", full, k), files


def add_task_tables(g: Gen, ds: Dataset, size: int, refs: Refs) -> None:
    n_chg, n_req = max(20, size // 5), max(10, size // 10)
    ds.rows["change_request"], change_ids = changes(g, n_chg, refs)
    ds.rows["incident"], _ = incidents(g, size, refs, change_ids)
    ds.rows["sc_request"], ds.rows["sc_task"] = requests_and_tasks(g, n_req, refs)
    ds.rows["task"], ds.rows[REMEDIATION_TABLE], ds.rows["sys_audit_delete"] = [], [], []
    n_att = min(max(size // 10, 1), 20_000) if size else 0
    ds.rows["sys_attachment"], ds.files = attachments(g, ds.rows["incident"], n_att)
    ds.counters = {"incident": 10001 + size, "change_request": 10001 + n_chg, "sc_request": 10001 + n_req,
                   "sc_task": 10001 + n_req, "task": 10001, REMEDIATION_TABLE: 10001}
