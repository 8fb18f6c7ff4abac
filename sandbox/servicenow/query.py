"""ServiceNow encoded queries (`sysparm_query`): parsing and evaluation against a table.

Grammar handled: conditions `<field><op><value>` joined by `^` (AND), `^OR` (OR with the previous
condition), `^NQ` (new OR'ed block), `ORDERBY<f>` / `ORDERBYDESC<f>`, trailing `^EQ`; `^^` escapes a
literal caret. Queries across tables (evaluated by `related`):
- `JOIN<table>.<field>=<other>.<other_field>!<cond>^^<cond>`: an inner join; the conditions after `!`
  (separated by `^^`, `^^OR` for an alternative) are on the joined table, and a single `^` ends them.
  Like the platform, every JOIN applies whatever `^OR`/`^NQ` precedes it (a row needs a match), while its
  conditions take their place in the AND/OR structure (`a^ORJOIN...!c` = has a match, and a or c).
- `RLQUERY<related>.<field>,<op><n>[,m2m][,<cond>][^<cond>...]^ENDRLQUERY`: the number of `related`
  rows whose `field` holds this row's sys_id (and that match the conditions) compared to n.
- `SUBQUERY<field>,<other_field>,<other>^<cond>...^ENDSUBQUERY`: field IN (other_field of the
  matching rows of `other`).
RLQUERY and SUBQUERY always AND with the whole query (`^OR`/`^NQ` before them are ignored, as on the
platform). What the sandbox cannot evaluate faithfully (a JOIN from an already joined table, queries
nested in RLQUERY/SUBQUERY, malformed segments) raises a 400 instead of returning wrong rows.
Operators: = != > >= < <= IN, NOT IN, LIKE, NOTLIKE, STARTSWITH, ENDSWITH, ISEMPTY,
ISNOTEMPTY, ANYTHING, EMPTYSTRING, BETWEEN (a@b), SAMEAS, NSAMEAS, CONTAINS / DOES NOT CONTAIN,
INSTANCEOF, MATCH_RGX / MATCH_PAT (the whole value, case ignored; `regex_match`), field comparisons (GT_FIELD...,
MORETHAN / LESSTHAN; `query_ops`), the search term `123TEXTQUERY321=<words>`
(also as the list search `GOTO123TEXTQUERY321=`; [unc] that the GOTO form searches alike). A list's column
search puts GOTO before a condition (`GOTOnumber>=INC0010020`, `GOTOshort_descriptionLIKEmail`), copied into
integrations with the list URL: it filters as the condition without the prefix [unc: from the UI's breadcrumbs]
(`query_ops`) and the date operators ON / NOTON,
RELATIVE.., DATEPART with the `javascript:gs.*` date helpers (in the caller's time zone, as every API
asks them, `app.caller_query`; `dates`). `field=NULL` / `field!=NULL` (what GlideRecord addQuery(field,
'NULL') sends) mean ISEMPTY / ISNOTEMPTY [obs: scripts and filters in the wild use `parent=NULL`; unc:
only the upper-case spelling is taken]. As on a real instance, conditions on unknown fields and
unknown operators are ignored, not errors (unless the system property
glide.invalid_query.returns_no_rows is true: then such a query matches nothing, `system_tables`).
The business-rule operators VALCHANGES, CHANGESFROM and CHANGESTO are unknown here: a Table API query
has no previous value to compare [unc: ignored like any unknown operator]; a business rule's condition
evaluates them against the record before the write (`business_rules`).
A condition on a journal field (work_notes, comments, comments_and_work_notes) tests the entries' own
text, not the rendered history (`journal_query`).
Integer fields compare numerically, everything else (datetimes too) as strings; LIKE-style
operators ignore case. An empty field is NULL in the instance's database, so, as KB0715430 says, "is
not" (!=), "is not one of" (NOT IN), "is same as" and "is different from" (SAMEAS / NSAMEAS) never
match a row whose compared value is empty (`x!=a` works as `xISNOTEMPTY^x!=a`), and neither do
> >= < <= (an empty closed_at is not "before" anything).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sandbox.core.http import HTTPError
from sandbox.core.numbers import DECIMAL
from sandbox.servicenow import date_compare, dates, query_ops, regex_match

_OPS = ("NOT IN", "NOTLIKE", "NOT LIKE", "NOTON", "DOES NOT CONTAIN", "ISNOTEMPTY", "ISEMPTY", "ANYTHING",
        "EMPTYSTRING", "STARTSWITH", "ENDSWITH", "NSAMEAS", "SAMEAS", "BETWEEN", "CONTAINS", "LIKE", "INSTANCEOF",
        "IN", "ON", "RELATIVEGT", "RELATIVEGE", "RELATIVELT", "RELATIVELE", "RELATIVEEE", "DATEPART",
        "GT_OR_EQUALS_FIELD", "LT_OR_EQUALS_FIELD", "GT_FIELD", "LT_FIELD", "MORETHAN", "LESSTHAN",
        "MATCH_RGX", "MATCH_PAT", "!=", ">=", "<=", "=", ">", "<")
_DATE_OPS = frozenset({"ON", "NOTON", "RELATIVEGT", "RELATIVEGE", "RELATIVELT", "RELATIVELE", "RELATIVEEE",
                       "DATEPART"})
_COND = re.compile(r"([A-Za-z0-9_][a-z0-9_.]*)(" + "|".join(re.escape(o) for o in _OPS) + r")(.*)\Z", re.S)
_CARET = "\x00"
_JOIN = re.compile(r"JOIN([a-z0-9_]+)\.([a-z0-9_.]+)=([a-z0-9_]+)\.([a-z0-9_.]+)!(.*)\Z", re.S)
_SEGMENT = re.compile(r"(?:\^(?:OR|NQ)?|\A)(RLQUERY|SUBQUERY)(.*?)(?:\^END\1|\Z)", re.S)
_COUNT = re.compile(r"(>=|<=|!=|=|>|<)([0-9]{1,18})\Z")  # not \d+: '٣' read as 3, 5,000 digits a 500 [round 27]


@dataclass(frozen=True)
class Condition:
    """One comparison; op "JOIN" stands for "a row of Query.joins[join] matches" (its field is unused)."""

    field: str
    op: str
    value: str
    join: int = -1


Terms = tuple[tuple[Condition, ...], ...]


@dataclass(frozen=True)
class Join:
    """`JOIN<table>.<field>=<other>.<other_field>!<where>`; where: AND'ed terms on `other`; scope: AND'ed
    terms on `other` that bound the rows the join sees at all, its inner-join check too (`related_acl`)."""

    table: str
    field: str
    other: str
    other_field: str
    where: Terms
    scope: Terms = ()


@dataclass(frozen=True)
class Related:
    """An RLQUERY (kind "RL": count of `other` rows whose other_field is this sys_id, op count) or a
    SUBQUERY (kind "SUB": field IN other_field of matching `other` rows); where: OR'ed blocks of terms."""

    kind: str
    field: str
    other: str
    other_field: str
    op: str
    count: int
    where: tuple[Terms, ...]


