"""A Jira issue that takes no edit at all: held with a doubling backoff instead of refused on every push.

Jira answers an empty editmeta (``{"fields": {}}``) for an issue the integration account cannot edit: one in a
workflow status with the property ``jira.issue.editable = false`` (a classic workflow's Closed), or in a project
where the account lacks the Edit Issues permission [unc: Atlassian documents the empty editmeta for the status
property; the permission case reads the same on the sites seen]. Its edit is then refused for every field it
sends (400, each field "cannot be set"), or with 403. Before, that record's dead letter was sent again by every
push: a read, a refused PUT and an editmeta read each time, for ever.

So when an edit is refused (400, or 403 with Jira's reason: ``writes.RecordRefused``) and the issue's editmeta, read
with it, lists no field (a bare 403, ``VendorAuthError``, is the account's: never held, the breaker counts it; a
403 "You do not have permission to ..." is held and also counts toward the account-wide refusal stop, ``refusal.py``):

- the refusal is audited as operation ``not_editable`` (the issue's id, Jira's status) and the record is
  dead-lettered (409: about this record, not Jira's health, so no breaker count) with a reason starting
  ``not_editable:`` that keeps Jira's answer and names the fix (reopen the issue, allow edits in that status, or
  grant the account Edit Issues);
- the next pushes do not read or write the issue while the hold runs: ``PROJECTX_JIRA_EDIT_RETRY_SECONDS``
  (default 3600; 0: no hold; at most 86400, a larger value stops the push before any call with an error naming
  the setting) after the last refusal, doubled per refusal of the same dead-letter episode, at most a day (the
  bookkeeping of :func:`assets.reverse_sync.holds.held_until`). Until then the record waits as a dead
  letter whose reason starts ``deferred: not_editable:``; each push still counts it (``dead_lettered``) and
  adds an attempt, so nothing is dropped silently;
- once the hold has passed the push plans it again (the read) and sends the edit: written and the dead letter
  cleared when the issue takes edits again, else refused, audited and held twice as long;
- a close (the control passes) is a workflow transition, not an edit: it is never held; nor is a fresh reopen (the
  control fails again), whose transition goes before the edit (``JiraIssueWriter.steps``), so the edit finds the
  issue open again. A reopen whose move went through but whose edit was refused is held like any other.
"""

from __future__ import annotations

from typing import Any

from pipelines.common.http import VendorError

from . import holds

NOT_EDITABLE = "not_editable"
SETTING = "PROJECTX_JIRA_EDIT_RETRY_SECONDS"


def hold_seconds() -> int:
    """The first hold after a refusal, from the environment (a bad value raises before any vendor call)."""
    return holds.setting(SETTING)


def _why(vendor_id: str, project: str) -> str:
    return (f"Jira issue {vendor_id} (project {project}) takes no edit: its editmeta lists no field, so Jira refuses "
            "every field of an edit. It is in a workflow status with jira.issue.editable = false (such as a classic "
            f"workflow's Closed), or the integration account lacks the Edit Issues permission in project {project}. "
            "Fix: reopen the issue in Jira, allow edits in that status, or grant the account Edit Issues")


def per_issue(exc: VendorError) -> bool:
    """Whether the refusal of an edit is about this issue: a 400, or a 403 carrying Jira's reason (``RecordRefused``).
    A bare 403 (no reason: ``VendorAuthError``) is the account's, not the issue's: never held, so the breaker and
    the account-wide refusal stop (``refusal.py``) still see it."""
    from assets.reverse_sync.writes import RecordRefused

    return exc.status == 400 or isinstance(exc, RecordRefused)


def refused(exc: VendorError, vendor_id: str, internal_id: str, project: str, hold: int, writes: Any) -> VendorError:
    """Audit the refusal (``not_editable``) and return the error the record is dead-lettered with."""
    reason = (f"{NOT_EDITABLE}: {_why(vendor_id, project)}. Jira answered: {str(exc)[:600]}"
              + (f". Not sent again for {hold} s ({SETTING}, doubled per refusal, at most a day)" if hold else ""))
    writes._audit(NOT_EDITABLE, vendor_id, internal_id, exc.status, reason[:300])
    held = VendorError(reason, 409)
    held.account_answer = exc  # type: ignore[attr-defined]  # refusal.py counts Jira's answer toward a stop
    held.refusal_scope = f"project {project}"  # type: ignore[attr-defined]  # of this project only
    return held


def check(writes: Any, vendor_id: str, internal_id: str, project: str, hold: int) -> None:
    """Raise the record's ``deferred: not_editable:`` error while its hold runs (no vendor call is made)."""
    until = holds.held_until(writes, writes.vendor, vendor_id, internal_id, hold, NOT_EDITABLE)
    if until is not None:
        raise VendorError(
            f"deferred: {NOT_EDITABLE}: {_why(vendor_id, project)}. Held: not sent again before "
            f"{until:%Y-%m-%d %H:%M:%S} UTC, nor read ({SETTING}, doubled per refusal, at most a day), so the issue "
            "costs no request on every push", 409)
