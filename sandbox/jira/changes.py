"""API payload -> issue attribute changes, and attribute changes -> changelog items.

`parse_fields` validates a create/edit payload (`fields` + `update` operations) the way Jira does and
returns (attrs, comment bodies, errors); errors use Jira's per-field messages. `diff_items` turns a
set of attribute changes into changelog items (`field`, `fieldtype`, `fieldId`, `from`, `fromString`,
`to`, `toString`).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from sandbox.jira import catalog as C
from sandbox.jira import custom_values, estimates
from sandbox.jira.adf import plain, valid_adf
from sandbox.jira.assignable import assignable, refusal
from sandbox.jira.errors import fail, shaped
from sandbox.jira.ids import decimal_number, is_id
from sandbox.jira.text_limits import TEXT_TOO_LONG, label_problem, text_too_long

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.store import JiraStore

_UNKNOWN = "Field '{}' cannot be set. It is not on the appropriate screen, or unknown."


def _ref(value: Any) -> str | None:
    if isinstance(value, dict):
        for k in ("key", "id", "name", "accountId", "value"):
            if value.get(k) not in (None, ""):
                return str(value[k])
        return None
    return None if value is None else str(value)


def _is_date(value: Any) -> bool:
    """Jira's REST date form, yyyy-MM-dd (a real calendar day)."""
    try:
        return isinstance(value, str) and len(value) == 10 and date.fromisoformat(value) is not None
    except ValueError:
        return False


def _user(store: JiraStore, value: Any, field: str, errors: dict[str, str]) -> str | None:
    ref = _ref(value)
    if ref is None or ref == "-1":
        return None
    if ref not in store.users:
        errors[field] = f"Specified user '{ref}' does not exist or you do not have required permissions."
    return ref


# issue field -> (Issue attribute, store.work kind, label in Jira's messages, changelog field name)
MULTI = {"components": ("components", "components", "Component", "Component"),
         "fixVersions": ("fix_versions", "versions", "Version", "Fix Version"),
         "versions": ("versions", "versions", "Version", "Version")}


def _thing_id(store: JiraStore, field: str, project: str | None, ref: Any, errors: dict[str, str]) -> int | None:
    """A component/version reference (`{"id"}` or `{"name"}`) of `project` -> its id; Jira's errors otherwise."""
    _attr, kind, label, _ = MULTI[field]
    if not isinstance(ref, dict):
        errors[field] = "expected Object"
        return None
    if project is None:
        return None
    things = [x for x in list(store.work[kind].values()) if x["project"] == project]
    if ref.get("id") not in (None, ""):
        ident = str(ref["id"])
        hit = next((x for x in things if str(x["id"]) == ident), None)
        if hit is None:
            errors[field] = f"{label} with id '{ident}' does not exist."
        return hit["id"] if hit else None
    name = str(ref.get("name") or "")
    hit = next((x for x in things if x["name"] == name), None) or next(
        (x for x in things if x["name"].lower() == name.lower()), None) if name else None
    if hit is None:
        errors[field] = f"{label} name '{name}' is not valid"
    return hit["id"] if hit else None


def _thing_ids(store: JiraStore, field: str, project: str | None, value: Any, errors: dict[str, str]) -> list[int]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors[field] = "data was not an array"
        return []
    ids = [_thing_id(store, field, project, ref, errors) for ref in value]
    return list(dict.fromkeys(i for i in ids if i is not None))


def summary_error(value: Any) -> str | None:
    """Jira's message for a summary it refuses (None: a good one, kept as sent, spaces and all): the issue edit
    and create and the agile epic update (`routes_agile_epic`) all check it so."""
    if not isinstance(value, str) or not value.strip():
        return "You must specify a summary of the issue."
    if len(value) > 255:
        return "Summary must be less than 255 characters."
    if "\n" in value or "\r" in value:
        return "The summary is invalid because it contains newline characters."
    return None