@dataclass(frozen=True)
class Query:
    """blocks (OR'ed, from ^NQ) of terms (AND'ed) of alternatives (OR'ed, from ^OR); then ordering;
    joins referenced by JOIN conditions; related-list and sub-queries AND'ed with everything."""

    blocks: tuple[Terms, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)
    joins: tuple[Join, ...] = ()
    related: tuple[Related, ...] = ()
    ignored: tuple[str, ...] = ()  # conditions dropped as unparseable (unknown operators)
    # a caller without admin (`acl.viewer`): JOIN / RLQUERY / SUBQUERY see only the other table's rows its
    # ACLs let it read, nothing of an admin-only table (`related`); "" sees every row
    viewer: str = ""


def invalid(detail: str) -> HTTPError:
    return HTTPError(400, "Invalid encoded query", detail)


def resolve_value(value: str, now: datetime) -> str:
    """Evaluate the javascript: date helpers connectors use (`dates.resolve`); other values pass through."""
    return dates.resolve(value, now)


def parse(text: str, now: datetime) -> Query:
    """Parse an encoded query; unparseable conditions are dropped like ServiceNow does."""
    text = (text or "").replace("^^", _CARET)
    related: list[Related] = []
    text = _SEGMENT.sub(lambda m: related.append(_related(m.group(1), m.group(2), now)) or "", text)
    blocks: list[Terms] = []
    order: list[tuple[str, bool]] = []
    joins: list[Join] = []
    ignored: list[str] = []
    for block_text in text.split("^NQ"):
        terms: list[list[Condition]] = []
        for raw in block_text.split("^"):
            part = raw.strip()
            if not part or part == "EQ" or part.startswith(("GROUPBY", "ENDRLQUERY", "ENDSUBQUERY")):
                continue
            if part.startswith("ORDERBYDESC"):
                order.append((part[11:], True))
                continue
            if part.startswith("ORDERBY"):
                order.append((part[7:], False))
                continue
            is_or = part.startswith("OR") and bool(terms)
            body = part[2:] if part.startswith("OR") else part
            if body.startswith("JOIN"):
                joins.append(_join(body, now))
                cond: Condition | None = Condition(joins[-1].field, "JOIN", "", len(joins) - 1)
            else:
                cond = _condition(body, now)  # a leading ^OR (nothing before it) is a plain condition
            if cond is None:
                ignored.append(body)
                continue
            if is_or:
                terms[-1].append(cond)
            else:
                terms.append([cond])
        blocks.append(tuple(tuple(t) for t in terms))
    return Query(tuple(b for b in blocks if b) or ((),), tuple(order), tuple(joins), tuple(related), tuple(ignored))


