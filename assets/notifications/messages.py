"""How a message looks: Block Kit for Slack, plain text plus HTML for e-mail.

Grain: one :class:`Message` is what one delivery sends — a single notification, or a summary of
several outbox rows that share event type, target and group (the new P1 incidents of a cycle, the
tasks newly assigned to one person). Deep links go to the task or record at its source; approval
requests carry Approve/Deny buttons whose ``action_id`` the Slack interaction handler knows.
"""

from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from assets.notifications import safe_text
from assets.notifications.safe_text import clean, fit, mrkdwn, mrkdwn_link, one_line, safe_url

APPROVE_ACTION = "projectx_task_approve"
DENY_ACTION = "projectx_task_deny"
OPEN_LINK_ACTION = "projectx_open_link"  # a link button: Slack reports its clicks too, nothing to apply
MAX_BLOCKS = 50  # Slack: blocks in one message
MAX_LINES = 20  # a section's text is capped at 3000 characters by Slack
MAX_TITLE = 300  # one item of a summary: the rest of a long vendor title is cut
MAX_SUBJECT = 250  # an e-mail subject and the bold first line in Slack
MAX_FALLBACK_TEXT = 3000  # a message's `text` (what a phone shows); Slack refuses 40000+
MAX_BUTTON_VALUE = 2000  # Slack: a button's value; block_id at most 255
RUNBOOK_URL = "https://runbooks.projectx.io/{runbook_id}"


@dataclass
class Message:
    """One delivery: its rows (outbox items), where it goes and the key it is known by."""

    rows: list[dict[str, Any]]
    channel_type: str
    target: str
    delivery_key: str = ""
    fallback_email: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.delivery_key:
            keys = "\n".join(sorted(r["notification_key"] for r in self.rows))
            self.delivery_key = "dlv-" + hashlib.sha256(keys.encode()).hexdigest()[:32]
        if not self.fallback_email:
            emails = {e.strip() for r in self.rows for e in str(r.get("fallback_email") or "").split(";")}
            self.fallback_email = sorted(e for e in emails if e)

    @property
    def first(self) -> dict[str, Any]:
        return self.rows[0]

    @property
    def thread_key(self) -> str | None:
        return self.first.get("thread_key")

    @property
    def subject(self) -> str:
        """One line, vendor text cleaned (no CR/LF, controls or bidi overrides), at most MAX_SUBJECT long."""
        if len(self.rows) == 1:
            subject = one_line(self.first["title"])
        else:
            subject = f"{one_line(self.first.get('summary_title') or self.first['event_type'])}: {len(self.rows)} new"
        return subject if len(subject) <= MAX_SUBJECT else subject[:MAX_SUBJECT - 1] + "…"

    def lines(self) -> list[tuple[str, str | None]]:
        """(title, safe URL or None) per row, oldest first; a URL that is not plain http(s) is dropped."""
        ordered = sorted(self.rows, key=lambda r: (str(r.get("occurred_at") or ""), r["notification_key"]))
        return [(one_line(r["title"]), safe_url(r.get("link_url"))) for r in ordered]


def slack_text(msg: Message) -> str:
    """The notification fallback text (what a phone shows): mrkdwn-escaped, so it cannot mention anyone."""
    parts = [msg.subject] if len(msg.rows) > 1 else [msg.subject, one_line(msg.first.get("body"))]
    text = ": ".join(p for p in parts if p)  # only the joining ": " goes: ":rotating_light: P1" keeps its colons
    return fit(mrkdwn(text), MAX_FALLBACK_TEXT)


