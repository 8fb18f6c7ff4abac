"""Thread fields Slack adds when it reads messages back (conversations.history / conversations.replies).

A parent with replies carries `thread_ts` (its own ts), `reply_count`, `reply_users` (first repliers, up to
5), `reply_users_count`, `latest_reply`, `is_locked` and `subscribed`; every reply carries `thread_ts` and
`parent_user_id`; a reply posted with `reply_broadcast` is a `thread_broadcast` (with the parent as `root`
when it is shown in the channel's history). Computed on read from the kept messages, so deleted and
ephemeral replies do not count. A deleted parent whose thread still has live replies stays in its place as
Slack's `tombstone` ("This message was deleted.", user USLACKBOT, hidden), its thread still readable;
it goes once its last reply does.
"""

from __future__ import annotations

import copy
from typing import Any


def _author(message: dict[str, Any]) -> str:
    return str(message.get("user") or message.get("bot_id") or "")


def tombstone(ts: str) -> dict[str, Any]:
    """What Slack leaves of a deleted thread parent while replies remain (as seen in conversations.history
    and message_deleted's previous_message)."""
    return {"type": "message", "subtype": "tombstone", "text": "This message was deleted.", "user": "USLACKBOT",
            "hidden": True, "ts": ts}


def thread_of(rows: list[dict[str, Any]], ts: str) -> str:
    """The thread a ts belongs to: its parent's ts for a reply (conversations.replies takes "either a
    thread's parent message or a message in the thread"), else the ts itself."""
    hit = next((m for m in rows if m["ts"] == ts and not m.get("deleted") and not m.get("ephemeral")), None)
    return str(hit["thread_ts"]) if hit and hit["thread_ts"] else ts


def with_threads(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ts -> a copy of each live stored message's `message` with the thread fields filled in (a deleted
    parent with live replies as a tombstone)."""
    live = [m for m in rows if not m.get("deleted") and not m.get("ephemeral")]
    out = {m["ts"]: copy.deepcopy(m["message"]) for m in live}
    replies: dict[str, list[dict[str, Any]]] = {}
    for m in live:
        if m["thread_ts"] and m["thread_ts"] != m["ts"]:
            replies.setdefault(m["thread_ts"], []).append(out[m["ts"]])
    gone = {m["ts"] for m in rows if m.get("deleted") and not m.get("ephemeral")}
    for parent_ts in replies:
        if parent_ts not in out and parent_ts in gone:
            out[parent_ts] = {**tombstone(parent_ts), "parent_user_id": "USLACKBOT"}
    for parent_ts, thread in replies.items():
        parent = out.get(parent_ts)
        if parent is None:
            continue  # a reply to a message that is gone
        users = list(dict.fromkeys(_author(r) for r in thread))
        parent.update(thread_ts=parent_ts, reply_count=len(thread), reply_users=users[:5],
                      reply_users_count=len(users), latest_reply=max(r["ts"] for r in thread),
                      is_locked=False, subscribed=False)
        root = {k: v for k, v in parent.items() if k != "metadata"}
        for reply in thread:
            reply["parent_user_id"] = _author(parent)
            if reply.get("subtype") == "thread_broadcast":
                reply["root"] = root
    return out


THREAD_KEYS = ("thread_ts", "reply_count", "reply_users", "reply_users_count", "latest_reply", "is_locked",
               "subscribed", "parent_user_id")


def thread_fields(rows: list[dict[str, Any]], ts: str) -> dict[str, Any]:
    """The thread fields message `ts` shows on read (a reply's `parent_user_id`, a parent's counts), taking it
    as live even if just deleted: what message_changed / message_deleted events carry in `message` and
    `previous_message`."""
    live = [dict(m, deleted=False) if m["ts"] == ts and not m.get("ephemeral") else m for m in rows]
    shown = with_threads(live).get(ts) or {}
    return {k: shown[k] for k in THREAD_KEYS if k in shown}
