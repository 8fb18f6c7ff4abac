"""ServiceNow table definitions: fields, their kinds, references, choice labels and number prefixes.

Grain: one `TableSchema` per emulated table. Field order is the order fields appear in JSON.
`task` is the parent of every task-derived table; a GET on it returns their union (base fields only).
"""

from __future__ import annotations

from dataclasses import dataclass, field

REMEDIATION_TABLE = "x_pjx_grc_remediation_task"


@dataclass(frozen=True)
class Field:
    """One column. kind: string | integer | boolean | datetime | date | reference | url | journal."""

    name: str
    kind: str = "string"
    ref: str | None = None
    choices: dict[str, str] | None = None


@dataclass(frozen=True)
class TableSchema:
    """One table: its fields, number prefix (task tables), display field and parent table."""

    name: str
    fields: tuple[Field, ...]
    prefix: str | None = None
    display: str = "sys_id"
    parent: str | None = None
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]

    def get(self, name: str) -> Field | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None


PRIORITY = {"1": "1 - Critical", "2": "2 - High", "3": "3 - Moderate", "4": "4 - Low", "5": "5 - Planning"}
IMPACT = {"1": "1 - High", "2": "2 - Medium", "3": "3 - Low"}
TASK_STATE = {"-5": "Pending", "1": "Open", "2": "Work in Progress", "3": "Closed Complete",
              "4": "Closed Incomplete", "7": "Closed Skipped"}
INCIDENT_STATE = {"1": "New", "2": "In Progress", "3": "On Hold", "6": "Resolved", "7": "Closed",
                  "8": "Canceled"}
CHANGE_STATE = {"-5": "New", "-4": "Assess", "-3": "Authorize", "-2": "Scheduled", "-1": "Implement",
                "0": "Review", "3": "Closed", "4": "Canceled"}
APPROVAL = {"not requested": "Not Yet Requested", "requested": "Requested", "approved": "Approved",
            "rejected": "Rejected"}
HOLD_REASON = {"1": "Awaiting Caller", "3": "Awaiting Problem", "4": "Awaiting Vendor", "5": "Awaiting Change"}
OPERATIONAL = {"1": "Operational", "2": "Non-Operational", "3": "Repair in Progress", "4": "DR Standby",
               "5": "Ready", "6": "Retired"}
INSTALL = {"1": "Installed", "2": "On Order", "3": "In Maintenance", "6": "In Stock", "7": "Retired",
           "100": "Absent"}
PROBLEM_STATE = {"101": "New", "102": "Assess", "103": "Root Cause Analysis", "104": "Fix in Progress",
                 "106": "Resolved", "107": "Closed"}
PROBLEM_TASK_STATE = {"151": "New", "152": "Assess", "154": "Work in Progress", "157": "Closed"}
CHANGE_TASK_STATE = {"-5": "Pending", "1": "Open", "2": "In Progress", "3": "Closed", "4": "Canceled"}
ITEM_STAGE = {"waiting_for_approval": "Waiting for Approval", "request_approved": "Request Approved",
              "fulfillment": "Fulfillment", "delivery": "Delivery", "complete": "Completed",
              "Request Cancelled": "Request Cancelled"}
REQUEST_STATE = {"requested": "Pending Approval", "in_process": "Approved", "closed_complete": "Closed Complete",
                 "closed_incomplete": "Closed Incomplete", "closed_cancelled": "Closed Cancelled",
                 "closed_rejected": "Closed Rejected"}

CATEGORY = {"inquiry": "Inquiry / Help", "software": "Software", "hardware": "Hardware", "network": "Network",
            "database": "Database"}
CONTACT_TYPE = {"email": "Email", "phone": "Phone", "self-service": "Self-service", "walk-in": "Walk-in",
                "chat": "Chat", "monitoring": "Monitoring", "virtual_agent": "Virtual Agent"}
CHANGE_CLOSE = {"successful": "Successful", "successful_issues": "Successful with issues",
                "unsuccessful": "Unsuccessful"}


