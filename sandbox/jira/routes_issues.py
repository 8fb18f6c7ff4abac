"""Issue routes: get/create/bulk/edit/delete, assignee, transitions (see `screens`), changelog, bulkfetch.

Comments, attachments and links live in `routes_children`. Writes validate like Jira (field errors in
`errors`, 400), answer 201/204 and change state that later reads return. POST `/issue/bulk` answers 201 with
`issues` and per-element `errors` when any issue was made, and 400 with the same body when none was (the spec);
more than 50 `issueUpdates` (the spec's "upto 50") is a 400 ErrorCollection and nothing is made [unc: wording].
v3 rich text must be ADF, v2 rich text a string. Create, edit and transition bodies may carry `properties` and
`historyMetadata` (`issue_body_extras`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import catalog as C
from sandbox.jira import field_config, field_screens, ops, routes_children, visibility
from sandbox.jira.adf import is_adf
from sandbox.jira.assignable import assignable, refusal
from sandbox.jira.call import Call
from sandbox.jira.changes import _ref, check_operations, parse_fields
from sandbox.jira.errors import fail, not_found_issue, shaped
from sandbox.jira.issue_body_extras import body_properties, history_metadata, set_properties
from sandbox.jira.model import Issue
from sandbox.jira.render import ALL_FIELDS, select_fields
from sandbox.jira.routes_config_reads import refuse_override
from sandbox.jira.routes_lookup import properties_of
from sandbox.jira.routes_versions import default_assignee
from sandbox.jira.screens import off_screen, transitions_of, wants_fields

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

BULK_CREATE_MAX = 50  # the spec: "Creates upto 50 issues"


def issue_of(sb: JiraSandbox, ref: str) -> Issue:
    issue = sb.store.resolve(ref)
    if issue is None:
        raise not_found_issue()
    return issue


def link_adds(sb: JiraSandbox, body: dict[str, Any]) -> list[tuple[str, str, int]]:
    """The `update.issuelinks[{"add": {"type", "outwardIssue"|"inwardIssue"}}]` operations of a create, edit or
    transition: (link type id, which side the other issue is on, its id). An unknown type or issue is a 400
    before anything is written. [unc: the wording]"""
    ops_ = (body.get("update") or {}).get("issuelinks") or []
    out = []
    for op in ops_ if isinstance(ops_, list) else [ops_]:
        add = op.get("add") if isinstance(op, dict) else None
        if not isinstance(add, dict):
            continue
        tref = str(_ref(add.get("type")) or "")
        type_id = next((k for k, v in sb.store.link_types.items() if tref in (k, v[0])), None)
        if type_id is None:
            raise fail(400, None, {"issuelinks": f"No issue link type with name '{tref}' found."})
        side = "outward" if add.get("outwardIssue") else "inward"
        other = sb.store.resolve(_ref(add.get(side + "Issue")))
        if other is None:
            raise fail(400, None, {"issuelinks": "Issue does not exist or you do not have permission to see it."})
        out.append((type_id, side, other.id))
    return out


def no_self_links(issue_id: int, links: list[tuple[str, str, int]]) -> None:
    if any(other == issue_id for _t, _s, other in links):
        raise fail(400, None, {"issuelinks": routes_children.SELF_LINK})


def apply_links(sb: JiraSandbox, issue_id: int, links: list[tuple[str, str, int]], actor: str) -> None:
    """Link `issue_id` as the operations asked: its `issuelinks` then show the other issue on that side."""
    for type_id, side, other in links:
        inward, outward = (issue_id, other) if side == "outward" else (other, issue_id)
        sb.store.add_link(type_id, inward, outward, actor)


def _create(sb: JiraSandbox, payload: dict[str, Any], version: str, actor: str) -> Issue:
    attrs, comments, errors = parse_fields(sb.store, payload.get("fields") or {}, payload.get("update") or {},
                                           version, None)
    errors = {**field_config.missing(sb, payload.get("fields") or {}, payload.get("update") or {}, None), **errors,
              **field_screens.create_refusals(sb, payload, actor)}  # off the create screen, or hidden
    if errors:
        raise fail(400, None, errors)
    links, props = link_adds(sb, payload), body_properties(payload)
    project = attrs.pop("project")
    audiences = visibility.comment_adds(sb, actor, project, payload.get("update"))
    if attrs.get("type_id") == C.SUBTASK and attrs.get("parent_id") is None:
        raise fail(400, None, {"parent": "Sub-tasks must have a parent issue."})
    given = (payload.get("fields") or {}).get("assignee")
    if "assignee" not in attrs or (given is not None and _ref(given) == "-1"):  # not given, or "-1" (automatic):
        attrs["assignee"] = default_assignee(sb.store, project, attrs.get("components"))  # components' or project's
    issue = sb.store.create(project, attrs, actor)
    for body, vis in zip(comments, audiences, strict=True):
        sb.store.add_comment(issue.id, body, actor, vis)
    apply_links(sb, issue.id, links, actor)
    set_properties(sb, issue.id, props)
    return sb.store.issues[issue.id]


def create_from_python(sb: JiraSandbox, fields: dict[str, Any]) -> dict[str, Any]:
    """`JiraSandbox.create_issue`: v2 or v3 style fields, rendered back in v3 shape."""
    fields = dict(fields)
    if isinstance(fields.get("project"), str):
        fields["project"] = {"key": fields["project"]}
    if isinstance(fields.get("issuetype"), str):
        fields["issuetype"] = {"name": fields["issuetype"]}
    version = "3" if is_adf(fields.get("description")) else "2"
    issue = _create(sb, {"fields": fields}, version, sb.store.me.account_id)
    return sb.renderer(sb.url, "3").issue(issue, ALL_FIELDS)


def register(sb: JiraSandbox) -> None:
    def get_issue(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        fields = select_fields(c.qlist("fields"), ["*all"])
        if c.qbool("updateHistory"):  # Jira: feeds the caller's `lastViewed` / `issueHistory()` in JQL
            with sb.store.lock:
                sb.store.work.setdefault("views", {}).setdefault(issue.id, set()).add(c.user)
                sb.store.relations_version += 1
        return json_response(issue_bean(c, issue, fields, ",".join(c.qlist("expand")), c.qlist("properties")))

    def issue_bean(c: Call, issue: Issue, fields: list[str], expand: str, props: list[str]) -> dict[str, Any]:
        """An issue as GET /issue and POST /issue/bulkfetch return it, with the expands that need routes."""
        bean = c.r.issue(issue, fields, expand)
        wanted = [w.strip() for w in expand.split(",")]
        if "transitions" in wanted or "transitions.fields" in wanted:
            bean["transitions"] = transitions_of(c.r, issue, "transitions.fields" in wanted)
        if "editmeta" in wanted:
            bean["editmeta"] = sb.edit_meta(c, issue)  # type: ignore[attr-defined]
        if "operations" in wanted:
            bean["operations"] = operations(c, issue)
        if props:
            bean["properties"] = properties_of(sb, issue, props)
        return bean

    def operations(c: Call, issue: Issue) -> dict[str, Any]:
        """The view-issue operations bar: edit/assign/comment, then one link per available transition."""
        def link(ident: str, label: str, title: str, href: str, weight: int, style: str = "") -> dict[str, Any]:
            return {"id": ident, "styleClass": style or f"issueaction-{ident}", "label": label, "title": title,
                    "href": f"{c.base}{href}", "weight": weight}

        edit = [link("edit-issue", "Edit", "Edit this issue", f"/secure/EditIssue!default.jspa?id={issue.id}", 1),
                link("assign-issue", "Assign", "Assign this issue to someone",
                     f"/secure/AssignIssue!default.jspa?id={issue.id}", 5),
                link("comment-issue", "Comment", "Comment on this issue",
                     f"/secure/AddComment!default.jspa?id={issue.id}", 10)]
        moves = [link(f"action_id_{t['id']}", t["name"], t["name"],
                      f"/secure/WorkflowUIDispatcher.jspa?id={issue.id}&action={t['id']}", 10 * (n + 1),
                      "issueaction-workflow-transition") for n, t in enumerate(transitions_of(c.r, issue))]
        return {"linkGroups": [{"id": "view.issue.opsbar", "links": [], "groups": [
            {"id": "edit-issue_container", "links": edit, "groups": []},
            {"id": "transitions-all", "links": moves, "groups": []}]}]}

    sb.issue_operations = operations  # type: ignore[attr-defined]  # for `expand=operations` in routes_search

    def create(c: Call) -> Response:
        issue = _create(sb, c.obj(), c.version, c.user)
        return json_response({"id": str(issue.id), "key": issue.key, "self": f"{c.r.api}/issue/{issue.id}"}, 201)

    def bulk_create(c: Call) -> Response:
        created, errors = [], []
        payloads = shaped(c.obj().get("issueUpdates"), "array") or []
        for payload in payloads:
            shaped(payload, "object")
        if isinstance(payloads, list) and len(payloads) > BULK_CREATE_MAX:  # the whole request is refused
            raise fail(400, f"The number of issues to create ({len(payloads)}) exceeds the limit of "
                            f"{BULK_CREATE_MAX} issues per bulk request.")  # [unc: Cloud's wording]
        for payload in payloads:  # a malformed operation fails the whole request's reading, not one element
            check_operations(payload.get("update") if isinstance(payload, dict) else None)
        for n, payload in enumerate(payloads):
            try:
                issue = _create(sb, payload, c.version, c.user)
                created.append({"id": str(issue.id), "key": issue.key, "self": f"{c.r.api}/issue/{issue.id}"})
            except Exception as exc:
                detail = getattr(exc, "detail", None)
                errors.append({"status": 400, "elementErrors": {"errorMessages": [], "errors": detail or {}},
                               "failedElementNumber": n})
        # the spec: 201 when any issue was made, 400 (same body) when every request was invalid
        return json_response({"issues": created, "errors": errors}, 201 if created or not errors else 400)

    def edit(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        refuse_override(c)  # `routes_config_reads`
        body = c.obj()
        attrs, comments, errors = parse_fields(sb.store, body.get("fields") or {}, body.get("update") or {},
                                               c.version, issue)
        errors = {**field_config.missing(sb, body.get("fields") or {}, body.get("update") or {}, issue), **errors,
                  **field_screens.edit_refusals(sb, issue, body, c.user)}  # off the edit screen, or hidden
        if errors:
            raise fail(400, None, errors)
        audiences = visibility.comment_adds(sb, c.user, issue.project, body.get("update"))
        logs, links = worklog_adds(body), link_adds(sb, body)
        props, meta = body_properties(body), history_metadata(body)
        no_self_links(issue.id, links)
        sb.store.update(issue.id, attrs, c.user, metadata=meta)
        set_properties(sb, issue.id, props)
        for text, vis in zip(comments, audiences, strict=True):
            sb.store.add_comment(issue.id, text, c.user, vis)
        apply_links(sb, issue.id, links, c.user)
        for log in logs:
            sb.log_work(c, sb.store.issues[issue.id], log)  # type: ignore[attr-defined]
        if c.qbool("returnIssue"):
            expand = ",".join(c.qlist("expand"))  # returnIssue honours expand, as GET /issue does
            return json_response(c.r.issue(sb.store.issues[issue.id], ALL_FIELDS, expand), 200)
        return Response(status=204)

    def delete(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        # the spec: Delete Issues in the issue's project (the Administrators role holds it), else 403
        if not sb.holds(c.user, "DELETE_ISSUES", [issue.project]):  # type: ignore[attr-defined]  # routes_roles
            raise fail(403, "You do not have permission to delete issues in this project.")  # [unc] wording
        subtasks = [k for k in sb.store.children.get(issue.id, ()) if k in sb.store.issues
                    and sb.store.issues[k].type_id == C.SUBTASK]
        if subtasks and not c.qbool("deleteSubtasks"):
            raise fail(400, f"The issue '{issue.key}' has subtasks. You must specify the 'deleteSubtasks' "
                            "parameter to delete this issue and all its subtasks.")
        for k in subtasks:
            sb.store.delete(k, c.user)
        sb.store.delete(issue.id, c.user)
        return Response(status=204)

    def assign(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        account = shaped(c.obj().get("accountId"), "string")
        account = account if account is None else str(account)
        if account not in (None, "-1") and not assignable(sb.store, account, issue.project):  # `assignable`
            raise fail(400, None, {"assignee": refusal(account)})
        if account == "-1":  # "assigned to the default assignee for the project" (its components' first)
            account = default_assignee(sb.store, issue.project, issue.components)
        sb.store.update(issue.id, {"assignee": account}, c.user, "issue_assigned")
        return Response(status=204)

    def get_transitions(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        items = transitions_of(c.r, issue, wants_fields(c.qlist("expand")))
        wanted = c.q("transitionId")
        return json_response({"expand": "transitions", "transitions": [t for t in items
                                                                       if not wanted or t["id"] == wanted]})

    def do_transition(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        body = c.obj()
        tid = str((shaped(body.get("transition"), "object") or {}).get("id") or "")
        if tid not in C.TRANSITIONS:
            raise fail(400, f"Transition id '{tid}' is not valid for this issue.")
        refused = off_screen(tid, body.get("fields"), body.get("update")) if sb.strict_screens else {}
        refused.update(field_screens.hidden_refusals(sb, body.get("fields"), body.get("update")))  # on no screen
        attrs, comments, errors = parse_fields(sb.store, body.get("fields") or {}, body.get("update") or {},
                                               c.version, issue)
        if errors or refused:
            raise fail(400, None, {**errors, **refused})
        audiences = visibility.comment_adds(sb, c.user, issue.project, body.get("update"))
        logs, links = worklog_adds(body), link_adds(sb, body)
        props, meta = body_properties(body), history_metadata(body)
        no_self_links(issue.id, links)
        ops.transition(sb.store, issue.id, C.TRANSITIONS[tid], attrs, c.user, meta)
        set_properties(sb, issue.id, props)
        for text, vis in zip(comments, audiences, strict=True):
            sb.store.add_comment(issue.id, text, c.user, vis)
        apply_links(sb, issue.id, links, c.user)
        for log in logs:
            sb.log_work(c, sb.store.issues[issue.id], log)  # type: ignore[attr-defined]
        return Response(status=204)

    def worklog_adds(body: dict[str, Any]) -> list[dict[str, Any]]:
        """The `update.worklog[{"add": {...}}]` operations of an edit or transition."""
        ops_ = (body.get("update") or {}).get("worklog") or []
        adds = [op["add"] for op in (ops_ if isinstance(ops_, list) else [ops_])
                if isinstance(op, dict) and isinstance(op.get("add"), dict)]
        for add in adds:
            if not add.get("timeSpent") and add.get("timeSpentSeconds") is None:
                raise fail(400, None, {"worklog": "You must indicate the time spent working."})
        return adds

    def changelog(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        hist = sb.store.history_of(issue)
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 100, 1, 100)
        chunk = [c.r.history(h) for h in hist[start:start + limit]]
        out = {"self": f"{c.r.api}/issue/{issue.key}/changelog?maxResults={limit}&startAt={start}",
               "maxResults": limit, "startAt": start, "total": len(hist), "isLast": start + limit >= len(hist),
               "values": chunk}
        if not out["isLast"]:
            out["nextPage"] = f"{c.r.api}/issue/{issue.key}/changelog?maxResults={limit}&startAt={start + limit}"
        return json_response(out)

    def bulkfetch(c: Call) -> Response:
        """POST /issue/bulkfetch as the spec describes it: `expand` and `properties` are lists (a comma string is
        read too), 400 without refs or past 100, issues in ascending id order (a ref given twice comes once
        [unc]); refs that match no issue (or one the caller may not see) are left out and NOT listed in
        `issueErrors`, which carries only retriable errors, so it is always empty here."""
        body = c.obj()
        refs = body.get("issueIdsOrKeys")
        if not isinstance(refs, list) or not refs or len(refs) > 100:
            raise fail(400, "Provide between 1 and 100 issue IDs or keys.")  # [unc: the wording]

        def listed(name: str) -> list[str]:
            value = body.get(name)
            items = value if isinstance(value, list) else [value] if isinstance(value, str) else []
            return [part.strip() for item in items for part in str(item).split(",") if part.strip()]

        props = listed("properties")
        if len(props) > 5:
            raise fail(400, "A maximum of 5 issue property keys can be specified.")  # [unc: the wording]
        fields = select_fields(listed("fields") or None, ["*navigable"])
        found = {issue.id: issue for ref in refs if (issue := sb.store.resolve(str(ref))) is not None}
        issues = [issue_bean(c, found[i], fields, ",".join(listed("expand")), props) for i in sorted(found)]
        return json_response({"issues": issues, "issueErrors": []})

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"
    sb.route("POST", r"/issue", create, "write")
    sb.route("POST", r"/issue/bulk", bulk_create, "write")
    sb.route("POST", r"/issue/bulkfetch", bulkfetch)
    sb.route("GET", key, get_issue)
    sb.route("PUT", key, edit, "write")
    sb.route("DELETE", key, delete, "write")
    sb.route("PUT", key + r"/assignee", assign, "write")
    sb.route("GET", key + r"/transitions", get_transitions)
    sb.route("POST", key + r"/transitions", do_transition, "write")
    sb.route("GET", key + r"/changelog", changelog)
    routes_children.register(sb, key)