def check_operations(update: Any) -> None:
    """Jira reads each `update` operation into a FieldOperation object: a bare value, as pycontribs sends for
    `issue.update(labels=[...])`, fails the whole request with Jackson's 400 (pycontribs issue #533; the
    Cloud wording of the message is [unc])."""
    for ops in (update.values() if isinstance(update, dict) else ()):
        for op in ops if isinstance(ops, list) else [ops]:
            if not isinstance(op, dict):
                kind = "String" if isinstance(op, str) else "value"
                raise fail(400, f"Can not instantiate value of type [simple type, class com.atlassian.jira.rest.api."
                                f"issue.FieldOperation] from JSON {kind}; no single-{kind} constructor/factory method"
                                f" (through reference chain: com.atlassian.jira.rest.v2.issue.IssueUpdateBean"
                                f"[\"update\"])")


def parse_fields(store: JiraStore, fields: dict[str, Any], update: dict[str, Any], version: str,
                 issue: Issue | None) -> tuple[dict[str, Any], list[Any], dict[str, str]]:
    """Validate a payload; returns (attrs, comment bodies to add, field errors)."""
    shaped(fields, "object")
    shaped(update, "object")
    check_operations(update)
    fields = dict(fields or {})
    errors: dict[str, str] = {}
    comments: list[Any] = []
    labels = list(issue.labels) if issue else []
    multi_ops: dict[str, list[Any]] = {}
    custom: dict[str, Any] = {}  # created custom fields' new stored values
    for name, ops in (update or {}).items():
        for op in ops if isinstance(ops, list) else [ops]:
            if name == "comment" and isinstance(op, dict) and "add" in op:
                body = (shaped(op["add"], "object") or {}).get("body")
                if version == "3" and not valid_adf(body):  # reported from Cloud (mcp-atlassian#1262) [unc: the key]
                    errors["comment"] = "Operation value must be an Atlassian Document (see the Atlassian Document " \
                                        "Format)"
                elif text_too_long(body):
                    errors["comment"] = TEXT_TOO_LONG
                comments.append(body)
            elif name == "labels" and isinstance(op, dict):
                if "add" in op:
                    labels.append(str(op["add"]))
                if "remove" in op:
                    labels = [x for x in labels if x != op["remove"]]
                if "set" in op:  # a "set" that is no array ("x" was read as its letters, 5 was a 500)
                    labels = list(op["set"] or []) if isinstance(op["set"] or [], list) else op["set"]
                fields["labels"] = labels
                if not isinstance(labels, list):  # the fields pass below reports it
                    break
            elif name in MULTI:
                multi_ops.setdefault(name, []).append(op)
            elif name == "timetracking" and ("edit" in op or "set" in op):  # Jira's documented op is "edit"
                fields[name] = op.get("edit", op.get("set"))
            elif isinstance(op, dict) and "set" in op:
                fields[name] = op["set"]
    attrs: dict[str, Any] = {}
    creating = issue is None
    if creating:
        pref = _ref(fields.pop("project", None))
        project = next((p.key for p in store.projects.values() if pref in (p.key, p.id)), None) if pref else None
        if project is None:
            errors["project"] = "valid project is required" if pref else "project is required"
        attrs["project"] = project
        for required in ("issuetype", "summary"):
            if required not in fields:
                errors[required] = ("Specify an issue type" if required == "issuetype"
                                    else "You must specify a summary of the issue.")
    for name, value in fields.items():
        if name == "issuetype":
            ref = (_ref(value) or "").lower()
            type_id = store.type_id(ref)
            if type_id is None:
                errors[name] = "Specify a valid issue type"
            attrs["type_id"] = type_id
        elif name == "summary":
            if (problem := summary_error(value)) is not None:
                errors[name] = problem
            attrs["summary"] = value
        elif name in ("description", "environment"):
            if version == "3" and value is not None and not valid_adf(value):
                errors[name] = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
            elif version != "3" and value is not None and not isinstance(value, str):
                errors[name] = "Operation value must be a string"
            elif text_too_long(value):
                errors[name] = TEXT_TOO_LONG
            attrs[name] = value
        elif name == "labels":
            if not isinstance(value or [], list):  # a bare string or number: Jira's array-field error [unc]
                errors[name] = "data was not an array"
                continue
            [shaped(x, "string") for x in value or []]  # an object or array among the labels (was a 500)
            bad = [x for x in value or [] if not isinstance(x, str) or " " in x or not x]
            long_one = next((p for p in map(label_problem, [x for x in value or [] if isinstance(x, str)]) if p), None)
            if bad:
                errors[name] = f"The label '{bad[0]}' contains spaces which is invalid."
            elif long_one:
                errors[name] = long_one
            attrs["labels"] = tuple(dict.fromkeys(str(x) for x in value or []))
        elif name == "timetracking":
            attrs.update(estimates.read_timetracking(value, issue, errors))
        elif name in ("assignee", "reporter"):
            attrs[name] = _user(store, value, name, errors)
        elif name == "priority":
            ref = (_ref(value) or "").lower()
            pid = C.PRIORITY_BY_NAME.get(ref, ref if ref in C.PRIORITIES else None)
            if pid is None:
                errors[name] = "Specify a valid priority"
            attrs["priority_id"] = pid
        elif name == "parent":
            parent = store.resolve(_ref(value)) if value else None
            if value and parent is None:
                errors[name] = "Could not find issue by id or key."
            attrs["parent_id"] = parent.id if parent else None
        elif name == C.STORY_POINTS:
            points = _number(value)
            if value is not None and points is None:  # "abc", true, or past a double's range
                errors[name] = "Operation value must be a number."
            attrs["points"] = points
        elif name == C.SPRINT:
            sid = value[0] if isinstance(value, list) and value else value
            sid = sid.get("id") if isinstance(sid, dict) else sid
            if sid is not None and (not is_id(str(sid)) or int(sid) not in store.sprints):
                errors[name] = f"Sprint with id {sid} does not exist."
            elif sid is not None and store.sprints[int(sid)].state == "closed":
                errors[name] = "Issue can be assigned only active or future sprints."
            closed = tuple(s for s in (issue.sprints if issue else ()) if s in store.sprints
                           and store.sprints[s].state == "closed")  # the issue's sprint history stays
            attrs["sprints"] = closed if sid is None or name in errors else (*closed, int(sid))
        elif name == "duedate":
            if value not in (None, "") and not _is_date(value):
                errors[name] = f"Error parsing date string: {value}"
            attrs["duedate"] = value or None
        elif name == "resolution":
            ref = (_ref(value) or "").lower()
            attrs["resolution_id"] = next((k for k, v in C.RESOLUTIONS.items() if ref in (k, v[0].lower())), None)
            if ref and attrs["resolution_id"] is None:  # [unc] wording
                errors[name] = f"Could not find resolution with name or id '{_ref(value)}'."
        elif name in MULTI:
            continue  # below, once the project is known
        elif custom_values.created(store, name) is not None:
            try:
                custom[name] = custom_values.parse(store, name, value)
            except ValueError as exc:
                errors[name] = str(exc)
        else:
            errors[name] = _UNKNOWN.format(name)
    if custom:
        attrs["custom"] = custom_values.merged(issue, custom)
    project_key = attrs.get("project") if creating else issue.project  # type: ignore[union-attr]
    who = attrs.get("assignee")
    if who and project_key and "assignee" not in errors and (creating or who != issue.assignee) \
            and not assignable(store, who, project_key):  # type: ignore[union-attr]
        errors["assignee"] = refusal(who)
    for name, (attr, *_rest) in MULTI.items():
        if name not in fields and name not in multi_ops:
            continue
        ids = list(getattr(issue, attr)) if issue else []
        if name in fields:
            ids = _thing_ids(store, name, project_key, fields[name], errors)
        for op in multi_ops.get(name, []):
            if not isinstance(op, dict) or not op.keys() & {"add", "remove", "set"}:
                errors[name] = "Operation value must be an object with 'add', 'remove' or 'set'."  # [unc] wording
                continue
            if "set" in op:
                ids = _thing_ids(store, name, project_key, op["set"], errors)
            if "add" in op:
                got = _thing_id(store, name, project_key, op["add"], errors)
                if got is not None and got not in ids:
                    ids.append(got)
            if "remove" in op:
                gone = _thing_id(store, name, project_key, op["remove"], errors)
                ids = [x for x in ids if x != gone]
        attrs[attr] = tuple(ids)
    if ("parent_id" in attrs or "type_id" in attrs) and "parent" not in errors and "issuetype" not in errors:
        _check_hierarchy(store, attrs, issue, errors)
    return attrs, comments, errors


