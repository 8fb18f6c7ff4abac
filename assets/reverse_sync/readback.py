"""Reading back a write answered 2xx without the record: which values the vendor must show, compared as the
vendor stores them.

A record read back after an unclear answer proves the write only by the values Project X owns. What the vendor
legitimately rewrites on the way in is not ours to insist on, or the record would be dead-lettered on every run
while the write did land:

- ServiceNow ``priority`` is *derived*: on task tables an instance's priority lookup rules (impact x urgency) or a
  business rule compute it, whatever was sent. It is not compared beside fields we own; an update of nothing
  but derived fields is done when the record shows the value sent, else the PATCH (idempotent) is sent once
  more and is done only if that answer is the record (the instance took it and shows its own priority).
  Neither a moved ``sys_mod_count`` (any save by anyone moves it) nor a value other than our last sync's (a
  person may have set it) proves the write, so neither is taken as proof.
- ServiceNow ``state`` is *normalised*: a business rule or the table's state model may turn the closed state we
  send (Closed Complete) into another closed state, or the open state of a reopen into another open one. Only
  the side matters (closed or open), as for the conflict policy, where ServiceNow wins the status.
- Text (ServiceNow and OneTrust): leading and trailing whitespace trimmed and line ends normalised to ``\\n``
  [unc: what each instance trims]; ServiceNow cuts a string at its column's maximum length (see
  :data:`MAX_LENGTH`, dictionary defaults [unc]), so a value cut exactly there is the value sent.
- ServiceNow values read as objects (``{"value", "display_value", "link"}``: a reference field, or an instance
  answering display values): the raw value or the display value may equal what was sent.
- ServiceNow dates: a ``YYYY-MM-DD HH:MM:SS`` sent to a date column reads back as ``YYYY-MM-DD`` [unc].
- OneTrust ``result``: compared without regard to case [unc: enum normalisation]; periods as instants.

A write that did not land leaves the values of the last sync, which differ from what was sent in every field the
update carried (an update sends only changed fields), so an owned field that reads as sent is still required: a
field the record read back does not hold at all proves nothing, and a record holding none of them is not
written.
"""

from __future__ import annotations

from typing import Any

from pipelines.common.cursor import parse_vendor_ts

# ServiceNow fields an instance computes itself (compared only when nothing else proves the write).
SN_DERIVED = frozenset({"priority"})
# Dictionary max lengths of the string columns we write on task tables [unc: an instance may change them].
MAX_LENGTH = {
    "short_description": 160,
    "description": 4000,
    "close_notes": 4000,
    "correlation_id": 100,
    "correlation_display": 100,
}


def text(value: Any) -> str:
    """A value as a vendor stores text: line ends as ``\\n``, no leading or trailing whitespace."""
    return "" if value is None else str(value).replace("\r\n", "\n").replace("\r", "\n").strip()


def sn_candidates(value: Any) -> list[str]:
    """What a ServiceNow value read back may be compared with: a plain string as it is; an object
    (reference, or display values) as its raw value and its display value."""
    if isinstance(value, dict):
        return [text(value.get(k)) for k in ("value", "display_value") if k in value]
    return [text(value)]


def sn_field_shows(name: str, have: Any, want: Any, closed_states: frozenset[str]) -> bool:
    """Whether ServiceNow's ``have`` is the ``want`` sent for field ``name``, allowing its rewrites."""
    wanted = text(want)
    if name == "state":  # the raw code only: a display value ("Closed Complete") is not a code of closed_states
        got = text(have.get("value")) if isinstance(have, dict) else text(have)
        return got != "" and (got in closed_states) == (wanted in closed_states)
    for got in sn_candidates(have):
        if got == wanted:
            return True
        if len(got) == 10 and len(wanted) == 19 and wanted[10] == " " and wanted.startswith(got):
            return True  # a date column keeps the date of a date-time
        limit = MAX_LENGTH.get(name)
        if limit and len(got) == limit and len(wanted) > limit and text(wanted[:limit]) == got:
            return True
    return False


def sn_unwritten(record: dict[str, Any], body: dict[str, Any], closed_states: frozenset[str]) -> tuple[list[str], int]:
    """(fields of ``body`` the record read back does not show, how many owned fields it did show)."""
    differs, shown = [], 0
    for name, want in body.items():
        if name in SN_DERIVED or name not in record:
            continue
        if sn_field_shows(name, record[name], want, closed_states):
            shown += 1
        else:
            differs.append(name)
    return sorted(differs), shown


def sn_derived_only(body: dict[str, Any]) -> bool:
    return bool(body) and set(body) <= SN_DERIVED


def sn_derived_shows(record: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether the record read back shows every derived field of ``body`` as sent (its raw value)."""
    return all(k in record and sn_candidates(record[k])[0] == text(v) for k, v in body.items())


def onetrust_holds(record: dict[str, Any], sent: dict[str, Any]) -> bool:
    """Whether an attestation read back holds the result, comment and period an upsert sent: text trimmed, the
    result without regard to case, times as instants (OneTrust may add milliseconds [unc])."""
    for key in ("result", "comment", "periodStart", "periodEnd"):
        have, want = record.get(key), sent.get(key)
        if have == want:
            continue
        if have is None or want is None:
            return False
        if key == "comment" and text(have) == text(want):
            continue
        if key == "result" and text(have).casefold() == text(want).casefold():
            continue
        try:
            if key.startswith("period") and parse_vendor_ts(str(have)) == parse_vendor_ts(str(want)):
                continue
        except ValueError:
            pass
        return False
    return True
