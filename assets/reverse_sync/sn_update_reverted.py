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
  value the record held before reads as a revert].

A revert is audited as operation ``update_reverted`` (the record's sys_id, the fields and the values answered)
and raised as a :class:`VendorError` (409: about this record, not ServiceNow's health) whose reason starts
``update_reverted:``; the engine dead-letters the record and leaves its link as it was, which is the vendor's
real state (a reopen set back leaves the link closed). Later pushes plan the write again but do not send it
while the hold of :func:`assets.reverse_sync.sn_reverted.held_until` runs (same setting
``PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS``, doubled per revert of the dead-letter episode, at most a day);
meanwhile the dead letter reads ``deferred: update_reverted: ...`` and nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pipelines.common.http import VendorError

from . import readback, state
from .policy import Change
from .sn_reverted import SETTING, UPDATE_REVERTED

__all__ = ["UPDATE_REVERTED", "check", "deferred", "form"]

_SHOWN = 60  # characters of an answered value in the audit and the dead letter


def check(record: dict[str, Any], body: dict[str, Any], changes: Sequence[Change], closed: frozenset[str],
          vendor_id: str, internal_id: str, status: int, hold_seconds: int, writes: Any,
          keep_forms: bool = True) -> None:
    """Raise VendorError (``update_reverted:``) when the answered ``record`` shows the write undone; else keep
    the instance's forms of our values in the link's ``vendor_forms`` (not with ``keep_forms`` False: a record
    read back after an answer that was not the record, which proves no rewrite of ours)."""
    forms = _link_forms(writes, internal_id)
    before = {c.field: c.before for c in changes}
    reverted: list[str] = []
    rewritten: dict[str, list[str]] = {}
    for name, want in body.items():
        if name in readback.SN_DERIVED or name not in record:
            continue
        have = record[name]
        if readback.sn_field_shows(name, have, want, closed):
            continue
        if name == "state":
            reverted.append(name)
        elif forms.get(name) == form(want, have):
            continue  # the instance made this of this very value of ours before
        elif name in before and before[name] is not None and any(
                got == readback.text(before[name]) for got in readback.sn_candidates(have)):
            reverted.append(name)
        else:
            rewritten[name] = form(want, have)
    if reverted:
        raise _reverted(record, sorted(reverted), vendor_id, internal_id, status, hold_seconds, writes)
    shown = [n for n in body if n not in rewritten and n in forms]
    if keep_forms and (rewritten or shown):
        kept = {k: v for k, v in forms.items() if k not in shown}
        _save_forms(writes, internal_id, {**kept, **rewritten})


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


def _save_forms(writes: Any, internal_id: str, forms: dict[str, Any]) -> None:
    with writes.committed():
        writes.conn.execute(f"update {state.SCHEMA}.external_links set vendor_forms = %s where vendor = %s and "
                            "internal_id = %s", (json.dumps(forms, sort_keys=True), writes.vendor, internal_id))


def _shown(value: Any) -> str:
    got = readback.sn_candidates(value)[0] if value is not None else ""
    return (got[:_SHOWN] + "…") if len(got) > _SHOWN else (got or "(empty)")


def _reverted(record: dict[str, Any], fields: list[str], vendor_id: str, internal_id: str, status: int,
              hold_seconds: int, writes: Any) -> VendorError:
    answered = ", ".join(f"{f} {_shown(record.get(f))!r}" for f in fields)
    what = "reopen" if "state" in fields else "update"
    reason = (f"{UPDATE_REVERTED}: ServiceNow answered the {what} of {vendor_id} with {answered}: a business rule "
              "set our values back (the record keeps what it held); the link keeps the record's real state and "
              "the write is sent again by a later push"
              + (f" (held {hold_seconds} s after this, {SETTING}, doubled per revert)" if hold_seconds else ""))
    writes._audit(UPDATE_REVERTED, vendor_id, internal_id, status, reason[:300])
    return VendorError(reason, 409)


def deferred(vendor_id: str, until: datetime) -> VendorError:
    return VendorError(
        f"deferred: {UPDATE_REVERTED}: the last update of {vendor_id} was set back by ServiceNow (a business rule); "
        f"not sent again before {until:%Y-%m-%d %H:%M:%S} UTC ({SETTING}, doubled per revert, at most a day), so "
        "the record is not written on every push; the link keeps the record's real state", 409)