def _check_hierarchy(store: JiraStore, attrs: dict[str, Any], issue: Issue | None, errors: dict[str, str]) -> None:
    """A parent sits exactly one level above its child (Epic 1 > Story/Task/Bug 0 > Subtask -1), as Cloud's
    issue type hierarchy requires: a Task under a Story, a Subtask under an Epic or another Subtask and an Epic
    under anything are refused (round 33: only the last was)."""
    type_id = attrs.get("type_id") or (issue.type_id if issue else None)
    parent_id = attrs.get("parent_id", issue.parent_id if issue else None)
    parent = store.issues.get(parent_id) if parent_id is not None else None
    if issue is not None and type_id in store.issue_types:  # an edit: a subtask keeps a parent, and a type change
        level = store.issue_types[type_id][1]  # leaves every child one level below (Cloud moves levels by a Move)
        if type_id == C.SUBTASK and parent_id is None:
            errors["parent"] = "Sub-tasks must have a parent issue."
            return
        kids = [store.issues[k] for k in store.children.get(issue.id, ()) if k in store.issues]
        if any(k.type_id in store.issue_types and store.issue_types[k.type_id][1] != level - 1 for k in kids):
            errors["issuetype"] = "Given parent work item does not belong to appropriate hierarchy."
            return
    if parent is None or type_id not in store.issue_types or parent.type_id not in store.issue_types:
        return
    if store.issue_types[parent.type_id][1] != store.issue_types[type_id][1] + 1:
        errors["parent"] = "Given parent work item does not belong to appropriate hierarchy."
        return
    project = attrs.get("project") or (issue.project if issue else None)
    if store.issue_types[type_id][1] < 0 and project and parent.project != project:  # a sub-task lives in its
        # parent's project (an epic's children may sit in other projects) [unc: the wording]
        errors["parent"] = "Sub-tasks must be created in the same project as their parent."


