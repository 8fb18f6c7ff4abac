"""The comment a Jira edit owes, kept until it is posted (``reverse_sync.jira_owed_notes``).

An edit of a Jira issue is followed by a comment saying what Project X changed (``jira_screens.edit_note``). A
push killed after Jira carried the edit out and before the comment was posted (or whose comment failed) left the
edit without it for good: the next run finds the issue holding our values (our own changelog entries are echoes)
and plans nothing. So the note is kept, committed, *before* the edit is sent (what the edit means to change), set
to what it really changed once Jira has answered, and dropped once the comment is posted or found; an edit Jira
refused (4xx) made no change and owes none; one that the next run plans again (the push died before its PUT) is
noted by that run's own comment. The next run that plans anything for the issue, or nothing at all,
posts a note still owed first (:func:`with_owed`), unless the integration account's latest comment on the issue
already says it (a push killed after Jira kept the comment): one comment, never two. A note Jira refuses for the
issue (400/404/409 or a 403 with Jira's reason: a status that takes no comment, deleted) is dropped with a warning,
so it never holds up the issue's other writes; an account's refusal (a bare 401/403, credentials refused) keeps it
owed and fails the record, so the refusal stop and the breaker see it (:func:`refused_here`).
"""

from __future__ import annotations

import logging
from typing import Any

from assets.reverse_sync.policy import Change
from assets.reverse_sync.state import SCHEMA
from pipelines.common.http import VendorError

log = logging.getLogger("assets.reverse_sync.jira")

TABLE = f"{SCHEMA}.jira_owed_notes"
DDL = (f"create schema if not exists {SCHEMA}",
       f"""create table if not exists {TABLE} (vendor_id varchar not null primary key, internal_id varchar not null,
       note varchar not null, run_id varchar, noted_at timestamp not null)""")
FIELD = "owed_comment"  # the field of a comment step that posts a note an earlier edit owes


def _ensure(writes: Any) -> None:
    """The table, created once per run (its ``Writes``)."""
    if not getattr(writes, "owed_notes_ready", False):
        for statement in DDL:
            writes.conn.execute(statement)
        writes.owed_notes_ready = True


def owe(writes: Any, vendor_id: str, internal_id: str, note: str) -> None:
    from assets.reverse_sync.unsettled import _now

    with writes.committed():
        _ensure(writes)
        writes.conn.execute(f"delete from {TABLE} where vendor_id = %s", (vendor_id,))
        writes.conn.execute(f"insert into {TABLE} (vendor_id, internal_id, note, run_id, noted_at) "
                            "values (%s, %s, %s, %s, %s)", (vendor_id, internal_id, note, writes.run_id, _now()))


def paid(writes: Any, vendor_id: str) -> None:
    with writes.committed():
        _ensure(writes)
        writes.conn.execute(f"delete from {TABLE} where vendor_id = %s", (vendor_id,))


def owed(writes: Any, vendor_id: str) -> str | None:
    with writes.committed():
        _ensure(writes)
        note = writes.conn.scalar(f"select note from {TABLE} where vendor_id = %s", (vendor_id,))
    return None if note is None else str(note)


def with_owed(writes: Any, vendor_id: str, steps: list[Any]) -> list[Any]:
    """``steps`` with the comment an earlier edit of the issue still owes (if any) first, after any leading
    reopen ``transition``."""
    note = owed(writes, vendor_id)
    if note is None or note in {c.after for op, changes in steps if op == "comment" for c in changes}:
        return steps  # none, or this run makes the same edit again (the last push died before its PUT): noted once
    # after a leading reopen: a Closed issue may take no comment till then (``JiraTaskWriter.steps``)
    lead = next((i for i, (op, _) in enumerate(steps) if op != "transition"), len(steps))
    return [*steps[:lead], ("comment", [Change(FIELD, None, note)]), *steps[lead:]]


def post_owed(writer: Any, writes: Any, vendor_id: str, internal_id: str, note: str) -> None:
    """Post the note an earlier edit owes, unless the integration account's latest comment already says it."""
    try:
        if writer.find_comment(vendor_id, note) is None:
            writer.comment(writes, vendor_id, internal_id, note)
    except VendorError as exc:
        if not refused_here(exc):
            raise  # Jira, the way to it or the account failing: still owed, the record waits in dead letters
        log.warning("Jira refused the change comment an earlier push owed issue %s (of %s), so it is dropped: %s",
                    vendor_id, internal_id, str(exc)[:300])
    paid(writes, vendor_id)


def refused_here(exc: VendorError) -> bool:
    """Whether Jira refused the note for this issue alone (a 400, 404 or 409, or a 403 giving Jira's reason:
    ``RecordRefused``), so dropping it loses nothing more can say. Credentials refused after a token refresh
    (``VendorAuthError``), a bare 401/403 (the account's Add Comments permission gone), a 429 or no answer are the
    account's or the connection's: the note stays owed and the error reaches the refusal stop and the breaker."""
    from assets.reverse_sync.writes import RecordRefused
    from pipelines.common.http import VendorAuthError

    if isinstance(exc, VendorAuthError):
        return False
    return isinstance(exc, RecordRefused) or exc.status in (400, 404, 409)
