"""The delivery ledger: what happened to each notification, written before and after every send.

Grain of ``notifications.delivery_ledger``: one row per notification (its idempotency key, the
outbox's ``notification_key``). ``delivery_key`` names the message it went out in (a summary
carries several notifications). Status:

- ``sending``  — recorded BEFORE the send; a row left here means the run died mid-send, and the
  next run looks for the message (Slack metadata) before sending it again;
- ``sent`` / ``deduplicated`` (found already posted after a crash) / ``fallback`` (Slack failed,
  delivered by e-mail) — done;
- ``retrying`` — e-mail failed; resent once ``next_attempt_at`` (10 minutes later) has passed; when the
  relay took it for some recipients and deferred others (a 4xx reply), ``resend_to`` lists those, and
  only they get the resend (spec 2.5), up to ``EMAIL_RESEND_ATTEMPTS`` attempts in all;
- ``failed``   — nowhere to deliver it (no recipient), or the relay refused it for good (a 5xx); counted,
  never silently dropped, the error naming the fix (``cli notifications resend`` sends it again).

Approval requests (Approve/Deny buttons) are clicked long after they were sent, when the outbox row
may be gone: the ledger keeps what a click is checked against (``assets.notifications.approvers``):
``subject_id`` and ``action_kind`` (copied from the outbox row when the attempt is recorded: the task
an approval is for) and ``slack_user`` (a DM's recipient, the Slack user id it was posted to).
:func:`migrate_ledger` adds these columns to a ledger created before them and fills
``subject_id``/``action_kind`` from the outbox rows still there; it is idempotent on DuckDB and
PostgreSQL (run by :func:`ensure_ledger`).

``notifications.slack_threads`` keeps the first message per anomaly (follow-ups thread under it)
and ``notifications.slack_state`` whether Slack works: ``revoked`` (the bot token: Slack stops until
auth.test passes again) or ``unavailable`` (every attempt failed: a circuit breaker, e-mail only for a
few minutes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from resources.warehouse import Connection

SCHEMA = "notifications"
DONE = ("sent", "deduplicated", "fallback", "failed")
DDL = (
    f"create schema if not exists {SCHEMA}",
    f"""create table if not exists {SCHEMA}.delivery_ledger (
        notification_key varchar primary key, delivery_key varchar not null, event_type varchar,
        channel_type varchar not null, target varchar, status varchar not null, attempts integer not null,
        slack_channel varchar, slack_ts varchar, message_id varchar, error varchar, correlation_id varchar,
        first_attempt_at timestamp not null, updated_at timestamp not null, next_attempt_at timestamp,
        subject_id varchar, action_kind varchar, slack_user varchar, resend_to varchar)""",
    f"""create table if not exists {SCHEMA}.slack_threads (
        thread_key varchar primary key, slack_channel varchar not null, slack_ts varchar not null,
        created_at timestamp not null)""",
    f"""create table if not exists {SCHEMA}.slack_state (
        state_key varchar primary key, status varchar not null, reason varchar, since timestamp,
        admin_notified_at timestamp)""",
)


# Columns added after the first release: (name, type) added by migrate_ledger to older ledgers.
ADDED_COLUMNS = (("subject_id", "varchar"), ("action_kind", "varchar"), ("slack_user", "varchar"),
                 ("resend_to", "varchar"))
SENT = ("sent", "deduplicated")  # a Slack message that really is in the channel


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def ensure_ledger(conn: Connection) -> None:
    for statement in DDL:
        conn.execute(statement)
    migrate_ledger(conn)
    commit(conn)


def migrate_ledger(conn: Connection) -> None:
    """Bring a ledger created before ``ADDED_COLUMNS`` up to date; a no-op on a current one.

    ``add column if not exists`` (DuckDB and PostgreSQL) runs only for a missing column. Approval rows
    without ``subject_id`` get it from the outbox row with the same ``notification_key``, if the outbox
    (as dbt builds it, with ``subject_id`` and ``action_kind``) still has one; an approval sent before
    this migration whose outbox row is gone cannot be approved from Slack (the click is refused)."""
    have = conn.columns(SCHEMA, "delivery_ledger")
    for name, kind in ADDED_COLUMNS:
        if name not in have:
            conn.execute(f"alter table {SCHEMA}.delivery_ledger add column if not exists {name} {kind}")
    if {"notification_key", "subject_id", "action_kind"} <= conn.columns("marts", "notification_outbox"):
        conn.execute(
            f"""update {SCHEMA}.delivery_ledger set subject_id = o.subject_id, action_kind = o.action_kind
                from marts.notification_outbox as o
                where {SCHEMA}.delivery_ledger.notification_key = o.notification_key
                and {SCHEMA}.delivery_ledger.subject_id is null and o.action_kind = 'approval'""")


def commit(conn: Connection) -> None:
    """Make a ledger write durable now (a kill after this line must not lose it)."""
    conn.raw.commit()


def ledger_rows(conn: Connection, keys: list[str]) -> dict[str, dict[str, Any]]:
    if not keys:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        marks = ", ".join(["%s"] * len(chunk))
        for row in conn.query(f"select * from {SCHEMA}.delivery_ledger where notification_key in ({marks})", chunk):
            found[row["notification_key"]] = row
    return found


def mark_sending(conn: Connection, rows: list[dict[str, Any]], delivery_key: str, correlation_id: str) -> None:
    """Record the attempt BEFORE the send, and commit."""
    stamp = now()
    for row in rows:
        conn.execute(
            f"""insert into {SCHEMA}.delivery_ledger (notification_key, delivery_key, event_type, channel_type,
                target, status, attempts, correlation_id, first_attempt_at, updated_at, subject_id, action_kind)
                values (%s, %s, %s, %s, %s, 'sending', 1, %s, %s, %s, %s, %s)
                on conflict (notification_key) do update set status = 'sending',
                attempts = {SCHEMA}.delivery_ledger.attempts + 1,
                delivery_key = excluded.delivery_key, updated_at = excluded.updated_at,
                correlation_id = excluded.correlation_id, subject_id = excluded.subject_id,
                action_kind = excluded.action_kind""",
            (row["notification_key"], delivery_key, row["event_type"], row["channel_type"], row["target"],
             correlation_id, stamp, stamp, row.get("subject_id"), row.get("action_kind")))
    commit(conn)


def mark_done(conn: Connection, delivery_key: str, status: str, *, slack_channel: str | None = None,
              slack_ts: str | None = None, message_id: str | None = None, error: str | None = None,
              next_attempt_at: datetime | None = None, slack_user: str | None = None,
              resend_to: str | None = None, attempted: bool = True) -> None:
    """Record the outcome AFTER the send, and commit. ``slack_user``: the recipient of a Slack DM;
    ``resend_to``: the addresses a ``retrying`` e-mail is resent to (None: all of its recipients);
    ``attempted=False``: nothing was sent (no SMTP relay configured), so the pass is not counted as an attempt
    (the 6-attempt cap counts real sends)."""
    uncount = "" if attempted else ", attempts = greatest(attempts - 1, 0)"
    conn.execute(
        f"""update {SCHEMA}.delivery_ledger set status = %s, slack_channel = %s, slack_ts = %s, message_id = %s,
            error = %s, next_attempt_at = %s, updated_at = %s, slack_user = %s, resend_to = %s{uncount}
            where delivery_key = %s""",
        (status, slack_channel, slack_ts, message_id, error, next_attempt_at, now(), slack_user, resend_to,
         delivery_key))
    commit(conn)


def sent_messages(conn: Connection, slack_channel: str, slack_ts: str) -> list[dict[str, Any]]:
    """The ledger rows of the Slack message posted at (channel, ts) that really is in Slack."""
    if not conn.table_exists(SCHEMA, "delivery_ledger"):
        return []
    marks = ", ".join(["%s"] * len(SENT))
    return conn.query(f"select * from {SCHEMA}.delivery_ledger where slack_channel = %s and slack_ts = %s "
                      f"and status in ({marks}) order by notification_key", (slack_channel, slack_ts, *SENT))


def thread_of(conn: Connection, thread_key: str | None) -> dict[str, Any] | None:
    if not thread_key:
        return None
    rows = conn.query(f"select slack_channel, slack_ts from {SCHEMA}.slack_threads where thread_key = %s",
                      (thread_key,))
    return rows[0] if rows else None


def remember_thread(conn: Connection, thread_key: str | None, channel: str, ts: str) -> None:
    if thread_key and thread_of(conn, thread_key) is None:
        conn.execute(f"insert into {SCHEMA}.slack_threads values (%s, %s, %s, %s)", (thread_key, channel, ts, now()))
        commit(conn)


def slack_state(conn: Connection) -> dict[str, Any]:
    rows = conn.query(f"select * from {SCHEMA}.slack_state where state_key = 'bot'")
    return rows[0] if rows else {"status": "ok", "admin_notified_at": None}


def set_slack_state(conn: Connection, status: str, reason: str | None = None, admin_notified: bool = False) -> None:
    current = slack_state(conn)
    notified = now() if admin_notified else current.get("admin_notified_at")
    if status == "ok":
        notified = None
    conn.execute(f"delete from {SCHEMA}.slack_state where state_key = 'bot'")
    conn.execute(f"insert into {SCHEMA}.slack_state values ('bot', %s, %s, %s, %s)",
                 (status, reason, now() if status != "ok" else None, notified))
    commit(conn)


def backlog(conn: Connection, outbox: str = "marts.notification_outbox") -> int:
    """Queued notifications: outbox rows not yet delivered (spec §6.1: more than 100 is red)."""
    schema, _, table = outbox.partition(".")
    if not conn.table_exists(schema, table):
        return 0
    ensure_ledger(conn)
    done = ", ".join(f"'{s}'" for s in DONE)
    return int(conn.scalar(
        f"""select count(*) from {outbox} as o left join {SCHEMA}.delivery_ledger as l
            on o.notification_key = l.notification_key where l.status is null or l.status not in ({done})"""))
