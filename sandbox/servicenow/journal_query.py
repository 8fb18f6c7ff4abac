"""Conditions on journal fields (`work_notes`, `comments`, `comments_and_work_notes`): the entries' text.

A record reads its journal field as the history (`journal`: "<time> - <name> (Work notes)" headers and
the entries), but an instance keeps no such column: a condition on the field is answered from the
entries, the sys_journal_field rows (element, element_id, value), so `work_notesLIKEWork notes` matches
only a record one of whose notes holds those words, never every record with a note. Here:
- LIKE, STARTSWITH, =, IN ... (every operator but the negated ones below) match a record with at least
  one entry whose value matches (`work_notesSTARTSWITHquokka`: an entry that starts so, not the newest
  header);
- NOT LIKE / NOTLIKE / DOES NOT CONTAIN match a record none of whose entries matches (one without
  entries too); != and NOT IN likewise, but need an entry (an empty field is NULL, KB0715430);
- ISEMPTY / EMPTYSTRING: no entry; ISNOTEMPTY: an entry; ANYTHING: every record;
- `comments_and_work_notes` tests the entries of both; a dot-walk (`parent_incident.work_notes`) the
  entries of the record the reference points at.
The keyword search `123TEXTQUERY321=` (and `GOTO123TEXTQUERY321=`) reads a journal field as its entries'
text too (`entry_text`), never the headers. An ORDERBY / ORDERBYDESC on a journal field is ignored
(`sortable`): an instance keeps the entries in sys_journal_field and nothing sortable on the record, and
its lists offer no sort on a journal column [unc: not documented; a guess from the journal storage and
the list UI, which lets no journal column be sorted].
The same compiled test serves the conditions of JOIN, RLQUERY and SUBQUERY (`related` evaluates them
with `engine.compile_condition`). What a self-service caller may test is cut before (`acl`).
[unc: the SQL an instance generates for a journal condition was not seen; "matches some entry" for the
positive operators and "matches no entry" for the negated ones is the guess.]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from sandbox.servicenow.journal import COMBINED, JOURNAL_TABLE, LABELS
from sandbox.servicenow.query import Condition, predicate
from sandbox.servicenow.render import field_of

FIELDS = frozenset({*LABELS, COMBINED})
_NEGATED = {"NOTLIKE": "LIKE", "NOT LIKE": "LIKE", "DOES NOT CONTAIN": "CONTAINS", "!=": "=", "NOT IN": "IN",
            "ISEMPTY": "ISNOTEMPTY", "EMPTYSTRING": "ISNOTEMPTY"}
_NEEDS_ENTRY = frozenset({"!=", "NOT IN"})


def names_journal(field: str) -> bool:
    """Whether a (possibly dot-walked) field name ends at a journal field's name."""
    return field.rpartition(".")[2] in FIELDS


def compile_journal(source: Any, c: Condition) -> Callable[[int], bool] | None:
    """row -> bool for a condition on a journal field of `source`; None when `c` is on no journal field."""
    prefix, _, name = c.field.rpartition(".")
    if name not in FIELDS:
        return None
    schema_field = field_of(source, c.field, source.store)
    if schema_field is None or schema_field.kind != "journal":
        return None
    if c.op == "ANYTHING":
        return lambda r: True
    elements = frozenset(LABELS) if name == COMBINED else frozenset((name,))
    journal = source.store.tables[JOURNAL_TABLE]
    element, owner_of, value = journal.getter("element"), journal.getter("element_id"), journal.getter("value")
    entries = [r for r in journal.alive_rows() if element(r) in elements]
    test = predicate(replace(c, op=_NEGATED.get(c.op, c.op)), value, False)
    having = frozenset(owner_of(r) for r in entries if test(r))
    owner = source.getter(prefix or "sys_id")
    if c.op in _NEEDS_ENTRY:
        noted = frozenset(owner_of(r) for r in entries)
        return lambda r: owner(r) in noted and owner(r) not in having
    if c.op in _NEGATED:
        return lambda r: owner(r) not in having
    return lambda r: owner(r) in having


def entry_text(source: Any, field: str) -> Callable[[int], str]:
    """row -> the text of its entries of journal field `field` (both for `comments_and_work_notes`),
    for the keyword search; "" for a record without entries."""
    name = field.rpartition(".")[2]
    elements = frozenset(LABELS) if name == COMBINED else frozenset((name,))
    journal = source.store.tables[JOURNAL_TABLE]
    element, owner_of, value = journal.getter("element"), journal.getter("element_id"), journal.getter("value")
    texts: dict[str, list[str]] = {}
    for r in journal.alive_rows():
        if element(r) in elements:
            texts.setdefault(owner_of(r), []).append(value(r))
    owner = source.getter("sys_id")
    return lambda r: " ".join(texts.get(owner(r), ()))


def sortable(source: Any, field: str) -> bool:
    """Whether an ORDERBY may sort by `field`: not by a journal field (module doc)."""
    if not names_journal(field):
        return True
    schema_field = field_of(source, field, source.store)
    return schema_field is None or schema_field.kind != "journal"
