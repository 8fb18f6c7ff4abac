"""ServiceNow keyset paging: one sys_id range of a query (:class:`KeysetRange`), read in sys_id order.

Split from :mod:`pipelines.servicenow.helpers` (the client and its concurrent reads stay there): where a
range's next page starts, how it is cut for concurrent reads, which rows of a page are fresh, and when
paging gives up (``MAX_STALLED_PAGES``, ``MAX_EMPTY_PAGES``, looked up here at call time).
"""

from __future__ import annotations

import logging
import re
from bisect import bisect_left
from itertools import pairwise
from typing import Any

from pipelines.common import pages
from pipelines.common.http import VendorError

log = logging.getLogger("pipelines.servicenow.helpers")  # the logger _count's warning always used

SYS_ID_DIGITS = 32
SYS_ID_END = 16**SYS_ID_DIGITS
# Pages in a row that bring rows but no new sys_id (only ids already read) before a range gives up with
# an error instead of paging on: an instance that ignores the query.
MAX_STALLED_PAGES = 100
# Empty pages in a row while the count says rows remain before a range gives up: ACLs hide rows but
# still count them, so an integration user who sees a small share of a large table steps over many
# (2,000 pages of 1,000 rows: two million hidden rows); a count of ten million on a small table must
# still end.
MAX_EMPTY_PAGES = 2000


def _count(table: str, value: str | None) -> int | None:
    """``X-Total-Count`` as a number; None (unknown: page until an empty page) if it is not one."""
    if value is None or value.strip() == "":
        return None
    try:
        count = int(value)
    except ValueError:
        count = -1
    if count < 0:
        log.warning("ServiceNow: %s sent X-Total-Count %r, not a count; paging until an empty page",
                    table, pages.safe_text(value[:40]))
        return None
    return count