def _text(text: str) -> dict[str, Any]:
    """A mrkdwn text object that Slack shows as written: ``verbatim`` stops Slack's own parsing (bare URLs
    and channel names made links, "certain mentions" parsed), so vendor text can reach people only through
    the escaping above; the links this module writes (``<url|label>``) still work."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def slack_blocks(msg: Message, correlation_id: str) -> list[dict[str, Any]]:
    """Block Kit: a header line, the items with deep links, runbook and correlation id as context."""
    first = msg.first
    blocks: list[dict[str, Any]] = [{"type": "section", "text": _text(f"*{mrkdwn(msg.subject)}*")}]
    if len(msg.rows) == 1:
        body = mrkdwn(clean(first.get("body")).strip())
        if body:
            blocks.append({"type": "section", "text": _text(fit(body))})
        url = safe_url(first.get("link_url"))
        if url:
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": url,
                 "action_id": OPEN_LINK_ACTION}]})
    else:
        blocks.append({"type": "section", "text": _text(_summary_lines(msg.lines()))})
    value = clean(first.get("subject_id"))
    if first.get("action_kind") == "approval" and len(msg.rows) == 1 and 0 < len(value) <= MAX_BUTTON_VALUE:
        block_id = "approval:" + (value if len(value) <= 200 else hashlib.sha256(value.encode()).hexdigest())
        blocks.append({"type": "actions", "block_id": block_id, "elements": [
            {"type": "button", "style": "primary", "text": {"type": "plain_text", "text": "Approve"},
             "action_id": APPROVE_ACTION, "value": value},
            {"type": "button", "style": "danger", "text": {"type": "plain_text", "text": "Deny"},
             "action_id": DENY_ACTION, "value": value}]})
    context = [f"correlation id `{mrkdwn(correlation_id)}`"]
    runbook = one_line(first.get("runbook_id"))[:100]
    if runbook:
        context.insert(0, "runbook " + mrkdwn_link(safe_url(_runbook_url(runbook)), mrkdwn(runbook)))
    blocks.append({"type": "context", "elements": [_text(fit(" · ".join(context)))]})
    return blocks


def shortened_slack(msg: Message, correlation_id: str, error: str) -> tuple[str, list[dict[str, Any]]] | None:
    """(text, blocks) of ``msg`` cut to its subject and the link to the record, for when Slack refused the whole
    message as too long or its layout (``error``: msg_too_long, invalid_blocks, ...): the body goes, the Open and
    Approve/Deny buttons and the context stay, with a line saying it was shortened and why. None without a link
    to the record (a summary, or no http(s) link): then the message goes by e-mail whole."""
    url = safe_url(msg.first.get("link_url")) if len(msg.rows) == 1 else None
    if url is None:
        return None
    note = f"Shortened: Slack refused the full message (`{mrkdwn(error)}`); open the record for the full text."
    full = slack_blocks(msg, correlation_id)
    blocks = full[:1] + [b for b in full[1:] if b.get("type") != "section"]  # the body goes: it made it too long
    blocks.insert(-1, {"type": "context", "elements": [_text(note)]})
    text = f"{mrkdwn(msg.subject)} (shortened: Slack refused the full message, {mrkdwn(error)}): " \
           f"{mrkdwn_link(url, 'open the record')}"
    return text, blocks


def decided_blocks(blocks: Any, line: str) -> list[dict[str, Any]]:
    """An approval request once decided: its Approve/Deny buttons give way to ``line`` (who decided
    what), the rest stays as sent. ``blocks`` are the message's, as Slack returns them with a click."""
    kept: list[dict[str, Any]] = []
    at = None
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        if _is_approval(block):
            at = len(kept) if at is None else at
            continue
        kept.append(block)
    decided = {"type": "section", "text": _text(fit(line))}
    if at is None:  # no buttons (another app's layout): say it before the context line, if any
        at = len(kept) - 1 if kept and kept[-1].get("type") == "context" else len(kept)
    kept.insert(at, decided)
    return kept[:MAX_BLOCKS]


def _is_approval(block: dict[str, Any]) -> bool:
    elements = block.get("elements") if block.get("type") == "actions" else None
    return isinstance(elements, list) and any(
        isinstance(e, dict) and e.get("action_id") in (APPROVE_ACTION, DENY_ACTION) for e in elements)


def _summary_lines(items: list[tuple[str, str | None]]) -> str:
    """Bullets with deep links, whole lines only, within Slack's section limit; the rest is counted."""
    shown: list[str] = []
    for title, url in items[:MAX_LINES]:
        line = "• " + mrkdwn_link(url if url and len(url) <= 1000 else None, fit(mrkdwn(title), MAX_TITLE))
        # keep room for the "…and N more" line
        if safe_text.utf16_len("\n".join([*shown, line])) > safe_text.SECTION_LIMIT - 40:
            break
        shown.append(line)
    if len(shown) < len(items):
        shown.append(f"…and {len(items) - len(shown)} more")
    return "\n".join(shown)


def _runbook_url(runbook_id: str) -> str:
    return RUNBOOK_URL.format(runbook_id=quote(runbook_id, safe=""))


def email_bodies(msg: Message, correlation_id: str) -> tuple[str, str]:
    """(plain text, HTML) for the e-mail route or the Slack fallback."""
    first = msg.first
    body_text = clean(first.get("body")).strip()
    lines = [msg.subject, ""]
    if len(msg.rows) == 1 and body_text:
        lines += [body_text, ""]
    lines += [f"- {t}{f' <{u}>' if u else ''}" for t, u in msg.lines()]
    runbook = one_line(first.get("runbook_id"))[:100]
    if runbook:
        lines.append(f"Runbook {runbook}: {_runbook_url(runbook)}")
    lines.append(f"Correlation id: {correlation_id}")
    text = "\n".join(lines)
    items = "".join(f"<li>{_html_link(t, u)}</li>" for t, u in msg.lines())
    body = f"<p>{html.escape(body_text)}</p>" if len(msg.rows) == 1 else ""
    page = (f"<h3>{html.escape(msg.subject)}</h3>{body}<ul>{items}</ul>"
            f"<p style=\"color:#666\">Correlation id: {html.escape(correlation_id)}</p>")
    return text, page


def _html_link(text: str, url: str | None) -> str:
    if not url:
        return html.escape(text)
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'
