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
