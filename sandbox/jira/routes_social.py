"""Votes, saved filters and issue properties.

- Votes: GET `/issue/{key}/votes` (`{"self","votes","hasVoted","voters"}`), POST (204; 404 on your own
  issue: Jira does not let reporters vote), DELETE (204; 404 when the caller has not voted).
- Groups live in `routes_groups` (`GROUPS`, `group_id`, `group_members` are re-exported here).
- Filters: POST `/filter` (200, the filter), GET/PUT/DELETE `/filter/{id}` (an unknown id answers 400,
  as the spec says), GET `/filter/favourite`, `/filter/my`, `/filter/search` (paged, `filterName` is a
  case-insensitive partial match; each value is `expand`, `self`, `id`, `name` plus what `expand` names, as the
  spec describes), PUT/DELETE `/filter/{id}/favourite`. JQL `filter = <id or name>`
  (see `jql_eval`) runs a saved filter's query.
- Issue properties: GET `/issue/{key}/properties` (`{"keys":[{"self","key"}]}`), GET/PUT/DELETE
  `/issue/{key}/properties/{property}` (PUT answers 201 when created, 200 when replaced).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.jql import JQLError
from sandbox.jira.routes_filter_shares import edits_filter, read_shares, render_shares, sees_filter, shared_users
from sandbox.jira.routes_groups import GROUPS, group_id, group_members

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

__all__ = ["GROUPS", "filter_bean", "group_id", "group_members", "register"]
NO_FILTER = "The selected filter is not available to you, perhaps it has been deleted or had its permissions changed."


def filter_bean(c: Call, f: dict[str, Any], me: str, sb: JiraSandbox | None = None) -> dict[str, Any]:
    """A Filter bean; with `sb`, `expand=sharedUsers` lists the users its shares reach (`shared_users`)."""
    return {"self": f"{c.r.api}/filter/{f['id']}", "id": str(f["id"]), "name": f["name"],
            **({"description": f["description"]} if f.get("description") else {}),
            "owner": c.r.user(f["owner"]), "jql": f["jql"], "viewUrl": f"{c.base}/issues/?filter={f['id']}",
            "searchUrl": f"{c.r.api}/search/jql?jql={quote(f['jql'])}", "favourite": me in f["fans"],
            "favouritedCount": len(f["fans"]), "sharePermissions": render_shares(c, f),
            "editPermissions": render_shares(c, f, "edit"),
            "subscriptions": {"size": 0, "items": [], "max-results": 0, "start-index": 0, "end-index": 0},
            "sharedUsers": shared_users(sb, c, f) if sb is not None else {
                "size": 0, "items": [], "max-results": 0, "start-index": 0, "end-index": 0}}


SEARCH_EXPANDS = ("description,owner,jql,searchUrl,viewUrl,favourite,favouritedCount,sharePermissions,"
                  "editPermissions,isWritable,approximateLastUsed,subscriptions")


def search_bean(c: Call, f: dict[str, Any], me: str, expand: set[str], writable: bool) -> dict[str, Any]:
    """A FilterDetails of GET /filter/search: `expand`, `self`, `id`, `name`, and only what `expand` asks for."""
    full = filter_bean(c, f, me)
    out = {"expand": SEARCH_EXPANDS, "self": full["self"], "id": full["id"], "name": full["name"]}
    for name in SEARCH_EXPANDS.split(","):
        if name in expand and name in full:
            out[name] = full[name]
    if "subscriptions" in out:  # FilterDetails: an array of FilterSubscription, not the Filter's paged list
        out["subscriptions"] = out["subscriptions"]["items"]
    if "isWritable" in expand:  # an expand the spec lists, though its FilterDetails schema leaves it out
        out["isWritable"] = writable
    return out  # `approximateLastUsed`: the sandbox does not track filter use, so it is never sent [unc]


def register(sb: JiraSandbox) -> None:
    """Register before `routes_issues` (its `GET /issue/{key}` pattern is anchored, so order is a safeguard)."""
    from sandbox.jira.routes_issues import issue_of

    key = r"/issue/(?P<issue>[A-Za-z0-9_-]+)"

    def work(name: str) -> dict[Any, Any]:
        return sb.store.work.setdefault(name, {})

    # --- votes ----------------------------------------------------------------------------------
    def voters_of(issue: Issue) -> list[str]:
        return work("votes").setdefault(issue.id, [])

    def get_votes(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        people = list(voters_of(issue))
        return json_response({"self": f"{c.r.api}/issue/{issue.key}/votes", "votes": len(people),
                              "hasVoted": c.user in people, "voters": [c.r.user(a) for a in people]})

    def add_vote(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        if issue.reporter == c.user:
            raise fail(404, "You cannot vote for an issue you have reported.")
        with sb.store.lock:
            people = voters_of(issue)
            if c.user not in people:
                people.append(c.user)
                sb.store.relations_version += 1
        return Response(status=204)

    def remove_vote(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        with sb.store.lock:
            people = voters_of(issue)
            if c.user not in people:
                raise fail(404, "Cannot remove a vote for an issue that the user has not already voted for.")
            people.remove(c.user)
            sb.store.relations_version += 1
        return Response(status=204)

    # --- filters --------------------------------------------------------------------------------
    def filters() -> dict[int, dict[str, Any]]:
        return work("filters")

    def find_filter(c: Call) -> dict[str, Any]:
        ident = c.p["filter"]
        f = filters().get(int(ident)) if is_id(ident) else None
        if f is None:
            raise fail(400, NO_FILTER)
        return f

    def read_filter(c: Call, body: dict[str, Any], current: dict[str, Any] | None) -> dict[str, Any]:
        name = body.get("name", current["name"] if current else None)
        name = str(name or "").strip()
        if not name:
            raise fail(400, None, {"filterName": "You must specify a name to save this filter as."})
        if len(name) > 255:
            raise fail(400, None, {"filterName": "The filter name must not exceed 255 characters."})
        owner = current["owner"] if current else c.user  # names are unique per owner, whoever edits
        if any(f["name"].lower() == name.lower() and f["owner"] == owner and f is not current
               for f in filters().values()):
            raise fail(400, None, {"filterName": "Filter with same name already exists."})
        jql = str(body.get("jql", current["jql"] if current else "") or "")
        if jql.strip():
            try:
                sb.jql(jql, c.user)
            except JQLError as exc:
                if "Unbounded" not in str(exc):
                    raise fail(400, None, {"jql": str(exc)}) from None
        return {"name": name, "jql": jql,
                "description": body.get("description", current.get("description") if current else None)}

    def create_filter(c: Call) -> Response:
        body = c.obj()
        data = read_filter(c, body, None)
        with sb.store.lock:
            f = {"id": sb.store.new_id(), "owner": c.user, "fans": [c.user] if body.get("favourite") else [], **data}
            f["share"] = read_shares(sb, body, None)
            f["edit"] = read_shares(sb, body, None, "editPermissions")
            filters()[f["id"]] = f
        return json_response(filter_bean(c, f, c.user, sb))

    def get_filter(c: Call) -> Response:
        f = find_filter(c)
        if not sees_filter(sb, c.user, f):  # the spec: only its owner and those it is shared with see it
            raise fail(400, NO_FILTER)
        return json_response(filter_bean(c, f, c.user, sb))

    def edit_filter(c: Call) -> Response:
        f = find_filter(c)
        if not edits_filter(sb, c.user, f):  # its owner and its editors (`editPermissions`)
            raise fail(400, "You do not have permission to edit this filter.")  # [unc] wording
        body = c.obj()
        data = read_filter(c, body, f)
        shares = read_shares(sb, body, f.get("share"))
        edit = read_shares(sb, body, f.get("edit"), "editPermissions")
        if f["owner"] != c.user:  # the spec: sharing needs the owner; an editor's share changes are not taken
            shares, edit = f.get("share", []), f.get("edit", [])
        with sb.store.lock:
            f.update(data, share=shares, edit=edit)
            if "favourite" in body:
                f["fans"] = [x for x in f["fans"] if x != c.user] + ([c.user] if body["favourite"] else [])
        return json_response(filter_bean(c, f, c.user, sb))

    def delete_filter(c: Call) -> Response:
        f = find_filter(c)  # the spec: its creator, or Administer Jira
        if f["owner"] != c.user and not sb.holds(c.user, "ADMINISTER", []):  # type: ignore[attr-defined]
            raise fail(401, "You do not have permission to delete this filter.")  # spec: 401 for no permission
        with sb.store.lock:
            filters().pop(f["id"], None)
        return Response(status=204)

    def set_favourite(on: bool) -> Any:
        def handler(c: Call) -> Response:
            f = find_filter(c)
            if not sees_filter(sb, c.user, f):
                raise fail(400, NO_FILTER)
            with sb.store.lock:
                f["fans"] = [x for x in f["fans"] if x != c.user] + ([c.user] if on else [])
            return json_response(filter_bean(c, f, c.user, sb))
        return handler

    def favourites(c: Call) -> Response:
        return json_response([filter_bean(c, f, c.user, sb) for f in list(filters().values())
                              if c.user in f["fans"] and sees_filter(sb, c.user, f)])

    def my_filters(c: Call) -> Response:
        with_fans = bool(c.qbool("includeFavourites"))
        return json_response([filter_bean(c, f, c.user, sb) for f in list(filters().values())
                              if f["owner"] == c.user or (with_fans and c.user in f["fans"]
                                                          and sees_filter(sb, c.user, f))])  # as /filter/favourite

    def search_filters(c: Call) -> Response:
        name = (c.q("filterName") or "").lower()
        exact = c.qbool("isSubstringMatch") is False and bool(name)  # [unc] exact match when substring is off
        owner = c.q("accountId")
        ids = {int(x) for item in c.qlist("id") for x in item.split(",") if is_id(x)}
        found = [f for f in list(filters().values())
                 if (not name or (f["name"].lower() == name if exact else name in f["name"].lower()))
                 and (not owner or f["owner"] == owner) and (not ids or f["id"] in ids) and sees_filter(sb, c.user, f)]
        order = c.q("orderBy") or "name"
        desc = order.startswith("-")
        sort_key = order.lstrip("+-")
        if sort_key == "id":
            found.sort(key=lambda f: f["id"], reverse=desc)
        elif sort_key in ("favourite_count", "is_favourite"):
            found.sort(key=lambda f: len(f["fans"]), reverse=desc)
        else:
            found.sort(key=lambda f: f["name"].lower(), reverse=desc)
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 50, 1, 100)
        wanted = {e.strip() for item in c.qlist("expand") for e in item.split(",")}
        beans = [search_bean(c, f, c.user, wanted, edits_filter(sb, c.user, f)) for f in found]
        return json_response(paged(beans, start, limit, f"{c.r.api}/filter/search?startAt={start}&maxResults="
                                                        f"{limit}"))

    # --- issue properties -----------------------------------------------------------------------
    def props_of(issue: Issue) -> dict[str, Any]:
        return work("properties").setdefault(issue.id, {})

    def list_props(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        return json_response({"keys": [{"self": f"{c.r.api}/issue/{issue.id}/properties/{quote(k)}", "key": k}
                                       for k in props_of(issue)]})

    def get_prop(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        props = props_of(issue)
        if c.p["prop"] not in props:
            raise fail(404, f"The property with key '{c.p['prop']}' does not exist.")
        return json_response({"key": c.p["prop"], "value": props[c.p["prop"]]})

    def put_prop(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        name = c.p["prop"]
        if len(name) > 255:
            raise fail(400, "The property key is too long. Maximum length is 255 characters.")
        raw = c.req.body or b""  # as project, user and entity properties (routes_more): non-empty, 32 KB at most
        if not raw.strip():
            raise fail(400, "The property value must be a valid, non-empty JSON value.")
        if len(raw) > 32768:
            raise fail(400, "The property value is too long. Maximum length is 32768 bytes.")
        value = c.body()
        with sb.store.lock:
            props = props_of(issue)
            created = name not in props
            props[name] = value
        sb.store._emit("issue_property_set", "issue_property_set", issue, c.user,
                       property={"key": name, "value": value})
        return json_response({}, 201) if created else json_response({}, 200)

    def delete_prop(c: Call) -> Response:
        issue = issue_of(sb, c.p["issue"])
        with sb.store.lock:
            props = props_of(issue)
            if c.p["prop"] not in props:
                raise fail(404, f"The property with key '{c.p['prop']}' does not exist.")
            del props[c.p["prop"]]
        sb.store._emit("issue_property_deleted", "issue_property_deleted", issue, c.user,
                       property={"key": c.p["prop"]})
        return Response(status=204)

    sb.route("GET", key + r"/votes", get_votes)
    sb.route("POST", key + r"/votes", add_vote, "write")
    sb.route("DELETE", key + r"/votes", remove_vote, "write")
    sb.route("GET", key + r"/properties", list_props)
    sb.route("GET", key + r"/properties/(?P<prop>[^/]+)", get_prop)
    sb.route("PUT", key + r"/properties/(?P<prop>[^/]+)", put_prop, "write")
    sb.route("DELETE", key + r"/properties/(?P<prop>[^/]+)", delete_prop, "write")
    sb.route("POST", r"/filter", create_filter, "write")
    sb.route("GET", r"/filter/favourite", favourites)
    sb.route("GET", r"/filter/my", my_filters)
    sb.route("GET", r"/filter/search", search_filters)
    sb.route("GET", r"/filter/(?P<filter>[^/]+)", get_filter)
    sb.route("PUT", r"/filter/(?P<filter>[^/]+)", edit_filter, "write")
    sb.route("DELETE", r"/filter/(?P<filter>[^/]+)", delete_filter, "write")
    sb.route("PUT", r"/filter/(?P<filter>[^/]+)/favourite", set_favourite(True), "write")
    sb.route("DELETE", r"/filter/(?P<filter>[^/]+)/favourite", set_favourite(False), "write")
