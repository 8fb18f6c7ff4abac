"""Several copies of one OneTrust record in one read: which one is newest, by the parsed instant.

OneTrust stamps changes as ISO-8601 text, but not always in one form: ``2026-03-04T05:06:07Z``,
``2026-03-04T05:06:07.123+00:00`` and ``2026-03-04 05:06:07`` [unc: a tenant API, a proxy or an import
rewriting the form] are all readable. Compared as text, a space sorts before ``T`` and ``.`` before ``Z``,
so the older copy of a record could win: in the pass (``07.123+00:00`` read as older than ``07Z``) and in
the load (dlt's ``dedup_sort`` on the text of ``updated_at``). Every comparison of copies now uses
:func:`instant_text`, the instant as one canonical, sortable UTC text to the microsecond, which each row
also carries as ``updated_at_utc`` (the load's ``dedup_sort`` column); ``updated_at`` keeps the text
OneTrust sent.

Rule, whatever the form: the later instant wins. Equal instants (``07Z`` and ``07.000+00:00``), in one
page: the copy with the larger digest of its text (:func:`pipelines.common.requeue.digest`), whatever
order the page lists them in; across pages: the copy read first, since a row handed to the load cannot be
taken back and the load's dedup would see a tie. A copy of equal instant and other content is a vendor
conflict: it is quarantined (once per content, :class:`Shadowed`) with a reason naming the copy kept.
A copy whose stamp is not readable never wins over a readable one and is never dropped: it goes on to
validation, which quarantines it with the reason.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from pipelines.common.cursor import parse_vendor_ts, utc_text
from pipelines.common.pages import text_problem
from pipelines.common.quarantine import quarantined
from pipelines.common.requeue import digest

STATE_KEY = "shadowed_copies"


def instant_text(raw: Any) -> str | None:
    """A OneTrust timestamp as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (UTC, fixed width, so text order is time
    order for years 1-9999); None if it is not one. Digits past the microsecond are cut."""
    try:
        when = parse_vendor_ts(raw)
    except (TypeError, ValueError):
        return None
    return utc_text(when, "T", f".{when.microsecond:06d}Z")


def stored_instants(table: str, id_column: str) -> dict[str, str]:
    """id -> the instant of the copy stored in this pipeline's dataset table (``updated_at_utc``; empty when the
    table or the column does not exist yet). A full pass loads a listed copy newer than it even when its stamp is
    older than the cursor window: a change stamped behind the cursor (a tenant clock set back, an import keeping
    old stamps [unc]) was taken for "unchanged" by every pass, the reconciling one included, for good."""
    from pipelines.common.deletions import destination_rows

    out: dict[str, str] = {}  # no dataset, table or column yet: the ids alone decide, as before
    for rid, stamp in destination_rows(table, id_column, "updated_at_utc"):
        if isinstance(rid, str) and isinstance(stamp, str):
            key = rid.lower()  # rows loaded before ids were lower-cased: the newest copy stands
            out[key] = max(out.get(key, stamp), stamp)
    return out


def rank(record: Any, ts_field: str) -> tuple[str, str] | None:
    """(instant, digest) of a copy, higher = newer; None if its stamp is not readable."""
    stamp = instant_text(record.get(ts_field)) if isinstance(record, dict) else None
    return None if stamp is None else (stamp, digest(record))


def content(record: dict[str, Any], ts_field: str) -> str:
    """Digest of a copy without its stamp: copies that differ only in how the instant is written agree."""
    return digest({k: v for k, v in record.items() if k != ts_field})


class Shadowed:
    """Copies quarantined because another copy of their record won at the same instant: each content once
    while OneTrust keeps sending it (kept in resource state as ``id -> [digests]``; ids not seen again drop
    out), so the overlap re-read of later runs does not write it again."""

    def __init__(self, state: MutableMapping, entity: str, run_id: str):
        self.entity, self.run_id = entity, run_id
        old = state.get(STATE_KEY) or {}
        self._old = {k: set(v) for k, v in old.items() if isinstance(v, list)}
        self._seen: dict[str, set[str]] = {}

    def item(self, record: Any, rid: str, reason: str) -> Any:
        """The quarantine item for ``record``, or None if this content was quarantined already."""
        fingerprint = digest(record)
        if text_problem(rid):  # resource state (JSON) cannot keep this key: quarantined on every read
            return quarantined(self.entity, record, reason, self.run_id, rid)
        known = fingerprint in self._seen.get(rid, ()) or fingerprint in self._old.get(rid, ())
        self._seen.setdefault(rid, set()).add(fingerprint)
        return None if known else quarantined(self.entity, record, reason, self.run_id, rid)

    def seen_before(self, record: Any, rid: str) -> bool:
        """Whether this content of ``rid`` was quarantined as a shadow (this run or an earlier one); if so it
        stays known while OneTrust sends it, whatever becomes of it this run."""
        fingerprint = digest(record)
        if fingerprint in self._seen.get(rid, ()) or fingerprint in self._old.get(rid, ()):
            self._seen.setdefault(rid, set()).add(fingerprint)
            return True
        return False

    def commit(self, state: MutableMapping) -> None:
        state[STATE_KEY] = {k: sorted(v) for k, v in sorted(self._seen.items())}
