"""Slack's answers as outcomes: the exceptions :mod:`resources.slack` raises, the fixes they name, and the readers
of an error answer (Slack's code and HTTP status, the scopes a missing_scope names, ``Retry-After``).

The text of every exception names what to do and never holds the token.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from slack_sdk.errors import SlackApiError

TOKEN_HINT = "reinstall the Slack app and store the new bot token in Vault integrations/<env>/slack (SLACK_BOT_TOKEN)"
# Slack's missing_scope names the scope (`needed`); the reinstall link (assets.notifications.delivery.reinstall_url)
# asks for every scope the README's "Bot scopes" lists, so reinstalling with it adds the one missing.
SCOPE_HINT = "reinstall the Slack app with the {scope} scope (Project X's reinstall link asks for it)"
SCOPE_NAMES = re.compile(r"[a-z0-9_.:]{1,60}(,[a-z0-9_.:]{1,60}){0,20}")
# What Slack's refusal of one message means and the fix, in the ledger's error (and the fallback e-mail's reason,
# or the dead letter's when there is no e-mail to fall back to). Codes from chat.postMessage's documented errors.
REFUSAL_HINTS = {
    "is_archived": "the channel is archived: unarchive it in Slack, or route these notifications to a live channel "
                   "in resources/owners.yaml",
    "channel_not_found": "Slack shows the bot no such channel: fix the channel in resources/owners.yaml, or invite "
                         "the bot to the private channel (/invite @Project X)",
    "not_in_channel": "the bot is not in the channel: invite it (/invite @Project X), or reinstall the app with the "
                      "chat:write.public scope",
    "msg_too_long": "the message is longer than Slack takes (40,000 characters of text)",
    "msg_blocks_too_long": "the message's blocks are longer than Slack takes",
    "invalid_blocks": "Slack refused the message's layout (Block Kit limits: 50 blocks, 3,000 characters a section)",
}
_SHOWN = re.compile(r"[^A-Za-z0-9 _:/\[\]().,'-]")  # what of Slack's own words a refusal repeats


class SlackDeliveryError(Exception):
    """Base of the outcomes a caller must act on; the text never holds the token."""


class SlackTokenRevoked(SlackDeliveryError):
    """The bot token no longer works: Slack delivery stops until the app is reinstalled."""


class SlackUnavailable(SlackDeliveryError):
    """Slack failed every attempt (5xx, timeouts, rate limits): deliver by e-mail instead."""


class SlackRejected(SlackDeliveryError):
    """Slack refused this one message for good (channel_not_found, users_not_found, ...). ``error`` is Slack's
    code, ``needed`` the scopes a missing_scope answer named (comma-separated, "" otherwise)."""

    def __init__(self, message: str, error: str = "", needed: str = "") -> None:
        super().__init__(message)
        self.error, self.needed = error, needed


def refusal(method: str, error: str, exc: SlackApiError) -> str:
    """The text of a SlackRejected for Slack's ``error``: the code, what it means and the fix; for invalid_blocks
    also Slack's first ``response_metadata.messages`` line (which block), reduced to plain characters."""
    text = f"Slack refused {method}: {error}"
    if error in REFUSAL_HINTS:
        text += f" ({REFUSAL_HINTS[error]})"
    data = exc.response.data if isinstance(getattr(exc.response, "data", None), dict) else {}
    said = (data.get("response_metadata") or {}).get("messages") if isinstance(data.get("response_metadata"), dict) \
        else None
    if error == "invalid_blocks" and isinstance(said, list) and said:
        text += ": Slack said " + _SHOWN.sub("", str(said[0]))[:200]
    return text


def _error_of(exc: SlackApiError) -> tuple[str, int]:
    """(Slack's error code, HTTP status); the code is "" when the body was not Slack's JSON (a proxy's
    page): nothing says Slack refused, so the call counts as failed and is retried."""
    resp = exc.response
    data = resp.data if isinstance(getattr(resp, "data", None), dict) else {}
    error = str(data.get("error") or "")
    if not re.fullmatch(r"[a-z0-9_.]{1,100}", error):  # slack_sdk's "Received a response in a non-JSON format"
        error = ""
    return error, int(getattr(resp, "status_code", 0) or 0)


def _needed(exc: SlackApiError) -> str:
    """The scopes a missing_scope answer says the method needs (``needed``), "" when absent or not scope names."""
    data = exc.response.data if isinstance(getattr(exc.response, "data", None), dict) else {}
    needed = str(data.get("needed") or "").replace(" ", "")
    return needed if SCOPE_NAMES.fullmatch(needed) else ""


def _retry_after(exc: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (getattr(exc.response, "headers", None) or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        wait = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        wait = _http_date_wait(value)
    return wait if wait != wait else max(0.0, wait)  # NaN stays NaN: refused by the caller's bound


def _http_date_wait(value: object) -> float:
    """Seconds until an HTTP-date ``Retry-After`` (RFC 9110; Slack documents seconds only [unc]), negative
    when past (clamped to 0 by the caller, as the seconds form); 1 s when the value is neither form."""
    try:
        when = parsedate_to_datetime(str(value).strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return 1.0
    if when.tzinfo is None:  # an HTTP-date is GMT
        when = when.replace(tzinfo=UTC)
    return (when - datetime.now(UTC)).total_seconds()
