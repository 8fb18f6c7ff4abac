"""Slack delivery with slack_sdk's WebClient: one message at a time, retried, never guessed at.

Grain: one call of :meth:`SlackSender.post` is one Slack message (a channel post or a DM). The
sender resolves people to Slack ids with ``users.lookupByEmail`` (cached for the sender's life),
waits exactly ``Retry-After`` on a 429 (up to ``MAX_RETRY_AFTER``), retries 5xx answers, timeouts and
connection errors with jittered backoff up to ``MAX_ATTEMPTS`` (spec §2.4: at most 6), and classifies what is left:

- :class:`SlackTokenRevoked` — the bot token is revoked, expired or invalid: stop Slack entirely;
- :class:`SlackUnavailable` — Slack kept failing after every attempt: use the e-mail fallback;
- :class:`SlackRejected` — Slack refused this message for good (unknown channel, no such user, a scope
  the install lacks: missing_scope names it and the fix).

Every message carries ``metadata`` with its delivery key, so a run killed between the post and the
ledger write finds the message in the channel's history instead of posting it again
(:meth:`SlackSender.find_posted`: every page back to the first attempt, at most ``HISTORY_PAGES``).
The token comes from Vault ``integrations/<env>/slack`` (key ``bot_token``) or ``SLACK_BOT_TOKEN``.
"""

from __future__ import annotations

import http.client
import logging
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

# the outcomes callers catch live in resources.slack_errors; they import them from here as before
from resources.slack_errors import (
    SCOPE_HINT,
    TOKEN_HINT,
    SlackDeliveryError,
    SlackRejected,
    SlackTokenRevoked,
    SlackUnavailable,
    _error_of,
    _needed,
    _retry_after,
    refusal,
)

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
MAX_RETRY_AFTER = 120.0  # seconds; a longer (or absurd) Retry-After sends this run's messages by e-mail
METADATA_EVENT = "projectx_notification"
TOKEN_ERRORS = frozenset({"token_revoked", "token_expired", "invalid_auth", "not_authed", "account_inactive"})
TRANSIENT_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout",
                              "ratelimited"})
# Looking for a message already posted: pages of HISTORY_PAGE messages back to the first attempt less
# CLOCK_MARGIN seconds (Slack's clock stamps ts, ours the attempt), at most HISTORY_PAGES pages.
HISTORY_PAGE = 200  # Slack's recommended page size (it may answer with fewer: the cursor goes on)
HISTORY_PAGES = 50  # 10,000 messages since the attempt; beyond that the message is posted (see find_posted)
CLOCK_MARGIN = 120.0
# Look-ups made before retrying a post whose answer was lost: a 429 there (the history methods are Tier 3, far
# lower for apps outside the Marketplace) is waited out and the look-up made again; a single one took the 429
# for "not posted" and posted the notification a second time. Any other failure ends the look-up at once.
LOOKUP_ATTEMPTS = 2
# Slack's conversation ids: channels (C), private channels of old (G), DMs (D). conversations.* methods take
# nothing else (a name is channel_not_found there), while chat.postMessage takes a channel's name too.
CONVERSATION_ID = re.compile(r"[CGD][A-Z0-9]{6,}")
CHANNEL_LIST_PAGE = 200  # Slack's recommended page (its limit must be under 1000)
CHANNEL_LIST_PAGES = 100  # 20,000 channels: a name not found by then is reported as not found


