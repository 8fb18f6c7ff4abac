"""Search: `/rest/api/{2,3}/search/jql` (GET/POST, nextPageToken paging), approximate-count, and the
retired `/rest/api/{2,3}/search` (410 Gone with Jira's migration message).

Paging is keyset-based: `nextPageToken` carries the sort values of the last row served, so an
unchanged result set pages every issue exactly once, issues updated while a client pages move behind
its cursor (and show up again under ORDER BY updated), and deleted ones simply vanish. Results come
from the eventually consistent search index (see `faults.search_lag_seconds`); `reconcileIssues`
forces the live version of up to 50 issue ids; `properties` adds the named issue properties to each
issue. maxResults: default 50, at most 5000 when only `id`/`key` are requested, else 100.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira import ops
from sandbox.jira.call import Call
from sandbox.jira.errors import fail, shaped
from sandbox.jira.ids import body_int, is_id
from sandbox.jira.jql import JQLError
from sandbox.jira.render import field_names, select_fields
from sandbox.jira.rendered import schemas
from sandbox.jira.routes_lookup import properties_of
from sandbox.jira.screens import transitions_of

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

REMOVED = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration "
           "guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
TOKEN_TTL_MS = 7 * 86_400_000


def _fingerprint(jql: str) -> str:
    return hashlib.sha1(jql.strip().encode()).hexdigest()[:16]


def _encode(jql: str, values: list | None) -> str:
    raw = json.dumps({"q": _fingerprint(jql), "k": values, "t": int(time.time() * 1000)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(jql: str, token: str) -> list | None:
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        ok = data["q"] == _fingerprint(jql) and time.time() * 1000 - data["t"] < TOKEN_TTL_MS
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise fail(400, "The provided next page token is invalid or expired.")
    return data["k"]


def register(sb: JiraSandbox) -> None:
    def run(c: Call, params: dict[str, Any]) -> Response:
        jql = str(params.get("jql") or "")
        fields = select_fields(params.get("fields"), ["id"])
        ids_only = set(fields) <= {"id", "key"}
        limit = _int(params.get("maxResults"), 50)
        limit = max(0, min(limit, 5000 if ids_only else 100))
        expand = str(params.get("expand") or "")
        try:
            compiled = sb.jql(jql, c.user)
        except JQLError as exc:
            raise fail(400, str(exc)) from None
        last = _decode(jql, params["nextPageToken"]) if params.get("nextPageToken") else None
        _page_faults(sb)
        if sb.faults.empty_page():
            return json_response({"issues": [], "nextPageToken": _encode(jql, last), "isLast": False})
        reconcile = [int(x) for x in shaped(params.get("reconcileIssues"), "array") or [] if is_id(str(x).strip())][:50]
        if reconcile:
            chunk, more = _reconciled(sb, compiled, jql, reconcile, last, limit)
        else:
            chunk, more = sb.store.index.page(compiled, jql, last, limit)
        if ids_only:
            issues = [{"id": str(i.id), **({"key": i.key} if "key" in fields else {})} for i in chunk]
        else:
            issues = [c.r.issue(i, fields, expand) for i in chunk]
            wanted = [w.strip() for w in expand.split(",")]
            for bean, issue in zip(issues, chunk, strict=True):  # as on GET /issue: these are per issue
                if "transitions" in wanted or "transitions.fields" in wanted:
                    bean["transitions"] = transitions_of(c.r, issue, "transitions.fields" in wanted)
                if "editmeta" in wanted:
                    bean["editmeta"] = sb.edit_meta(c, issue)  # type: ignore[attr-defined]
                if "operations" in wanted:
                    bean["operations"] = sb.issue_operations(c, issue)  # type: ignore[attr-defined]
            if params.get("properties"):
                for bean, issue in zip(issues, chunk, strict=True):
                    bean["properties"] = properties_of(sb, issue, params["properties"])
        out: dict[str, Any] = {"issues": issues}
        if more and chunk:
            out["nextPageToken"] = _encode(jql, compiled.sort_values(chunk[-1]))
        out["isLast"] = "nextPageToken" not in out
        wanted = [w.strip() for w in expand.split(",")]
        for bean in issues:  # a search names its fields once, at the top, not in every issue
            bean.pop("names", None)
            bean.pop("schema", None)
            if "versionedRepresentations" in bean:  # /search/jql answers it empty (Atlassian KB), no fields
                bean["versionedRepresentations"] = {}
        if "names" in wanted:
            out["names"] = field_names(fields, sb.store)
        if "schema" in wanted:
            out["schema"] = schemas(fields)
        return json_response(out)

    def search_get(c: Call) -> Response:
        params: dict[str, Any] = dict(c.req.query)
        params["fields"] = c.qlist("fields")
        params["properties"] = c.qlist("properties")
        params["reconcileIssues"] = [x for item in c.qlist("reconcileIssues") for x in item.split(",")]
        return run(c, params)

    def search_post(c: Call) -> Response:
        body = c.obj()
        if body.get("expand") is not None and not isinstance(body["expand"], str):  # a comma-separated string
            raise fail(400, "Invalid request payload. Refer to the REST API documentation and try again.")  # [unc]
        for name in ("fields", "properties"):
            if isinstance(body.get(name), str):
                body[name] = [body[name]]
            if body.get(name) is not None and not (
                    isinstance(body[name], list) and all(isinstance(x, str) for x in body[name])):
                raise fail(400, "Invalid request payload. Refer to the REST API documentation and try again.")
        return run(c, body)

    def approximate_count(c: Call) -> Response:
        jql = str(c.obj().get("jql") or "")
        try:
            compiled = sb.jql(jql, c.user)
        except JQLError as exc:
            raise fail(400, str(exc)) from None
        return json_response({"count": sb.store.index.count(compiled, jql)})

    def removed(c: Call) -> Response:
        raise fail(410, REMOVED)

    sb.route("GET", r"/search/jql", search_get)
    sb.route("POST", r"/search/jql", search_post)
    sb.route("POST", r"/search/approximate-count", approximate_count)
    sb.route("GET", r"/search", removed)
    sb.route("POST", r"/search", removed)


def _int(value: Any, default: int) -> int:
    if value in (None, ""):
        return default
    number = body_int(value, cap=2**31)  # not int(): 1e999 was an OverflowError, a 500
    if number is None:
        raise fail(400, "The 'maxResults' parameter must be an integer.")
    return number


def _page_faults(sb: JiraSandbox) -> None:
    """touch_per_page / delete_per_page: records change or vanish while a client pages."""
    settings = sb.faults.settings
    for count, action in ((settings.touch_per_page, "touch"), (settings.delete_per_page, "delete")):
        if count <= 0:
            continue
        ids = list(sb.store.issues)
        picked = [ids[i] for i in sb.faults.pick(len(ids), count)]
        if action == "touch":
            ops.touch_ids(sb.store, picked)
        else:
            for iid in picked:
                sb.store.delete(iid, sb.store.me.account_id)


def _reconciled(sb: JiraSandbox, compiled: Any, jql: str, ids: list[int], last: list | None,
                limit: int) -> tuple[list, bool]:
    wanted = set(ids)
    rows = [i for i in sb.store.index.snapshot(compiled, jql) if i.id not in wanted]
    rows += [i for i in (sb.store.issues.get(x) for x in wanted) if i is not None and compiled.pred(i)]
    rows.sort(key=compiled.key)
    start = 0
    if last is not None:
        bound = compiled.wrap(last)
        start = next((n for n, i in enumerate(rows) if bound < compiled.key(i)), len(rows))
    return rows[start:start + limit], start + limit < len(rows)
