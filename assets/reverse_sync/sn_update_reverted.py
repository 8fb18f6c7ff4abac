"""A ServiceNow reopen or field update that did not stick: the PATCH answered 200 with the record, but a before
business rule set our values back (round 30; the close is :mod:`assets.reverse_sync.sn_reverted`).

The answered record is compared with every field the PATCH sent, as the instance stores them
(:func:`assets.reverse_sync.readback.sn_field_shows`: text trimmed, a date column's date, a string cut at its
column's length, the state as open or closed; the derived priority never insisted on):

- ``state`` (a reopen, operation ``transition``): the answer on the other side (still closed) is a revert.
- another field the update changed: the answer is a revert only when it is the value the record held before
  (the change's ``before``) and not what the instance made of this very value of ours the last time it was
  written (``external_links.vendor_forms``, the rule the nightly reconciliation follows: what the instance
  made of our value counts as ours). Any other answer is the instance's form of our value (a business rule
  that rewrites the text on the way in): the write is done, and that form goes into ``vendor_forms`` so the
  reconciliation does not rewrite it every night [unc: a rule that maps a new value of ours to exactly the
  value the record held before reads as a revert]. A field answered in its kept form keeps that form; only a
  field that now shows exactly as sent drops it (round 30c).
- a reopen sends the whole record after the update step: the field changes of the same push ride on its status
  change (:class:`Reopen`), so a rule on the reopen that sets one back is a revert, not a rewrite. When the
  state stuck but a field was set back, the link is saved open first (the record is open at ServiceNow: a
  later close is planned and the reconciliation looks at it) and the field is dead-lettered and held.

A revert is audited as operation ``update_reverted`` (the record's sys_id, the fields and the values answered)
and raised as a :class:`VendorError` (409: about this record, not ServiceNow's health) whose reason starts
``update_reverted:``; the engine dead-letters the record and leaves its link as it was, which is the vendor's
real state (a reopen set back leaves the link closed). Later pushes plan the write again but do not send it
while the hold of :func:`assets.reverse_sync.holds.held_until` runs (same setting
``PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS``, doubled per revert of the dead-letter episode, at most a day);
meanwhile the dead letter reads ``deferred: update_reverted: ...`` and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pipelines.common.http import VendorError

from . import readback, state
from .policy import Change
from .sn_reverted import SETTING, UPDATE_REVERTED

__all__ = ["UPDATE_REVERTED", "Reopen", "check", "deferred", "form", "reopen_steps"]

_SHOWN = 60  # characters of an answered value in the audit and the dead letter


def check(record: dict[str, Any], body: dict[str, Any], changes: Sequence[Change], closed: frozenset[str],
          vendor_id: str, internal_id: str, status: int, hold_seconds: int, writes: Any) -> None:
    """Raise VendorError (``update_reverted:``) when the answered ``record`` shows the write undone; else keep
    the instance's forms of our values in the link's ``vendor_forms``."""
    forms = _link_forms(writes, internal_id)
    before = {c.field: c.before for c in changes}
    for c in changes:  # a reopen: the fields its update step changed (``reopen_steps``)
        for f in getattr(c, "fields", ()):
            before.setdefault(f.field, f.before)
    reverted: list[str] = []
    rewritten: dict[str, list[str]] = {}
    shown: list[str] = []  # fields that now show exactly as sent: a form kept for them is stale
    for name, want in body.items():
        if name in readback.SN_DERIVED or name not in record:
            continue
        have = record[name]
        if readback.sn_field_shows(name, have, want, closed):
            shown.append(name)
            continue
        if name == "state":
            reverted.append(name)
        elif forms.get(name) == form(want, have):
            continue  # the instance made this of this very value of ours before: the form stays
        elif name in before and before[name] is not None and any(
                got == readback.text(before[name]) for got in readback.sn_candidates(have)):
            reverted.append(name)
        else:
            rewritten[name] = form(want, have)
    if reverted:
        reopened = "state" in body and "state" in shown  # the reopen stuck; a rule set another field back
        if reopened:
            _mark_open(writes, internal_id)
        raise _reverted(record, sorted(reverted), vendor_id, internal_id, status, hold_seconds, writes, reopened)
    stale = [n for n in shown if n in forms]
    if rewritten or stale:
        kept = {k: v for k, v in forms.items() if k not in stale}
        _save_forms(writes, internal_id, {**kept, **rewritten})


@dataclass(frozen=True)
class Reopen(Change):
    """The status change of a reopen, carrying the field changes of the same push (sent by the update step
    before it, and again in the reopen's full body): a before rule on the reopen that sets one of them back
    is then told from a rewrite of our value."""

    fields: tuple[Change, ...] = ()


def reopen_steps(steps: list[Any], changes: Sequence[Change]) -> list[Any]:
    """``steps`` with a reopen's status change carrying the field changes (:class:`Reopen`)."""
    fields = tuple(c for c in changes if c.field != "status")
    if not fields:
        return steps
    return [(op, [Reopen(c.field, c.before, c.after, fields) for c in cs]) if op == "transition" else (op, cs)
            for op, cs in steps]


def form(sent: Any, stored: Any) -> list[str]:
    """As the reconciliation keeps it (``reconcile._form``): digests of our value and what the instance stored."""
    from .reconcile import _form

    return _form(sent, stored)


def _link_forms(writes: Any, internal_id: str) -> dict[str, Any]:
    with writes.committed():
        raw = writes.conn.scalar(f"select vendor_forms from {state.SCHEMA}.external_links where vendor = %s and "
                                 "internal_id = %s", (writes.vendor, internal_id))
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _mark_open(writes: Any, internal_id: str) -> None:
    """The reopen stuck at ServiceNow: the link says open (closes are planned, and the reconciliation looks,
    only for open links), while its hash stays the old one so the set-back field is sent again after the hold."""
    with writes.committed():
        writes.conn.execute(f"update {state.SCHEMA}.external_links set status = 'open' where vendor = %s and "
                            "internal_id = %s", (writes.vendor, internal_id))


def _save_forms(writes: Any, internal_id: str, forms: dict[str, Any]) -> None:
    with writes.committed():
        writes.conn.execute(f"update {state.SCHEMA}.external_links set vendor_forms = %s where vendor = %s and "
                            "internal_id = %s", (json.dumps(forms, sort_keys=True), writes.vendor, internal_id))


def _shown(value: Any) -> str:
    got = readback.sn_candidates(value)[0] if value is not None else ""
    return (got[:_SHOWN] + "…") if len(got) > _SHOWN else (got or "(empty)")


def _reverted(record: dict[str, Any], fields: list[str], vendor_id: str, internal_id: str, status: int,
              hold_seconds: int, writes: Any, reopened: bool = False) -> VendorError:
    answered = ", ".join(f"{f} {_shown(record.get(f))!r}" for f in fields)
    what = "reopen" if "state" in fields or reopened else "update"
    kept = ("the record is open again (so is the link) but keeps what it held in those fields" if reopened
            else "the record keeps what it held")
    reason = (f"{UPDATE_REVERTED}: ServiceNow answered the {what} of {vendor_id} with {answered}: a business rule "
              f"set our values back ({kept}); the link keeps the record's real state and "
              "the write is sent again by a later push"
              + (f" (held {hold_seconds} s after this, {SETTING}, doubled per revert)" if hold_seconds else ""))
    writes._audit(UPDATE_REVERTED, vendor_id, internal_id, status, reason[:300])
    return VendorError(reason, 409)


def deferred(vendor_id: str, until: datetime) -> VendorError:
    return VendorError(
        f"deferred: {UPDATE_REVERTED}: the last update of {vendor_id} was set back by ServiceNow (a business rule); "
        f"not sent again before {until:%Y-%m-%d %H:%M:%S} UTC ({SETTING}, doubled per revert, at most a day), so "
        "the record is not written on every push; the link keeps the record's real state", 409)
