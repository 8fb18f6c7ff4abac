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

APPROVE_ACTION = "projectx_task_approve"
DENY_ACTION = "projectx_task_deny"
MAX_LINES = 20  # a section's text is capped at 3000 characters by Slack
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
        if len(self.rows) == 1:
            return str(self.first["title"])
        return f"{self.first.get('summary_title') or self.first['event_type']}: {len(self.rows)} new"

    def lines(self) -> list[tuple[str, str | None]]:
        ordered = sorted(self.rows, key=lambda r: (str(r.get("occurred_at") or ""), r["notification_key"]))
        return [(str(r["title"]), r.get("link_url")) for r in ordered]


def _mrkdwn_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(msg: Message) -> str:
    """The notification fallback text (what a phone shows)."""
    return msg.subject if len(msg.rows) > 1 else f"{msg.first['title']}: {msg.first.get('body') or ''}".strip(": ")


def slack_blocks(msg: Message, correlation_id: str) -> list[dict[str, Any]]:
    """Block Kit: a header line, the items with deep links, runbook and correlation id as context."""
    first = msg.first
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn",
                                                                 "text": f"*{_mrkdwn_escape(msg.subject)}*"}}]
    if len(msg.rows) == 1:
        body = _mrkdwn_escape(str(first.get("body") or ""))
        if body:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}})
        if first.get("link_url"):
            blocks.append({"type": "actions", "elements": [
                {"type": "button", "text": {"type": "plain_text", "text": "Open"}, "url": first["link_url"],
                 "action_id": "projectx_open_link"}]})
    else:
        items = msg.lines()
        shown = [f"• <{url}|{_mrkdwn_escape(t)}>" if url else f"• {_mrkdwn_escape(t)}" for t, url in items[:MAX_LINES]]
        if len(items) > MAX_LINES:
            shown.append(f"…and {len(items) - MAX_LINES} more")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(shown)[:2990]}})
    if first.get("action_kind") == "approval" and len(msg.rows) == 1:
        value = str(first.get("subject_id") or "")
        blocks.append({"type": "actions", "block_id": f"approval:{value}", "elements": [
            {"type": "button", "style": "primary", "text": {"type": "plain_text", "text": "Approve"},
             "action_id": APPROVE_ACTION, "value": value},
            {"type": "button", "style": "danger", "text": {"type": "plain_text", "text": "Deny"},
             "action_id": DENY_ACTION, "value": value}]})
    context = [f"correlation id `{correlation_id}`"]
    if first.get("runbook_id"):
        context.insert(0, f"runbook <{RUNBOOK_URL.format(runbook_id=first['runbook_id'])}|{first['runbook_id']}>")
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": " · ".join(context)}]})
    return blocks


def email_bodies(msg: Message, correlation_id: str) -> tuple[str, str]:
    """(plain text, HTML) for the e-mail route or the Slack fallback."""
    first = msg.first
    lines = [msg.subject, ""]
    if len(msg.rows) == 1 and first.get("body"):
        lines += [str(first["body"]), ""]
    lines += [f"- {t}{f' <{u}>' if u else ''}" for t, u in msg.lines()]
    if first.get("runbook_id"):
        lines.append(f"Runbook {first['runbook_id']}: {RUNBOOK_URL.format(runbook_id=first['runbook_id'])}")
    lines.append(f"Correlation id: {correlation_id}")
    text = "\n".join(lines)
    items = "".join(f"<li>{_html_link(t, u)}</li>" for t, u in msg.lines())
    body = f"<p>{html.escape(str(first.get('body') or ''))}</p>" if len(msg.rows) == 1 else ""
    page = (f"<h3>{html.escape(msg.subject)}</h3>{body}<ul>{items}</ul>"
            f"<p style=\"color:#666\">Correlation id: {html.escape(correlation_id)}</p>")
    return text, page


def _html_link(text: str, url: str | None) -> str:
    if not url:
        return html.escape(text)
    return f'<a href="{html.escape(url)}">{html.escape(text)}</a>'
