"""Table API handlers: /api/now[/v1|/v2]/table/{table}[/{sys_id}].

List: sysparm_query / name=value filters, sysparm_limit (default 10000), sysparm_offset,
sysparm_fields, sysparm_display_value, sysparm_exclude_reference_link,
sysparm_suppress_pagination_header, sysparm_no_count, sysparm_view (`views`); answers with X-Total-Count
and a Link header
(first/prev/next/last; prev is offset - limit, negative on the first page as on an instance; next
omitted on the last page; no header for a single page, nor for sysparm_limit=0, which answers [] with
X-Total-Count [unc: no paging links for a page of no rows]). v1 answers 404
for an empty result, v2 and unversioned answer 200 with []. Single records: GET, POST (201 +
Location), PATCH/PUT (200, both a partial update), DELETE (204). `X-no-response-body: true` empties
write responses. Writes take `sysparm_input_display_value=true` (choice labels and reference display
values in the body, date-times in the caller's time zone) and updates
`sysparm_suppress_auto_sys_field=true` (sys_updated_on/_by and sys_mod_count left as they were).
Answers are XML for `Accept: application/xml` and bodies may be XML (`xml_format`). Users without
roles see and write only what `acl` lets them; a sys_user written with `user_password` can sign in
with it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sandbox.core.http import HTTPError, Request, Response, Router
from sandbox.core.numbers import ascii_int
from sandbox.servicenow import acl, lenient_json
from sandbox.servicenow.query import Query, parse
from sandbox.servicenow.query_ops import personalize
from sandbox.servicenow.render import MALFORMED_VARIANTS, Mode, render_rows
from sandbox.servicenow.system_tables import matches_nothing, property_value
from sandbox.servicenow.tables import Table, TaskView
from sandbox.servicenow.views import view_fields
from sandbox.servicenow.xml_format import parse_body, sends_xml

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox
    from sandbox.servicenow.store import Store

TABLE = r"/api/now(?:/(?P<version>v[12]))?/table/(?P<table>[A-Za-z0-9_]+)"


def flag(value: str | None) -> bool:
    return (value or "").strip().lower() == "true"


def int_param(query: dict[str, str], name: str, default: int) -> int:
    raw = query.get(name, "")
    if raw == "":
        return default
    # ASCII digits (a sign as Java's Integer.parseInt takes it), not int(): it read '٣' as 3 and took ' 3' and '3_000'
    # [round 27]; the magnitude saturates, so 5,000 digits are as out of range as 20
    value = ascii_int(raw, cap=2**63, signed=True)
    if value is None:
        shown = repr(raw) if len(raw) <= 40 else repr(raw[:37]) + "..."
        raise HTTPError(400, f"Invalid value for {name}", f"{shown} is not an integer")
    return value


def user_time_zone(store: Store, user: str) -> str:
    """The caller's time zone for display values: its sys_user.time_zone, or for a user without one the
    instance's (the glide.sys.default.tz property, UTC unless an admin changes it); "" for UTC/GMT."""
    users = store.tables["sys_user"]
    row = users.row_of(store.user_sys_id(user))
    tz = users.record(row).get("time_zone", "") if row is not None else ""
    if not tz:
        tz = property_value(store, "glide.sys.default.tz", "")
    if tz in ("", "GMT", "UTC", "Etc/UTC"):
        return ""
    try:
        ZoneInfo(tz)
    except (ValueError, ZoneInfoNotFoundError):
        return ""
    return tz


def local_now(store: Store, user: str) -> datetime:
    """Now in the caller's time zone: the javascript:gs.* date helpers of its queries count its days (`dates`)."""
    tz = user_time_zone(store, user)
    now = store.clock.now()
    return now.astimezone(ZoneInfo(tz)) if tz else now