def _user_name(store: JiraStore, account: str | None) -> str | None:
    user = store.users.get(account) if account else None
    return user.display_name if user else None


def diff_items(old: Issue, changes: dict[str, Any], store: JiraStore) -> list[dict[str, Any]]:
    """Changelog items for the attributes in `changes` that differ from `old`."""
    items: list[dict[str, Any]] = []

    def add(field: str, fid: str, frm: Any, frm_s: Any, to: Any, to_s: Any, ftype: str = "jira") -> None:
        items.append({"field": field, "fieldtype": ftype, "fieldId": fid, "from": frm, "fromString": frm_s,
                      "to": to, "toString": to_s})

    for attr, new in changes.items():
        if attr == "_attachment":
            add("Attachment", "attachment", None, None, str(new.id), new.filename)
            continue
        if attr == "_move":  # (project, key) of a move to another project (`moves`)
            from sandbox.jira.moves import move_items

            items.extend(move_items(store, old, *new))
            continue
        if attr == "_worklog":  # {"timespent": (from, to), "WorklogId": ...}: seconds and ids as strings
            for field, (frm, to) in new.items():
                text = [None if x is None else str(x) for x in (frm, to)]
                items.append({"field": field, "fieldtype": "jira", **({"fieldId": field} if field == "timespent"
                                                                        else {}),
                              "from": text[0], "fromString": text[0], "to": text[1], "toString": text[1]})
            continue
        cur = getattr(old, attr)
        if cur == new:
            continue
        if attr == "custom":
            before, after = dict(cur), dict(new)
            for fid in sorted(set(before) | set(after)):
                if before.get(fid) != after.get(fid):
                    field = custom_values.created(store, fid) or {"name": fid}
                    raw = [str(x) if isinstance(x, int | str) and not isinstance(x, bool) else None
                           for x in (before.get(fid), after.get(fid))]
                    add(field["name"], fid, raw[0], custom_values.display(store, fid, before.get(fid)), raw[1],
                        custom_values.display(store, fid, after.get(fid)), "custom")
            continue
        if attr in ("summary", "description", "environment"):
            add(attr, attr, None, plain(cur) or None, None, plain(new) or None)
        elif attr == "status_id":
            add("status", "status", cur, C.STATUSES[cur][0], new, C.STATUSES[new][0])
        elif attr == "type_id":
            add("issuetype", "issuetype", cur, store.issue_types[cur][0], new, store.issue_types[new][0])
        elif attr == "priority_id":
            add("priority", "priority", cur, C.PRIORITIES.get(cur or ""), new, C.PRIORITIES.get(new or ""))
        elif attr == "resolution_id":
            add("resolution", "resolution", cur, C.RESOLUTIONS[cur][0] if cur else None, new,
                C.RESOLUTIONS[new][0] if new else None)
        elif attr in ("assignee", "reporter"):
            add(attr, attr, cur, _user_name(store, cur), new, _user_name(store, new))
        elif attr == "labels":
            add("labels", "labels", None, " ".join(cur), None, " ".join(new))
        elif attr in ("original_estimate", "remaining_estimate"):
            items.append(estimates.history_items(cur, new, attr))
        elif attr == "parent_id":
            def key(i: int | None) -> str | None:
                issue = store.issues.get(i) if i else None
                return issue.key if issue else None

            add("IssueParentAssociation", "parent", None if cur is None else str(cur), key(cur),
                None if new is None else str(new), key(new))
        elif attr == "points":
            add("Story point estimate", C.STORY_POINTS, None, None if cur is None else f"{cur:g}", None,
                None if new is None else f"{new:g}", "custom")
        elif attr == "sprints":
            names = [store.sprints[s].name for s in cur], [store.sprints[s].name for s in new]
            add("Sprint", C.SPRINT, ", ".join(map(str, cur)), ", ".join(names[0]), ", ".join(map(str, new)),
                ", ".join(names[1]), "custom")
        elif attr == "duedate":
            add("duedate", "duedate", cur, cur, new, new)
        elif attr == "rank":
            add("Rank", C.RANK, "", "", "", "Ranked higher" if new < cur else "Ranked lower", "custom")
        elif attr in ("components", "fix_versions", "versions"):
            fid, (_a, kind, _l, label) = next((k, v) for k, v in MULTI.items() if v[0] == attr)

            def name_of(ident: int, kind: str = kind) -> str | None:
                thing = store.work[kind].get(ident)
                return thing["name"] if thing else None

            for ident in cur:
                if ident not in new:
                    add(label, fid, str(ident), name_of(ident), None, None)
            for ident in new:
                if ident not in cur:
                    add(label, fid, None, None, str(ident), name_of(ident))
    return items


def _number(value: Any) -> float | None:
    """A JSON number as Jira's number fields hold it (a finite double), else None (a string too)."""
    return None if isinstance(value, str) else decimal_number(value)