def _f(name: str, kind: str = "string", ref: str | None = None, choices: dict[str, str] | None = None) -> Field:
    return Field(name, kind, ref, choices)


def _ref(name: str, table: str) -> Field:
    return Field(name, "reference", table)


SYS_FIELDS = (
    _f("sys_class_name"), _f("sys_created_on", "datetime"), _f("sys_created_by"),
    _f("sys_updated_on", "datetime"), _f("sys_updated_by"), _f("sys_mod_count", "integer"), _f("sys_tags"),
    _ref("sys_domain", "sys_user_group"),
)


def task_fields(state: dict[str, str]) -> tuple[Field, ...]:
    """The base `task` columns, with the table's own state labels."""
    return (
        _f("sys_id"), _f("number"), _f("short_description"), _f("description"),
        _f("state", "integer", choices=state), _f("active", "boolean"),
        _f("priority", "integer", choices=PRIORITY), _f("impact", "integer", choices=IMPACT),
        _f("urgency", "integer", choices=IMPACT), _ref("assignment_group", "sys_user_group"),
        _ref("assigned_to", "sys_user"), _ref("opened_by", "sys_user"), _f("opened_at", "datetime"),
        _f("closed_at", "datetime"), _ref("closed_by", "sys_user"), _f("due_date", "datetime"),
        _f("work_notes", "journal"), _f("comments", "journal"), _f("comments_and_work_notes", "journal"),
        _ref("cmdb_ci", "cmdb_ci"),
        _ref("company", "core_company"), _ref("location", "cmn_location"), _f("approval", choices=APPROVAL),
        _f("correlation_id"),
        _f("correlation_display"), _f("watch_list"), _ref("parent", "task"), *SYS_FIELDS,
    )


