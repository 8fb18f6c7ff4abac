"""The instance's UI pages a link opens: the record form (`/<table>.do?sys_id=`, pysnc's
GlideRecord.get_link), the list (`/<table>_list.do?sysparm_query=`, get_link_list), and the login page.

Like an instance, a UI page needs a signed-in user: a request with Basic credentials, an OAuth bearer
token or the cookie of a session that signed in gets the page (as that user: a self-service user sees
only the records the ACLs let it read, `acl`); one without (a browser that has not logged in, or
with credentials that do not check out) is redirected, 302, to `/login.do`. `GET /login.do` answers
the login form (200, no sign-in needed); `POST /login.do` (form user_name, user_password, as the form
posts) signs the session in and redirects to `/navpage.do`, or back to `/login.do` when the
credentials are wrong. `/navpage.do` (the UI's frame) answers 200 to a signed-in user.
[unc: the exact redirect an instance answers (`/login.do` here; an SSO instance goes to its identity
provider) and whether it keeps the requested page to return to after login]
`?JSONv2` on a table's `.do` is the JSONv2 processor (`jsonv2`), which answers 401 itself.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError, Request, Response, Router
from sandbox.servicenow import acl
from sandbox.servicenow.app import caller_query
from sandbox.servicenow.jsonv2 import is_jsonv2

if TYPE_CHECKING:
    from sandbox.servicenow.sandbox import ServiceNowSandbox

LOGIN_FORM = (b'<html><head><title>Log in | ServiceNow</title></head><body><form method="POST" action="/login.do">'
              b'<input name="user_name" id="user_name"/><input type="password" name="user_password" '
              b'id="user_password"/><button type="submit" id="sysverb_login">Log in</button></form></body></html>')


def _html(status: int, title: str, body: str = "") -> Response:
    title = html.escape(title)
    return Response(status, f"<html><head><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
                    .encode(), "text/html")


def _redirect(req: Request, path: str) -> Response:
    return Response(302, b"", "text/html", [("Location", f"{req.base_url}{path}")])


class UIPages:
    """Route handlers for the UI pages of one ServiceNowSandbox."""

    def __init__(self, sandbox: ServiceNowSandbox) -> None:
        self.sb = sandbox
        self.store = sandbox.store

    def register(self, router: Router) -> None:
        router.add("GET", r"/login\.do", lambda req: Response(200, LOGIN_FORM, "text/html"), auth_faults=False)
        router.add("POST", r"/login\.do", self.login, auth_faults=False)
        router.add("GET", r"/(?P<form>[a-z0-9_]+)\.do", self.page)
        router.add("POST", r"/(?P<form>[a-z0-9_]+)\.do", self.page)

    def _user(self, req: Request) -> str | None:
        try:
            return self.sb.auth.authenticate(req)
        except HTTPError:
            return None

    def login(self, req: Request) -> Response:
        form = req.form()
        name, password = form.get("user_name", ""), form.get("user_password", "")
        if not self.sb.auth.known(name, password):
            return _redirect(req, "/login.do")
        req.principal = name  # the session (cookie) signs in with it
        return _redirect(req, "/navpage.do")

    def page(self, req: Request) -> Response:
        if is_jsonv2(req):
            return self.sb.jsonv2.handle(req, self.sb.auth.authenticate(req))
        if req.method != "GET":
            raise HTTPError(405, "Method not Supported", f"{req.method} {req.path}")
        user = self._user(req)
        if user is None:
            return _redirect(req, "/login.do")
        form = req.params["form"]
        if form == "navpage":
            return _html(200, "ServiceNow")
        if form.endswith("_list") and self.store.source(form[:-5]) is not None:
            return self._list(form[:-5], req.query.get("sysparm_query", ""), user)
        return self._form(form, req.query.get("sys_id", ""), user)

    def _form(self, table: str, sys_id: str, user: str) -> Response:
        """The record form: 200 HTML with its number and short description, or 404."""
        with self.store.lock:
            found = self.store.locate(table, sys_id) if sys_id and self.store.source(table) is not None else None
            allowed = acl.row_filter(self.store, found[0], user) if found else None
            if found is None or (allowed is not None and not allowed(found[1])):
                return Response(404, b"<html><body>Record not found</body></html>", "text/html")
            record = found[0].record(found[1])
        return _html(200, f"{record.get('number') or record.get('name') or sys_id}: "
                          f"{record.get('short_description') or ''}")

    def _list(self, table: str, query: str, user: str) -> Response:
        """The list: 200 HTML with the matching records' numbers (or sys_ids) that the user may read and
        their count."""
        with self.store.lock:
            source = self.store.source(table)
            rows = self.store.engine.run(source, caller_query(self.store, query, user))  # type: ignore[arg-type]
            allowed = acl.row_filter(self.store, source, user)  # type: ignore[arg-type]
            if allowed is not None:
                rows = [r for r in rows if allowed(r)]
            label = source.getter("number" if source.has_field("number") else "sys_id")  # type: ignore[union-attr]
            items = "".join(f"<li>{html.escape(label(r))}</li>" for r in rows[:100])
        return _html(200, f"{table} ({len(rows)})", f"<ul>{items}</ul>")


# A request whose target (path and query) is longer than the instance's front end takes is refused there,
# before any API sees it, with an HTML error page: PySNC's test_nonjson_error (a 23,000-character table
# name) expects a RequestException whose text starts `<...html>` [obs: PySNC test suite against a
# developer instance], and PySNC sends a query over ~10,000 characters through the Batch API for this
# reason. [unc: the limit (16 KiB here), the status (400 here) and the page's wording]
MAX_TARGET = 16_384
TOO_LONG_PAGE = (b'<!doctype html><html lang="en"><head><title>HTTP Status 400 \xe2\x80\x93 Bad Request</title></head>'
                 b'<body><h1>HTTP Status 400 \xe2\x80\x93 Bad Request</h1><hr class="line" /><p><b>Type</b> Exception '
                 b'Report</p><p><b>Message</b> Request header is too large</p></body></html>')


def target_too_long(req: Request) -> Response | None:
    """The front end's 400 HTML page for an over-long request target, else None (Batch API items are
    inside a request body, so they never hit the limit)."""
    if req.internal or len(req.path) + len(req.raw_query) <= MAX_TARGET:
        return None
    return Response(400, TOO_LONG_PAGE, "text/html;charset=utf-8")
