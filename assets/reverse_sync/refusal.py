"""An account-wide write refusal: the integration account lost its write role (round 30).

Every insert and update then answers 403 "Operation Failed" with an ACL exception (or 401 on writes only, the
reads still working). Each is a refusal "about this record" to the engine (:class:`writes.RecordRefused`, no
breaker count), and with the breaker off (every environment but prod) or not yet open, a push of 100 records
sent 100 failing writes and dead-lettered all of them, run after run.

A push now stops sending after ``STREAK`` (3) writes in a row refused with the same account-level answer (401,
or 403 naming an ACL / security constraint; never a business rule or a data policy, which refuse one record for
its values) while no write of the run succeeded. The records not yet sent wait in dead letters as ``deferred:``
with a reason naming the fix (the role to grant, from the writer's ``refusal_fix``), the report counts them in
``deferred_refused`` and the CLI exits 2 (the vendor refusing us). Until the first success only ``STREAK``
records are in flight, so no more than ``STREAK`` writes are sent. A write that succeeds ends it for the run:
refusals among successes are per-record (an ACL on one record) and only those records are dead-lettered.

A 403 with no reason at all (``VendorAuthError``: refused again after a token renewal, no body saying why) is an
account-level answer too. Jira's 403 "You do not have permission to ..." on an issue that takes no edit is a
project's (``jira_frozen`` holds the issue and names its project, ``refusal_scope``): three of those in a row in
one project, none of its writes succeeding, stop that project's records only (``stopped_for``), so a project that
lost the Edit Issues grant costs three edits a push, not one per issue, and the other projects go on.

Only writers that define ``refusal_fix`` take part (ServiceNow, Jira); the others are unchanged.
"""

from __future__ import annotations

import re
import threading
from typing import Any

from pipelines.common.http import VendorAuthError, VendorError

STREAK = 3
# what a ServiceNow ACL refusal says (Table API: "ACL Exception Update Failed due to security constraints")
_ACL = re.compile(r"\bACL\b|security constraints?|insufficient (rights|privileges)|not authori[sz]ed"
                  # Jira's 403 for a permission the account lacks in the project ("You do not have permission to
                  # edit issues in this project"); its 404 "... or you do not have permission to see it" is no 403
                  r"|\bdo(es)? not have (the )?permissions? to\b", re.I)
# the vendor's own words for a refusal of one record for its values (not our "Fix the ... business rule" hint)
_PER_RECORD = re.compile(r"aborted by business rule|data policy", re.I)
# methods, paths, sys_ids, record numbers and the operation ServiceNow names ("ACL Exception Update Failed" for
# a PATCH, "ACL Exception Insert Failed" for a POST): an update and a create refused alike are the same refusal
_VARIABLE = re.compile(r"\b(GET|POST|PATCH|PUT|DELETE)\b|\b(Insert|Update|Delete|Read)\b|\S*/\S*"
                       r"|\b[0-9a-f]{32}\b|\b[A-Z]+\d{4,}\b")


def per_record(exc: VendorError) -> bool:
    """Whether ``exc`` is the vendor refusing one record for its values (a business rule, a data policy)."""
    return bool(_PER_RECORD.search(" ".join(str(exc).split())))


def signature(exc: VendorError) -> str | None:
    """The account-level refusal ``exc`` is (its status and text without the record's path or id), or None."""
    text = " ".join(str(exc).split())
    if exc.status == 401 or (isinstance(exc, VendorAuthError) and exc.status in (None, 401)):
        return f"401 {_VARIABLE.sub('', text)[:200]}"
    if exc.status == 403 and isinstance(exc, VendorAuthError):  # a 403 with no reason: the credentials refused
        return f"403 {_VARIABLE.sub('', text)[:200]}"
    if exc.status == 403 and _ACL.search(text) and not _PER_RECORD.search(text):
        return f"403 {_VARIABLE.sub('', text)[:200]}"
    return None


