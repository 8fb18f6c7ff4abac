"""The create and edit screens: which fields `POST /issue` and `PUT /issue/{key}` accept, as createmeta/editmeta
list them.

Every project and issue type uses the site's Default Screen (`field_search_expand.DEFAULT_SCREEN`) for create and
edit. A field can be set through REST only when it is on that screen and not hidden by the field configuration
(`field_config`, `isHidden`); any other `fields` or `update` entry is refused the way Jira refuses it (the OpenAPI
spec's create/edit 400s; the wording is Jira's own, seen on every site): 400
`{"errorMessages": [], "errors": {"<fieldId>": "Field '<fieldId>' cannot be set. It is not on the appropriate
screen, or unknown."}}`, one entry per such field, and nothing is written. Notably `resolution`, which the default
screen does not hold (it is set by a transition's screen, `screens`), and `security`, which the sandbox does not
set on issues, are refused.

createmeta (`GET /issue/createmeta/{p}/issuetypes/{t}`, the legacy `expand=projects.issuetypes.fields`) and
editmeta list exactly `create_fields` / `edit_fields`, in screen order. Beyond the screen's fields:

- create also takes `update.comment` [unc: Cloud documents no comment on create; the sandbox has always added it];
- edit also takes `update.comment` (editmeta lists `comment`, as Cloud does) and `update.worklog` add operations
  (editmeta lists `worklog` [unc: Cloud lists Log Work only when the screen holds it]);
- API-made custom fields are on the screen of the projects and issue types their contexts cover [unc: Cloud adds
  a new field to no screen; the sandbox has always taken them].
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira import catalog as C
from sandbox.jira import field_config

if TYPE_CHECKING:
    from sandbox.jira.model import Issue
    from sandbox.jira.sandbox import JiraSandbox

# the Default Screen's fields that REST can set, in createmeta order (`security` is on the screen, not settable here)
SCREEN = ["summary", "issuetype", "project", "description", "priority", "assignee", "reporter", "labels", "duedate",
          "parent", "components", "fixVersions", "timetracking", C.STORY_POINTS, C.SPRINT, "versions", "environment",
          "attachment", "issuelinks"]
EDIT_ONLY = ["comment", "worklog"]  # listed by editmeta, taken through `update` only


def hidden(sb: JiraSandbox) -> set[str]:
    """Fields the field configuration hides (`PUT /fieldconfiguration/10000/fields` `isHidden: true`)."""
    return field_config.hidden(sb.store) - field_config.LOCKED


def _made(sb: JiraSandbox, project: str, type_id: str) -> list[str]:
    """API-made custom fields whose contexts cover this project and issue type."""
    from sandbox.jira.routes_field_admin import created_fields, field_contexts
    from sandbox.jira.routes_field_contexts import applying

    pid = sb.store.projects[project].id
    return [made[0] for made in created_fields(sb)
            if applying(list(field_contexts(sb, made[3]["customId"]).values()), pid, type_id) is not None]


def not_for(sb: JiraSandbox, user: str | None, project: str) -> set[str]:
    """Screen fields Jira renders only for holders of a permission: `reporter` needs Modify Reporter (without it
    Cloud leaves the field off the user's create and edit screens and meta, and refuses it; round 33)."""
    if user is None or sb.holds(user, "MODIFY_REPORTER", [project]):  # type: ignore[attr-defined]  # routes_roles
        return set()
    return {"reporter"}


def create_fields(sb: JiraSandbox, project: str, type_id: str) -> list[str]:
    """Field ids a create in `project` with issue type `type_id` may set, in screen order (less `not_for` the
    caller)."""
    gone = hidden(sb)
    return [f for f in [*SCREEN, *_made(sb, project, type_id)] if f not in gone]


def edit_fields(sb: JiraSandbox, issue: Issue) -> list[str]:
    """Field ids an edit of `issue` may set (editmeta's keys, less `not_for` the caller), in screen order;
    none in a status with `jira.issue.editable = false` (`status_props`)."""
    from sandbox.jira.status_props import editable

    if not editable(sb, issue):
        return []
    gone = hidden(sb)
    return [f for f in [*SCREEN, *_made(sb, issue.project, issue.type_id), *EDIT_ONLY]
            if f != "project" and f not in gone]


def refusals(allowed: list[str], fields: Any, update: Any) -> dict[str, str]:
    """Jira's field errors for every `fields`/`update` entry not in `allowed`."""
    names = [*(fields if isinstance(fields, dict) else {}), *(update if isinstance(update, dict) else {})]
    ok = set(allowed)
    return {name: f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."
            for name in dict.fromkeys(names) if name not in ok}


def hidden_refusals(sb: JiraSandbox, fields: Any, update: Any) -> dict[str, str]:
    """A transition's refusals of hidden fields (on no screen, whatever `strict_screens` says)."""
    gone = hidden(sb)
    names = [*(fields if isinstance(fields, dict) else {}), *(update if isinstance(update, dict) else {})]
    return refusals([n for n in names if n not in gone], fields, update)


def create_refusals(sb: JiraSandbox, payload: dict[str, Any], user: str | None = None) -> dict[str, str]:
    """The refusals of a create body (the project and issue type it names decide the screen; when either is not
    valid its own error is reported and the screen of the first project and Task is used [unc])."""
    from sandbox.jira.changes import _ref

    fields = payload.get("fields") if isinstance(payload.get("fields"), dict) else {}
    pref = str(_ref(fields.get("project")) or "")
    project = next((p.key for p in sb.store.projects.values() if pref in (p.key, p.id)), None) \
        or next(iter(sb.store.projects))
    type_id = sb.store.type_id(str(_ref(fields.get("issuetype")) or "").lower()) or "10002"
    off = not_for(sb, user, project)
    allowed = [*(f for f in create_fields(sb, project, type_id) if f not in off), "comment"]
    return refusals(allowed, fields, payload.get("update"))


def edit_refusals(sb: JiraSandbox, issue: Issue, body: dict[str, Any], user: str | None = None) -> dict[str, str]:
    off = not_for(sb, user, issue.project)
    return refusals([f for f in edit_fields(sb, issue) if f not in off], body.get("fields"), body.get("update"))
