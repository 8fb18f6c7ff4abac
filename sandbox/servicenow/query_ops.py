"""Encoded-query operators beyond the comparison basics (see `query` for the grammar, `dates` for the
date operators, which `query` rewrites into BETWEEN / NOTBETWEEN / DATEPART / plain comparisons).

- BETWEEN / NOTBETWEEN `a@b`, both ends inclusive; each end may be a `javascript:` date helper; a date
  field ("YYYY-MM-DD") is compared with the date part of datetime bounds.
- DATEPART `part@value@op[@zone]` (from `gs.datePart`): the part of a date-time in the caller's zone.
- VALCHANGES / CHANGESFROM / CHANGESTO (`query`): match no row.
- Field comparisons: SAMEAS, NSAMEAS, GT_FIELD, LT_FIELD, GT_OR_EQUALS_FIELD, LT_OR_EQUALS_FIELD
  (`opened_atGT_FIELDsys_created_on`), and the relative ones MORETHAN / LESSTHAN
  (`resolved_atMORETHANopened_at@hour@after@1`, `relative_field`).
- `123TEXTQUERY321=<words>` (the documented search term): records whose text fields (string and
  journal fields but sys_*) hold every word, case ignored; `word*` matches a word's start. A journal
  field's text is its entries' own text, not the "<time> - <name> (Work notes)" headers of its history
  (`journal_query.entry_text`), so `123TEXTQUERY321=Work` does not match every record with a note. Guessed:
  the instance's text index also stems words and weighs them, which the sandbox does not.
- INSTANCEOF on sys_class_name: the class or any class extending it (CMDB classes: `ci_classes`).
- The calling user: `javascript:gs.getUserID()` / `gs.getUserName()` and the "Me" dynamic filter
  (`assigned_toDYNAMIC90d1921e5f510100a9ad2572f2b477fe`) are substituted before parsing, and so are the
  user's groups (sys_user_grmember) for the "One of My Groups" dynamic filter
  (`assignment_groupDYNAMICd6435e965f510100a9ad2572f2b47744`) and `=javascript:getMyGroups()` /
  `INjavascript:gs.getMyGroups()`: an IN list of the group sys_ids.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfoNotFoundError

from sandbox.core.numbers import DECIMAL, ascii_int
from sandbox.servicenow.ci_classes import CI_PARENTS
from sandbox.servicenow.dates import date_part, part_value, shift
from sandbox.servicenow.render import to_zone

FIELD_OPS = {"SAMEAS": operator.eq, "NSAMEAS": operator.ne, "GT_FIELD": operator.gt, "LT_FIELD": operator.lt,
             "GT_OR_EQUALS_FIELD": operator.ge, "LT_OR_EQUALS_FIELD": operator.le}
_DATEPART_CMP = {"ee": operator.eq, "ne": operator.ne, "gt": operator.gt, "ge": operator.ge, "lt": operator.lt,
                 "le": operator.le}
ME = "90d1921e5f510100a9ad2572f2b477fe"  # the sys_dynamic_filter_option "Me" (out-of-box sys_id)
_USER_ID = re.compile(r"javascript:\s*gs\.getUserID\(\s*\)")
_USER_NAME = re.compile(r"javascript:\s*gs\.getUserName\(\s*\)")
MY_GROUPS = "d6435e965f510100a9ad2572f2b47744"  # the sys_dynamic_filter_option "One of My Groups"
_MY_GROUPS = re.compile(r"(?:=|IN)javascript:\s*(?:gs\.)?getMyGroups\(\s*\)")
NO_GROUP = "-none-"  # an IN list that matches nothing (a user in no group)


def personalize(text: str, user_name: str, user_sys_id: str,
                my_groups: Callable[[], list[str]] = lambda: []) -> str:
    """Put the calling user (and its groups) into the query text (before parsing, so every segment sees it)."""
    if "javascript" not in text and "DYNAMIC" not in text:
        return text
    text = _USER_ID.sub(lambda _: user_sys_id, text)
    text = _USER_NAME.sub(lambda _: user_name, text)
    text = text.replace("DYNAMIC" + ME, "=" + user_sys_id)
    if "DYNAMIC" + MY_GROUPS in text or _MY_GROUPS.search(text):
        groups = "IN" + (",".join(my_groups()) or NO_GROUP)
        text = _MY_GROUPS.sub(lambda _: groups, text.replace("DYNAMIC" + MY_GROUPS, groups))
    return text


def between(value: str, get: Callable[[int], str], inside: bool, numeric: bool = False) -> Callable[[int], bool]:
    """Both ends inclusive; an integer field compares as numbers (`reassignment_countBETWEEN2@10`)."""
    lo, _, hi = value.partition("@")
    if numeric and _num(lo) is not None and _num(hi) is not None:
        nlo, nhi = _num(lo), _num(hi)

        def number(r: int) -> bool:
            x = _num(get(r))
            return x is not None and (nlo <= x <= nhi) is inside  # type: ignore[operator]

        return number

    def test(r: int) -> bool:
        x = get(r)
        if x == "":
            return False
        a, b = (lo[:10], hi[:10]) if len(x) == 10 and len(lo) > 10 else (lo, hi)
        return (a <= x <= b) is inside

    return test


def _num(text: str) -> float | None:
    # ASCII decimal text only, not float(): it read '٣' as 3 and took ' 3', '1_0', 'nan' and 'inf' [round 27]
    if not DECIMAL.fullmatch(text):
        return None
    try:
        return float(text)
    except ValueError:
        return None


RELATIVE_FIELD_OPS = ("MORETHAN", "LESSTHAN")


def relative_field(op: str, value: str, get: Callable[[int], str],
                   other: Callable[[int], str]) -> Callable[[int], bool] | None:
    """`resolved_atMORETHANopened_at@hour@after@1` (the condition builder's "is more than 1 Hours after
    Opened"): the field compared with the other field moved by n units; MORETHAN after: field > other + n,
    before: field < other - n; LESSTHAN after: field < other + n, before: field > other - n. An empty
    value on either side matches nothing. None when the value is not understood (the condition is then
    ignored). [unc: the exact bounds of "less than ... after" (whether the field must also be after)]"""
    parts = value.split("@")
    if len(parts) != 4 or parts[1].lower() not in _UNITS or parts[2] not in ("after", "before") \
            or ascii_int(parts[3]) is None:
        return None
    unit, n = _UNITS[parts[1].lower()], ascii_int(parts[3], cap=2**31) * (1 if parts[2] == "after" else -1)
    later = (op == "MORETHAN") == (parts[2] == "after")  # the field must lie beyond the moved moment

    def test(r: int) -> bool:
        mine, theirs = _moment(get(r)), _moment(other(r))
        if mine is None or theirs is None:
            return False
        try:
            edge = shift(theirs, unit, n)
        except (OverflowError, ValueError):  # moved past datetime's years [unc: ServiceNow's answer]
            return False
        return mine > edge if later else mine < edge

    return test


_UNITS = {"minute": "minute", "hour": "hour", "day": "day", "week": "week", "month": "month",
          "quarter": "quarter", "year": "year"}


def _moment(text: str) -> datetime | None:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def datepart(value: str, get: Callable[[int], str]) -> Callable[[int], bool]:
    """`part@value@op[@zone]`: a date-time's part is taken in `zone` (the caller's, `dates.rewrite`);
    a date field's ("YYYY-MM-DD") as it is."""
    part, wanted, cmp_name, zone = [*value.split("@"), "", "", ""][:4]
    target, cmp = part_value(part, wanted), _DATEPART_CMP.get(cmp_name, operator.eq)
    if target is None:
        return lambda r: True  # not understood: ignored, like other invalid conditions
    local = _to_zone(zone)

    def test(r: int) -> bool:
        got = date_part(local(get(r)), part)
        return got is not None and cmp(got, target)

    return test


