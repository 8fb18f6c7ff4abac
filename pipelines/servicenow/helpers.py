"""ServiceNow Table API access: paged reads (sequential by ``Link``, or concurrent by sys_id keyset), writes.

Sync reads order by ``sys_id``, not by update time: a record updated while we page keeps its place
(ordering by ``sys_updated_on`` moves it to the end and skips its neighbour). They page by keyset,
``sys_id>`` the last id seen, not by offset, so a delete or insert while we page shifts nothing: every
record is read at most once, and the sync need not remember the ids it has seen. Concurrency comes
from cutting the sys_id space (32 hex digits) into contiguous ranges, each paged on its own.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import datetime
from email.utils import parsedate_to_datetime
from itertools import pairwise
from typing import Any

import dlt
import requests

from pipelines.common import pages
from pipelines.common.http import RetryPolicy, VendorError, VendorSession
from pipelines.servicenow.auth import ServiceNowOAuth
from pipelines.servicenow.settings import CONFIG_HINT, DEFAULT_PAGE_SIZE, TABLE_PATH

log = logging.getLogger(__name__)


class ServiceNowClient:
    """Thin client over the Table API; every call goes through :class:`VendorSession`."""

    def __init__(
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        username: str | None = None,
        password: str | None = None,
        *,
        verify: bool | str = True,
        policy: RetryPolicy | None = None,
        auth: ServiceNowOAuth | None = None,
        slots: threading.Semaphore | None = None,
    ):
        """``auth``: a token provider to share (see :class:`Clients`); by default the client gets its own.
        ``slots``: requests in flight at once, shared with other clients (a request holds one until its
        body is read); by default no cap beyond the caller's own."""
        if not base_url:
            raise ValueError("SERVICENOW_BASE_URL is not set: point it at the instance (or the sandbox)")
        self.auth = auth or ServiceNowOAuth(base_url, client_id, client_secret, username, password, verify=verify,
                                            backoff_seconds=(policy or RetryPolicy()).backoff_base_seconds)
        self.session = VendorSession(
            "ServiceNow", base_url, self.auth, policy=policy, verify=verify, config_hint=CONFIG_HINT
        )
        if slots is not None:
            adapter = _CappedAdapter(slots, pool_connections=8, pool_maxsize=8)
            self.session.http.mount("http://", adapter)
            self.session.http.mount("https://", adapter)
        self.server_time: datetime | None = None

    @staticmethod
    def _params(query: str, page_size: int, offset: int, fields: list[str] | None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "sysparm_query": query,
            "sysparm_limit": page_size,
            "sysparm_offset": offset,
            "sysparm_display_value": "false",
            "sysparm_exclude_reference_link": "true",
        }
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        return params

    def _page(self, table: str, params: dict[str, Any]) -> tuple[list[Any], int | None]:
        path = TABLE_PATH.format(table=table)
        body, response = self.session.request_json("GET", path, params=params)
        if response.headers.get("Date"):
            # The earliest vendor clock of this read: the sync's "as of" for the cursor. A header that is
            # no date (a proxy's "0") is ignored: it failed every run, and the cursor does without.
            try:
                at = parsedate_to_datetime(response.headers["Date"]).replace(tzinfo=None)
            except (TypeError, ValueError, IndexError):
                log.warning("ServiceNow: ignoring a Date header that is not a date: %.60r", response.headers["Date"])
                at = None
            if at is not None and (self.server_time is None or at < self.server_time):
                self.server_time = at
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, list):
            shape = f"keys {sorted(body)[:8]!r}" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
            raise VendorError(f"ServiceNow: GET {path} answered {response.status_code} with {shape}, not a "
                              "'result' list of records: check SERVICENOW_BASE_URL points at the instance "
                              "(its Table API answers {\"result\": [...]})")
        return result, _count(table, response.headers.get("X-Total-Count"))

    def read_concurrently(
        self, table: str, query: str, *, page_size: int = DEFAULT_PAGE_SIZE, concurrency: int = 4,
        fields: list[str] | None = None, ranges: int | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield every page of records matching ``query`` (conditions only, no ``ORDERBY``).

        The first page, in sys_id order, tells how many records match. If more remain, the sys_id
        space after its last id is cut into contiguous ranges, as many as there are pages left, at
        most ``ranges`` (default 4 per worker, so a slow range does not hold the others up); each is
        read page after page from the last sys_id of its previous page. At most ``concurrency``
        requests are in flight (vendors cap concurrent requests per user) and at most one page more
        waits for the caller, whatever the table's size. ``server_time`` is set from the responses'
        ``Date``: the read's "as of" time.
        """
        self.server_time = None
        query = query.removesuffix("ORDERBYsys_id").removesuffix("^")  # keyset reads order by sys_id
        workers = max(1, concurrency)
        head = KeysetRange(query, None, None)

        def fetch(part: KeysetRange, params: dict[str, Any]) -> tuple[list[Any], list[Any], int | None]:
            """(rows as served, rows new to this read, count) of one page of ``part``."""
            rows, total = self._page(table, params)
            if not rows and total is not None and total > part.offset and not part.stalled:
                # An empty page while the count says rows remain: ACLs hid them, or the instance
                # glitched. Ask once more before stepping over (or ending at) what may hold records
                # (once per stretch of empty pages: ACLs can hide many pages in a row).
                log.warning("ServiceNow: %s answered an empty page while its count says %d rows remain; "
                            "asking again", table, total)
                rows, total = self._page(table, params)
            fresh = part.fresh(rows)
            if len(fresh) < len(rows):
                log.warning("ServiceNow: %s served %d row(s) of this read twice (or outside the sys_id range "
                            "asked for); each is loaded once", table, len(rows) - len(fresh))
            return rows, fresh, total

        served, first, total = fetch(head, self._params(head.query(), page_size, 0, fields))
        if not head.advance(served, total, page_size):
            if first:
                yield first
            return
        wanted = ranges or (1 if workers == 1 else 4 * workers)
        if total is not None:
            wanted = max(1, min(wanted, -(-(total - len(served)) // max(1, page_size))))
        pending = head.split(wanted)
        pending.reverse()
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sn-page") as pool:
            running: dict[Future, KeysetRange] = {}

            def submit(part: KeysetRange) -> None:
                params = self._params(part.query(), page_size, part.offset, fields)
                running[pool.submit(fetch, part, params)] = part

            while pending and len(running) < workers:
                submit(pending.pop())
            if first:
                yield first
            while running:
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    part = running.pop(future)
                    served, rows, total = future.result()
                    if part.advance(served, total, page_size):
                        submit(part)  # fetch the next page while the caller works on this one
                    elif pending:
                        submit(pending.pop())
                    if rows:
                        yield rows

    def iter_pages(
        self,
        table: str,
        query: str = "",
        *,
        page_size: int = DEFAULT_PAGE_SIZE,
        fields: list[str] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield the result pages of a query in order.

        Follows ``rel="next"`` while the server sends a ``Link`` header; without one, advances the
        offset until ``X-Total-Count``. A short page is *not* the end: ServiceNow applies the limit
        before ACL filtering, so pages may come back short while rows remain.
        """
        params: dict[str, Any] | None = {
            "sysparm_query": query,
            "sysparm_limit": page_size,
            "sysparm_offset": 0,
            "sysparm_display_value": "false",
            "sysparm_exclude_reference_link": "true",
        }
        if fields:
            params["sysparm_fields"] = ",".join(fields)
        url = TABLE_PATH.format(table=table)
        offset = 0
        while True:
            response = self.session.request("GET", url, params=params)
            rows = pages.loads(response.content).get("result", [])
            if rows:
                yield rows
            next_link = response.links.get("next")
            if next_link:
                url, params = next_link["url"], None
                continue
            if "Link" in response.headers:
                return  # a Link header without rel="next": that was the last page
            total = response.headers.get("X-Total-Count")
            offset += page_size
            if total is None or offset >= int(total):
                return
            params = {**(params or {}), "sysparm_offset": offset}

    def get(self, table: str, sys_id: str) -> dict[str, Any]:
        return self.session.get_json(f"{TABLE_PATH.format(table=table)}/{sys_id}")["result"]

    def find(self, table: str, query: str, limit: int = 10) -> list[dict[str, Any]]:
        """Records matching an encoded query (one page)."""
        pages = self.iter_pages(table, query, page_size=limit)
        return next(pages, [])

    def create(self, table: str, record: dict[str, Any]) -> dict[str, Any]:
        response = self.session.request(
            "POST", TABLE_PATH.format(table=table), json=record,
            headers={"Content-Type": "application/json"},
        )
        return response.json()["result"]

    def update(self, table: str, sys_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        response = self.session.request(
            "PATCH", f"{TABLE_PATH.format(table=table)}/{sys_id}", json=changes,
            headers={"Content-Type": "application/json"},
        )
        return response.json()["result"]

    def close(self) -> None:
        self.session.close()


class Clients:
    """The clients of one source run, one per resource (its own connections and ``server_time``), all
    on one OAuth token: the run asks for a token once, not once per resource (each request for one is a
    round trip before the resource's first read). The token is renewed as before: shortly before it
    expires, or when a request is refused (:class:`pipelines.common.bearer.CachedBearerToken`).

    ``concurrency``: requests in flight at once over all these clients (ServiceNow caps concurrent
    sessions per user), whichever resource or background download sends them."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, username: str | None = None,
                 password: str | None = None, *, verify: bool | str = True, policy: RetryPolicy | None = None,
                 concurrency: int | None = None):
        self._args = (base_url, client_id, client_secret, username, password)
        self._verify, self._policy = verify, policy
        self._auth: ServiceNowOAuth | None = None
        self._lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(max(1, concurrency)) if concurrency else None

    def __call__(self) -> ServiceNowClient:
        with self._lock:  # the first client's token provider (made on first use: settings checked then)
            client = ServiceNowClient(*self._args, verify=self._verify, policy=self._policy, auth=self._auth,
                                      slots=self.slots)
            self._auth = client.auth
        return client


def selected_resources() -> set[str] | None:
    """Names of the resources the current dlt extract runs (None outside one)."""
    try:
        return set(dlt.current.source().resources.selected)
    except Exception:  # not inside a dlt extract
        return None


class _CappedAdapter(requests.adapters.HTTPAdapter):
    """Sends a request only with one of ``slots`` held, until its body is read (requests reads it after
    the adapter returns, so it is read here), and not while the session sleeps between retries."""

    def __init__(self, slots: threading.Semaphore, **kwargs: Any):
        super().__init__(**kwargs)
        self._slots = slots

    def send(self, request, stream=False, **kwargs):
        with self._slots:
            response = super().send(request, stream=stream, **kwargs)
            if not stream:
                response.content  # noqa: B018 (reads the body)
            return response


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
        keys = [k if isinstance(k, str) and _is_hex_id(k) else None for k in keys]
        best: dict[str, int] = {}
        for n, key in enumerate(keys):
            if key is not None and (key not in best or _newest(rows[n]) > _newest(rows[best[key]])):
                best[key] = n
        after = self.after if self.after is not None and _is_hex_id(self.after) else None
        out = []
        for n, (key, row) in enumerate(zip(keys, rows, strict=True)):
            if key is not None and (best[key] != n or (after is not None and key <= after)
                                    or (self.lo is not None and key < self.lo)
                                    or (self.hi is not None and key >= self.hi)):
                continue
            out.append(row)
        return out

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
        # A short page the count says is the last ends the range; a full one may be followed by more
        # whatever the count says (a count that is too low must not end the read early).
        full = page_size is not None and len(rows) >= page_size
        if total is not None and total <= self.offset + len(rows) and not full:
            return False
        keys = [r.get("sys_id") if isinstance(r, dict) else None for r in rows]
        usable = [(k, i) for i, k in enumerate(keys) if _usable_key(k)]
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
