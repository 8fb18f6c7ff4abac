"""Workflow transitions and their screens, as `GET /issue/{key}/transitions` lists them.

The emulated workflow has four global transitions (ids 11/21/31/41 -> To Do/In Progress/In Review/Done).
Only "Done" (41) has a screen, Jira's classic resolve screen: Resolution (required), Fix versions,
Assignee. With `expand=transitions.fields` each transition carries `fields`, FieldMetadata by field id
(`required`, `schema`, `name`, `key`, `operations`, `allowedValues`, ...); without it there is no `fields`
key (the OpenAPI spec: "fields will only be returned if expand = 'transitions.fields'").

By default a transition request is not held to its screen: a missing resolution on Done defaults to "Done"
and fields outside the screen are applied [unc]. With the sandbox's `strict_screens` on (constructor option,
also an attribute that can be flipped while serving) it is held as Jira holds it (the OpenAPI spec: 400 when "a
field that isn't included on the transition screen is defined in `fields` or `update`"): every `fields` or
`update` entry of a transition without a screen, `comment` included, and on a transition with a screen every
entry that is neither on it nor `comment` (a transition screen shows a comment box whatever fields it has)
answers 400 `{"errorMessages": [], "errors": {"comment": "Field 'comment' cannot be set. It is not on the
appropriate screen, or unknown."}}`, one entry per such field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira import catalog as C
from sandbox.jira import field_config
from sandbox.jira.routes_versions import version_json

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.render import Renderer

DONE_TRANSITION = "41"
# transition id -> the field ids on its screen (in screen order)
SCREENS: dict[str, list[str]] = {DONE_TRANSITION: ["resolution", "fixVersions", "assignee"]}


def transition_name(tid: str) -> str:
    """Transition `tid`'s name. The emulated workflow names each transition after its target status, as Jira's
    simplified workflows do; the bulk transition API's `transitionName` reads it here, not from the status."""
    return C.STATUSES[C.TRANSITIONS[tid]][0]


def off_screen(tid: str, fields: Any, update: Any) -> dict[str, str]:
    """Jira's field errors for the `fields` and `update` entries transition `tid`'s screen does not show
    (`strict_screens`); `{}` when every entry may be set."""
    allowed = set(SCREENS[tid]) | {"comment"} if tid in SCREENS else set()
    names = [*(fields if isinstance(fields, dict) else {}), *(update if isinstance(update, dict) else {})]
    return {name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in dict.fromkeys(names) if name not in allowed}


def transitions_of(r: Renderer, issue: Issue, with_fields: bool = False) -> list[dict[str, Any]]:
    out = []
    for tid, target in C.TRANSITIONS.items():
        bean: dict[str, Any] = {"id": tid, "name": transition_name(tid), "to": r.status(target),
                                "hasScreen": tid in SCREENS, "isGlobal": True, "isInitial": False,
                                "isAvailable": True, "isConditional": False, "isLooped": target == issue.status_id}
        if with_fields:
            bean["fields"] = screen_fields(r, issue, tid)
        out.append(bean)
    return out


def wants_fields(expand: str | list[str] | None) -> bool:
    """Whether an `expand` value (comma-separated, possibly repeated) asks for `transitions.fields`."""
    items = expand if isinstance(expand, list) else [expand or ""]
    return any(part.strip() == "transitions.fields" for item in items for part in item.split(","))


def screen_fields(r: Renderer, issue: Issue, tid: str) -> dict[str, Any]:
    """FieldMetadata of the fields on transition `tid`'s screen (`{}` when it has none)."""
    out: dict[str, Any] = {}
    gone = field_config.hidden(r.store)  # a field the field configuration hides is on no screen
    for fid in SCREENS.get(tid, []):
        if fid in gone:
            continue
        if fid == "resolution":
            out[fid] = {"required": True, "schema": {"type": "resolution", "system": "resolution"},
                        "name": "Resolution", "key": "resolution", "operations": ["set"],
                        "allowedValues": [r.resolution(rid) for rid in C.RESOLUTIONS], "hasDefaultValue": False}
        elif fid == "fixVersions":
            versions = [v for v in list(r.store.work.get("versions", {}).values()) if v["project"] == issue.project]
            out[fid] = {"required": False, "schema": {"type": "array", "items": "version", "system": "fixVersions"},
                        "name": "Fix versions", "key": "fixVersions", "operations": ["set", "add", "remove"],
                        "allowedValues": [version_json(r, v) for v in versions], "hasDefaultValue": False}
        elif fid == "assignee":
            out[fid] = {"required": False, "schema": {"type": "user", "system": "assignee"}, "name": "Assignee",
                        "key": "assignee", "autoCompleteUrl": f"{r.api}/user/assignable/search?issueKey={issue.key}"
                        "&query=", "operations": ["set"], "hasDefaultValue": False}
    return out
