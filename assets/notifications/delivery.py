"""Deliver outbox rows exactly once: group them into messages, send, fall back, record the ledger.

Grain of the input: one outbox row per notification and target (``marts.notification_outbox``).
Rows sharing ``channel_type``, ``target`` and ``group_key`` go out as one message (a summary).
Each message is recorded ``sending`` before the send and done after it (see ``ledger``), so a
rerun after a kill re-sends only what never left, and finds by Slack metadata what left unrecorded:
it reads the channel's (or thread's) history page by page back to the ledger's ``first_attempt_at``
(``resources.slack.SlackSender.find_posted``), so a busy channel does not hide it.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from assets.notifications import ledger
from assets.notifications.messages import Message, email_bodies, shortened_slack, slack_blocks, slack_text
from assets.notifications.slack_state import BREAKER_COOL_DOWN as BREAKER_COOL_DOWN  # re-exported
from assets.notifications.slack_state import SlackTokenState
from assets.notifications.slack_state import reinstall_url as reinstall_url  # re-exported: imported from here
from resources.audit import new_correlation_id, record_event
from resources.email import (
    RETRY_AFTER,
    EmailAddressError,
    EmailDeferred,
    EmailDeliveryError,
    EmailPartlyRefused,
    EmailRejected,
    EmailSender,
    valid_recipients,
)
from resources.slack import SlackRejected, SlackSender, SlackTokenRevoked, SlackUnavailable
from resources.warehouse import Connection

log = logging.getLogger(__name__)
DEVELOPER = "developer"  # the local environment's Developer DM (PROJECTX_DEVELOPER_EMAIL)
# Attempts in all for an e-mail the relay deferred some recipients of (4xx): the first send, then one resend
# to just those every RETRY_AFTER (10 minutes, spec 2.5) until they take it; after the last, the ledger
# row is done and its error names who never got it.
EMAIL_RESEND_ATTEMPTS = 6
EARLIER, KEPT_ERROR = "; earlier: ", 600  # a resend's ledger error keeps the first refusal after this (chars)
# Slack's refusals of a message's size or layout: posted again shortened, with the record's link (see _post)
TOO_BIG = frozenset({"msg_too_long", "msg_blocks_too_long", "invalid_blocks"})


@dataclass
class DeliveryReport:
    """The figures a delivery asset shows: what happened to the messages of this run."""

    counts: Counter = field(default_factory=Counter)
    notifications: int = 0
    errors: list[str] = field(default_factory=list)

    def as_metadata(self) -> dict[str, int]:
        keys = ("sent", "deduplicated", "retried", "failed", "fallback", "email_failures", "email_resending",
                "email_dead_letters", "slack_disabled")
        return {k: int(self.counts.get(k, 0)) for k in keys} | {"notifications": self.notifications}


@dataclass
class Deliverer(SlackTokenState):
    """Sends messages through Slack (when it works) and SMTP; resolves people through `directory`."""

    conn: Connection
    slack: SlackSender | None
    email: EmailSender | None
    directory: Callable[[str], str | None] = lambda ref: None
    admin_emails: list[str] = field(default_factory=list)
    reinstall_url: str = ""
    run_id: str | None = None
    report: DeliveryReport = field(default_factory=DeliveryReport)
    _state_checked: bool = False
    slack_down: str | None = None  # set when Slack failed every attempt: the rest of the run goes by e-mail

    # --- entry point -----------------------------------------------------------------------
    def deliver(self, rows: list[dict[str, Any]]) -> DeliveryReport:
        """Deliver every row not yet done (and e-mail retries that are due)."""
        ledger.ensure_ledger(self.conn)
        for msg in self.plan(rows):
            try:
                self._deliver_one(msg)
            except Exception as exc:  # one broken message (a template bug, odd data) must not stop the batch
                self._dead_letter(msg, exc)
        return self.report

    def _dead_letter(self, msg: Message, exc: Exception) -> None:
        """Record a message whose delivery raised as failed, with the reason; the run goes on."""
        log.exception("notification %s could not be delivered", msg.delivery_key)
        with contextlib.suppress(Exception):  # no transaction open is fine; PostgreSQL needs it after an error
            self.conn.raw.rollback()
        why = f"not delivered: {type(exc).__name__}: {str(exc)[:300]} (a bug or data the notifier cannot send; " \
              "fix it, then `python -m cli notifications resend --key KEY` sends it again)"
        ledger.mark_done(self.conn, msg.delivery_key, "failed", error=why)
        self.report.counts["failed"] += 1
        self.report.errors.append(why)

    def plan(self, rows: list[dict[str, Any]]) -> list[Message]:
        """Messages for the rows still to send: interrupted ones keep their recorded delivery key."""
        seen = ledger.ledger_rows(self.conn, [r["notification_key"] for r in rows])
        stamp = ledger.now()
        groups: dict[tuple, list[dict[str, Any]]] = {}
        for row in rows:
            done = seen.get(row["notification_key"])
            if done and (done["status"] in ledger.DONE or (
                    done["status"] == "retrying" and done["next_attempt_at"] and done["next_attempt_at"] > stamp)):
                continue
            if done and done["status"] in ("sending", "retrying"):
                key: tuple = ("resume", done["delivery_key"])
            else:
                key = (row["channel_type"], row["target"], row.get("group_key") or row["notification_key"])
            groups.setdefault(key, []).append(dict(
                # a post interrupted, or one Slack failed (a 5xx may come after it stored the post): looked for first
                row, _resume=bool(done and (done["status"] == "sending" or (
                    done["status"] == "retrying" and row["channel_type"] != "email" and not done.get("resend_to")))),
                # kept while a resend is under way, so a crash mid-resend still resends to those only
                _resend_to=done.get("resend_to") if done and done["status"] in ("sending", "retrying") else None,
                # set once a send reached someone: a resend's failure then leaves it sent to those
                _message_id=done.get("message_id") if done and done["status"] in ("sending", "retrying") else None,
                _earlier_error=done.get("error") if done and done.get("resend_to") else None,  # who was refused
                _first_attempt=(done or {}).get("first_attempt_at"),  # a crashed post cannot be older
                _attempt=int((done or {}).get("attempts") or 0) + 1))
        plans = []
        for key, items in sorted(groups.items(), key=lambda kv: str(kv[0])):
            first = items[0]
            plans.append(Message(items, first["channel_type"], first["target"],
                                 delivery_key=key[1] if key[0] == "resume" else ""))
        self.report.notifications += len(rows)
        return plans

    # --- one message -----------------------------------------------------------------------
    def _deliver_one(self, msg: Message) -> None:
        correlation_id = new_correlation_id()
        resume = any(r.get("_resume") for r in msg.rows)
        ledger.mark_sending(self.conn, msg.rows, msg.delivery_key, correlation_id)
        status, detail = "failed", {}
        if msg.channel_type != "email" and not self._state_checked:
            self._state_checked = True
            self._check_slack_state()
        resend_to = _split(msg.first.get("_resend_to"))
        if resend_to:  # the relay deferred these recipients last time; the others have it already
            status, detail = self._by_email(msg, resend_to, correlation_id,
                                            "sent" if msg.channel_type == "email" else "fallback", resend=True)
        elif msg.channel_type == "email":
            status, detail = self._by_email(msg, _split(msg.target), correlation_id, "sent")
        elif self.slack is None or self.slack_down:
            why = self.slack_down or "Slack is disabled or not configured"
            status, detail = self._fallback(msg, correlation_id, why, slack_may_answer=bool(self.slack_down))
        else:
            status, detail = self._by_slack(msg, correlation_id, resume)
        self.report.counts[status] += 1
        record_event(self.conn, action="notification", system="slack" if msg.channel_type != "email" else "smtp",
                     correlation_id=correlation_id, operation=msg.first["event_type"], object_id=msg.delivery_key,
                     status=status, run_id=self.run_id,
                     detail={"notifications": len(msg.rows), "channel_type": msg.channel_type, **detail})
        ledger.commit(self.conn)

    def _by_slack(self, msg: Message, correlation_id: str, resume: bool) -> tuple[str, dict]:
        assert self.slack is not None
        before = self.slack.retries
        try:
            channel = self._slack_channel(msg)
            recipient = channel if msg.channel_type == "slack_dm" else None  # who may answer a DM's buttons
            thread = ledger.thread_of(self.conn, msg.thread_key)
            if resume:  # a follow-up is looked for in its thread, where it was posted
                found = self.slack.find_posted(channel, msg.delivery_key, oldest=_first_attempt(msg),
                                               thread_ts=thread["slack_ts"] if thread else None)
                if not found and thread is not None:  # meant to start the thread (its post failed unsure, then
                    # another message became the thread): it went top-level, not under the thread known now
                    found = self.slack.find_posted(channel, msg.delivery_key, oldest=_first_attempt(msg))
                if found:
                    if thread is None:  # it may be the thread's first message: its follow-ups go under it
                        ledger.remember_thread(self.conn, msg.thread_key, found["channel"], found["ts"])
                    ledger.mark_done(self.conn, msg.delivery_key, "deduplicated", slack_channel=found["channel"],
                                     slack_ts=found["ts"], slack_user=recipient)
                    return "deduplicated", {"found_after_restart": True}
            posted, shortened = self._post(msg, channel, correlation_id, thread["slack_ts"] if thread else None)
        except SlackTokenRevoked as exc:
            self._disable_slack(str(exc))
            return self._fallback(msg, correlation_id, str(exc))
        except (SlackUnavailable, SlackRejected) as exc:
            self.report.counts["retried"] += self.slack.retries - before
            if isinstance(exc, SlackUnavailable):
                self.slack_down = str(exc)  # a circuit breaker: no six more attempts per remaining message
                ledger.set_slack_state(self.conn, "unavailable", str(exc))
            return self._fallback(msg, correlation_id, str(exc), slack_may_answer=isinstance(exc, SlackUnavailable))
        self.report.counts["retried"] += self.slack.retries - before
        ledger.remember_thread(self.conn, msg.thread_key, posted["channel"], posted["ts"])
        ledger.mark_done(self.conn, msg.delivery_key, "sent", slack_channel=posted["channel"], slack_ts=posted["ts"],
                         slack_user=recipient, error=shortened)
        return "sent", {"slack_channel": posted["channel"], "threaded": bool(thread), "shortened": bool(shortened)}

    def _post(self, msg: Message, channel: str, correlation_id: str, thread_ts: str | None) -> tuple[dict, str | None]:
        """Post ``msg``: (Slack's {channel, ts}, None). One Slack refuses as too long (or its layout) goes again
        shortened to its subject and the record's link (``shortened_slack``), so it reaches the channel: (..., the
        note kept in the ledger). Without a link, or refused again, SlackRejected: it goes by e-mail whole."""
        assert self.slack is not None
        try:
            return self.slack.post(channel, slack_text(msg), slack_blocks(msg, correlation_id), msg.delivery_key,
                                   thread_ts=thread_ts), None
        except SlackRejected as exc:
            short = shortened_slack(msg, correlation_id, exc.error) if exc.error in TOO_BIG else None
            if short is None:
                raise
            why = str(exc)
        posted = self.slack.post(channel, *short, msg.delivery_key, thread_ts=thread_ts)  # same key: found if lost
        return posted, f"posted shortened to the subject and the record's link: {why}"

    def _slack_channel(self, msg: Message) -> str:
        assert self.slack is not None
        if msg.channel_type == "slack_channel":
            return msg.target
        email = self._person_email(msg.target)
        if not email:
            raise SlackRejected(f"no e-mail known for {msg.target}: cannot find the person in Slack")
        return self.slack.open_dm(email)  # a person deactivated since their look-up: SlackRejected (user_disabled)

    def _person_email(self, ref: str) -> str | None:
        if ref == DEVELOPER:
            return os.environ.get("PROJECTX_DEVELOPER_EMAIL") or None
        if "@" in ref:
            return ref
        return self.directory(ref)

    def _fallback(self, msg: Message, correlation_id: str, reason: str,
                  slack_may_answer: bool = False) -> tuple[str, dict]:
        """Slack could not take it: the same notification by e-mail, to the person or the route's list.
        ``slack_may_answer``: Slack failed for now only (5xx, timeouts, the breaker open), so a message with no
        address to fall back on is tried in Slack again in RETRY_AFTER (within the attempt cap), not given up."""
        to = msg.fallback_email
        if msg.channel_type == "slack_dm":
            person = self._person_email(msg.target)
            to = [person] if person and valid_recipients([person])[0] else to  # a vendor's bad address: the route
        return self._by_email(msg, to, correlation_id, "fallback", reason, slack_may_answer=slack_may_answer)

    def _by_email(self, msg: Message, to: list[str], correlation_id: str, ok_status: str,
                  reason: str | None = None, resend: bool = False, slack_may_answer: bool = False) -> tuple[str, dict]:
        """E-mail ``msg`` to ``to``. ``resend``: only to the recipients the relay deferred last time."""
        to, bad = valid_recipients(to)  # vendor addresses: one mailbox each, never extra recipients or headers
        if bad:
            self.report.errors.extend(bad)
            reason = "; ".join([*([reason] if reason else []), *bad])
        if not to and slack_may_answer and msg.first.get("_attempt", 1) < EMAIL_RESEND_ATTEMPTS:
            return self._wait_for_slack(msg, reason, "no e-mail recipient to fall back on")
        if not to:  # nowhere to deliver it: a dead letter (counted and alerted), kept with the reason and the fix
            why = "; ".join([*([reason] if reason else []), _no_recipient_fix(msg)])
            ledger.mark_done(self.conn, msg.delivery_key, "failed", error=why)
            self._email_failed(resent=False)
            self.report.errors.append(why)
            return "failed", {"error": why, "dead_letter": True}
        delivered = msg.first.get("_message_id")  # the message reached some recipients already
        if self.email is None:
            why = "SMTP is not configured (set SMTP_HOST)"
            ledger.mark_done(self.conn, msg.delivery_key, "retrying", error=_kept(msg, f"{reason or ''} {why}".strip()),
                             next_attempt_at=ledger.now() + RETRY_AFTER, attempted=False, message_id=delivered,
                             resend_to="; ".join(to) if resend else None)
            self._email_failed(resent=True)
            return "retrying", {"error": why}
        text, page = email_bodies(msg, correlation_id)
        try:
            message_id = self.email.send(to, msg.subject, text, page, msg.delivery_key)
        except EmailPartlyRefused as exc:  # sent to the others: only the deferred ones get a resend
            self.report.errors.append(str(exc))
            error = _kept(msg, "; ".join([*([reason] if reason else []), str(exc)]))
            detail = {"recipients": len(to) - len(exc.refused), "refused": exc.refused}
            resent = bool(exc.temporary) and msg.first.get("_attempt", 1) < EMAIL_RESEND_ATTEMPTS
            self._email_failed(resent)
            if resent:
                self.report.counts["retried"] += 1
                ledger.mark_done(self.conn, msg.delivery_key, "retrying", message_id=exc.message_id, error=error,
                                 next_attempt_at=ledger.now() + RETRY_AFTER, resend_to="; ".join(exc.temporary))
                return "retrying", {**detail, "resend_to": exc.temporary}
            ledger.mark_done(self.conn, msg.delivery_key, ok_status, message_id=exc.message_id, error=error)
            return ok_status, detail
        # no recipient the relay can take (no SMTPUTF8), or a 5xx the relay would answer again: a dead letter, with
        # why and the fix (EmailRejected: refused for good, RFC 5321 4.2.1; a 4xx is retried below)
        except (EmailAddressError, EmailRejected) as exc:
            if slack_may_answer and not delivered and msg.first.get("_attempt", 1) < EMAIL_RESEND_ATTEMPTS:
                return self._wait_for_slack(msg, reason, f"{exc}; no e-mail recipient took it")  # nobody has it
            why = "; ".join([*([reason] if reason else []), str(exc)])
            self._email_failed(resent=False)  # alerted like any failed e-mail, as failed for good
            self.report.errors.append(why)
            status = ok_status if resend and delivered else "failed"  # a resend: the others have it already
            ledger.mark_done(self.conn, msg.delivery_key, status, error=_kept(msg, why), message_id=delivered)
            return status, {"error": why}
        except EmailDeliveryError as exc:
            self._email_failed(resent=msg.first.get("_attempt", 1) < EMAIL_RESEND_ATTEMPTS)
            self.report.errors.append(str(exc))
            if resend and delivered and msg.first.get("_attempt", 1) >= EMAIL_RESEND_ATTEMPTS:  # the others have it
                why = f"{exc}; not resent to {', '.join(to)} after {EMAIL_RESEND_ATTEMPTS} attempts"
                ledger.mark_done(self.conn, msg.delivery_key, ok_status, error=_kept(msg, why), message_id=delivered)
                return ok_status, {"error": why}
            if msg.first.get("_attempt", 1) >= EMAIL_RESEND_ATTEMPTS:  # spec 2.5: at most 6 attempts, then kept
                why = (f"{exc}; gave up after {EMAIL_RESEND_ATTEMPTS} attempts: fix the address or the relay, "
                       "then `python -m cli notifications resend --key KEY` sends it again")
                ledger.mark_done(self.conn, msg.delivery_key, "failed", error=_kept(msg, why))
                return "failed", {"error": why}
            self.report.counts["retried"] += 1
            # deferred ones only when the relay refused the others for good (EmailDeferred): never asked again
            again = exc.temporary if isinstance(exc, EmailDeferred) else to if resend else None
            ledger.mark_done(self.conn, msg.delivery_key, "retrying", error=_kept(msg, str(exc)), message_id=delivered,
                             next_attempt_at=ledger.now() + RETRY_AFTER, resend_to="; ".join(again) if again else None)
            return "retrying", {"error": str(exc)}
        ledger.mark_done(self.conn, msg.delivery_key, ok_status, message_id=message_id, error=_kept(msg, reason))
        return ok_status, {"recipients": len(to), **({"slack_error": reason} if reason else {}),
                           **({"resent_to": to} if resend else {})}

    def _wait_for_slack(self, msg: Message, reason: str | None, why: str) -> tuple[str, dict]:
        """Slack failed for now only and no e-mail reached anyone: Slack is tried again in RETRY_AFTER (the
        message is resumed: looked for in Slack first), within the attempt cap; not a dead letter yet."""
        why = "; ".join([*([reason] if reason else []), f"{why}: Slack is tried again in 10 minutes"])
        self.report.counts["retried"] += 1
        self.report.errors.append(why)
        ledger.mark_done(self.conn, msg.delivery_key, "retrying", error=why, next_attempt_at=ledger.now() + RETRY_AFTER)
        return "retrying", {"error": why}

    def _email_failed(self, resent: bool) -> None:
        """Count a failed e-mail: ``email_failures`` all of them, split into ``email_resending`` (a resend is
        scheduled in RETRY_AFTER) and ``email_dead_letters`` (never resent by itself: refused for good, or out of
        attempts; ``python -m cli notifications resend --key KEY`` once fixed)."""
        self.report.counts["email_failures"] += 1
        self.report.counts["email_resending" if resent else "email_dead_letters"] += 1


def _no_recipient_fix(msg: Message) -> str:
    """Why a message has no address left, and what to fix: the route's list (the notification_routing seed's
    ``email``), or for a DM the person's e-mail (the owner mapping: the vendor directory's user record)."""
    route = (f"route {msg.first.get('event_type')!r} ({msg.first.get('environment') or 'any'} environment) "
             "has no valid e-mail left: fix its `email` in dbt_project/seeds/notification_routing.csv")
    if msg.channel_type == "slack_dm":
        route += (f", or give the owner {msg.target!r} a valid e-mail (the owner mapping: the vendor directory's "
                  "user record)")
    return f"no e-mail recipient: {route}; then `python -m cli notifications resend --key KEY` sends it again"


def _first_attempt(msg: Message) -> float | None:
    """When the ledger first recorded an attempt of this message (epoch seconds): a post it made is newer."""
    stamps = [r["_first_attempt"] for r in msg.rows if r.get("_first_attempt")]
    return min(stamps).replace(tzinfo=UTC).timestamp() if stamps else None


def _kept(msg: Message, error: str | None) -> str | None:
    """``error`` for a resend's ledger row, with the first refusal kept after it (bounded): it names the addresses
    refused for good, never asked again, which a resend's outcome alone would no longer name."""
    earlier = str(msg.first.get("_earlier_error") or "")
    if not earlier:
        return error
    earlier = earlier.split(EARLIER, 1)[-1][:KEPT_ERROR]  # the first refusal only, not each resend's reason again
    return f"{error or 'resent'}{EARLIER}{earlier}"


def _split(value: str | None) -> list[str]:
    return [e.strip() for e in str(value or "").split(";") if e.strip()]
