"""Generated records of the task tables every instance has beside the ones Project X reads: problems and
their tasks, change tasks, requested items (RITM) and the catalog items they order.

Grain: one problem per 50 incidents (at least 5) with one problem task each; one change task per change
request; one requested item per request (same state, item and requester). Each table draws from its own
RNG, so adding these tables leaves the rows of incident, change_request and sc_request as they were for
the same seed; sc_task rows change only in request_item, which links each catalog task to the RITM of its
request (as an instance always does: the item's fulfilment workflow creates the task).
"""

from __future__ import annotations

from sandbox.servicenow import pools
from sandbox.servicenow.data import Dataset, Gen, sys_columns, to_rows
from sandbox.servicenow.schema import SCHEMAS

DAY = 86400
MIN_PROBLEMS = 10
CATEGORY = {"New laptop": "Hardware", "Mobile phone": "Hardware", "Standard desktop": "Hardware",
            "Additional monitor": "Hardware", "Developer workstation": "Hardware", "VPN token": "Hardware"}


def _numbers(prefix: str, n: int, first: int = 10001) -> list[str]:
    return [f"{prefix}{i:07d}" for i in range(first, first + n)]


def _column(ds: Dataset, table: str, field: str) -> list[str]:
    i = SCHEMAS[table].names.index(field)
    return [t[i] for t in ds.rows[table]]


def catalog_items(g: Gen) -> tuple[list[tuple[str, ...]], dict[str, str]]:
    rng = g.rng("sc_cat_item")
    names = list(pools.CATALOG_ITEMS)
    n = len(names)
    ids, created = g.sys_ids(rng, n), [g.start - 90 * DAY] * n
    cols = {
        "sys_id": ids, "name": names, "short_description": [f"Order: {x}" for x in names],
        "category": [CATEGORY.get(x, "Software" if "license" in x else "Access") for x in names],
        "price": rng.choices(("0", "49.99", "129.00", "1299.00"), k=n), "active": "true",
        "order": [str(100 * (i + 1)) for i in range(n)],
        **sys_columns(g, rng, "sc_cat_item", created, ["admin"]),
    }
    return to_rows("sc_cat_item", cols, n), dict(zip(names, ids, strict=True))


SYS_COPY = ("sys_created_on", "sys_updated_on", "sys_created_by", "sys_updated_by", "sys_mod_count")


def _born_with(ds: Dataset, parent: str, table: str) -> dict[str, object]:
    """sys_* columns of records created with their parent record (by its workflow): the parent's."""
    return {"sys_class_name": table, "sys_domain": "global", "sys_tags": "",
            **{f: _column(ds, parent, f) for f in SYS_COPY}}


def requested_items(g: Gen, ds: Dataset, items: dict[str, str]) -> list[tuple[str, ...]]:
    """One RITM per request, in the request's state, ordering the request's item for its requester."""
    rng = g.rng("sc_req_item")
    req_ids = _column(ds, "sc_request", "sys_id")
    n = len(req_ids)
    states, titles = _column(ds, "sc_request", "state"), _column(ds, "sc_request", "short_description")
    cols = {
        "sys_id": g.sys_ids(rng, n), "number": _numbers("RITM", n), "short_description": titles,
        "state": states, "active": ["false" if s in ("3", "4", "7") else "true" for s in states],
        "priority": "4", "impact": "3", "urgency": "3", "approval": "approved",
        "assignment_group": _column(ds, "sc_request", "assignment_group"),
        "assigned_to": [x if rng.random() < 0.7 else "" for x in _column(ds, "sc_request", "opened_by")],
        "opened_by": _column(ds, "sc_request", "opened_by"), "opened_at": _column(ds, "sc_request", "opened_at"),
        "request": req_ids, "cat_item": [items.get(t, "") for t in titles],
        "requested_for": _column(ds, "sc_request", "requested_for"),
        "stage": [{"3": "complete", "4": "Request Cancelled", "1": "waiting_for_approval"}.get(s, "fulfillment")
                  for s in states],
        "quantity": rng.choices("1112", k=n), "price": _column(ds, "sc_request", "price"), "recurring_price": "0",
        "backordered": "false", **_born_with(ds, "sc_request", "sc_req_item"),
    }
    return to_rows("sc_req_item", cols, n)


