"""`sysparm_view` on the Table API: "UI view for which to render the data. Determines the fields returned
in the response. Valid values: desktop, mobile, both. If you also specify the sysparm_fields parameter,
it takes precedent." (Table API reference).

The sandbox knows the form layouts of a few tables (base-system forms: `desktop` = the Default view,
`mobile` = the smaller Mobile view, `both` = their union). A listed view answers those fields (plus
sys_id, so a client can still address the record); a table without a layout here, or another view
name, answers every field, as the Default view of a table whose form shows all its fields would.
[unc: the exact base-system layouts differ per release and per instance; sys_id is kept always]
"""

from __future__ import annotations

_INCIDENT = ("number", "caller_id", "category", "subcategory", "business_service", "cmdb_ci", "contact_type",
             "state", "impact", "urgency", "priority", "assignment_group", "assigned_to", "short_description",
             "description", "work_notes", "comments")
_CHANGE = ("number", "requested_by", "category", "business_service", "cmdb_ci", "priority", "risk", "impact",
           "type", "state", "assignment_group", "assigned_to", "short_description", "description",
           "start_date", "end_date", "justification", "implementation_plan", "backout_plan", "test_plan")
_PROBLEM = ("number", "category", "business_service", "cmdb_ci", "state", "impact", "urgency", "priority",
            "assignment_group", "assigned_to", "short_description", "description", "work_notes")
LAYOUTS: dict[str, dict[str, tuple[str, ...]]] = {
    "incident": {"desktop": _INCIDENT,
                 "mobile": ("number", "short_description", "caller_id", "state", "priority", "assigned_to",
                            "sys_updated_on")},
    "change_request": {"desktop": _CHANGE,
                       "mobile": ("number", "short_description", "type", "state", "risk", "start_date",
                                  "end_date", "assigned_to")},
    "problem": {"desktop": _PROBLEM,
                "mobile": ("number", "short_description", "state", "priority", "assigned_to")},
    "sys_user": {"desktop": ("user_name", "first_name", "last_name", "title", "department", "manager", "email",
                             "phone", "active", "locked_out"),
                 "mobile": ("user_name", "name", "email", "phone")},
}


def view_fields(table: str, view: str) -> tuple[str, ...] | None:
    """The fields `sysparm_view=<view>` renders on `table`, or None for every field."""
    layouts = LAYOUTS.get(table)
    view = view.strip().lower()
    if layouts is None or view not in ("desktop", "mobile", "both"):
        return None
    names = (*layouts["desktop"], *layouts["mobile"]) if view == "both" else layouts[view]
    return ("sys_id", *dict.fromkeys(names))
