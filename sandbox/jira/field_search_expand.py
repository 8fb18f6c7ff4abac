"""What `GET /field/search` adds for `expand` and how it checks `orderBy` (the platform spec's enums).

- `isLocked`: Jira's own Agile fields (story points, sprint, rank) are locked; fields made through POST /field
  and system fields are not [unc: system fields].
- `searcherKey` (custom fields only): the key given at creation, else the usual searcher of the field type
  [unc: the Agile fields' searchers].
- `contextsCount` (custom fields only): the field's contexts (`routes_field_admin`).
- `lastUsed`: system fields are `NOT_TRACKED`; custom fields `NO_INFORMATION` (usage is not tracked here) [unc].
- `orderBy` outside the spec's enum is a 400 [unc: the wording]; `contextsCount` sorts by that count, the
  other counts keep the default order.
`screensCount` is not computed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.jira.errors import fail
from sandbox.jira.routes_field_admin import PREFIX, field_contexts

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
    return entry


def sort_fields(out: list[dict[str, Any]], sb: JiraSandbox, order: str) -> list[dict[str, Any]]:
    """`out` in `orderBy`'s order (name case-insensitively, contextsCount by the count, system fields as 0)."""
    name, reverse = order.lstrip("+-"), order.startswith("-")
    if name == "name":
        return sorted(out, key=lambda f: f["name"].lower(), reverse=reverse)
    if name == "contextsCount":
        def count(f: dict[str, Any]) -> int:
            return len(field_contexts(sb, int(f["id"].rsplit("_", 1)[1]))) if f["schema"].get("custom") else 0
        return sorted(out, key=count, reverse=reverse)
    return out
