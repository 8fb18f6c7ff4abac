"""What `GET /field/search` adds for `expand` and how it checks `orderBy` (the platform spec's enums).

- `isLocked`: Jira's own Agile fields (story points, sprint, rank) are locked; fields made through POST /field
  and system fields are not [unc: system fields].
- `searcherKey` (custom fields only): the key given at creation, else the usual searcher of the field type
  [unc: the Agile fields' searchers].
- `contextsCount` (custom fields only): the field's contexts (`routes_field_admin`).
- `lastUsed`: system fields are `NOT_TRACKED`; custom fields `NO_INFORMATION` (usage is not tracked here) [unc].
- `orderBy` outside the spec's enum is a 400 [unc: the wording]; `contextsCount` sorts by that count, the
  other counts keep the default order.
- `screensCount` (every field [unc: system fields]): how many of the site's three screens (`GET /screens`:
  Default, Workflow, Resolve Issue) show the field. The Default Screen shows the editable system fields of
  Jira's default screen plus the Agile Sprint and Story points; the Workflow Screen shows Assignee; the Resolve
  Issue Screen shows Resolution, Fix versions and Assignee (`screens.SCREENS`) [unc: the Default Screen's list].
  A field made through POST /field is on no screen (the REST API does not add it to one) [unc].
- `projectsCount` (custom fields only): the number of projects the field's contexts name, given only when no
  context is global. The spec's own example leaves it out for a field whose count it cannot give [unc: that a
  global context is why].
- `projectIds` (query, int64 list): only the fields available in one of those projects: system fields (in every
  classic project) and custom fields with a global context or one naming such a project; ids of projects that
  do not exist (or the caller cannot see) match nothing [unc]; a value that is not a number is a 400 [unc].
- `orderBy` by `screensCount` / `projectsCount` sorts by those numbers (a field without a count as 0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.errors import fail
from sandbox.jira.routes_field_admin import PREFIX, field_contexts
from sandbox.jira.screens import DONE_TRANSITION, SCREENS

if TYPE_CHECKING:
    from sandbox.jira.sandbox import JiraSandbox

ORDERS = {f"{sign}{name}" for sign in ("", "+", "-")
          for name in ("contextsCount", "lastUsed", "name", "screensCount", "projectsCount")}
_SEARCHERS = {"textfield": "textsearcher", "textarea": "textsearcher", "readonlyfield": "textsearcher",
              "url": "exacttextsearcher", "float": "exactnumber", "datepicker": "daterange",
              "datetime": "datetimerange", "select": "multiselectsearcher", "radiobuttons": "multiselectsearcher",
              "multiselect": "multiselectsearcher", "multicheckboxes": "multiselectsearcher",
              "cascadingselect": "cascadingselectsearcher", "userpicker": "userpickergroupsearcher",
              "multiuserpicker": "userpickergroupsearcher", "grouppicker": "grouppickersearcher",
              "multigrouppicker": "multiselectsearcher", "labels": "labelsearcher", "project": "projectsearcher",
              "version": "versionsearcher", "multiversion": "versionsearcher"}
_AGILE = {"com.pyxis.greenhopper.jira:jsw-story-points": PREFIX + "exactnumber",
          "com.pyxis.greenhopper.jira:gh-sprint": "com.pyxis.greenhopper.jira:gh-sprint-searcher",
          "com.pyxis.greenhopper.jira:gh-lexo-rank": "com.pyxis.greenhopper.jira:gh-lexo-rank-searcher"}

# the site's Default Screen (id 1) [unc]; the Workflow Screen (id 2) shows only the assignee
DEFAULT_SCREEN = {"summary", "issuetype", "security", "priority", "duedate", "components", "versions", "fixVersions",
                  "assignee", "reporter", "environment", "description", "timetracking", "attachment", "labels",
                  "parent", "customfield_10016", "customfield_10020"}
WORKFLOW_SCREEN = {"assignee"}


def screens_count(fid: str) -> int:
    """How many of the site's screens show field `fid`."""
    return sum(fid in shown for shown in (DEFAULT_SCREEN, WORKFLOW_SCREEN, set(SCREENS[DONE_TRANSITION])))