INCIDENT_EXTRA = (
    _ref("caller_id", "sys_user"), _f("category", choices=CATEGORY), _f("subcategory"),
    _f("incident_state", "integer", choices=INCIDENT_STATE), _f("hold_reason", "integer", choices=HOLD_REASON),
    _f("severity", "integer", choices=IMPACT), _ref("problem_id", "problem"), _ref("rfc", "change_request"),
    _ref("caused_by", "change_request"), _f("close_code"), _f("close_notes"), _f("resolved_at", "datetime"),
    _ref("resolved_by", "sys_user"), _f("reopen_count", "integer"), _f("reassignment_count", "integer"),
    _ref("business_service", "cmdb_ci_service"), _f("contact_type", choices=CONTACT_TYPE),
    _ref("parent_incident", "incident"), _f("made_sla", "boolean"), _f("escalation", "integer"),
)
CHANGE_EXTRA = (
    _f("type", choices={"standard": "Standard", "normal": "Normal", "emergency": "Emergency"}), _f("phase"),
    _f("risk", "integer", choices={"2": "High", "3": "Moderate", "4": "Low"}),
    _f("category"), _ref("requested_by", "sys_user"), _f("start_date", "datetime"), _f("end_date", "datetime"),
    _f("cab_date", "date"), _f("justification"), _f("implementation_plan"), _f("backout_plan"),
    _f("test_plan"), _ref("business_service", "cmdb_ci_service"), _f("close_code", choices=CHANGE_CLOSE),
    _f("close_notes"),
)
REQUEST_EXTRA = (
    _f("request_state", choices=REQUEST_STATE), _ref("requested_for", "sys_user"), _f("stage"), _f("price"),
    _f("delivery_address"), _f("special_instructions"),
)
SC_TASK_EXTRA = (_ref("request", "sc_request"), _ref("request_item", "sc_req_item"))
# problem with the state model of new instances since Madrid (101..107) beside the legacy problem_state.
PROBLEM_EXTRA = (
    _f("problem_state", "integer", choices={"1": "Open", "2": "Known Error", "3": "Pending Change",
                                            "4": "Closed/Resolved"}),
    _f("category", choices=CATEGORY), _f("subcategory"), _ref("first_reported_by_task", "task"),
    _f("known_error", "boolean"),
    _f("related_incidents", "integer"), _f("cause_notes"), _f("fix_notes"), _f("workaround"),
    _f("resolution_code", choices={"fix_applied": "Fix Applied", "risk_accepted": "Risk Accepted",
                                   "duplicate": "Duplicate", "canceled": "Canceled"}),
    _f("resolved_at", "datetime"), _ref("resolved_by", "sys_user"), _ref("rfc", "change_request"),
    _ref("duplicate_of", "problem"), _ref("business_service", "cmdb_ci_service"),
)
PROBLEM_TASK_EXTRA = (
    _ref("problem", "problem"), _f("problem_task_type", choices={"rca": "Root Cause Analysis", "general": "General"}),
    _f("cause_code"), _f("cause_notes"), _f("fix_notes"), _f("workaround"),
    _f("close_code", choices={"completed": "Completed", "canceled": "Canceled"}), _f("close_notes"),
    _f("started_at", "datetime"), _ref("started_by", "sys_user"),
)
CHANGE_TASK_EXTRA = (
    _ref("change_request", "change_request"),
    _f("change_task_type", choices={"planning": "Planning", "implementation": "Implementation",
                                    "testing": "Testing", "review": "Review"}),
    _f("planned_start_date", "datetime"), _f("planned_end_date", "datetime"), _f("on_hold", "boolean"),
    _f("close_code", choices=CHANGE_CLOSE), _f("close_notes"),
)
REQ_ITEM_EXTRA = (
    _ref("request", "sc_request"), _ref("cat_item", "sc_cat_item"), _ref("requested_for", "sys_user"),
    _f("stage", choices=ITEM_STAGE), _f("quantity", "integer"), _f("price"), _f("recurring_price"),
    _f("backordered", "boolean"), _ref("configuration_item", "cmdb_ci"),
)
SC_CAT_ITEM = (
    _f("sys_id"), _f("name"), _f("short_description"), _f("category"), _f("price"), _f("active", "boolean"),
    _f("order", "integer"), *SYS_FIELDS,
)
SYS_USER = (
    _f("sys_id"), _f("user_name"), _f("first_name"), _f("last_name"), _f("name"), _f("email"), _f("title"),
    _ref("department", "cmn_department"), _ref("manager", "sys_user"), _f("active", "boolean"),
    _f("locked_out", "boolean"), _f("time_zone"), _f("phone"), _f("mobile_phone"), _f("employee_number"),
    *SYS_FIELDS,
)
SYS_USER_GROUP = (
    _f("sys_id"), _f("name"), _f("description"), _ref("manager", "sys_user"), _f("email"), _f("type"),
    _f("active", "boolean"), _ref("parent", "sys_user_group"), *SYS_FIELDS,
)
CMDB_CI = (
    _f("sys_id"), _f("name"), _f("short_description"), _f("serial_number"), _f("asset_tag"),
    _f("operational_status", "integer", choices=OPERATIONAL), _f("install_status", "integer", choices=INSTALL),
    _f("ip_address"), _f("fqdn"), _ref("manufacturer", "core_company"), _ref("model_id", "cmdb_model"),
    _ref("location", "cmn_location"), _ref("support_group", "sys_user_group"), _ref("assigned_to", "sys_user"),
    _ref("managed_by", "sys_user"), _ref("owned_by", "sys_user"), _f("environment"), _f("category"),
    _f("subcategory"), _f("discovery_source"), _f("last_discovered", "datetime"), *SYS_FIELDS,
)
SYS_ATTACHMENT = (
    _f("sys_id"), _f("file_name"), _f("content_type"), _f("size_bytes", "integer"),
    _f("size_compressed", "integer"), _f("compressed", "boolean"), _f("table_name"), _f("table_sys_id"),
    _f("download_link", "url"), _f("image_height"), _f("image_width"), _f("average_image_color"), _f("hash"),
    _f("state"), _f("sys_created_on", "datetime"), _f("sys_created_by"), _f("sys_updated_on", "datetime"),
    _f("sys_updated_by"), _f("sys_mod_count", "integer"), _f("sys_tags"),
)
SYS_AUDIT_DELETE = (
    _f("sys_id"), _f("tablename"), _f("documentkey"), _f("display_value"), _f("payload"),
    _f("sys_created_on", "datetime"), _f("sys_created_by"), _f("sys_updated_on", "datetime"),
    _f("sys_updated_by"), _f("sys_mod_count", "integer"),
)
SYS_JOURNAL_FIELD = (
    _f("sys_id"), _f("element"), _f("element_id"), _f("name"), _f("value"), _f("sys_created_on", "datetime"),
    _f("sys_created_by"), _f("sys_updated_on", "datetime"), _f("sys_updated_by"), _f("sys_mod_count", "integer"),
    _f("sys_tags"),
)
ACCESS = {  # roles, group memberships, role grants and approvals (`data_access`)
    "sys_user_role": (_f("sys_id"), _f("name"), _f("description"), _f("elevated_privilege", "boolean"),
                      _f("assignable_by"), _f("suffix"), *SYS_FIELDS),
    "sys_user_grmember": (_f("sys_id"), _ref("user", "sys_user"), _ref("group", "sys_user_group"), *SYS_FIELDS),
    "sys_user_has_role": (_f("sys_id"), _ref("user", "sys_user"), _ref("role", "sys_user_role"),
                          _f("inherited", "boolean"), _ref("granted_by", "sys_user_group"), _f("state"),
                          *SYS_FIELDS),
    "sys_group_has_role": (_f("sys_id"), _ref("group", "sys_user_group"), _ref("role", "sys_user_role"),
                           _f("inherits", "boolean"), _ref("granted_by", "sys_user_group"), *SYS_FIELDS),
    "syslog": (_f("sys_id"), _f("level", "integer", choices={"-1": "Debug", "0": "Information", "1": "Warning",
                                                              "2": "Error"}),
               _f("message"), _f("source"), *SYS_FIELDS),  # [unc] a few of the log's columns
    "sysapproval_approver": (_f("sys_id"), _ref("sysapproval", "task"), _f("document_id"), _f("source_table"),
                             _ref("approver", "sys_user"), _f("state", choices={
                                 **APPROVAL, "cancelled": "Cancelled", "not_required": "No Longer Required",
                                 "duplicate": "Duplicate"}), _f("due_date", "datetime"), _f("comments", "journal"),
                             *SYS_FIELDS),
}

