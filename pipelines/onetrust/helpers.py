"""OneTrust HTTP access: host selection, a pager for OneTrust's three page envelopes, detail exports.

Every call goes through :class:`pipelines.common.http.VendorSession` (retries on 5xx, timeouts and
connection errors; ``Retry-After`` on 429; token refresh on 401/403), bounded per attempt by
``ONETRUST_TIMEOUT_SECONDS``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pipelines.common import pages as common_pages
from pipelines.common.http import RetryPolicy, TokenProvider, VendorError, VendorSession
from pipelines.onetrust import unreadable
from pipelines.onetrust.auth import ClientCredentials, StaticToken
from pipelines.onetrust.settings import (
    ASSESSMENT_EXPORT_PATH,
    DEFAULT_DETAIL_WORKERS,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT_SECONDS,
    REGION_HOSTS,
    SCOPES_HINT,
    config_hint,
)

log = logging.getLogger(__name__)

MAX_EMPTY_PAGES = 20  # empty pages in a row before the last announced one: then the listing is not trusted


def resolve_base_url(region: str | None = None, base_url: str | None = None) -> str:
    """``ONETRUST_BASE_URL`` when set, else the host of ``ONETRUST_REGION`` (us, eu, de, uk, apac, trial,
    uat, or a tenant host such as ``acme.my.onetrust.com``)."""
    if base_url:
        if "://" not in base_url:
            raise ValueError(f"ONETRUST_BASE_URL={base_url!r} needs a scheme, e.g. https://app-eu.onetrust.com")
        return base_url.rstrip("/")
    key = (region or DEFAULT_REGION).strip().lower()
    if key in REGION_HOSTS:
        return f"https://{REGION_HOSTS[key]}"
    if key.endswith(".onetrust.com") and "/" not in key:
        return f"https://{key}"
    raise ValueError(
        f"ONETRUST_REGION={region!r} is not a OneTrust region: use one of {sorted(REGION_HOSTS)}, "
        "a tenant host like acme.my.onetrust.com, or set ONETRUST_BASE_URL"
    )


@dataclass(frozen=True)
class Page:
    """One page of any OneTrust list endpoint, whatever its envelope."""

    items: list[dict[str, Any]]
    number: int
    total_pages: int | None
    total_elements: int | None
    # The order the server says it served, as (property, direction) pairs, primary first: the inventory
    # echoes ``meta.page.sort: [{"direction": "ASC", "property": "name"}]``. None when the page echoes
    # none (assessments; Spring pages say only whether they are sorted).
    sort: tuple[tuple[str, str], ...] | None = None


def _echoed_sort(raw: Any) -> tuple[tuple[str, str], ...] | None:
    """``meta.page.sort`` as (property, direction) pairs; entries that are not objects read as ("", "")."""
    if not isinstance(raw, list):
        return None
    return tuple((str(e.get("property") or ""), str(e.get("direction") or "")) if isinstance(e, dict) else ("", "")
                 for e in raw)


def parse_page(body: Any, requested: int) -> Page:
    """Read ``content + page{}`` (assessments), a flat Spring page (risks) or ``data + meta.page{}``
    (inventory) — vendor-apis §3.10 pitfall 1 — with the inventory's echo of the sort it applied."""
    if isinstance(body, dict) and isinstance(body.get("data"), list):
        meta = body.get("meta")  # an object holding a ``page`` object; anything else: counts unknown
        info = meta.get("page") if isinstance(meta, dict) else None
        info, items = (info if isinstance(info, dict) else {}), body["data"]
    elif isinstance(body, dict) and isinstance(body.get("content"), list):
        info = body["page"] if isinstance(body.get("page"), dict) else body
        items = body["content"]
    else:
        raise VendorError(f"OneTrust returned an unknown page shape (keys {sorted(body)[:8]!r})"
                          if isinstance(body, dict) else "OneTrust returned a page that is not a JSON object")
    number = _count(info.get("number"))
    return Page(items, requested if number is None else number,
                _count(info.get("totalPages")), _count(info.get("totalElements")), _echoed_sort(info.get("sort")))