@dataclass
class SlackSender:
    """A bot-token Slack client with retry, Retry-After and a per-sender e-mail→user-id cache."""

    token: str
    base_url: str = "https://slack.com/api/"
    timeout: float = 10.0
    max_attempts: int = MAX_ATTEMPTS
    backoff_base: float = 1.0
    backoff_cap: float = 30.0
    max_retry_after: float = MAX_RETRY_AFTER
    sleep: Callable[[float], None] = time.sleep
    # Where the token is read again when Slack refuses it (Vault or SLACK_BOT_TOKEN): a token rotated or the app
    # reinstalled since this sender was built is taken up, not reported as revoked. None: the token is fixed.
    token_source: Callable[[], str | None] | None = None
    retries: int = 0
    rate_limited_waits: list[float] = field(default_factory=list)
    _users: dict[str, str] = field(default_factory=dict)
    _channels: dict[str, str] = field(default_factory=dict)
    _public_only: bool = False  # the install lacks groups:read: conversations.list lists public channels only

    def __post_init__(self) -> None:
        if not self.token:
            raise SlackTokenRevoked(f"SLACK_BOT_TOKEN is not set: {TOKEN_HINT}")
        # retry_handlers=[]: this class owns every retry, so a 429 is waited out exactly once per answer.
        self.client = WebClient(token=self.token, base_url=self.base_url, timeout=int(max(1, self.timeout)),
                                retry_handlers=[])

    # --- calls ------------------------------------------------------------------------------
    def call(self, method: str, _before_retry: Callable[[], dict[str, Any] | None] | None = None,
             _attempts: int | None = None, **kwargs: Any) -> dict[str, Any]:
        """One Web API call with the retry policy; returns the response body.

        ``_before_retry`` runs before a retry that follows an answer that does not say whether Slack
        acted (a timeout, a dropped connection, a 5xx, a body that is not Slack's JSON: Slack may have
        stored a post and failed afterwards); a non-None result ends the call with it. A 429 is a
        refusal, so no check is needed after one."""
        last, unsure, attempts, renewed = "", False, _attempts or self.max_attempts, False
        attempt = 0
        while attempt < attempts:
            attempt += 1
            if unsure and _before_retry is not None:
                found = _before_retry()
                if found is not None:
                    return found
            was_unsure, unsure = unsure, False
            try:
                return self._send(method, kwargs)
            except SlackApiError as exc:
                error, status = _error_of(exc)
                if error in TOKEN_ERRORS:
                    if not renewed and self._renew_token():  # once a call: the new token is tried, not counted
                        log.warning("Slack answered %s to %s: the bot token changed since this client read it "
                                    "(rotated or the app reinstalled); going on with the new one", error, method)
                        renewed, unsure, attempt = True, was_unsure, attempt - 1
                        continue
                    raise SlackTokenRevoked(f"Slack answered {error} to {method}: {TOKEN_HINT}") from None
                if status == 429:
                    wait = _retry_after(exc)
                    if not wait <= self.max_retry_after:  # also NaN/inf: this run does not wait that long
                        raise SlackUnavailable(f"Slack rate limited {method} with Retry-After {wait:g}s, longer than "
                                               f"the {self.max_retry_after:g}s a run waits; delivering by e-mail "
                                               "instead") from None
                    self.rate_limited_waits.append(wait)
                    last = f"429 ratelimited (Retry-After {wait:g}s)"
                    if attempt < attempts:
                        self.retries += 1
                        self.sleep(wait)
                    continue
                if error == "missing_scope" and status < 500:
                    needed = _needed(exc)
                    scope = needed.replace(",", " or ") or "missing"
                    raise SlackRejected(f"Slack refused {method}: missing_scope{f' ({needed})' if needed else ''}: "
                                        f"{SCOPE_HINT.format(scope=scope)}", error, needed) from None
                if error and status < 500 and error not in TRANSIENT_ERRORS:
                    raise SlackRejected(refusal(method, error, exc), error) from None
                last = f"HTTP {status} {error or 'answer that is not Slack JSON'}"
                unsure = True
            # socket timeouts, refused connections, URLError; an answer cut short or garbled (IncompleteRead,
            # BadStatusLine: http.client's own errors, not OSError; a body that is not its charset)
            except (TimeoutError, OSError, http.client.HTTPException, UnicodeDecodeError) as exc:
                last = f"{type(exc).__name__}: {exc}"
                unsure = True
            if attempt < attempts:
                self.retries += 1
                self.sleep(self._backoff(attempt))
        raise SlackUnavailable(f"Slack {method} failed {attempts} times (last: {last}); "
                               "delivering by e-mail instead")

    def _renew_token(self) -> bool:
        """Read the token again (``token_source``); True when it differs from the one refused, which it replaces.
        A failed read (Vault down) keeps the refused one: the caller reports it as revoked."""
        if self.token_source is None:
            return False
        try:
            fresh = (self.token_source() or "").strip()
        except Exception as exc:  # whatever Vault raised: named by type only
            log.warning("could not read the Slack bot token again: %s", type(exc).__name__)
            return False
        if not fresh or fresh == self.token:
            return False
        self.token = fresh
        self.client = WebClient(token=fresh, base_url=self.base_url, timeout=int(max(1, self.timeout)),
                                retry_handlers=[])
        return True

    def _send(self, method: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """chat.* writes as JSON (blocks and metadata are nested); every other method form-encoded, as Slack's
        read methods (conversations.history, users.lookupByEmail, ...) do not read a JSON body."""
        body = {"json": kwargs} if method.startswith("chat.") else {"data": kwargs}  # slack_sdk: booleans as 1/0
        return self.client.api_call(method, **body).data  # type: ignore[return-value]

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(cap, base * 2^(attempt-1)))."""
        return random.uniform(0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))

    def check_token(self) -> dict[str, Any]:
        """auth.test: the workspace and bot ids, or SlackTokenRevoked."""
        return self.call("auth.test")

    def user_id(self, email: str) -> str:
        """The Slack user id of the person with this e-mail (users.lookupByEmail, cached)."""
        key = email.strip().lower()
        if key not in self._users:
            self._users[key] = self.call("users.lookupByEmail", email=key)["user"]["id"]
        return self._users[key]

    def user_email(self, user_id: str, attempts: int = 2) -> str:
        """The e-mail of a Slack user (``users.info``; the bot needs ``users:read.email``), for deciding
        who clicked a button. SlackRejected for an unknown, deactivated or bot user, or one without an
        e-mail; at most ``attempts`` calls (a person is waiting for the click's answer)."""
        user = self.call("users.info", _attempts=attempts, user=user_id).get("user") or {}
        if user.get("deleted") or user.get("is_bot"):
            raise SlackRejected(f"Slack user {user_id} is {'deactivated' if user.get('deleted') else 'a bot'}")
        email = str((user.get("profile") or {}).get("email") or "").strip()
        if not email:
            raise SlackRejected(f"Slack shows no e-mail for user {user_id}: the bot needs the users:read.email "
                                "scope (reinstall the app with it)")
        return email

    def post(self, channel: str, text: str, blocks: list[dict[str, Any]] | None, delivery_key: str,
             thread_ts: str | None = None) -> dict[str, Any]:
        """Post one message with the delivery key in its metadata; returns {channel, ts}."""
        kwargs: dict[str, Any] = {"channel": channel, "text": text, "unfurl_links": False,
                                  "metadata": {"event_type": METADATA_EVENT,
                                               "event_payload": {"delivery_key": delivery_key}}}
        if blocks:
            kwargs["blocks"] = blocks
        if thread_ts:
            kwargs["thread_ts"] = thread_ts
        started = time.time()  # a post this call stored cannot be older

        def already_posted() -> dict[str, Any] | None:
            for _ in range(LOOKUP_ATTEMPTS):
                waits = len(self.rate_limited_waits)
                try:
                    return self.find_posted(channel, delivery_key, oldest=started, attempts=1, thread_ts=thread_ts)
                except SlackDeliveryError:
                    if len(self.rate_limited_waits) == waits:  # not a rate limit: the post goes ahead (see find_posted)
                        return None
                    self.sleep(self.rate_limited_waits[-1])  # Slack said when to ask again
            return None

        data = self.call("chat.postMessage", _before_retry=already_posted, **kwargs)
        if not CONVERSATION_ID.fullmatch(channel) and not _is_user(channel):
            self._channels.setdefault(_channel_name(channel), str(data["channel"]))  # spares a look-up
        return {"channel": data["channel"], "ts": data["ts"]}

    def conversation_id(self, channel: str, attempts: int | None = None) -> str:
        """The id that conversations.* methods need for ``channel``: an id as is; a user id (U/W) opens
        the DM (``conversations.open``, scope ``im:write``); a channel name (``#alerts`` or ``alerts``, as
        owners.yaml writes them) is looked up in ``conversations.list`` (public channels and the private
        ones the bot is in; scopes ``channels:read``, ``groups:read``) and cached for the sender's life.
        SlackRejected, naming the fix, for a name the bot cannot see.

        An install made before Project X asked for ``groups:read`` gets missing_scope for private channels:
        the names are then looked up among public channels only (one warning per sender), so a public
        channel is still found, and a name not found says it may be a private one and names the fix."""
        if CONVERSATION_ID.fullmatch(channel):
            return channel
        if _is_user(channel):
            return str(self.call("conversations.open", _attempts=attempts, users=channel)["channel"]["id"])
        name = _channel_name(channel)
        if name not in self._channels:
            self._list_channels(name, attempts)
        if name in self._channels:
            return self._channels[name]
        if self._public_only:
            raise SlackRejected(f"Slack shows the bot no public channel named #{name}, and this install cannot list "
                                f"private ones (no groups:read): if #{name} is private, "
                                f"{SCOPE_HINT.format(scope='groups:read')} and invite the bot to it (/invite "
                                "@Project X); otherwise fix the channel in resources/owners.yaml", "channel_not_found")
        raise SlackRejected(f"Slack shows the bot no channel named #{name}: fix the channel in "
                            "resources/owners.yaml, or invite the bot to the private channel (/invite @Project X)",
                            "channel_not_found")

    def _list_channels(self, name: str, attempts: int | None) -> None:
        """Page conversations.list (caching every channel seen) until ``name`` shows or the pages end. A
        missing_scope naming groups:read switches this sender to public channels and starts over."""
        cursor, pages = "", 0
        while pages < CHANNEL_LIST_PAGES:
            types = "public_channel" if self._public_only else "public_channel,private_channel"
            try:
                data = self.call("conversations.list", _attempts=attempts, types=types, exclude_archived=True,
                                 limit=CHANNEL_LIST_PAGE, **({"cursor": cursor} if cursor else {}))
            except SlackRejected as exc:
                if self._public_only or exc.error != "missing_scope" or "groups:read" not in exc.needed.split(","):
                    raise
                self._public_only = True
                log.warning("Slack refused to list private channels: the install lacks the groups:read scope; "
                            "channel names are looked up among public channels only until you %s",
                            SCOPE_HINT.format(scope="groups:read"))
                cursor, pages = "", 0
                continue
            pages += 1
            for found in data.get("channels") or []:
                if isinstance(found, dict) and found.get("name") and found.get("id"):
                    self._channels.setdefault(str(found["name"]).lower(), str(found["id"]))
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if name in self._channels or not cursor:
                return

    def find_posted(self, channel: str, delivery_key: str, oldest: float | None = None,
                    attempts: int | None = None, thread_ts: str | None = None) -> dict[str, Any] | None:
        """The message already posted with this delivery key (after a crash or a timeout), or None.

        ``oldest``: when the first attempt to post it began (epoch seconds, our clock): the history is
        read page by page (cursor) from that moment less ``CLOCK_MARGIN`` (with only ``oldest``, Slack
        pages forward from it), however many messages came around it; None reads back from the newest
        message, page after page. Nothing here depends on the order of a page or of the pages. A reply
        is looked for in its thread: conversations.history lists top-level messages only.

        At most ``HISTORY_PAGES`` pages are read. A message not found by then counts as not posted and
        the caller posts it: a duplicate is possible in a channel that busy, a lost notification is not.
        That is the choice this client made from the start (a failed look-up, too, lets the post go
        ahead); it is logged as a warning."""
        channel = self.conversation_id(channel, attempts)  # a name or a user (DM) becomes the conversation's id
        method, kwargs = ("conversations.replies", {"ts": thread_ts}) if thread_ts else ("conversations.history", {})
        if oldest is not None:
            kwargs["oldest"] = f"{max(0.0, oldest - CLOCK_MARGIN):.6f}"
        cursor = ""
        for _ in range(HISTORY_PAGES):
            data = self.call(method, _attempts=attempts, channel=channel, limit=HISTORY_PAGE,
                             include_all_metadata=True, **kwargs, **({"cursor": cursor} if cursor else {}))
            for msg in data.get("messages", []):
                meta = msg.get("metadata") or {}
                if meta.get("event_type") == METADATA_EVENT and \
                        (meta.get("event_payload") or {}).get("delivery_key") == delivery_key:
                    return {"channel": data.get("channel_id") or channel, "ts": msg["ts"]}
            cursor = str((data.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        log.warning("message %s not found in the first %d pages of %s's history since %s: posting it (it may be "
                    "a duplicate, never a loss)", delivery_key, HISTORY_PAGES, channel,
                    "the start" if oldest is None else time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(oldest)))
        return None

    def open_dm(self, email: str) -> str:
        """The channel to post a DM to: the user id (chat.postMessage opens the IM). A user id this sender
        looked up earlier is confirmed with ``conversations.open`` first: the person may have been deactivated
        since (Slack answers ``user_disabled``; SlackRejected, and the id is forgotten), and a post to their
        DM would reach no one. An install without ``im:write`` posts unconfirmed, as before."""
        key = email.strip().lower()
        cached = key in self._users
        uid = self.user_id(email)
        if cached:
            try:
                self.call("conversations.open", users=uid)
            except SlackRejected as exc:
                if exc.error == "missing_scope":
                    return uid
                if exc.error in ("user_disabled", "user_not_found"):
                    self._users.pop(key, None)
                raise
        return uid


def _is_user(channel: str) -> bool:
    """A Slack user id (U…, or W… on Enterprise Grid): a DM to that person. Channel names are lower case."""
    return bool(re.fullmatch(r"[UW][A-Z0-9]{6,}", channel))


def _channel_name(channel: str) -> str:
    """A channel's name as Slack lists it: no '#', lower case (Slack's channel names are)."""
    return channel.strip().lstrip("#").lower()


def sender_from_env(vault_prefix: str, **kwargs: Any) -> SlackSender:
    """A sender with the bot token from Vault or SLACK_BOT_TOKEN and SLACK_API_URL (default Slack's)."""
    from resources.secrets import SecretStore

    values = SecretStore(vault_prefix).vendor("slack")
    return SlackSender(token=values.get("bot_token") or "", base_url=values.get("api_url") or
                       "https://slack.com/api/", token_source=bot_token_source(vault_prefix), **kwargs)


def bot_token_source(vault_prefix: str) -> Callable[[], str | None]:
    """Reads the bot token again from where the sender's came from (Vault ``<prefix>/slack`` or SLACK_BOT_TOKEN)."""
    def read() -> str | None:
        from resources.secrets import SecretStore

        return SecretStore(vault_prefix).vendor("slack").get("bot_token")
    return read
