"""``python -m cli notifications {failed,resend}``: notifications given up on, and sending them again.

- ``failed [--days N]``: the ledger's ``failed`` rows of the last N days (default 7, what the
  ``notifications_no_failing_email`` check shows): key, channel, target, attempts, when, the error.
- ``resend (--key KEY ... | --all-failed)``: put failed messages back in line. The ledger row stays (its
  history is the audit of what happened): attempts from zero, the error kept behind "resend requested", status
  ``retrying`` for an e-mail and ``sending`` for a Slack message (a message marked failed after Slack took it,
  say when recording its thread failed, is then looked for in the channel before it is posted again, as after a
  crash mid-send). A message carries every notification with its ``delivery_key`` (a summary carries
  several), so all of them go back together; the ``notifications`` asset sends them on its next
  materialization. A notification whose outbox row is gone (the condition cleared) is not resent: there
  is nothing left to say. One ``notification`` audit event per message, operation ``resend``.

Exit status 0 when every key asked for was put back, 1 when one was unknown, not ``failed``, or gone
from the outbox (each named on stderr).
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta

from cli.errors import count

OUTBOX = "marts.notification_outbox"


def add_parser(sub) -> None:
    p = sub.add_parser("notifications", help="notifications given up on: list them, send them again")
    cmds = p.add_subparsers(dest="notifications_command", required=True)
    failed = cmds.add_parser("failed", help="failed notifications of the last N days")
    failed.add_argument("--days", type=count(1), default=7, help="how far back (default 7)")
    resend = cmds.add_parser("resend", help="put failed notifications back in line for the notifications asset")
    which = resend.add_mutually_exclusive_group(required=True)
    which.add_argument("--key", nargs="+", metavar="KEY", help="notification keys (see `failed`)")
    which.add_argument("--all-failed", action="store_true", help="every failed notification still in the outbox")


def _one_line(text: object, width: int | None = None) -> str:
    """A field of one listing line: whitespace runs as one space, and every other control or invisible format
    character shown as its escape (``\\x1b``), never written to the terminal. Keys, targets and errors hold
    vendor text: an ESC sequence there could rewrite the screen, hide a row or make a link."""
    words = _shown(" ".join(str(text or "").split()))
    return words if width is None or len(words) <= width else words[: width - 1] + "…"


def _shown(text: str) -> str:
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


def list_failed(conn, days: int) -> list[dict]:
    from assets.notifications import ledger

    if not conn.table_exists(ledger.SCHEMA, "delivery_ledger"):
        return []
    return conn.query(
        f"select notification_key, delivery_key, channel_type, target, attempts, updated_at, error "
        f"from {ledger.SCHEMA}.delivery_ledger where status = 'failed' and updated_at >= %s "
        "order by updated_at desc, notification_key", (ledger.now() - timedelta(days=days),))


def resend(conn, keys: list[str] | None) -> tuple[list[str], dict[str, str]]:
    """Put the messages of ``keys`` (None: every failed one) back in line. Returns the notification keys
    put back and, for each key that was not, why."""
    from assets.notifications import ledger
    from resources.audit import new_correlation_id, record_event

    if not conn.table_exists(ledger.SCHEMA, "delivery_ledger"):
        return [], {k: "no notification has been sent from this warehouse" for k in keys or ()}
    failed = {r["notification_key"]: r for r in conn.query(
        f"select notification_key, delivery_key, status from {ledger.SCHEMA}.delivery_ledger")}
    refused: dict[str, str] = {}
    messages: set[str] = set()
    if keys is not None:  # a key as `failed` printed it (control characters escaped) names the stored key
        shown = {_one_line(k): k for k, r in failed.items() if r["status"] == "failed" and _one_line(k) != k}
        keys = [k if k in failed else shown.get(k, k) for k in keys]
    for key in keys if keys is not None else [k for k, r in failed.items() if r["status"] == "failed"]:
        row = failed.get(key)
        if row is None:
            refused[key] = "no such notification in notifications.delivery_ledger"
        elif row["status"] != "failed":
            refused[key] = f"it is {row['status']!r}, not 'failed': nothing to resend"
        else:
            messages.add(row["delivery_key"])
    schema, _, table = OUTBOX.partition(".")
    live = ({r["notification_key"] for r in conn.query(f"select notification_key from {OUTBOX}")}
            if conn.table_exists(schema, table) else set())
    done: list[str] = []
    stamp = ledger.now()
    for delivery_key in sorted(messages):
        rows = [k for k, r in failed.items() if r["delivery_key"] == delivery_key and r["status"] == "failed"]
        gone = [k for k in rows if k not in live]
        if gone:  # the message is resent whole or not at all: a part of it has nothing left to say
            for k in rows:
                if keys is None or k in keys:
                    refused[k] = ("no longer in marts.notification_outbox (its condition cleared)" if k in gone
                                  else f"sent in one message with {gone[0]}, which is no longer in the outbox")
            continue
        conn.execute(
            f"""update {ledger.SCHEMA}.delivery_ledger
                set status = case when channel_type = 'email' then 'retrying' else 'sending' end,
                attempts = 0, next_attempt_at = null,
                resend_to = null, updated_at = %s,
                error = substr('resend requested ' || %s || '; was: ' || coalesce(error, ''), 1, 2000)
                where delivery_key = %s and status = 'failed'""",
            (stamp, stamp.strftime("%Y-%m-%d %H:%M:%SZ"), delivery_key))
        record_event(conn, action="notification", system="projectx", correlation_id=new_correlation_id(),
                     operation="resend", object_id=delivery_key, status="requeued",
                     detail={"notifications": len(rows), "requested_by": "cli"})
        ledger.commit(conn)
        done.extend(rows)
    return sorted(done), refused


def run(args: argparse.Namespace, warehouse=None) -> int:
    from resources.warehouse import WarehouseResource

    warehouse = warehouse or WarehouseResource.from_env()
    with warehouse.connect() as conn:
        if args.notifications_command == "failed":
            rows = list_failed(conn, args.days)
            for r in rows:
                when = r["updated_at"].strftime("%Y-%m-%d %H:%M:%S") if r["updated_at"] else ""
                print("\t".join([_one_line(r["notification_key"]), _one_line(r["channel_type"]),
                                 _one_line(r["target"], 40), str(r["attempts"]), f"{when}Z",
                                 _one_line(r["error"], 200)]))
            print(f"{len(rows)} failed notification(s) in the last {args.days} day(s)"
                  + ("; `python -m cli notifications resend --key KEY` sends one again" if rows else ""))
            return 0
        done, refused = resend(conn, None if args.all_failed else list(dict.fromkeys(args.key)))
    print(f"put {len(done)} notification(s) back in line: the notifications asset sends them on its next "
          "materialization")
    for key, why in sorted(refused.items()):
        print(f"not resent: {_one_line(key)}: {_one_line(why)}", file=sys.stderr)
    return 1 if refused and not args.all_failed else 0
