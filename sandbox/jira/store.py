"""Live state of the emulated Jira site and its write primitives.

Every write goes through here: it replaces the `Issue` record (copy-on-write), appends a changelog
entry, bumps `updated`, submits the new version to the search index (with the configured lag) and
notifies listeners (webhooks). Comments/changelog/attachments of untouched seeded issues are derived on
demand; the first write to an issue freezes them into the store.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Callable
from typing import Any

from sandbox.core.clock import SandboxClock
from sandbox.jira import catalog as C
from sandbox.jira import extras
from sandbox.jira.changes import diff_items
from sandbox.jira.ids import is_id
from sandbox.jira.index import SearchIndex
from sandbox.jira.model import Attachment, Comment, History, Issue, Link
from sandbox.jira.seed import generate
from sandbox.jira.sprint_holdings import SprintHoldings
from sandbox.jira.timefmt import to_ms

Listener = Callable[[dict[str, Any]], None]


class JiraStore:
    """Issues, users, projects, boards, sprints, links; thread-safe writes."""

    def __init__(self, seed: int, size: int, clock: SandboxClock, user_tz: str,
                 lag: Callable[[], float] = lambda: 0.0) -> None:
        self.seed, self.clock, self.lag = seed, clock, lag
        self.lock = threading.RLock()
        self.listeners: list[Listener] = []
        data = generate(seed, size, to_ms(clock.anchor), user_tz)
        self.me = data.me
        self.users = {u.account_id: u for u in data.users}
        self.people = [u.account_id for u in data.users]
        self.login_user: str | None = None  # the second login's account id (`JiraSandbox._new_store`)
        self.projects, self.boards, self.sprints = data.projects, data.boards, data.sprints
        self.issues: dict[int, Issue] = {i.id: i for i in data.issues}
        self.by_key: dict[str, int] = {i.key: i.id for i in data.issues}
        self.children: dict[int, set[int]] = {}
        for i in data.issues:
            if i.parent_id is not None:
                self.children.setdefault(i.parent_id, set()).add(i.id)
        self.links: dict[int, Link] = {}
        self._links_by: dict[int, set[int]] = {}
        for lk in data.links:
            self._index_link(lk)
        self.relations_version = 0  # bumped by watcher, vote, (remote) link, worklog, group and
        # component-lead changes (JQL result caches key on it)
        self.next_num = {k: 0 for k in self.projects}
        for i in data.issues:
            self.next_num[i.project] = max(self.next_num[i.project], i.num)
        self.next_id = 10000 + size
        self.seed_end = self.next_id  # issue ids below it came from the seed (`from_seed`)
        self._next_obj = extras.FIRST_NEW_ID
        self._comments: dict[int, list[Comment]] = {}
        self._history: dict[int, list[History]] = {}
        self._attachments: dict[int, list[Attachment]] = {}
        self.deleted: dict[int, Issue] = {}
        # worklogs / remote links / watchers by issue id, components / versions by id (`routes_work`, `routes_versions`)
        self.work: dict[str, dict[int, Any]] = {"worklogs": {}, "remote": {}, "watchers": {}, "components": {},
                                                "versions": {}}
        self.rng = random.Random(seed ^ 0x5EED)
        # issue link types: id -> (name, inward, outward); `routes_schemes` creates, renames and deletes them
        self.link_types: dict[str, tuple[str, str, str]] = dict(C.LINK_TYPES)
        # issue types: id -> (name, hierarchyLevel, subtask, description); `routes_issuetypes` adds, edits, deletes
        self.issue_types: dict[str, tuple[str, int, bool, str]] = dict(C.ISSUE_TYPES)
        self.index = SearchIndex(data.issues)
        self.sprint_holdings = SprintHoldings(data.issues)  # project -> sprint ids its live issues are in
        self.index.on_submit = self.sprint_holdings.note

    # --- reads ----------------------------------------------------------------------------
    def type_id(self, ref: str | None) -> str | None:
        """An issue type id from its id or name (any case; "Sub-task" names the subtask type)."""
        text = (ref or "").strip().lower()
        if text in self.issue_types:
            return text
        found = next((k for k, t in self.issue_types.items() if t[0].lower() == text), None)
        return found or (C.SUBTASK if text == "sub-task" and C.SUBTASK in self.issue_types else None)

    def from_seed(self, issue: Issue) -> bool:
        """Whether the seed made the issue (edited since or not; `Issue.seeded` turns False at the first write).
        The seed puts an issue straight into a sprint, often one started before its creation, with no Sprint
        changelog: the agile reports read such an issue as there since the sprint started."""
        return issue.id < self.seed_end

    def now_ms(self) -> int:
        return to_ms(self.clock.now())

    def resolve(self, ref: str | int | None) -> Issue | None:
        """Live issue by key ("SEC-12", case-insensitive) or id."""
        if ref is None:
            return None
        text = str(ref).strip()
        # only ASCII digits of an id's size are an id: "²".isdecimal() holds (int() refuses it) and int() refuses
        # over 4300 digits, both HTTP 500 from a JSON body; anything else is looked up as a key (None)
        iid = int(text) if is_id(text) else self.by_key.get(text.upper())
        return self.issues.get(iid) if iid is not None else None

    def comments_of(self, issue: Issue) -> list[Comment]:
        got = self._comments.get(issue.id)
        if got is None:
            return extras.comments(self.seed, issue, self.people) if issue.seeded else []
        return got

    def history_of(self, issue: Issue) -> list[History]:
        got = self._history.get(issue.id)
        if got is None:
            return extras.changelog(self.seed, issue, self.people) if issue.seeded else []
        return got

    def attachments_of(self, issue: Issue) -> list[Attachment]:
        got = self._attachments.get(issue.id)
        if got is None:
            return extras.attachments(self.seed, issue, self.people) if issue.seeded else []
        return got

    def attachment(self, attachment_id: int) -> Attachment | None:
        for atts in list(self._attachments.values()):
            for a in atts:
                if a.id == attachment_id:
                    return a
        owner = extras.attachment_owner(attachment_id)
        issue = self.issues.get(owner) if owner is not None else None
        if issue is not None and issue.seeded:
            return next((a for a in self.attachments_of(issue) if a.id == attachment_id), None)
        return None

    def links_of(self, issue_id: int) -> list[Link]:
        return [self.links[x] for x in sorted(self._links_by.get(issue_id, ())) if x in self.links]

    def _index_link(self, link: Link) -> None:
        self.links[link.id] = link
        for side in (link.inward_id, link.outward_id):
            self._links_by.setdefault(side, set()).add(link.id)

    def remove_link(self, link_id: int) -> Link | None:
        with self.lock:
            link = self.links.pop(link_id, None)
            if link is not None:
                self.relations_version += 1
                for side in (link.inward_id, link.outward_id):
                    self._links_by.get(side, set()).discard(link_id)
            return link

    def new_id(self) -> int:
        with self.lock:
            self._next_obj += 1
            return self._next_obj

    # --- writes ---------------------------------------------------------------------------
    def _freeze(self, issue: Issue) -> Issue:
        if not issue.seeded:
            return issue
        self._comments.setdefault(issue.id, self.comments_of(issue))
        self._history.setdefault(issue.id, self.history_of(issue))
        self._attachments.setdefault(issue.id, self.attachments_of(issue))
        return dataclasses.replace(issue, seeded=False)

    def _emit(self, event: str, type_name: str, issue: Issue, actor: str, **extra: Any) -> None:
        payload = {"webhookEvent": event, "issue_event_type_name": type_name, "issue": issue, "user": actor,
                   "timestamp": self.now_ms(), **extra}
        for listener in list(self.listeners):
            listener(payload)

    def _put(self, new: Issue) -> None:
        self.issues[new.id] = new
        self.index.submit(new.id, new, self.lag())

    def create(self, project: str, attrs: dict[str, Any], actor: str) -> Issue:
        with self.lock:
            self.next_num[project] += 1
            num, iid, now = self.next_num[project], self.next_id, self.now_ms()
            self.next_id += 1
            base = {"priority_id": "3", "assignee": None, "reporter": actor, "creator": actor, "labels": (),
                    "parent_id": None, "points": None, "sprints": (), "description": None, "duedate": None,
                    "status_id": C.TODO_STATUS, "resolution_id": None, "resolved": None}
            base.update(attrs)
            issue = Issue(id=iid, key=f"{project}-{num}", project=project, num=num, created=now, updated=now,
                          status_changed=now, rank=f"0|i{iid - 10000:05x}:", seeded=False, **base)
            self.by_key[issue.key] = iid
            self._comments[iid], self._history[iid], self._attachments[iid] = [], [], []
            if issue.parent_id is not None:
                self.children.setdefault(issue.parent_id, set()).add(iid)
            self._put(issue)
        self._emit("jira:issue_created", "issue_created", issue, actor)
        return issue

    def update(self, issue_id: int, changes: dict[str, Any], actor: str, type_name: str = "issue_updated",
               comment: Comment | None = None,
               metadata: dict[str, Any] | None = None) -> tuple[Issue, History | None]:
        """Apply attribute changes; returns the new record and its changelog entry (None if nothing changed)."""
        with self.lock:
            old = self.issues[issue_id]
            items = diff_items(old, changes, self)
            if not items and comment is None:
                return old, None
            now = self.now_ms()
            base = self._freeze(old)
            extra: dict[str, Any] = {"updated": now}
            if "status_id" in changes and C.STATUSES[changes["status_id"]][1] != C.STATUSES[old.status_id][1]:
                extra["status_changed"] = now
            real = {k: v for k, v in changes.items() if not k.startswith("_")}
            new = dataclasses.replace(base, **real, **extra)
            if old.parent_id != new.parent_id:
                self.children.get(old.parent_id, set()).discard(issue_id)
                if new.parent_id is not None:
                    self.children.setdefault(new.parent_id, set()).add(issue_id)
            history = None
            if items:
                history = History(self.new_id(), actor, now, items, metadata)
                self._history[issue_id].append(history)
            self._put(new)
        self._emit("jira:issue_updated", type_name, new, actor, changelog=history, comment=comment)
        return new, history

    def delete(self, issue_id: int, actor: str) -> Issue | None:
        with self.lock:
            issue = self.issues.pop(issue_id, None)
            if issue is None:
                return None
            self.by_key.pop(issue.key, None)
            self.deleted[issue_id] = issue
            self.children.get(issue.parent_id, set()).discard(issue_id)
            for lk in self.links_of(issue_id):
                self.remove_link(lk.id)
            self.index.submit(issue_id, None, self.lag())
        self._emit("jira:issue_deleted", "issue_deleted", issue, actor)
        return issue

    def add_comment(self, issue_id: int, body: Any, actor: str,
                    visibility: dict[str, Any] | None = None) -> Comment:
        with self.lock:
            issue = self.issues[issue_id]
            frozen = self._freeze(issue)
            if frozen is not issue:
                self.issues[issue_id] = frozen
            now = self.now_ms()
            comment = Comment(self.new_id(), issue_id, actor, body, now, now, actor, visibility)
            self._comments[issue_id].append(comment)
        self.update(issue_id, {}, actor, "issue_commented", comment=comment)
        self._emit("comment_created", "issue_commented", self.issues[issue_id], actor, comment=comment)
        return comment

    def add_attachment(self, issue_id: int, filename: str, mime: str, data: bytes, actor: str) -> Attachment:
        with self.lock:
            issue = self.issues[issue_id]
            frozen = self._freeze(issue)
            if frozen is not issue:
                self.issues[issue_id] = frozen
            att = Attachment(self.new_id(), issue_id, filename, mime, self.now_ms(), actor, data)
            self._attachments[issue_id].append(att)
        self.update(issue_id, {"_attachment": att}, actor)
        return att

    def add_link(self, type_id: str, inward_id: int, outward_id: int, actor: str) -> Link:
        with self.lock:
            for same in self.links_of(inward_id):  # Jira keeps one link per type and direction: no duplicate
                if (same.type_id, same.inward_id, same.outward_id) == (type_id, inward_id, outward_id):
                    return same
            link = Link(self.new_id(), type_id, inward_id, outward_id)
            self._index_link(link)
            self.relations_version += 1
        return link
