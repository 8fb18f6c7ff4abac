"""Jira beans -> flat rows, one function per table. Values stay the vendor's, as strings (ids,
timestamps, numbers) or JSON lists; staging casts them. Nothing here raises on a malformed bean:
missing or wrongly typed parts come out as ``None`` (or the odd value itself) and the pandera
schemas in :mod:`pipelines.jira.schemas` decide what is quarantined.

Grain: ``issues`` one row per issue; ``issue_changelog`` one row per changed field of a history
entry; ``comments`` / ``attachments`` one row per comment / attachment; ``sprint_issues`` one row per
(sprint, issue) membership; ``projects`` / ``boards`` / ``sprints`` one row per object.
"""

from __future__ import annotations

import re
from typing import Any

from pipelines.jira.helpers import FieldMap

EPIC_LEVEL = 1


def _obj(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _s(value: Any) -> Any:
    """Ids and numbers as strings; None stays None; anything else is passed on for validation to judge."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    return value


def _account(value: Any) -> Any:
    return _s(_obj(value).get("accountId"))


def _names(value: Any) -> Any:
    """The names of a list of objects (components, versions); a value that is not a list (a string, an
    object) is passed on as it came, for validation to quarantine (``schemas.LISTS``)."""
    if value is None:
        return []
    if not isinstance(value, list):
        return value
    return [str(_obj(v).get("name")) for v in value if _obj(v).get("name") is not None]


def issue_row(bean: dict[str, Any], fm: FieldMap) -> dict[str, Any]:
    """The ``issues`` row of one search result."""
    f = _obj(bean.get("fields"))
    status, project, itype, parent = (_obj(f.get(k)) for k in ("status", "project", "issuetype", "parent"))
    parent_type = _obj(_obj(parent.get("fields")).get("issuetype"))
    points = next((f.get(i) for i in fm.story_points if f.get(i) is not None), None)
    epic_link = f.get(fm.epic_link) if fm.epic_link else None
    labels = f.get("labels")
    return {
        "id": _s(bean.get("id")), "key": bean.get("key"),
        "project_id": _s(project.get("id")), "project_key": project.get("key"),
        "issue_type": itype.get("name"), "issue_type_id": _s(itype.get("id")),
        "summary": f.get("summary"),
        "status": status.get("name"), "status_id": _s(status.get("id")),
        "status_category": _obj(status.get("statusCategory")).get("key"),
        "priority": _obj(f.get("priority")).get("name"), "resolution": _obj(f.get("resolution")).get("name"),
        # a label list that is not a list (a string, an object) is passed on: validation quarantines it
        "labels": [str(x) for x in labels] if isinstance(labels, list) else [] if labels is None else labels,
        "components": _names(f.get("components")), "fix_versions": _names(f.get("fixVersions")),
        "assignee_account_id": _account(f.get("assignee")), "reporter_account_id": _account(f.get("reporter")),
        "creator_account_id": _account(f.get("creator")),
        "parent_id": _s(parent.get("id")), "parent_key": parent.get("key"),
        "epic_key": parent.get("key") if parent_type.get("hierarchyLevel") == EPIC_LEVEL else _s(epic_link),
        "story_points": _s(points), "sprint_ids": sprint_ids(bean, fm),
        "created": f.get("created"), "updated": f.get("updated"), "resolutiondate": f.get("resolutiondate"),
        "statuscategorychangedate": f.get("statuscategorychangedate"), "duedate": f.get("duedate"),
    }


def sprint_ids(bean: dict[str, Any], fm: FieldMap) -> Any:
    """The ids of the issue's sprints (the discovered Sprint field): ``[]`` when the field is null or
    absent (an issue in no sprint); a value that is not a list (a string, a number, an object) is passed
    on as it came, for validation to quarantine (``schemas.LISTS``) rather than stored as "no sprint"."""
    value = _obj(bean.get("fields")).get(fm.sprint) if fm.sprint else None
    if value is None:
        return []
    if not isinstance(value, list):
        return value
    return [_sprint_id(item) for item in value]


# Jira Server / Data Center (and old Cloud responses) send each sprint as the text of a Java object:
# "com.atlassian.greenhopper.service.sprint.Sprint@1a2b3c[id=7,rapidViewId=3,state=ACTIVE,name=S 7,...]"
_GREENHOPPER_ID = re.compile(r"^com\.atlassian\.greenhopper\.service\.sprint\.Sprint@\w*\[(?:[^\]]*,)?id=(\d+)[,\]]")


def _sprint_id(item: Any) -> Any:
    """A sprint's id as text: from a sprint object (Cloud), a bare number, or Server's Java text; any
    other item is returned as it came, for validation to quarantine the issue (``schemas.list_problem``)
    rather than drop the sprint silently."""
    if isinstance(item, dict):
        item = item.get("id")
    if isinstance(item, int) and not isinstance(item, bool) and item >= 0:
        return str(item)
    if isinstance(item, str):
        if item.isascii() and item.isdigit():
            return item
        if match := _GREENHOPPER_ID.match(item):
            return match.group(1)
    return item


def sprint_issue_rows(issue: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"sprint_id": sid, "issue_id": issue["id"], "issue_key": issue["key"]} for sid in issue["sprint_ids"]]


def changelog_rows(bean: dict[str, Any], issue: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for history in _obj(bean.get("changelog")).get("histories") or []:
        h = _obj(history)
        for n, item in enumerate(h.get("items") or []):
            it = _obj(item)
            rows.append({
                "id": f"{_s(h.get('id'))}:{n}", "history_id": _s(h.get("id")), "item_index": str(n),
                "issue_id": issue["id"], "issue_key": issue["key"], "author_account_id": _account(h.get("author")),
                "created": h.get("created"), "field": it.get("field"), "field_id": it.get("fieldId"),
                "field_type": it.get("fieldtype"), "from_value": _s(it.get("from")),
                "from_string": _s(it.get("fromString")), "to_value": _s(it.get("to")),
                "to_string": _s(it.get("toString")),
            })
    return rows


def comment_rows(bean: dict[str, Any], issue: dict[str, Any]) -> list[dict[str, Any]]:
    comments = _obj(_obj(bean.get("fields")).get("comment")).get("comments") or []
    return [{
        "id": _s(c.get("id")), "issue_id": issue["id"], "issue_key": issue["key"],
        "author_account_id": _account(c.get("author")), "update_author_account_id": _account(c.get("updateAuthor")),
        "body_text": adf_text(c.get("body")), "created": c.get("created"), "updated": c.get("updated"),
    } for c in map(_obj, comments)]


def attachment_rows(bean: dict[str, Any], issue: dict[str, Any]) -> list[dict[str, Any]]:
    attachments = _obj(bean.get("fields")).get("attachment") or []
    return [{
        "id": _s(a.get("id")), "issue_id": issue["id"], "issue_key": issue["key"], "filename": a.get("filename"),
        "mime_type": a.get("mimeType"), "size_bytes": _s(a.get("size")), "created": a.get("created"),
        "author_account_id": _account(a.get("author")),
    } for a in map(_obj, attachments if isinstance(attachments, list) else [])]


def project_row(p: dict[str, Any]) -> dict[str, Any]:
    return {"id": _s(p.get("id")), "key": p.get("key"), "name": p.get("name"),
            "project_type_key": p.get("projectTypeKey"), "style": p.get("style"),
            "simplified": _s(p.get("simplified")), "is_private": _s(p.get("isPrivate")),
            "lead_account_id": _account(p.get("lead")), "description": p.get("description")}


def board_row(b: dict[str, Any]) -> dict[str, Any]:
    location = _obj(b.get("location"))
    return {"id": _s(b.get("id")), "name": b.get("name"), "type": b.get("type"),
            "project_id": _s(location.get("projectId")), "project_key": location.get("projectKey")}


def sprint_row(s: dict[str, Any]) -> dict[str, Any]:
    return {"id": _s(s.get("id")), "board_id": _s(s.get("originBoardId")), "name": s.get("name"),
            "state": s.get("state"), "goal": s.get("goal"), "start_date": s.get("startDate"),
            "end_date": s.get("endDate"), "complete_date": s.get("completeDate"), "created_date": s.get("createdDate")}


def adf_text(body: Any) -> Any:
    """Plain text of an Atlassian Document Format body (v3); a v2 string is returned as is."""
    if body is None or isinstance(body, str):
        return body
    parts: list[str] = []
    # Depth first without recursion: a body nested ~1,000 levels deep (orjson reads up to 1,024) overflowed
    # Python's stack. A paragraph, heading or list item ends in a line break after its children.
    stack: list[Any] = [body]
    while stack:
        node = stack.pop()
        if node is _LINE_END:
            if parts and parts[-1] != "\n":
                parts.append("\n")
        elif isinstance(node, dict):
            if node.get("type") == "text" and isinstance(node.get("text"), str):
                parts.append(node["text"])
            elif node.get("type") == "hardBreak":
                parts.append("\n")
            if node.get("type") in ("paragraph", "heading", "listItem"):
                stack.append(_LINE_END)
            children = node.get("content") or []
            if isinstance(children, list):
                stack.extend(reversed(children))
        elif isinstance(node, list):
            stack.extend(reversed(node))
    return "".join(parts).strip()


_LINE_END = object()
