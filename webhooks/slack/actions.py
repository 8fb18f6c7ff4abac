"""The inbox handler for Slack interactions: Approve/Deny clicks on approval requests.

``webhooks.handlers.PLUGINS`` maps ``("slack", "interaction:block_actions")`` here. The receiver has
verified Slack's signature and kept the click in its inbox; the inbox sensor calls this with the
event, and it applies the decision in the warehouse
(:func:`assets.notifications.actions.apply_slack_action`). A click that cannot apply (an unknown
task, another button) is logged and finished, not retried: Slack will not resend it either. So is a
click refused because the clicker may not decide (``SlackActionRefused``: the audit log has who tried
and why; see :mod:`assets.notifications.approvers`). The handler looks the clicker up in Slack with
the environment's bot token (at most two ``users.info`` calls).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from assets.notifications.actions import SlackActionError
from assets.notifications.actions import apply_slack_action as apply_to_warehouse
from resources.environment import current_environment
from resources.notifications import NotificationsResource
from resources.slack import SlackDeliveryError, SlackSender
from resources.warehouse import WarehouseResource

log = logging.getLogger(__name__)


def interaction_payload(body: str) -> dict[str, Any]:
    """The interaction JSON, from the stored body (the JSON itself or Slack's ``payload=`` form)."""
    try:
        payload = json.loads(body)
    except ValueError:
        fields = parse_qs(body, strict_parsing=True, max_num_fields=20)
        payload = json.loads(fields["payload"][0])
    if isinstance(payload, dict) and "payload" in payload and "type" not in payload:
        payload = json.loads(payload["payload"]) if isinstance(payload["payload"], str) else payload["payload"]
    if not isinstance(payload, dict):
        raise ValueError("a Slack interaction is a JSON object")
    return payload


def apply_slack_action(event: Any) -> None:
    """Inbox handler: apply one block_actions event; returns None (no sync to run)."""
    payload = interaction_payload(event.body)
    slack = _slack()
    with WarehouseResource.from_env().connect() as conn:
        try:
            result = apply_to_warehouse(conn, payload, slack)
        except SlackActionError as exc:
            log.warning("Slack interaction %s not applied: %s", getattr(event, "delivery_id", "?"), exc)
            return None
    log.info("%s", result.text)
    return None


def _slack() -> SlackSender | None:
    """The bot-token client that looks up who clicked; None when Slack is not configured (then only a
    DM's recipient can decide, and a click in a channel is refused with that reason)."""
    try:
        return NotificationsResource(vault_prefix=current_environment().vault_prefix, max_attempts=2,
                                     slack_timeout_seconds=5.0, backoff_base_seconds=0.2).slack()
    except SlackDeliveryError as exc:
        log.warning("Slack interactions: no Slack client (%s)", exc)
        return None
