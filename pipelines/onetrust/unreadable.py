"""A OneTrust listing page that fails on every attempt is narrowed down: one unreadable record costs its slot.

Why: one record OneTrust fails to serialise (a broken custom attribute, a dangling reference [unc]) makes every
listing page holding it answer 5xx. The run failed after its retries, and the next run asked for the
same page and failed again, for ever: nothing past it loaded.

How (:func:`read_page`, for the entity listings only, ``OneTrustClient.pages(per_record=True)``; the
deleted-assessment log keeps raising, as a gap there would lose a delete): the listings page by ``page`` and
``size`` (vendor-apis §3.3-3.5), so the records ``[p*N, p*N+N)`` of the failed page are read again as smaller
pages of a size that divides ``N`` (``N`` over its smallest prime factor: 50 -> 25 -> 5 -> 1), each sub-page that
fails split again, down to pages of one record. These reads get ONE attempt each (the page had its retries).

OneTrust's listings have no keys-only form (no ``fields`` parameter; the risk grid's ``visibleColumns`` [unc]), so
a page of one record that still fails tells no id: it comes back as a :class:`Slot` (its listing, position and
OneTrust's reason). The pass quarantines the slot (once, while it fails the same way at the same position), counts
the pass unstable (the cursor stays where it was, no delete is reconciled, no due key is taken for gone): the next
run reads the same window again, the slot with it, and nothing the slot hides is lost. The other records load.

Bounds: if :data:`MAX_FAILED_IN_A_ROW` slots in a row fail (the tenant is failing, not a record), the page's own
error is raised, as before; the reads of one page stop after :data:`PAGE_BUDGET_SECONDS`, the records not read by
then standing as slots "not read this run" (the pass unstable: read next run). A sub-page that comes back short
ends the listing only if its total (``totalElements``) says so; otherwise the rest of the failed page stands as
slots "not read this run" (it was taken for the end, and the records after it skipped silently). A sub-page whose
echoed number or size is not the one asked for raises (:func:`pipelines.onetrust.helpers`: a gateway dropping
``page`` or ``size`` would shift every position).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Any

from pipelines.common import pages as common_pages
from pipelines.common.http import RETRYABLE_STATUSES, RateLimitBudgetSpent, VendorAuthError, VendorError

log = logging.getLogger(__name__)

MAX_FAILED_IN_A_ROW = 3  # pages of one record failing in a row: the tenant is failing, not a record
PAGE_BUDGET_SECONDS = 300.0  # a failed page's narrowed reads (one attempt each); the rest next run


EXPORT_FAILED = "OneTrust fails to serve this assessment's export"  # the reason's start (helpers.exports)


class Slot(dict):
    """A listing position OneTrust fails to serve, as the quarantine keeps it (no id: the listing told none)."""

    def __init__(self, path: str, position: int, reason: str, failure: str):
        # The record the quarantine keeps and hashes for its duplicate check: where, and how it failed
        # (``failure``: a status, "not read this run"), never the vendor's message text, which may carry a request
        # id or a time: a slot failing the same way wrote a new quarantine row every run. ``reason`` has it.
        super().__init__(listing=path, position=position, unreadable=failure)
        self.reason = reason


def isolable(error: VendorError) -> bool:
    """A failure one record can cause: a 5xx on every attempt (not auth, 4xx, rate limits). Not a timeout
    [unc]: every OneTrust attempt is bounded by ONETRUST_TIMEOUT_SECONDS, and a tenant slower than that for every
    page (the usual cause) would pay the narrowed reads' timeouts too before failing the run, as it must."""
    if isinstance(error, VendorAuthError | RateLimitBudgetSpent):
        return False
    return error.status is not None and error.status in RETRYABLE_STATUSES


def _step(size: int) -> int:
    """The size a failed page of ``size`` records is read again in: ``size`` over its smallest prime factor."""
    for factor in range(2, math.isqrt(size) + 1):
        if size % factor == 0:
            return size // factor
    return 1


# read(number, size) -> the items of listing page ``number`` at ``size``, plus (total_elements, sort echo)
Read = Callable[[int, int], tuple[list[Any], int | None, Any]]


def read_page(read: Read, path: str, number: int, size: int,
              failed: VendorError) -> tuple[list[Any], int | None, Any]:
    """The items of page ``number`` (of ``size``), which failed with ``failed``, narrowed down (module docstring):
    records and :class:`Slot` s in listing order, with the listing's total and sort echo from the reads."""
    deadline = time.monotonic() + PAGE_BUDGET_SECONDS
    items: list[Any] = []
    meta: dict[str, Any] = {"total": None, "sort": None, "read": False}
    streak = 0
    log.warning("OneTrust: page %d of %s failed on every attempt (%s); narrowing it down", number, path,
                common_pages.safe_text(str(failed))[:200])

    def narrow(start: int, length: int, sub: int) -> bool:
        """Records ``[start, start + length)`` in pages of ``sub``; False once the listing ended."""
        nonlocal streak
        for first in range(start, start + length, sub):
            if time.monotonic() > deadline:
                items.extend(Slot(path, p, f"OneTrust: not read this run: its listing page failed on every "
                                           f"attempt and narrowing it took over {PAGE_BUDGET_SECONDS:.0f} s",
                                  "not read this run") for p in range(first, start + length))
                return True
            try:
                got, total, sort = read(first // sub, sub)
            except VendorError as error:
                if not isolable(error):
                    raise
                if sub > 1:
                    if not narrow(first, sub, _step(sub)):
                        return False
                    continue
                streak += 1
                if streak >= MAX_FAILED_IN_A_ROW:
                    raise failed from None
                log.warning("OneTrust: record %d of %s fails on every read; quarantining its slot", first, path)
                said = common_pages.safe_text(str(error))[:300]
                items.append(Slot(path, first, f"OneTrust fails to serve the record at position {first} of this "
                                               f"listing, alone or in its page: {said}", f"answered {error.status}"))
                continue
            streak = 0
            meta.update(total=total if total is not None else meta["total"], sort=sort, read=True)
            items.extend(got)
            if len(got) < sub:
                if total is not None and first + len(got) >= total:
                    return False  # the listing ends here, as its total says
                # A short sub-page the total does not confirm (none, or more records than read) was taken for the
                # end: the rest of the page was skipped silently. Its positions stand as slots: the pass is
                # unstable, the next run reads them again.
                items.extend(Slot(path, p, f"OneTrust: not read this run: page {first // sub} of size {sub} "
                                           f"held {len(got)} records while the listing's total ({total}) says "
                                           f"more follow", "not read this run: short page")
                             for p in range(first + len(got), end))
                return False
        return True

    end = number * size + size
    narrow(number * size, size, _step(size))
    return items, meta["total"], meta["sort"]


def set_aside(page: Any, outcome: Any, quarantine: Callable[[Slot], Any]) -> tuple[Any, list[Any]]:
    """``page`` without its :class:`Slot` s, and their quarantine items; a page with one makes the pass unstable
    (the cursor stays, nothing is reconciled: the next run reads the slot's window again)."""
    import dataclasses

    slots = [i for i in page.items if isinstance(i, Slot)]
    if not slots:
        return page, []
    outcome.stable = False
    outcome.set_aside.extend(f"position {s['position']}" for s in slots)  # a window run fails on them
    items = [item for item in map(quarantine, slots) if item is not None]
    return dataclasses.replace(page, items=[i for i in page.items if not isinstance(i, Slot)]), items