class AccountRefusal:
    """Per run: the streak of identical account-level refusals, and whether it stopped the push."""

    def __init__(self, writer: Any, enabled: bool = True):
        self.vendor = writer.vendor
        self.fix: str | None = getattr(writer, "refusal_fix", None) if enabled else None
        self.lock = threading.Lock()
        self.streak, self.last, self.succeeded = 0, None, False
        self.example: str | None = None
        # refusals about one scope only (a Jira project whose permission the account lacks, ``jira_frozen``):
        # scope -> [streak, signature, example]; a stop there defers that scope's records, not the others'
        self.scoped: dict[str, list[Any]] = {}
        self.scopes_written: set[str] = set()
        self.account_stopped = False  # the account-wide stop deferred a record in this run

    @property
    def watching(self) -> bool:
        return self.fix is not None and not self.succeeded

    def success(self, scope: str | None = None) -> None:
        with self.lock:
            self.succeeded, self.streak = True, 0
            if scope is not None:
                self.scopes_written.add(scope)
                self.scoped.pop(scope, None)

    def failure(self, exc: VendorError, scope: str | None = None) -> None:
        # a record held for the refusal (jira_frozen: dead-lettered as 409) still counts as the answer it was, in
        # the scope it names (its project): another project's records go on being sent
        answer = getattr(exc, "account_answer", None)
        if answer is not None and getattr(exc, "refusal_scope", None) is not None:
            self._scoped_failure(answer, str(exc.refusal_scope))  # type: ignore[attr-defined]
            return
        if scope is not None and scope in self.scoped:
            self._scoped_failure(exc, scope)  # another answer in that scope breaks its streak
        if not self.watching:
            return
        exc = answer or exc
        found = signature(exc)
        with self.lock:
            if found is None:
                self.streak, self.last = 0, None
            elif found == self.last:
                self.streak += 1
            else:
                self.streak, self.last, self.example = 1, found, " ".join(str(exc).split())[:300]

    def _scoped_failure(self, exc: VendorError, scope: str) -> None:
        if self.fix is None or scope in self.scopes_written:
            return
        found = signature(exc)
        with self.lock:
            streak, last, _ = self.scoped.get(scope) or [0, None, None]
            if found is None:
                self.scoped.pop(scope, None)
            elif found == last:
                self.scoped[scope][0] = streak + 1
            else:
                self.scoped[scope] = [1, found, " ".join(str(exc).split())[:300]]

    @property
    def stopped(self) -> bool:
        return self.watching and self.streak >= STREAK

    def stopped_for(self, scope: str | None) -> str | None:
        """Why a record of ``scope`` is not sent (the account's stop, or its scope's), or None."""
        if self.stopped:
            self.account_stopped = True
            return self.reason()
        entry = self.scoped.get(scope) if scope is not None else None
        if entry is None or entry[0] < STREAK or scope in self.scopes_written:
            return None
        return (f"deferred: {self.vendor} refused {STREAK} writes in a row in {scope}, with none there succeeding "
                f"({entry[2]}): the integration account lacks a permission in {scope}. Fix: {self.fix}. Not sent "
                "in this push; the next push sends it")

    def in_flight(self, width: int, scope: str | None = None) -> int:
        """Records in flight before the run's first success: never more than the refusals still tolerated (and
        while a scope's streak runs, no more than that scope still tolerates)."""
        entry = self.scoped.get(scope) if scope is not None and scope not in self.scopes_written else None
        if entry is not None and self.fix is not None:
            width = max(1, min(width, STREAK - entry[0]))
        if not self.watching:
            return width
        return max(1, min(width, STREAK - self.streak))

    def reason(self) -> str:
        """The dead letter of a record not sent (no secret: the vendor's text is masked by :mod:`writes`)."""
        return (f"deferred: {self.vendor} refused {STREAK} writes in a row for the whole account, with no write of "
                f"this push succeeding ({self.example}): the integration account cannot write. Fix: {self._fix()}. "
                "Not sent in this push; the next push sends it")

    def summary(self, deferred: int) -> str:
        where = sorted(s for s, e in self.scoped.items() if e[0] >= STREAK and s not in self.scopes_written)
        if self.account_stopped or not where:  # (a write in flight at the stop may have succeeded since)
            return (f"{self.vendor}: writes refused for the whole account ({STREAK} in a row, none succeeded: "
                    f"{self.example}); stopped sending, {deferred} records deferred. Fix: {self._fix()}")
        example = self.scoped[where[0]][2]
        return (f"{self.vendor}: writes refused in {', '.join(where)} ({STREAK} in a row there, none succeeded: "
                f"{example}); stopped sending there, {deferred} records deferred. Fix: {self.fix}")

    def _fix(self) -> str:
        if (self.last or "").startswith("401"):  # reads work, writes are not authenticated: credentials or roles
            return f"check the credentials the refusal names, then {self.fix}"
        return str(self.fix)