class KeysetRange:
    """One sys_id range [lo, hi) of a query, read in sys_id order; remembers where the next page starts."""

    def __init__(self, condition: str, lo: str | None, hi: str | None):
        self.condition, self.lo, self.hi = condition, lo, hi
        self.after: str | None = None  # last sys_id read
        self.offset = 0  # rows past ``after`` already read but without a usable sys_id (malformed)
        self.stalled = 0  # pages in a row with rows but without a new sys_id
        self.empty = 0  # empty pages in a row stepped over (the count said more)
        self._previous: int | None = None  # fingerprint of the last such page

    def query(self) -> str:
        parts = [self.condition] if self.condition else []
        if self.lo is not None:
            parts.append(f"sys_id>={self.lo}")
        if self.hi is not None:
            parts.append(f"sys_id<{self.hi}")
        if self.after is not None:
            parts.append(f"sys_id>{self.after}")
        return "^".join([*parts, "ORDERBYsys_id"])

    def split(self, n: int) -> list[KeysetRange]:
        """What is left of this range as ``n`` contiguous ranges of equal sys_id width (itself if it
        cannot tell: an id that is not 32 hex digits, or a position held by offset)."""
        if n <= 1 or self.hi is not None or self.offset or not _is_hex_id(self.after):
            return [self]
        lo = int(self.after, 16) + 1 if self.after is not None else 0
        if lo >= SYS_ID_END - n:  # nothing left to cut (the last id was at the very top)
            return [self]
        cuts = [f"{lo + i * (SYS_ID_END - lo) // n:0{SYS_ID_DIGITS}x}" for i in range(1, n)]
        parts = [KeysetRange(self.condition, a, b) for a, b in pairwise([self.lo, *cuts, None])]
        parts[0].after = self.after
        return parts

    def fresh(self, rows: list[Any]) -> list[Any]:
        """``rows`` less those this range has read already or that lie outside it (another range reads
        them): a 32-hex sys_id repeated in the page, at or before ``after``, below ``lo`` or at or above
        ``hi``. ServiceNow never sends such rows for the query asked; an instance that does (a join
        that repeats a row, a query condition ignored) must not load a record twice.

        Of a sys_id repeated in one page with different content, the newest version is kept (see
        :func:`_newest`), wherever it stands: keeping the first kept a stale copy served before the
        record as it is, and a run after it never read the record again once the cursor passed it."""
        keys = [row.get("sys_id") if isinstance(row, dict) else None for row in rows]
        early = self._early(keys)  # on every usable id, as advance() reads them
        keys = [k if isinstance(k, str) and _is_hex_id(k) else None for k in keys]
        best: dict[str, int] = {}
        for n, key in enumerate(keys):
            if key is not None and (key not in best or _newest(rows[n]) > _newest(rows[best[key]])):
                best[key] = n
        after = self.after if self.after is not None and _is_hex_id(self.after) else None
        out = []
        for n, (key, row) in enumerate(zip(keys, rows, strict=True)):
            if key is not None and (best[key] != n or key in early or (after is not None and key <= after)
                                    or (self.lo is not None and key < self.lo)
                                    or (self.hi is not None and key >= self.hi)):
                continue
            out.append(row)
        return out

    def _early(self, keys: list[Any]) -> set[str]:
        """The sys_ids of this page served only before their place in sys_id order: the rows outside the
        longest run of the page in increasing sys_id order (ids at or before ``after`` left aside; an id with
        one copy in place is in place). One such row (a proxy's mixed page, an instance that dropped
        ``ORDERBYsys_id`` for a row [unc]) became the next page's start, and every record between it and the
        page's real end was skipped in silence (39 of 50). Such a row is not continued from; one below the
        run's last id is loaded with the page (the read will not come back for it), one above it is met again
        in its place (:meth:`advance` goes on while there is one, even past a count that says the page was
        the last)."""
        tails: list[str] = []  # patience sorting: the smallest last id of an increasing run of each length
        ends: list[int] = []
        before: dict[int, int | None] = {}
        for n, key in enumerate(keys):
            if not _usable_key(key) or (self.after is not None and key <= self.after):
                continue
            i = bisect_left(tails, key)
            before[n] = ends[i - 1] if i else None
            tails[i:i + 1], ends[i:i + 1] = [key], [n]
        placed, n = set(), ends[-1] if ends else None
        while n is not None:
            placed.add(keys[n])
            n = before[n]
        if not ends:
            return set()
        # A row out of order below the run's last id is loaded here: the read continues after that id and
        # would never meet it again. Only one above it waits for its place (advance() continues the range).
        top = keys[ends[-1]]
        return {key for key in ({keys[n] for n in before} - placed) if key > top}

    def advance(self, rows: list[Any], total: int | None, page_size: int | None = None) -> bool:
        """Move past ``rows``; True if the range may hold more (``total`` = the vendor's count, if sent).

        Raises :class:`VendorError` rather than paging forever when ``MAX_STALLED_PAGES`` pages in a row
        bring no new sys_id, or the very same page comes back again."""
        if not rows:
            # ServiceNow applies the limit before ACL filtering: a page can come back empty while the
            # count says rows remain past it. Step over it by offset instead of ending the range there.
            if total is not None and page_size and total > self.offset + page_size:
                self.offset += page_size
                self._stall(rows, total)
                return True
            return False
        keys = [r.get("sys_id") if isinstance(r, dict) else None for r in rows]
        early = self._early(keys)
        # A short page the count says is the last ends the range; a full one may be followed by more
        # whatever the count says (a count that is too low must not end the read early). So does one with
        # a row served before its place (not loaded yet): the read goes on past the run to meet it there.
        full = page_size is not None and len(rows) >= page_size
        if total is not None and total <= self.offset + len(rows) and not full and not early:
            return False
        usable = [(k, i) for i, k in enumerate(keys) if _usable_key(k) and k not in early]
        top = max(usable) if usable else None  # the highest id read (the last one, in sys_id order)
        if top is None or (self.after is not None and top[0] <= self.after):
            self.offset += len(rows)  # no id to continue from: step over the page by offset
            self._stall(rows, total)
        else:
            # Rows after the last usable id (malformed, without one) are read again: a duplicate
            # quarantine entry is better than an offset that a concurrent delete could make skip a row.
            self.after, self.offset, self.stalled, self.empty, self._previous = top[0], 0, 0, 0, None
        return True

    def _stall(self, rows: list[Any], total: int | None) -> None:
        where = f"sys_id>{self.after}" if self.after else "the first page"
        if not rows:
            self.empty += 1
            if self.empty >= MAX_EMPTY_PAGES:
                raise VendorError(
                    f"ServiceNow: {self.empty} empty pages in a row after {where} while X-Total-Count said "
                    f"{total} remain (query {pages.safe_text(self.condition)!r}); stopped instead of paging on. "
                    "Give the integration user read access to every row (ACLs hide rows but still count "
                    "them), or check the instance's counts")
            return
        self.stalled += 1
        fingerprint = hash(repr(rows)) if rows else None
        if fingerprint is not None and fingerprint == self._previous:
            raise VendorError(
                f"ServiceNow served the same page of {len(rows)} rows again after {where} (query "
                f"{pages.safe_text(self.condition)!r}): the instance ignores the sys_id condition and "
                "sysparm_offset, so paging would never end. Stopped; nothing after this point was read: "
                "check the instance (or proxy) passes sysparm_query and sysparm_offset through")
        self._previous = fingerprint
        if self.stalled >= MAX_STALLED_PAGES:
            raise VendorError(
                f"ServiceNow: {self.stalled} pages in a row after {where} brought no new record while "
                f"X-Total-Count said {total} remain (query {pages.safe_text(self.condition)!r}); stopped "
                "instead of paging on. Give the integration user read access to every row (ACLs hide "
                "rows but still count them), or check the instance's counts")


_STAMP = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}").fullmatch


def _newest(row: dict[str, Any]) -> tuple:
    """How new a version of a record is, to choose among copies of one sys_id in a page: a well-formed
    ``sys_updated_on`` before one that is not (a broken copy must not hide the good one), then the later
    update time, then the higher ``sys_mod_count``, then (copies no stamp tells apart) the larger text, so
    that the same page always gives the same row."""
    stamp, count = row.get("sys_updated_on"), row.get("sys_mod_count")
    good = isinstance(stamp, str) and _STAMP(stamp) is not None
    mods = int(count) if isinstance(count, str) and count.isascii() and count.isdigit() else -1
    return good, stamp if good else "", mods, repr(sorted(row.items(), key=lambda kv: str(kv[0])))


def _usable_key(value: Any) -> bool:
    """An id the next page's query can continue from (hostile text cannot even be put in a URL)."""
    return isinstance(value, str) and value != "" and "^" not in value and pages.text_problem(value) is None


_HEX_ID = re.compile(f"[0-9a-f]{{{SYS_ID_DIGITS}}}").fullmatch


def _is_hex_id(value: str | None) -> bool:
    return value is None or _HEX_ID(value) is not None
