"""apps.event.authorizations.list: the installations of the app an event is visible to.

An Events API envelope (`sandbox.slack.events`) carries an opaque `event_context` (here `4-` and the
unpadded URL-safe base64 of `{"et", "tid", "aid", "cid"?}`) and, since 2021, only one of its
`authorizations`; this method lists them all for that context. It takes an app-level token (`xapp-`,
`sb.new_app_token(["authorizations:read"])`) with scope `authorizations:read`:

- answer `{"authorizations": [{enterprise_id, team_id, user_id, is_bot, is_enterprise_install}],
  "response_metadata": {"next_cursor": ""}}`: the app's bot, as the envelope's own entry (an org-wide
  install: `enterprise_id` set, `team_id` null). Installing users are not listed [unc].
- not_allowed_token_type for a bot or user token; missing_scope (needed authorizations:read) for an app
  token without it; invalid_arguments without `event_context` [unc]; invalid_event_context for one this
  workspace never issued (not decodable, another team); auth_mismatch for an event of another app;
  invalid_cursor for a cursor it did not hand out (it never hands one out: one page).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from sandbox.slack.webapi import SlackError, bad_args

if TYPE_CHECKING:
    from sandbox.slack.app import SlackSandbox

METHOD = "apps.event.authorizations.list"
SCOPE = "authorizations:read"


def _context(raw: str) -> dict[str, Any]:
    """The decoded event context, or invalid_event_context."""
    prefix, _, body = raw.partition("-")
    try:
        if prefix != "4" or not body:
            raise ValueError(prefix)
        decoded = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError as exc:  # binascii.Error and JSONDecodeError are ValueErrors
        raise SlackError("invalid_event_context") from exc
    if not isinstance(decoded, dict) or not {"et", "tid", "aid"} <= set(decoded):
        raise SlackError("invalid_event_context")
    return decoded


def list_authorizations(sb: SlackSandbox, args: dict[str, Any]) -> dict[str, Any]:
    caller = sb.caller()
    if caller is None or caller.kind != "app":
        raise SlackError("not_allowed_token_type")
    if SCOPE not in caller.scopes:
        raise SlackError("missing_scope", needed=SCOPE, provided=",".join(caller.scopes))
    raw = str(args.get("event_context") or "")
    if not raw:
        raise bad_args("missing required field: event_context")
    context, ws = _context(raw), sb.workspace
    if context["tid"] != ws.team_id:
        raise SlackError("invalid_event_context")
    if context["aid"] != ws.app_id:
        raise SlackError("auth_mismatch")
    if args.get("cursor"):
        raise SlackError("invalid_cursor")
    return {"authorizations": [sb.enterprise.authorization(ws.bot_user_id)],
            "response_metadata": {"next_cursor": ""}}