def link_catalog_tasks(ds: Dataset) -> None:
    """sc_task.request_item = the RITM ordered by the task's request (one RITM per request)."""
    ritm = dict(zip(_column(ds, "sc_req_item", "request"), _column(ds, "sc_req_item", "sys_id"), strict=True))
    req, item = SCHEMAS["sc_task"].names.index("request"), SCHEMAS["sc_task"].names.index("request_item")
    ds.rows["sc_task"] = [(*t[:item], ritm.get(t[req], t[item]), *t[item + 1:]) for t in ds.rows["sc_task"]]


def change_tasks(g: Gen, ds: Dataset) -> list[tuple[str, ...]]:
    """One task per change request, created with it; its state follows the change's."""
    rng = g.rng("change_task")
    chg_ids, chg_states = _column(ds, "change_request", "sys_id"), _column(ds, "change_request", "state")
    n = len(chg_ids)
    states = [{"3": "3", "4": "4", "-1": "2", "0": "3"}.get(s, "-5" if s in ("-5", "-4", "-3") else "1")
              for s in chg_states]
    kinds = rng.choices(("planning", "implementation", "testing", "review"), (15, 55, 20, 10), k=n)
    cols = {
        "sys_id": g.sys_ids(rng, n), "number": _numbers("CTASK", n),
        "short_description": [f"{k.capitalize()}: {d}" for k, d in zip(
            kinds, _column(ds, "change_request", "short_description"), strict=True)],
        "state": states, "active": ["false" if s in ("3", "4") else "true" for s in states],
        "priority": _column(ds, "change_request", "priority"), "impact": "3", "urgency": "3",
        "assignment_group": _column(ds, "change_request", "assignment_group"),
        "assigned_to": _column(ds, "change_request", "assigned_to"),
        "opened_by": _column(ds, "change_request", "opened_by"),
        "opened_at": _column(ds, "change_request", "opened_at"),
        "closed_at": [c if s in ("3", "4") else "" for s, c in zip(
            states, _column(ds, "change_request", "closed_at"), strict=True)],
        "approval": "not requested", "cmdb_ci": _column(ds, "change_request", "cmdb_ci"),
        "parent": chg_ids, "change_request": chg_ids, "change_task_type": kinds,
        "planned_start_date": _column(ds, "change_request", "start_date"),
        "planned_end_date": _column(ds, "change_request", "end_date"), "on_hold": "false",
        "close_code": ["successful" if s == "3" else "" for s in states],
        **_born_with(ds, "change_request", "change_task"),
    }
    return to_rows("change_task", cols, n)


