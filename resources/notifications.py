"""Notification delivery as a Dagster resource: the Slack and SMTP senders and the people directory.

Holds no secret, only where to find them (Vault ``<prefix>/slack`` and ``<prefix>/smtp``, else the
``SLACK_*`` / ``SMTP_*`` variables). Slack is optional (no ``SLACK_BOT_TOKEN``: everything goes by
e-mail); with neither configured, notifications stay queued and the backlog figure shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from dagster import ConfigurableResource

from resources.email import EmailSender
from resources.email import sender_from_env as email_from_env
from resources.secrets import SecretStore
from resources.slack import MAX_ATTEMPTS, SlackSender, bot_token_source

log = logging.getLogger(__name__)


class NotificationsResource(ConfigurableResource):
    """Builds the senders for one delivery run."""

    vault_prefix: str = "integrations/dev"
    slack_timeout_seconds: float = 10.0
    backoff_base_seconds: float = 1.0  # full-jitter backoff between Slack retries; doubles per attempt
    max_attempts: int = MAX_ATTEMPTS

    def slack(self) -> SlackSender | None:
        values = SecretStore(self.vault_prefix).vendor("slack")
        if not values.get("bot_token"):
            return None
        return SlackSender(token=str(values["bot_token"]), base_url=values.get("api_url") or "https://slack.com/api/",
                           timeout=self.slack_timeout_seconds, backoff_base=self.backoff_base_seconds,
                           max_attempts=self.max_attempts, token_source=bot_token_source(self.vault_prefix))

    def email(self) -> EmailSender | None:
        return email_from_env(self.vault_prefix)


def servicenow_directory(make_client: Callable[[], object]) -> Callable[[str], str | None]:
    """Resolve ``servicenow:<sys_id>`` to the user's e-mail (sys_user), once per person per run."""
    cache: dict[str, str | None] = {}
    client: list[object] = []

    def lookup(ref: str) -> str | None:
        system, _, person = ref.partition(":")
        if system != "servicenow" or not person:
            return None
        if ref not in cache:
            try:
                if not client:
                    client.append(make_client())
                record = client[0].get("sys_user", person)  # type: ignore[attr-defined]
                cache[ref] = (record or {}).get("email") or None
            except Exception as exc:  # an unknown user or a ServiceNow outage: fall back to the route's e-mail
                log.warning("could not read ServiceNow user %s: %s", person, type(exc).__name__)
                cache[ref] = None
        return cache[ref]

    return lookup