def _condition(part: str, now: datetime) -> Condition | None:
    if part.startswith(("GOTO" + query_ops.TEXT_QUERY + "=", query_ops.TEXT_QUERY + "=")):  # GOTO: the list search
        return Condition(query_ops.TEXT_QUERY, "TEXTQUERY", part.partition("=")[2])
    if part.startswith("GOTO") and _COND.match(part[4:]):  # a list's column search: the condition itself
        part = part[4:]
    m = _COND.match(part.replace(_CARET, "^"))
    if m is None:
        return None
    field, op, value = m.group(1).lower(), m.group(2), m.group(3)  # `Assigned_to.roles` (as documented)
    if op in _DATE_OPS:
        try:
            rewritten = dates.rewrite(op, value, now)
        except (OverflowError, ValueError):  # RELATIVEGT@day@ago@<20 digits>: past datetime's years, ignored
            rewritten = None
        return None if rewritten is None else Condition(field, *rewritten)
    if op == "BETWEEN":
        lo, _, hi = value.partition("@")
        return Condition(field, op, f"{resolve_value(lo, now)}@{resolve_value(hi, now)}")
    if op in ("=", "!=") and value == "NULL":  # `parent=NULL` / addQuery('parent', 'NULL'): is (not) empty [obs]
        return Condition(field, "ISEMPTY" if op == "=" else "ISNOTEMPTY", "")
    if op in regex_match.OPS:  # the value is a pattern, never a javascript: helper; a bad one refused now
        regex_match.check(op, value)
        return Condition(field, op, value)
    if op in ("SAMEAS", "NSAMEAS") and "@" in value:  # a date comparison by unit (`date_compare`)
        return Condition(field, op, date_compare.with_zone(op, value, getattr(now.tzinfo, "key", "")))
    return Condition(field, op, resolve_value(value, now))


def _terms(pieces: list[str], now: datetime) -> Terms:
    """AND'ed terms from condition strings, a leading "OR" adding an alternative to the previous term."""
    terms: list[list[Condition]] = []
    for piece in (p.strip() for p in pieces):
        if piece.startswith(("JOIN", "ORJOIN", "RLQUERY", "SUBQUERY", "ORDERBY")):
            raise invalid(f"{piece[:40]!r} cannot be nested here; the sandbox evaluates only plain "
                          "conditions inside JOIN, RLQUERY and SUBQUERY")
        is_or = piece.startswith("OR") and bool(terms)
        cond = _condition(piece[2:] if is_or else piece, now)
        if cond is not None:
            (terms[-1].append(cond) if is_or else terms.append([cond]))
    return tuple(tuple(t) for t in terms)


def _join(part: str, now: datetime) -> Join:
    m = _JOIN.match(part)
    if m is None:
        raise invalid(f"{part[:60]!r}: expected JOIN<table>.<field>=<table>.<field>!<condition> "
                      "(the ! is required even without a condition)")
    where = _terms(m.group(5).split(_CARET), now) if m.group(5) else ()
    return Join(m.group(1), m.group(2), m.group(3), m.group(4), where)


