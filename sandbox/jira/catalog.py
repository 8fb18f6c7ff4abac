"""Static Jira site configuration: statuses, issue types, priorities, link types, fields, vocabulary.

These are the fixed "admin settings" of the emulated site. Ids look like Jira Cloud's.
STORY_POINTS / SPRINT / RANK are the custom field ids a connector must discover via GET /field.
"""

from __future__ import annotations

STORY_POINTS = "customfield_10016"
SPRINT = "customfield_10020"
RANK = "customfield_10019"

# statusCategory: id, key, name, colorName. Jira Cloud also lists "No Category" (id 1, key "undefined") first in
# GET /statuscategory and answers GET /statuscategory/1; no seeded status belongs to it.
CATEGORIES = {
    "undefined": (1, "undefined", "No Category", "medium-gray"),
    "new": (2, "new", "To Do", "blue-gray"),
    "indeterminate": (4, "indeterminate", "In Progress", "yellow"),
    "done": (3, "done", "Done", "green"),
}

# status id -> (name, category key, description)
STATUSES = {
    "10000": ("To Do", "new", "Work that has not been started."),
    "3": ("In Progress", "indeterminate", "This issue is being actively worked on."),
    "10001": ("In Review", "indeterminate", "Waiting for review."),
    "10002": ("Done", "done", "Work has been completed."),
}
STATUS_BY_NAME = {v[0].lower(): k for k, v in STATUSES.items()}
DONE_STATUS = "10002"
TODO_STATUS = "10000"

# transition id -> target status id (global transitions, as in a simplified workflow)
TRANSITIONS = {"11": "10000", "21": "3", "31": "10001", "41": "10002"}

# issue type id -> (name, hierarchyLevel, subtask, description)
ISSUE_TYPES = {
    "10000": ("Epic", 1, False, "A big user story that needs to be broken down."),
    "10001": ("Story", 0, False, "Functionality or a feature expressed as a user goal."),
    "10002": ("Task", 0, False, "A small, distinct piece of work."),
    "10003": ("Bug", 0, False, "A problem or error."),
    "10004": ("Subtask", -1, True, "A small piece of work that's part of a larger task."),
}
TYPE_BY_NAME = {v[0].lower(): k for k, v in ISSUE_TYPES.items()}
TYPE_BY_NAME["sub-task"] = "10004"
EPIC, STORY, TASK, BUG, SUBTASK = "10000", "10001", "10002", "10003", "10004"

PRIORITIES = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
PRIORITY_BY_NAME = {v.lower(): k for k, v in PRIORITIES.items()}
RESOLUTIONS = {"10000": ("Done", "Work has been completed on this issue."),
               "10001": ("Won't Do", "This issue won't be actioned."),
               # a new Cloud site's other two (pycontribs' own test_resolution: 10002 is Duplicate)
               # [unc: 10003 and the wording]
               "10002": ("Duplicate", "The problem is a duplicate of an existing issue."),
               "10003": ("Cannot Reproduce", "All attempts at reproducing this issue failed, or not enough "
                                             "information was available to reproduce the issue.")}

LINK_TYPES = {
    "10000": ("Blocks", "is blocked by", "blocks"),
    "10001": ("Cloners", "is cloned by", "clones"),
    "10002": ("Duplicate", "is duplicated by", "duplicates"),
    "10003": ("Relates", "relates to", "relates to"),
}

# project key -> (id, name, description, simplified)
PROJECTS = {
    "SEC": ("10000", "Security Operations", "Vulnerabilities, access reviews and incident follow-up.", True),
    "GRC": ("10001", "Governance, Risk & Compliance", "Control testing, evidence and audit requests.", True),
    "ENG": ("10002", "Platform Engineering", "Product and platform engineering work.", False),
}
PROJECT_WEIGHTS = {"SEC": 3, "GRC": 2, "ENG": 5}

CONTROLS = ["AC-2", "AC-6", "AU-6", "CM-3", "CM-6", "CP-9", "IA-5", "IR-4", "RA-5", "SC-7", "SC-13", "SI-4"]
LABELS = ["security", "compliance", "audit", "backend", "frontend", "infra", "tech-debt", "customer", "q4-okr",
          "soc2", "pci"]

SYSTEMS = ["Okta", "AWS IAM", "GitHub", "Snowflake", "Kubernetes", "Jenkins", "Salesforce", "Workday", "VPN",
           "Vault", "Postgres", "S3 buckets", "Datadog", "ServiceNow", "Slack"]
VERBS = {
    "SEC": ["Rotate credentials for", "Review privileged access in", "Patch critical CVE in", "Enable MFA on",
            "Investigate alert from", "Harden configuration of", "Remove stale accounts from"],
    "GRC": ["Collect evidence for control in", "Document change management for", "Test backup restore of",
            "Quarterly access review of", "Map policy exceptions for", "Prepare auditor walkthrough of"],
    "ENG": ["Implement audit logging in", "Migrate service to", "Fix flaky tests around", "Add rate limiting to",
            "Upgrade client library for", "Refactor integration with", "Improve observability of"],
}
EPIC_THEMES = ["SOC 2 Type II readiness", "Zero trust rollout", "Q4 platform reliability", "Access review automation",
               "Vendor risk program", "Logging and monitoring uplift", "Customer data retention",
               "Incident response playbooks", "Cloud cost hygiene", "Identity consolidation"]
FIRST = ["Alex", "Priya", "Jordan", "Mei", "Samuel", "Fatima", "Lukas", "Ana", "Kwame", "Sofia", "Daniel", "Yuki",
         "Omar", "Elena", "Noah", "Aisha", "Mateo", "Hannah", "Ravi", "Chloe"]
