"""The comment a Jira edit owes, kept until it is posted (``reverse_sync.jira_owed_notes``).

An edit of a Jira issue is followed by a comment saying what Project X changed (``jira_screens.edit_note``). A push
killed after Jira carried the edit out and before the comment was posted (or whose comment failed) left the edit
without it for good: the next run finds the issue holding our values (our own changelog entries are echoes) and
plans nothing. So the note is kept, committed, *before* the edit is sent (what the edit means to change), set to
what it really changed once Jira has answered, and dropped once the comment is posted or found; an edit Jira refused
(4xx) made no change and owes none; one Jira never answered is read first: taken as never made (its note dropped, or
left to the next edit's own comment when that run plans its fields again) only when the fields nobody else edited
since do not hold its values (a person's edit of one of them says nothing: round 34); made (a gateway's 504 after
Jira made it), its note is posted even when the run edits the same field again, as is the note of an edit Jira
answered (that second edit may be refused). The next run that plans anything for the issue,
or nothing at all, posts a note still owed first (:func:`with_owed`), unless the integration account's latest
comment on the issue already says it (a push killed after Jira kept the comment): one comment, never two. A note
Jira refuses for the issue (400/404/409 or a 403 with Jira's reason: a status that takes no comment, deleted) is
dropped with a warning, so it never holds up the issue's other writes; an account's refusal (a bare 401/403,
credentials refused) keeps it owed and fails the record, so the refusal stop and the breaker see it
(:func:`refused_here`).
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any, NamedTuple

from assets.reverse_sync.policy import Change
from assets.reverse_sync.state import SCHEMA
from pipelines.common.http import VendorError

log = logging.getLogger("assets.reverse_sync.jira")

TABLE = f"{SCHEMA}.jira_owed_notes"
# ``fields``: the note's fields and their after-values (JSON); ``made``: whether Jira answered the edit (else it was
# only meant: the push died before the PUT's answer, and the values tell whether it was made).
DDL = (f"create schema if not exists {SCHEMA}",
       f"""create table if not exists {TABLE} (vendor_id varchar not null primary key, internal_id varchar not null,
       note varchar not null, run_id varchar, noted_at timestamp not null, fields varchar, made boolean)""")
ADDED = {"fields": "varchar", "made": "boolean"}  # columns a table of the first round-33 build lacks
FIELD = "owed_comment"  # the field of a comment step that posts a note an earlier edit owes
# A note older than this is no longer owed (an issue deleted and never read again, a record gone from the mart):
# pruned when the next note is kept, as ``pending_creates`` marks are.
KEEP_NOTES = timedelta(days=30)


class Owed(NamedTuple):
    note: str
    fields: dict[str, Any] | None  # None: a row kept before fields were (compared by its text alone)
    made: bool


def _ensure(writes: Any) -> None:
    """The table, created once per run (its ``Writes``)."""
    if not getattr(writes, "owed_notes_ready", False):
        for statement in DDL:
            writes.conn.execute(statement)
        have = writes.conn.columns(SCHEMA, TABLE.split(".")[-1])
        for column, kind in ADDED.items():
            if column not in have:
                writes.conn.execute(f"alter table {TABLE} add column if not exists {column} {kind}")  # a racer
        writes.owed_notes_ready = True


def owe(writes: Any, vendor_id: str, internal_id: str, changes: list[Change], made: bool) -> None:
    """Keep the note ``changes`` owe (``made``: Jira answered the edit; else it is only meant, kept before the PUT)."""
    from assets.reverse_sync.jira_screens import edit_note
    from assets.reverse_sync.unsettled import _now

    fields = json.dumps({c.field: c.after for c in changes}, default=str)
    with writes.committed():
        _ensure(writes)
        writes.conn.execute(f"delete from {TABLE} where vendor_id = %s or noted_at < %s",
                            (vendor_id, _now() - KEEP_NOTES))
        writes.conn.execute(f"insert into {TABLE} (vendor_id, internal_id, note, run_id, noted_at, fields, made) "
                            "values (%s, %s, %s, %s, %s, %s, %s)",
                            (vendor_id, internal_id, edit_note(changes), writes.run_id, _now(), fields, made))


def paid(writes: Any, vendor_id: str) -> None:
    with writes.committed():
        _ensure(writes)
        writes.conn.execute(f"delete from {TABLE} where vendor_id = %s", (vendor_id,))


def owed(writes: Any, vendor_id: str) -> Owed | None:
    with writes.committed():
        _ensure(writes)
        rows = writes.conn.query(f"select note, fields, made from {TABLE} where vendor_id = %s", (vendor_id,))
    if not rows:
        return None
    try:
        fields = json.loads(rows[0]["fields"]) if rows[0]["fields"] else None
    except ValueError:
        fields = None
    return Owed(str(rows[0]["note"]), fields if isinstance(fields, dict) else None, bool(rows[0]["made"]))


def with_owed(writes: Any, vendor_id: str, steps: list[Any], snap: Any = None) -> list[Any]:
    """``steps`` with the comment an earlier edit of the issue still owes (if any) first, after any leading
    reopen ``transition``. An edit that was only meant (Jira never answered the PUT) is first read from ``snap``, the
    issue as this push read it (``_made``): never made (the fields nobody else edited since do not hold the note's
    after-values), its note is not posted: dropped, or left to this plan's own comment when it edits the note's
    fields again; made (or every field edited by a person since), it is posted even when this plan edits the same
    field again (a person set it since the gateway's 504), as is a note of an edit Jira answered: that second edit
    may yet be refused. Unknown (no changelog) and planned again, this plan's own comment tells those fields."""
    row = owed(writes, vendor_id)
    if row is None:
        return steps
    planned = {c.field for op, changes in steps if op == "update" for c in changes}
    if row.fields is None and row.note in {c.after for op, changes in steps if op == "comment" for c in changes}:
        return steps  # a row without fields: the same text planned again
    if row.fields is not None and not row.made:
        # read first: an edit Jira made but never answered (a gateway's 504), planned again because a person
        # changed its field since, is still told, or the next edit's ``owe`` overwrote it (and its refusal dropped it)
        made = _made(row.fields, snap) if snap is not None else None
        if made is None and set(row.fields) & planned:
            return steps  # unknown (unread, no changelog), planned again: this plan's comment tells those fields
        if made is False:
            if set(row.fields) <= planned:
                return steps  # not made and planned again: this plan's own comment is the note (``owe`` replaces it)
            if getattr(writes, "enabled", False):  # not in a dry run
                log.info("Jira issue %s does not hold the values of the edit an earlier push meant to make (killed "
                         "before Jira answered it): that edit was not made, so its change comment is dropped",
                         vendor_id)
                paid(writes, vendor_id)
            return steps
    # after a leading reopen: a Closed issue may take no comment till then (``JiraTaskWriter.steps``)
    lead = next((i for i, (op, _) in enumerate(steps) if op != "transition"), len(steps))
    return [*steps[:lead], ("comment", [Change(FIELD, None, row.note)]), *steps[lead:]]


def _made(fields: dict[str, Any], snap: Any) -> bool | None:
    """Whether the issue shows an edit of ``fields`` (their after-values) that Jira never answered was made. Jira
    makes a PUT's fields all or none, so the fields nobody else changed since the last sync (``snap.foreign``, from
    the changelog; all of them when it lists no one else's change) tell: made when one holds its after-value. A field
    a person edited since says nothing (its value is the person's), so when every field was edited since, the note
    is kept (True: told rather than lost; [unc] whether it was made cannot be read from the values then). Without a
    changelog (``foreign`` None: who changed what unknown) a field holding its after-value still says made, but none
    holding it proves nothing (each may be a person's): None, unknown."""
    own = getattr(snap, "own", None)
    if isinstance(own, set):
        # the changelog says it outright: our account's own entry for one of the fields since the last sync is that
        # edit (Jira logs a PUT's fields together); none, and it was not made, whatever a person set since (reading
        # values, an edit killed before it reached Jira, then a person's edit of every field, was told as made: a
        # false comment beside the next edit's own) [unc: an edit setting a field to the value it had logs nothing]
        return bool(set(fields) & own)
    if not isinstance(snap.foreign, set):
        return True if any(_same(snap.fields.get(k), v) for k, v in fields.items()) else None
    told = {k: v for k, v in fields.items() if k not in snap.foreign}
    return not told or any(_same(snap.fields.get(k), v) for k, v in told.items())


def _same(have: Any, want: Any) -> bool:
    return have == want or (have is not None and want is not None and str(have) == str(want))


def post_owed(writer: Any, writes: Any, vendor_id: str, internal_id: str, note: str) -> None:
    """Post the note an earlier edit owes, unless one of the integration account's recent comments already says it
    (not only the latest: a reopen this run made comments after it)."""
    try:
        if writer.find_recent_comment(vendor_id, note) is None:
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
    from assets.reverse_sync.refusal import signature
    from assets.reverse_sync.writes import RecordRefused
    from pipelines.common.http import VendorAuthError

    if isinstance(exc, VendorAuthError) or signature(exc) is not None:  # the account's (Add Comments gone: Jira's
        return False  # 403 "You do not have the permission to comment on this issue."), not this issue's
    return isinstance(exc, RecordRefused) or exc.status in (400, 404, 409)