def problems(g: Gen, ds: Dataset, n: int, people: list[str], stream: str = "problem", first_number: int = 10001
             ) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]]]:
    """n problems first reported by an incident, each with one root-cause-analysis or general task."""
    rng = g.rng(stream)
    inc_ids = _column(ds, "incident", "sys_id")
    users = [u for u in _column(ds, "incident", "assigned_to") if u] or _column(ds, "incident", "opened_by")
    groups = [x for x in _column(ds, "incident", "assignment_group") if x]
    first = rng.sample(range(len(inc_ids)), min(n, len(inc_ids)))
    n = len(first)
    ids, opened = g.sys_ids(rng, n), g.times(rng, n)
    names = ("101", "102", "103", "104", "106", "107")
    states = [rng.choices(names, (5, 5, 10, 10, 10, 60) if g.end - t > 30 * DAY else (25, 20, 25, 15, 10, 5))[0]
              for t in opened]
    resolved = [t + int((2 + rng.random() * 20) * DAY) for t in opened]
    resolved = [r if s in ("106", "107") and r < g.end else 0 for s, r in zip(states, resolved, strict=True)]
    states = [s if r or s not in ("106", "107") else "104" for s, r in zip(states, resolved, strict=True)]
    closed = [min(r + DAY, g.end - 1) if s == "107" else 0 for s, r in zip(states, resolved, strict=True)]
    assignees = rng.choices(users, k=n)
    topics = rng.choices(pools.INCIDENT_TOPICS, k=n)
    prb = {
        "sys_id": ids, "number": _numbers("PRB", n, first_number),
        "short_description": [f"Recurring: {x[2]}" for x in topics],
        "description": rng.choices(pools.DESCRIPTIONS, k=n), "state": states,
        "active": ["false" if s == "107" else "true" for s in states],
        "problem_state": [{"106": "4", "107": "4", "104": "2"}.get(s, "1") for s in states],
        "priority": rng.choices("2345", (10, 30, 40, 20), k=n), "impact": rng.choices("123", (10, 40, 50), k=n),
        "urgency": rng.choices("123", (10, 40, 50), k=n), "assignment_group": rng.choices(groups or [""], k=n),
        "assigned_to": [a if s != "101" else "" for a, s in zip(assignees, states, strict=True)],
        "opened_by": rng.choices(users, k=n), "opened_at": g.fmts(opened),
        "closed_at": [g.fmt(c) if c else "" for c in closed],
        "closed_by": [a if s == "107" else "" for a, s in zip(assignees, states, strict=True)],
        "approval": "not requested", "category": [x[0] for x in topics], "subcategory": [x[1] for x in topics],
        "first_reported_by_task": [inc_ids[i] for i in first],
        "known_error": ["true" if s in ("104", "106", "107") else "false" for s in states],
        "related_incidents": [str(1 + int(rng.random() * 6)) for _ in range(n)],
        "workaround": [rng.choice(pools.CLOSE_NOTES) if s >= "103" else "" for s in states],
        "resolution_code": [rng.choice(("fix_applied", "fix_applied", "risk_accepted")) if r else ""
                            for r in resolved],
        "resolved_at": [g.fmt(r) if r else "" for r in resolved],
        "resolved_by": [a if r else "" for a, r in zip(assignees, resolved, strict=True)],
        **sys_columns(g, rng, "problem", opened, people),
    }
    prb["sys_updated_on"] = g.fmts(g.updated_after(rng, [max(t) for t in zip(opened, resolved, closed, strict=True)]))
    trng = g.rng(stream.replace("problem", "problem_task", 1))
    tstates = [{"107": "157", "106": "157", "101": "151", "102": "152"}.get(s, "154") for s in states]
    kinds = trng.choices(("rca", "general"), (70, 30), k=n)
    topened = [t + int(trng.random() * DAY) for t in opened]
    topened = [min(t, g.end - 1) for t in topened]
    task = {
        "sys_id": g.sys_ids(trng, n), "number": _numbers("PTASK", n, first_number),
        "short_description": [("Find the root cause: " if k == "rca" else "Follow up: ") + d
                              for k, d in zip(kinds, prb["short_description"], strict=True)],
        "state": tstates, "active": ["false" if s == "157" else "true" for s in tstates],
        "priority": prb["priority"], "impact": "3", "urgency": "3", "approval": "not requested",
        "assignment_group": prb["assignment_group"], "assigned_to": prb["assigned_to"],
        "opened_by": prb["assigned_to"], "opened_at": g.fmts(topened),
        "closed_at": [r if s == "157" else "" for r, s in zip(prb["resolved_at"], tstates, strict=True)],
        "parent": ids, "problem": ids, "problem_task_type": kinds,
        "close_code": ["completed" if s == "157" else "" for s in tstates],
        **sys_columns(g, trng, "problem_task", topened, people),
    }
    task["sys_updated_on"] = g.fmts(g.updated_after(trng, [max(t, r) if s == "157" else t for t, r, s in zip(
        topened, resolved, tstates, strict=True)]))
    return to_rows("problem", prb, n), to_rows("problem_task", task, n)


def add_itsm_tables(g: Gen, ds: Dataset, size: int, people: list[str]) -> None:
    """Add the tables above to `ds` (after the task tables they refer to) and their number counters."""
    ds.rows["sc_cat_item"], items = catalog_items(g)
    ds.rows["sc_req_item"] = requested_items(g, ds, items)
    link_catalog_tasks(ds)
    ds.rows["change_task"] = change_tasks(g, ds)
    ds.rows["problem"], ds.rows["problem_task"] = problems(g, ds, max(5, size // 50), people)
    for table in ("sc_req_item", "change_task", "problem", "problem_task"):
        ds.counters[table] = 10001 + len(ds.rows[table])


def add_more_problems(g: Gen, ds: Dataset, people: list[str]) -> None:
    """Problems up to MIN_PROBLEMS at any size, drawn after everything else from their own stream and
    numbered after the seeded ones (PySNC's test_batch_multi and test_serialize_all_batch read 9 problems
    in batches of 3 from a developer instance's demo data) [unc: how many an instance has]. Each has its
    problem task, numbered after the seeded ones too."""
    have = len(ds.rows["problem"])
    if have < MIN_PROBLEMS:
        more, tasks = problems(g, ds, MIN_PROBLEMS - have, people, "problem:more", 10001 + have)
        ds.rows["problem"] = ds.rows["problem"] + more
        ds.rows["problem_task"] = ds.rows["problem_task"] + tasks
        for table in ("problem", "problem_task"):
            ds.counters[table] = 10001 + len(ds.rows[table])
