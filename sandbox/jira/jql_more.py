"""JQL clauses beyond the field table of `jql_fields`: `resolution = Unresolved`, `watcher`/`voter`, issue
functions (`issue in linkedIssues(K[, linkType])`, `watchedIssues()`, `votedIssues()`, `issueHistory()`: the
caller's GET /issue?updateHistory=true views, as `lastViewed` reads them), `updatedBy(user[, from[, to]])`
(issues the user created, changed or commented on, per Atlassian's JQL functions page), the numbers `watchers`, `votes`,
`workratio` (a percentage), `timespent` and the estimates (a duration: "90m", "1h 30m"; a bare number is
minutes) and `IS [NOT] EMPTY` on text fields, `lastViewed` and `attachments`. `special(c, field, ctx)`
answers a predicate, or None when the clause is not one of these; `NUMERIC_SORTS` are those numbers as
ORDER BY keys (votes, watchers, workratio, timespent, the estimates).

Watchers follow `routes_work` (an issue nobody changed the watchers of is watched by its reporter); votes
follow `routes_social`. Links are read from the issue's side, by the link type's inward/outward description:
`linkedIssues(K, "blocks")` are the issues K blocks (as K's `issuelinks` show them), `"is blocked by"` the
ones blocking it.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from sandbox.jira.adf import plain
from sandbox.jira.ids import is_id
from sandbox.jira.jql import Clause, Func, JQLError, Value
from sandbox.jira.jql_fields import CMP, match, missing, scalar_field, unsupported, values_of
from sandbox.jira.model import Issue
from sandbox.jira.timefmt import jql_time, parse_duration

if TYPE_CHECKING:
    from sandbox.jira.jql_fields import Context

USER_LISTS = ("watcher", "voter")
ESTIMATES = {"originalestimate": "original_estimate", "timeoriginalestimate": "original_estimate",
             "remainingestimate": "remaining_estimate", "timeestimate": "remaining_estimate"}
DURATIONS = ("timespent", *ESTIMATES)  # seconds logged or estimated: a duration operand
COUNTS = ("watchers", "votes", "workratio", *DURATIONS)
ISSUE_FUNCTIONS = ("linkedissues", "watchedissues", "votedissues", "issuehistory", "updatedby",
                   "issueswithremotelinksbyglobalid")


def special(c: Clause, field: str, ctx: Context) -> Callable[[Issue], bool] | None:
    values = values_of(c)
    if field in (*USER_LISTS, "watchers", "votes") or (field == "key" and any(isinstance(v, Func) for v in values)):
        ctx.volatile = True  # reads watchers, votes or links: not in the index's version
    if field == "resolution" and any(isinstance(v, Value) and v.text.lower() == "unresolved" for v in values):
        return _unresolved(c, ctx)
    if field in USER_LISTS:
        _, resolve_user, _ = scalar_field(c, "assignee", ctx)
        return match(c, _watchers(ctx) if field.startswith("watcher") else _voters(ctx), resolve_user, True)
    if field == "key" and any(isinstance(v, Func) for v in values):
        return _issue_function(c, ctx)
    if field in COUNTS:
        return _count(c, field, ctx)
    if field == "lastviewed" and c.op in ("is", "is not"):  # views: GET /issue?updateHistory=true
        ctx.volatile = True
        return lambda i: (ctx.me not in ctx.work.get("views", {}).get(i.id, ())) == (c.op == "is")
    if field == "issuelinktype":
        return _link_type(c, ctx)
    if field in ("attachments", "attachment"):  # Jira: only IS [NOT] EMPTY
        if c.op not in ("is", "is not"):
            raise unsupported(c)
        ctx.volatile = True  # attachments are not issue attributes the index versions
        return lambda i: (not ctx.attachments_of(i)) == (c.op == "is")
    if field in ("description", "summary", "environment") and c.op in ("is", "is not"):
        def text(i: Issue) -> str:
            return i.summary if field == "summary" else plain(getattr(i, field))

        want_empty = c.op == "is"
        return lambda i: (not text(i).strip()) == want_empty
    return None


def _number(field: str, ctx: Context) -> Callable[[Issue], int | None]:
    """The number a `COUNTS` field holds for an issue (None when empty): also its ORDER BY key."""
    if field == "timespent":
        logs = ctx.work.setdefault("worklogs", {})
        return lambda i: sum(w["seconds"] for w in logs.get(i.id, ())) or None
    if field in ESTIMATES:
        return lambda i: getattr(i, ESTIMATES[field])
    if field == "workratio":  # spent as a percentage of the original estimate; none without an estimate
        logs = ctx.work.setdefault("worklogs", {})

        def ratio(i: Issue) -> int | None:
            original = i.original_estimate
            return sum(w["seconds"] for w in logs.get(i.id, ())) * 100 // original if original else None

        return ratio
    people = _watchers(ctx) if field == "watchers" else _voters(ctx)
    return lambda i: len(people(i))


NUMERIC_SORTS = {f: (lambda ctx, f=f: _number(f, ctx)) for f in COUNTS}  # ORDER BY votes, workratio, timespent..


def _count(c: Clause, field: str, ctx: Context) -> Callable[[Issue], bool]:
    get = _number(field, ctx)
    if c.op in ("is", "is not"):
        return lambda i: (get(i) is None) == (c.op == "is")
    if c.op not in CMP or not isinstance(c.operand, Value):
        raise unsupported(c)
    text = c.operand.text
    target = parse_duration(text) if field in DURATIONS else int(text) if is_id(text.strip()) else None
    if target is None:  # Jira's wordings (its JQL literal tests); watchers' is [unc]
        if field == "votes":
            raise JQLError(f"Value '{text}' is invalid for the '{c.field}' field. Votes must be a positive whole "
                           "number.")
        if field in DURATIONS:
            raise JQLError(f"The value '{text}' for field '{c.field}' is invalid. Please specify a positive duration "
                           "format; for example: '1h 30m', '2d'.")
        if field == "workratio":
            raise JQLError(f"The value '{text}' for field '{c.field}' is invalid - please specify an integer.")
        raise JQLError(f"The value '{text}' is not valid for the field '{c.field}'.")
    cmp = CMP[c.op]
    return lambda i: (value := get(i)) is not None and cmp(value, target)


def _unresolved(c: Clause, ctx: Context) -> Callable[[Issue], bool]:
    """"Unresolved" is the empty resolution (Jira's own value for it, usable with = != IN NOT IN)."""
    if c.op not in ("=", "!=", "in", "not in"):
        raise unsupported(c)
    _, resolve, _ = scalar_field(c, "resolution", ctx)
    wanted: set[str | None] = {None}
    for v in values_of(c):
        if not (isinstance(v, Value) and v.text.lower() == "unresolved"):
            wanted.add(resolve(v))
    if c.op in ("!=", "not in"):
        return lambda i: i.resolution_id is not None and i.resolution_id not in wanted
    return lambda i: i.resolution_id in wanted


def _watchers(ctx: Context) -> Callable[[Issue], list[str]]:
    table = ctx.work.setdefault("watchers", {})
    return lambda i: list(table.get(i.id, [i.reporter] if i.reporter else []))


def _voters(ctx: Context) -> Callable[[Issue], list[str]]:
    table = ctx.work.setdefault("votes", {})
    return lambda i: list(table.get(i.id, []))


def _issue_function(c: Clause, ctx: Context) -> Callable[[Issue], bool]:
    if c.op not in ("in", "not in"):
        raise JQLError(f"The operator '{c.op.upper()}' is not supported by the '{c.field}' field when used with "
                       "a function.")  # [unc] wording
    ids: set[int] = set()
    for v in values_of(c):
        if isinstance(v, Value):
            issue = ctx.resolve_issue(v.text)
            if issue is None:
                raise JQLError(f"An issue with key '{v.text}' does not exist for field '{c.field}'.")
            ids.add(issue.id)
        else:
            ids |= _function_ids(c, v, ctx)
    negate = c.op == "not in"
    return lambda i: (i.id in ids) != negate


def _function_ids(c: Clause, f: Func, ctx: Context) -> set[int]:
    if f.name not in ISSUE_FUNCTIONS:
        raise JQLError(f"Unable to find JQL function '{f.shown}()'.")  # as typed, as Jira writes it
    if f.name == "linkedissues":
        if not 1 <= len(f.args) <= 2:
            raise JQLError("Function 'linkedIssues' expects between '1' and '2' arguments, but got "
                           f"'{len(f.args)}'.")
        issue = ctx.resolve_issue(f.args[0])
        if issue is None:
            raise JQLError(f"Issue '{f.args[0]}' could not be found in function 'linkedIssues'.")
        return _linked(issue, f.args[1].lower() if len(f.args) > 1 else None, ctx)
    if f.name == "updatedby":
        return _updated_by(c, f, ctx)
    if f.name == "issueswithremotelinksbyglobalid":
        return _remote_linked(f, ctx)
    if f.args:
        raise JQLError(f"Function '{f.name}' expects '0' arguments, but got '{len(f.args)}'.")
    if f.name == "issuehistory":  # the caller's views (GET /issue?updateHistory=true) [unc: Jira keeps 50]
        return {iid for iid, people in list(ctx.work.get("views", {}).items()) if ctx.me in people}
    table = ctx.work.get("votes", {}) if f.name == "votedissues" else ctx.work.get("watchers", {})
    got = {iid for iid, people in list(table.items()) if ctx.me in people}
    if f.name == "watchedissues":  # issues whose watchers nobody changed are watched by their reporter
        got |= {i.id for i in ctx.reported_by(ctx.me) if i.id not in table}
    return got


def _remote_linked(f: Func, ctx: Context) -> set[int]:
    """`issuesWithRemoteLinksByGlobalId(g1, ...)`: issues holding a remote link with one of these `globalId`s
    (Atlassian's JQL functions page: 1 to 100 ids, IN and NOT IN) [unc: the wording of the count errors]."""
    if not 1 <= len(f.args) <= 100:
        raise JQLError(f"Function '{f.shown}' expects between '1' and '100' arguments, but got '{len(f.args)}'.")
    ctx.volatile = True  # remote links are not issue attributes the index versions
    wanted = set(f.args)
    remote = ctx.work.get("remote", {})
    return {iid for iid, links in list(remote.items())
            if any(isinstance(g := x.get("globalId"), str) and g in wanted for x in list(links))}


def _link_type(c: Clause, ctx: Context) -> Callable[[Issue], bool]:
    """`issueLinkType = "blocks"` (=, !=, IN, NOT IN): issues with a link read that way from their side (the
    description their own `issuelinks` show: a type's outward or inward text, as Jira's docs give the values).
    `!=`/`NOT IN`: issues with links, none of them of those types [unc]."""
    if c.op not in ("=", "!=", "in", "not in"):
        raise unsupported(c)
    ctx.volatile = True  # links are not issue attributes the index versions
    names = {d.lower() for _n, i, o in ctx.link_types.values() for d in (i, o)}
    wanted = set()
    for v in values_of(c):
        if isinstance(v, Func) or v.text.lower() not in names:
            raise missing(c, v.text if isinstance(v, Value) else f"{v.shown}()")
        wanted.add(v.text.lower())

    def kinds(i: Issue) -> set[str]:
        out = set()
        for lk in ctx.links_of(i.id):
            _name, inward, outward = ctx.link_types.get(lk.type_id, ("", "", ""))
            out.add((outward if lk.inward_id == i.id else inward).lower())
        return out

    if c.op in ("=", "in"):
        return lambda i: bool(kinds(i) & wanted)
    return lambda i: bool(k := kinds(i)) and not k & wanted


def _linked(issue: Issue, kind: str | None, ctx: Context) -> set[int]:
    out = set()
    for lk in ctx.links_of(issue.id):
        _name, inward, outward = ctx.link_types.get(lk.type_id, ("", "", ""))
        mine = outward if lk.inward_id == issue.id else inward  # as the issue's own `issuelinks` read
        if kind is None or kind == mine.lower():
            out.add(lk.outward_id if lk.inward_id == issue.id else lk.inward_id)
    if kind is not None and not any(kind in (i.lower(), o.lower()) for _n, i, o in ctx.link_types.values()):
        raise JQLError(f"Issue link type '{kind}' could not be found in function 'linkedIssues'.")
    return out


def _updated_by(c: Clause, f: Func, ctx: Context) -> set[int]:
    """`updatedBy(user[, dateFrom[, dateTo]])`: issues the user created, changed a field of (a changelog entry),
    commented on or last edited a comment of, within the dates when given (a date without a time takes in its
    whole day [unc]). Dates read as JQL date operands ("2026/06/01", "-8d")."""
    if not 1 <= len(f.args) <= 3:
        raise JQLError(f"Function 'updatedBy' expects between '1' and '3' arguments, but got '{len(f.args)}'.")
    _, resolve_user, _ = scalar_field(c, "assignee", ctx)
    try:
        who = resolve_user(Value(f.args[0]))
    except JQLError:
        raise JQLError(f"User '{f.args[0]}' could not be found in function 'updatedBy'.") from None  # [unc] wording
    bounds: list[int] = []
    for n, arg in enumerate(f.args[1:]):
        ms = jql_time(arg, ctx.tz, ctx.now_ms)
        if ms is None:
            raise JQLError(f"Date value '{arg}' in function 'updatedBy' is invalid.")  # [unc] wording
        whole_day = n == 1 and re.fullmatch(r"\s*\d{4}[/-]\d{1,2}[/-]\d{1,2}\s*", arg) is not None
        bounds.append(ms + 86_400_000 - 1 if whole_day else ms)
    lo, hi = [*bounds, None, None][:2]

    def within(t: int | None) -> bool:
        return t is not None and (lo is None or t >= lo) and (hi is None or t <= hi)

    ctx.volatile = True  # comments and changelogs are read live
    store = getattr(ctx, "store", None)
    out = set()
    for issue in list(store.issues.values()) if store is not None else []:
        if (issue.creator == who and within(issue.created)) \
                or any(h.author == who and within(h.created) for h in store.history_of(issue)) \
                or any((x.author == who and within(x.created)) or (x.update_author == who and within(x.updated))
                       for x in store.comments_of(issue)):
            out.add(issue.id)
    return out
