"""The site's audit log: GET `/auditing/record`, written by the administration routes.

Records are added (newest last in `store.work["audit"]`) when a project is created, edited or deleted, a custom
field or an issue type is created, edited or deleted, a group is created or deleted, or a user is added to or
removed from a group. A fresh sandbox's log is empty.

GET `/auditing/record` (`offset`, `limit` default and at most 1000, `filter`, `from`, `to`): newest first,
`{"offset","limit","total","records"}`. `filter` is split on spaces and every word must occur (any case) in
the summary, category, event source, object name/parent name/type, a changed value or the remote address;
`from`/`to` are ISO date-times (or dates) compared with the record's `created`, both inclusive.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.timefmt import jira_ts, to_ms

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox


def record(sb: JiraSandbox, c: Call, summary: str, category: str, item: tuple[str, str, str],
           changed: list[tuple[str, Any, Any]] | None = None, associated: list[tuple[str, str, str]] | None = None,
           description: str | None = None) -> None:
    """Append an audit record; `item` and `associated` entries are (id, name, typeName)."""
    def bean(x: tuple[str, str, str]) -> dict[str, str]:
        return {"id": str(x[0]), "name": str(x[1]), "typeName": x[2], "parentId": "1", "parentName": "Jira"}

    with sb.store.lock:
        log = sb.store.work.setdefault("audit", [])
        log.append({"id": len(log) + 10000, "summary": summary, "category": category, "eventSource": "",
                    "remoteAddress": c.req.client or "127.0.0.1", "authorKey": c.user, "created": sb.store.now_ms(),
                    "objectItem": bean(item), "description": description,
                    "changedValues": [{"fieldName": f, **({"changedFrom": str(a)} if a not in (None, "") else {}),
                                       **({"changedTo": str(b)} if b not in (None, "") else {})}
                                      for f, a, b in changed or []],
                    "associatedItems": [bean(x) for x in associated or []]})


def _instant(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    try:
        return to_ms(datetime.fromisoformat(raw.replace("Z", "+00:00")))
    except ValueError:
        raise fail(400, f"The '{name}' parameter is not a valid date-time.") from None


def _haystack(r: dict[str, Any]) -> str:
    item = r["objectItem"]
    parts = [r["summary"], r["category"], r["eventSource"], item["name"], item["parentName"], item["typeName"],
             r["remoteAddress"]] + [v for cv in r["changedValues"] for v in (cv.get("changedFrom"),
                                                                            cv.get("changedTo")) if v]
    return " ".join(str(p) for p in parts).lower()


def register(sb: JiraSandbox) -> None:
    def records(c: Call) -> Response:
        offset, limit = c.qint("offset", 0), c.qint("limit", 1000, 0, 1000)
        lo, hi = _instant(c.q("from"), "from"), _instant(c.q("to"), "to")
        words = (c.q("filter") or "").lower().split()
        rows = [r for r in reversed(list(sb.store.work.get("audit", [])))
                if (lo is None or r["created"] >= lo) and (hi is None or r["created"] <= hi)
                and all(w in _haystack(r) for w in words)]
        beans = [{**{k: v for k, v in r.items() if v is not None}, "created": jira_ts(r["created"])}
                 for r in rows[offset:offset + limit]]
        return json_response({"offset": offset, "limit": limit, "total": len(rows), "records": beans})

    sb.route("GET", r"/auditing/record", admin_only(sb, records))  # the spec: Administer Jira, else 403 (round 33)
