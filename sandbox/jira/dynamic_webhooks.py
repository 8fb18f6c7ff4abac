"""Dynamic webhooks of OAuth 2.0 apps: `/rest/api/3/webhook` (POST register, GET list, DELETE), `/webhook/refresh`,
`/webhook/failed`.

Only apps may call these: through the OAuth gateway (`/ex/jira/{cloudId}/...`, a `manage:jira-webhook` or
`write:jira-work` token) they work; Basic or PAT callers get 403. Register
`{"url", "webhooks": [{"events", "jqlFilter", "fieldIdsFilter"?, "issuePropertyKeysFilter"?}]}` answers 200
`{"webhookRegistrationResult": [{"createdWebhookId": n} | {"errors": [...]}]}`, one entry per webhook, in order
(an unknown event, a JQL error or a clause dynamic webhooks do not support is that entry's error). Webhooks
expire 30 days (sandbox clock) after registration or the last refresh (`{"expirationDate": ms}`); DELETE
`{"webhookIds"}` answers 202 and ignores ids that are not the app's. `/webhook/failed` is for Connect apps
only: an OAuth app gets 403 there, as on Jira.

Events fired: issue created/updated/deleted, comment created/updated/deleted and `issue_property_set|deleted`
(with `property: {"key", "value"?}`; `issuePropertyKeysFilter` narrows them). Deliveries POST the usual event body plus
`matchedWebhookIds` to the registered URL, with `Authorization: Bearer <JWT>` (HS256 with the app's client
secret; claims `iss` = cloudId, `aud` = client id, `iat`, `exp` three minutes later; the exact claim set is an
assumption) and no `X-Hub-Signature`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import TYPE_CHECKING, Any

from sandbox.core.http import Response, json_response
from sandbox.jira.call import Call, paged
from sandbox.jira.errors import fail
from sandbox.jira.ids import is_id
from sandbox.jira.jql import BoolOp, Clause, JQLError, Not, parse

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

LIFETIME_MS = 30 * 24 * 3600 * 1000
EVENTS = frozenset({"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created",
                    "comment_updated", "comment_deleted", "issue_property_set", "issue_property_deleted"})
# Jira's documented subset for dynamic webhook JQL
CLAUSES = {"issuekey", "key", "project", "issuetype", "type", "status", "assignee", "reporter"}
OPERATORS = {"=", "!=", "in", "not in"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_hs256(claims: dict[str, Any], secret: str) -> str:
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    body = _b64(json.dumps(claims, separators=(",", ":")).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _unsupported(node: Any) -> str | None:
    """The first clause outside the dynamic-webhook JQL subset, as Jira words it."""
    if isinstance(node, BoolOp):
        return next((bad for bad in map(_unsupported, node.items) if bad), None)
    if isinstance(node, Not):
        return _unsupported(node.item)
    if isinstance(node, Clause):
        name = node.field.lower()
        if name not in CLAUSES and not name.startswith(("cf[", "issue.property")):
            return f"The clause {node.field} is unsupported"
        if node.op not in OPERATORS or node.predicates:
            return f"The operator '{node.op.upper()}' is unsupported"
    return None


def register(sb: JiraSandbox) -> None:
    def app_of(c: Call) -> str:
        if not c.req.params.get("cloud"):
            raise fail(403, "Only Connect and OAuth 2.0 apps can use this operation.")
        return sb.credentials["client_id"]

    def mine(app: str) -> list[dict[str, Any]]:
        return [h for h in list(sb.webhooks.hooks.values()) if h.get("app") == app]

    def bearer() -> str:
        now = int(time.time())
        return jwt_hs256({"iss": sb.credentials["cloud_id"], "aud": sb.credentials["client_id"], "iat": now,
                          "exp": now + 180}, sb.credentials["client_secret"])

    def one(app: str, url: str, spec: Any) -> dict[str, Any]:
        if not isinstance(spec, dict):
            return {"errors": ["Invalid webhook details."]}
        events = spec.get("events") or []
        if not isinstance(events, list) or not events:
            return {"errors": ["At least one event is required."]}
        bad = [e for e in events if e not in EVENTS]
        if bad:
            return {"errors": [f"The event {bad[0]} is not supported."]}
        jql = spec.get("jqlFilter")
        if not isinstance(jql, str) or not jql.strip():
            return {"errors": ["The JQL filter is required."]}
        try:
            problem = _unsupported(parse(jql).where)
            if problem:
                return {"errors": [problem]}
            hook = sb.webhooks.register({"url": url, "events": events, "name": f"dynamic webhook of {app}",
                                         "filters": {"issue-related-events-section": jql}, "app": app,
                                         "expires": sb.store.now_ms() + LIFETIME_MS, "bearer": bearer,
                                         "fieldIdsFilter": list(spec.get("fieldIdsFilter") or []),
                                         "issuePropertyKeysFilter": list(spec.get("issuePropertyKeysFilter") or [])},
                                        allowed=EVENTS)
        except (JQLError, ValueError) as exc:
            return {"errors": [str(exc)]}
        return {"createdWebhookId": hook["id"]}

    def create(c: Call) -> Response:
        app, body = app_of(c), c.obj()
        url, specs = body.get("url"), body.get("webhooks")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise fail(400, "The webhook URL is invalid.")
        if not isinstance(specs, list) or not specs:
            raise fail(400, "At least one webhook is required.")
        return json_response({"webhookRegistrationResult": [one(app, url, s) for s in specs]})

    def bean(hook: dict[str, Any]) -> dict[str, Any]:
        out = {"id": hook["id"], "jqlFilter": hook["filters"]["issue-related-events-section"],
               "events": hook["events"], "expirationDate": hook["expires"], "url": hook["url"]}
        for name in ("fieldIdsFilter", "issuePropertyKeysFilter"):
            if hook.get(name):
                out[name] = hook[name]
        return out

    def listing(c: Call) -> Response:
        hooks = [bean(h) for h in mine(app_of(c))]
        start, limit = c.qint("startAt", 0), c.qint("maxResults", 100, 1, 100)
        return json_response(paged(hooks, start, limit, f"{c.r.api}/webhook?startAt={start}&maxResults={limit}"))

    def ids_in(c: Call) -> set[int]:
        ids = c.obj().get("webhookIds")
        if not isinstance(ids, list) or not ids or not all(
                (isinstance(i, int) and not isinstance(i, bool) and i >= 0) or is_id(i) for i in ids):  # [round 27]
            raise fail(400, None, {"webhookIds": "The list of webhook IDs must not be empty."})
        return {int(i) for i in ids}

    def delete(c: Call) -> Response:
        app = app_of(c)
        for hook_id in ids_in(c) & {h["id"] for h in mine(app)}:
            sb.webhooks.delete(hook_id)
        return Response(status=202)

    def refresh(c: Call) -> Response:
        app = app_of(c)
        wanted, expires = ids_in(c), sb.store.now_ms() + LIFETIME_MS
        for hook in mine(app):
            if hook["id"] in wanted:
                hook["expires"] = expires
        return json_response({"expirationDate": expires})

    def failed(c: Call) -> Response:
        app_of(c)
        raise fail(403, "Only Connect apps can use this operation.")

    sb.route("POST", r"/webhook", create, "webhook")
    sb.route("GET", r"/webhook", listing, "webhook")
    sb.route("DELETE", r"/webhook", delete, "webhook")
    sb.route("PUT", r"/webhook/refresh", refresh, "webhook")
    sb.route("GET", r"/webhook/failed", failed, "webhook")
