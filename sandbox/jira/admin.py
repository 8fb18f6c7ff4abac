"""Admin webhooks API (`/rest/webhooks/1.0/webhook`) and the sandbox-only control routes under `/_sandbox/jira/`.

Control routes (no auth, never faulted): GET|DELETE `deliveries` (webhook attempt log), POST `touch`
`{"n"}`, POST `delete` `{"keys"}`, POST `issues` `{fields}`, POST `index/sync` (end the search lag now),
POST `clock/advance` `{"seconds"}`, GET `credentials`, POST `users` `{"email", "displayName"?, "active"?,
"accountType"?, "emailVisible"?}` (`JiraSandbox.add_user`; answers `{"accountId"}`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.core.http import HTTPError, Request, Response, Router, json_response
from sandbox.core.numbers import control_number
from sandbox.jira.admin_guard import admin_only
from sandbox.jira.call import Call
from sandbox.jira.errors import fail
from sandbox.jira.jql import JQLError
from sandbox.jira.timefmt import jira_ts

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

HOOKS = r"/rest/webhooks/1\.0/webhook"


def _hook_bean(sb: JiraSandbox, c: Call, hook: dict[str, Any]) -> dict[str, Any]:
    me = sb.store.me
    return {"name": hook["name"], "url": hook["url"], "events": hook["events"], "filters": hook["filters"],
            "excludeBody": hook["excludeBody"], "enabled": hook["enabled"],
            "self": f"{c.base}/rest/webhooks/1.0/webhook/{hook['id']}", "lastUpdatedUser": me.account_id,
            "lastUpdatedDisplayName": me.display_name, "lastUpdated": sb.store.now_ms(),
            "createdAt": jira_ts(sb.store.now_ms())}


def register_public(sb: JiraSandbox) -> None:
    def create(c: Call) -> Response:
        try:
            hook = sb.webhooks.register(c.obj())
        except (ValueError, JQLError) as exc:
            raise fail(400, str(exc)) from None
        return json_response(_hook_bean(sb, c, hook), 201)

    def hook_of(c: Call) -> dict[str, Any]:
        hook = sb.webhooks.hooks.get(int(c.p["hook"]))
        if hook is None or "app" in hook:  # dynamic webhooks (`dynamic_webhooks`) are the app's, not the admin's
            raise fail(404, f"Webhook with id {c.p['hook']} does not exist.")
        return hook

    def update(c: Call) -> Response:
        old = hook_of(c)
        spec = {**old, **c.obj()}
        try:  # an update keeps the hook's id (its `self`): it was re-registered under a new one
            hook = sb.webhooks.register(spec, replace=old["id"])
        except (ValueError, JQLError) as exc:
            raise fail(400, str(exc)) from None
        return json_response(_hook_bean(sb, c, hook))

    def delete(c: Call) -> Response:
        if not sb.webhooks.delete(hook_of(c)["id"]):
            raise fail(404, f"Webhook with id {c.p['hook']} does not exist.")
        return Response(status=204)

    sb.route("GET", HOOKS, admin_only(sb, lambda c: json_response([_hook_bean(sb, c, h) for h in
                                                                   sb.webhooks.hooks.values() if "app" not in h])),
             "webhook", prefix="none")
    sb.route("POST", HOOKS, admin_only(sb, create), "webhook", prefix="none")
    sb.route("GET", HOOKS + r"/(?P<hook>\d+)", admin_only(sb, lambda c: json_response(_hook_bean(sb, c, hook_of(c)))),
             "webhook", prefix="none")
    sb.route("PUT", HOOKS + r"/(?P<hook>\d+)", admin_only(sb, update), "webhook", prefix="none")
    sb.route("DELETE", HOOKS + r"/(?P<hook>\d+)", admin_only(sb, delete), "webhook", prefix="none")


def register(sb: JiraSandbox, admin: Router) -> None:
    def body(req: Request) -> dict[str, Any]:
        try:
            data = req.json() or {}
        except ValueError as exc:
            raise HTTPError(400, "Invalid JSON", str(exc)) from exc
        return data if isinstance(data, dict) else {}

    def number(req: Request, name: str, default: float, kind: type, lo: float, hi: float) -> Any:
        """A number of the body as control_number reads it; a 400 naming it (not int()/float(): '٣' read as 3, a
        negative n or NaN seconds were a 500) [round 27]."""
        try:
            return control_number(name, body(req).get(name, default), kind, lo, hi)
        except ValueError as exc:
            raise HTTPError(400, "Bad request", str(exc)) from exc

    def touch(req: Request) -> Response:
        return json_response({"keys": sb.touch(number(req, "n", 10, int, 0, 2**31 - 1))})

    def delete(req: Request) -> Response:
        return json_response({"deleted": sb.delete(list(body(req).get("keys") or []))})

    def create(req: Request) -> Response:
        return json_response(sb.create_issue(body(req)), 201)

    def sync(req: Request) -> Response:
        sb.sync_index()
        return json_response({"pending": sb.store.index.pending})

    def advance(req: Request) -> Response:
        sb.advance_clock(number(req, "seconds", 0, float, -(10**10), 10**10))
        return json_response({"now": jira_ts(sb.store.now_ms())})

    def add_user(req: Request) -> Response:
        data = body(req)
        if not isinstance(data.get("email"), str) or "@" not in data["email"]:
            raise HTTPError(400, "Bad request", "'email' (an e-mail address) is required")
        ident = sb.add_user(data["email"], data.get("displayName"), active=bool(data.get("active", True)),
                            account_type=str(data.get("accountType", "atlassian")),
                            email_visible=bool(data.get("emailVisible", True)))
        return json_response({"accountId": ident}, 201)

    def clear_deliveries(req: Request) -> Response:
        sb.webhooks.deliveries.clear()
        return Response(status=204)

    p = "/_sandbox/jira"
    admin.add("GET", p + "/deliveries", lambda r: json_response({"deliveries": sb.webhook_deliveries}))
    admin.add("DELETE", p + "/deliveries", clear_deliveries)
    admin.add("POST", p + "/touch", touch)
    admin.add("POST", p + "/delete", delete)
    admin.add("POST", p + "/issues", create)
    admin.add("POST", p + "/index/sync", sync)
    admin.add("POST", p + "/clock/advance", advance)
    admin.add("POST", p + "/users", add_user)
    admin.add("GET", p + "/credentials", lambda r: json_response(sb.describe()))
