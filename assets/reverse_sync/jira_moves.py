"""Workflow transitions of the Jira remediation issues, each with a comment saying why (close, reopen).

One request does both when the transition has a screen: ``POST /issue/{id}/transitions`` with
``update.comment``. On a transition without a screen Jira refuses every field and update, the comment
included: 400 ``{"errorMessages": [], "errors": {"comment": "Field 'comment' cannot be set. It is not on the
appropriate screen, or unknown."}}`` (the OpenAPI spec: 400 when "a field that isn't included on the
transition screen is defined in fields or update"). Only the ``errors`` key is read: the message is in the
integration account's language. Then the comment is posted on its own (``POST /issue/{id}/comment``) and the
transition follows without it; the writer remembers the workflow's transition (project, transition id) for the
rest of the run and logs once that it has no screen. Any other refusal stays the record's dead letter.

Comment first, then the transition: a push that dies between the two (or a transition Jira then refuses)
leaves the record still to close or reopen, so the next run plans the move again, finds the comment already
there and only transitions. In the other order the issue would already be in its new status, the next run
would plan nothing and the comment would be lost. The comment counts as there when the integration account's
latest comment on the issue says it and is not older than the issue's last change of status category (so the
same note from an earlier close, before a person reopened the issue, is not taken for this one). Both writes go
through ``Writes.once``: an unclear answer is looked up before anything is sent again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from assets.reverse_sync.jira_shapes import refused_for_only
from assets.reverse_sync.writes import Writes
from pipelines.common.cursor import parse_vendor_ts
from pipelines.common.http import VendorError
from pipelines.jira.settings import API

log = logging.getLogger("assets.reverse_sync.jira")


class Moves:
    """Close and reopen by workflow transition for one writer (``JiraIssueWriter``), over its session."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.screenless: set[tuple[str, str]] = set()  # (project, transition id) Jira refused a comment with
        self.logged = False
        self.lock = threading.Lock()  # a push moves several records at once, each from its own thread

    def move(self, writes: Writes, operation: str, vendor_id: str, internal_id: str, project: str, target: str,
             note: str, body: dict[str, Any]) -> None:
        """Transition the issue into a status of ``target`` (a status category) with ``note`` (``body``: as ADF)."""
        tid = self.writer.transition_to(vendor_id, target)
        refused: list[VendorError] = []  # the transition POST's own 400, not the comment's
        try:
            return self._move(writes, operation, vendor_id, internal_id, project, target, note, body, tid, refused)
        except VendorError as exc:
            if not refused or refused[-1] is not exc:
                raise
        # Jira refused the transition id it offered when planned: the workflow may have been edited between
        # (a transition deleted, re-created under another id). Read the transitions once more, never twice.
        fresh = self.writer.transition_to(vendor_id, target)  # none left: its own 409 naming the workflow
        if fresh == tid:
            raise VendorError(
                f"Jira refused transition {tid} of the workflow of project {self.project_of(vendor_id, project)} "
                f"for issue {vendor_id} ({refused[-1]}) and still offers it when read again: the workflow was "
                f"edited or is being published. Check that workflow in Jira (a transition into a '{target}' status "
                "must be available to the integration account); the next push reads the transitions again", 400)
        self._move(writes, operation, vendor_id, internal_id, project, target, note, body, fresh, [])

    def project_of(self, vendor_id: str, project: str) -> str:
        """The issue's project key, for an error (a closing record's desired values name none)."""
        if project:
            return project
        try:
            issue = self.writer.client.get(f"{API}/issue/{vendor_id}", fields="project")
            return str(((issue or {}).get("fields") or {}).get("project", {}).get("key") or "(unknown)")
        except (VendorError, AttributeError):
            return "(unknown)"

    def _move(self, writes: Writes, operation: str, vendor_id: str, internal_id: str, project: str, target: str,
              note: str, body: dict[str, Any], tid: str, refused: list[VendorError]) -> None:
        w, path = self.writer, f"{API}/issue/{vendor_id}/transitions"

        def transition(payload: dict[str, Any], **kw: Any) -> None:
            try:
                writes.once(w.session, "POST", path, json=payload, parse=lambda response: vendor_id,
                            find=lambda: w.in_category(vendor_id, target), what="transition", operation=operation,
                            object_id=vendor_id, internal_id=internal_id, **kw)
            except VendorError as exc:
                if exc.status == 400:
                    refused.append(exc)
                raise

        if (project, tid) not in self.screenless:
            answers: list[Any] = []
            try:
                transition({"transition": {"id": tid}, "update": {"comment": [{"add": {"body": body}}]}},
                           hooks={"response": [lambda r, *a, **k: answers.append(r)]})
                return
            except VendorError as exc:
                if not comment_off_screen(exc, answers[-1] if answers else None):
                    raise
                refused.clear()  # refused for its comment only: not a transition gone
            with self.lock:
                self.screenless.add((project, tid))
                first, self.logged = not self.logged, True
            if first:
                log.info("Jira workflow transition %s of project %s has no screen, so Jira refuses a comment with "
                         "it: Project X posts its close/reopen comment separately, before the transition (logged "
                         "once a run)", tid, project)
        find: Callable[[], str | None] = lambda: self.note_since_move(vendor_id, note)  # noqa: E731
        if find() is None:  # else left by a run that stopped before its transition: not posted twice
            writes.once(w.session, "POST", f"{API}/issue/{vendor_id}/comment", json={"body": body},
                        parse=lambda response: str(response.json()["id"]), find=find, what="new comment's id",
                        operation="comment", object_id=vendor_id, internal_id=internal_id)
        transition({"transition": {"id": tid}})

    def note_since_move(self, vendor_id: str, note: str) -> str | None:
        """The id of the integration account's latest comment on the issue if it says ``note`` and is not older
        than the issue's last change of status category, else None."""
        latest = self.writer.latest_comment(vendor_id)
        if latest is None or self.writer.comment_text(latest.get("body")) != note:
            return None
        issue = self.writer.client.get(f"{API}/issue/{vendor_id}", fields="statuscategorychangedate")
        moved = ((issue or {}).get("fields") or {}).get("statuscategorychangedate") if isinstance(issue, dict) \
            else None
        try:
            # strictly older: the same words from an earlier move (the same millisecond counts as after it)
            if moved and parse_vendor_ts(str(latest.get("created"))) < parse_vendor_ts(str(moved)):
                return None
        except ValueError:
            pass  # a timestamp that does not parse: the words alone decide (never post twice)
        return str(latest["id"])


def comment_off_screen(exc: VendorError, response: Any) -> bool:
    """Whether Jira refused the transition only for its comment (a 400 whose ``errors`` names just
    ``comment`` and no ``errorMessages``): then the transition without it goes through."""
    return refused_for_only(exc.status, response, "comment")
