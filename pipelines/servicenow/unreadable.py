"""A ServiceNow page that fails on every attempt is read record by record: one unreadable record costs itself.

Why: an instance can fail to render one record (a broken reference or calculated field, a script that throws,
a row the transaction quota cancels [unc]) and answer 5xx, or nothing within the timeout, to every page that
holds it. The run failed after its retries, and the next run read the same page and failed again, for ever:
nothing past that page ever loaded.

How (:func:`read_page`, only for the callers that ask for it: the table reads and the re-read by id, whose
records go through validation and the quarantine; the push's reconciliation, the delete audit and the census
keep raising, as a placeholder there would close, mark deleted or count a live record): when a page has failed
on all its attempts with a 5xx or no answer, the same page is asked for its keys only (``sys_id``,
``sys_updated_on``, ``sys_mod_count``); each record is then read alone by ``sys_id``. These reads get ONE
attempt each (``once``): the page had its retries. A record that fails comes back as an :class:`Unreadable`
holding its keys and the reason; the source quarantines it (and re-reads it by id every later run, like any
quarantined record), the others load. If the keys-only read fails too, or :data:`MAX_FAILED_IN_A_ROW` records
in a row fail (the instance is down, not one record), or the page's record reads take longer than
:data:`PAGE_BUDGET_SECONDS`, the page's own error is raised, as before.

The re-read of quarantined ids (``requeued=True``) has no streak rule: the ids it reads are the ones already
quarantined, three unreadable ones among them would fail it in a row on every run, the sync for good. When its
budget runs out, the records not yet read come back as :class:`Unreadable` ("not read this run"): they stay
quarantined and are read again next run, and the run goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from pipelines.common import pages
from pipelines.common.http import RETRYABLE_STATUSES, RateLimitBudgetSpent, VendorAuthError, VendorError

log = logging.getLogger("pipelines.servicenow.helpers")

KEY_FIELDS = ("sys_id", "sys_updated_on", "sys_mod_count")
MAX_FAILED_IN_A_ROW = 3  # records read alone failing in a row: the instance is failing, not a record
PAGE_BUDGET_SECONDS = 300.0  # a page's keys-only and record reads (one attempt each), then the page fails

Page = Callable[[dict[str, Any]], tuple[list[Any], int | None]]


class Unreadable(dict):
    """A record's keys (as the keys-only read served them) that the instance fails to serve whole."""

    def __init__(self, keys: dict[str, Any], reason: str):
        super().__init__(keys)
        self.reason = reason


class ServedError(VendorError):
    """ServiceNow's error object in place of the records on every attempt, whatever the status (a cancelled
    transaction answers 200 with it [unc]): one record's doing as much as a 5xx."""


def served_error(message: str, status: int | None = None) -> ServedError:
    return ServedError(message, status)


def isolable(error: VendorError) -> bool:
    """A failure one record can cause: 5xx, no answer, or an error object in place of the records, on every
    attempt (not auth, 4xx, rate limits)."""
    if isinstance(error, VendorAuthError | RateLimitBudgetSpent):
        return False
    return isinstance(error, ServedError) or error.status is None or error.status in RETRYABLE_STATUSES


def read_page(page: Page, table: str, params: dict[str, Any], *, once: Page | None = None,
              requeued: bool = False) -> tuple[list[Any], int | None]:
    """``page(params)``; if it fails for good in a way one record can cause, the page record by record (with
    ``once``: one attempt per read; ``requeued``: re-reading quarantined ids, see the module docstring)."""
    try:
        return page(params)
    except VendorError as error:
        if not isolable(error):
            raise
        failed = error
    once = once or page
    deadline = time.monotonic() + PAGE_BUDGET_SECONDS
    try:
        keys, total = once({**params, "sysparm_fields": ",".join(KEY_FIELDS)})
    except VendorError:
        raise failed from None
    log.warning("ServiceNow: a page of %s failed on every attempt (%s); reading its %d records one by one",
                table, pages.safe_text(str(failed))[:200], len(keys))
    rows: list[Any] = []
    in_a_row = 0
    for key in keys:
        sys_id = key.get("sys_id") if isinstance(key, dict) else None
        if not isinstance(sys_id, str) or not sys_id or "^" in sys_id or pages.text_problem(sys_id):
            rows.append(key)  # no id to read it by: validation quarantines it as it is
            continue
        kept = {k: key.get(k) for k in KEY_FIELDS if k in key}
        if time.monotonic() > deadline:  # the rest kept by id (quarantined) and read next run, table read or not:
            # raising here failed a 1,000-record page every run (one read ~0.3 s: the budget spent before its end)
            rows.append(Unreadable(kept, f"ServiceNow: not read this run: its page failed on every attempt and "
                                         f"reading it record by record took over {PAGE_BUDGET_SECONDS:.0f} s"))
            continue
        try:
            alone, _ = once({**params, "sysparm_query": f"sys_id={sys_id}", "sysparm_offset": 0,
                             "sysparm_limit": 1})
        except VendorError as error:
            if not isolable(error):
                raise
            in_a_row += 1
            if in_a_row >= MAX_FAILED_IN_A_ROW and not requeued:
                raise failed from None
            log.warning("ServiceNow: %s record %s fails on every read; quarantining it", table, sys_id)
            rows.append(Unreadable(kept, f"ServiceNow fails to serve this record: its page and its read by sys_id "
                                         f"failed ({pages.safe_text(str(error))[:300]})"))
            continue
        in_a_row = 0
        rows.extend(alone)  # none: deleted meanwhile (the delete audit sees it)
    return rows, total
