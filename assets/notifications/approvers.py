"""Who may decide a GRC task from Slack: a compliance control on Approve/Deny clicks.

:func:`check_click` runs before a click changes anything (``actions.apply_slack_action``). A click
is allowed only when both hold:

1. **It is on the task's own approval request.** ``container.channel_id`` + ``container.message_ts``
   name a message the product posted — a ``notifications.delivery_ledger`` row at that
   ``slack_channel``/``slack_ts`` with status ``sent`` or ``deduplicated`` (found in Slack after a
   crash: posted all the same) — whose notification is an approval (``action_kind = 'approval'``) for
   the very task in the button's value (the ledger's ``subject_id``, copied from the outbox row when
   the message was sent). A swapped button value, a made-up container, or a click on another message
   is refused.
2. **The clicker is entitled.**
   - A DM (``channel_type = 'slack_dm'``): only its recipient, the Slack user id the message was
     posted to (the ledger's ``slack_user``). No Slack call. A DM recorded before recipients were
     (an older ledger) cannot be decided from Slack.
   - A channel post: a Slack user whose e-mail (``users.info``; the bot has ``users:read.email``) is
     listed in ``PROJECTX_SLACK_APPROVERS`` (e-mails separated by commas, semicolons or spaces,
     compared case-insensitively), read when the click is applied. Configuration rather than the
     task: ``marts.tasks`` holds no e-mail (``assignee_id`` is a vendor id) and the routing seed
     routes by event type, not by queue, so there is no per-task list of people to read. Unset or
     empty: nobody may decide in a channel (fails closed).
   - A lookup that fails (unknown, deactivated or bot user, no e-mail shown, Slack not configured or
     unavailable) refuses the click with that reason: the person may click again later.

A refusal says why in one line, naming the clicker by Slack id (and e-mail when known), never a
token or the list of approvers.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from assets.notifications import ledger
from resources.slack import SlackDeliveryError, SlackSender
from resources.warehouse import Connection

APPROVERS_ENV = "PROJECTX_SLACK_APPROVERS"


@dataclass(frozen=True)
class Verdict:
    """Whether a click may decide its task; ``reason`` says why not (or how it was allowed)."""

    allowed: bool
    reason: str
    channel_type: str | None = None  # of the message clicked on, once found
    email: str | None = None  # the clicker's, when it was looked up


def approver_emails() -> set[str]:
    """The e-mails of ``PROJECTX_SLACK_APPROVERS``, lower-cased; empty when unset."""
    return {e.lower() for e in re.split(r"[,;\s]+", os.environ.get(APPROVERS_ENV, "")) if "@" in e}


def check_click(conn: Connection, payload: dict[str, Any], task_id: str, user_id: str,
                slack: SlackSender | None) -> Verdict:
    """Is this click on ``task_id``'s approval request, by someone entitled to decide it?"""
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    channel, ts = str(container.get("channel_id") or ""), str(container.get("message_ts") or "")
    if not channel or not ts:
        return Verdict(False, "the click names no message (container.channel_id / message_ts missing)")
    rows = ledger.sent_messages(conn, channel, ts)
    approvals = [r for r in rows if r.get("action_kind") == "approval"]
    row = next((r for r in approvals if r.get("subject_id") == task_id), None)
    if row is None:
        where = f"message {ts[:40]} in {channel[:40]}"
        if approvals:
            why = f"{where} is the approval request of another task, not of {task_id[:100]}"
        elif rows:
            why = f"{where} is not an approval request"
        else:
            why = f"{where} is no message Project X sent (no sent delivery_ledger row)"
        return Verdict(False, why)
    if row["channel_type"] == "slack_dm":
        return _dm_recipient(row, user_id)
    return _channel_approver(user_id, slack)


def _dm_recipient(row: dict[str, Any], user_id: str) -> Verdict:
    if not row.get("slack_user"):
        return Verdict(False, "the ledger does not record who received this DM (sent before recipients were "
                              "recorded): send a new request", "slack_dm")
    if user_id != row["slack_user"]:
        return Verdict(False, f"only the DM's recipient may decide; {user_id} is not", "slack_dm")
    return Verdict(True, "the DM's recipient", "slack_dm")


def _channel_approver(user_id: str, slack: SlackSender | None) -> Verdict:
    approvers = approver_emails()
    if not approvers:
        return Verdict(False, f"{APPROVERS_ENV} lists no approver: nobody may decide in a channel (set it to "
                              "the approvers' e-mails)", "slack_channel")
    if slack is None:
        return Verdict(False, "Slack is not configured (SLACK_BOT_TOKEN): cannot look up who clicked",
                       "slack_channel")
    try:
        email = slack.user_email(user_id)
    except SlackDeliveryError as exc:  # its text never holds the token
        return Verdict(False, f"could not look up who clicked ({user_id}): {exc}", "slack_channel")
    if email.lower() not in approvers:
        return Verdict(False, f"{email} is not an approver ({APPROVERS_ENV})", "slack_channel", email)
    return Verdict(True, f"{email} is an approver", "slack_channel", email)
