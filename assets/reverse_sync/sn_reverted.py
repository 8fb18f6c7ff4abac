"""A ServiceNow close that did not stick: the PATCH answered 200 with the record, but in an open state.

An instance's before business rule may set the state back instead of refusing the write (a task with open child
tasks cannot close: the rule sets ``state`` to its previous value, and the Table API answers 200 with the record as
saved). Linking the task as closed then would leave the record open at ServiceNow for ever, with nothing to retry
it. So the answer's state is compared with the close sent:

- not closed: audited as operation ``close_reverted`` (the record's sys_id, the state answered), and a
  :class:`VendorError` (409: about this record, not ServiceNow's health, so no breaker count) whose reason starts
  ``close_reverted:``. The engine dead-letters the record and leaves its link open.
- the next pushes plan the close again (the link is open and its row has left the mart) but do not send it while
  the hold runs: ``PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS`` (default 3600; 0: no hold; at most 86400, a
  larger value stops the push before any call with an error naming the setting) after the last revert,
  doubled per revert of the same dead-letter episode, at most a day. Until then the record waits as a dead letter
  whose reason starts ``deferred: close_reverted:`` (no write, no audit row), so a push every minute does not
  PATCH the record every minute. The re-read before a close (``open_at_vendor``) still runs: a record a person
  closed meanwhile closes the link without any write.
- the episode is the record's dead letter: it ends when the dead letter is cleared (the close sticks, or the
  control fails again and the row is back in the mart), and the next revert starts again from one hold.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pipelines.common.http import VendorError

from .holds import MAX_SECONDS, held_until  # noqa: F401  (kept importable here; the bookkeeping is holds.py)
from .refusal import per_record

REVERTED = "close_reverted"
UPDATE_REVERTED = "update_reverted"  # a reopen or a field update set back (sn_update_reverted.py)
SETTING = "PROJECTX_SERVICENOW_CLOSE_RETRY_SECONDS"


def reverted(vendor_id: str, internal_id: str, answered: Any, status: int, hold_seconds: int,
             writes: Any) -> VendorError:
    """Audit the revert and return the error the record is dead-lettered with."""
    reason = (f"{REVERTED}: ServiceNow answered the close of {vendor_id} with state {answered or '(empty)'}, "
              "not a closed state: a business rule set it back (a task with open child tasks, a required approval); "
              "the link stays open and the close is sent again by a later push"
              + (f" (held {hold_seconds} s after this, {SETTING}, doubled per revert)" if hold_seconds else ""))
    writes._audit(REVERTED, vendor_id, internal_id, status, reason[:300])
    return VendorError(reason, 409)


def deferred(vendor_id: str, until: datetime) -> VendorError:
    return VendorError(
        f"deferred: {REVERTED}: the last close of {vendor_id} was set back to an open state by ServiceNow (a "
        f"business rule); not sent again before {until:%Y-%m-%d %H:%M:%S} UTC ({SETTING}, doubled per revert, at "
        "most a day), so the record is not written on every push; the link stays open", 409)


GONE = "gone"  # close_orphan's answer for a record deleted at ServiceNow between the read and the close
ORPHAN_REVERTED = "orphan_close_reverted"  # the nightly reconciliation's finding kind (``ReconcileReport.fixes``)
ORPHAN_FIX = (
    "The nightly reconciliation closed these open ServiceNow records of ours that no task links (orphans) and the "
    "instance set the state back to open or refused the close (a business rule: open child tasks, a required "
    "approval), so they are still open. Fix: at ServiceNow close or cancel each record's open child tasks (or give "
    "the approval the rule waits for; a refused close names the rule's own words); the next nightly "
    "reconciliation then closes it (or close it by hand, with a close note).")


def close_orphan(writer: Any, sys_id: str) -> str | None:
    """Close an orphan for the nightly reconciliation: None when the answer shows it closed, else why it is still
    open: ``set back`` (a before rule set the state back, 200 with the record open), ``gone`` (404: deleted
    since the page was read, nothing left to close) or ``refused: ...`` with the vendor's words (a rule
    aborting the write, a data policy: 403/400 about this record). Any other error (an ACL refusing the
    account, 5xx, no answer) is raised: the night stops, as before, and no orphan is skipped for a reason that
    is not about it. A refused close made the whole reconciliation fail with "the credentials are refused" at
    that orphan, night after night, and the orphans after it were never looked at."""
    try:
        return None if writer.close(sys_id) else "set back"
    except VendorError as exc:
        if exc.status == 404:  # deleted at ServiceNow since the page was read: no longer an orphan to close
            return GONE
        if exc.status not in (400, 403) or not per_record(exc):
            raise
        text = " ".join(str(exc).split())
        said = re.search(r"refused this record's write \((.+)\)\. Fix", text)  # writes.RecordRefused's words
        return "refused: " + (said.group(1) if said else text)[:300]


def orphan_fix(named: list[str]) -> str:
    """The reconciliation's ``orphan_close_reverted`` finding detail: the fix, then the records (number, sys_id,
    correlation id), so the task for the connector's owner says which records and what to do. A reverted orphan
    is reported, not counted closed, and tried again the next night (audited ``close_orphan_reverted``)."""
    return ORPHAN_FIX + (" Records: " + "; ".join(named) + "." if named else "")
