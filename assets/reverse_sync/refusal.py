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
account-level answer too, and so is Jira's 403 "You do not have permission to ..." (the account lacks a project
permission): three of those in a row stop the push even when each issue is also held (``jira_frozen``), so a project
that lost the Edit Issues grant costs three edits a push, not one per issue, and says which grant to restore.

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

    @property
    def watching(self) -> bool:
        return self.fix is not None and not self.succeeded

    def success(self) -> None:
        with self.lock:
            self.succeeded, self.streak = True, 0

    def failure(self, exc: VendorError) -> None:
        if not self.watching:
            return
        # a record held for the refusal (jira_frozen: dead-lettered as 409) still counts as the answer it was
        exc = getattr(exc, "account_answer", None) or exc
        found = signature(exc)
        with self.lock:
            if found is None:
                self.streak, self.last = 0, None
            elif found == self.last:
                self.streak += 1
            else:
                self.streak, self.last, self.example = 1, found, " ".join(str(exc).split())[:300]

    @property
    def stopped(self) -> bool:
        return self.watching and self.streak >= STREAK

    def in_flight(self, width: int) -> int:
        """Records in flight before the run's first success: never more than the refusals still tolerated."""
        if not self.watching:
            return width
        return max(1, min(width, STREAK - self.streak))

    def reason(self) -> str:
        """The dead letter of a record not sent (no secret: the vendor's text is masked by :mod:`writes`)."""
        return (f"deferred: {self.vendor} refused {STREAK} writes in a row for the whole account, with no write of "
                f"this push succeeding ({self.example}): the integration account cannot write. Fix: {self._fix()}. "
                "Not sent in this push; the next push sends it")

    def summary(self, deferred: int) -> str:
        return (f"{self.vendor}: writes refused for the whole account ({STREAK} in a row, none succeeded: "
                f"{self.example}); stopped sending, {deferred} records deferred. Fix: {self._fix()}")

    def _fix(self) -> str:
        if (self.last or "").startswith("401"):  # reads work, writes are not authenticated: credentials or roles
            return f"check the credentials the refusal names, then {self.fix}"
        return str(self.fix)
