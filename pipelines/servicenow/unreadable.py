"""A ServiceNow page that fails on every attempt is read record by record: one unreadable record costs itself.

Why: an instance can fail to render one record (a broken reference or calculated field, a script that throws,
a row the transaction quota cancels [unc]) and answer 5xx, or nothing within the timeout, to every page that
holds it. The run failed after its retries, and the next run read the same page and failed again, for ever:
nothing past that page ever loaded.

How (:func:`read_page`): when a page has failed on all its attempts with a 5xx or no answer, the same page is
asked for its keys only (``sys_id``, ``sys_updated_on``, ``sys_mod_count``); each record is then read alone by
``sys_id``. A record that still fails on all its attempts comes back as an :class:`Unreadable` holding those
keys and the reason; the source quarantines it (and re-reads it by id every later run, like any quarantined
record), the others load. If the keys-only read fails too, or :data:`MAX_FAILED_IN_A_ROW` records in a row
fail (the instance is down, not one record), the page's own error is raised, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pipelines.common import pages
from pipelines.common.http import RETRYABLE_STATUSES, RateLimitBudgetSpent, VendorAuthError, VendorError

log = logging.getLogger("pipelines.servicenow.helpers")

KEY_FIELDS = ("sys_id", "sys_updated_on", "sys_mod_count")
MAX_FAILED_IN_A_ROW = 3  # records read alone failing in a row: the instance is failing, not a record

Page = Callable[[dict[str, Any]], tuple[list[Any], int | None]]


class Unreadable(dict):
    """A record's keys (as the keys-only read served them) that the instance fails to serve whole."""

    def __init__(self, keys: dict[str, Any], reason: str):
        super().__init__(keys)
        self.reason = reason


def isolable(error: VendorError) -> bool:
    """A failure one record can cause: 5xx or no answer on every attempt (not auth, 4xx, rate limits)."""
    if isinstance(error, VendorAuthError | RateLimitBudgetSpent):
        return False
    return error.status is None or error.status in RETRYABLE_STATUSES


def read_page(page: Page, table: str, params: dict[str, Any]) -> tuple[list[Any], int | None]:
    """``page(params)``; if it fails for good in a way one record can cause, the page record by record."""
    try:
        return page(params)
    except VendorError as error:
        if not isolable(error):
            raise
        failed = error
    try:
        keys, total = page({**params, "sysparm_fields": ",".join(KEY_FIELDS)})
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
        try:
            alone, _ = page({**params, "sysparm_query": f"sys_id={sys_id}", "sysparm_offset": 0,
                             "sysparm_limit": 1})
        except VendorError as error:
            if not isolable(error):
                raise
            in_a_row += 1
            if in_a_row >= MAX_FAILED_IN_A_ROW:
                raise failed from None
            log.warning("ServiceNow: %s record %s fails on every read; quarantining it", table, sys_id)
            rows.append(Unreadable({k: key.get(k) for k in KEY_FIELDS if k in key},
                                   f"ServiceNow fails to serve this record: its page and its read by sys_id "
                                   f"failed on every attempt ({pages.safe_text(str(error))[:300]})"))
            continue
        in_a_row = 0
        rows.extend(alone)  # none: deleted meanwhile (the delete audit sees it)
    return rows, total
