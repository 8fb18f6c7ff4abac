"""A Jira search page that fails on every attempt is narrowed down: one unreadable issue costs itself.

Why: Jira can fail to render one issue (a field or changelog entry its renderer throws on, a plugin's custom
field [unc]) and answer 5xx, or nothing within the timeout, to every search page holding it. The run failed after
its retries, and the next run asked for the same page and failed again, for ever: nothing past that page loaded.

How (:func:`read_page`, for the issue searches only, ``JiraClient.search(per_issue=True)``): when a page has
failed on all its attempts with a 5xx, no answer or Jira's error body in a 200, the same page (same JQL and
``nextPageToken`` [unc: Jira Cloud documents the token as tied to the query; the sandbox ties it to the JQL only])
is asked for its keys only (``id``, ``key``, ``updated``, no expand), whose ``nextPageToken`` carries the search
on. The page's issues are then read by ``id in (...)`` in halves, each half that fails halved again, down to one
issue (a page of 100 with one bad issue: about 14 reads, not 100). These reads get ONE attempt each: the page had
its retries. An issue that fails alone comes back as an :class:`Unreadable` holding its keys and Jira's reason;
the issue pass quarantines it, and it is read again by id every later run (the re-read ledger,
:mod:`pipelines.common.requeue`) until it loads: the cursor may pass it, the ledger, committed with the cursor,
keeps it. If the keys-only read fails too, or :data:`MAX_FAILED_IN_A_ROW` issues in a row fail alone (the site is
failing, not an issue), the page's own error is raised, as before. Failed reads of groups count too: more than
:data:`MAX_FAILED_IN_A_ROW` failed reads in a row beyond the halvings one issue explains (the depth of the
narrowing) raise the page's error. The reads of one page are bounded by :data:`PAGE_BUDGET_SECONDS`: the issues
not read by then come back as :class:`Unreadable` ("not read this run"), kept by id and read next run, never an
endless loop; but if the budget runs out before any read by id on the page succeeded, the site is down (a site
that hangs for every read: its timeouts ate the budget) and the page's own error is raised: those pages became
"not read this run" rows and the run succeeded.

The re-read of quarantined ids (``requeued=True``) has no streak rule: the issues it reads are the ones already
quarantined, and three of them failing in a row would fail every later run.
"""

from __future__ import annotations

import logging
import math
import time
from typing import Any

from pipelines.common import pages
from pipelines.common.http import RETRYABLE_STATUSES, RateLimitBudgetSpent, VendorAuthError, VendorError

log = logging.getLogger(__name__)

KEY_FIELDS = ["key", "updated"]  # with the id, which every search answer carries
MAX_FAILED_IN_A_ROW = 3  # issues read alone failing in a row: the site is failing, not an issue
PAGE_BUDGET_SECONDS = 300.0  # a page's keys-only and narrowed reads (one attempt each); the rest next run


class Unreadable(dict):
    """An issue's keys (as the keys-only read served them: ``id``, ``key``, ``fields.updated``) that Jira fails
    to serve whole."""

    def __init__(self, keys: dict[str, Any], reason: str):
        super().__init__(keys)
        self.reason = reason


class ServedError(VendorError):
    """Jira's error body in a 200 in place of a search page: one issue's doing as much as a 5xx [unc]."""


def isolable(error: VendorError) -> bool:
    """A failure one issue can cause: 5xx, no answer, or an error body in place of the page, on every attempt
    (not auth, 4xx such as a refused JQL, rate limits)."""
    if isinstance(error, VendorAuthError | RateLimitBudgetSpent):
        return False
    return isinstance(error, ServedError) or error.status is None or error.status in RETRYABLE_STATUSES