def projects_count(sb: JiraSandbox, fid: str) -> int | None:
    """The number of projects a custom field's contexts name; None for a system field or a global one."""
    if not fid.startswith("customfield_"):
        return None
    contexts = field_contexts(sb, int(fid.rsplit("_", 1)[1])).values()
    if not contexts or any(not ctx["projectIds"] for ctx in contexts):
        return None
    return len({str(p) for ctx in contexts for p in ctx["projectIds"]})


def project_filter(sb: JiraSandbox, raw: list[str]) -> set[str] | None:
    """The project ids `projectIds` asks for (None when absent); 400 for a value that is not a number."""
    values = [v.strip() for item in raw for v in item.split(",") if v.strip()]
    if not values:
        return None
    if not all(v.lstrip("-").isdecimal() for v in values):
        raise fail(400, "The projectIds parameter must contain only project IDs (numbers).")  # [unc: wording]
    known = {p.id for p in sb.store.projects.values()}
    return {v for v in values if v in known}


def in_projects(sb: JiraSandbox, fid: str, projects: set[str]) -> bool:
    """Whether field `fid` is available in one of `projects` (see the module notes)."""
    if not fid.startswith("customfield_"):
        return bool(projects)
    contexts = field_contexts(sb, int(fid.rsplit("_", 1)[1])).values()
    return bool(projects) and any(not ctx["projectIds"] or projects & {str(p) for p in ctx["projectIds"]}
                                  for ctx in contexts)


def check_order(order: str) -> str:
    """The `orderBy` value, or a 400 when the spec does not list it."""
    if order and order not in ORDERS:
        raise fail(400, f"Invalid orderBy value '{order}'.")
    return order


def add_expanded(sb: JiraSandbox, entry: dict[str, Any], expand: set[str]) -> dict[str, Any]:
    """`entry` (a FieldDetails with `id` and `schema`) with the expanded members filled in."""
    fid, schema = entry["id"], entry["schema"]
    custom = schema.get("custom")
    if "isLocked" in expand:
        entry["isLocked"] = custom in _AGILE
    if custom and "searcherKey" in expand:
        made = sb.store.work.get("fields", {}).get(schema.get("customId"), {})
        kind = str(custom)[len(PREFIX):] if str(custom).startswith(PREFIX) else ""
        entry["searcherKey"] = made.get("searcherKey") or _AGILE.get(custom) or PREFIX + _SEARCHERS.get(
            kind, "textsearcher")
    if custom and "contextsCount" in expand:
        entry["contextsCount"] = len(field_contexts(sb, int(fid.rsplit("_", 1)[1])))
    if "lastUsed" in expand:
        entry["lastUsed"] = {"type": "NO_INFORMATION" if custom else "NOT_TRACKED"}
    if "screensCount" in expand:
        entry["screensCount"] = 0 if made_here(sb, schema) else screens_count(fid)
    if "projectsCount" in expand and (count := projects_count(sb, fid)) is not None:
        entry["projectsCount"] = count
    return entry


def made_here(sb: JiraSandbox, schema: dict[str, Any]) -> bool:
    """Whether a field (by its schema) was made through POST /field."""
    return schema.get("customId") in sb.store.work.get("fields", {})


def sort_fields(out: list[dict[str, Any]], sb: JiraSandbox, order: str) -> list[dict[str, Any]]:
    """`out` in `orderBy`'s order (name case-insensitively, the counts by the count, no count as 0)."""
    name, reverse = order.lstrip("+-"), order.startswith("-")
    if name == "name":
        return sorted(out, key=lambda f: f["name"].lower(), reverse=reverse)
    if name == "contextsCount":
        def count(f: dict[str, Any]) -> int:
            return len(field_contexts(sb, int(f["id"].rsplit("_", 1)[1]))) if f["schema"].get("custom") else 0
        return sorted(out, key=count, reverse=reverse)
    if name == "screensCount":
        return sorted(out, key=lambda f: 0 if made_here(sb, f["schema"]) else screens_count(f["id"]),
                      reverse=reverse)
    if name == "projectsCount":
        return sorted(out, key=lambda f: projects_count(sb, f["id"]) or 0, reverse=reverse)
    return out
