"""Slack's token state across delivery runs, mixed into :class:`~assets.notifications.delivery.Deliverer`: the
circuit breaker (after Slack failed every attempt, e-mail only for ``BREAKER_COOL_DOWN``), a revoked token that
stays revoked until ``auth.test`` passes again, disabling Slack with one e-mail to the admins naming the fix, and
:func:`reinstall_url`, where an admin reinstalls the Slack app."""

from __future__ import annotations

import logging
import os
from datetime import timedelta

from assets.notifications import ledger
from resources.email import EmailDeliveryError
from resources.slack import SlackRejected, SlackTokenRevoked, SlackUnavailable

log = logging.getLogger("assets.notifications.delivery")  # the logger these lines always went to
BREAKER_COOL_DOWN = timedelta(minutes=5)  # after Slack failed every attempt, e-mail only for this long


class SlackTokenState:
    """Uses the deliverer's ``conn``, ``slack``, ``email``, ``admin_emails``, ``reinstall_url``, ``report`` and
    ``slack_down``."""

    def _check_slack_state(self) -> None:
        """A revoked token stays revoked until auth.test passes again (one call per run, no loop)."""
        if self.slack is None:
            return
        state = ledger.slack_state(self.conn)
        if state["status"] == "ok":
            return
        if state["status"] == "unavailable":  # the circuit breaker: e-mail only until it cools down
            if state["since"] and ledger.now() - state["since"] < BREAKER_COOL_DOWN:
                self.slack_down = f"Slack failed every attempt at {state['since']:%H:%M:%S} UTC; breaker open"
            else:
                ledger.set_slack_state(self.conn, "ok")
            return
        try:
            self.slack.check_token()
        except (SlackTokenRevoked, SlackUnavailable, SlackRejected):
            self.slack = None
            self.report.counts["slack_disabled"] = 1
            return
        ledger.set_slack_state(self.conn, "ok")

    def _disable_slack(self, reason: str) -> None:
        self.slack = None
        self.report.counts["slack_disabled"] = 1
        first_time = ledger.slack_state(self.conn).get("admin_notified_at") is None
        ledger.set_slack_state(self.conn, "revoked", reason)
        if not first_time:
            return
        text = (f"Project X stopped delivering to Slack: {reason}.\n\nReinstall the app: {self.reinstall_url}\n"
                "Notifications go out by e-mail until then; nothing is lost.")
        try:
            if self.email is None or not self.admin_emails:
                raise EmailDeliveryError("no SMTP or admin e-mail for the Slack token alert")
            self.email.send(self.admin_emails, "Project X: Slack bot token revoked - reinstall the app", text, None,
                            f"slack-token-revoked-{ledger.now():%Y%m%d%H%M%S}")
            ledger.set_slack_state(self.conn, "revoked", reason, admin_notified=True)
        except EmailDeliveryError as exc:
            log.error("could not e-mail the Slack admins: %s", exc)


def reinstall_url() -> str:
    """Where an admin reinstalls the Slack app (spec §2.4: the OAuth redirect of Project X)."""
    base = os.environ.get("PROJECTX_BASE_URL", "https://projectx.local").rstrip("/")
    client_id = os.environ.get("SLACK_CLIENT_ID", "")
    # The spec's scopes (§2.4) and what the sender also calls: users:read.email (who clicked, whom to DM),
    # groups:read (a private channel's id by its name), *:history (conversations.history/replies: a post a
    # crash interrupted is found instead of sent twice), im:write (conversations.open: a DM's history),
    # chat:write.public (a public channel the bot was never invited to: the not_in_channel hint's fix).
    scopes = ("chat:write,chat:write.public,commands,users:read,users:read.email,files:write,channels:read,"
              "groups:read,channels:history,groups:history,im:history,im:write")
    return (f"https://slack.com/oauth/v2/authorize?client_id={client_id}&scope={scopes}"
            f"&redirect_uri={base}/oauth/callback/slack")
