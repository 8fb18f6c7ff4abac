"""Business rules (sys_script) that an admin adds, run on the Table API's writes.

What runs: an active `before` rule of the written table or one of its ancestors (`task` for its
children, `cmdb_ci` and the CI classes between for a CI) whose action matches the write (action_insert,
action_update, action_delete) and whose `filter_condition` (an encoded query, "" for every record) matches
the record as it is about to be saved. The sandbox runs a rule's Actions tab only: with `abort_action` the
write is refused, as the instance answers it: 403 `{"error": {"message": "Operation Failed", "detail":
"Operation against file '<table>' was aborted by Business Rule '<name>^<sys_id>'. Business Rule
Stack:<name>"}}`; with `add_message` the rule's `message` is the error's message. A rule's script and its
script `condition` are not run (the sandbox's own `rules` module stands for the base system's scripted
rules). A rule without abort_action whose `template` ("Set field values") is set changes the record before it
is saved, and the write goes on, answered with the record as saved. On an insert or update the before rules run
as the instance runs them, one after another by `order` (lower first), then name (`before`): each sees the record
as the rules before it left it, so an aborting rule of a lower order than a "Set field values" rule judges the
record before those values are set, and once a rule aborts no later rule runs. The sandbox's own `rules` (the
base system's derived fields) run after the admin's rules. [unc: the message of a rule with add_message; ties
in `order` broken by name; an `order` that is not a whole number counts as 100, the field's default; where the
base system's rules sit among an admin's]

The condition is evaluated as the instance evaluates a rule's condition builder, against the record about
to be saved and the one before the write (`previous`):
- `<field>VALCHANGES` (changes), `<field>CHANGESTO<value>` (changes to), `<field>CHANGESFROM<value>`
  (changes from) compare the field's new value with its previous one (values compared exactly). An insert
  changes every field from empty (a field saved empty did not change); a delete changes nothing, so these
  never match it [unc: what an instance's delete rule makes of them; `previous` is the record itself here];
- a CHANGES operator inside an RLQUERY / SUBQUERY body or a JOIN's conditions (another table's rows, which
  have no previous value here) cannot be evaluated [unc: the platform's answer for it];
- a condition the engine cannot evaluate (an unknown field, an unknown operator, a malformed JOIN or
  RLQUERY) makes the rule match nothing, where a Table API query would ignore it: a rule with such a
  condition aborts no write [unc: an instance's rule with a broken condition; nothing it refuses was seen].

PySNC's test_multi_update_with_failures adds such a rule (`short_descriptionLIKEEICAR^ORdescriptionLIKEEICAR
^EQ` on problem) and expects the matching updates of a Batch API request to fail and the others to save.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sandbox.core.http import HTTPError
from sandbox.servicenow.ci_classes import CI_PARENTS
from sandbox.servicenow.engine import QueryEngine
from sandbox.servicenow.query import _SEGMENT as RELATED_SEGMENT
from sandbox.servicenow.query import Query, parse
from sandbox.servicenow.schema import SCHEMAS, SYSTEM_FIELDS
from sandbox.servicenow.tables import Table

if TYPE_CHECKING:
    from sandbox.servicenow.store import Store

RULES = "sys_script"
DEFAULT_ORDER = 100  # sys_script.order's default
_CHANGES = re.compile(r"([a-z0-9_]+)(VALCHANGES|CHANGESFROM|CHANGESTO)(.*)\Z", re.S)
_ESCAPED = "\x01"  # a `^^` (a literal caret) while the condition is split on `^`
# conditions that always / never hold on the record being saved (it has a sys_id by then)
_TRUE, _FALSE = "sys_idISNOTEMPTY", "sys_idISEMPTY"


def _lineage(table: Table, rec: dict[str, str]) -> set[str]:
    names = {table.name}
    for start in (rec.get("sys_class_name") or table.name, table.name):
        name: str | None = start
        while name:
            names.add(name)
            schema = SCHEMAS.get(name)
            name = CI_PARENTS.get(name) or (schema.parent if schema is not None else None)
    return names


def _order(value: str) -> int:
    text = (value or "").strip()
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else DEFAULT_ORDER


def _is_changes(piece: str) -> bool:
    """Whether one condition (after an optional OR / NQ) is a VALCHANGES / CHANGESTO / CHANGESFROM."""
    return _CHANGES.match(piece[next((len(p) for p in ("NQOR", "NQ", "OR") if piece.startswith(p)), 0):]) is not None


def _changes_in_other_table(text: str) -> bool:
    """Whether a CHANGES operator sits in an RLQUERY / SUBQUERY body (its RLQUERY head's condition too) or in a
    JOIN's conditions: those are another table's rows, with no previous value to compare (`text`: `^^` escaped)."""
    for m in RELATED_SEGMENT.finditer(text):
        head, _, body = m.group(2).partition("^")
        extra = head.split(",", 2)[2:] if m.group(1) == "RLQUERY" else []
        extra = [e[4:] if e == "m2m" or e.startswith("m2m,") else e for e in extra]
        if any(_is_changes(p.strip()) for p in [*extra, *body.split("^")]):
            return True
    joins = (p.removeprefix("OR") for p in text.split("^"))
    return any(_is_changes(c.strip()) for p in joins if p.startswith("JOIN")
               for c in p.partition("!")[2].split(_ESCAPED))


def _changes(table: Table, rec: dict[str, str], old: dict[str, str] | None, condition: str) -> str | None:
    """The condition with each VALCHANGES / CHANGESTO / CHANGESFROM part replaced by a condition that
    holds or not (module doc); None when one names a field the table does not have, or sits in a related
    clause (RLQUERY, SUBQUERY, JOIN), which the rule cannot evaluate [unc]."""
    pieces = []
    escaped = condition.replace("^^", _ESCAPED)
    if _changes_in_other_table(escaped):
        return None
    for piece in escaped.split("^"):
        prefix = next((p for p in ("NQOR", "NQ", "OR") if piece.startswith(p)), "")
        m = _CHANGES.match(piece[len(prefix):])
        if m is None:
            pieces.append(piece)
            continue
        field, op, value = m.group(1), m.group(2), m.group(3).replace(_ESCAPED, "^")
        if field not in table.pos:
            return None
        new, before = rec.get(field, ""), (old or {}).get(field, "")
        held = new != before and (op == "VALCHANGES" or (new if op == "CHANGESTO" else before) == value)
        pieces.append(prefix + (_TRUE if held else _FALSE))
    return "^".join(pieces).replace(_ESCAPED, "^^")


def _evaluable(store: Store, table: Table, query: Query) -> bool:
    """Whether every part of a parsed condition names a field its table has and an operator it knows."""
    if query.ignored:
        return False
    parts = [(table, c) for b in query.blocks for t in b for c in t if c.op not in ("JOIN", "TEXTQUERY")]
    for other, terms in [(j.other, j.where) for j in query.joins] + [
            (r.other, t) for r in query.related for t in r.where]:
        source = store.source(other)
        if source is None:
            return False
        parts += [(source, c) for t in terms for c in t if c.op != "TEXTQUERY"]
    return all(source.has_field(c.field) for source, c in parts)


def _matches(store: Store, table: Table, rec: dict[str, str], old: dict[str, str] | None, condition: str) -> bool:
    if not condition.strip():
        return True
    text = _changes(table, rec, old, condition)
    if text is None:
        return False
    one = Table(table.schema, [tuple(rec.get(f, "") for f in table.fields)], store)
    try:
        query = parse(text, store.clock.now())
        return _evaluable(store, one, query) and bool(QueryEngine(max_entries=1).run(one, query))
    except HTTPError:  # a malformed JOIN / RLQUERY / SUBQUERY
        return False


def _candidates(store: Store, table: Table, rec: dict[str, str], action: str,
                aborting: bool | None) -> list[dict[str, str]]:
    """The active before rules of the record's table lineage for `action`: the aborting ones, or those that set
    field values (a `template`), or both (`aborting` None), in the order they run (`order`, then name)."""
    rules = store.tables.get(RULES)
    if rules is None or table is rules or not len(rules):
        return []
    lineage = _lineage(table, rec)
    out = []
    for row in rules.alive_rows():
        r = rules.record(row)
        if (r["active"] == "true" and r["when"] == "before" and r[f"action_{action}"] == "true"
                and r["collection"] in lineage and _kind(r) is not None and aborting in (None, _kind(r))):
            out.append(r)
    return sorted(out, key=lambda r: (_order(r["order"]), r["name"]))


def _kind(rule: dict[str, str]) -> bool | None:
    """True for an aborting rule, False for one that sets field values, None for one whose Actions tab does
    neither (its script is not run: module doc)."""
    if rule["abort_action"] == "true":
        return True
    return False if rule.get("template", "").strip() else None


def _template(text: str) -> list[tuple[str, str]]:
    """A template value (`field=value^field=value^EQ`) as (field, value) pairs; `^^` is a literal caret [unc]."""
    pairs = []
    for part in text.replace("^^", _ESCAPED).split("^"):
        field, eq, value = part.partition("=")
        if eq and re.fullmatch(r"[a-z0-9_]+", field.strip()):
            pairs.append((field.strip(), value.replace(_ESCAPED, "^")))
    return pairs


def before(store: Store, table: Table, rec: dict[str, str], action: str, old: dict[str, str] | None
           ) -> HTTPError | None:
    """Run the matching before rules of an insert or update (`action`) one after another by `order` (lower
    first), then name: a "Set field values" rule (`template`) gives `rec` (the record about to be saved) its
    values, fields of the table only, never a system field (sys_id, sys_updated_on, ...); an aborting rule is
    judged on `rec` as the rules before it left it and, when it matches, ends the chain: its refusal (HTTPError
    403) is returned for the caller to raise once it knows the write changes anything. The Table API answers a
    write that goes on with the record as saved; a rule's message (add_message) on a write that goes on is a UI
    message the REST answer does not carry [unc]. A rule setting a changed field back to its previous value (a
    close refused while child tasks are open: `stateCHANGESTO3^RLQUERYtask.parent,>=1^active=true^ENDRLQUERY`
    with template `state=1`) leaves that field as it was."""
    for r in _candidates(store, table, rec, action, aborting=None):
        if not _matches(store, table, rec, old, r["filter_condition"]):
            continue
        if _kind(r):
            return _refusal(table, r)
        for name, value in _template(r["template"]):
            if name in table.pos and name not in SYSTEM_FIELDS:
                rec[name] = value
    return None


def check(store: Store, table: Table, rec: dict[str, str], action: str, old: dict[str, str] | None = None) -> None:
    """Refuse the write (HTTPError 403) when an aborting before rule matches `rec` as it is (a delete: `rec` and
    `old` the record itself; an insert or update runs :func:`before`)."""
    for r in _candidates(store, table, rec, action, aborting=True):
        if _matches(store, table, rec, old, r["filter_condition"]):
            raise _refusal(table, r)


def _refusal(table: Table, r: dict[str, str]) -> HTTPError:
    message = r["message"] if r["add_message"] == "true" and r["message"] else "Operation Failed"
    return HTTPError(403, message, f"Operation against file '{table.name}' was aborted by Business Rule "
                                   f"'{r['name']}^{r['sys_id']}'. Business Rule Stack:{r['name']}")
