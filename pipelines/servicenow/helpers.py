"""ServiceNow Table API access: paged reads (sequential by ``Link``, or concurrent by sys_id keyset), writes.

Sync reads order by ``sys_id``, not by update time: a record updated while we page keeps its place
(ordering by ``sys_updated_on`` moves it to the end and skips its neighbour). They page by keyset,
``sys_id>`` the last id seen, not by offset, so a delete or insert while we page shifts nothing: every
record is read at most once, and the sync need not remember the ids it has seen. Concurrency comes
from cutting the sys_id space (32 hex digits) into contiguous ranges, each paged on its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dlt
import requests

from pipelines.common.http import RetryPolicy, VendorError, VendorSession, origin
from pipelines.servicenow import shapes, unreadable
from pipelines.servicenow.auth import ServiceNowOAuth
from pipelines.servicenow.keyset import (
    MAX_EMPTY_PAGES,
    MAX_STALLED_PAGES,
    SYS_ID_DIGITS,
    SYS_ID_END,
    KeysetRange,
    _count,
)
from pipelines.servicenow.settings import CONFIG_HINT, DEFAULT_PAGE_SIZE, TABLE_PATH

log = logging.getLogger(__name__)
# Pages in a row, reached by a Link rel="next", that hold only records already read (a proxy dropping
# sysparm_offset while the links go on) before a read stops with an error.
MAX_LINK_STALLS = 3


def vendor_clock(value: str) -> datetime | None:
    """An HTTP ``Date`` header as naive UTC, or None if it is no date. HTTP dates are GMT, but one sent with an
    offset (``… 18:00:00 +0200``, a proxy) had its offset dropped: a clock two hours ahead, which let the
    cursor pass rows changed while the read paged."""
    try:
        at = parsedate_to_datetime(value)
        return at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at
    except (TypeError, ValueError, IndexError, OverflowError):  # past year 9999 in UTC: no date either
        return None


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
        self._warned_link = False

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

    def _page(self, table: str, params: dict[str, Any], attempts_allowed: int | None = None
              ) -> tuple[list[Any], int | None]:
        """One page: its records (raw values, see :func:`shapes.raw_values`) and the vendor's count.

        A body carrying ServiceNow's error object instead of records, whatever its status (a cancelled
        transaction answers 200 [unc]), is asked for again like a 5xx, then raised naming the message.
        ``attempts_allowed``: sends at most (default: the policy's ``max_attempts``)."""
        path = TABLE_PATH.format(table=table)
        attempts = 0
        while True:
            body, response = self.session.request_json("GET", path, params=params, attempts_allowed=attempts_allowed)
            error = shapes.error_of(body, response)
            if error is None:
                break
            attempts += 1
            if attempts >= (attempts_allowed or self.session.policy.max_attempts):
                raise unreadable.served_error(
                    f"ServiceNow: GET {path} answered {response.status_code} with keys {sorted(body)[:8]!r}, not a "
                    "'result' list of records: check SERVICENOW_BASE_URL points at the instance if this error is "
                    f"not the instance's own; on all {attempts} attempts it said: {error}", response.status_code)
            self.session.backoff(attempts, f"GET {path}", f"answered {response.status_code} with an error: {error}")
        if response.headers.get("Date"):
            # The earliest vendor clock of this read: the sync's "as of" for the cursor. A header that is
            # no date (a proxy's "0") is ignored: it failed every run, and the cursor does without.
            at = vendor_clock(response.headers["Date"])
            if at is None:
                log.warning("ServiceNow: ignoring a Date header that is not a date: %.60r", response.headers["Date"])
            if at is not None and (self.server_time is None or at < self.server_time):
                self.server_time = at
        result = body.get("result") if isinstance(body, dict) else None
        if not isinstance(result, list):
            shape = f"keys {sorted(body)[:8]!r}" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
            raise VendorError(f"ServiceNow: GET {path} answered {response.status_code} with {shape}, not a "
                              "'result' list of records: check SERVICENOW_BASE_URL points at the instance "
                              "(its Table API answers {\"result\": [...]})")
        return shapes.raw_values(result), _count(table, response.headers.get("X-Total-Count"))

    def read_concurrently(
        self, table: str, query: str, *, page_size: int = DEFAULT_PAGE_SIZE, concurrency: int = 4,
        fields: list[str] | None = None, ranges: int | None = None, per_record: bool = False,
        requeued: bool = False,
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield every page of records matching ``query`` (conditions only, no ``ORDERBY``).

        The first page, in sys_id order, tells how many records match. If more remain, the sys_id
        space after its last id is cut into contiguous ranges, as many as there are pages left, at
        most ``ranges`` (default 4 per worker, so a slow range does not hold the others up); each is
        read page after page from the last sys_id of its previous page. At most ``concurrency``
        requests are in flight (vendors cap concurrent requests per user) and at most one page more
        waits for the caller, whatever the table's size. ``server_time`` is set from the responses'
        ``Date``: the read's "as of" time.

        ``per_record``: a page failing on every attempt (5xx, no answer, a cancelled transaction) is read
        record by record, a record the instance cannot serve coming back as an :class:`unreadable.Unreadable`
        placeholder (its keys only) for the caller to quarantine; ``requeued``: the ids read are quarantined
        ones (:func:`unreadable.read_page`). Only the source's table reads ask for it: every other caller
        (the push's reconciliation, the delete audit, the census) acts on the records it gets, and a read
        failing raises there, as before.
        """
        self.server_time = None
        query = query.removesuffix("ORDERBYsys_id").removesuffix("^")  # keyset reads order by sys_id
        workers = max(1, concurrency)
        head = KeysetRange(query, None, None)

        def read(params: dict[str, Any]) -> tuple[list[Any], int | None]:
            if not per_record:
                return self._page(table, params)
            return unreadable.read_page(lambda p: self._page(table, p), table, params,
                                        once=lambda p: self._page(table, p, 1), requeued=requeued)

        def fetch(part: KeysetRange, params: dict[str, Any]) -> tuple[list[Any], list[Any], int | None]:
            """(rows as served, rows new to this read, count) of one page of ``part``; a page failing on every
            attempt is read record by record with ``per_record`` (:mod:`pipelines.servicenow.unreadable`)."""
            rows, total = read(params)
            if not rows and total is not None and total > part.offset and not part.stalled:
                # An empty page while the count says rows remain: ACLs hid them, or the instance
                # glitched. Ask once more before stepping over (or ending at) what may hold records
                # (once per stretch of empty pages: ACLs can hide many pages in a row).
                log.warning("ServiceNow: %s answered an empty page while its count says %d rows remain; "
                            "asking again", table, total)
                rows, total = read(params)
            fresh = part.fresh(rows)
            if len(fresh) < len(rows):
                log.warning("ServiceNow: %s served %d row(s) of this read twice (or outside the sys_id range "
                            "asked for, or before their place in sys_id order); each is loaded once", table,
                            len(rows) - len(fresh))
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
        """Yield the result pages of a query in order, as raw values (:func:`shapes.raw_values`).

        Follows ``rel="next"`` while the server sends a ``Link`` header; without one, advances the
        offset until ``X-Total-Count``. A short page is *not* the end: ServiceNow applies the limit
        before ACL filtering, so pages may come back short while rows remain. Read strictly: an answer
        that is not the Table API's ``{"result": [records]}`` (a sign-in page after the SSO session
        expired, a proxy's ``{}``) is a :class:`VendorError`, never "no records": callers decide from
        these reads whether a record exists (the push's look-up before creating one).
        """
        url = path = TABLE_PATH.format(table=table)
        base = {"sysparm_query": query, "sysparm_limit": page_size, "sysparm_display_value": "false",
                "sysparm_exclude_reference_link": "true", **({"sysparm_fields": ",".join(fields)} if fields else {})}
        params: dict[str, Any] | None = {**base, "sysparm_offset": 0}
        offset = 0
        followed: set[str] = set()  # next links read: one sent again would loop
        seen: set[str] = set()  # sys_ids read
        stalled = empty = 0  # pages in a row with only rows read before / with no rows, on next links
        while True:
            body, response = self.session.request_json("GET", url, params=params)
            rows = table_result(body, response, list, path)
            keys = [r.get("sys_id") if isinstance(r, dict) else None for r in rows]
            # a row without a sys_id (fields left out) is never taken for one read before
            fresh = True if not all(isinstance(k, str) for k in keys) else bool(set(keys) - seen)
            seen.update(k for k in keys if isinstance(k, str))
            if rows:
                yield rows
            next_link = response.links.get("next")
            if next_link:
                stalled, empty = (stalled + 1 if rows and not fresh else 0), (0 if rows else empty + 1)
                url, params = self._next_page(next_link.get("url") or "", path), None
                if url in followed or stalled >= MAX_LINK_STALLS or empty > MAX_EMPTY_PAGES:
                    raise VendorError(
                        f"ServiceNow: GET {path} sent a Link rel=\"next\" "
                        + ("to a page this read already had" if url in followed else
                           f"on {stalled} pages in a row holding only records already read" if stalled
                           else f"on {empty} empty pages in a row")
                        + ": stopped instead of paging for ever; check that a proxy between us and the instance "
                        "passes sysparm_offset and the Link header through")
                followed.add(url)
                continue
            if "Link" in response.headers:
                return  # a Link header without rel="next": that was the last page
            try:
                total = int(response.headers.get("X-Total-Count") or "")
            except ValueError:
                return
            offset += page_size
            if offset >= total:
                return
            params = {**base, "sysparm_offset": offset}

    def _next_page(self, link: str, path: str) -> str:
        """Where a ``Link: rel="next"`` URL is read: as sent on the instance's own origin; on another (a proxy
        or load balancer naming the instance's internal host, or a forged header) its path and query on
        ``SERVICENOW_BASE_URL``, never there: the request carries our bearer token, which the link's host
        had received. [unc] whether a real instance behind a proxy names its own host in the header."""
        parts, ours = urlsplit(link), urlsplit(self.session.base_url)
        if (parts.scheme, parts.netloc) == (ours.scheme, ours.netloc):
            return link
        if not self._warned_link:
            self._warned_link = True
            log.warning("ServiceNow: GET %s sent a next page link to another origin (%s); read from "
                        "SERVICENOW_BASE_URL (%s) instead", path, origin(link), origin(self.session.base_url))
        prefix = ours.path.rstrip("/")
        where = parts.path if prefix and parts.path.startswith(prefix + "/") else prefix + "/" + parts.path.lstrip("/")
        return urlunsplit((ours.scheme, ours.netloc, where, parts.query, ""))

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


__all__ = ["MAX_EMPTY_PAGES", "MAX_STALLED_PAGES", "SYS_ID_DIGITS", "SYS_ID_END", "Clients", "KeysetRange",
           "ServiceNowClient", "_count", "selected_resources"]


def table_result(body: Any, response: Any, kind: type, path: str) -> Any:
    """``body["result"]`` when it is a ``kind`` (a list of record objects, or one record), as raw values (a
    gateway forcing display values wraps every field as ``{"display_value", "value"}``), else VendorError."""
    result = body.get("result") if isinstance(body, dict) else None
    if isinstance(result, kind) and (kind is dict or all(isinstance(r, dict) for r in result)):
        return shapes.raw_values([result])[0] if kind is dict else shapes.raw_values(result)
    shape = f"keys {sorted(map(str, body))[:8]!r}" if isinstance(body, dict) else f"a JSON {type(body).__name__}"
    raise VendorError(f"servicenow: GET {path} answered {response.status_code} with {shape}, not the Table API's "
                      f"{'list of records' if kind is list else 'record'}: something other than the instance "
                      "answered (a sign-in page, a proxy); check SERVICENOW_BASE_URL points at the instance's REST "
                      "API. Nothing was created, so no record is made twice; the next read looks again",
                      response.status_code)