def _to_zone(zone: str) -> Callable[[str], str]:
    """A stored UTC "YYYY-MM-DD HH:MM:SS" as that moment's wall time in `zone` (dates, "" and an unknown zone
    unchanged)."""
    try:
        return to_zone(zone) if zone else str
    except (ValueError, ZoneInfoNotFoundError):
        return str


def field_compare(op: str, get: Callable[[int], str], other: Callable[[int], str]) -> Callable[[int], bool]:
    compare = FIELD_OPS[op]  # an empty (NULL) value on either side matches none of them (KB0715430)
    return lambda r: get(r) != "" and other(r) != "" and compare(get(r), other(r))


def class_family(store: object, name: str) -> frozenset[str]:
    """`name` and every table extending it (directly or not), from the schemas' parent links."""
    parents = {**{t.name: t.schema.parent for t in store.tables.values()}, **CI_PARENTS}  # type: ignore[attr-defined]
    family = {name}
    for table in parents:
        seen, at = set(), table
        while at and at not in seen:
            if at == name:
                family.add(table)
                break
            seen.add(at)
            at = parents.get(at)
    return frozenset(family)


TEXT_QUERY = "123TEXTQUERY321"
_WORD = re.compile(r"\w+")


def text_search(source: object, value: str, skip: list[str] | None = None,
                journal: Callable[[str], Callable[[int], str]] | None = None) -> Callable[[int], bool]:
    """Rows whose text fields (but `skip`, the fields the caller may not read) hold every word of `value`
    (see the module docstring); `journal(field)` reads a journal field's text (its entries' own text,
    `journal_query.entry_text`) in place of the rendered history."""
    kinds = source.kinds  # type: ignore[attr-defined]
    getters = [(journal or source.getter)(f) if kinds.get(f) == "journal" else source.getter(f)  # type: ignore[attr-defined]
               for f in source.fields  # type: ignore[attr-defined]
               if kinds.get(f) in ("string", "journal") and not f.startswith("sys_") and f not in (skip or ())]
    words = [w.lower() for w in value.split() if w.strip("*")]
    if not words:
        return lambda r: True

    def test(r: int) -> bool:
        found = set(_WORD.findall(" ".join(g(r) for g in getters).lower()))
        return all(any(f.startswith(w[:-1]) for f in found) if w.endswith("*") else w in found for w in words)

    return test
