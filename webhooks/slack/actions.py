"""The inbox handler for Slack interactions: Approve/Deny clicks on approval requests.

``webhooks.handlers.PLUGINS`` maps ``("slack", "interaction:block_actions")`` here. The receiver has
verified Slack's signature and kept the click in its inbox; the inbox sensor calls this with the
event, and it applies the decision in the warehouse
(:func:`assets.notifications.actions.apply_slack_action`). A click that cannot apply (an unknown
task, another button) is logged and finished, not retried: Slack will not resend it either. So is a
click refused because the clicker may not decide (``SlackActionRefused``: the audit log has who tried
and why; see :mod:`assets.notifications.approvers`). The handler looks the clicker up in Slack with
the environment's bot token (at most two ``users.info`` calls).

The clicker sees what the click did, as Slack users expect of a button: once a decision is recorded
the request's Approve/Deny buttons are replaced (``chat.update`` on the message, so it works however
late the inbox hands the click over; a response_url expires after 30 minutes) by who decided what;
a refused click gets an ephemeral reply, to the clicker only, saying why it changed nothing, and so
does a click another decision overrode (two approvers at once: the later ``action_ts`` wins, at the
same instant Deny does; ``ActionResult.superseded``). That
feedback is best effort: the decision is committed before it, and a Slack failure is logged, not
retried. A click on the request's "Open" link button (Slack reports those too) is finished quietly.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs

from assets.notifications.actions import SlackActionError, SlackActionRefused
from assets.notifications.actions import apply_slack_action as apply_to_warehouse
from assets.notifications.messages import OPEN_LINK_ACTION, decided_blocks
from assets.notifications.safe_text import mrkdwn, one_line
from resources.environment import current_environment
from resources.notifications import NotificationsResource
from resources.slack import SlackDeliveryError, SlackSender
from resources.warehouse import WarehouseResource

log = logging.getLogger(__name__)
MAX_RETRY_AFTER_S = 5.0  # the longest Retry-After a click's Slack calls wait (the sensor tick has 60 s)


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
    if _only_links(payload):
        log.debug("Slack interaction %s: a link button; nothing to apply", getattr(event, "delivery_id", "?"))
        return None
    slack = _slack()
    with WarehouseResource.from_env().connect() as conn:  # closed before Slack is told anything
        try:
            result = apply_to_warehouse(conn, payload, slack)
        except SlackActionRefused as exc:
            refused: SlackActionRefused | None = exc
        except SlackActionError as exc:
            log.warning("Slack interaction %s not applied: %s", getattr(event, "delivery_id", "?"), exc)
            return None
        else:
            refused = None
    if refused is not None:
        log.warning("Slack interaction %s not applied: %s", getattr(event, "delivery_id", "?"), refused)
        _tell_clicker(slack, payload, f"Your click on task {mrkdwn(one_line(refused.task_id)[:200])} changed "
                                      f"nothing: {mrkdwn(one_line(refused.reason)[:500])}.")
        return None
    log.info("%s", result.text)
    if result.superseded:  # another click's decision stands (a later one, or a Deny at the same instant)
        _tell_clicker(slack, payload, f"Your click on task {mrkdwn(one_line(result.task_id)[:200])} changed "
                                      f"nothing: another decision stands. {result.text}")
    # Also on a replay (the inbox handing the click over again after a crash before chat.update): the
    # line states the decision that stands, so the message ends right however often this runs.
    _mark_decided(slack, payload, result.text)
    return None


def _only_links(payload: dict[str, Any]) -> bool:
    actions = payload.get("actions") if isinstance(payload.get("actions"), list) else []
    return bool(actions) and all(isinstance(a, dict) and a.get("action_id") == OPEN_LINK_ACTION for a in actions)


def _where(payload: dict[str, Any]) -> tuple[str, str]:
    """The clicked message's channel id and ts (the container Slack names)."""
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    return str(container.get("channel_id") or ""), str(container.get("message_ts") or "")


def _mark_decided(slack: SlackSender | None, payload: dict[str, Any], line: str) -> None:
    """Replace the request's buttons by who decided what (``chat.update``; best effort).

    The blocks re-posted are the payload's ``message``; only the container was checked against the
    ledger, so they are used only when that message is the container's (same ts): blocks of another
    message must never be written into the approval request."""
    channel, ts = _where(payload)
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    if slack is None or not channel or not ts or not message:  # an ephemeral request has no message
        return
    if str(message.get("ts") or "") != ts:
        log.warning("Slack: the click's message (ts %s) is not the message clicked (%s/%s): its buttons stay",
                    one_line(message.get("ts"))[:40], one_line(channel)[:40], one_line(ts)[:40])
        return
    try:
        slack.call("chat.update", channel=channel, ts=ts, text=line, blocks=decided_blocks(message.get("blocks"), line),
                   _attempts=2)
    except SlackDeliveryError as exc:
        log.warning("Slack: the decided request %s/%s still shows its buttons: %s", channel, ts, exc)


def _tell_clicker(slack: SlackSender | None, payload: dict[str, Any], text: str) -> None:
    """An ephemeral reply to whoever clicked, in the message's channel (best effort)."""
    channel, _ = _where(payload)
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    if slack is None or not channel or not user.get("id"):
        return
    try:
        slack.call("chat.postEphemeral", channel=channel, user=str(user["id"]), text=text, _attempts=2)
    except SlackDeliveryError as exc:
        log.warning("Slack: could not tell %s why the click was refused: %s", one_line(user["id"])[:40], exc)


def _slack() -> SlackSender | None:
    """The bot-token client that looks up who clicked and gives the feedback; None when Slack is not
    configured (then only a DM's recipient can decide, and a click in a channel is refused with that
    reason). It runs inside the inbox sensor's tick, so it waits out a 429 only when Slack asks for
    at most ``MAX_RETRY_AFTER_S`` (a lookup that cannot wait refuses the click with that reason: the
    person clicks again; feedback that cannot wait is logged)."""
    try:
        sender = NotificationsResource(vault_prefix=current_environment().vault_prefix, max_attempts=2,
                                       slack_timeout_seconds=5.0, backoff_base_seconds=0.2).slack()
    except SlackDeliveryError as exc:
        log.warning("Slack interactions: no Slack client (%s)", exc)
        return None
    if sender is not None:
        sender.max_retry_after = MAX_RETRY_AFTER_S
    return sender
