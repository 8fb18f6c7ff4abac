"""Jira REST access: one authenticated session, enhanced-search paging, field discovery, sub-lists.

Every call goes through :class:`~pipelines.common.http.VendorSession`: 5xx and timeouts back off up
to 5 attempts, 429 waits ``Retry-After`` and throttles adaptively, 401/403 refresh the OAuth token
once and then fail with a message naming the settings. HTML error bodies are handled there too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC
from typing import Any

import orjson

from pipelines.common import pages
from pipelines.common.http import RetryPolicy, TokenProvider, VendorError, VendorSession
from pipelines.common.validation import json_type
from pipelines.jira.settings import (
    CHANGELOG_PATH,
    COMMENTS_PATH,
    COUNT_PATH,
    EPIC_LINK_TYPE,
    FIELD_PATH,
    MAX_EMPTY_PAGES,
    MAX_REPEATED_PAGES,
    SEARCH_PATH,
    SERVER_INFO_PATH,
    SPRINT_TYPE,
    STORY_POINT_NAMES,
    STORY_POINT_TYPES,
)

log = logging.getLogger(__name__)


# Fields every Jira site lists in GET /field, whatever its configuration.
SYSTEM_FIELDS = frozenset({"summary", "updated"})


class RepeatedPage(VendorError):
    """A ``startAt`` list endpoint served the page before again: it would be paged for ever."""


class ShapelessPage(RepeatedPage):
    """A ``startAt`` list endpoint answered with JSON that is no page (a list, a string, ``values`` not an
    array): ``'list' object has no attribute 'get'`` failed the whole sync on every run. For an issue's
    comments or changelog, that issue is quarantined, as when its pages repeat."""


class RefusedChildren(RepeatedPage):
    """An issue's comment or changelog endpoint refused it (a 4xx other than 401, 404 and 429: ``400 Comment
    body is too large to render`` [unc]): that issue is quarantined, as when its pages repeat. It failed the
    whole sync, on every run."""


@dataclass(frozen=True)
class FieldMap:
    """Site-specific custom field ids, discovered from GET /field (ids differ between sites)."""

    story_points: tuple[str, ...] = ()  # in preference order; the first non-empty value wins
    sprint: str | None = None
    epic_link: str | None = None

    @property
    def ids(self) -> list[str]:
        return [*self.story_points, *([self.sprint] if self.sprint else []),
                *([self.epic_link] if self.epic_link else [])]


def discover_fields(fields: list[dict[str, Any]]) -> FieldMap:
    """Pick story points ("Story point estimate" before "Story Points"), Sprint and Epic Link."""
    def custom_type(f: dict[str, Any]) -> str:
        return str((f.get("schema") or {}).get("custom") or "")

    def name(f: dict[str, Any]) -> str:
        return str(f.get("name") or "").strip().lower()

    def numeric(f: dict[str, Any]) -> bool:
        """Whether the field may hold a number: its schema says so, or says no type at all. A field named
        "Story Points" that holds text or an option (t-shirt sizes) is no estimate: read as one, every issue
        with a value in it was quarantined as "not a number"."""
        schema = f.get("schema")
        kind = schema.get("type") if isinstance(schema, dict) else None
        return kind in (None, "", "number")

    customs = [f for f in fields if isinstance(f, dict) and f.get("id") and f.get("custom", True)]
    points = [f["id"] for n in STORY_POINT_NAMES for f in customs if name(f) == n and numeric(f)]
    points += [f["id"] for f in customs if custom_type(f) in STORY_POINT_TYPES and numeric(f) and f["id"] not in points]
    sprint = next((f["id"] for f in customs if custom_type(f) == SPRINT_TYPE), None)
    sprint = sprint or next((f["id"] for f in customs if name(f) == "sprint"), None)
    epic = next((f["id"] for f in customs if custom_type(f) == EPIC_LINK_TYPE or name(f) == "epic link"), None)
    return FieldMap(tuple(points), sprint, epic)


class JiraClient:
    """Thin client over Jira Cloud REST v3 and Agile 1.0 at ``api_base`` (site or OAuth gateway)."""

    def __init__(self, api_base: str, auth: TokenProvider, *, verify: bool | str = True,
                 policy: RetryPolicy | None = None, config_hint: str = ""):
        self.api_base = api_base.rstrip("/")
        self.session = VendorSession("Jira", self.api_base, auth, policy=policy, verify=verify,
                                     config_hint=config_hint)
        self._children_failed = 0  # issues whose comment or changelog read failed in a row (complete)

    def get(self, path: str, **params: Any) -> Any:
        return self.session.get_json(path, params=params or None)

    def server_time(self) -> str | None:
        """The site's clock (``serverTime``), used to cap the cursor at the moment reading began; None if
        the answer holds no time (a proxy's page, ``"soon"``): it failed every run, and the cursor does
        without the cap (as ServiceNow's does without a ``Date`` header that is not a date)."""
        from pipelines.common.cursor import parse_vendor_ts

        info = self.get(SERVER_INFO_PATH)
        value = info.get("serverTime") if isinstance(info, dict) else None
        try:
            parse_vendor_ts(value)
        except (TypeError, ValueError):
            log.warning("Jira: %s answered serverTime %.60s, not a time: the cursor goes without its cap",
                        SERVER_INFO_PATH, pages.safe_text(repr(value)))
            return None
        return value

    def field_map(self) -> FieldMap:
        """The site's custom field ids. An answer that is not the site's field list (``[]``, ``{"values": []}``,
        a proxy's JSON) raises: taken as a site without custom fields, it loaded every issue of the run without
        story points and sprints (sprint memberships removed), and no later run read those issues again."""
        fields = self.get(FIELD_PATH)
        ids = {f.get("id") for f in fields if isinstance(f, dict)} if isinstance(fields, list) else set()
        if not ids.issuperset(SYSTEM_FIELDS):
            shape = (f"a JSON array of {len(fields)} entries" if isinstance(fields, list)
                     else f"a JSON {json_type(fields)}")
            raise VendorError(f"Jira answered {FIELD_PATH} with {shape} that lacks the system fields "
                              f"{', '.join(sorted(SYSTEM_FIELDS))}: not the site's field list. Stopped before reading "
                              "issues (they would load without story points and sprints); check JIRA_BASE_URL "
                              "points at the Jira Cloud site, not a proxy")
        return discover_fields(fields)

    def search(self, jql: str, fields: list[str], *, expand: str | None = None, page_size: int = 100,
               per_issue: bool = False, requeued: bool = False) -> Iterator[list[dict[str, Any]]]:
        """Yield the issue pages of ``POST /rest/api/3/search/jql``, following ``nextPageToken``.

        Stops at ``isLast`` or when no token comes back. Jira may answer an empty page that still
        carries a token (keep going, but not forever) and must never hand back the token we sent
        with a full page (that would loop). ``per_issue``: a page that fails on every attempt in a way one
        issue can cause is narrowed down (:mod:`pipelines.jira.unreadable`; ``requeued``: re-reading
        quarantined ids), for the issue reads whose issues go through the quarantine.
        """
        from pipelines.jira import unreadable

        body: dict[str, Any] = {"jql": jql, "fields": fields, "maxResults": page_size}
        if expand:
            body["expand"] = expand
        token: str | None = None
        used: set[str] = set()  # tokens already sent: one handed back again would loop
        served: set[int] = set()  # fingerprints of the pages this search served (ids and `updated`)
        empty = repeated = 0
        while True:
            if token:
                body["nextPageToken"] = token
            try:
                data = self.search_page(body)
            except VendorError as error:
                if not per_issue or not unreadable.isolable(error):
                    raise
                data = unreadable.read_page(self, body, error, requeued=requeued)
            issues = data.get("issues") or []
            following = data.get("nextPageToken")
            if issues:
                empty = 0
                # A page this search already served, under a fresh token each time (a site or proxy that
                # ignores nextPageToken): the token checks below never fired and the search spun for ever.
                # In any order: the first page served again with its issues shuffled (equal `updated` stamps a
                # node sorts its own way) was a new page each time.
                fingerprint = _page_fingerprint(issues)
                repeated = repeated + 1 if fingerprint in served else 0
                served.add(fingerprint)
                if repeated >= MAX_REPEATED_PAGES:
                    raise VendorError(f"Jira served a search page it had already served {repeated} times in a row, "
                                      "each with a new nextPageToken: the site (or a proxy) ignores the token, so "
                                      "paging would never end. Stopped; check that POST /rest/api/3/search/jql "
                                      "passes nextPageToken through")
                yield issues
            else:
                empty += 1
                if empty > MAX_EMPTY_PAGES:
                    raise VendorError(f"Jira answered {empty} empty search pages in a row that still "
                                      "carried a nextPageToken; retry later or narrow the JQL")
            # Only JSON true ends it: "false" as text (a re-serialising gateway) is truthy, and ended the
            # search after its first page with the rest missing in silence. A token means more may follow.
            if data.get("isLast") is True or not following:
                return
            if issues and (following == token or following in used):
                raise VendorError("Jira handed back a nextPageToken this search already used; stopping to avoid "
                                  "an endless loop over the same pages (retry the sync)")
            if token:
                used.add(token)
            token = following

    def search_page(self, body: dict[str, Any], attempts_allowed: int | None = None) -> dict[str, Any]:
        """One answer of ``POST /rest/api/3/search/jql`` for ``body``; VendorError if it is no search page."""
        from pipelines.jira.unreadable import ServedError

        data = self._post(SEARCH_PATH, body, attempts_allowed)
        if not isinstance(data, dict) or not isinstance(data.get("issues"), list | None):
            shape = (f"'issues' as a JSON {type(data['issues']).__name__}" if isinstance(data, dict)
                     else f"a JSON {type(data).__name__}")
            raise VendorError(f"Jira answered {SEARCH_PATH} with {shape}, not a search page (an 'issues' "
                              "list): check JIRA_BASE_URL points at the Jira Cloud site", 200)
        refused = _search_errors(data)
        if refused:  # a 200 that carries Jira's error body: no page, and read as an empty one it hid every issue
            raise ServedError(f"Jira answered {SEARCH_PATH} 200 with an error instead of a search page: "
                              f"{refused}; the search is retried by the next run")
        return data

    def _post(self, path: str, body: dict[str, Any], attempts_allowed: int | None = None) -> Any:
        # orjson: a rich page is ~1 MB of JSON, and the stdlib parser is several times slower.
        return self.session.request_json("POST", path, data=orjson.dumps(body), attempts_allowed=attempts_allowed,
                                         headers={"Content-Type": "application/json"})[0]

    def approximate_count(self, jql: str) -> int:
        """Jira's estimate of how many issues match (``POST /search/approximate-count``); 0 if unknown."""
        try:
            return int(self._post(COUNT_PATH, {"jql": jql.split(" ORDER BY ")[0]}).get("count") or 0)
        except (VendorError, ValueError, TypeError):
            return 0

    def oldest_updated_ms(self, jql: str) -> int | None:
        """``updated`` (epoch ms) of the first issue of ``jql`` (which must sort by updated ASC)."""
        from pipelines.common.cursor import parse_vendor_ts

        data = self._post(SEARCH_PATH, {"jql": jql, "fields": ["updated"], "maxResults": 1})
        issues = data.get("issues") if isinstance(data, dict) else None
        first = issues[0] if isinstance(issues, list) and issues and isinstance(issues[0], dict) else {}
        updated = first.get("fields").get("updated") if isinstance(first.get("fields"), dict) else None
        try:  # only a hint for splitting the read: an odd stamp (23:59:60) is the check's to quarantine
            return int(parse_vendor_ts(updated).replace(tzinfo=UTC).timestamp() * 1000) if updated else None
        except (TypeError, ValueError):
            return None

    def paged_values(self, path: str, key: str = "values", page_size: int = 50,
                     **params: Any) -> Iterator[list[dict[str, Any]]]:
        """``startAt``/``maxResults`` pages of the older list endpoints (``isLast`` or ``total`` ends them)."""
        start, seen, stale = 0, set(), 0
        while True:
            data = self.get(path, startAt=start, maxResults=page_size, **params)
            values = data.get(key) if isinstance(data, dict) else None
            if not isinstance(data, dict) or not isinstance(values, list | None):
                shape = (f"'{key}' as a JSON {json_type(values)}" if isinstance(data, dict)
                         else f"a JSON {json_type(data)}")
                raise ShapelessPage(f"Jira: GET {path} answered startAt={start} with {shape}, not a page of "
                                    f"{key} (an object with a '{key}' array)")
            values = values or []
            # Only items already listed: the page before again, or any earlier one (a proxy dropping startAt
            # in front of two nodes that answer differently alternated two pages, which the check against the
            # page just before never caught: the read went on for ever).
            # One such page is a listing that grew while it was read (a project created mid-read shifts the last
            # item onto the next page): its items are not given twice. Two in a row are a loop.
            marks = {_item_mark(v) for v in values}
            stale = stale + 1 if values and start and marks <= seen else 0
            if stale >= 2:
                raise RepeatedPage(
                    f"Jira: GET {path} answered startAt={start} with the same page again (its startAt "
                    "ignored, and no total or isLast to end on): stopped instead of paging for ever; check "
                    "the site (or a proxy) passes startAt through")
            fresh = values if not stale else []
            seen |= marks
            if fresh:
                yield fresh
            start += len(values)
            total = data.get("total")
            total = total if isinstance(total, int) and not isinstance(total, bool) else None  # "many": unknown
            if not values or data.get("isLast") is True or (total is not None and start >= total):
                return

    def complete(self, bean: dict[str, Any], requeued: bool = False) -> dict[str, Any]:
        """Fetch the rest of a comment list or changelog that search cut short (``total`` > returned), or the whole
        of one search left out.

        An issue deleted since the search (404) keeps what search returned; reconciliation marks it. Another
        refusal of that issue's list (:class:`RefusedChildren`) is the caller's to quarantine the issue for.
        ``requeued``: the issue is re-read from the quarantine (or forced): its failing list is no sign of a failing
        site and does not count toward the three-in-a-row rule (two such issues plus one new failed every run).
        """
        fields = bean.get("fields") or {}
        comment = fields.get("comment")
        changelog = bean.get("changelog")
        try:
            # Search left a part out that was asked for (``comment`` is in every search's fields, ``changelog``
            # in its expand): read it from the issue's own endpoint, which answers for it. Re-reading the issue
            # by search, which may leave it out again, would repeat every run.
            if isinstance(fields, dict) and isinstance(bean.get("id"), str) and bean["id"]:
                if comment is None:
                    comment = fields["comment"] = _whole("comments", self._all(COMMENTS_PATH, bean, "comments"))
                if changelog is None:
                    changelog = bean["changelog"] = _whole("histories", self._all(CHANGELOG_PATH, bean, "values"))
            if isinstance(comment, dict) and _cut_short(comment, "comments"):
                comment["comments"] = self._all(COMMENTS_PATH, bean, "comments")
            if isinstance(changelog, dict) and _cut_short(changelog, "histories"):
                changelog["histories"] = self._all(CHANGELOG_PATH, bean, "values")
        except RepeatedPage:
            raise
        except VendorError as exc:
            if exc.status is not None and 400 <= exc.status < 500 and exc.status not in (401, 404, 429):
                raise RefusedChildren(str(exc), exc.status) from exc
            # 5xx or no answer on every attempt, for this issue's list alone (one it fails to render): that issue
            # is quarantined and read again next run; it failed the whole sync, every run. Three issues in a row:
            # the site is failing, not an issue, and the run fails as before.
            from pipelines.jira.unreadable import MAX_FAILED_IN_A_ROW, isolable

            if exc.status != 404 and isolable(exc) and (requeued or self._children_failed + 1 < MAX_FAILED_IN_A_ROW):
                self._children_failed += 0 if requeued else 1
                raise RefusedChildren(f"Jira fails to serve this issue's comments or changelog: {exc}",
                                      exc.status) from exc
            if exc.status != 404:
                raise
            log.info("Jira: issue %s vanished while we read its comments/changelog", bean.get("key"))
        else:
            # read whole, or needing no read at all (most issues): the streak of failing issues is broken. It was
            # reset only by a successful list read, so three failures spread over a run failed it, every run.
            self._children_failed = 0
        children = (comment or {}).get("comments") or [], (changelog or {}).get("histories") or []
        if any(pages.is_lenient(c) for part in children for c in part):
            return pages.Lenient(bean)  # a page read leniently: the caller checks the bean's text whole
        return bean

    def _all(self, path: str, bean: dict[str, Any], key: str) -> list[Any]:
        """Every item of an issue's comment or changelog endpoint (``path`` formatted with its id)."""
        return [item for page in self.paged_values(path.format(issue_id=bean["id"]), key, 100) for item in page]

    def download(self, path: str) -> bytes:
        return self.session.request("GET", path, headers={"Accept": "*/*"}).content

    def close(self) -> None:
        self.session.close()


def _page_fingerprint(issues: list[Any]) -> int:
    """What tells one search page from another: its issues' ids and ``updated`` stamps, in any order (an issue
    edited while we page comes back with a new stamp, so a legitimate later page never matches). One number
    a page, not one an issue: a first sync of a million issues keeps a few thousand."""
    def part(issue: Any) -> tuple:
        if not isinstance(issue, dict):
            return ("", repr(issue))
        fields = issue.get("fields")
        return repr(issue.get("id")), repr(fields.get("updated") if isinstance(fields, dict) else None)
    return hash(frozenset(part(i) for i in issues))


def _item_mark(item: Any) -> str:
    """One item of a ``startAt`` list as its whole text: a copy that differs (a twin, a list shifting while
    paged) is a new item, for :mod:`pipelines.jira.child_twins` to judge; stdlib ``json`` as it takes lone
    surrogates and integers of any size."""
    return json.dumps(item, sort_keys=True, default=str)


def _whole(items: str, listed: list[Any]) -> dict[str, Any]:
    """A comment list or changelog as search sends it, holding all of ``listed``."""
    return {items: listed, "total": len(listed), "startAt": 0, "maxResults": len(listed)}


def _cut_short(part: dict[str, Any], items: str) -> bool:
    """Whether search returned only some of a comment list or changelog (``total`` > the items sent). A
    ``total`` that is no count (``"many"``, ``"1e3"``, a list: ``int()`` raised on it every run) is unknown:
    the list is read to its end, as a shorter one would be."""
    total, sent = part.get("total"), part.get(items)
    count = len(sent) if isinstance(sent, list) else 0
    if total is None:
        return False
    if isinstance(total, bool) or not isinstance(total, int | str):
        return True
    if isinstance(total, str):
        if not (total.isascii() and total.isdigit()):
            return True
        total = int(total)
    return total > count


def _search_errors(data: dict[str, Any]) -> str | None:
    """Jira's error body (``errorMessages``, ``errors``) in a search answer, non-empty, as one bounded line
    (secrets masked), else None. A 200 carrying it (a gateway, a plugin, an index being rebuilt [unc]) is no page."""
    from pipelines.common.http import vendor_text

    messages, errors = data.get("errorMessages"), data.get("errors")
    said = [str(m) for m in messages if m] if isinstance(messages, list) else []
    said += [f"{k}: {v}" for k, v in errors.items()] if isinstance(errors, dict) else []
    return vendor_text("; ".join(said), None, 300) if said else None
