"""Thread fields Slack adds when it reads messages back (conversations.history / conversations.replies).

A parent with replies carries `thread_ts` (its own ts), `reply_count`, `reply_users` (first repliers, up to
5), `reply_users_count`, `latest_reply`, `is_locked` and `subscribed`; every reply carries `thread_ts` and
`parent_user_id`; a reply posted with `reply_broadcast` is a `thread_broadcast` (with the parent as `root`
when it is shown in the channel's history). Computed on read from the kept messages, so deleted and
ephemeral replies do not count.
"""

from __future__ import annotations

import copy
from typing import Any


def _author(message: dict[str, Any]) -> str:
    return str(message.get("user") or message.get("bot_id") or "")


def with_threads(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ts -> a copy of each live stored message's `message` with the thread fields filled in."""
    live = [m for m in rows if not m.get("deleted") and not m.get("ephemeral")]
    out = {m["ts"]: copy.deepcopy(m["message"]) for m in live}
    replies: dict[str, list[dict[str, Any]]] = {}
    for m in live:
        if m["thread_ts"] and m["thread_ts"] != m["ts"]:
            replies.setdefault(m["thread_ts"], []).append(out[m["ts"]])
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
