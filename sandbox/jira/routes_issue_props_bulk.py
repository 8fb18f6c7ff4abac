"""Issue properties set and deleted on many issues at once (the spec's asynchronous bulk operations).

- PUT `/issue/properties/{propertyKey}` (BulkIssuePropertyUpdateRequest: `value`, `filter` with `entityIds`,
  `currentValue` (JSON-equal; null: not given), `hasProperty` (a boolean), joined with AND; `currentValue` with
  `hasProperty: false` can match nothing and is a 400, as the spec says). `expression` (a Jira expression) is
  not evaluated here: a 400 [unc].
- DELETE `/issue/properties/{propertyKey}` (IssueFilterForBulkPropertyDelete: `entityIds`, `currentValue`).
- POST `/issue/properties` (IssueEntityProperties: `entitiesIds`, `properties`): the same properties on a list
  of issues. Every bean is closed: an unknown field (or a non-boolean `hasProperty`) is Cloud's 400 "Invalid
  request payload".
- POST `/issue/properties/multi` (`{"issues": [{"issueID", "properties": {key: value}}]}`, at most 100 issues and
  10 properties each; non-transactional: an issue that does not exist is skipped).
Each answers 303 with `Location` to GET `/task/{id}` (`routes_field_admin`), a task already COMPLETE: the
sandbox applies the change before answering. The eligible issues are those the caller may browse and edit
(Browse projects and Edit issues). The properties are the ones GET `/issue/{key}/properties` reads.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response
from sandbox.jira.call import Call
from sandbox.jira.errors import PAYLOAD, fail
from sandbox.jira.routes_field_admin import _state

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

__all__ = ["register"]
MAX_VALUE = 32768


def register(sb: JiraSandbox) -> None:
    def props_of(issue: Issue) -> dict[str, Any]:
        return sb.store.work.setdefault("properties", {}).setdefault(issue.id, {})

    def editable(c: Call) -> list[Issue]:
        return [i for i in list(sb.store.issues.values())
                if sb.holds(c.user, "BROWSE_PROJECTS", [i.project])  # type: ignore[attr-defined]
                and sb.holds(c.user, "EDIT_ISSUES", [i.project])]  # type: ignore[attr-defined]

    def entity_ids(raw: Any, where: str) -> set[int] | None:
        if raw is None:
            return None
        if not isinstance(raw, list) or not all(isinstance(x, int) and not isinstance(x, bool) for x in raw):
            raise fail(400, None, {where: "entityIds must be a list of issue ids."})  # [unc]
        return set(raw)  # `uniqueItems`: a repeated id counts once

    def only(body: dict[str, Any], known: tuple[str, ...]) -> None:
        """The request beans are closed (`additionalProperties: false`): Jira refuses a field it does not know."""
        extra = sorted(k for k in body if k not in known)
        if extra:
            raise fail(400, PAYLOAD)  # Cloud's answer to a body Jackson cannot bind [unc]

    def same(a: Any, b: Any) -> bool:
        """JSON equality (true is not 1, key order does not count) [unc: Jira compares the stored JSON]."""
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)

    def key_of(c: Call) -> str:
        key = c.p["prop"]
        if len(key) > 255:
            raise fail(400, "The property key is too long. Maximum length is 255 characters.")
        return key

    def task(c: Call, description: str, count: int) -> Response:
        now = sb.store.now_ms()
        with sb.store.lock:
            ident = sb.store.new_id()
            _state(sb).setdefault("tasks", {})[ident] = {
                "id": str(ident), "description": description, "status": "COMPLETE", "result": None,
                "submittedBy": 10000, "progress": 100, "elapsedRuntime": 1, "submitted": now, "started": now,
                "finished": now + 1, "lastUpdate": now + 1, "message": f"{count} issues updated."}  # [unc] message
        return Response(status=303, headers=[("Location", f"{c.r.api}/task/{ident}")])

    def bulk_set(c: Call) -> Response:
        key, body = key_of(c), c.obj()
        only(body, ("value", "expression", "filter"))
        if "expression" in body:
            raise fail(400, "Jira expressions are not evaluated by the sandbox; send a constant value.")  # [unc]
        if "value" not in body or body["value"] is None:
            raise fail(400, "The property value must be specified.")  # [unc]
        value = body["value"]
        if len(json.dumps(value)) > MAX_VALUE:
            raise fail(400, f"The property value is too long. Maximum length is {MAX_VALUE} characters.")
        flt = body.get("filter")
        if flt is None:
            flt = {}
        if not isinstance(flt, dict):
            raise fail(400, None, {"filter": "The filter must be an object."})  # [unc]
        only(flt, ("entityIds", "currentValue", "hasProperty"))
        ids = entity_ids(flt.get("entityIds"), "filter.entityIds")
        has = flt.get("hasProperty")
        if has is not None and not isinstance(has, bool):
            raise fail(400, PAYLOAD)  # not bindable to a Boolean [unc]
        wanted = flt.get("currentValue")  # null reads as not given (Jira's bean leaves it unset) [unc]
        if wanted is not None and has is False:  # the spec: such a filter can match nothing
            raise fail(400, "The filter with currentValue and hasProperty set to false matches no issues.")  # [unc]
        done = 0
        with sb.store.lock:
            for issue in editable(c):
                props = props_of(issue)
                if (ids is not None and issue.id not in ids) or (has is not None and (key in props) != has) or (
                        wanted is not None and (key not in props or not same(props[key], wanted))):
                    continue
                props[key] = value
                done += 1
        return task(c, f"Setting the issue property {key}", done)

    def bulk_list(c: Call) -> Response:
        """POST /issue/properties: IssueEntityProperties (`entitiesIds`, 1 to 10,000 unique issue ids;
        `properties`, 1 to 10 key/value pairs), set on every one of those issues the caller may edit."""
        body = c.obj()
        only(body, ("entitiesIds", "properties"))
        ids = entity_ids(body.get("entitiesIds"), "entitiesIds")
        if not ids:
            raise fail(400, None, {"entitiesIds": "The list of issue ids must not be empty."})  # [unc]
        if len(ids) > 10000:
            raise fail(400, None, {"entitiesIds": "The number of issues must not exceed 10000."})  # [unc]
        props = body.get("properties")
        if not isinstance(props, dict) or not 1 <= len(props) <= 10:
            raise fail(400, None, {"properties": "Between 1 and 10 properties must be given."})  # [unc]
        for name, value in props.items():
            if len(name) > 255:
                raise fail(400, "The property key is too long. Maximum length is 255 characters.")
            if value is None or len(json.dumps(value)) > MAX_VALUE:
                raise fail(400, f"The property value of '{name}' must be non-empty JSON of at most {MAX_VALUE} "
                           "characters.")  # [unc]
        done = 0
        with sb.store.lock:
            for issue in editable(c):
                if issue.id in ids:
                    props_of(issue).update(props)
                    done += 1
        return task(c, "Setting issue properties", done)

    def bulk_delete(c: Call) -> Response:
        key, body = key_of(c), c.obj()
        only(body, ("entityIds", "currentValue"))
        ids = entity_ids(body.get("entityIds"), "entityIds")
        done = 0
        with sb.store.lock:
            for issue in editable(c):
                props = props_of(issue)
                if key not in props or (ids is not None and issue.id not in ids) or (
                        body.get("currentValue") is not None and not same(props[key], body["currentValue"])):
                    continue
                del props[key]
                done += 1
        return task(c, f"Deleting the issue property {key}", done)

    def multi(c: Call) -> Response:
        rows = c.obj().get("issues")
        if not isinstance(rows, list) or not rows:
            raise fail(400, None, {"issues": "The issues must be a non-empty list."})  # [unc]
        if len(rows) > 100:
            raise fail(400, "The number of issues must not exceed 100.")  # [unc] the spec's limit
        allowed = {i.id: i for i in editable(c)}
        done = 0
        with sb.store.lock:
            for row in rows:
                props = row.get("properties") if isinstance(row, dict) else None
                if not isinstance(props, dict) or not props or len(props) > 10:
                    raise fail(400, "Each issue needs between 1 and 10 properties.")  # [unc]
                issue = allowed.get(row.get("issueID"))
                if issue is None:
                    continue  # non-transactional: the task result would name it [unc]
                props_of(issue).update(props)
                done += 1
        return task(c, "Setting issue properties", done)

    sb.route("POST", r"/issue/properties/multi", multi, "write")
    sb.route("POST", r"/issue/properties", bulk_list, "write")
    sb.route("PUT", r"/issue/properties/(?P<prop>[^/]+)", bulk_set, "write")
    sb.route("DELETE", r"/issue/properties/(?P<prop>[^/]+)", bulk_delete, "write")