def _related(kind: str, body: str, now: datetime) -> Related:
    head, _, rest = body.partition("^")
    pieces = rest.split("^") if rest else []
    if kind == "SUBQUERY":
        spec = head.split(",")
        if len(spec) != 3 or not all(spec):
            raise invalid(f"SUBQUERY{head!r}: expected SUBQUERY<field>,<other_field>,<table>^<condition>")
        where = tuple(_terms(b.split("^"), now) for b in "^".join(pieces).split("^NQ"))
        return Related("SUB", spec[0], spec[2], spec[1], "", 0, where)
    ident, _, tail = head.partition(",")
    other, _, other_field = ident.partition(".")
    comparison, _, extra = tail.partition(",")
    count = _COUNT.match(comparison)
    if not other or not other_field or count is None:
        raise invalid(f"RLQUERY{head!r}: expected RLQUERY<table>.<field>,<op><count>[,m2m]^<condition>^ENDRLQUERY")
    if extra == "m2m" or extra.startswith("m2m,"):
        extra = extra[4:]
    if extra:
        pieces.insert(0, extra)
    where = tuple(_terms(b.split("^"), now) for b in "^".join(pieces).split("^NQ"))
    return Related("RL", "sys_id", other, other_field, count.group(1), int(count.group(2)), where)


def _number(value: str) -> float | None:
    # ASCII decimal text only, not float(): it read '٣' as 3 and took ' 3', '1_0', 'nan' and 'inf' [round 27]
    if not DECIMAL.fullmatch(value):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def predicate(cond: Condition, get: Callable[[int], str], numeric: bool,
              other: Callable[[int], str] | None = None) -> Callable[[int], bool]:
    """Compile one condition into row -> bool."""
    op, v = cond.op, cond.value
    low = v.lower()
    if op in ("IN", "NOT IN", "=", "!=") and not (numeric and op in ("=", "!=") and _number(v) is not None):
        # string equality ignores case, as the instance's database collation does [obs]
        members = frozenset(x.strip() for x in v.split(",")) if op in ("IN", "NOT IN") else frozenset((v,))
        want = op in ("IN", "=")
        if not want:  # "is not" / "is not one of" never match an empty (NULL) field (KB0715430)
            positive = predicate(replace(cond, op="IN" if op == "NOT IN" else "="), get, numeric)
            return lambda r: get(r) != "" and not positive(r)
        if all(m == m.lower() == m.upper() for m in members):  # nothing case-sensitive to fold
            return lambda r: get(r) in members
        folded = frozenset(m.lower() for m in members)
        return lambda r: get(r).lower() in folded
    if op in (">", ">=", "<", "<=", "=", "!=") and numeric and _number(v) is not None:
        n = _number(v)
        cmp = {">": float.__gt__, ">=": float.__ge__, "<": float.__lt__, "<=": float.__le__,
               "=": float.__eq__, "!=": float.__ne__}[op]

        def num(r: int) -> bool:
            raw = get(r)
            x = _number(raw) if raw != "" else None
            return x is not None and cmp(x, n)  # type: ignore[arg-type]  # NULL matches no comparison

        return num
    simple: dict[str, Callable[[int], bool]] = {
        "=": lambda r: get(r) == v,
        "!=": lambda r: get(r) != v and get(r) != "",
        ">": lambda r: get(r) > v and get(r) != "",  # NULL is neither before nor after anything
        ">=": lambda r: get(r) >= v and get(r) != "",
        "<": lambda r: get(r) < v and get(r) != "",
        "<=": lambda r: get(r) <= v and get(r) != "",
        "LIKE": lambda r: low in get(r).lower(),
        "CONTAINS": lambda r: low in get(r).lower(),
        "NOTLIKE": lambda r: low not in get(r).lower(),
        "NOT LIKE": lambda r: low not in get(r).lower(),
        "DOES NOT CONTAIN": lambda r: low not in get(r).lower(),
        "STARTSWITH": lambda r: get(r).lower().startswith(low),
        "ENDSWITH": lambda r: get(r).lower().endswith(low),
        "ISEMPTY": lambda r: get(r) == "",
        "EMPTYSTRING": lambda r: get(r) == "",
        "ISNOTEMPTY": lambda r: get(r) != "",
        "ANYTHING": lambda r: True,
    }
    if op in ("BETWEEN", "NOTBETWEEN"):
        return query_ops.between(v, get, op == "BETWEEN", numeric)
    if op == "DATEPART":
        return query_ops.datepart(v, get)
    if op in query_ops.FIELD_OPS and other is not None:
        return query_ops.field_compare(op, get, other)
    if op in regex_match.OPS:
        return regex_match.matcher(op, v, get)
    return simple.get(op, lambda r: True)
