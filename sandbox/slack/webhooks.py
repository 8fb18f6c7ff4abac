"""Slack incoming webhooks: `POST /services/T…/B…/<secret>`, one channel per webhook URL.

Body: JSON `{"text", "blocks", "attachments", "thread_ts", "username"}` or the legacy form field
`payload=<json>`. Answers are plain text, as Slack's: 200 `ok`; 400 `invalid_payload` (unparseable, or an unpaired
surrogate escape in its JSON [unc]),
`no_text` (no text, blocks or attachments), `invalid_blocks` (blocks breaking the Block Kit limits
in `sandbox.slack.blocks`); 404 `no_service` (unknown URL);
410 `channel_is_archived`; 403 `invalid_token` after the workspace token was revoked or expired.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from sandbox.core.http import Request, Response
from sandbox.slack.blocks import block_problem

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

WEBHOOK_CODES = {400: "invalid_payload", 403: "action_prohibited", 404: "no_service", 405: "invalid_payload",
                 410: "channel_is_archived", 429: "rate_limited"}


def handle_webhook(sb: SlackSandbox, req: Request) -> Response:
    """Serve one incoming-webhook POST (see module docstring)."""
    cid = sb.hook_channel_id(req.path)
    if cid is None:
        return text_response(404, "no_service")
    if sb.token.state != "ok":
        return text_response(403, "invalid_token")
    try:
        body = req.json() if req.header("Content-Type").lower().startswith("application/json") \
            else json.loads(req.form().get("payload", ""))
        json.dumps(body, ensure_ascii=False).encode("utf-8")  # an unpaired surrogate escape [unc: round 30]
    except ValueError:  # UnicodeEncodeError is one
        return text_response(400, "invalid_payload")
    if not isinstance(body, dict):
        return text_response(400, "invalid_payload")
    channel = sb.workspace.channels[cid]
    if channel["is_archived"]:
        return text_response(410, "channel_is_archived")
    blocks, attachments = body.get("blocks"), body.get("attachments")
    if blocks is not None and (not isinstance(blocks, list) or block_problem(blocks)):
        return text_response(400, "invalid_blocks")
    if not body.get("text") and not blocks and not attachments:
        return text_response(400, "no_text")
    ws = sb.workspace
    message = {"type": "message", "subtype": "bot_message", "text": body.get("text") or "", "bot_id": ws.bot_id,
               "app_id": ws.app_id, "username": body.get("username") or "incoming-webhook"}
    if body.get("icon_emoji") or body.get("icon_url"):  # the override icon, as chat.postMessage's
        message["icons"] = {"emoji": body["icon_emoji"]} if body.get("icon_emoji") else {"image_64": body["icon_url"]}
    for key in ("blocks", "attachments", "thread_ts"):
        if body.get(key):
            message[key] = body[key]
    sb.record_message(channel, message, "webhook", body)
    return text_response(200, "ok")


def text_response(status: int, text: str, headers: list[tuple[str, str]] | None = None) -> Response:
    """Slack webhook answers are short plain-text codes ("ok", "no_text", ...)."""
    return Response(status, text.encode("utf-8"), "text/html", list(headers or []))