LAST = ["Nguyen", "Patel", "Smith", "Garcia", "Kowalski", "Okafor", "Schmidt", "Silva", "Tanaka", "Haddad",
        "Johnson", "Rossi", "Mensah", "Novak", "Kim", "Ibrahim", "Lopez", "Weber", "Iyer", "Martin"]
TIME_ZONES = ["America/New_York", "Europe/Berlin", "Asia/Kolkata", "America/Los_Angeles", "Europe/London",
              "Australia/Sydney", "UTC"]


def system_fields() -> list[tuple[str, str, str, dict, list[str]]]:
    """(id, name, schema type, schema extras, clause names) for the system fields served by GET /field."""
    return [
        ("summary", "Summary", "string", {"system": "summary"}, ["summary"]),
        ("description", "Description", "string", {"system": "description"}, ["description"]),
        ("status", "Status", "status", {"system": "status"}, ["status"]),
        ("issuetype", "Issue Type", "issuetype", {"system": "issuetype"}, ["issuetype", "type"]),
        ("project", "Project", "project", {"system": "project"}, ["project"]),
        ("priority", "Priority", "priority", {"system": "priority"}, ["priority"]),
        ("assignee", "Assignee", "user", {"system": "assignee"}, ["assignee"]),
        ("reporter", "Reporter", "user", {"system": "reporter"}, ["reporter"]),
        ("creator", "Creator", "user", {"system": "creator"}, ["creator"]),
        ("labels", "Labels", "array", {"items": "string", "system": "labels"}, ["labels"]),
        ("parent", "Parent", "issuelink", {"system": "parent"}, ["parent"]),
        ("created", "Created", "datetime", {"system": "created"}, ["created", "createdDate"]),
        ("updated", "Updated", "datetime", {"system": "updated"}, ["updated", "updatedDate"]),
        ("resolution", "Resolution", "resolution", {"system": "resolution"}, ["resolution"]),
        ("resolutiondate", "Resolved", "datetime", {"system": "resolutiondate"}, ["resolutiondate", "resolved"]),
        ("statuscategorychangedate", "Status Category Changed", "datetime",
         {"system": "statuscategorychangedate"}, ["statusCategoryChangedDate"]),
        ("duedate", "Due date", "date", {"system": "duedate"}, ["due", "duedate"]),
        ("comment", "Comment", "comments-page", {"system": "comment"}, ["comment"]),
        ("attachment", "Attachment", "array", {"items": "attachment", "system": "attachment"}, ["attachments"]),
        ("issuelinks", "Linked Issues", "array", {"items": "issuelinks", "system": "issuelinks"}, ["issueLink"]),
        ("subtasks", "Sub-tasks", "array", {"items": "issuelinks", "system": "subtasks"}, ["subtasks"]),
        ("components", "Components", "array", {"items": "component", "system": "components"}, ["component"]),
        ("fixVersions", "Fix versions", "array", {"items": "version", "system": "fixVersions"}, ["fixVersion"]),
        ("statusCategory", "Status Category", "statusCategory", {"system": "statusCategory"},
         ["statusCategory"]),
        ("environment", "Environment", "string", {"system": "environment"}, ["environment"]),
        ("lastViewed", "Last Viewed", "datetime", {"system": "lastViewed"}, ["lastViewed"]),
        ("versions", "Affects versions", "array", {"items": "version", "system": "versions"}, ["affectedVersion"]),
        ("watches", "Watchers", "watches", {"system": "watches"}, ["watchers"]),
        ("votes", "Votes", "votes", {"system": "votes"}, ["votes"]),
        ("timetracking", "Time tracking", "timetracking", {"system": "timetracking"}, []),
        ("worklog", "Log Work", "array", {"items": "worklog", "system": "worklog"}, []),
        *TIME_FIELDS,
        ("security", "Security Level", "securitylevel", {"system": "security"}, ["level"]),
    ]


TIME_FIELDS = [(fid, name, typ, {"system": fid}, clauses) for fid, name, typ, clauses in (
    ("timespent", "Time Spent", "number", ["timespent"]),
    ("aggregatetimespent", "Σ Time Spent", "number", []),
    ("timeoriginalestimate", "Original estimate", "number", ["originalEstimate", "timeoriginalestimate"]),
    ("aggregatetimeoriginalestimate", "Σ Original Estimate", "number", []),
    ("timeestimate", "Remaining Estimate", "number", ["remainingEstimate", "timeestimate"]),
    ("aggregatetimeestimate", "Σ Remaining Estimate", "number", []),
    ("progress", "Progress", "progress", ["progress"]),
    ("aggregateprogress", "Σ Progress", "progress", []),
    ("workratio", "Work Ratio", "number", ["workratio"]))]


def custom_fields() -> list[tuple[str, str, str, dict, list[str]]]:
    """Custom fields: story points, sprint, rank (ids vary per real site; these are Cloud's common ones)."""
    return [
        (STORY_POINTS, "Story point estimate", "number",
         {"custom": "com.pyxis.greenhopper.jira:jsw-story-points", "customId": 10016},
         ["cf[10016]", "Story point estimate"]),
        (SPRINT, "Sprint", "array",
         {"items": "json", "custom": "com.pyxis.greenhopper.jira:gh-sprint", "customId": 10020},
         ["cf[10020]", "Sprint"]),
        (RANK, "Rank", "any", {"custom": "com.pyxis.greenhopper.jira:gh-lexo-rank", "customId": 10019},
         ["cf[10019]", "Rank"]),
    ]