_TASK_DEFAULTS = {"state": "1", "active": "true", "priority": "4", "impact": "3", "urgency": "3",
                  "approval": "not requested", "sys_domain": "global"}

SCHEMAS: dict[str, TableSchema] = {
    s.name: s
    for s in (
        TableSchema("task", task_fields(TASK_STATE), "TASK", "number", None, _TASK_DEFAULTS),
        TableSchema("incident", task_fields(INCIDENT_STATE) + INCIDENT_EXTRA, "INC", "number", "task",
                    {**_TASK_DEFAULTS, "priority": "5", "incident_state": "1", "severity": "3",
                     "reopen_count": "0", "reassignment_count": "0", "escalation": "0", "made_sla": "true",
                     "contact_type": "self-service"}),
        TableSchema("change_request", task_fields(CHANGE_STATE) + CHANGE_EXTRA, "CHG", "number", "task",
                    {**_TASK_DEFAULTS, "state": "-5", "type": "normal", "risk": "3", "phase": "requested"}),
        TableSchema("sc_request", task_fields(TASK_STATE) + REQUEST_EXTRA, "REQ", "number", "task",
                    {**_TASK_DEFAULTS, "request_state": "requested", "stage": "requested", "price": "0"}),
        TableSchema("sc_task", task_fields(TASK_STATE) + SC_TASK_EXTRA, "SCTASK", "number", "task",
                    _TASK_DEFAULTS),
        TableSchema(REMEDIATION_TABLE, task_fields(TASK_STATE), "RTASK", "number", "task", _TASK_DEFAULTS),
        TableSchema("problem", task_fields(PROBLEM_STATE) + PROBLEM_EXTRA, "PRB", "number", "task",
                    {**_TASK_DEFAULTS, "state": "101", "priority": "5", "problem_state": "1",
                     "known_error": "false", "related_incidents": "0"}),
        TableSchema("problem_task", task_fields(PROBLEM_TASK_STATE) + PROBLEM_TASK_EXTRA, "PTASK", "number",
                    "task", {**_TASK_DEFAULTS, "state": "151", "problem_task_type": "general"}),
        TableSchema("change_task", task_fields(CHANGE_TASK_STATE) + CHANGE_TASK_EXTRA, "CTASK", "number", "task",
                    {**_TASK_DEFAULTS, "change_task_type": "planning", "on_hold": "false"}),
        TableSchema("sc_req_item", task_fields(TASK_STATE) + REQ_ITEM_EXTRA, "RITM", "number", "task",
                    {**_TASK_DEFAULTS, "stage": "request_approved", "quantity": "1", "price": "0",
                     "recurring_price": "0", "backordered": "false"}),
        TableSchema("sc_cat_item", SC_CAT_ITEM, None, "name", None,
                    {"active": "true", "price": "0", "order": "0", "sys_domain": "global"}),
        TableSchema("cmdb_ci", CMDB_CI, None, "name", None,
                    {"operational_status": "1", "install_status": "1", "sys_domain": "global"}),
        TableSchema("sys_user", SYS_USER, None, "name", None,
                    {"active": "true", "locked_out": "false", "sys_domain": "global"}),
        TableSchema("sys_user_group", SYS_USER_GROUP, None, "name", None, {"active": "true", "sys_domain": "global"}),
        TableSchema("sys_attachment", SYS_ATTACHMENT, None, "file_name", None,
                    {"compressed": "true", "state": "available"}),
        TableSchema("sys_audit_delete", SYS_AUDIT_DELETE, None, "documentkey"),
        TableSchema("sys_journal_field", SYS_JOURNAL_FIELD, None, "value"),
        TableSchema("sys_user_role", ACCESS["sys_user_role"], None, "name", None, {"elevated_privilege": "false"}),
        TableSchema("sys_user_grmember", ACCESS["sys_user_grmember"], None, "sys_id"),
        TableSchema("sys_user_has_role", ACCESS["sys_user_has_role"], None, "sys_id", None,
                    {"inherited": "false", "state": "active"}),
        TableSchema("sysapproval_approver", ACCESS["sysapproval_approver"], None, "sys_id", None,
                    {"state": "requested"}),
        TableSchema("sys_group_has_role", ACCESS["sys_group_has_role"], None, "sys_id", None, {"inherits": "true"}),
        TableSchema("syslog", ACCESS["syslog"], None, "message", None, {"level": "0", "sys_domain": "global"}),
    )
}

# New children go last: `task` lists its own rows, then each child's, so earlier rows keep their order.
TASK_CHILDREN = ("incident", "change_request", "sc_request", "sc_task", REMEDIATION_TABLE, "problem",
                 "problem_task", "change_task", "sc_req_item")
# Fields the system owns: ignored when a client writes them (sys_id only honoured on insert).
SYSTEM_FIELDS = frozenset({"sys_id", "sys_class_name", "sys_created_on", "sys_created_by", "sys_updated_on",
                           "sys_updated_by", "sys_mod_count"})
CLOSED_STATES = {"incident": {"7", "8"}, "change_request": {"3", "4"}, "change_task": {"3", "4"},
                 "problem": {"107"}, "problem_task": {"157"}}
DEFAULT_CLOSED = {"3", "4", "7"}
