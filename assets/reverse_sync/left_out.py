"""What a record's write went without because the vendor would not take it (Jira: a field off the create or edit
screen, :mod:`assets.reverse_sync.jira_screens`), and how its link says so, so a later push writes it.

- A synced field left out keeps the vendor's value as the link's synced base and is not among the values sent;
  the link's digest is the row's marked with this hour (:func:`engine.left_out_digest`): the record is planned
  again by the first push of the next hour and the field written once the vendor takes it (not only with the
  row's next change); until then each hour costs the plan's read of the record, and no write.
- A value a create sends that is no synced field (Jira: the owner as assignee, set only at creation) is kept in
  the link's ``projectx_fields`` under :data:`engine.OWED`; the writer's ``owed`` turns it into a change while it
  still applies (``JiraIssueWriter.owed``). After a create the digest is marked so that the very next push plans
  the record (an edit screen often takes what the create screen does not); after an edit that left it out again,
  by the hour as above. A push that writes it, or finds it no longer applies, saves the link without it.
"""

from __future__ import annotations

from typing import Any


def left_out(writer: Any, internal_id: str) -> dict[str, str]:
    """The fields the writer's writes of this record went without this run ({field: why}; Jira: a field its screen
    does not take), empty for writers that never leave one out."""
    gone = getattr(writer, "left_out", None)
    return dict(gone(internal_id) or {}) if gone is not None else {}


def without(left: dict[str, str], synced: dict[str, Any], sent: dict[str, Any], digest: str, snap: Any,
            created: bool = False) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The link (synced base, values sent, digest) as the vendor really took the write (see the module)."""
    if not left:
        return synced, sent, digest
    from .engine import OWED, left_out_digest

    vendor = dict(snap.fields) if snap is not None else {}
    owed = sorted(f for f in left if f not in synced)
    synced = {**synced, **{f: vendor.get(f) for f in left if f in synced}}
    sent = {k: v for k, v in sent.items() if k not in left and k != OWED}
    if owed:
        sent[OWED] = owed
    return synced, sent, f"{digest}:{OWED}" if owed and created else left_out_digest(digest)


def mark(rows: list[dict[str, Any]], left: dict[str, str], nothing: bool = False) -> list[dict[str, Any]]:
    """Plan rows of fields the write went without: outcome ``left_out``, with why (``nothing``: every change was
    left out, so the comment saying what changed was not posted either)."""
    for row in rows:
        if row.get("field") in left:
            row["outcome"], row["reason"] = "left_out", left[row["field"]]
        elif nothing and row.get("operation") == "comment":
            row["outcome"], row["reason"] = "left_out", "nothing else changed"
    return rows