def _echoed_size(body: Any) -> int | None:
    """The page size a listing answer says it served (``meta.page.size``, ``page.size`` or ``size``), if any."""
    if not isinstance(body, dict):
        return None
    meta = body.get("meta")
    info = meta.get("page") if isinstance(meta, dict) else body.get("page")
    info = info if isinstance(info, dict) else body
    return _count(info.get("size"))


def _served_size(body: Any, page: Page, asked: int) -> int | None:
    """The page size the tenant served: the one it echoes, else that of a short page it says is not the last."""
    echoed = _echoed_size(body)
    if echoed:
        return echoed
    if page.total_pages is not None and page.number + 1 < page.total_pages and 0 < len(page.items) < asked:
        return len(page.items)
    return None


def _count(value: Any) -> int | None:
    """A page number or count as an integer; anything else (``"4"``, ``"many"``, ``true``) is unknown:
    text crashed the pager's comparisons, and ``true`` (1) ended a read after its first page."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value or value % 1:
        return None
    return int(value)


def _more(page: Page, page_size: int, past_full_last: bool = False) -> bool:
    """Whether pages may follow ``page``: by ``totalPages`` when known, else while pages come back full.
    ``past_full_last``: a full page announced as the last is followed by one more request too (an empty
    answer ends the read). A read whose absences count (a full pass) asks for it: a ``totalPages`` that lied
    low ended the read early, and every record of the pages never asked for was recorded as deleted."""
    if page.total_pages is not None and page.number + 1 < page.total_pages:
        return True
    if page.total_pages is not None and not past_full_last:
        return False
    return len(page.items) >= page_size


def _policy(policy: RetryPolicy | None, timeout_seconds: float) -> RetryPolicy:
    """``policy`` with every attempt bounded by ``ONETRUST_TIMEOUT_SECONDS``."""
    if timeout_seconds <= 0:
        raise ValueError(f"ONETRUST_TIMEOUT_SECONDS must be positive, got {timeout_seconds!r}")
    return dataclasses.replace(policy or RetryPolicy(), connect_timeout_seconds=float(timeout_seconds),
                               read_timeout_seconds=float(timeout_seconds))


def make_auth(base_url: str, *, api_token: str | None = None, client_id: str | None = None,
              client_secret: str | None = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
              verify: bool | str = True, policy: RetryPolicy | None = None) -> TokenProvider:
    """A static token, or client credentials with their own token session. One provider can serve many
    :class:`OneTrustClient` s (the resources of a source): they then share one OAuth token."""
    if api_token:
        return StaticToken(api_token)
    token_session = VendorSession("OneTrust", base_url, None, policy=_policy(policy, timeout_seconds),
                                  verify=verify)
    return ClientCredentials(token_session, client_id or "", client_secret or "")


class OneTrustClient:
    """The OneTrust API for one tenant; ``auth`` is a static token or client credentials, built here
    from the credentials unless a shared provider (:func:`make_auth`) is passed. ``scopes_hint``: the module
    scopes a refusal (403) names (the reads', unless a writer passes its own)."""

    def __init__(self, base_url: str, *, api_token: str | None = None, client_id: str | None = None,
                 client_secret: str | None = None, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
                 verify: bool | str = True, policy: RetryPolicy | None = None,
                 detail_workers: int = DEFAULT_DETAIL_WORKERS, auth: TokenProvider | None = None,
                 scopes_hint: str = SCOPES_HINT):
        policy = _policy(policy, timeout_seconds)
        self.timeout = float(timeout_seconds)
        self.token_session: VendorSession | None = None  # closed with this client when it built it
        if auth is None:
            auth = make_auth(base_url, api_token=api_token, client_id=client_id, client_secret=client_secret,
                             timeout_seconds=timeout_seconds, verify=verify, policy=policy)
            self.token_session = auth.session if isinstance(auth, ClientCredentials) else None
        self.auth = auth
        self.session = VendorSession("OneTrust", base_url, auth, policy=policy, verify=verify,
                                     config_hint=config_hint(isinstance(auth, StaticToken), scopes_hint),
                                     pool_size=max(8, detail_workers))
        self.detail_workers = max(1, detail_workers)
        self.exports_failed = 0  # exports failing in a row, across calls (exports)
        # assessments quarantined earlier and read again this run (lower case): their exports failing again is
        # that record, not the tenant, and never counts toward the rule (three of them read back to back, the
        # only changes of a delta, had failed every run: a crash loop)
        self.exports_requeued: set[str] = set()

    _exports_lock = threading.Lock()  # guards exports_failed across the export workers
    exports_failed = 0
    exports_requeued: set[str] = frozenset()  # type: ignore[assignment]  # a client built without __init__

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """JSON body of a successful call; failures say which setting to change."""
        try:
            return self.session.request_json(method, path, **kwargs)[0]  # a body that is not JSON: asked again
        except VendorError as exc:
            if "not JSON" in str(exc) and "ONETRUST_" not in str(exc):  # an HTML page: name the settings too
                raise type(exc)(f"{exc} (set by ONETRUST_BASE_URL, else ONETRUST_REGION)", exc.status) from None
            if "Timeout" in str(exc):
                raise type(exc)(
                    f"{exc}. Every OneTrust request is bounded by ONETRUST_TIMEOUT_SECONDS (now "
                    f"{self.timeout:g}s): raise it if the tenant is slow", exc.status) from None
            raise

    def pages(self, method: str, path: str, *, page_size: int, params: dict[str, Any] | None = None,
              json: dict[str, Any] | None = None, past_full_last: bool = False,
              per_record: bool = False) -> Iterator[Page]:
        """Every page of a list call in order; the next page number comes from the response.

        A response numbered other than the page asked for (a proxy dropping ``page``) raises
        :class:`VendorError` (it would repeat or skip pages for ever). An empty page before the last
        one ``totalPages`` announces is asked again once, then stepped over, at most
        ``MAX_EMPTY_PAGES`` in a row. A page holding exactly the records of the page before (a caching
        gateway) is asked again once, then raises: taking it as read missed that page's records. So does a
        page holding only records of earlier pages (a gateway looping back to page 0) in a read that proves
        absences (``past_full_last``): it had been taken as read, its own records missed, and a full pass
        recorded them as deleted. ``past_full_last``: see
        :func:`_more` (for a read that proves absences). ``per_record``: a page that fails on every attempt in a
        way one record can cause is narrowed down (:mod:`pipelines.onetrust.unreadable`), for the entity listings
        whose records go through the quarantine."""
        number, empty, previous, earlier, looping = 0, 0, None, set(), 0
        served: int | None = None  # the page size the tenant serves: it may cap what is asked (settings)
        while True:
            query = {**(params or {}), "page": number, "size": page_size}
            try:
                body = self.request(method, path, params=query, json=json)
                page = parse_page(body, number)
                served = _served_size(body, page, page_size) or served
            except VendorError as error:
                if not per_record or not unreadable.isolable(error):
                    raise
                # positions by the size served: narrowing by the size asked read another page's records (a tenant
                # capping risks at 50 of 100: page 3's records 150-199 were never read, the pass taken as whole)
                page = self._narrowed(method, path, query, json, number, served or page_size, error)
            more = _more(page, page_size, past_full_last)
            if not page.items and more and not empty:
                log.warning("OneTrust: %s page %d came back empty before the last of %s pages; asking again",
                            path, number, page.total_pages)
                page = parse_page(self.request(method, path, params=query, json=json), number)
                more = _more(page, page_size, past_full_last)
            if page.items and _ids(page) == previous:  # a caching gateway serving the last page again
                log.warning("OneTrust: %s page %d holds the same records as page %d; asking again", path,
                            number, number - 1)
                page = parse_page(self.request(method, path, params=query, json=json), number)
                more = _more(page, page_size, past_full_last)
                if page.items and _ids(page) == previous:
                    raise VendorError(
                        f"OneTrust served page {number} of {path} with the same records as page {number - 1}, "
                        "again: a cache or gateway is repeating pages, so the records of this page would be "
                        "missed in silence. Stopped: retry later; if it persists, check what sits between "
                        "us and ONETRUST_BASE_URL")
            # only for a read that proves absences (a full pass): in a change-ordered read, records edited while
            # it pages move up and a later page can hold only records already read (a bulk edit); those are
            # re-listed rows the sync skips, not a loop, and they must not fail a healthy run
            if past_full_last and _looped(page, earlier):
                log.warning("OneTrust: %s page %d holds only records of earlier pages; asking again", path, number)
                page = parse_page(self.request(method, path, params=query, json=json), number)
                more = _more(page, page_size, past_full_last)
                if _looped(page, earlier):
                    raise VendorError(
                        f"OneTrust served page {number} of {path} holding only records of earlier pages, again: "
                        "the listing loops back (a cache or gateway?) or moved a whole page while we read, so "
                        "this page's own records would be missed in silence. Stopped: retry later; if it "
                        "persists, check what sits between us and ONETRUST_BASE_URL")
            # ... but in any read, pages holding only records already read, more in a row than the records read
            # so far fill (and at least MAX_EMPTY_PAGES), are a loop: with no count to end it (totalPages withheld,
            # every page full) a changes-only read paged on for ever
            looping = looping + 1 if not past_full_last and _looped(page, earlier) else 0
            if looping > max(MAX_EMPTY_PAGES, -(-len(earlier) // page_size)):
                raise VendorError(
                    f"OneTrust served {looping} pages of {path} in a row (up to page {number}) holding only records "
                    "of earlier pages: the listing loops back (a cache or gateway?), so it would be read for ever. "
                    "Stopped: retry later; if it persists, check what sits between us and ONETRUST_BASE_URL")
            if page.number != number:
                raise VendorError(
                    f"OneTrust answered page {page.number} of {path} when asked for page {number}: the "
                    "page parameter is not honoured (a proxy or gateway dropping it?), so paging would "
                    "repeat or skip pages. Stopped: check ONETRUST_BASE_URL points at the OneTrust API")
            yield page
            earlier.update(k for k in _keys(page) if k is not None)
            previous = _ids(page) if page.items else previous
            empty = 0 if page.items else empty + 1
            if not more or (not page.items and empty > MAX_EMPTY_PAGES):
                if more:
                    raise VendorError(
                        f"OneTrust: {empty} pages of {path} in a row came back empty while totalPages said "
                        f"{page.total_pages}; stopped instead of paging on (retry later; if it persists the "
                        "tenant's counts are wrong)")
                return
            number = page.number + 1

    def _narrowed(self, method: str, path: str, query: dict[str, Any], json: dict[str, Any] | None, number: int,
                  page_size: int, failed: VendorError) -> Page:
        """Page ``number`` read again in smaller pages, one attempt each (:mod:`pipelines.onetrust.unreadable`)."""
        def read(sub_number: int, sub_size: int) -> tuple[list[Any], int | None, Any]:
            body = self.request(method, path, params={**query, "page": sub_number, "size": sub_size}, json=json,
                                attempts_allowed=1)
            sub = parse_page(body, sub_number)
            echoed = (sub.number, _echoed_size(body))
            if sub.number != sub_number or echoed[1] not in (None, sub_size):
                # a proxy dropping ``page`` or ``size``: every position read would be another record's
                raise VendorError(f"OneTrust answered page {sub.number} of size {echoed[1]} to a request for page "
                                  f"{sub_number} of size {sub_size} on {path}; check that no proxy rewrites the "
                                  "query (ONETRUST_BASE_URL)")
            return sub.items, sub.total_elements, sub.sort
        items, total, sort = unreadable.read_page(read, path, number, page_size, failed)
        return Page(items, number, -(-total // page_size) if total is not None else None, total, sort)

    def exports(self, assessment_ids: list[str],
                failures: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """``/export`` detail per assessment id (in parallel); ids deleted meanwhile (404) are left out.

        ``failures``: an export that fails on every attempt in a way one record can cause (a 5xx) is
        noted there (id -> reason, for the caller to quarantine) instead of failing the run; it failed every run.
        Unless :data:`unreadable.MAX_FAILED_IN_A_ROW` exports fail in a row, counted on the client across calls
        (in the order they end): the tenant is failing, not a record, and that error is raised. The rule was per
        call ("every export of the call"), so a tenant down for exports quarantined every assessment of the
        calls of one or two (the last page of a listing, a pass that changed little) and the run succeeded."""
        errors: dict[str, VendorError] = {}

        def one(assessment_id: str) -> tuple[str, dict[str, Any] | None]:
            try:
                detail = self.request("GET", ASSESSMENT_EXPORT_PATH.format(id=assessment_id))
            except VendorError as exc:
                if exc.status == 404:
                    log.info("OneTrust: assessment %s vanished before its export was read", assessment_id)
                    return assessment_id, None
                if failures is None or not unreadable.isolable(exc):
                    raise
                if assessment_id.lower() in self.exports_requeued:
                    errors[assessment_id] = exc
                    return assessment_id, None
                with self._exports_lock:
                    self.exports_failed += 1
                    if self.exports_failed >= unreadable.MAX_FAILED_IN_A_ROW:
                        raise
                errors[assessment_id] = exc
                return assessment_id, None
            with self._exports_lock:
                self.exports_failed = 0
            return assessment_id, detail
        if len(assessment_ids) <= 1 or self.detail_workers == 1:
            found = [one(a) for a in assessment_ids]
        else:
            with ThreadPoolExecutor(max_workers=self.detail_workers) as pool:
                found = list(pool.map(one, assessment_ids))
        if failures is not None:
            failures.update((a, f"{unreadable.EXPORT_FAILED}: "
                                f"{common_pages.safe_text(str(e))[:300]}") for a, e in errors.items())
        return {a: detail for a, detail in found if detail is not None}

    def exists(self, path: str) -> bool:
        """Whether OneTrust still has the record at ``path`` (404 or flagged for deletion: it does not)."""
        try:
            body = self.request("GET", path)
        except VendorError as exc:
            if exc.status == 404:
                return False
            raise
        record = body.get("data", body) if isinstance(body, dict) else body
        return not (isinstance(record, dict) and record.get("markForDelete") is True)

    def close(self) -> None:
        self.session.close()
        if self.token_session is not None:
            self.token_session.close()


def _keys(page: Page) -> list[str | None]:
    """The ids of a page's records, lower-cased (OneTrust ids are UUIDs); None for a record without one. An
    entry of the deleted-assessment log is keyed by its time too: one assessment may be deleted many times."""
    out: list[str | None] = []
    for r in page.items:
        rid = (r.get("id") or r.get("assessmentId")) if isinstance(r, dict) else None
        key = rid.lower() if isinstance(rid, str) and rid else None
        if key is not None and "deletedDT" in r:
            key = f"{key}|{r['deletedDT']}"
        out.append(key)
    return out


def _looped(page: Page, earlier: set[str]) -> bool:
    """Whether every record of ``page`` (with an id, at least one) was listed on an earlier page."""
    keys = _keys(page)
    return bool(keys) and all(k is not None and k in earlier for k in keys)


def _ids(page: Page) -> list[Any]:
    """The records of a page, by id where they have one (a record without is compared whole)."""
    return [(r.get("id") or r.get("assessmentId") or r) if isinstance(r, dict) else r for r in page.items]
