"""Comment and worklog `visibility`: read from a request, checked, and kept in the shape Jira answers with.

The spec's Visibility: `type` "group" | "role"; `value` the group's or role's name; `identifier` "the ID of the
group or the name of the role". A request may name the audience by either; Jira answers with both filled
(the spec's comment examples: `{"identifier": "Administrators", "type": "role", "value": "Administrators"}`),
so the stored visibility carries both: a role's name twice, a group's name and its groupId. A role's numeric id
as `identifier` is still taken [unc: the spec says the name].

`update.comment` add operations (create, edit, transition) carry a visibility as POST /comment does; it was
dropped there, which made a restricted comment public (round 33).
"""

from __future__ import annotations

from typing import Any

from sandbox.jira.errors import fail, shaped
from sandbox.jira.routes_groups import group_id, group_names
from sandbox.jira.routes_roles import ROLES, audience_refusal

SHAPE = "Visibility must have a type ('group' or 'role') and a value."  # [unc] wording


def requested(vis: Any) -> dict[str, Any] | None:
    """A request's `visibility` ({"type", "value" and/or "identifier"}) or None (public); a malformed one is a 400."""
    if vis is None:
        return None
    if not isinstance(vis, dict) or vis.get("type") not in ("role", "group") or not (
            vis.get("value") or vis.get("identifier")):
        raise fail(400, None, {"commentLevel": SHAPE})
    return {k: vis[k] for k in ("type", "value", "identifier") if vis.get(k)}


def canonical(sb: Any, vis: dict[str, Any]) -> dict[str, Any]:
    """The visibility as Jira answers it: type, value (the name) and identifier (groupId, or the role's name)."""
    ident = str(vis.get("identifier") or "")
    if vis["type"] == "group":
        name = next((g for g in group_names(sb) if g == vis.get("value") or (ident and group_id(g) == ident)), None)
        return {"type": "group", "value": name, "identifier": group_id(name)} if name else dict(vis)
    role = next((r for r, (n, _d) in ROLES.items() if n == vis.get("value") or ident in (n, str(r))), None)
    return {"type": "role", "value": ROLES[role][0], "identifier": ROLES[role][0]} if role else dict(vis)


def checked(sb: Any, user: str | None, project: str, vis: Any) -> dict[str, Any] | None:
    """The request's visibility once Jira would take it from `user` on `project` (a group or role that exists and
    the user is in; else 400 `errors.commentLevel`), in the answered shape; None when there is none."""
    vis = requested(vis)
    if vis is None:
        return None
    if user is not None:
        why = audience_refusal(sb, user, project, vis)
        if why:
            raise fail(400, None, {"commentLevel": why})
    return canonical(sb, vis)


def comment_adds(sb: Any, user: str | None, project: str, update: Any) -> list[dict[str, Any] | None]:
    """The visibilities of `update.comment` add operations, in the order `changes.parse_fields` lists their
    bodies (an operation without one is public)."""
    ops = update.get("comment") if isinstance(update, dict) else None
    out: list[dict[str, Any] | None] = []
    for op in ops if isinstance(ops, list) else [ops] if ops is not None else []:
        if isinstance(op, dict) and "add" in op:
            out.append(checked(sb, user, project, (shaped(op["add"], "object") or {}).get("visibility")))
    return out