def mode_of(query: dict[str, str], version: str = "", table: str = "", restricted: bool = False,
            tz: str = "") -> Mode:
    """How records render; without sysparm_fields a sysparm_view picks the fields (`views`); `restricted`
    for a self-service caller, whom field ACLs deny work notes, `tz` the caller's time zone (`render`)."""
    display = (query.get("sysparm_display_value") or "false").strip().lower()
    fields = tuple(f.strip() for f in query.get("sysparm_fields", "").split(",") if f.strip()) or None
    if fields is None and query.get("sysparm_view"):
        fields = view_fields(table, query["sysparm_view"])
    return Mode(display if display in ("true", "all") else "false",
                flag(query.get("sysparm_exclude_reference_link")), fields, version, restricted, tz)


def json_object(req: Request, empty: bool = False) -> dict[str, Any]:
    """The request's JSON (or XML, `xml_format`) object body (``{}`` for an empty body when ``empty``),
    or ServiceNow's 400."""
    if empty and not req.body.strip():
        return {}
    if sends_xml(req):
        return parse_body(req)
    try:
        body = lenient_json.loads(req.body)
    except ValueError as exc:
        raise HTTPError(400, "Exception while reading request", f"Invalid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise HTTPError(400, "Exception while reading request", "The payload is not a JSON object.")
    return body


def check_accept(req: Request) -> None:
    accept = req.header("Accept").lower()
    if accept and not any(x in accept for x in ("json", "xml", "*/*", "application/*")):
        raise HTTPError(406, "Requested response format is not supported", f"Accept: {accept}")


def build_query(store: Store, req: Request, source: Table | TaskView, user: str) -> Query:
    """sysparm_query AND the name=value filters, which take choice labels and reference display
    values too (`priority=1 - Critical`); the calling user fills gs.getUserID() and "Me"."""
    pairs = [(k, v) for k, v in req.query_pairs if not k.startswith("sysparm_")]
    with store.lock:
        if pairs:
            raw = store.from_display(source if isinstance(source, Table) else source.parts[0], dict(pairs))
            pairs = [(k, str(raw.get(k, v)) if v != "" else v) for k, v in pairs]
        extra = [f"{k}={v.replace('^', '^^')}" for k, v in pairs]
        return caller_query(store, "^".join(filter(None, [req.query.get("sysparm_query", ""), *extra])), user)


def caller_query(store: Store, text: str, user: str) -> Query:
    """An encoded query as the caller asks it, for every API that takes one (Table, Attachment, CMDB,
    Change Management, the UI's lists): gs.getUserID() / "Me" / its groups filled in (`query_ops`), the
    javascript:gs.* date helpers and DATEPART in its time zone (`local_now`, `dates`), without the
    conditions field ACLs deny it (`acl.readable_query`), and its JOIN / RLQUERY / SUBQUERY parts seeing
    only the rows of other tables its ACLs let it read (`acl.viewer`)."""
    with store.lock:
        me = store.user_sys_id(user)
        text = personalize(text, user, me, lambda: store.groups_of(me))
        hidden = acl.restricted(store, user)
        now = local_now(store, user)
        query = acl.viewer(store, parse(text, now), user)
    return acl.readable_query(query, hidden)


def pagination_links(req: Request, total: int, limit: int, offset: int) -> str:
    """The Link header of a page: first, prev, next (before the last page), last. Like the instance's
    header (captured from real instances), prev is always there, offset - limit, even when that is
    negative on the first page."""
    pairs = [(k, v) for k, v in req.query_pairs if k not in ("sysparm_offset", "sysparm_limit")]
    step = max(limit, 1)

    def url(at: int) -> str:
        return f"{req.base_url}{req.path}?" + urlencode([*pairs, ("sysparm_limit", str(limit)),
                                                         ("sysparm_offset", str(at))])

    links = [f'<{url(0)}>;rel="first"', f'<{url(offset - step)}>;rel="prev"']
    if offset + step < total:
        links.append(f'<{url(offset + step)}>;rel="next"')
    links.append(f'<{url(max(total - step, 0))}>;rel="last"')
    return ",".join(links)


class TableAPI:
    """Route handlers bound to one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        one = TABLE + r"/(?P<sys_id>[^/]+)"
        router.add("GET", TABLE, self.list_records)
        router.add("POST", TABLE, self.create)
        router.add("GET", one, self.get)
        router.add("PATCH", one, self.update)
        router.add("PUT", one, self.update)
        router.add("DELETE", one, self.delete)

    # --- helpers -------------------------------------------------------------------------------
    def _source(self, req: Request) -> Table | TaskView:
        source = self.store.source(req.params["table"])
        if source is None:
            raise HTTPError(400, f"Invalid table {req.params['table']}", None)
        return source

    def malformed(self) -> Any:
        faults = self.sb.faults
        if faults.settings.rate_malformed <= 0:
            return None
        return lambda table, row: faults.malformed_variant(f"{table.name}:{table.rows[row][0]}", MALFORMED_VARIANTS)

    def render(self, source: Table | TaskView, rows: list[int], mode: Mode, base: str) -> list[bytes]:
        if isinstance(source, Table):
            return render_rows(source, rows, mode, base, self.store, self.malformed())
        fields = tuple(f for f in mode.fields if source.has_field(f)) if mode.fields else tuple(source.fields)
        mode = replace(mode, fields=fields)
        return [render_rows(t, [r], mode, base, self.store, self.malformed())[0] for t, r in source.split(rows)]

    def _record_response(self, req: Request, table: Table | TaskView, row: int, user: str, status: int = 200,
                         headers: list[tuple[str, str]] | None = None) -> Response:
        if flag(req.header("X-no-response-body")) and req.method != "GET":
            return Response(status, b"", headers=list(headers or []))
        mode = mode_of(req.query, req.params.get("version") or "", req.params.get("table", ""),
                       acl.self_service(self.store, user) is not None, user_time_zone(self.store, user))
        body = b'{"result":' + self.render(table, [row], mode, req.base_url)[0] + b"}"
        return Response(status, body, headers=list(headers or []))

    def _faults_while_paging(self, source: Table | TaskView) -> None:
        settings, faults = self.sb.faults.settings, self.sb.faults
        parts = [source] if isinstance(source, Table) else source.parts
        # the platform's own logs are append-only: records change and vanish while a client pages, not the
        # audit rows that record those deletes (deleting one left its record as a ghost in any client)
        parts = [p for p in parts if not getattr(p, "name", "").startswith(("sys_audit", "syslog"))]
        for count, action in ((settings.touch_per_page, "touch"), (settings.delete_per_page, "delete")):
            for _ in range(count):
                candidates = [p for p in parts if len(p)]
                if not candidates:
                    return
                table = candidates[faults.pick(len(candidates), 1)[0]]
                row = faults.pick(len(table.rows), 1)[0]
                if table.rows[row] is None:  # deleted: fall back to the (slower) list of live rows
                    alive = table.alive_rows()
                    row = alive[faults.pick(len(alive), 1)[0]]
                if action == "touch":
                    self.store.touch_rows(table, [row])
                else:
                    self.store.delete(table, row, "system")

    # --- handlers --------------------------------------------------------------------------------
    def list_records(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        source, q = self._source(req), req.query
        limit, offset = int_param(q, "sysparm_limit", 10000), int_param(q, "sysparm_offset", 0)
        if offset < 0 or limit < 0:
            raise HTTPError(400, "Invalid pagination parameters", "sysparm_offset/sysparm_limit must be >= 0")
        query = build_query(self.store, req, source, user)
        with self.store.lock:
            mode = mode_of(q, req.params.get("version") or "", req.params["table"],
                           acl.self_service(self.store, user) is not None, user_time_zone(self.store, user))
            self._faults_while_paging(source)
            rows = [] if matches_nothing(self.store, source, query) else self.store.engine.run(source, query)
            allowed = acl.row_filter(self.store, source, user)
            if allowed is not None:
                rows = [r for r in rows if allowed(r)]
            total = len(rows)
            parts = self.render(source, rows[offset:offset + limit], mode, req.base_url)
        if req.params.get("version") == "v1" and total == 0:
            raise HTTPError(404, "No Record found",
                            "Records matching query not found. Check query parameter or offset parameter")
        headers = [] if flag(q.get("sysparm_no_count")) else [("X-Total-Count", str(total))]
        if not flag(q.get("sysparm_suppress_pagination_header")) and limit > 0 and (offset > 0 or total > limit):
            headers.append(("Link", pagination_links(req, total, limit, offset)))
        return Response(200, b'{"result":[' + b",".join(parts) + b"]}", headers=headers)

    def get(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        check_accept(req)
        source = self._source(req)
        with self.store.lock:
            found = self.store.locate(source.name, req.params["sys_id"])
            allowed = acl.row_filter(self.store, found[0], user) if found else None
            if found is None or (allowed is not None and not allowed(found[1])):
                raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            if isinstance(source, TaskView):  # render through the view: task fields only
                table, row = found
                return self._record_response(req, source, (source.parts.index(table) << 40) | row, user)
            return self._record_response(req, found[0], found[1], user)

    def _body(self, req: Request) -> dict[str, Any]:
        if sends_xml(req):
            return parse_body(req)
        try:
            body = lenient_json.loads(req.body)
        except ValueError as exc:
            raise HTTPError(400, "Exception while reading request", f"Invalid JSON: {exc}") from exc
        if body is None:  # no body at all: a record of defaults, as PySNC's insert() of an initialize()d record
            return {}     # with no fields set expects (test_snc_attachment's TempTestRecord) [unc: the status]
        if isinstance(body, list):  # the platform inserts the first record and ignores the rest
            body = body[0] if body else {}
        if not isinstance(body, dict):
            raise HTTPError(400, "Exception while reading request", "The payload is not valid JSON.")
        return body

    def create(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source = self._source(req)
        body = self._body(req)
        with self.store.lock:
            target = source if isinstance(source, Table) else source.parts[0]
            acl.check_write(self.store, target.name, "Insert", user)
            login = self.sb.logins.take_password(self.store, target, body)
            body = acl.drop_unwritable(self.store, user, body)
            if flag(req.query.get("sysparm_input_display_value")) and target is not None:
                body = self.store.from_display(target, body, user_time_zone(self.store, user))
            table, row = self.store.insert(source.name, body, user)
            login(row)
            location = f"{req.base_url}/api/now/table/{table.name}/{table.rows[row][0]}"  # type: ignore[index]
            return self._record_response(req, table, row, user, 201, [("Location", location)])

    def update(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source = self._source(req)
        body = self._body(req)
        with self.store.lock:
            found = self.store.locate(source.name, req.params["sys_id"])
            if found is None:
                raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            acl.check_write(self.store, found[0].name, "Update", user)
            login = self.sb.logins.take_password(self.store, found[0], body)
            body = acl.drop_unwritable(self.store, user, body)
            if flag(req.query.get("sysparm_input_display_value")):
                body = self.store.from_display(found[0], body, user_time_zone(self.store, user))
            self.store.update(found[0], found[1], body, user,
                              auto_sys_fields=not flag(req.query.get("sysparm_suppress_auto_sys_field")))
            login(found[1])
            return self._record_response(req, found[0], found[1], user)

    def delete(self, req: Request) -> Response:
        user = self.sb.auth.authenticate(req)
        source = self._source(req)
        with self.store.lock:
            found = self.store.locate(source.name, req.params["sys_id"])
            if found is None:
                raise HTTPError(404, "No Record found", "Record doesn't exist or ACL restricts the record retrieval")
            acl.check_write(self.store, found[0].name, "Delete", user)
            self.store.delete(found[0], found[1], user)
        return Response(204)
