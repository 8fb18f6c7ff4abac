"""Per-field JQL semantics: value resolution (names/ids/keys/users/sprints) and operator matching.

Used by `jql_eval`. `!=`/`NOT IN` never match an empty field; multi-valued fields (labels, sprint)
match when any value matches; unknown values raise `JQLError` with Jira's wording.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Protocol

from sandbox.jira import catalog as C
from sandbox.jira.ids import decimal_number
from sandbox.jira.jql import Clause, Empty, Func, JQLError, Value
from sandbox.jira.model import Issue, Link, Project, Sprint, User


class Context(Protocol):
    tz: str
    now_ms: int
    me: str
    projects: dict[str, Project]
    sprints: dict[int, Sprint]
    users: dict[str, User]
    work: dict[str, dict[int, Any]]  # components / versions by id (see `JiraStore.work`)
    link_types: dict[str, tuple[str, str, str]]
    issue_types: dict[str, tuple[str, int, bool, str]]  # id -> (name, hierarchyLevel, subtask, description)
    relations_version: int  # watchers/votes/links version; `volatile` is set when the query reads them
    volatile: bool

    def resolve_issue(self, ref: str) -> Issue | None: ...

    def links_of(self, issue_id: int) -> list[Link]: ...

    def reported_by(self, account_id: str) -> list[Issue]: ...

    def group_members(self, name: str) -> list[str] | None: ...

    def sees_filter(self, f: dict[str, Any]) -> bool: ...

    def history_of(self, issue: Issue) -> list[Any]: ...

    def attachments_of(self, issue: Issue) -> list[Any]: ...


CMP = {"=": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge, "<": operator.lt,
       "<=": operator.le}
PRIORITY_RANK = {pid: int(pid) for pid in C.PRIORITIES}


def values_of(c: Clause) -> list[Value | Func]:
    """The operand's values and functions; EMPTY (alone or in a list) is `wants_empty`'s."""
    if isinstance(c.operand, tuple):
        return [v for v in c.operand if not isinstance(v, Empty)]
    return [c.operand] if not isinstance(c.operand, Empty) else []


def wants_empty(c: Clause) -> bool:
    """Whether the operand is EMPTY or a list holding it (`= EMPTY` is `IS EMPTY`)."""
    return isinstance(c.operand, Empty) or (isinstance(c.operand, tuple)
                                            and any(isinstance(v, Empty) for v in c.operand))


def unsupported(c: Clause) -> JQLError:
    return JQLError(f"The operator '{c.op.upper()}' is not supported by the '{c.field}' field.")


# fields whose unquoted number is read as an id first: one that matches nothing is Jira's "A value with ID"
# error (its JQL literal tests; users, sprints and saved filters keep the name message [unc])
ID_FIELDS = {"project", "priority", "status", "resolution", "issuetype", "type", "component", "fixversion",
             "affectedversion", "level", "category"}


def missing(c: Clause, value: str) -> JQLError:
    bare = any(isinstance(v, Value) and v.text == value and not v.quoted for v in values_of(c))
    if bare and c.field.lower() in ID_FIELDS and value.isascii() and value.isdigit():
        return JQLError(f"A value with ID '{value}' does not exist for the field '{c.field}'.")
    return JQLError(f"The value '{value}' does not exist for the field '{c.field}'.")


def ordered(c: Clause, field: str, ctx: Context) -> Callable[[Issue], bool]:
    if field == "story point estimate":
        getter: Callable[[Issue], Any] = lambda i: i.points  # noqa: E731

        def resolve(v: Value | Func) -> Any:
            number = decimal_number(getattr(v, "text", None))  # not float(): 'nan', '٣' [round 27]
            if number is None:
                raise JQLError(f"The value '{getattr(v, 'text', v)}' is not a valid number for field "
                               f"'{c.field}'.")
            return number
    elif field == "due":
        getter = lambda i: i.duedate  # noqa: E731
        resolve = lambda v: str(getattr(v, "text", "")).replace("/", "-")  # noqa: E731
    elif field == "priority":
        getter = lambda i: PRIORITY_RANK.get(i.priority_id or "")  # noqa: E731

        def resolve(v: Value | Func) -> Any:
            text = str(getattr(v, "text", "")).lower()
            pid = C.PRIORITY_BY_NAME.get(text, text if text in C.PRIORITIES else None)
            if pid is None:
                raise missing(c, str(getattr(v, "text", v)))
            return PRIORITY_RANK[pid]
    else:
        getter = lambda i: (i.project, i.num)  # noqa: E731

        def resolve(v: Value | Func) -> Any:
            ref = str(getattr(v, "text", ""))
            issue = ctx.resolve_issue(ref)
            if issue is None:
                raise JQLError(f"An issue with key '{ref}' does not exist for field '{c.field}'.")
            return (issue.project, issue.num)
    if c.op in ("<", "<=", ">", ">="):
        target, cmp = resolve(c.operand), CMP[c.op]
        return lambda i: getter(i) is not None and cmp(getter(i), target)
    return match(c, getter, resolve, False)


def scalar_field(c: Clause, field: str, ctx: Context) -> tuple[Callable[[Issue], Any], Callable, bool]:
    def lookup(table: dict[str, str], v: Value | Func) -> str:
        if isinstance(v, Func):
            raise JQLError(f"Function '{v.name}' is not supported for field '{c.field}'.")
        text = str(getattr(v, "text", "")).lower()
        if text in table.values():
            return text
        if text not in table:
            raise missing(c, str(getattr(v, "text", v)))
        return table[text]

    def resolve_user(v: Value | Func) -> Any:
        if isinstance(v, Func):
            if v.name == "currentuser":
                return ctx.me
            if v.name == "membersof" and len(v.args) == 1:
                members = ctx.group_members(v.args[0])
                if members is None:
                    raise JQLError(f"Function 'membersOf' can not generate a list of usernames for group "
                                   f"'{v.args[0]}'; the group does not exist.")
                ctx.volatile = True  # group membership is not in the index's version
                return set(members)
            raise JQLError(f"Function '{v.name}' is not supported for field '{c.field}'.")
        for u in ctx.users.values():
            if v.text in (u.account_id, u.email) or v.text.lower() == u.display_name.lower():
                return u.account_id
        raise missing(c, v.text)

    if field == "project":
        names = {}
        for p in ctx.projects.values():
            names.update({p.key.lower(): p.key, p.id: p.key, p.name.lower(): p.key})

        def resolve_project(v: Value | Func) -> Any:
            if isinstance(v, Func) and v.name == "projectswhereuserhasrole":
                return _projects_with_role(v, ctx)
            if isinstance(v, Func) and v.name in ("projectswhereuserhaspermission", "projectsleadbyuser"):
                lead = resolve_user(Value(v.args[0])) if v.name == "projectsleadbyuser" and v.args else ctx.me
                # the sandbox's users hold every permission in every project [unc]
                return {p.key for p in ctx.projects.values() if v.name.endswith("permission") or p.lead == lead}
            return lookup(names, v)

        return (lambda i: i.project), resolve_project, False
    if field == "status":
        table = {**C.STATUS_BY_NAME, **{k: k for k in C.STATUSES}}
        return (lambda i: i.status_id), (lambda v: lookup(table, v)), False
    if field == "statuscategory":
        table = {}
        for key, (cid, _k, name, _c) in C.CATEGORIES.items():
            table.update({key: key, str(cid): key, name.lower(): key})
        return (lambda i: C.STATUSES[i.status_id][1]), (lambda v: lookup(table, v)), False
    if field == "issuetype":
        table = {"sub-task": C.SUBTASK, **{t[0].lower(): k for k, t in ctx.issue_types.items()},
                 **{k: k for k in ctx.issue_types}}

        def resolve_type(v: Value | Func) -> Any:
            if isinstance(v, Func):
                subtask = v.name == "subtaskissuetypes"
                return {k for k, t in ctx.issue_types.items() if t[2] == subtask}
            return lookup(table, v)

        return (lambda i: i.type_id), resolve_type, False
    if field == "resolution":
        table = {v[0].lower(): k for k, v in C.RESOLUTIONS.items()}
        return (lambda i: i.resolution_id), (lambda v: lookup(table, v)), False
    if field == "labels":
        return (lambda i: i.labels), (lambda v: str(getattr(v, "text", ""))), True
    if field == "parent":
        def resolve_parent(v: Value | Func) -> Any:
            issue = ctx.resolve_issue(str(getattr(v, "text", "")))
            if issue is None:
                raise missing(c, str(getattr(v, "text", v)))
            return issue.id

        return (lambda i: i.parent_id), resolve_parent, False
    if field == "sprint":
        def resolve_sprint(v: Value | Func) -> Any:
            if isinstance(v, Func):
                state = {"opensprints": "active", "closedsprints": "closed", "futuresprints": "future"}.get(v.name)
                if state is None:
                    raise JQLError(f"Function '{v.name}' is not supported for field 'sprint'.")
                ctx.volatile = True  # a sprint's state is not an issue attribute the index versions
                return {s.id for s in ctx.sprints.values() if s.state == state}
            for s in ctx.sprints.values():
                if v.text == str(s.id) or v.text.lower() == s.name.lower():
                    return s.id
            raise missing(c, v.text)

        return (lambda i: i.sprints), resolve_sprint, True
    if field in ("component", "fixversion", "affectedversion"):
        kind = "components" if field == "component" else "versions"
        attr = {"component": "components", "fixversion": "fix_versions", "affectedversion": "versions"}[field]

        def resolve_thing(v: Value | Func) -> Any:
            things = list(ctx.work[kind].values())
            if isinstance(v, Func):
                ctx.volatile = True  # released, archived or lead: not issue attributes the index versions
                if kind == "versions" and v.name in ("releasedversions", "unreleasedversions"):
                    keys = {p.key for p in ctx.projects.values() for a in v.args
                            if a.upper() == p.key or a == p.id or a.lower() == p.name.lower()}
                    released = v.name == "releasedversions"
                    return {x["id"] for x in things if bool(x.get("released")) == released
                            and not x.get("archived") and (not v.args or x["project"] in keys)}
                if kind == "versions" and v.name in ("latestreleasedversion", "earliestunreleasedversion"):
                    return _edge_version(v, things, ctx)
                if kind == "components" and v.name == "componentsleadbyuser":  # [user]: else the searcher
                    if len(v.args) > 1:
                        raise JQLError(f"Function '{v.shown}' expected between '0' and '1' arguments but received "
                                       f"'{len(v.args)}'.")  # [unc] wording
                    who = resolve_user(Value(v.args[0])) if v.args else ctx.me
                    ctx.volatile = True  # a component's lead is not an issue attribute the index versions
                    return {x["id"] for x in things if x.get("lead") == who}
                raise JQLError(f"Function '{v.name}' is not supported for field '{c.field}'.")
            hits = {x["id"] for x in things if v.text == str(x["id"]) or v.text.lower() == x["name"].lower()}
            if not hits:
                raise missing(c, v.text)
            return hits

        return (lambda i, a=attr: getattr(i, a)), resolve_thing, True
    if field in ("assignee", "reporter", "creator"):
        return (lambda i, f=field: getattr(i, f)), resolve_user, False
    if field == "level":  # the issue security level: a name or id of a scheme's level; the sandbox's issues hold none
        from sandbox.jira.routes_project_admin import SECURITY

        levels = {name.lower(): str(ident) for ident, name, _d in SECURITY["levels"]}
        return (lambda i: None), (lambda v: lookup(levels, v)), False
    raise JQLError(f"Field '{c.field}' does not exist or you do not have permission to view it.")


def _edge_version(f: Func, things: list[dict[str, Any]], ctx: Context) -> set[Any]:
    """`latestReleasedVersion(project)`: the project's last released version in its version order;
    `earliestUnreleasedVersion(project)`: its first unreleased one (archived ones never); none: nothing matches."""
    if len(f.args) != 1:
        raise JQLError(f"Function '{f.shown}' expected '1' arguments but received '{len(f.args)}'.")  # [unc]
    arg = f.args[0]
    project = next((p.key for p in ctx.projects.values() if arg.upper() == p.key or arg == p.id
                    or arg.lower() == p.name.lower()), None)
    if project is None:
        raise JQLError(f"Could not resolve the project '{arg}' provided to function '{f.shown}'.")  # [unc]
    latest = f.name == "latestreleasedversion"
    mine = [x for x in things if x["project"] == project and not x.get("archived")
            and bool(x.get("released")) == latest]
    pick = mine[-1] if latest and mine else mine[0] if mine else None
    return {pick["id"]} if pick else set()


def match(c: Clause, getter: Callable[[Issue], Any], resolve: Callable, multi: bool) -> Callable[[Issue], bool]:
    if c.op in ("is", "is not"):
        want_empty = c.op == "is"
        return lambda i: (not getter(i)) == want_empty if multi else (getter(i) is None) == want_empty
    if c.op not in ("=", "!=", "in", "not in"):
        raise unsupported(c)
    wanted: set[Any] = set()
    for v in values_of(c):
        r = resolve(v)
        wanted.update(r) if isinstance(r, set) else wanted.add(r)
    negate = c.op in ("!=", "not in")
    empty_too = wants_empty(c) and not negate  # `in (x, EMPTY)` also takes the empty ones; `not in` never does
    if multi:
        return lambda i: (bool(getter(i)) and (not wanted.isdisjoint(getter(i))) != negate) or (
            empty_too and not getter(i))
    return lambda i: (getter(i) is not None and (getter(i) in wanted) != negate) or (empty_too and getter(i) is None)


def _projects_with_role(f: Func, ctx: Context) -> set[str]:
    """`projectsWhereUserHasRole(role)`: the projects where the caller is in that project role (by name or id)."""
    from sandbox.jira.routes_roles import ROLES, in_role

    if len(f.args) != 1:
        raise JQLError(f"Function 'projectsWhereUserHasRole' expects '1' arguments, but got '{len(f.args)}'.")
    role = next((r for r, (name, _d) in ROLES.items() if f.args[0].lower() == name.lower() or f.args[0] == str(r)),
                None)
    if role is None:
        raise JQLError(f"Could not resolve the project role '{f.args[0]}'.")  # [unc] wording
    ctx.volatile = True  # role membership is not in the index's version
    return {p.key for p in list(ctx.projects.values()) if in_role(ctx, ctx.me, p.key, role)}
