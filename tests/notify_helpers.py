"""Helpers for the notification tests: an outbox table in a DuckDB warehouse and the delivery env."""

from __future__ import annotations

from typing import Any

from resources.warehouse import WarehouseResource

COLUMNS = ("notification_key", "event_key", "event_type", "severity", "environment", "channel_type", "target",
           "fallback_email", "group_key", "thread_key", "summary_title", "title", "body", "link_url", "runbook_id",
           "subject_id", "action_kind", "occurred_at")


def outbox_row(key: str, event_type: str, channel_type: str, target: str, **extra: Any) -> dict[str, Any]:
    row = {c: None for c in COLUMNS}
    row.update(notification_key=key, event_key=key, event_type=event_type, severity="high", environment="prod",
               channel_type=channel_type, target=target, fallback_email="oncall@projectx.io",
               title=f"{event_type} {key}", body=f"Body of {key}", occurred_at="2026-01-01 00:00:00")
    row.update(extra)
    return row


def write_outbox(rows: list[dict[str, Any]]) -> None:
    """(Re)create marts.notification_outbox with these rows, as dbt would."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("drop table if exists marts.notification_outbox")
        cols = ", ".join(f"{c} {'timestamp' if c == 'occurred_at' else 'varchar'}" for c in COLUMNS)
        conn.execute(f"create table marts.notification_outbox ({cols})")
        for row in rows:
            conn.execute(f"insert into marts.notification_outbox values ({', '.join(['%s'] * len(COLUMNS))})",
                         [row[c] for c in COLUMNS])


def delivery_env(monkeypatch, slack, smtp) -> None:
    """Point SLACK_* and SMTP_* at the sandboxes (SMTP with STARTTLS and AUTH)."""
    monkeypatch.delenv("VAULT_ADDR", raising=False)
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.bot_token)
    monkeypatch.setenv("SLACK_API_URL", slack.url + "/api/")
    monkeypatch.setenv("SMTP_HOST", smtp.host)
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("SMTP_USERNAME", smtp.username)
    monkeypatch.setenv("SMTP_PASSWORD", smtp.password)
    monkeypatch.setenv("SMTP_FROM_ADDRESS", "projectx@projectx.io")
    monkeypatch.setenv("SMTP_CA_BUNDLE", smtp.ca_bundle)


def ledger(conn_settings=None) -> list[dict[str, Any]]:
    with WarehouseResource.from_env().connect() as conn:
        return conn.query("select * from notifications.delivery_ledger order by notification_key")


# --- approval requests really sent through the Slack sandbox, and clicks on them -------------------

APPROVER = "approver@projectx.io"


def slack_sender(slack):
    """A SlackSender bound to the sandbox (fast retries): sends, and looks up who clicked."""
    from resources.slack import SlackSender

    return SlackSender(token=slack.bot_token, base_url=slack.url + "/api/", backoff_base=0.01, timeout=5)


def make_tasks(*task_ids: str) -> None:
    """A ``marts.tasks`` with these open tasks (the columns the handler reads)."""
    with WarehouseResource.from_env().connect() as conn:
        conn.execute("create schema if not exists marts")
        conn.execute("create table marts.tasks (task_id varchar, status varchar)")
        for task_id in task_ids:
            conn.execute("insert into marts.tasks values (%s, 'open')", (task_id,))
        conn.raw.commit()


def send_approval(slack, task_id: str, channel_type: str = "slack_channel",
                  target: str = "#compliance-delivery", **extra: Any) -> dict[str, Any]:
    """Send ``task_id``'s evidence renewal request (Approve/Deny buttons) through the Slack sandbox over
    HTTP with the delivery code, which writes the ledger; returns the message as the sandbox keeps it.
    ``extra``: more outbox columns (``link_url`` adds an "Open" button)."""
    from assets.notifications.delivery import Deliverer

    row = outbox_row(f"evidence_requested:{task_id}@{channel_type}:{target}", "evidence_requested", channel_type,
                     target, subject_id=task_id, action_kind="approval", title=f"Renew the evidence of {task_id}",
                     **extra)
    with WarehouseResource.from_env().connect() as conn:
        report = Deliverer(conn, slack_sender(slack), None).deliver([row])
        assert report.counts["sent"] == 1, report
        [sent] = conn.query("select slack_channel, slack_ts from notifications.delivery_ledger "
                            "where notification_key = %s", (row["notification_key"],))
    [message] = [m for m in slack.messages(sent["slack_channel"]) if m["ts"] == sent["slack_ts"]]
    return message


def click(message: dict[str, Any], action_id: str, user_id: str, action_ts: str = "1700000001.000100",
          value: str | None = None, username: str = "clicker") -> dict[str, Any]:
    """The block_actions payload Slack sends when ``user_id`` clicks ``action_id`` on ``message``
    (``value`` replaces the button's value, as a forged payload would)."""
    block, button = next((b, e) for b in message["blocks"] or [] if b["type"] == "actions"
                         for e in b["elements"] if e.get("action_id") == action_id)
    return {"type": "block_actions", "user": {"id": user_id, "username": username},
            "container": {"type": "message", "channel_id": message["channel"], "message_ts": message["ts"],
                          "is_ephemeral": False},
            "channel": {"id": message["channel"]}, "message": message["message"],
            "actions": [{"type": "button", "action_id": action_id, "block_id": block["block_id"],
                         "value": button["value"] if value is None else value, "action_ts": action_ts}]}