def read_page(client: Any, body: dict[str, Any], failed: VendorError, *, requeued: bool = False) -> dict[str, Any]:
    """A search answer for the page ``body`` asked for, which failed with ``failed``: its issues read in
    narrowing groups, the unreadable ones as :class:`Unreadable` (see the module docstring)."""
    deadline = time.monotonic() + PAGE_BUDGET_SECONDS
    keys_body = {k: v for k, v in body.items() if k != "expand"}
    keys_body["fields"] = list(KEY_FIELDS)
    try:
        keys_page = client.search_page(keys_body, attempts_allowed=1)
    except VendorError:
        raise failed from None
    listed = keys_page.get("issues") or []
    log.warning("Jira: a search page failed on every attempt (%s); narrowing its %d issues down",
                pages.safe_text(str(failed))[:200], len(listed))
    rows: list[Any] = []
    readable: list[dict[str, Any]] = []
    for key in listed:
        iid = key.get("id") if isinstance(key, dict) else None
        if isinstance(iid, str) and iid.isascii() and iid.isdigit():
            readable.append(key)
        else:  # no id to read it by: validation quarantines it as it is
            rows.append(key)
    streak = 0  # issues read alone failing in a row
    # failed reads (groups or one issue) since the last success: one bad issue explains one per halving level
    misses, depth = 0, math.ceil(math.log2(max(len(readable), 1)))
    succeeded = False  # a read by id on this page answered
    probed: list[bool] = []  # the verdict of the one probe read (below), once taken

    def site_answers() -> bool:
        """One read of the page's last issue alone, for the verdict only: a slow issue first on its page sits in
        every group read down to itself, so the budget can run out before any read answered while the site is
        up; raising then failed every run at that page (a crash loop)."""
        if not probed:
            try:
                _read_ids(client, body, [readable[-1]["id"]])
                probed.append(True)
            except VendorError:
                probed.append(False)
        return probed[0]

    def narrow(group: list[dict[str, Any]]) -> None:
        nonlocal streak, misses, succeeded
        if time.monotonic() > deadline:
            if not succeeded and not requeued and not site_answers():  # nothing answered, a probe neither: down
                raise failed from None
            rows.extend(Unreadable(k, f"Jira: not read this run: its search page failed on every attempt and "
                                      f"narrowing it down took over {PAGE_BUDGET_SECONDS:.0f} s") for k in group)
            return
        try:
            found = _read_ids(client, body, [k["id"] for k in group])
        except VendorError as error:
            if not isolable(error):
                raise
            misses += 1
            if misses >= MAX_FAILED_IN_A_ROW + depth and not requeued:
                raise failed from None
            if len(group) > 1:
                half = len(group) // 2
                narrow(group[:half])
                narrow(group[half:])
                return
            streak += 1
            if streak >= MAX_FAILED_IN_A_ROW and not requeued:
                raise failed from None
            log.warning("Jira: issue %s fails on every read; quarantining it", group[0]["id"])
            rows.append(Unreadable(group[0], f"Jira fails to serve this issue: its search page and its read by id "
                                             f"failed ({pages.safe_text(str(error))[:300]})"))
            return
        streak, misses, succeeded = 0, 0, True
        rows.extend(found)  # an issue missing: deleted or moved out of the search meanwhile (reconciliation)

    if len(readable) == 1:
        narrow(readable)
    elif readable:  # the whole page failed already: start with its halves
        half = len(readable) // 2
        narrow(readable[:half])
        narrow(readable[half:])
    return {"issues": rows, "nextPageToken": keys_page.get("nextPageToken"), "isLast": keys_page.get("isLast")}


def _read_ids(client: Any, body: dict[str, Any], ids: list[str]) -> list[Any]:
    """The issues ``ids`` with the page's fields and expand, in the page's order, one attempt per request."""
    read: dict[str, Any] = {}
    others: list[Any] = []
    asked = {k: v for k, v in body.items() if k != "nextPageToken"}
    asked.update(jql=f"id in ({', '.join(ids)}) ORDER BY updated ASC, key ASC", maxResults=len(ids))
    for _ in range(len(ids) + 1):  # one page should hold them; a short one is followed, never for ever
        data = client.search_page(asked, attempts_allowed=1)
        for bean in data.get("issues") or []:
            iid = bean.get("id") if isinstance(bean, dict) else None
            if isinstance(iid, str) and iid in ids and iid not in read:
                read[iid] = bean
            else:
                others.append(bean)  # another shape of id: validation judges it
        token = data.get("nextPageToken")
        if data.get("isLast") is True or not token or len(read) >= len(ids):
            break
        asked["nextPageToken"] = token
    return [read[i] for i in ids if i in read] + others


def set_aside(beans: list[Any], requeue: Any, run_id: str) -> tuple[list[Any], list[Any]]:
    """``beans`` without the :class:`Unreadable` ones, and the quarantine items for those (kept in the re-read
    ledger when there is one: read by id next run; the same keys again write no second row)."""
    from pipelines.common.quarantine import quarantined

    items: list[Any] = []
    for bean in beans:
        if isinstance(bean, Unreadable):
            record = dict(bean)
            item = (quarantined("issues", record, bean.reason, run_id, bean["id"]) if requeue is None
                    else requeue.reject(record, bean.reason, bean["id"]))
            if item is not None:
                items.append(item)
    return [b for b in beans if not isinstance(b, Unreadable)], items
