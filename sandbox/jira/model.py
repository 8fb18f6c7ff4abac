"""Plain records the Jira emulator keeps in memory.

`Issue` values are replaced (copy-on-write via `dataclasses.replace`), never mutated, so the search
index can keep an older version of an issue while the live store already serves the new one
(eventual consistency). Times are epoch milliseconds (UTC). Rich text (description, comment body) is
stored as given: a plain string (v2 clients) or an ADF document dict (v3 clients).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class User:
    account_id: str
    display_name: str
    email: str
    time_zone: str
    active: bool = True
    account_type: str = "atlassian"
    email_visible: bool = True  # profile visibility: False hides `emailAddress` from everyone but the user

    def found_by(self, query: str) -> bool:
        """Jira Cloud's user `query` (lower case): a prefix of the e-mail address (hidden or not), of the
        display name or of one of its words."""
        name = self.display_name.lower()
        return name.startswith(query) or self.email.lower().startswith(query) or \
            any(w.startswith(query) for w in name.split())


@dataclass(slots=True)
class Project:
    key: str
    id: str
    name: str
    description: str
    simplified: bool
    lead: str  # accountId


@dataclass(slots=True)
class Board:
    id: int
    name: str
    type: str
    project: str  # project key (the board's issues); for a board created from a filter, its project
    owner: str | None = None  # accountId when the board is located under a user rather than a project


@dataclass(slots=True)
class Sprint:
    id: int
    board_id: int
    name: str
    state: str  # closed | active | future
    start: int | None
    end: int | None
    complete: int | None
    created: int
    goal: str


@dataclass(slots=True)
class Issue:
    id: int
    key: str
    project: str
    num: int
    type_id: str
    status_id: str
    summary: str
    description: Any  # str | ADF dict | None
    priority_id: str | None
    assignee: str | None
    reporter: str | None
    creator: str | None
    labels: tuple[str, ...]
    parent_id: int | None
    points: float | None
    sprints: tuple[int, ...]
    created: int
    updated: int
    resolution_id: str | None
    resolved: int | None
    status_changed: int
    duedate: str | None
    rank: str
    seeded: bool = True  # extras (comments, changelog, attachment) still come from the seed
    components: tuple[int, ...] = ()  # component ids (`JiraStore.work["components"]`)
    fix_versions: tuple[int, ...] = ()  # version ids (`JiraStore.work["versions"]`)
    versions: tuple[int, ...] = ()  # affected version ids
    custom: tuple[tuple[str, Any], ...] = ()  # values of API-made custom fields, sorted (`custom_values`)
    original_estimate: int | None = None  # time tracking, seconds (`estimates`)
    remaining_estimate: int | None = None
    environment: Any = None  # str | ADF dict | None, like the description


@dataclass(slots=True)
class Comment:
    id: int
    issue_id: int
    author: str
    body: Any  # str | ADF dict
    created: int
    updated: int
    update_author: str
    visibility: dict[str, Any] | None = None  # {"type": "role"|"group", "value"|"identifier": ...}


@dataclass(slots=True)
class History:
    id: int
    author: str
    created: int
    items: list[dict[str, Any]] = field(default_factory=list)
    metadata: dict[str, Any] | None = None  # the write's `historyMetadata` (`issue_body_extras`)


@dataclass(slots=True)
class Attachment:
    id: int
    issue_id: int
    filename: str
    mime_type: str
    created: int
    author: str
    data: bytes


@dataclass(slots=True)
class Link:
    id: int
    type_id: str
    inward_id: int  # the issue on the "inward" side (e.g. "is blocked by")
    outward_id: int  # the issue on the "outward" side (e.g. "blocks")
